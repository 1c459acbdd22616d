package io.ragengine.bench;

import io.ragengine.QueryParams;
import io.ragengine.QueryResult;
import java.time.Duration;
import java.util.Locale;
import java.util.Random;

/**
 * The engine's own cost per NAIVE query when the models cost nothing: 10,000 chunks (documents of
 * about 1,000 tokens, one chunk each) are ingested into a {@link io.ragengine.RagEngine} with
 * default settings, then questions are asked one at a time through the real OpenAI clients against
 * a {@link FakeOpenAiServer} with zero latency. Overhead per query = its wall time minus the time
 * inside the embedding and chat calls (timed around the model calls, so the HTTP round trips count
 * as model time). It includes the hand-offs of the question's embedding and of the answer to the
 * limiters' workers, the vector search (default float16 encoding, exact top 20), the chunks'
 * lookup (chunk cache, then the store), the context budget and the prompt. Goal: at most 1 ms p50.
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.NaiveQueryMeasure [chunks [dimension
 * [queries]]]} (default {@code 10000 1536 2000}; 500 warm-up queries run first). Add {@code
 * --add-modules jdk.incubator.vector} before {@code -cp} to search with the Vector API.
 */
public final class NaiveQueryMeasure {
  private NaiveQueryMeasure() {}

  public static void main(String[] args) throws Exception {
    int chunks = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int dimension = args.length > 1 ? Integer.parseInt(args[1]) : EngineRig.DIMENSION;
    int queries = args.length > 2 ? Integer.parseInt(args[2]) : 2_000;
    System.out.println(EngineRig.machine());
    try (EngineRig rig = new EngineRig(Duration.ZERO, Duration.ZERO, dimension, 16, b -> b)) {
      long t0 = System.nanoTime();
      int stored = rig.engine.insert(EngineRig.corpus(chunks, 1_000, 11)).processed();
      System.out.printf(
          Locale.ROOT,
          "ingested %d documents, %d chunks of %d-d in %.1f s%n",
          stored,
          rig.engine.stats().chunks(),
          dimension,
          (System.nanoTime() - t0) / 1e9);
      Random r = new Random(5);
      measure(rig, 500, r, false);
      measure(rig, queries, r, true);
    }
  }

  private static void measure(EngineRig rig, int queries, Random r, boolean report) {
    long[] overhead = new long[queries];
    long[] total = new long[queries];
    long[] retrieval = new long[queries];
    long[] embedHandOff = new long[queries];
    long[] answerHandOff = new long[queries];
    long hitsBefore = rig.engine.stats().chunkCacheHits();
    long missesBefore = rig.engine.stats().chunkCacheMisses();
    for (int i = 0; i < queries; i++) {
      String question = question(r);
      rig.embeddingClock.reset();
      rig.chatClock.reset();
      long start = System.nanoTime();
      QueryResult result = rig.engine.query(question, QueryParams.defaults());
      long wall = System.nanoTime() - start;
      if (result.sources().isEmpty() || result.answer().isEmpty()) {
        throw new IllegalStateException("no sources or no answer");
      }
      long embedding = rig.embeddingClock.read().sumNanos();
      long chat = rig.chatClock.read().sumNanos();
      total[i] = wall;
      overhead[i] = wall - embedding - chat;
      retrieval[i] = result.timings().retrieval().toNanos();
      embedHandOff[i] = result.timings().embedding().toNanos() - embedding;
      answerHandOff[i] = result.timings().answer().toNanos() - chat;
    }
    if (report) {
      long hits = rig.engine.stats().chunkCacheHits() - hitsBefore;
      long misses = rig.engine.stats().chunkCacheMisses() - missesBefore;
      System.out.printf(
          Locale.ROOT,
          "%d queries, top %d: overhead p50 %.3f ms p90 %.3f ms p99 %.3f ms; of which retrieval"
              + " p50 %.3f ms, embedding hand-off p50 %.3f ms, answer hand-off p50 %.3f ms;"
              + " chunk cache hit rate %.3f; total p50 %.3f ms; %s%n",
          queries,
          QueryParams.DEFAULT_TOP_K,
          EngineRig.percentileMs(overhead, 0.5),
          EngineRig.percentileMs(overhead, 0.9),
          EngineRig.percentileMs(overhead, 0.99),
          EngineRig.percentileMs(retrieval, 0.5),
          EngineRig.percentileMs(embedHandOff, 0.5),
          EngineRig.percentileMs(answerHandOff, 0.5),
          hits + misses == 0 ? 0.0 : (double) hits / (hits + misses),
          EngineRig.percentileMs(total, 0.5),
          EngineRig.machine().replaceAll(".*, ", ""));
    }
  }

  static String question(Random r) {
    return "What does the " + r.nextInt(1_000_000) + " say about the river and the bridge?";
  }
}
