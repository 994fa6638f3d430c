package io.infermeter.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.infermeter.schemas.config.Settings;
import io.infermeter.testsupport.Infra;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TopicCreator} and {@code topics create|list} on the real local broker, each test on its
 * own prefix.
 */
class TopicCreatorIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Infra infra = Infra.get();
  private final String prefix = Infra.uniqueName("topics").replace('_', '-') + "-";

  private Admin admin() {
    return Admin.create(Map.of("bootstrap.servers", infra.kafkaBootstrap()));
  }

  private TopicCreator.Plan plan(int partitions, boolean createMissing) {
    return new TopicCreator.Plan(prefix, partitions, (short) 1, createMissing);
  }

  /**
   * Until the broker lists the topics a test created itself, as it would for topics left by an
   * earlier run.
   */
  private static void awaitListed(Admin admin, String... names) {
    Infra.await(
        Duration.ofSeconds(10),
        "topics listed",
        () -> {
          try {
            return admin.listTopics().names().get().containsAll(List.of(names));
          } catch (Exception e) {
            return false;
          }
        });
  }

  @AfterEach
  void deleteTopics() throws Exception {
    try (Admin admin = admin()) {
      List<String> ours =
          admin.listTopics().names().get().stream().filter(n -> n.startsWith(prefix)).toList();
      if (!ours.isEmpty()) {
        admin.deleteTopics(ours).all().get(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void appsStartingTogetherCreateEveryTopicOnceWithTheConfiguredCount() throws Exception {
    int apps = 6;
    int partitions = 5; // neither the app default nor the local broker's num.partitions
    ExecutorService pool = Executors.newFixedThreadPool(apps);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<TopicCreator.Outcome>> runs = new ArrayList<>();
    try {
      for (int i = 0; i < apps; i++) {
        Callable<TopicCreator.Outcome> app =
            () -> {
              try (Admin admin = admin()) {
                admin.describeCluster().clusterId().get(); // connected before the race starts
                go.await();
                return TopicCreator.ensure(admin, plan(partitions, true), TIMEOUT);
              }
            };
        runs.add(pool.submit(app));
      }
      go.countDown();
      List<String> createdByAll = new ArrayList<>();
      for (Future<TopicCreator.Outcome> run : runs) {
        TopicCreator.Outcome outcome = run.get(60, TimeUnit.SECONDS);
        createdByAll.addAll(outcome.created());
        assertThat(outcome.mismatches()).isEmpty();
        assertThat(outcome.inputMismatch()).isNull();
        assertThat(outcome.partitions())
            .containsOnlyKeys(plan(partitions, true).names())
            .allSatisfy((name, count) -> assertThat(count).as(name).isEqualTo(partitions));
      }
      assertThat(createdByAll)
          .as("each topic created by exactly one app")
          .containsExactlyInAnyOrderElementsOf(plan(partitions, true).names());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aSecondRunCreatesNothingAndReportsNothing() throws Exception {
    try (Admin admin = admin()) {
      TopicCreator.ensure(admin, plan(4, true), TIMEOUT);
      TopicCreator.Outcome again = TopicCreator.ensure(admin, plan(4, true), TIMEOUT);
      assertThat(again.created()).isEmpty();
      assertThat(again.mismatches()).isEmpty();
      assertThat(again.partitions()).hasSize(Topics.ALL.size());
    }
  }

  @Test
  void aTopicAutoCreatedWithAnotherCountIsReportedAndItsPartnerFollowsIt() throws Exception {
    String hardware = prefix + Topics.HARDWARE.name();
    String alerts = prefix + Topics.ALERTS.name();
    try (Admin admin = admin()) {
      // what the broker's auto-creation (num.partitions=3) left behind when the sink started first
      admin
          .createTopics(
              List.of(new NewTopic(hardware, 3, (short) 1), new NewTopic(alerts, 2, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      awaitListed(admin, hardware, alerts);
      TopicCreator.Outcome outcome = TopicCreator.ensure(admin, plan(4, true), TIMEOUT);
      assertThat(outcome.mismatches())
          .containsExactlyInAnyOrder(
              new TopicCreator.Mismatch(hardware, 3, 4), new TopicCreator.Mismatch(alerts, 2, 4));
      assertThat(outcome.partitions().get(prefix + Topics.REQUESTS.name()))
          .as("the request topic takes the hardware topic's count so the streams app can join them")
          .isEqualTo(3);
      assertThat(outcome.inputMismatch()).isNull();
      assertThat(outcome.created())
          .doesNotContain(hardware, alerts)
          .contains(prefix + Topics.REQUESTS.name());
    }
  }

  @Test
  void requestAndHardwareTopicsWithDifferentCountsAreNamedWithBothCounts() throws Exception {
    String requests = prefix + Topics.REQUESTS.name();
    String hardware = prefix + Topics.HARDWARE.name();
    try (Admin admin = admin()) {
      admin
          .createTopics(
              List.of(new NewTopic(requests, 4, (short) 1), new NewTopic(hardware, 3, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
      awaitListed(admin, requests, hardware);
      TopicCreator.Outcome outcome = TopicCreator.ensure(admin, plan(4, true), TIMEOUT);
      assertThat(outcome.inputMismatch())
          .contains(requests + " has 4 partitions", hardware + " has 3");
    }
  }

  @Test
  void withCreationOffNothingIsCreated() throws Exception {
    try (Admin admin = admin()) {
      TopicCreator.Outcome outcome = TopicCreator.ensure(admin, plan(4, false), TIMEOUT);
      assertThat(outcome.created()).isEmpty();
      assertThat(outcome.partitions()).isEmpty();
      assertThat(admin.listTopics().names().get()).noneMatch(n -> n.startsWith(prefix));
    }
  }

  @Test
  void atStartUsesTheAppsSettingsAndNeverThrowsForAnUnreachableBroker() throws Exception {
    Settings settings =
        Settings.fromMap(Map.of("topic.prefix", prefix, TopicCreator.PARTITIONS, "2"));
    TopicCreator.Outcome outcome =
        TopicCreator.atStart("test", Map.of("bootstrap.servers", infra.kafkaBootstrap()), settings);
    assertThat(outcome).isNotNull();
    assertThat(outcome.partitions().values()).hasSize(Topics.ALL.size()).containsOnly(2);

    // nothing listens on port 9 (discard) of the loopback interface here: the broker cannot be
    // reached
    long start = System.nanoTime();
    Duration giveUp = Duration.ofSeconds(2);
    TopicCreator.Outcome unreachable =
        TopicCreator.atStart(
            "test",
            Map.of("bootstrap.servers", "127.0.0.1:9"),
            settings.with(Map.of("topic.prefix", prefix + "x-")),
            giveUp);
    assertThat(unreachable).isNull();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(giveUp.multipliedBy(3));
  }

  @Test
  void theCommandCreatesThenLists() throws Exception {
    Map<String, String> env =
        Map.of(
            "INFERMETER_KAFKA_BOOTSTRAP_SERVERS",
            infra.kafkaBootstrap(),
            "INFERMETER_TOPIC_PREFIX",
            prefix);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc =
        TopicsCommand.run(
            new String[] {"create"},
            env,
            new Properties(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream()));
    assertThat(rc).isZero();
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines)
        .hasSize(Topics.ALL.size())
        .allMatch(l -> l.startsWith(prefix) && l.endsWith("(created)"));

    out.reset();
    rc =
        TopicsCommand.run(
            new String[] {"list"},
            env,
            new Properties(),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream()));
    assertThat(rc).isZero();
    lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(new HashSet<>(lines.stream().map(l -> l.split("\\s+", -1)[0]).toList()))
        .containsExactlyInAnyOrderElementsOf(plan(4, true).names());
    assertThat(lines)
        .allMatch(
            l -> l.endsWith(TopicCreator.DEFAULTS.get(TopicCreator.PARTITIONS) + " partitions"));
  }
}
