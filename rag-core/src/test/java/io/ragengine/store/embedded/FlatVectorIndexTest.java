package io.ragengine.store.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.store.VectorMatch;
import io.ragengine.store.VectorStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

final class FlatVectorIndexTest {

  @Test
  void search_float16_recallIsOneAgainstFloat64() {
    assertEquals(1.0, recall(VectorEncoding.FLOAT16, 64), 1e-9);
  }

  @Test
  void search_int8_recallIsHigh() {
    assertTrue(recall(VectorEncoding.INT8, 64) >= 0.9);
  }

  /** Recall@10 over 20 queries of 5,000 random vectors. */
  private static double recall(VectorEncoding encoding, int dims) {
    Random random = new Random(7);
    FlatVectorIndex index = FlatVectorIndex.create(dims, encoding);
    Map<String, float[]> stored = new HashMap<>();
    for (int i = 0; i < 5_000; i++) {
      float[] v = gaussian(random, dims);
      stored.put("v" + i, v);
      index.upsert("v" + i, v);
    }
    int hits = 0;
    for (int q = 0; q < 20; q++) {
      float[] query = gaussian(random, dims);
      Set<String> expected = new HashSet<>(exactTop(stored, query, 10));
      for (VectorMatch m : index.search(query, 10, VectorStore.NO_MIN_SCORE, null)) {
        hits += expected.contains(m.id()) ? 1 : 0;
      }
    }
    return hits / 200.0;
  }

  @Test
  void search_topKFarAboveTheVectorsStored_returnsThemAll_withoutAllocatingTopK() {
    // Regression: the heaps were sized by topK, so Integer.MAX_VALUE threw OutOfMemoryError
    // ("Requested array size exceeds VM limit") with three vectors stored.
    FlatVectorIndex index = FlatVectorIndex.create(4, VectorEncoding.FLOAT16);
    index.upsert("a", new float[] {1, 0, 0, 0});
    index.upsert("b", new float[] {0, 1, 0, 0});
    index.upsert("c", new float[] {1, 1, 0, 0});

    List<VectorMatch> all =
        index.search(new float[] {1, 0, 0, 0}, Integer.MAX_VALUE, VectorStore.NO_MIN_SCORE, null);

    assertEquals(List.of("a", "c", "b"), all.stream().map(VectorMatch::id).toList());
  }

  @Test
  void upsertAndRemove_randomOperations_matchAMap() {
    Random random = new Random(3);
    FlatVectorIndex index = FlatVectorIndex.create(4, VectorEncoding.FLOAT16);
    Map<String, float[]> model = new HashMap<>();
    for (int step = 0; step < 20_000; step++) {
      String id = "id" + random.nextInt(500);
      if (random.nextInt(3) == 0) {
        assertEquals(model.remove(id) != null, index.remove(id));
      } else {
        float[] v = gaussian(random, 4);
        model.put(id, v);
        index.upsert(id, v);
      }
    }
    assertEquals(model.size(), index.size());
    for (int i = 0; i < 500; i++) {
      assertEquals(model.containsKey("id" + i), index.contains("id" + i));
    }
    // Every stored vector is its own best match.
    for (Map.Entry<String, float[]> e : model.entrySet()) {
      VectorMatch best = index.search(e.getValue(), 1, VectorStore.NO_MIN_SCORE, null).get(0);
      assertEquals(1.0, best.score(), 2e-3);
    }
  }

  @Test
  void search_parallel_equalsSerial() {
    Random random = new Random(11);
    ExecutorService helper = Executors.newSingleThreadExecutor();
    try {
      FlatVectorIndex serial = FlatVectorIndex.create(16, VectorEncoding.FLOAT16);
      FlatVectorIndex parallel = FlatVectorIndex.create(16, VectorEncoding.FLOAT16, 2, helper);
      fill(random, (int) (FlatVectorIndex.MIN_ELEMENTS_PER_PART * 3 / 16), serial, parallel);
      for (int q = 0; q < 5; q++) {
        float[] query = gaussian(random, 16);
        assertEquals(
            serial.search(query, 10, VectorStore.NO_MIN_SCORE, null),
            parallel.search(query, 10, VectorStore.NO_MIN_SCORE, null));
      }
      // Every vector, through the split scan's heaps too: sized by the vectors, not by topK.
      float[] query = gaussian(random, 16);
      List<VectorMatch> all =
          parallel.search(query, Integer.MAX_VALUE, VectorStore.NO_MIN_SCORE, null);
      assertEquals(serial.size(), all.size());
      assertEquals(serial.search(query, Integer.MAX_VALUE, VectorStore.NO_MIN_SCORE, null), all);
    } finally {
      helper.shutdownNow();
    }
  }

