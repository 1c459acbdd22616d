package io.ragengine.bench;

import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.LimiterStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * How much of the limiter's budget is spent in calls while work is queued: all calls are
 * submitted at once, each blocks about 1 ms (a park, as an HTTP call waits on its socket), and
 * the time spent inside the calls, measured in the callable, is divided by {@code maxAsync x
 * elapsed}. LightRAG's limiter, measured on the same machine the same way: 0.69 at 16 slots,
 * 0.46-0.51 at 64.
 *
 * <p>Not a JMH benchmark because the figure is a ratio of two times within one run, not a rate.
 *
 * <p>Run: {@code java -cp rag-bench/target/benchmarks.jar io.ragengine.bench.SlotUtilisation
 * [maxAsync ...]} (default 16 64); each run submits {@code maxAsync x 2000} calls, after one
 * warm-up run.
 */
public final class SlotUtilisation {
  private static final long CALL_NANOS = 1_000_000;
  private static final int CALLS_PER_SLOT = 2_000;

  private SlotUtilisation() {}

  public static void main(String[] args) throws Exception {
    int[] sizes = args.length == 0 ? new int[] {16, 64} : parse(args);
    System.out.printf(
        "%d cores, %s %s%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name"),
        System.getProperty("java.version"));
    for (int maxAsync : sizes) {
      run(maxAsync, false); // warm-up: JIT, virtual-thread carriers
      run(maxAsync, true);
    }
  }

  private static int[] parse(String[] args) {
    int[] sizes = new int[args.length];
    for (int i = 0; i < args.length; i++) {
      sizes[i] = Integer.parseInt(args[i]);
    }
    return sizes;
  }

  private static void run(int maxAsync, boolean report) throws Exception {
    int calls = maxAsync * CALLS_PER_SLOT;
    LongAdder busyNanos = new LongAdder();
    CallLimiterConfig config =
        CallLimiterConfig.builder()
            .name("utilisation")
            .maxAsync(maxAsync)
            .maxQueued(calls)
            .eagerInit(true)
            .build();
    try (CallLimiter limiter = CallLimiter.create(config)) {
      List<CompletableFuture<Long>> futures = new ArrayList<>(calls);
      long start = System.nanoTime();
      for (int i = 0; i < calls; i++) {
        futures.add(
            limiter.submit(
                i % 3,
                () -> {
                  long t0 = System.nanoTime();
                  LockSupport.parkNanos(CALL_NANOS);
                  long spent = System.nanoTime() - t0;
                  busyNanos.add(spent);
                  return spent;
                }));
      }
      for (CompletableFuture<Long> f : futures) {
        f.join();
      }
      long elapsed = System.nanoTime() - start;
      if (report) {
        LimiterStats stats = limiter.stats();
        double utilisation = busyNanos.sum() / ((double) maxAsync * elapsed);
        System.out.printf(
            Locale.ROOT,
            "maxAsync %3d: %7d calls in %6.0f ms, mean call %.3f ms, utilisation %.4f,"
                + " run p50 %.3f ms, wait p99 %.1f ms%n",
            maxAsync,
            calls,
            elapsed / 1e6,
            busyNanos.sum() / 1e6 / calls,
            utilisation,
            stats.runTime().p50().toNanos() / 1e6,
            stats.waitTime().p99().toNanos() / 1e6);
      }
    }
  }
}
