package io.infermeter.schemas;

import io.infermeter.schemas.config.ConfigException;
import io.infermeter.schemas.config.ConfigKey;
import io.infermeter.schemas.config.ConfigTable;
import io.infermeter.schemas.config.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates every topic of {@link Topics#ALL} that does not exist yet, with the deployment's prefix,
 * partition count and replication factor, and checks the partition count of those that do. Every
 * app calls it at start ({@link #atStart}), so the apps can start in any order on a broker that
 * does not auto-create topics; production pre-creates the topics and sets {@value
 * #CREATE_MISSING}{@code =false}.
 *
 * <p>Idempotent and safe to run from several processes at once: a topic another process created
 * between the listing and the creation ({@link TopicExistsException}) counts as existing. The
 * request and hardware topics must have the same partition count (the streams app joins a host's
 * requests and samples by partition number): when only one of them exists, the other is created
 * with its count instead of the configured one.
 *
 * <p>Settings (every app, defaults in {@link #DEFAULTS}): {@value #CREATE_MISSING}, {@value
 * #PARTITIONS}, {@value #REPLICATION_FACTOR}, and the shared {@code topic.prefix}. Stateless and
 * thread-safe.
 */
public final class TopicCreator {

  /** Whether an app creates missing topics at start. */
  public static final String CREATE_MISSING = "topics.create.missing";

  /** Partition count of every topic an app creates. */
  public static final String PARTITIONS = "topics.partitions";

  /** Replication factor of every topic an app creates. */
  public static final String REPLICATION_FACTOR = "topics.replication.factor";

  /** Defaults of the keys above: right for the local single-broker stack, not for production. */
  public static final Map<String, String> DEFAULTS =
      Map.of(CREATE_MISSING, "true", PARTITIONS, "4", REPLICATION_FACTOR, "1");

  /** The keys every app reads for topic creation. */
  public static final Set<String> KEYS = DEFAULTS.keySet();

  /** The keys above as every app's reference table shows them. */
  public static final ConfigTable CONFIG =
      ConfigTable.builder()
          .key(
              CREATE_MISSING,
              DEFAULTS.get(CREATE_MISSING),
              ConfigKey.Type.BOOLEAN,
              "create every missing topic of the pipeline at start, as every app does"
                  + " (docs/DEPLOY.md, \"Topic creation and start order\"); **production: false**"
                  + " and pre-created topics")
          .key(
              PARTITIONS,
              DEFAULTS.get(PARTITIONS),
              ConfigKey.Type.POSITIVE_INTEGER,
              "partitions of each topic an app creates")
          .key(
              REPLICATION_FACTOR,
              DEFAULTS.get(REPLICATION_FACTOR),
              ConfigKey.Type.POSITIVE_INTEGER,
              "replication factor of each topic an app creates; **production: 3**")
          .build();

  private static final Logger LOG = LoggerFactory.getLogger(TopicCreator.class);
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** The topics the streams app joins by partition: they must all have the same count. */
  private static final List<TopicSpec<?>> CO_PARTITIONED =
      List.of(Topics.REQUESTS, Topics.HARDWARE, Topics.ENGINE_STATE);

  private TopicCreator() {}

  /**
   * What to create: the topics with {@code prefix}, each with {@code partitions} and {@code
   * replicationFactor}.
   *
   * @param createMissing false: only check, never create
   */
  public record Plan(
      String prefix, int partitions, short replicationFactor, boolean createMissing) {

    public Plan {
      prefix = prefix == null ? "" : prefix;
      if (partitions <= 0) {
        throw new ConfigException(
            "invalid value '"
                + partitions
                + "' for setting '"
                + PARTITIONS
                + "': expected a positive integer");
      }
      if (replicationFactor <= 0) {
        throw new ConfigException(
            "invalid value '"
                + replicationFactor
                + "' for setting '"
                + REPLICATION_FACTOR
                + "': expected a positive integer");
      }
    }

    /**
     * The plan of an app's settings: {@code topic.prefix} and the keys of {@link
     * TopicCreator#DEFAULTS}, each falling back to its default when the app's own defaults do not
     * declare it.
     *
     * @throws ConfigException for a value that is not a boolean or a positive integer (at most
     *     32767 replicas)
     */
    public static Plan from(Settings s) {
      String prefix = s.string("topic.prefix", "");
      int partitions = positive(s, PARTITIONS, Integer.MAX_VALUE);
      int replication = positive(s, REPLICATION_FACTOR, Short.MAX_VALUE);
      return new Plan(prefix, partitions, (short) replication, bool(s, CREATE_MISSING));
    }

    /** The prefixed name of {@code topic}. */
    public String name(TopicSpec<?> topic) {
      return topic.withPrefix(prefix).name();
    }

    /** The prefixed names of every topic, in the order of {@link Topics#ALL}. */
    public List<String> names() {
      return Topics.ALL.stream().map(this::name).toList();
    }
  }

  /** An existing topic whose partition count is not the configured one. */
  public record Mismatch(String topic, int actual, int configured) {

    /** One line naming the topic and both counts. */
    public String describe() {
      return "topic "
          + topic
          + " has "
          + actual
          + " partitions, "
          + PARTITIONS
          + " is "
          + configured;
    }
  }

  /**
   * What a run found and did.
   *
   * @param created topics this run created
   * @param partitions partition count of every topic of the plan, by name (after creation)
   * @param mismatches existing topics whose partition count differs from the configured one
   * @param inputMismatch null, or why the request and hardware topics cannot be joined (different
   *     counts)
   */
  public record Outcome(
      List<String> created,
      Map<String, Integer> partitions,
      List<Mismatch> mismatches,
      String inputMismatch) {

    public Outcome {
      created = List.copyOf(created);
      partitions = Map.copyOf(partitions);
      mismatches = List.copyOf(mismatches);
    }
  }

  /**
   * Lists the topics, creates the missing ones (when the plan says so) and describes them all.
   *
   * @throws ExecutionException when the broker refuses a request (authorization, invalid
   *     replication factor) or a topic of the plan still does not exist afterwards
   * @throws TimeoutException when the broker does not answer within {@code timeout}
   */
  public static Outcome ensure(Admin admin, Plan plan, Duration timeout)
      throws ExecutionException, InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> existing =
        admin
            .listTopics(new ListTopicsOptions().timeoutMs(remainingMs(deadline)))
            .names()
            .get(remainingMs(deadline), TimeUnit.MILLISECONDS);
    List<String> created = new ArrayList<>();
    if (plan.createMissing()) {
      Map<String, NewTopic> missing = new LinkedHashMap<>();
      for (TopicSpec<?> topic : Topics.ALL) {
        String name = plan.name(topic);
        if (!existing.contains(name)) {
          missing.put(
              name,
              new NewTopic(
                  name,
                  partitionsFor(topic, plan, admin, existing, deadline),
                  plan.replicationFactor()));
        }
      }
      if (!missing.isEmpty()) {
        Map<String, KafkaFuture<Void>> results =
            admin
                .createTopics(
                    missing.values(), new CreateTopicsOptions().timeoutMs(remainingMs(deadline)))
                .values();
        for (Map.Entry<String, KafkaFuture<Void>> r : results.entrySet()) {
          try {
            r.getValue().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
            created.add(r.getKey());
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
              throw e;
            }
            // another app starting at the same moment created it first
          }
        }
      }
    }
    Map<String, Integer> counts = describe(admin, plan.names(), deadline, plan.createMissing());
    List<Mismatch> mismatches = new ArrayList<>();
    for (String name : plan.names()) {
      Integer actual = counts.get(name);
      if (actual != null && actual != plan.partitions() && !created.contains(name)) {
        mismatches.add(new Mismatch(name, actual, plan.partitions()));
      }
    }
    return new Outcome(created, counts, mismatches, inputMismatch(plan, counts));
  }

  /**
   * Null when the request, hardware and engine-state topics have the same partition count (a
   * missing one is not compared), else why the streams app cannot start on them.
   */
  public static String inputMismatch(Plan plan, Map<String, Integer> partitions) {
    Integer requests = partitions.get(plan.name(Topics.REQUESTS));
    if (requests == null) {
      return null;
    }
    for (TopicSpec<?> other : CO_PARTITIONED.subList(1, CO_PARTITIONED.size())) {
      Integer n = partitions.get(plan.name(other));
      if (n != null && !n.equals(requests)) {
        return "topic "
            + plan.name(Topics.REQUESTS)
            + " has "
            + requests
            + " partitions and "
            + plan.name(other)
            + " has "
            + n
            + ": the streams app joins a host's requests, hardware samples and "
            + "engine samples by partition, so all three need the same count "
            + "(add partitions to the smaller one before the first run; see docs/DEPLOY.md)";
      }
    }
    return null;
  }

  /**
   * The start-up step of every app: with {@value #CREATE_MISSING} (the default) creates the missing
   * topics and logs what it created and every partition-count mismatch; without it does nothing.
   * Never throws for a broker problem: it logs a WARN saying what to do and returns null (an app
   * must still start, e.g. the collector spools).
   *
   * @param app the app's name, for the log
   * @param adminConfig the app's admin client settings, {@code bootstrap.servers} included
   * @return the outcome, or null when creation is off or failed
   * @throws ConfigException for an invalid topic setting
   */
  public static Outcome atStart(String app, Map<String, ?> adminConfig, Settings settings)
      throws InterruptedException {
    return atStart(app, adminConfig, settings, DEFAULT_TIMEOUT);
  }

  /** {@link #atStart(String, Map, Settings)} giving up on the broker after {@code timeout}. */
  public static Outcome atStart(
      String app, Map<String, ?> adminConfig, Settings settings, Duration timeout)
      throws InterruptedException {
    Plan plan = Plan.from(settings);
    if (!plan.createMissing()) {
      LOG.info("{}: {}=false, expecting the topics {} to exist", app, CREATE_MISSING, plan.names());
      return null;
    }
    Map<String, Object> cfg = new TreeMap<>(adminConfig);
    cfg.putIfAbsent(
        "client.id", "infermeter-" + app.toLowerCase(Locale.ROOT).replace(' ', '-') + "-topics");
    try (Admin admin = Admin.create(cfg)) {
      Outcome outcome = ensure(admin, plan, timeout);
      log(app, plan, outcome);
      return outcome;
    } catch (ExecutionException | TimeoutException | org.apache.kafka.common.KafkaException e) {
      LOG.warn(
          "{}: could not create the missing topics of {}: create them yourself (./infermeter topics create "
              + "locally; partitions and keys in docs/DEPLOY.md) or check kafka.bootstrap.servers and the admin's ACLs",
          app,
          plan.names(),
          e instanceof ExecutionException ? e.getCause() : e);
      return null;
    }
  }

  /**
   * {@link #atStart} on a daemon thread that retries every {@code retry} until it succeeds or the
   * thread is interrupted: for an app that must start while Kafka is down (the collector) and whose
   * topics must exist once Kafka is back.
   */
  public static Thread inBackground(
      String app, Map<String, ?> adminConfig, Settings settings, Duration retry) {
    Plan.from(settings); // an invalid setting fails the start, not the thread
    Thread t =
        new Thread(
            () -> {
              try {
                while (atStart(app, adminConfig, settings) == null
                    && Plan.from(settings).createMissing()) {
                  Thread.sleep(retry.toMillis());
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "infermeter-topic-creator");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void log(String app, Plan plan, Outcome outcome) {
    if (!outcome.created().isEmpty()) {
      LOG.info(
          "{}: created topics {} ({} partitions unless noted in docs/DEPLOY.md, replication factor {})",
          app,
          outcome.created(),
          plan.partitions(),
          plan.replicationFactor());
    }
    for (Mismatch m : outcome.mismatches()) {
      LOG.warn(
          "{}: {} (existing topics are left as they are; set {} to the count you created them with, "
              + "or pre-create them and set {}=false)",
          app,
          m.describe(),
          PARTITIONS,
          CREATE_MISSING);
    }
    if (outcome.inputMismatch() != null) {
      LOG.warn("{}: {}", app, outcome.inputMismatch());
    }
  }

  /**
   * The configured count, except for a missing co-partitioned topic (requests, hardware, engine
   * state) of which another member exists: then that member's count, so the group stays equal.
   */
  private static int partitionsFor(
      TopicSpec<?> topic, Plan plan, Admin admin, Set<String> existing, long deadline)
      throws ExecutionException, InterruptedException, TimeoutException {
    if (!CO_PARTITIONED.contains(topic)) {
      return plan.partitions();
    }
    for (TopicSpec<?> partner : CO_PARTITIONED) {
      String name = plan.name(partner);
      if (partner.equals(topic)) {
        continue;
      }
      // described even when the listing missed it: a topic created a moment ago may not be listed
      // yet
      Integer count = describe(admin, List.of(name), deadline, existing.contains(name)).get(name);
      if (count == null) {
        continue;
      }
      if (count != plan.partitions()) {
        LOG.info(
            "creating {} with {} partitions, the count of {} ({} is {}): the streams app joins them by "
                + "partition",
            plan.name(topic),
            count,
            name,
            PARTITIONS,
            plan.partitions());
      }
      return count;
    }
    return plan.partitions();
  }

  /**
   * Partition counts of the existing topics among {@code names}. Topics created a moment ago may
   * not be in every broker's metadata yet: with {@code mustExist} a missing one is retried until
   * the deadline, else left out.
   */
  private static Map<String, Integer> describe(
      Admin admin, Collection<String> names, long deadline, boolean mustExist)
      throws ExecutionException, InterruptedException, TimeoutException {
    Map<String, Integer> out = new LinkedHashMap<>();
    List<String> pending = new ArrayList<>(names);
    while (true) {
      Map<String, KafkaFuture<TopicDescription>> d =
          admin
              .describeTopics(pending, new DescribeTopicsOptions().timeoutMs(remainingMs(deadline)))
              .topicNameValues();
      List<String> unknown = new ArrayList<>();
      for (String name : pending) {
        try {
          out.put(
              name,
              d.get(name).get(remainingMs(deadline), TimeUnit.MILLISECONDS).partitions().size());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
            throw e;
          }
          unknown.add(name);
        }
      }
      if (unknown.isEmpty() || !mustExist) {
        return out;
      }
      if (remainingMs(deadline) <= 250) {
        throw new TimeoutException("topics " + unknown + " do not exist after creating them");
      }
      pending = unknown;
      Thread.sleep(250);
    }
  }

  private static int remainingMs(long deadlineNanos) throws TimeoutException {
    long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    if (ms <= 0) {
      throw new TimeoutException("the broker did not answer within the topic creation timeout");
    }
    return (int) Math.min(Integer.MAX_VALUE, ms);
  }

  private static int positive(Settings s, String key, int max) {
    String v = s.string(key, DEFAULTS.get(key)).trim();
    int n;
    try {
      n = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new ConfigException(
          "invalid value '" + v + "' for setting '" + key + "': expected a positive integer");
    }
    if (n <= 0 || n > max) {
      throw new ConfigException(
          "invalid value '"
              + v
              + "' for setting '"
              + key
              + "': expected a positive integer"
              + (max < Integer.MAX_VALUE ? " up to " + max : ""));
    }
    return n;
  }

  private static boolean bool(Settings s, String key) {
    return Settings.fromMap(Map.of(key, s.string(key, DEFAULTS.get(key)))).bool(key);
  }
}
