package io.infermeter.demo.sim;

import java.util.List;

/**
 * The shape of a simulated fleet: hosts, the models they serve and their GPUs. Everything the
 * simulator emits is labelled {@code source=simulated}.
 *
 * @param hosts the inference hosts
 * @param models the served models
 */
public record FleetSpec(List<Host> hosts, List<Model> models) {

  /**
   * One inference host.
   *
   * @param cluster cluster name
   * @param region region (carbon intensity lookup)
   * @param name host name
   * @param gpuType GPU model, the price-table key
   * @param gpus number of GPUs
   * @param tdpWatts board power limit of one GPU, watts
   * @param memoryBytes memory of one GPU, bytes
   * @param models names of the models served on this host (one per GPU, round-robin)
   * @param qps request rate of the whole host while it serves, requests per second
   * @param bursts when the host serves: always ({@link Bursts#STEADY}) or in on/off bursts
   */
  public record Host(
      String cluster,
      String region,
      String name,
      String gpuType,
      int gpus,
      double tdpWatts,
      long memoryBytes,
      List<String> models,
      double qps,
      Bursts bursts) {}

  /**
   * A host's load pattern: alternating periods with traffic (ON, requests arrive at the host's
   * {@code qps}) and without (OFF, no request arrives, so the GPUs idle once the requests in flight
   * finish), each of exponentially distributed length (an on/off modulated Poisson process). The
   * host starts ON. Its mean rate is {@code qps x meanOnSeconds / (meanOnSeconds +
   * meanOffSeconds)}.
   *
   * @param meanOnSeconds mean length of a period with traffic, seconds
   * @param meanOffSeconds mean length of a period without traffic, seconds; 0: never off
   */
  public record Bursts(double meanOnSeconds, double meanOffSeconds) {

    /** Traffic all the time. */
    public static final Bursts STEADY = new Bursts(1, 0);

    /** Whether the host ever goes without traffic. */
    public boolean bursty() {
      return meanOffSeconds > 0;
    }
  }

  /**
   * One served model and its latency profile (lognormal around the given medians).
   *
   * @param name model name
   * @param version model version
   * @param prefillUsPerInputToken median prefill cost per input token, microseconds
   * @param tpotUs median time per output token at batch size 1, microseconds
   * @param medianInputTokens median prompt length, tokens
   * @param medianOutputTokens median completion length, tokens
   * @param maxBatchSize configured maximum batch size
   * @param weightsBytes GPU memory held by the weights, bytes
   */
  public record Model(
      String name,
      String version,
      double prefillUsPerInputToken,
      double tpotUs,
      int medianInputTokens,
      int medianOutputTokens,
      int maxBatchSize,
      long weightsBytes) {}

  private static final long GIB = 1L << 30;

  /**
   * The bursty hosts' pattern: 40 s with traffic, then 20 s without, on average (idle about a third
   * of the time).
   */
  public static final Bursts BURSTS = new Bursts(40, 20);

  /**
   * A small default fleet: 3 models, 6 hosts, 2 clusters in 3 regions, 3 GPU types. Weights are
   * sized as served quantized (70B in 4 bit, 8B and 7B in 8 bit) so that each fits one GPU. One
   * host per region gets its traffic in bursts ({@link #BURSTS}: gpu-a-02, gpu-b-01, gpu-b-02), so
   * every region has GPUs that idle. The scripted incidents ({@link Scenario}) stay visible: the
   * leaking GPU's host keeps steady traffic (the memory-leak rule discounts memory that rises with
   * load), and so does the host that goes silent; the model whose latency regresses keeps most of
   * its traffic steady, so its fleet-wide p99 is judged every 10 s window. The KV-cache saturation
   * and the thermal throttle do not depend on load.
   */
  public static FleetSpec defaultFleet() {
    List<Model> models =
        List.of(
            new Model("llama-3.1-8b-instruct", "2024-07", 45, 9_000, 600, 150, 64, 9 * GIB),
            new Model("llama-3.1-70b-instruct", "2024-07", 150, 26_000, 900, 120, 32, 40 * GIB),
            new Model("mistral-7b-instruct", "v0.3", 40, 8_000, 400, 120, 64, 8 * GIB));
    List<Host> hosts =
        List.of(
            new Host(
                "prod-a",
                "us-east-1",
                "gpu-a-01",
                "H100",
                2,
                700,
                80 * GIB,
                List.of("llama-3.1-70b-instruct", "llama-3.1-8b-instruct"),
                40,
                Bursts.STEADY),
            new Host(
                "prod-a",
                "us-east-1",
                "gpu-a-02",
                "H100",
                2,
                700,
                80 * GIB,
                List.of("llama-3.1-70b-instruct", "mistral-7b-instruct"),
                35,
                BURSTS),
            new Host(
                "prod-a",
                "eu-west-1",
                "gpu-a-03",
                "A100",
                2,
                400,
                80 * GIB,
                List.of("llama-3.1-8b-instruct", "mistral-7b-instruct"),
                30,
                Bursts.STEADY),
            new Host(
                "prod-b",
                "eu-west-1",
                "gpu-b-01",
                "A100",
                2,
                400,
                80 * GIB,
                List.of("llama-3.1-70b-instruct", "llama-3.1-8b-instruct"),
                25,
                BURSTS),
            new Host(
                "prod-b",
                "ap-south-1",
                "gpu-b-02",
                "L4",
                2,
                72,
                24 * GIB,
                List.of("mistral-7b-instruct", "mistral-7b-instruct"),
                20,
                BURSTS),
            new Host(
                "prod-b",
                "ap-south-1",
                "gpu-b-03",
                "L4",
                2,
                72,
                24 * GIB,
                List.of("llama-3.1-8b-instruct", "mistral-7b-instruct"),
                20,
                Bursts.STEADY));
    return new FleetSpec(hosts, models);
  }

  Model model(String name) {
    return models.stream()
        .filter(m -> m.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown model " + name));
  }
}
