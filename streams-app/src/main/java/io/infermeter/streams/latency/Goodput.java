package io.infermeter.streams.latency;

import io.infermeter.avro.SloAttainment;
import io.infermeter.streams.StreamsSettings.SloClass;
import io.infermeter.streams.windows.RequestAccumulator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Goodput concern: a request is good when it succeeded and every threshold of its SLO class holds
 * (a threshold whose metric the request lacks, e.g. TPOT of a one-token answer, does not apply).
 * Goodput = good / window seconds; attainment = good / requests x 100. Stateless.
 */
public final class Goodput {

  private Goodput() {}

  /** Values are microseconds, -1 when absent. */
  public static boolean meets(SloClass c, long ttftUs, long tpotUs, long e2eUs) {
    return (ttftUs < 0 || ttftUs <= c.ttftMaxUs())
        && (tpotUs < 0 || tpotUs <= c.tpotMaxUs())
        && (e2eUs < 0 || e2eUs <= c.e2eMaxUs());
  }

  /** The class of a request: its own when configured, otherwise the default class. */
  public static SloClass classOf(
      String requested, Map<String, SloClass> classes, String defaultClass) {
    SloClass c = requested == null ? null : classes.get(requested);
    return c != null ? c : classes.get(defaultClass);
  }

  public static List<SloAttainment> stats(RequestAccumulator a) {
    double seconds = a.windowSizeMs / 1000.0;
    List<SloAttainment> out = new ArrayList<>();
    a.slo
        .byClass()
        .forEach(
            (name, s) ->
                out.add(
                    SloAttainment.newBuilder()
                        .setSloClass(name)
                        .setRequests(s.requests)
                        .setGood(s.good)
                        .setGoodputRps(s.good / seconds)
                        .setAttainmentPct(s.requests == 0 ? 100.0 : 100.0 * s.good / s.requests)
                        .build()));
    return out;
  }
}
