package io.ragengine.store.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.StoreException;
import io.ragengine.store.UnitOfWork;
import io.ragengine.store.VectorMatch;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class EmbeddedStorageTest {
  @TempDir Path directory;

  private EmbeddedStorage open() {
    return EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(directory).build());
  }

  @Test
  void reopen_committedUnit_isStillThere() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    Relation relation = new Relation("A", "B", "k", "d", 1.5, List.of("c1"), Map.of("x", "y"));
    try (EmbeddedStorage storage = open()) {
      storage.commit(
          new UnitOfWork()
              .put("docs", "doc-1", "text")
              .upsertVector("chunks", "c1", new float[] {1, 0, 0})
              .upsertVector("chunks", "c2", new float[] {0, 1, 0})
              .upsertEntity(new Entity("A", "t", "d", List.of("c1"), Map.of("k", "v")))
              .upsertRelation(relation)
              .putDocStatus(DocStatusRecord.pending("doc-1", t).with(DocStatus.PROCESSED, 2, t)));
      storage.vectors().delete("chunks", "c2");
    }
    try (EmbeddedStorage storage = open()) {
      assertEquals(Optional.of("text"), storage.kv().get("docs", "doc-1"));
      List<VectorMatch> matches = storage.vectors().query("chunks", new float[] {1, 0, 0}, 5);
      assertEquals(List.of("c1"), matches.stream().map(VectorMatch::id).toList());
      assertEquals(Optional.of(relation), storage.graph().relation("B", "A"));
      assertEquals(Map.of("k", "v"), storage.graph().entity("A").orElseThrow().properties());
      assertEquals(1, storage.graph().degree("B"));
      assertEquals(2, storage.docStatus().get("doc-1").orElseThrow().chunkCount());
    }
  }

  @Test
  void commit_deferredUnit_skipsTheFlush_nextDurableUnitFlushesAgain() {
    EmbeddedStorageConfig oneConnection =
        EmbeddedStorageConfig.builder().directory(directory).jdbcThreads(1).build();
    try (EmbeddedStorage storage = EmbeddedStorage.open(oneConnection)) {
      assertEquals(2, storage.synchronousLevel()); // FULL

      storage.commit(
          new UnitOfWork()
              .put("docs", "a", "1")
              .put("docs", "b", "2")
              .durability(UnitOfWork.Durability.DEFERRED));

      assertEquals(1, storage.synchronousLevel()); // NORMAL: no flush of the log
      assertEquals(Map.of("a", "1", "b", "2"), storage.kv().getAll("docs", List.of("a", "b")));

      storage.commit(new UnitOfWork().put("docs", "c", "3"));

      assertEquals(2, storage.synchronousLevel()); // FULL again, for the durable unit
    }
    try (EmbeddedStorage storage = open()) {
      assertEquals(
          Map.of("a", "1", "b", "2", "c", "3"),
          storage.kv().getAll("docs", List.of("a", "b", "c")));
    }
  }

  @Test
  void open_directoryHeldByAnotherEngine_failsNamingLockFile() {
    try (EmbeddedStorage first = open()) {
      var e = assertThrows(StoreException.class, this::open);
      assertTrue(String.valueOf(e.getMessage()).contains("in use by another engine"), e.getMessage());
      assertTrue(String.valueOf(e.getMessage()).contains(directory.resolve("ragengine.lock").toString()));
      assertEquals(0, first.vectors().size("chunks")); // the first engine is unaffected
    }
    open().close(); // released on close
  }

  @Test
  void open_corruptDatabase_failsNamingFile() throws Exception {
    Path file = directory.resolve(EmbeddedStorage.DATABASE_FILE);
    Files.write(file, "this is not a database, just some text. ".repeat(200).getBytes(StandardCharsets.UTF_8));
    var e = assertThrows(StoreException.class, this::open);
    assertTrue(String.valueOf(e.getMessage()).contains(file.toString()), e.getMessage());
    open_afterFailure_lockIsReleased(file);
  }

  private void open_afterFailure_lockIsReleased(Path file) throws Exception {
    Files.delete(file);
    open().close();
  }

  @Test
  void open_newerSchemaVersion_isRefused() throws Exception {
    open().close();
    Path file = directory.resolve(EmbeddedStorage.DATABASE_FILE);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.executeUpdate("PRAGMA user_version = " + (Schema.VERSION + 1));
    }
    var e = assertThrows(StoreException.class, this::open);
    assertEquals(
        file
            + " has schema version "
            + (Schema.VERSION + 1)
            + ", newer than the "
            + Schema.VERSION
            + " this ragengine supports: open it with a newer ragengine",
        e.getMessage());
  }

  @Test
  void open_olderSchemaVersion_isMigratedKeepingData() throws Exception {
    Path file = directory.resolve(EmbeddedStorage.DATABASE_FILE);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      Schema.createAtVersion(c, 1);
      s.executeUpdate("INSERT INTO kv (ns, key, value) VALUES ('docs', 'old', 'kept')");
    }
    try (EmbeddedStorage storage = open()) {
      assertEquals(Optional.of("kept"), storage.kv().get("docs", "old"));
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement();
        ResultSet rows =
            s.executeQuery(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'doc_status_by_status'")) {
      assertEquals(Schema.VERSION, Schema.version(c));
      assertTrue(rows.next());
      assertEquals(1, rows.getInt(1));
    }
  }

  @Test
  void open_int8Encoding_findsNearestVector() {
    var config =
        EmbeddedStorageConfig.builder().directory(directory).vectorEncoding(VectorEncoding.INT8).build();
    try (EmbeddedStorage storage = EmbeddedStorage.open(config)) {
      storage.vectors().upsert("c", "a", new float[] {1, 0.1f, 0});
      storage.vectors().upsert("c", "b", new float[] {0, 1, 0.2f});
      assertEquals("b", storage.vectors().query("c", new float[] {0, 0.9f, 0.1f}, 1).get(0).id());
    }
  }

  @Test
  void config_badJdbcThreads_throwsWithNameAndValue() {
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> EmbeddedStorageConfig.builder().jdbcThreads(0));
    assertEquals("jdbcThreads: 0 (expected: > 0)", e.getMessage());
    assertThrows(NullPointerException.class, () -> EmbeddedStorageConfig.builder().build());
  }

  @Test
  void config_toBuilder_keepsSettings() {
    var config =
        EmbeddedStorageConfig.builder()
            .directory(directory)
            .searchParallelism(1)
            .pageSize(65_536)
            .build();
    assertEquals(config, config.toBuilder().build());
  }

  @Test
  void config_badPageSize_throwsWithNameValueAndConstraint() {
    for (int bad : new int[] {0, 256, 1000, 131_072, -4096}) {
      var e =
          assertThrows(
              IllegalArgumentException.class, () -> EmbeddedStorageConfig.builder().pageSize(bad));
      assertEquals(
          "pageSize: " + bad + " (expected: a power of two from 512 to 65536)", e.getMessage());
    }
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new EmbeddedStorageConfig(directory, VectorEncoding.FLOAT16, 1, 1, 3000));
    assertEquals("pageSize: 3000 (expected: a power of two from 512 to 65536)", e.getMessage());
    assertEquals(
        EmbeddedStorageConfig.DEFAULT_PAGE_SIZE,
        new EmbeddedStorageConfig(directory, VectorEncoding.FLOAT16, 1, 1).pageSize());
  }

  @Test
  void open_newDatabase_usesConfiguredPageSize() {
    try (EmbeddedStorage storage = open()) {
      assertEquals(EmbeddedStorageConfig.DEFAULT_PAGE_SIZE, storage.pageSize());
    }
    Path other = directory.resolve("other");
    var config = EmbeddedStorageConfig.builder().directory(other).pageSize(65_536).build();
    try (EmbeddedStorage storage = EmbeddedStorage.open(config)) {
      assertEquals(65_536, storage.pageSize());
      storage.commit(new UnitOfWork().put("docs", "d", "x".repeat(100_000)));
    }
    try (EmbeddedStorage storage = EmbeddedStorage.open(config)) {
      assertEquals("x".repeat(100_000), storage.kv().get("docs", "d").orElseThrow());
    }
  }

  @Test
  void open_existingDatabase_keepsItsPageSizeAndData() {
    var small = EmbeddedStorageConfig.builder().directory(directory).pageSize(4_096).build();
    try (EmbeddedStorage storage = EmbeddedStorage.open(small)) {
      storage.commit(
          new UnitOfWork()
              .put("docs", "d", "text")
              .upsertVector("chunks", "c", new float[] {1, 0, 0}));
    }
    // Reopened with the default (16 KiB): SQLite cannot change the size of a WAL database, and
    // the data must read back unchanged.
    try (EmbeddedStorage storage = open()) {
      assertEquals(4_096, storage.pageSize());
      assertEquals("text", storage.kv().get("docs", "d").orElseThrow());
      assertEquals("c", storage.vectors().query("chunks", new float[] {1, 0, 0}, 1).get(0).id());
      storage.commit(new UnitOfWork().put("docs", "e", "more"));
      assertEquals("more", storage.kv().get("docs", "e").orElseThrow());
    }
  }

  @Test
  void commit_sqliteFailsMidUnit_rollsBackAndLeavesMemoryUntouched() throws Exception {
    Path file = directory.resolve(EmbeddedStorage.DATABASE_FILE);
    try (EmbeddedStorage storage = open()) {
      // A trigger makes SQLite fail on the unit's last write, after the others were executed.
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
          Statement s = c.createStatement()) {
        s.executeUpdate(
            "CREATE TRIGGER fail BEFORE INSERT ON doc_status WHEN NEW.doc_id = 'boom'"
                + " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
      }
      Instant t = Instant.parse("2026-01-01T00:00:00Z");
      UnitOfWork unit =
          new UnitOfWork()
              .put("docs", "boom", "text")
              .upsertVector("chunks", "c1", new float[] {1, 0})
              .upsertEntity(Entity.of("A", "t", ""))
              .putDocStatus(DocStatusRecord.pending("boom", t));
      var e = assertThrows(StoreException.class, () -> storage.commit(unit));
      assertTrue(String.valueOf(e.getMessage()).contains(file.toString()), e.getMessage());
      assertTrue(String.valueOf(e.getMessage()).contains("injected failure"), e.getMessage());
      assertEquals(Optional.empty(), storage.kv().get("docs", "boom"));
      assertEquals(0, storage.vectors().size("chunks"));
      assertEquals(Optional.empty(), storage.graph().entity("A"));
      storage.kv().put("docs", "after", "still works");
      assertEquals(Optional.of("still works"), storage.kv().get("docs", "after"));
    }
  }

  @Test
  void read_callerInterrupted_throwsAndKeepsInterruptFlag() {
    try (EmbeddedStorage storage = open()) {
      Thread.currentThread().interrupt();
      var e = assertThrows(StoreException.class, () -> storage.kv().get("docs", "a"));
      assertTrue(Thread.interrupted()); // the flag was restored (and is cleared here)
      assertTrue(String.valueOf(e.getMessage()).startsWith("interrupted"), e.getMessage());
    }
  }

  @Test
  void commit_fromVirtualThread_runsAndIsVisible() throws Exception {
    try (EmbeddedStorage storage = open()) {
      Thread thread = Thread.ofVirtual().start(() -> storage.kv().put("docs", "v", "virtual"));
      thread.join(30_000);
      assertEquals(Optional.of("virtual"), storage.kv().get("docs", "v"));
    }
  }
}
