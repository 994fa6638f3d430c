package io.infermeter.alerts;

import static io.infermeter.alerts.internal.TestAlerts.alert;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.infermeter.avro.Alert;
import io.infermeter.avro.AlertState;
import io.infermeter.schemas.Topics;
import io.infermeter.schemas.serde.AvroSerdeConfig;
import io.infermeter.schemas.serde.AvroSerializer;
import io.infermeter.schemas.serde.HttpSchemaRegistryClient;
import io.infermeter.testsupport.Infra;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The forwarder between the real local Kafka (and schema registry) and real Alertmanagers (Debian's
 * prometheus-alertmanager 0.25, started by the test): alerts arrive, group by alertname, resolve,
 * are re-sent while firing, and a restart neither loses nor floods. Skipped only when no
 * Alertmanager binary is installed.
 */
class AlertmanagerForwardIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private final String prefix = Infra.uniqueName("alertsit") + "-";
  private final String topic = Topics.ALERTS.withPrefix(prefix).name();
  private final String group = Infra.uniqueName("alertsit-group");
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private Admin admin;
  private KafkaProducer<String, Alert> producer;
  private KafkaProducer<byte[], byte[]> raw;

  @BeforeEach
  void topic() throws Exception {
    admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Infra.get().kafkaBootstrap()));
    admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Infra.get().kafkaBootstrap());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    AvroSerdeConfig serde =
        AvroSerdeConfig.from(
            Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, Infra.get().schemaRegistryUrl()));
    producer =
        new KafkaProducer<>(
            p,
            new StringSerializer(),
            new AvroSerializer<>(new HttpSchemaRegistryClient(serde), serde, false));
    raw = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    producer.close();
    raw.close();
    try {
      admin.deleteTopics(List.of(topic)).all().get();
    } catch (Exception e) {
      // best effort: unique names never collide
    }
    admin.close();
  }

  private AlertmanagerProcess alertmanager() throws Exception {
    AlertmanagerProcess am = AlertmanagerProcess.start();
    closeables.add(am);
    return am;
  }

  private Map<String, Object> settings(String urls) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kafka.bootstrap.servers", Infra.get().kafkaBootstrap());
    m.put("schema.registry.url", Infra.get().schemaRegistryUrl());
    m.put("topic.prefix", prefix);
    m.put("kafka.group.id", group);
    m.put("alertmanager.urls", urls);
    m.put("alertmanager.resend.interval", "1h"); // no periodic re-send during the counts below
    m.put("alertmanager.resend.timeout", "2h");
    m.put("poll.timeout", "100ms");
    m.put("metrics.port", "0");
    return m;
  }

  private AlertForwarder start(Map<String, Object> settings) {
    AlertForwarder f =
        AlertForwarder.start(ForwarderConfig.fromMap(settings), new PrometheusRegistry());
    closeables.add(f);
    Infra.await(WAIT, "the forwarder is assigned its partitions", f::isReady);
    return f;
  }

  private void send(Alert a) throws Exception {
    producer.send(new ProducerRecord<>(topic, a.getDedupKey(), a)).get();
  }

  private static List<String> hosts(JsonNode alerts, String alertname) {
    List<String> out = new ArrayList<>();
    for (JsonNode a : alerts) {
      if (a.path("labels").path("alertname").asText().equals(alertname)) {
        out.add(a.path("labels").path("host").asText());
      }
    }
    out.sort(null);
    return out;
  }

  private static JsonNode find(JsonNode alerts, String alertname, String host) {
    for (JsonNode a : alerts) {
      if (a.path("labels").path("alertname").asText().equals(alertname)
          && a.path("labels").path("host").asText().equals(host)) {
        return a;
      }
    }
    return null;
  }

  private static boolean holds(ThrowingCheck check) {
    try {
      return check.get();
    } catch (Exception e) {
      return false;
    }
  }

  @FunctionalInterface
  private interface ThrowingCheck {
    boolean get() throws Exception;
  }

  private boolean committedToEnd() throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
    for (int p = 0; p < 3; p++) {
      latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
    }
    var ends = admin.listOffsets(latest).all().get();
    for (TopicPartition tp : latest.keySet()) {
      long end = ends.get(tp).offset();
      OffsetAndMetadata c = committed.get(tp);
      if (end > 0 && (c == null || c.offset() != end)) {
        return false;
      }
    }
    return true;
  }

  @Test
  void alertsArriveGroupResolveAndARestartNeitherLosesNorFloods() throws Exception {
    AlertmanagerProcess am1 = alertmanager();
    AlertmanagerProcess am2 = alertmanager();
    Map<String, Object> settings = settings(am1.url() + "," + am2.url());
    AlertForwarder first = start(settings);
    Instant t0 = Instant.now().minusSeconds(120);

    send(alert("gpu_memory_high", "host-a", AlertState.FIRING, t0, t0));
    send(alert("gpu_memory_high", "host-b", AlertState.FIRING, t0, t0));
    send(alert("error_spike", "host-c", AlertState.FIRING, t0, t0));

    for (AlertmanagerProcess am : List.of(am1, am2)) { // every Alertmanager gets every alert
      Infra.await(
          WAIT,
          "two groups by alertname on " + am.url(),
          () ->
              holds(
                  () -> {
                    Map<String, List<String>> groups = new HashMap<>();
                    for (JsonNode g : am.groups()) {
                      groups.put(
                          g.path("labels").path("alertname").asText(),
                          hosts(g.path("alerts"), g.path("labels").path("alertname").asText()));
                      if (g.path("labels").size() != 1) {
                        return false; // grouped by alertname only
                      }
                    }
                    return groups.equals(
                        Map.of(
                            "gpu_memory_high",
                            List.of("host-a", "host-b"),
                            "error_spike",
                            List.of("host-c")));
                  }));
    }
    JsonNode b = find(am1.alerts(), "gpu_memory_high", "host-b");
    assertThat(b.path("labels").path("severity").asText()).isEqualTo("critical");
    assertThat(b.path("labels").path("device").asText()).isEqualTo("gpu0");
    assertThat(b.path("annotations").path("summary").asText()).contains("host-b");
    assertThat(b.path("status").path("state").asText()).isEqualTo("active");
    assertThat(Instant.parse(b.path("startsAt").asText()))
        .isEqualTo(t0.truncatedTo(java.time.temporal.ChronoUnit.MILLIS));

    send(alert("gpu_memory_high", "host-a", AlertState.RESOLVED, t0, Instant.now()));
    for (AlertmanagerProcess am : List.of(am1, am2)) {
      Infra.await(
          WAIT,
          "host-a resolved on " + am.url(),
          () -> holds(() -> hosts(am.alerts(), "gpu_memory_high").equals(List.of("host-b"))));
    }
    Infra.await(WAIT, "offsets committed after delivery", () -> holds(this::committedToEnd));
    assertThat(first.metrics().forwarded(am1.url() + "/api/v2/alerts", "firing")).isEqualTo(3);
    assertThat(first.metrics().forwarded(am1.url() + "/api/v2/alerts", "resolved")).isEqualTo(1);
    double firingBefore = am1.received("firing");
    double resolvedBefore = am1.received("resolved");
    Instant bEndsBefore =
        Instant.parse(find(am1.alerts(), "gpu_memory_high", "host-b").path("endsAt").asText());

    first.close();
    // While the forwarder is down: one alert fires, one resolves.
    send(alert("gpu_memory_high", "host-d", AlertState.FIRING, t0, Instant.now()));
    send(alert("error_spike", "host-c", AlertState.RESOLVED, t0, Instant.now()));
    AlertForwarder second = start(settings);

    for (AlertmanagerProcess am : List.of(am1, am2)) { // nothing lost
      Infra.await(
          WAIT,
          "host-d firing and host-c resolved on " + am.url(),
          () ->
              holds(
                  () ->
                      hosts(am.alerts(), "gpu_memory_high").equals(List.of("host-b", "host-d"))
                          && hosts(am.alerts(), "error_spike").isEmpty()));
    }
    Infra.await(WAIT, "offsets committed after the restart", () -> holds(this::committedToEnd));
    // No flood: what was firing at the committed offset (host-b, host-c) is sent once on start,
    // then the records
    // written while down (host-d FIRING, host-c RESOLVED) once each; the resolved history (host-a)
    // is not sent again.
    assertThat(am1.received("firing") - firingBefore).isEqualTo(3);
    assertThat(am1.received("resolved") - resolvedBefore).isEqualTo(1);
    String am1Url = am1.url() + "/api/v2/alerts";
    assertThat(second.metrics().forwarded(am1Url, "firing")).isEqualTo(3);
    assertThat(second.metrics().forwarded(am1Url, "resolved")).isEqualTo(1);
    assertThat(second.metrics().firing()).isEqualTo(2);
    JsonNode bAfter = find(am1.alerts(), "gpu_memory_high", "host-b");
    assertThat(bAfter.path("startsAt").asText())
        .isEqualTo(b.path("startsAt").asText()); // the same incident
    assertThat(Instant.parse(bAfter.path("endsAt").asText()))
        .isAfter(bEndsBefore); // pushed forward by the re-send
  }

  @Test
  void firingAlertsAreResentSoTheyOutliveTheirEndsAt() throws Exception {
    AlertmanagerProcess am = alertmanager();
    Map<String, Object> settings = settings(am.url());
    settings.put("alertmanager.resend.interval", "1s");
    settings.put("alertmanager.resend.timeout", "3s");
    AlertForwarder f = start(settings);
    Instant t0 = Instant.now();

    send(alert("throttling", "host-r", AlertState.FIRING, t0, t0));
    Infra.await(
        WAIT,
        "the alert arrives",
        () -> holds(() -> find(am.alerts(), "throttling", "host-r") != null));
    Instant firstEnd =
        Instant.parse(find(am.alerts(), "throttling", "host-r").path("endsAt").asText());
    // Past the first endsAt (3 s after the first send) the alert is still active: re-sends pushed
    // endsAt forward.
    Infra.await(
        WAIT, "the first endsAt has passed", () -> Instant.now().isAfter(firstEnd.plusSeconds(1)));
    JsonNode still = find(am.alerts(), "throttling", "host-r");
    assertThat(still).isNotNull();
    assertThat(Instant.parse(still.path("endsAt").asText())).isAfter(firstEnd);
    assertThat(f.metrics().forwarded(am.url() + "/api/v2/alerts", "firing"))
        .isGreaterThanOrEqualTo(3);

    send(alert("throttling", "host-r", AlertState.RESOLVED, t0, Instant.now()));
    Infra.await(
        WAIT,
        "the alert resolves",
        () -> holds(() -> find(am.alerts(), "throttling", "host-r") == null));
    double sent = f.metrics().forwarded(am.url() + "/api/v2/alerts", "firing");
    Infra.await(
        WAIT,
        "two more re-send intervals",
        () ->
            holds(() -> am.get("/-/ready").statusCode() == 200)
                && Instant.now()
                    .isAfter(Instant.parse(still.path("endsAt").asText()).plusSeconds(2)));
    assertThat(f.metrics().forwarded(am.url() + "/api/v2/alerts", "firing"))
        .isEqualTo(sent); // resolved: no re-send
    assertThat(f.metrics().firing()).isZero();
  }

  @Test
  void rejectedUnreachableAndUndecodableAreCountedCommittedAndDoNotBlockTheRest() throws Exception {
    AlertmanagerProcess am = alertmanager();
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    String wrongPath = am.url() + "/no-such-prefix";
    String unreachable = "http://127.0.0.1:" + closedPort;
    Map<String, Object> settings = settings(am.url() + "," + wrongPath + "," + unreachable);
    settings.put("alertmanager.retry.initial.backoff", "100ms");
    settings.put("alertmanager.retry.max.backoff", "200ms");
    settings.put("alertmanager.retry.give.up.after", "1s");
    AlertForwarder f = start(settings);
    Instant t0 = Instant.now();

    raw.send(
            new ProducerRecord<>(
                topic, "junk".getBytes(StandardCharsets.UTF_8), new byte[] {0, 0, 0, 0, 1, 42}))
        .get();
    raw.send(new ProducerRecord<>(topic, "tombstone".getBytes(StandardCharsets.UTF_8), null)).get();
    send(alert("queue_buildup", "host-q", AlertState.FIRING, t0, t0));

    Infra.await(
        WAIT,
        "the alert reaches the working Alertmanager",
        () -> holds(() -> find(am.alerts(), "queue_buildup", "host-q") != null));
    Infra.await(
        WAIT,
        "offsets committed although two Alertmanagers failed",
        () -> holds(this::committedToEnd));
    assertThat(f.metrics().failed(wrongPath + "/api/v2/alerts", "rejected")).isEqualTo(1);
    assertThat(f.metrics().retries(wrongPath + "/api/v2/alerts")).isZero();
    assertThat(f.metrics().failed(unreachable + "/api/v2/alerts", "gave_up")).isEqualTo(1);
    assertThat(f.metrics().retries(unreachable + "/api/v2/alerts")).isGreaterThanOrEqualTo(2);
    assertThat(f.metrics().invalidRecords("undecodable")).isEqualTo(1);
    assertThat(f.metrics().invalidRecords("tombstone")).isEqualTo(1);
    assertThat(Set.of(f.metrics().forwarded(am.url() + "/api/v2/alerts", "firing")))
        .containsExactly(1.0);
  }

  @Test
  void anAlertmanagerThatIsDownAndComesBackEmptyGetsTheNewAndTheFiringAlerts() throws Exception {
    AlertmanagerProcess am = alertmanager();
    String amUrl = am.url() + "/api/v2/alerts";
    Map<String, Object> settings = settings(am.url());
    settings.put("alertmanager.resend.interval", "1s");
    settings.put("alertmanager.resend.timeout", "3s");
    settings.put("alertmanager.retry.initial.backoff", "100ms");
    settings.put("alertmanager.retry.max.backoff", "500ms");
    settings.put("alertmanager.retry.give.up.after", "60s");
    AlertForwarder f = start(settings);
    Instant t0 = Instant.now();
    send(alert("cold_start_storm", "host-x", AlertState.FIRING, t0, t0));
    Infra.await(
        WAIT,
        "host-x arrives",
        () -> holds(() -> find(am.alerts(), "cold_start_storm", "host-x") != null));

    am.close(); // down: connection refused
    send(alert("cold_start_storm", "host-y", AlertState.FIRING, t0, Instant.now()));
    Infra.await(WAIT, "the forwarder retries", () -> f.metrics().retries(amUrl) >= 2);
    AlertmanagerProcess back = AlertmanagerProcess.start(am.port()); // same address, empty storage
    closeables.add(back);

    Infra.await(
        WAIT,
        "the retried FIRING and the re-sent one are both there",
        () ->
            holds(
                () ->
                    hosts(back.alerts(), "cold_start_storm").equals(List.of("host-x", "host-y"))));
    Infra.await(WAIT, "offsets committed once delivered", () -> holds(this::committedToEnd));
    assertThat(f.metrics().failed(amUrl, "gave_up")).isZero();
  }

  /**
   * bcrypt hash of "s3cret" for Alertmanager's basic_auth_users (exporter-toolkit web config), made
   * with {@code python3 -c "import crypt; print(crypt.crypt('s3cret',
   * crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"}.
   */
  private static final String S3CRET_BCRYPT =
      "$2b$04$xFsaYhW5yOELA8htZFy8Rechwl2eyJ8JvDeRXtMSssWyqCneYGP5i";

  @Test
  void basicAuthIsSentAndAWrongPasswordIsRejectedNotRetried() throws Exception {
    String good =
        "Basic "
            + java.util.Base64.getEncoder()
                .encodeToString("forwarder:s3cret".getBytes(StandardCharsets.UTF_8));
    AlertmanagerProcess am =
        AlertmanagerProcess.start(
            0, "basic_auth_users:\n  forwarder: " + S3CRET_BCRYPT + "\n", Optional.of(good));
    closeables.add(am);
    String amUrl = am.url() + "/api/v2/alerts";
    Map<String, Object> settings = settings(am.url());
    settings.put("alertmanager.basic.auth.username", "forwarder");
    settings.put("alertmanager.basic.auth.password", "s3cret");
    AlertForwarder f = start(settings);
    Instant t0 = Instant.now();

    send(alert("memory_leak", "host-m", AlertState.FIRING, t0, t0));
    Infra.await(
        WAIT,
        "the alert arrives with credentials",
        () -> holds(() -> find(am.alerts(), "memory_leak", "host-m") != null));
    f.close();

    settings.put("alertmanager.basic.auth.password", "wrong");
    AlertForwarder wrong = start(settings); // re-sends host-m on start: 401
    Infra.await(
        WAIT,
        "the 401 is counted as rejected",
        () -> wrong.metrics().failed(amUrl, "rejected") >= 1);
    assertThat(wrong.metrics().retries(amUrl)).isZero();
    assertThat(wrong.metrics().forwarded(amUrl, "firing")).isZero();
  }

  @Test
  void twoInstancesSplitThePartitionsAndTheSurvivorTakesOverTheOthersAlerts() throws Exception {
    AlertmanagerProcess am = alertmanager();
    Map<String, Object> settings = settings(am.url());
    AlertForwarder one = start(settings);
    AlertForwarder two = start(settings);
    Infra.await(
        WAIT,
        "both instances are group members with their partitions",
        () -> one.isReady() && two.isReady());
    Instant t0 = Instant.now();
    List<String> hosts = List.of("h0", "h1", "h2", "h3", "h4", "h5");
    for (String h : hosts) {
      send(alert("error_spike", h, AlertState.FIRING, t0, t0));
    }
    Infra.await(
        WAIT,
        "every alert arrives",
        () -> holds(() -> hosts(am.alerts(), "error_spike").equals(hosts)));
    Infra.await(WAIT, "offsets committed", () -> holds(this::committedToEnd));
    assertThat(one.metrics().consumed() + two.metrics().consumed()).isEqualTo(hosts.size());

    two.close(); // its partitions move to the survivor, which rebuilds their firing alerts
    for (String h : hosts) {
      send(alert("error_spike", h, AlertState.RESOLVED, t0, Instant.now()));
    }
    Infra.await(
        WAIT,
        "every alert resolves",
        () -> holds(() -> hosts(am.alerts(), "error_spike").isEmpty()));
    Infra.await(WAIT, "the survivor re-sends nothing", () -> one.metrics().firing() == 0);
  }
}
