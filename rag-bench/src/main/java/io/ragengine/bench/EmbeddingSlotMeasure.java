package io.ragengine.bench;

import io.ragengine.Document;
import io.ragengine.InsertReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How fully the ingest pipeline keeps the embedding budget busy: a {@link io.ragengine.RagEngine}
 * with {@code embeddingMaxAsync} 8 and {@code embeddingBatchSize} 32 ingests 1,000 documents of
 * about 2,000 tokens (2,000 chunks) through the real OpenAI clients against a {@link
 * FakeOpenAiServer} that answers each embedding call after 50 ms. Utilisation = time spent inside
 * embedding calls / (8 x the time from the start of the first call to the end of the last), that
 * is, once the first batch is ready. Goal: at least 0.95.
 *
 * <p>With 2,000 chunks in batches of 32 there are 63 calls, so even a perfect pipeline has one
 * short round: 63 / 64 = 0.984 is the ceiling. Ingests of the measured size warm the JIT first: 60
 * by default, {@code N} with {@code --warmups=N}. Smaller ones left it unsettled: 200 documents
 * never fill the window of texts waiting for vectors (512), so the blocking path of its semaphore
 * stayed cold. After 60 such warm-ups C2 still took 75-420 ms of CPU in nearly every measured
 * ingest, on the same two cores, and after 250 over 300 ms in the fourth ingest of most JVMs. A
 * recording showed one of them deoptimising {@code IngestPipeline.processOne} at that semaphore
 * in every document's thread, then recompiling it for about 480 ms.
 *
 * <p>After each run it prints where the slot time not spent in calls went, per slot (limiter
 * worker): idle before its first call (the ramp-up: the first 8 calls need 256 texts, that is 128
 * chunked documents), gaps between its calls, and idle after its last call (the tail).
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.EmbeddingSlotMeasure [--warmups=N] [runs
 * [documents [maxParallelInsert]]]} (default {@code 3 1000}, and the engine's default {@code
 * maxParallelInsert}).
 */
public final class EmbeddingSlotMeasure {
  private static final int SLOTS = 8;
  private static final int BATCH = 32;
  private static final Duration LATENCY = Duration.ofMillis(50);

  private EmbeddingSlotMeasure() {}

  public static void main(String[] arguments) throws Exception {
    List<String> args = new ArrayList<>(List.of(arguments));
    int warmups = EngineRig.warmups(args, 60);
    int runs = args.size() > 0 ? Integer.parseInt(args.get(0)) : 3;
    int docs = args.size() > 1 ? Integer.parseInt(args.get(1)) : 1_000;
    int parallel = args.size() > 2 ? Integer.parseInt(args.get(2)) : 0;
    System.out.println(EngineRig.machine() + ", " + warmups + " warm-up ingest(s)");
    for (int w = 0; w < warmups; w++) {
      run(docs, parallel, -w, false);
    }
    for (int r = 0; r < runs; r++) {
      run(docs, parallel, r + 1, true);
    }
  }

  private static void run(int docs, int parallel, int seed, boolean report) throws Exception {
    List<Document> corpus = EngineRig.corpus(docs, 2_000, 7_000L + seed);
    try (EngineRig rig =
        new EngineRig(
            LATENCY,
            Duration.ZERO,
            EngineRig.DIMENSION,
            SLOTS,
            b -> {
              b.embeddingMaxAsync(SLOTS).embeddingBatchSize(BATCH);
              return parallel > 0 ? b.maxParallelInsert(parallel) : b;
            })) {
      rig.embeddingClock.reset();
      Map<String, Long> cpuBefore = EngineRig.cpuByThreadGroup();
      long start = System.nanoTime();
      InsertReport result = rig.engine.insert(corpus);
      long wall = System.nanoTime() - start;
      Map<String, Long> cpuAfter = EngineRig.cpuByThreadGroup();
      if (result.processed() != docs) {
        throw new IllegalStateException("processed " + result.processed() + " of " + docs);
      }
      var clock = rig.embeddingClock;
      EngineRig.ModelClock.Reading r = clock.read();
      long busy = r.lastEnd() - r.firstStart();
      double utilisation = r.sumNanos() / ((double) SLOTS * busy);
      if (report) {
        System.out.printf(
            Locale.ROOT,
            "%d docs, %d texts in %d calls (%.1f per call): wall %.0f ms, first call after %.0f ms,"
                + " calls span %.0f ms, in calls %.0f ms, utilisation %.3f, %s%n",
            docs,
            rig.server.inputs(),
            r.calls(),
            rig.server.inputs() / (double) Math.max(1, rig.server.requests()),
            wall / 1e6,
            (r.firstStart() - start) / 1e6,
            busy / 1e6,
            r.sumNanos() / 1e6,
            utilisation,
            EngineRig.machine().replaceAll(".*, ", ""));
        printSlotTime(clock.calls(), r.firstStart(), r.lastEnd());
        System.out.println("  " + EngineRig.cpuBreakdown(cpuBefore, cpuAfter));
      }
    }
  }

