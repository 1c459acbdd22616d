package io.ragengine.bench;

import io.ragengine.Document;
import io.ragengine.InsertReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The engine's own cost per chunk when the models cost nothing: documents of about 2,000 tokens
 * (two chunks each at the default 1,200-token chunks with 100 overlap) are ingested by a {@link
 * RagEngine} with default settings through the real OpenAI clients against a {@link
 * FakeOpenAiServer} with zero latency (1536-d vectors), into the embedded storage in a temporary
 * directory. Overhead = ingest wall time minus the time during which at least one embedding call
 * was in flight (timed around {@code EmbeddingModel.embed}, so the HTTP round trip, JSON and base64
 * count as model time), divided by the chunks. Goal: at most 0.5 ms per chunk, flat from 20 to
 * 1,000 documents.
 *
 * <p>Each document count gets a fresh engine and working directory; 200-document ingests run
 * first to warm the JIT, 60 by default or {@code N} with {@code --warmups=N}. Fewer are not a
 * steady state: code that runs once per document reaches the optimising compiler only after
 * thousands of documents, and on two cores the compiler threads took 50-170 ms of CPU per
 * 200-document ingest through the first twenty, as much as a 20-document ingest's whole wall time
 * (20 documents after 10 warm-ups: 0.52-0.83 ms per chunk; after 60: 0.35-0.55). Each run prints
 * its CPU by thread, compiler threads included. The engine is built (and its connections warmed)
 * before the clock starts.
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.IngestOverheadMeasure [--warmups=N] [runs
 * [documents ...]]} (default {@code 3 20 100 1000}).
 *
 * @see io.ragengine.RagEngine
 */
public final class IngestOverheadMeasure {
  private static final int TOKENS_PER_DOCUMENT = 2_000;

  private IngestOverheadMeasure() {}

  public static void main(String[] arguments) throws Exception {
    List<String> args = new ArrayList<>(List.of(arguments));
    int warmups = EngineRig.warmups(args, 60);
    int runs = args.size() > 0 ? Integer.parseInt(args.get(0)) : 3;
    List<Integer> sizes = new ArrayList<>();
    for (int i = 1; i < args.size(); i++) {
      sizes.add(Integer.parseInt(args.get(i)));
    }
    if (sizes.isEmpty()) {
      sizes = List.of(20, 100, 1_000);
    }
    System.out.println(EngineRig.machine() + ", " + warmups + " warm-up ingest(s)");
    for (int w = 0; w < warmups; w++) {
      run(200, -w, false);
    }
    for (int docs : sizes) {
      for (int r = 0; r < runs; r++) {
        run(docs, r + 1, true);
      }
    }
  }

  private static void run(int docs, int seed, boolean report) throws Exception {
    List<Document> corpus = EngineRig.corpus(docs, TOKENS_PER_DOCUMENT, 1_000L * docs + seed);
    try (EngineRig rig =
        new EngineRig(Duration.ZERO, Duration.ZERO, EngineRig.DIMENSION, 8, b -> b)) {
      rig.embeddingClock.reset();
      Map<String, Long> cpuBefore = EngineRig.cpuByThreadGroup();
      long cpuStart = EngineRig.processCpuNanos();
      long start = System.nanoTime();
      InsertReport result = rig.engine.insert(corpus);
      long wall = System.nanoTime() - start;
      long cpu = EngineRig.processCpuNanos() - cpuStart;
      Map<String, Long> cpuAfter = EngineRig.cpuByThreadGroup();
      if (result.processed() != docs) {
        throw new IllegalStateException("processed " + result.processed() + " of " + docs);
      }
      int chunks = 0;
      for (InsertReport.DocumentReport d : result.documents()) {
        chunks += d.chunks();
      }
      EngineRig.ModelClock.Reading reading = rig.embeddingClock.read();
      long model = reading.unionNanos();
      if (report) {
        System.out.printf(
            Locale.ROOT,
            "%5d docs %5d chunks: wall %8.1f ms, in embedding calls %7.1f ms (sum %7.1f ms,"
                + " %d calls), overhead %.3f ms/chunk, process CPU %.1f ms, commits %d, %s%n",
            docs,
            chunks,
            wall / 1e6,
            model / 1e6,
            reading.sumNanos() / 1e6,
            reading.calls(),
            (wall - model) / 1e6 / chunks,
            cpu / 1e6,
            rig.engine.stats().commits(),
            EngineRig.machine().replaceAll(".*, ", ""));
        System.out.println("      " + EngineRig.cpuBreakdown(cpuBefore, cpuAfter));
      }
    }
  }
}
