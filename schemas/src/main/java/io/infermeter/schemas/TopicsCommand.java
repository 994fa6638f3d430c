package io.infermeter.schemas;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.KafkaClientConfig;
import io.infermeter.schemas.config.Settings;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;

/**
 * {@code ./infermeter topics create|list}: {@link TopicCreator} from the command line, configured
 * like the apps ({@code INFERMETER_*} environment variables, {@code -D} properties): {@code
 * kafka.bootstrap.servers}, {@code topic.prefix}, {@code topics.partitions}, {@code
 * topics.replication.factor} and the {@code kafka.*} client settings (TLS, SASL).
 *
 * <p>Exit codes: 0 done; 1 the broker could not be reached or refused, or the request and hardware
 * topics differ in partition count; 2 usage or an invalid setting.
 */
public final class TopicsCommand {

  private static final Map<String, String> DEFAULTS = defaults();

  private TopicsCommand() {}

  public static void main(String[] args) throws InterruptedException {
    System.exit(run(args, System.getenv(), System.getProperties(), System.out, System.err));
  }

  /** The command, with its environment passed in (tests). */
  static int run(
      String[] args, Map<String, String> env, Properties sysProps, PrintStream out, PrintStream err)
      throws InterruptedException {
    if (args.length != 1 || !(args[0].equals("create") || args[0].equals("list"))) {
      err.println(
          "usage: topics create|list   (settings: INFERMETER_KAFKA_BOOTSTRAP_SERVERS, INFERMETER_TOPIC_PREFIX, "
              + "INFERMETER_TOPICS_PARTITIONS, INFERMETER_TOPICS_REPLICATION_FACTOR; see docs/DEPLOY.md)");
      return 2;
    }
    boolean create = args[0].equals("create");
    Settings settings;
    TopicCreator.Plan plan;
    try {
      settings =
          Settings.load(DEFAULTS, Optional.empty(), "INFERMETER_", env, sysProps)
              .with(Map.of(TopicCreator.CREATE_MISSING, String.valueOf(create)));
      plan = TopicCreator.Plan.from(settings);
    } catch (ConfigException e) {
      err.println("invalid configuration: " + e.getMessage());
      return 2;
    }
    Map<String, Object> cfg = new HashMap<>(KafkaClientConfig.of(settings, Set.of()).admin());
    cfg.put("client.id", "infermeter-topics");
    try (Admin admin = Admin.create(cfg)) {
      TopicCreator.Outcome outcome = TopicCreator.ensure(admin, plan, Duration.ofSeconds(30));
      for (String name : plan.names()) {
        Integer partitions = outcome.partitions().get(name);
        out.printf(
            "%-48s %s%s%n",
            name,
            partitions == null ? "missing" : partitions + " partitions",
            outcome.created().contains(name) ? " (created)" : "");
      }
      outcome.mismatches().forEach(m -> err.println("note: " + m.describe()));
      if (outcome.inputMismatch() != null) {
        err.println("error: " + outcome.inputMismatch());
        return 1;
      }
      return 0;
    } catch (ExecutionException e) {
      err.println(
          "topics "
              + args[0]
              + " failed: "
              + e.getCause()
              + " (is Kafka up at "
              + settings.string("kafka.bootstrap.servers")
              + "? locally: ./infermeter stack start)");
      return 1;
    } catch (TimeoutException | org.apache.kafka.common.KafkaException e) {
      err.println(
          "topics "
              + args[0]
              + " failed: "
              + e
              + " (is Kafka up at "
              + settings.string("kafka.bootstrap.servers")
              + "? locally: ./infermeter stack start)");
      return 1;
    }
  }

  private static Map<String, String> defaults() {
    Map<String, String> d = new HashMap<>(TopicCreator.DEFAULTS);
    d.put("kafka.bootstrap.servers", "127.0.0.1:9092");
    d.put("topic.prefix", "");
    return Map.copyOf(d);
  }
}
