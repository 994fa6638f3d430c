package io.infermeter.sink.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What makes re-delivery harmless on the real ClickHouse 26.7 server; the sink's design
 * (docs/SINK.md) rests on these facts. ReplacingMergeTree + FINAL collapses a re-inserted natural
 * key whatever the batch boundaries; insert_deduplication_token only works on a non-replicated
 * MergeTree with non_replicated_deduplication_window set, and only for an identical token, i.e.
 * identical batch boundaries.
 */
class ClickHouseDedupBehaviourIT {

  @Test
  void replacingMergeTreeFinalCollapsesReinsertedKeysAcrossDifferentBatches() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of());
        Statement st = db.connection.createStatement()) {
      st.execute("CREATE DATABASE " + db.database);
      st.execute(
          "CREATE TABLE "
              + db.database
              + ".r (k UInt32, v UInt64, ver UInt64) "
              + "ENGINE = ReplacingMergeTree(ver) ORDER BY k");
      st.execute("INSERT INTO " + db.database + ".r VALUES (1, 10, 0), (2, 20, 1)");
      st.execute(
          "INSERT INTO "
              + db.database
              + ".r VALUES (2, 20, 1), (3, 30, 2)"); // overlapping re-delivery
      assertThat(db.longValue("SELECT count() FROM ${db}.r"))
          .isEqualTo(4); // before a merge: both copies stored
      assertThat(db.longValue("SELECT count() FROM ${db}.r FINAL")).isEqualTo(3);
      assertThat(db.longValue("SELECT sum(v) FROM ${db}.r FINAL")).isEqualTo(60);
    }
  }

  @Test
  void insertDeduplicationTokenNeedsTheWindowSettingOnNonReplicatedTables() throws Exception {
    try (ClickHouseTestDb db = new ClickHouseTestDb(Map.of());
        Statement st = db.connection.createStatement()) {
      st.execute("CREATE DATABASE " + db.database);
      st.execute("CREATE TABLE " + db.database + ".plain (k UInt32) ENGINE = MergeTree ORDER BY k");
      st.execute(
          "CREATE TABLE "
              + db.database
              + ".windowed (k UInt32) ENGINE = MergeTree ORDER BY k "
              + "SETTINGS non_replicated_deduplication_window = 1000");
      for (String table : new String[] {"plain", "windowed"}) {
        for (int i = 0; i < 2; i++) {
          st.execute(
              "INSERT INTO "
                  + db.database
                  + "."
                  + table
                  + " SETTINGS insert_deduplication_token = 'topic-0-100-199' VALUES (1), (2)");
        }
        // The same rows under another token (different batch boundaries after a restart) are not
        // recognised.
        st.execute(
            "INSERT INTO "
                + db.database
                + "."
                + table
                + " SETTINGS insert_deduplication_token = 'topic-0-100-150' VALUES (1), (2)");
      }
      assertThat(db.longValue("SELECT count() FROM ${db}.plain")).isEqualTo(6);
      assertThat(db.longValue("SELECT count() FROM ${db}.windowed")).isEqualTo(4);
    }
  }
}