  @Test
  void search_helperThatNeverRuns_callerScansEveryRangeItself() {
    List<Runnable> neverRun = new ArrayList<>();
    FlatVectorIndex serial = FlatVectorIndex.create(64, VectorEncoding.INT8);
    FlatVectorIndex split = FlatVectorIndex.create(64, VectorEncoding.INT8, 4, neverRun::add);
    Random random = new Random(5);
    fill(random, (int) (FlatVectorIndex.MIN_ELEMENTS_PER_PART * 4 / 64), serial, split);
    float[] query = gaussian(random, 64);

    List<VectorMatch> found = split.search(query, 7, VectorStore.NO_MIN_SCORE, null);

    assertEquals(serial.search(query, 7, VectorStore.NO_MIN_SCORE, null), found);
    assertEquals(3, neverRun.size()); // three helpers were asked; the caller claimed every range
    neverRun.forEach(Runnable::run); // a helper that starts late finds itself cancelled
  }

  @Test
  void search_helperRunsFirst_takesEveryRange_resultEqualsSerial() {
    // An executor that runs the helper's share inside execute(): the helper claims every range
    // before the caller starts, and the caller's own heap stays empty.
    FlatVectorIndex serial = FlatVectorIndex.create(32, VectorEncoding.FLOAT16);
    FlatVectorIndex split = FlatVectorIndex.create(32, VectorEncoding.FLOAT16, 2, Runnable::run);
    Random random = new Random(8);
    fill(random, SPLIT_VECTORS, serial, split);
    float[] query = gaussian(random, 32);
    assertEquals(
        serial.search(query, 9, VectorStore.NO_MIN_SCORE, null),
        split.search(query, 9, VectorStore.NO_MIN_SCORE, null));
  }

  @Test
  void search_helperJoinsMidScan_rangesSharedWithoutLossOrRepeat() {
    // The helper's task is held back, then run from inside the caller's scan (through the id
    // filter, which the scan calls) after the caller has seen its first vectors: the helper claims
    // the remaining ranges, the caller finishes the range it is in. Every vector must be scanned
    // exactly once, and the result must equal a serial scan's.
    List<Runnable> held = new ArrayList<>();
    FlatVectorIndex serial = FlatVectorIndex.create(32, VectorEncoding.FLOAT16);
    Random random = new Random(9);
    FlatVectorIndex split = heldSplit(held, random, serial);
    float[] query = gaussian(random, 32);
    Map<String, Integer> seen = new HashMap<>();
    Predicate<String> filter =
        wakingHelperAtThirdOffer(
            held,
            id -> {
              seen.merge(id, 1, Integer::sum);
              return true;
            });

    List<VectorMatch> found = split.search(query, SPLIT_VECTORS, VectorStore.NO_MIN_SCORE, filter);

    assertEquals(serial.search(query, SPLIT_VECTORS, VectorStore.NO_MIN_SCORE, null), found);
    assertEquals(SPLIT_VECTORS, seen.size());
    assertTrue(seen.values().stream().allMatch(times -> times == 1), "a vector scanned twice");
  }

  @Test
  void search_filterThrowsInHelper_searchThrowsIt() {
    // The helper runs from inside the caller's scan and meets the failing id in its ranges; the
    // search must throw the filter's own exception, not a wrapper.
    List<Runnable> held = new ArrayList<>();
    Random random = new Random(10);
    FlatVectorIndex split = heldSplit(held, random);
    String last = "v" + (SPLIT_VECTORS - 1); // in the last range, which the helper claims
    Predicate<String> filter =
        wakingHelperAtThirdOffer(
            held,
            id -> {
              if (id.equals(last)) {
                throw new IllegalStateException("filter failed on " + id);
              }
              return true;
            });

    var e =
        assertThrows(
            IllegalStateException.class,
            () ->
                split.search(gaussian(random, 32), SPLIT_VECTORS, VectorStore.NO_MIN_SCORE, filter));
    assertEquals("filter failed on " + last, e.getMessage());
  }

  @Test
  void search_filterThrowsInCaller_helperCancelledBeforeItStarts() {
    List<Runnable> held = new ArrayList<>();
    Random random = new Random(12);
    FlatVectorIndex split = heldSplit(held, random);
    int[] calls = new int[1];
    Predicate<String> filter =
        id -> {
          calls[0]++;
          throw new IllegalStateException("no");
        };

    assertThrows(
        IllegalStateException.class,
        () -> split.search(gaussian(random, 32), 5, VectorStore.NO_MIN_SCORE, filter));
    assertEquals(1, calls[0]);
    assertEquals(1, held.size());
    held.get(0).run(); // the helper's thread gets to it now: cancelled, it scans nothing
    assertEquals(1, calls[0]);
  }

