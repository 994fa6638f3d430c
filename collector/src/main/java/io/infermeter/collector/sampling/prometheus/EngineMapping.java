package io.infermeter.collector.sampling.prometheus;

import io.infermeter.avro.EngineSample;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps the series of one serving-engine instance (one {@code /metrics} scrape, or one OTLP
 * resource's data points) to one {@link EngineSample} per (engine, model). The metric names are the
 * engines' own (docs/INTEGRATIONS.md "Engine metrics", each with its source):
 *
 * <table>
 *   <caption>engine metric name to EngineSample field</caption>
 *   <tr><th>engine</th><th>kvCacheUsage (0-1)</th><th>requestsRunning</th><th>requestsWaiting</th>
 *       <th>preemptionsTotal</th></tr>
 *   <tr><td>vllm</td><td>vllm:kv_cache_usage_perc (before: vllm:gpu_cache_usage_perc)</td>
 *       <td>vllm:num_requests_running</td><td>vllm:num_requests_waiting</td><td>vllm:num_preemptions_total</td></tr>
 *   <tr><td>sglang</td><td>sglang:token_usage</td><td>sglang:num_running_reqs</td><td>sglang:num_queue_reqs</td>
 *       <td></td></tr>
 *   <tr><td>tgi</td><td></td><td>tgi_batch_current_size</td><td>tgi_queue_size</td><td></td></tr>
 *   <tr><td>triton</td><td></td><td></td><td>nv_inference_pending_request_count</td><td></td></tr>
 *   <tr><td>nim</td><td>gpu_cache_usage_perc</td><td>num_requests_running</td><td>num_requests_waiting</td>
 *       <td></td></tr>
 * </table>
 *
 * <p>A counter is also recognised without its {@code _total} suffix (an OpenTelemetry Collector's
 * Prometheus receiver with name normalisation drops it). The model is the series' {@code
 * model_name} label (vLLM, SGLang, NIM) or {@code model} label (Triton); TGI's metrics name no
 * model. Several series of one field and model (vLLM's per data-parallel {@code engine} label,
 * Triton's model versions) are combined: KV-cache usage is the highest (the most pressed cache),
 * counts are summed.
 *
 * <p>Values are checked, never guessed: a value that is not finite, negative, a KV-cache usage
 * above 1, or a count above {@value #MAX_COUNT} is left out of the sample and reported in {@link
 * Result#invalid()}; a (engine, model) with no usable value yields no sample. Stateless and
 * thread-safe.
 */
public final class EngineMapping {

  /**
   * Largest count (requests, preemptions) taken as real; beyond it a value is reported as invalid.
   */
  static final double MAX_COUNT = 1.0e12;

  /**
   * Longest instance, pod or model name kept (a Kubernetes or DNS name has at most 253 characters).
   */
  static final int MAX_NAME_CHARS = 253;

  /** A field of {@link EngineSample} an engine metric feeds. */
  public enum Field {
    KV_CACHE_USAGE,
    REQUESTS_RUNNING,
    REQUESTS_WAITING,
    PREEMPTIONS
  }

  /** What an engine metric name means: which engine exposes it and which field it feeds. */
  public record Known(String engine, Field field) {}

  private static final Map<String, Known> NAMES = new LinkedHashMap<>();

  static {
    known("vllm:kv_cache_usage_perc", "vllm", Field.KV_CACHE_USAGE);
    known("vllm:gpu_cache_usage_perc", "vllm", Field.KV_CACHE_USAGE);
    known("vllm:num_requests_running", "vllm", Field.REQUESTS_RUNNING);
    known("vllm:num_requests_waiting", "vllm", Field.REQUESTS_WAITING);
    known("vllm:num_preemptions_total", "vllm", Field.PREEMPTIONS);
    known("sglang:token_usage", "sglang", Field.KV_CACHE_USAGE);
    known("sglang:num_running_reqs", "sglang", Field.REQUESTS_RUNNING);
    known("sglang:num_queue_reqs", "sglang", Field.REQUESTS_WAITING);
    known("tgi_batch_current_size", "tgi", Field.REQUESTS_RUNNING);
    known("tgi_queue_size", "tgi", Field.REQUESTS_WAITING);
    known("nv_inference_pending_request_count", "triton", Field.REQUESTS_WAITING);
    known("gpu_cache_usage_perc", "nim", Field.KV_CACHE_USAGE);
    known("num_requests_running", "nim", Field.REQUESTS_RUNNING);
    known("num_requests_waiting", "nim", Field.REQUESTS_WAITING);
  }

  private static void known(String name, String engine, Field field) {
    NAMES.put(name, new Known(engine, field));
  }

  /**
   * The engine metric a name is, or null: also a counter's name without its {@code _total} suffix.
   */
  public static Known lookup(String metricName) {
    Known k = NAMES.get(metricName);
    if (k == null && !metricName.endsWith("_total")) {
      k = NAMES.get(metricName + "_total");
      if (k != null && k.field() != Field.PREEMPTIONS) {
        return null;
      }
    }
    return k;
  }

  /** Every recognised name with its meaning, in table order (docs, tests). */
  public static Map<String, Known> names() {
    return java.util.Collections.unmodifiableMap(NAMES);
  }

  /**
   * What one instance's series gave.
   *
   * @param samples one per (engine, model) with at least one usable value
   * @param used series that fed a field
   * @param unknown series of no engine metric (left alone)
   * @param invalid series of an engine metric whose value was refused, each with why (metric name
   *     and reason)
   */
  public record Result(List<EngineSample> samples, int used, int unknown, List<String> invalid) {}

  private final String cluster;
  private final String region;
  private final String host;

  /**
   * @param cluster, region, host the collector's identity (the node), stamped on every sample
   */
  public EngineMapping(String cluster, String region, String host) {
    this.cluster = cluster;
    this.region = region;
    this.host = host;
  }

  private static final class Acc {
    Double kv;
    Long running;
    Long waiting;
    Long preemptions;
  }

  /**
   * Maps the series of one instance.
   *
   * @param instance the engine instance (scrape target host:port, or the OTLP resource's instance)
   * @param pod the Kubernetes pod of the instance, or null (a series' {@code pod} label overrides
   *     it)
   * @param source scrape or otlp
   * @param timestampUs the samples' time, epoch microseconds
   */
  public Result map(
      List<PrometheusText.Sample> series,
      String instance,
      String pod,
      String source,
      long timestampUs) {
    Map<List<String>, Acc> groups = new LinkedHashMap<>();
    List<String> invalid = new ArrayList<>();
    int used = 0;
    int unknown = 0;
    for (PrometheusText.Sample s : series) {
      Known k = lookup(s.name());
      if (k == null) {
        unknown++;
        continue;
      }
      String why = check(k.field(), s.value());
      String model = model(k.engine(), s.labels());
      String seriesPod = blankToNull(s.labels().get("pod"));
      String podOf = seriesPod != null ? seriesPod : pod;
      if (why == null && model != null && model.length() > MAX_NAME_CHARS) {
        why = "model name is " + model.length() + " characters (at most " + MAX_NAME_CHARS + ")";
      }
      if (why == null && podOf != null && podOf.length() > MAX_NAME_CHARS) {
        why = "pod name is " + podOf.length() + " characters (at most " + MAX_NAME_CHARS + ")";
      }
      if (why != null) {
        invalid.add(s.name() + ": " + why);
        continue;
      }
      Acc a =
          groups.computeIfAbsent(java.util.Arrays.asList(k.engine(), model, podOf), x -> new Acc());
      double v = s.value();
      switch (k.field()) {
        case KV_CACHE_USAGE -> a.kv = a.kv == null ? v : Math.max(a.kv, v);
        case REQUESTS_RUNNING -> a.running = add(a.running, v);
        case REQUESTS_WAITING -> a.waiting = add(a.waiting, v);
        case PREEMPTIONS -> a.preemptions = add(a.preemptions, v);
      }
      used++;
    }
    List<EngineSample> out = new ArrayList<>(groups.size());
    String inst =
        instance.length() > MAX_NAME_CHARS ? instance.substring(0, MAX_NAME_CHARS) : instance;
    groups.forEach(
        (key, a) -> {
          EngineSample e = new EngineSample();
          e.setCluster(cluster);
          e.setRegion(region);
          e.setHost(host);
          e.setInstance(inst);
          e.setEngine(key.get(0));
          e.setModel(key.get(1));
          e.setPod(key.get(2));
          e.setSource(source);
          e.setTimestampUs(timestampUs);
          e.setKvCacheUsage(a.kv);
          e.setRequestsRunning(a.running);
          e.setRequestsWaiting(a.waiting);
          e.setPreemptionsTotal(a.preemptions);
          out.add(e);
        });
    return new Result(out, used, unknown, invalid);
  }

  /** Why a value cannot be taken for {@code field}, or null when it can. */
  static String check(Field field, double v) {
    if (!Double.isFinite(v)) {
      return "value " + v + " is not a finite number";
    }
    if (v < 0) {
      return "value " + v + " is negative";
    }
    if (field == Field.KV_CACHE_USAGE) {
      return v > 1 ? "KV-cache usage " + v + " is above 1 (a ratio 0-1)" : null;
    }
    return v > MAX_COUNT ? "count " + v + " is above " + (long) MAX_COUNT : null;
  }

  private static Long add(Long sum, double v) {
    long n = Math.round(v);
    return sum == null ? n : sum + n;
  }

  private static String model(String engine, Map<String, String> labels) {
    String m = blankToNull(labels.get("model_name"));
    if (m == null && engine.equals("triton")) {
      m = blankToNull(labels.get("model"));
    }
    return m;
  }

  private static String blankToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