  /**
   * Where the slots' time went: per slot (limiter worker thread), the idle time before its first
   * call (ramp-up), the gaps between its calls, and the idle time after its last call (tail), all
   * measured within the span from the first call's start to the last call's end. Ramp-up, gaps and
   * tail add up to the slot time not spent in calls, so 1 - their share is the utilisation.
   */
  private static void printSlotTime(List<EngineRig.ModelClock.Call> calls, long first, long last) {
    Map<String, List<EngineRig.ModelClock.Call>> bySlot = new TreeMap<>();
    for (EngineRig.ModelClock.Call c : calls) {
      bySlot.computeIfAbsent(c.thread(), k -> new ArrayList<>()).add(c);
    }
    double span = (last - first) / 1e6;
    double rampSum = 0;
    double gapSum = 0;
    double tailSum = 0;
    double callSum = 0;
    double callMax = 0;
    int gaps = 0;
    for (Map.Entry<String, List<EngineRig.ModelClock.Call>> e : bySlot.entrySet()) {
      List<EngineRig.ModelClock.Call> mine = e.getValue();
      mine.sort(Comparator.comparingLong(EngineRig.ModelClock.Call::start));
      double ramp = (mine.get(0).start() - first) / 1e6;
      double tail = (last - mine.get(mine.size() - 1).end()) / 1e6;
      double gap = 0;
      double maxGap = 0;
      for (int i = 1; i < mine.size(); i++) {
        double g = (mine.get(i).start() - mine.get(i - 1).end()) / 1e6;
        gap += g;
        maxGap = Math.max(maxGap, g);
      }
      for (EngineRig.ModelClock.Call c : mine) {
        double d = (c.end() - c.start()) / 1e6;
        callSum += d;
        callMax = Math.max(callMax, d);
      }
      gaps += mine.size() - 1;
      rampSum += ramp;
      gapSum += gap;
      tailSum += tail;
      System.out.printf(
          Locale.ROOT,
          "  %-12s %2d calls: before first %6.1f ms, %2d gaps %6.1f ms (max %5.1f), after last"
              + " %5.1f ms%n",
          e.getKey(), mine.size(), ramp, mine.size() - 1, gap, maxGap, tail);
    }
    double slotTime = SLOTS * span;
    List<Long> starts = new ArrayList<>();
    for (EngineRig.ModelClock.Call c : calls) {
      starts.add(c.start());
    }
    starts.sort(null);
    StringBuilder ramp = new StringBuilder();
    for (int i = 0; i < Math.min(SLOTS, starts.size()); i++) {
      ramp.append(String.format(Locale.ROOT, " %.1f", (starts.get(i) - first) / 1e6));
    }
    System.out.printf(
        Locale.ROOT,
        "  slot time %.0f ms: in calls %.1f %% (mean call %.1f ms, max %.1f), before first call"
            + " %.1f %%, gaps %.1f %% (%d, mean %.2f ms), after last call %.1f %%; first %d calls"
            + " start at%s ms%n",
        slotTime,
        100 * callSum / slotTime,
        callSum / Math.max(1, calls.size()),
        callMax,
        100 * rampSum / slotTime,
        100 * gapSum / slotTime,
        gaps,
        gapSum / Math.max(1, gaps),
        100 * tailSum / slotTime,
        Math.min(SLOTS, starts.size()),
        ramp);
  }
}
