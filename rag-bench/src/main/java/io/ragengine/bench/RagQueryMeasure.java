package io.ragengine.bench;

import io.ragengine.QueryParams;
import io.ragengine.QueryResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * End-to-end NAIVE query latency and throughput: a {@link io.ragengine.RagEngine} holding 924
 * chunks of 1536-d vectors answers questions through the real OpenAI clients against a {@link
 * FakeOpenAiServer} whose chat completions take 50 ms and embedding calls 10 ms. At concurrency 1,
 * one caller asks questions back to back; at concurrency N ({@code maxAsync} N), N virtual threads
 * do. Goals: concurrency 1 p50 at most 62 ms; concurrency 32 at least 480 queries/s with p99 at
 * most 80 ms.
 *
 * <p>First the JIT is warmed: an engine of its own answers questions at concurrency 32 for {@code
 * --warmup=SECONDS} (default 15). Then each concurrency level gets a fresh engine, a 3-second
 * warm-up, and a measured period; latency is the caller's wall time per {@code query}, throughput
 * the queries completed in the measured period over its length. Three seconds alone are not a
 * steady state: at concurrency 1 they are about 45 queries, and at concurrency 32 the compiler
 * threads were still compiling hundreds of methods a second after them, on the same two cores
 * (engine share at concurrency 1 1.1-1.3 ms p50 after 3 s, 0.64 ms after a 13-second warm-up).
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.RagQueryMeasure [--warmup=SECONDS] [seconds
 * [concurrency ...]]} (default {@code --warmup=15 10 1 32}).
 */
public final class RagQueryMeasure {
  private static final int CHUNKS = 924;

  /** Concurrency of the JIT warm-up: the most code paths in the least time. */
  private static final int WARMUP_CONCURRENCY = 32;

  private RagQueryMeasure() {}

  public static void main(String[] arguments) throws Exception {
    List<String> args = new ArrayList<>(List.of(arguments));
    int warmup = EngineRig.intOption(args, "--warmup", 15);
    int seconds = args.size() > 0 ? Integer.parseInt(args.get(0)) : 10;
    List<Integer> levels = new ArrayList<>();
    for (int i = 1; i < args.size(); i++) {
      levels.add(Integer.parseInt(args.get(i)));
    }
    if (levels.isEmpty()) {
      levels = List.of(1, 32);
    }
    System.out.println(EngineRig.machine() + ", JIT warm-up " + warmup + " s");
    if (warmup > 0) {
      try (EngineRig rig = rig(WARMUP_CONCURRENCY)) {
        run(rig, WARMUP_CONCURRENCY, warmup, false);
      }
    }
    for (int concurrency : levels) {
      try (EngineRig rig = rig(concurrency)) {
        run(rig, concurrency, 3, false);
        run(rig, concurrency, seconds, true);
      }
    }
  }

  /** A fresh engine holding the corpus, with {@code maxAsync} equal to {@code concurrency}. */
  private static EngineRig rig(int concurrency) throws Exception {
    EngineRig rig =
        new EngineRig(
            Duration.ofMillis(10),
            Duration.ofMillis(50),
            EngineRig.DIMENSION,
            concurrency + 8,
            b -> b.maxAsync(Math.max(concurrency, 1)));
    try {
      rig.engine.insert(EngineRig.corpus(CHUNKS, 1_000, 13));
      if (rig.engine.stats().chunks() != CHUNKS) {
        throw new IllegalStateException("chunks: " + rig.engine.stats().chunks());
      }
      return rig;
    } catch (RuntimeException e) {
      rig.close();
      throw e;
    }
  }

  private static void run(EngineRig rig, int concurrency, int seconds, boolean report)
      throws InterruptedException {
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(concurrency);
    List<long[]> perThread = new ArrayList<>();
    // At concurrency 1 the model clocks time one query at a time: split its latency.
    long[] modelNanos = new long[concurrency == 1 ? seconds * 2_000 : 0];
    int[] counts = new int[concurrency];
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    for (int t = 0; t < concurrency; t++) {
      long[] latencies = new long[seconds * 2_000];
      perThread.add(latencies);
      int id = t;
      Thread.ofVirtual()
          .start(
              () -> {
                Random r = new Random(id);
                int n = 0;
                try {
                  while (System.nanoTime() < end && n < latencies.length) {
                    if (modelNanos.length > 0) {
                      rig.embeddingClock.reset();
                      rig.chatClock.reset();
                    }
                    long t0 = System.nanoTime();
                    QueryResult result =
                        rig.engine.query(NaiveQueryMeasure.question(r), QueryParams.defaults());
                    if (result.answer().isEmpty()) {
                      throw new IllegalStateException("no answer");
                    }
                    latencies[n] = System.nanoTime() - t0;
                    if (modelNanos.length > 0) {
                      modelNanos[n] = rig.embeddingClock.read().sumNanos() + rig.chatClock.read().sumNanos();
                    }
                    n++;
                  }
                } catch (RuntimeException e) {
                  stop.set(true);
                  e.printStackTrace();
                } finally {
                  counts[id] = n;
                  done.countDown();
                }
              });
    }
    done.await();
    long elapsed = System.nanoTime() - start;
    if (stop.get()) {
      throw new IllegalStateException("a query failed");
    }
    int total = 0;
    for (int c : counts) {
      total += c;
    }
    long[] all = new long[total];
    int k = 0;
    for (int t = 0; t < concurrency; t++) {
      System.arraycopy(perThread.get(t), 0, all, k, counts[t]);
      k += counts[t];
    }
    if (report && modelNanos.length > 0) {
      long[] model = java.util.Arrays.copyOf(modelNanos, total);
      long[] engine = new long[total];
      for (int i = 0; i < total; i++) {
        engine[i] = all[i] - model[i];
      }
      System.out.printf(
          Locale.ROOT,
          "concurrency 1: inside model calls p50 %.1f ms; outside them (engine) p50 %.2f ms"
              + " p99 %.2f ms%n",
          EngineRig.percentileMs(model, 0.5),
          EngineRig.percentileMs(engine, 0.5),
          EngineRig.percentileMs(engine, 0.99));
    }
    if (report) {
      System.out.printf(
          Locale.ROOT,
          "concurrency %d: %d queries in %.2f s = %.1f queries/s; latency p50 %.1f ms p90 %.1f ms"
              + " p99 %.1f ms max %.1f ms; embedding calls %d; %s%n",
          concurrency,
          total,
          elapsed / 1e9,
          total / (elapsed / 1e9),
          EngineRig.percentileMs(all, 0.5),
          EngineRig.percentileMs(all, 0.9),
          EngineRig.percentileMs(all, 0.99),
          EngineRig.percentileMs(all, 1.0),
          rig.engine.stats().embeddingCalls(),
          EngineRig.machine().replaceAll(".*, ", ""));
    }
  }
}
