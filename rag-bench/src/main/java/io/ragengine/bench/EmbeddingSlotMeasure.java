package io.ragengine.bench;

import io.ragengine.Document;
import io.ragengine.InsertReport;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * How fully the ingest pipeline keeps the embedding budget busy: a {@link io.ragengine.RagEngine}
 * with {@code embeddingMaxAsync} 8 and {@code embeddingBatchSize} 32 ingests 1,000 documents of
 * about 2,000 tokens (2,000 chunks) through the real OpenAI clients against a {@link
 * FakeOpenAiServer} that answers each embedding call after 50 ms. Utilisation = time spent inside
 * embedding calls / (8 x the time from the start of the first call to the end of the last), that
 * is, once the first batch is ready. Goal: at least 0.95.
 *
 * <p>With 2,000 chunks in batches of 32 there are 63 calls, so even a perfect pipeline has one
 * short round: 63 / 64 = 0.984 is the ceiling. One 200-document ingest warms the JIT first.
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.EmbeddingSlotMeasure [runs [documents
 * [maxParallelInsert]]]} (default {@code 3 1000}, and the engine's default {@code
 * maxParallelInsert}).
 */
public final class EmbeddingSlotMeasure {
  private static final int SLOTS = 8;
  private static final int BATCH = 32;
  private static final Duration LATENCY = Duration.ofMillis(50);

  private EmbeddingSlotMeasure() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int docs = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
    int parallel = args.length > 2 ? Integer.parseInt(args[2]) : 0;
    System.out.println(EngineRig.machine());
    run(200, parallel, 0, false);
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
      long start = System.nanoTime();
      InsertReport result = rig.engine.insert(corpus);
      long wall = System.nanoTime() - start;
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
      }
    }
  }
}
