package io.ragengine.bench;

import io.ragengine.store.VectorMatch;
import io.ragengine.store.VectorStore;
import io.ragengine.store.embedded.FlatVectorIndex;
import io.ragengine.store.embedded.VectorEncoding;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Measures what JMH does not: recall@10 of float16 and int8 against a float64 brute force (100k
 * random 384-d vectors, 100 queries), the CPU time per query on one thread at 9,261 vectors of
 * 1536-d (the case a popular Java peer reports at 17-20 ms) and at 100k (and, with argument {@code
 * 1m}, 1M) vectors of 384-d, and heap bytes per vector. CPU time, unlike wall time, is little
 * affected by other processes sharing the machine.
 *
 * <p>Run: {@code java -Xmx3g -cp rag-bench/target/benchmarks.jar
 * io.ragengine.bench.VectorSearchMeasure}; add {@code --add-modules jdk.incubator.vector} for the
 * Vector API kernel.
 */
public final class VectorSearchMeasure {
  private VectorSearchMeasure() {}

  public static void main(String[] args) {
    System.out.println("search kernel: " + FlatVectorIndex.searchKernel());
    recall(100_000, 384, 100);
    cpuPerQuery(9_261, 1536, 300);
    cpuPerQuery(100_000, 384, 100);
    if (args.length > 0 && args[0].equals("1m")) {
      cpuPerQuery(1_000_000, 384, 20);
    }
    memory(200_000, 384);
  }

  private static void recall(int size, int dims, int queries) {
    SplittableRandom random = new SplittableRandom(5);
    float[][] vectors = new float[size][];
    FlatVectorIndex half = FlatVectorIndex.create(dims, VectorEncoding.FLOAT16);
    FlatVectorIndex bytes = FlatVectorIndex.create(dims, VectorEncoding.INT8);
    for (int i = 0; i < size; i++) {
      vectors[i] = random(random, dims);
      half.upsert("v" + i, vectors[i]);
      bytes.upsert("v" + i, vectors[i]);
    }
    int halfHits = 0;
    int byteHits = 0;
    for (int q = 0; q < queries; q++) {
      float[] query = random(random, dims);
      Set<String> exact = exactTop10(vectors, query);
      halfHits += hits(exact, half.search(query, 10, VectorStore.NO_MIN_SCORE, null));
      byteHits += hits(exact, bytes.search(query, 10, VectorStore.NO_MIN_SCORE, null));
    }
    System.out.printf(
        "recall@10 at %,d x %d-d over %d queries: float16 %.4f, int8 %.4f%n",
        size, dims, queries, halfHits / (10.0 * queries), byteHits / (10.0 * queries));
  }

  private static void cpuPerQuery(int size, int dims, int queries) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    SplittableRandom random = new SplittableRandom(9);
    for (VectorEncoding encoding : VectorEncoding.values()) {
      FlatVectorIndex index = FlatVectorIndex.create(dims, encoding);
      for (int i = 0; i < size; i++) {
        index.upsert("v" + i, random(random, dims));
      }
      float[] query = random(random, dims);
      for (int i = 0; i < queries; i++) { // warm-up
        index.search(query, 10, VectorStore.NO_MIN_SCORE, null);
      }
      long[] cpu = new long[queries];
      for (int i = 0; i < queries; i++) {
        long start = threads.getCurrentThreadCpuTime();
        index.search(query, 10, VectorStore.NO_MIN_SCORE, null);
        cpu[i] = threads.getCurrentThreadCpuTime() - start;
      }
      Arrays.sort(cpu);
      System.out.printf(
          "CPU per query at %,d x %d-d, %s, one thread: p50 %.2f ms, p90 %.2f ms%n",
          size, dims, encoding, cpu[queries / 2] / 1e6, cpu[queries * 9 / 10] / 1e6);
    }
  }

  private static void memory(int size, int dims) {
    SplittableRandom random = new SplittableRandom(3);
    float[] vector = random(random, dims);
    String[] ids = new String[size];
    for (int i = 0; i < size; i++) {
      ids[i] = "doc-0123456789abcdef-chunk-" + i; // a typical id: ~32 characters
    }
    for (VectorEncoding encoding : VectorEncoding.values()) {
      long before = usedHeap();
      FlatVectorIndex index = FlatVectorIndex.create(dims, encoding);
      index.reserve(size); // as at load from the database: no growth slack
      for (int i = 0; i < size; i++) {
        index.upsert(ids[i], vector);
      }
      long after = usedHeap();
      System.out.printf(
          "heap per vector at %,d x %d-d, %s: %.1f bytes (ids counted separately: ~%d bytes"
              + " each; %d vectors kept)%n",
          size, dims, encoding, (after - before) / (double) size, 24 + 16 + ids[0].length(),
          index.size());
    }
  }

  private static long usedHeap() {
    Runtime runtime = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return runtime.totalMemory() - runtime.freeMemory();
  }

  private static int hits(Set<String> exact, List<VectorMatch> found) {
    int hits = 0;
    for (VectorMatch m : found) {
      hits += exact.contains(m.id()) ? 1 : 0;
    }
    return hits;
  }

  private static Set<String> exactTop10(float[][] vectors, float[] query) {
    double[] scores = new double[vectors.length];
    double qn = 0;
    for (float x : query) {
      qn += (double) x * x;
    }
    for (int i = 0; i < vectors.length; i++) {
      double dot = 0;
      double n = 0;
      for (int j = 0; j < query.length; j++) {
        dot += (double) vectors[i][j] * query[j];
        n += (double) vectors[i][j] * vectors[i][j];
      }
      scores[i] = dot / Math.sqrt(n * qn);
    }
    Integer[] order = new Integer[vectors.length];
    Arrays.setAll(order, i -> i);
    Arrays.sort(order, (a, b) -> Double.compare(scores[b], scores[a]));
    Set<String> top = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      top.add("v" + order[i]);
    }
    return top;
  }

  private static float[] random(SplittableRandom random, int dims) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return v;
  }
}