  @Test
  void search_helperRejects_callerScansItself() {
    FlatVectorIndex split =
        FlatVectorIndex.create(
            64,
            VectorEncoding.FLOAT16,
            2,
            task -> {
              throw new java.util.concurrent.RejectedExecutionException("shut down");
            });
    Random random = new Random(6);
    for (int i = 0; i < FlatVectorIndex.MIN_ELEMENTS_PER_PART * 2 / 64; i++) {
      split.upsert("v" + i, gaussian(random, 64));
    }
    assertEquals(3, split.search(gaussian(random, 64), 3, VectorStore.NO_MIN_SCORE, null).size());
  }

  @Test
  void search_tiedScores_orderedById() {
    FlatVectorIndex index = FlatVectorIndex.create(2, VectorEncoding.FLOAT16);
    for (String id : List.of("d", "b", "a", "c")) {
      index.upsert(id, new float[] {1, 1});
    }
    List<VectorMatch> top = index.search(new float[] {1, 1}, 3, VectorStore.NO_MIN_SCORE, null);
    assertEquals(List.of("a", "b", "c"), top.stream().map(VectorMatch::id).toList());
  }

  @Test
  void vectorApiKernel_withModule_matchesScalar() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process child =
        new ProcessBuilder(
                java.toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "-cp",
                System.getProperty("java.class.path"),
                VectorApiKernelCheck.class.getName())
            .redirectErrorStream(true)
            .start();
    String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, child.exitValue(), output);
    assertTrue(output.contains("Vector API"), output); // the SIMD kernel was chosen
    assertTrue(output.contains("OK"), output);
  }

  @Test
  void searchKernel_withoutModule_isScalar() {
    // Tests run without --add-modules jdk.incubator.vector, as most applications will.
    assertEquals("scalar", FlatVectorIndex.searchKernel());
  }

  @Test
  void reserve_thenFill_keepsEverything() {
    FlatVectorIndex index = FlatVectorIndex.create(3, VectorEncoding.INT8);
    index.reserve(1_000);
    for (int i = 0; i < 1_000; i++) {
      index.upsert("v" + i, new float[] {i + 1, 1, -1});
    }
    assertEquals(1_000, index.size());
    assertTrue(index.contains("v999"));
  }

  @Test
  void upsert_wrongDimension_throws() {
    FlatVectorIndex index = FlatVectorIndex.create(3, VectorEncoding.INT8);
    var e = assertThrows(IllegalArgumentException.class, () -> index.upsert("a", new float[] {1}));
    assertEquals("vector: dimension 1 (expected: 3)", e.getMessage());
    assertFalse(index.contains("a"));
  }

  private static List<String> exactTop(Map<String, float[]> stored, float[] query, int k) {
    List<Map.Entry<String, Double>> all = new ArrayList<>();
    for (Map.Entry<String, float[]> e : stored.entrySet()) {
      double dot = 0;
      double n = 0;
      for (int i = 0; i < query.length; i++) {
        dot += (double) e.getValue()[i] * query[i];
        n += (double) e.getValue()[i] * e.getValue()[i];
      }
      all.add(Map.entry(e.getKey(), dot / Math.sqrt(n)));
    }
    all.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()));
    return all.subList(0, k).stream().map(Map.Entry::getKey).toList();
  }

  /** Vectors of 32-d that make a scan split in two: twice the split threshold. */
  private static final int SPLIT_VECTORS = (int) (FlatVectorIndex.MIN_ELEMENTS_PER_PART * 2 / 32);

  /** Puts the same {@code count} random vectors, ids {@code v0...}, into every index. */
  private static void fill(Random random, int count, FlatVectorIndex... indexes) {
    for (int i = 0; i < count; i++) {
      float[] v = gaussian(random, indexes[0].dimensions());
      for (FlatVectorIndex index : indexes) {
        index.upsert("v" + i, v);
      }
    }
  }

  /**
   * A 32-d float16 index of {@link #SPLIT_VECTORS} vectors whose searches split in two, with the
   * helper's share left in {@code held} for the test to run; {@code twins} get the same vectors.
   */
  private static FlatVectorIndex heldSplit(
      List<Runnable> held, Random random, FlatVectorIndex... twins) {
    FlatVectorIndex split = FlatVectorIndex.create(32, VectorEncoding.FLOAT16, 2, held::add);
    FlatVectorIndex[] all = Arrays.copyOf(twins, twins.length + 1);
    all[twins.length] = split;
    fill(random, SPLIT_VECTORS, all);
    return split;
  }

  /**
   * An id filter that applies {@code check}, and at the scan's third offer runs the held helper
   * task on the scanning thread: the helper then claims every range the caller has not.
   */
  private static Predicate<String> wakingHelperAtThirdOffer(
      List<Runnable> held, Predicate<String> check) {
    int[] offers = new int[1];
    return id -> {
      boolean keep = check.test(id);
      if (++offers[0] == 3 && !held.isEmpty()) {
        held.remove(0).run();
      }
      return keep;
    };
  }

  private static float[] gaussian(Random random, int dims) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) random.nextGaussian();
    }
    return v;
  }
}
