package io.ragengine.bench;

import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The memory read bandwidth a scan can reach on this machine: sums a 1 GiB {@code long[]} (far
 * larger than any cache) on 1 and on 2 threads and prints GB/s. An exact vector search reads every
 * stored vector once per query, so {@code bytes of vectors / bandwidth} is a floor under its
 * latency that no kernel can beat (see the storage section of docs/benchmarks.md).
 *
 * <p>Run: {@code java -Xmx2g -cp rag-bench/target/benchmarks.jar io.ragengine.bench.MemoryBandwidth}
 */
public final class MemoryBandwidth {
  private MemoryBandwidth() {}

  public static void main(String[] args) throws Exception {
    long[] data = new long[128 << 20]; // 1 GiB
    for (int i = 0; i < data.length; i++) {
      data[i] = i;
    }
    for (int threads = 1; threads <= 2; threads++) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      double best = 0;
      for (int rep = 0; rep < 8; rep++) {
        int per = data.length / threads;
        long start = System.nanoTime();
        Future<?>[] parts = new Future<?>[threads];
        long[] sums = new long[threads];
        for (int t = 0; t < threads; t++) {
          int part = t;
          parts[t] =
              pool.submit(
                  () -> {
                    long sum = 0;
                    for (int i = part * per, end = i + per; i < end; i++) {
                      sum += data[i];
                    }
                    sums[part] = sum;
                  });
        }
        for (Future<?> f : parts) {
          f.get();
        }
        double gbPerSecond = data.length * 8.0 / (System.nanoTime() - start);
        if (rep >= 3) { // the first passes warm up the JIT
          best = Math.max(best, gbPerSecond);
          System.out.printf(Locale.ROOT, "%d thread(s): %.1f GB/s (checksum %d)%n", threads,
              gbPerSecond, sums[0]);
        }
      }
      System.out.printf(Locale.ROOT, "%d thread(s): best %.1f GB/s%n", threads, best);
      pool.shutdown();
    }
  }
}
