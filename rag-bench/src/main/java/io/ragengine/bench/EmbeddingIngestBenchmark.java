package io.ragengine.bench;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Embeds a corpus through {@link OpenAiEmbeddingModel} against an in-process {@link
 * FakeOpenAiServer}: 9,261 chunks of about 216 tokens, 1536-dimension vectors, server latency 10
 * ms per call plus 0.2 ms per input, 8 calls in flight.
 *
 * <p>Concurrency comes from a virtual thread per batch, 8 at a time through a {@link Semaphore}
 * (a stand-in for the engine's call limiter with {@code maxAsync = 8}).
 *
 * <p>Two ways to run it, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}:
 *
 * <pre>
 * # wall time and the client's allocated bytes (server's subtracted), per run;
 * # arguments: runs, warm-up runs, batch sizes (default 5 2 10 32 64):
 * java -cp rag-bench/target/benchmarks.jar io.ragengine.bench.EmbeddingIngestBenchmark
 * # JMH single-shot, with the GC profiler (its allocation figure includes the fake server's):
 * java -jar rag-bench/target/benchmarks.jar EmbeddingIngestBenchmark -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@SuppressWarnings("NullAway.Init") // fields are set in the JMH @Setup method
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(1)
public class EmbeddingIngestBenchmark {
  static final int CHUNKS = 9_261;
  static final int WORDS_PER_CHUNK = 204; // about 216 cl100k tokens with the punctuation
  static final int DIMENSION = 1536;
  static final int CONCURRENCY = 8;
  static final Duration PER_CALL = Duration.ofMillis(10);
  static final Duration PER_INPUT = Duration.ofMillis(1).dividedBy(5);

  /** Texts per embedding call, as the engine's batching would send them. */
  @Param({"10", "32", "64"})
  public int batchSize;

  private FakeOpenAiServer server;
  private OpenAiClient client;
  private EmbeddingModel model;
  private List<String> chunks;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    server = FakeOpenAiServer.start(PER_CALL, PER_INPUT, DIMENSION);
    client = OpenAiClient.builder().baseUrl(server.baseUrl()).apiKey("sk-bench").maxConnections(CONCURRENCY).build();
    model =
        OpenAiEmbeddingModel.builder()
            .client(client)
            .model("text-embedding-3-small")
            .maxBatchSize(Math.max(batchSize, 1))
            .build();
    model.warmup();
    chunks = corpus(CHUNKS, WORDS_PER_CHUNK, 7);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    client.close();
    server.close();
  }

  @Benchmark
  public int embedCorpus() throws Exception {
    return embedAll(model, chunks, batchSize, CONCURRENCY);
  }

  /** Embeds {@code chunks} in batches, {@code concurrency} calls at a time; returns the vectors. */
  static int embedAll(EmbeddingModel model, List<String> chunks, int batchSize, int concurrency)
      throws Exception {
    Semaphore permits = new Semaphore(concurrency);
    int vectors = 0;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<List<float[]>>> futures = new ArrayList<>();
      for (int start = 0; start < chunks.size(); start += batchSize) {
        List<String> batch = chunks.subList(start, Math.min(chunks.size(), start + batchSize));
        futures.add(
            pool.submit(
                () -> {
                  permits.acquire();
                  try {
                    return model.embed(batch);
                  } finally {
                    permits.release();
                  }
                }));
      }
      for (Future<List<float[]>> f : futures) {
        for (float[] v : f.get()) {
          if (v.length != DIMENSION) {
            throw new IllegalStateException("vector of " + v.length + " floats");
          }
          vectors++;
        }
      }
    }
    if (vectors != chunks.size()) {
      throw new IllegalStateException(vectors + " vectors for " + chunks.size() + " chunks");
    }
    return vectors;
  }

  /** Deterministic English-like chunks: common words, about one cl100k token each. */
  static List<String> corpus(int count, int words, long seed) {
    String[] vocabulary = (
        "the of and to in is was for that with as on by at from his her it an were which are this"
            + " be or has had not but have they their one all been its who more also new first"
            + " city company year years time people between after during world state states"
            + " united national government school university known under most other into system"
            + " such where when these only many while would may since about over later team"
            + " history war work north south group series population center member members season"
            + " part well number both area film found called include river early village use used"
            + " album game music through public including water family became against until second"
            + " three high two four five small large each several before local around region")
        .split(" ");
    Random r = new Random(seed);
    List<String> out = new ArrayList<>(count);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < count; i++) {
      sb.setLength(0);
      for (int w = 0; w < words; w++) {
        if (w > 0) {
          sb.append(w % 17 == 16 ? ". " : " ");
        }
        sb.append(vocabulary[r.nextInt(vocabulary.length)]);
      }
      out.add(sb.append('.').toString());
    }
    return out;
  }

  /** Runs the scenario without JMH and prints wall time and allocated bytes per run. */
  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int warmups = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    int[] batchSizes =
        args.length > 2
            ? java.util.Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
            : new int[] {10, 32, 64};
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    List<String> chunks = corpus(CHUNKS, WORDS_PER_CHUNK, 7);
    Encoding cl100k = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    long tokens = 0;
    for (String c : chunks) {
      tokens += cl100k.countTokensOrdinary(c);
    }
    System.out.printf(
        Locale.ROOT,
        "corpus: %d chunks, %.1f cl100k tokens per chunk on average, %d dimensions, latency %s +"
            + " %s per input, concurrency %d, %d cores, Java %s%n",
        chunks.size(),
        tokens / (double) chunks.size(),
        DIMENSION,
        PER_CALL,
        PER_INPUT,
        CONCURRENCY,
        Runtime.getRuntime().availableProcessors(),
        Runtime.version());
    try (FakeOpenAiServer server = FakeOpenAiServer.start(PER_CALL, PER_INPUT, DIMENSION);
        OpenAiClient client =
            OpenAiClient.builder()
                .baseUrl(server.baseUrl())
                .apiKey("sk-bench")
                .maxConnections(CONCURRENCY)
                .build()) {
      for (int batchSize : batchSizes) {
        EmbeddingModel model =
            OpenAiEmbeddingModel.builder()
                .client(client)
                .model("text-embedding-3-small")
                .maxBatchSize(batchSize)
                .build();
        model.warmup();
        int calls = (chunks.size() + batchSize - 1) / batchSize;
        double floorMs =
            calls
                * (PER_CALL.toNanos() + PER_INPUT.toNanos() * (double) batchSize)
                / 1e6
                / CONCURRENCY;
        for (int run = -warmups; run < runs; run++) {
          System.gc();
          long serverBefore = server.allocatedBytes();
          long allocBefore = threads.getTotalThreadAllocatedBytes();
          long t0 = System.nanoTime();
          embedAll(model, chunks, batchSize, CONCURRENCY);
          long wallNanos = System.nanoTime() - t0;
          long total = threads.getTotalThreadAllocatedBytes() - allocBefore;
          long serverBytes = server.allocatedBytes() - serverBefore;
          System.out.printf(
              Locale.ROOT,
              "%s batchSize=%d calls=%d wall=%d ms (latency floor %.0f ms) client alloc=%.0f MB"
                  + " (server %.0f MB, total %.0f MB)%n",
              run < 0 ? "warm-up " : "run " + (run + 1) + "  ",
              batchSize,
              calls,
              wallNanos / 1_000_000,
              floorMs,
              (total - serverBytes) / 1e6,
              serverBytes / 1e6,
              total / 1e6);
        }
      }
    }
  }
}
