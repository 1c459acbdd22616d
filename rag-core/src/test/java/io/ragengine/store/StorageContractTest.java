package io.ragengine.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link Storage} must meet. Each implementation's test extends this class and
 * supplies {@link #newStorage()}; the in-memory reference, the embedded default and any later
 * implementation (PostgreSQL, Redis) all run the same tests.
 *
 * <p>Public and abstract so that other modules can extend it from rag-core's test-jar.
 */
public abstract class StorageContractTest {

  /** Returns a new, empty storage; the test closes it. */
  protected abstract Storage newStorage();

  protected Storage storage;

  @BeforeEach
  void openStorage() {
    storage = newStorage();
  }

  @AfterEach
  void closeStorage() {
    storage.close();
  }

  // ---- key-value ----

  @Test
  void kv_put_thenGetReturnsValue() {
    storage.kv().put("docs", "a", "alpha");
    assertEquals(Optional.of("alpha"), storage.kv().get("docs", "a"));
    assertEquals(Optional.empty(), storage.kv().get("docs", "missing"));
  }

  @Test
  void kv_sameKeyInTwoNamespaces_keptApart() {
    storage.kv().put("docs", "k", "doc");
    storage.kv().put("chunks", "k", "chunk");
    assertEquals(Optional.of("doc"), storage.kv().get("docs", "k"));
    assertEquals(Optional.of("chunk"), storage.kv().get("chunks", "k"));
  }

  @Test
  void kv_putTwice_replaces() {
    storage.kv().put("docs", "a", "one");
    storage.kv().put("docs", "a", "two");
    assertEquals(Optional.of("two"), storage.kv().get("docs", "a"));
    assertEquals(List.of("a"), storage.kv().keys("docs"));
  }

  @Test
  void kv_delete_removes() {
    storage.kv().put("docs", "a", "alpha");
    storage.kv().delete("docs", "a");
    storage.kv().delete("docs", "never-there");
    assertEquals(Optional.empty(), storage.kv().get("docs", "a"));
  }

  @Test
  void kv_getAllAndKeys_skipAbsentAndSort() {
    storage.commit(new UnitOfWork().put("docs", "b", "2").put("docs", "a", "1").put("x", "c", "3"));
    assertEquals(Map.of("a", "1", "b", "2"), storage.kv().getAll("docs", List.of("a", "b", "z")));
    assertEquals(List.of("a", "b"), storage.kv().keys("docs"));
    assertEquals(List.of(), storage.kv().keys("none"));
  }

  @Test
  void kv_getAll_manyKeysWithRepeatsAndAbsentOnes_returnsEachPresentOnceInTheOrderAsked() {
    UnitOfWork unit = new UnitOfWork();
    List<String> asked = new ArrayList<>();
    Map<String, String> expected = new LinkedHashMap<>();
    for (int i = 700; i >= 0; i--) { // more keys than one read statement takes, in reverse
      String key = "k" + i;
      asked.add(key);
      if (i % 3 != 0) {
        unit.put("docs", key, "v" + i);
        expected.put(key, "v" + i);
      }
    }
    asked.add("k1"); // asked twice
    storage.commit(unit);

    Map<String, String> found = storage.kv().getAll("docs", asked);

    assertEquals(expected, found);
    assertEquals(List.copyOf(expected.keySet()), List.copyOf(found.keySet()));
    assertEquals(Map.of(), storage.kv().getAll("docs", List.of()));
  }

  @Test
  void kv_blankNamespace_throws() {
    var e = assertThrows(IllegalArgumentException.class, () -> storage.kv().get(" ", "a"));
    assertEquals("namespace: \" \" (expected: not blank)", e.getMessage());
  }

  @Test
  void kv_unicodeAndLargeValue_roundTrip() {
    String value = "Zoë ✓ 漢字 ".repeat(20_000);
    storage.kv().put("docs", "ü", value);
    assertEquals(Optional.of(value), storage.kv().get("docs", "ü"));
  }

  // ---- vectors ----

  @Test
  void vectors_query_matchesFloat64BruteForce() {
    Random random = new Random(42);
    List<float[]> stored = new ArrayList<>();
    UnitOfWork unit = new UnitOfWork();
    for (int i = 0; i < 500; i++) {
      float[] v = randomVector(random, 32);
      stored.add(v);
      unit.upsertVector("chunks", "v" + i, v);
    }
    storage.commit(unit);
    for (int q = 0; q < 10; q++) {
      float[] query = randomVector(random, 32);
      List<String> expected = bruteForce(stored, query, 10);
      List<VectorMatch> actual = storage.vectors().query("chunks", query, 10);
      assertEquals(10, actual.size());
      // A store may keep vectors at reduced precision, so near-ties may swap: compare the exact
      // scores of what was returned with the exact top-10 scores, rank by rank.
      for (int i = 0; i < 10; i++) {
        double want = cosine(stored.get(Integer.parseInt(expected.get(i).substring(1))), query);
        double got = cosine(stored.get(Integer.parseInt(actual.get(i).id().substring(1))), query);
        assertEquals(want, got, 5e-3, "rank " + i);
        assertEquals(got, actual.get(i).score(), 5e-3, "score of " + actual.get(i).id());
      }
      for (int i = 1; i < actual.size(); i++) {
        assertTrue(actual.get(i - 1).score() >= actual.get(i).score());
      }
    }
    assertEquals(500, storage.vectors().size("chunks"));
  }

  @Test
  void vectors_score_isCosine() {
    storage.vectors().upsert("chunks", "x", new float[] {3, 0});
    storage.vectors().upsert("chunks", "d", new float[] {1, 1});
    List<VectorMatch> matches = storage.vectors().query("chunks", new float[] {5, 0}, 5);
    assertEquals("x", matches.get(0).id());
    assertEquals(1.0, matches.get(0).score(), 1e-3);
    assertEquals(Math.sqrt(0.5), matches.get(1).score(), 1e-2);
  }

  @Test
  void vectors_minScore_dropsLowerScores() {
    storage.commit(
        new UnitOfWork()
            .upsertVector("c", "same", new float[] {1, 0})
            .upsertVector("c", "orthogonal", new float[] {0, 1})
            .upsertVector("c", "opposite", new float[] {-1, 0}));
    List<VectorMatch> matches =
        storage.vectors().query("c", new float[] {1, 0}, 10, 0.5f, null);
    assertEquals(List.of("same"), matches.stream().map(VectorMatch::id).toList());
  }

  @Test
  void vectors_idFilter_keepsOnlyAcceptedIds() {
    storage.commit(
        new UnitOfWork()
            .upsertVector("c", "a", new float[] {1, 0})
            .upsertVector("c", "b", new float[] {0.9f, 0.1f})
            .upsertVector("c", "c", new float[] {0.5f, 0.5f}));
    List<VectorMatch> matches =
        storage.vectors().query("c", new float[] {1, 0}, 2, VectorStore.NO_MIN_SCORE, id -> !id.equals("a"));
    assertEquals(List.of("b", "c"), matches.stream().map(VectorMatch::id).toList());
  }

  @Test
  void vectors_upsertSameId_replaces() {
    storage.vectors().upsert("c", "a", new float[] {1, 0});
    storage.vectors().upsert("c", "a", new float[] {0, 1});
    assertEquals(1, storage.vectors().size("c"));
    assertEquals(1.0, storage.vectors().query("c", new float[] {0, 1}, 1).get(0).score(), 1e-3);
  }

  @Test
  void vectors_delete_removes() {
    storage.vectors().upsert("c", "a", new float[] {1, 0});
    storage.vectors().upsert("c", "b", new float[] {0, 1});
    storage.vectors().delete("c", "a");
    assertFalse(storage.vectors().contains("c", "a"));
    assertTrue(storage.vectors().contains("c", "b"));
    assertEquals(
        List.of("b"),
        storage.vectors().query("c", new float[] {1, 0}, 5).stream().map(VectorMatch::id).toList());
  }

  @Test
  void vectors_unknownNamespace_returnsEmpty() {
    assertEquals(List.of(), storage.vectors().query("none", new float[] {1, 0}, 5));
    assertEquals(0, storage.vectors().size("none"));
  }

  @Test
  void vectors_dimension_isTheStoredVectorsUntilTheNamespaceEmpties() {
    assertEquals(OptionalInt.empty(), storage.vectors().dimension("c"));
    storage.vectors().upsert("c", "a", new float[] {1, 0, 0});
    assertEquals(OptionalInt.of(3), storage.vectors().dimension("c"));
    storage.vectors().delete("c", "a");
    assertEquals(OptionalInt.empty(), storage.vectors().dimension("c"));
    storage.vectors().upsert("c", "a", new float[] {1, 0});
    assertEquals(OptionalInt.of(2), storage.vectors().dimension("c"));
  }

  @Test
  void vectors_zeroQuery_throws() {
    storage.vectors().upsert("c", "a", new float[] {1, 0});
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> storage.vectors().query("c", new float[] {0, 0}, 5));
    assertEquals("vector: all zeros (expected: a non-zero vector)", e.getMessage());
  }

  @Test
  void vectors_badTopK_throws() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> storage.vectors().query("c", new float[] {1, 0}, 0));
    assertEquals("topK: 0 (expected: > 0)", e.getMessage());
  }

  @Test
  void commit_dimensionMismatch_throwsAndChangesNothing() {
    storage.vectors().upsert("c", "a", new float[] {1, 0});
    UnitOfWork unit =
        new UnitOfWork()
            .put("docs", "d", "text")
            .upsertVector("c", "b", new float[] {0, 1})
            .upsertVector("c", "bad", new float[] {1, 2, 3});
    assertThrows(IllegalArgumentException.class, () -> storage.commit(unit));
    assertEquals(Optional.empty(), storage.kv().get("docs", "d"));
    assertEquals(1, storage.vectors().size("c"));
  }

  // ---- graph ----

  @Test
  void graph_entity_roundTripsAllFields() {
    Entity entity =
        new Entity("Acme", "organization", "A maker of anvils.", List.of("c1", "c2"), Map.of("k", "v"));
    storage.graph().upsertEntity(entity);
    assertEquals(Optional.of(entity), storage.graph().entity("Acme"));
    assertEquals(Optional.empty(), storage.graph().entity("Nope"));
    assertEquals(1, storage.graph().entityCount());
  }

  @Test
  void graph_relation_isUndirectedAndRoundTrips() {
    Relation relation =
        new Relation("Acme", "Bob", "founder", "Bob founded Acme.", 2.5, List.of("c1"), Map.of("p", "q"));
    storage.graph().upsertRelation(relation);
    assertEquals(Optional.of(relation), storage.graph().relation("Acme", "Bob"));
    assertEquals(Optional.of(relation), storage.graph().relation("Bob", "Acme"));
    Relation reversed = Relation.of("Bob", "Acme", "founder", "updated", 1);
    storage.graph().upsertRelation(reversed);
    assertEquals(1, storage.graph().relationCount());
    assertEquals(Optional.of(reversed), storage.graph().relation("Acme", "Bob"));
  }

  @Test
  void graph_neighboursAndDegrees_countRelations() {
    storage.commit(
        new UnitOfWork()
            .upsertEntity(Entity.of("A", "t", ""))
            .upsertRelation(Relation.of("A", "B", "", "", 1))
            .upsertRelation(Relation.of("C", "A", "", "", 1))
            .upsertRelation(Relation.of("B", "C", "", "", 1)));
    assertEquals(Set.of("B", "C"), storage.graph().neighbours("A"));
    assertEquals(2, storage.graph().degree("A"));
    assertEquals(Map.of("A", 2, "B", 2, "Z", 0), storage.graph().degrees(List.of("A", "B", "Z")));
    assertEquals(
        List.of("B", "C"),
        storage.graph().relations("A").stream()
            .map(r -> r.source().equals("A") ? r.target() : r.source())
            .toList());
    assertEquals(3, storage.graph().relationCount());
  }

  @Test
  void graph_deleteEntity_deletesItsRelations() {
    storage.commit(
        new UnitOfWork()
            .upsertEntity(Entity.of("A", "t", ""))
            .upsertEntity(Entity.of("B", "t", ""))
            .upsertRelation(Relation.of("A", "B", "", "", 1))
            .upsertRelation(Relation.of("B", "C", "", "", 1)));
    storage.graph().deleteEntity("A");
    assertEquals(Optional.empty(), storage.graph().entity("A"));
    assertEquals(Optional.empty(), storage.graph().relation("A", "B"));
    assertEquals(Set.of("C"), storage.graph().neighbours("B"));
    assertEquals(1, storage.graph().relationCount());
  }

  @Test
  void graph_deleteRelation_eitherOrder() {
    storage.graph().upsertRelation(Relation.of("A", "B", "", "", 1));
    storage.graph().deleteRelation("B", "A");
    assertEquals(0, storage.graph().relationCount());
    assertEquals(0, storage.graph().degree("A"));
  }

  // ---- document status ----

  @Test
  void docStatus_roundTripsWithNanosecondTimestamps() {
    Instant created = Instant.parse("2026-01-02T03:04:05.123456789Z");
    DocStatusRecord record =
        DocStatusRecord.pending("doc-1", created)
            .failed("extraction failed: HTTP 500", created.plusNanos(7));
    storage.docStatus().put(record);
    assertEquals(Optional.of(record), storage.docStatus().get("doc-1"));
  }

  @Test
  void docStatus_byStatus_oldestFirstAndCountsCoverEveryStatus() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    storage.commit(
        new UnitOfWork()
            .putDocStatus(DocStatusRecord.pending("doc-b", t.plusSeconds(2)))
            .putDocStatus(DocStatusRecord.pending("doc-a", t.plusSeconds(1)))
            .putDocStatus(DocStatusRecord.pending("doc-c", t).with(DocStatus.PROCESSED, 3, t)));
    assertEquals(
        List.of("doc-a", "doc-b"),
        storage.docStatus().byStatus(DocStatus.PENDING).stream().map(DocStatusRecord::docId).toList());
    assertEquals(
        Map.of(DocStatus.PENDING, 2, DocStatus.PROCESSING, 0, DocStatus.PROCESSED, 1, DocStatus.FAILED, 0),
        storage.docStatus().counts());
    storage.docStatus().delete("doc-a");
    assertEquals(Optional.empty(), storage.docStatus().get("doc-a"));
  }

  @Test
  void docStatus_getAll_returnsKnownIdsOnly() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    DocStatusRecord a = DocStatusRecord.pending("doc-a", t);
    DocStatusRecord b = DocStatusRecord.pending("doc-b", t).with(DocStatus.PROCESSED, 2, t);
    storage.commit(new UnitOfWork().putDocStatus(a).putDocStatus(b));

    assertEquals(
        Map.of("doc-a", a, "doc-b", b),
        storage.docStatus().getAll(List.of("doc-b", "doc-x", "doc-a", "doc-a")));
    assertEquals(Map.of(), storage.docStatus().getAll(List.of()));
  }

  @Test
  void docStatus_getAll_blankId_throws() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> storage.docStatus().getAll(List.of("doc-a", " ")));
    assertEquals("docId: \" \" (expected: not blank)", e.getMessage());
  }

  // ---- units of work ----

  @Test
  void commit_deferredUnit_isVisibleWholeOnReturn_andOrderedWithDurableOnes() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    storage.commit(
        new UnitOfWork()
            .put("docs", "doc-1", "first")
            .upsertVector("chunks", "c1", new float[] {1, 0})
            .putDocStatus(DocStatusRecord.pending("doc-1", t).with(DocStatus.PROCESSING, 0, t))
            .durability(UnitOfWork.Durability.DEFERRED));

    assertEquals(Optional.of("first"), storage.kv().get("docs", "doc-1"));
    assertTrue(storage.vectors().contains("chunks", "c1"));
    assertEquals(DocStatus.PROCESSING, storage.docStatus().get("doc-1").orElseThrow().status());

    storage.commit(new UnitOfWork().put("docs", "doc-1", "second"));
    storage.commit(
        new UnitOfWork().put("docs", "doc-2", "x").durability(UnitOfWork.Durability.DEFERRED));

    assertEquals(Optional.of("second"), storage.kv().get("docs", "doc-1"));
    assertEquals(Optional.of("x"), storage.kv().get("docs", "doc-2"));
  }

  @Test
  void commit_unit_makesEveryStoreVisible() {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    storage.commit(
        new UnitOfWork()
            .put("docs", "doc-1", "text")
            .upsertVector("chunks", "chunk-1", new float[] {1, 2, 3})
            .upsertEntity(Entity.of("A", "t", ""))
            .upsertRelation(Relation.of("A", "B", "", "", 1))
            .putDocStatus(DocStatusRecord.pending("doc-1", t).with(DocStatus.PROCESSED, 1, t)));
    assertTrue(storage.kv().get("docs", "doc-1").isPresent());
    assertTrue(storage.vectors().contains("chunks", "chunk-1"));
    assertTrue(storage.graph().entity("A").isPresent());
    assertEquals(1, storage.graph().degree("B"));
    assertEquals(DocStatus.PROCESSED, storage.docStatus().get("doc-1").orElseThrow().status());
  }

  @Test
  void commit_laterOperationOnSameKey_wins() {
    storage.commit(
        new UnitOfWork()
            .put("docs", "a", "1")
            .delete("docs", "a")
            .put("docs", "b", "1")
            .put("docs", "b", "2")
            .upsertVector("c", "v", new float[] {1, 0})
            .deleteVector("c", "v"));
    assertEquals(Optional.empty(), storage.kv().get("docs", "a"));
    assertEquals(Optional.of("2"), storage.kv().get("docs", "b"));
    assertEquals(0, storage.vectors().size("c"));
  }

  @Test
  void commit_emptyUnit_isNoOp() {
    storage.commit(new UnitOfWork());
    assertEquals(List.of(), storage.kv().keys("docs"));
  }

  @Test
  void commit_concurrentReader_seesWholeUnitsOnly() throws Exception {
    int units = 150;
    AtomicBoolean done = new AtomicBoolean();
    CompletableFuture<String> reader =
        CompletableFuture.supplyAsync(
            () -> {
              int checks = 0;
              while (!done.get() || checks == 0) {
                for (int i = 0; i < units; i++) {
                  // Writes only add, so whatever one read sees, every later read must see too.
                  if (storage.vectors().contains("chunks", "v" + i)) {
                    if (storage.kv().get("docs", "d" + i).isEmpty()
                        || storage.graph().entity("e" + i).isEmpty()) {
                      return "unit " + i + " partly visible";
                    }
                  } else if (storage.kv().get("docs", "d" + i).isPresent()
                      && (storage.graph().entity("e" + i).isEmpty()
                          || storage.docStatus().get("d" + i).isEmpty())) {
                    return "unit " + i + " partly visible";
                  }
                  checks++;
                }
              }
              return "ok";
            });
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    for (int i = 0; i < units; i++) {
      storage.commit(
          new UnitOfWork()
              .put("docs", "d" + i, "text")
              .upsertVector("chunks", "v" + i, new float[] {i + 1, 1})
              .upsertEntity(Entity.of("e" + i, "t", ""))
              .putDocStatus(DocStatusRecord.pending("d" + i, t)));
    }
    done.set(true);
    assertEquals("ok", reader.get(60, TimeUnit.SECONDS));
  }

  @Test
  void closedStorage_throwsIllegalState() {
    storage.close();
    var e = assertThrows(IllegalStateException.class, () -> storage.kv().get("docs", "a"));
    assertEquals("storage is closed", e.getMessage());
    assertThrows(IllegalStateException.class, () -> storage.commit(new UnitOfWork().put("d", "a", "b")));
    // Nothing to read, but still closed: it says so rather than answer empty.
    assertThrows(IllegalStateException.class, () -> storage.kv().getAll("docs", List.of()));
    assertThrows(IllegalStateException.class, () -> storage.vectors().dimension("c"));
    storage.close(); // closing twice is harmless
  }

  // ---- helpers ----

  protected static float[] randomVector(Random random, int dimensions) {
    float[] v = new float[dimensions];
    for (int i = 0; i < dimensions; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }

  /** The ids of the {@code k} stored vectors closest to {@code query}, in float64. */
  protected static List<String> bruteForce(List<float[]> stored, float[] query, int k) {
    record Scored(String id, double score) {}
    List<Scored> all = new ArrayList<>();
    for (int i = 0; i < stored.size(); i++) {
      all.add(new Scored("v" + i, cosine(stored.get(i), query)));
    }
    all.sort(Comparator.comparingDouble(Scored::score).reversed().thenComparing(Scored::id));
    return all.subList(0, k).stream().map(Scored::id).toList();
  }

  protected static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }
}
