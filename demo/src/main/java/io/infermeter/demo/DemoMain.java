package io.infermeter.demo;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the demo jar: subcommands run, replay, peek. */
@Command(
    name = "infermeter-demo",
    mixinStandardHelpOptions = true,
    version = "infermeter demo 0.1.0",
    description =
        "The simulated inference fleet of infermeter's main job. Everything it produces is labelled "
            + "source=simulated.",
    subcommands = {RunCommand.class, ReplayCommand.class, PeekCommand.class})
public final class DemoMain implements Callable<Integer> {

  public static void main(String[] args) {
    System.exit(new CommandLine(new DemoMain()).execute(args));
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 2;
  }
}
