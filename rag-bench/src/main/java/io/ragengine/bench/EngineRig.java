package io.ragengine.bench;

import io.ragengine.Document;
import io.ragengine.RagEngine;
import io.ragengine.model.ChatModel;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The set-up the engine measurements share: a {@link FakeOpenAiServer}, one {@link OpenAiClient}
 * for both models, the models wrapped so that the time spent inside their calls is counted, and a
 * {@link RagEngine} on the embedded storage in a temporary working directory (deleted on close).
 *
 * <p>Not thread-safe to set up; the engine and the model clocks are thread-safe.
 */
final class EngineRig implements AutoCloseable {
  static final int DIMENSION = 1536;

  final FakeOpenAiServer server;
  final OpenAiClient client;
  final ModelClock embeddingClock = new ModelClock();
  final ModelClock chatClock = new ModelClock();
  final RagEngine engine;
  private final Path dir;

  /**
   * @param configure adds settings to a builder that already has the working directory and both
   *     models
   */
  EngineRig(
      Duration embeddingLatency,
      Duration chatLatency,
      int dimension,
      int connections,
      UnaryOperator<RagEngine.Builder> configure)
      throws IOException {
    this.server =
        FakeOpenAiServer.start(
            embeddingLatency, Duration.ZERO, dimension, chatLatency, connections + 8);
    this.client =
        OpenAiClient.builder()
            .baseUrl(server.baseUrl())
            .apiKey("sk-bench")
            .maxConnections(connections)
            .build();
    EmbeddingModel embeddings =
        OpenAiEmbeddingModel.builder()
            .client(client)
            .model("text-embedding-3-small")
            .dimensions(dimension)
            .build();
    ChatModel chat = OpenAiChatModel.builder().client(client).model("gpt-4o-mini").build();
    this.dir = Files.createTempDirectory("ragengine-bench");
    this.engine =
        configure
            .apply(
                RagEngine.builder()
                    .workingDir(dir)
                    .embeddingModel(new TimedEmbeddingModel(embeddings, embeddingClock))
                    .chatModel(new TimedChatModel(chat, chatClock))
                    .eagerInit(true))
            .build();
  }

  @Override
  public void close() {
    engine.close();
    client.close();
    server.close();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The number of warm-up ingests asked for with {@code --warmups=N} among {@code args}, which
   * this removes from them; {@code defaultWarmups} if none is.
   */
  static int warmups(List<String> args, int defaultWarmups) {
    return intOption(args, "--warmups", defaultWarmups);
  }

  /**
   * The value of {@code name=N} among {@code args} (the last one if repeated), which this removes
   * from them; {@code defaultValue} if none is there.
   */
  static int intOption(List<String> args, String name, int defaultValue) {
    String prefix = name + "=";
    int value = defaultValue;
    for (String arg : args) {
      if (arg.startsWith(prefix)) {
        value = Integer.parseInt(arg.substring(prefix.length()));
      }
    }
    args.removeIf(arg -> arg.startsWith(prefix));
    return value;
  }

  /** The machine and load, for the head of every report. */
  static String machine() {
    double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        .getSystemLoadAverage();
    return String.format(
        java.util.Locale.ROOT,
        "%d cores, %s %s, load average %.2f",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name"),
        System.getProperty("java.version"),
        load);
  }

  /** CPU time of this whole process (engine, clients and fake server), in nanoseconds. */
  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /**
   * CPU time so far of every thread of this process, summed by thread name with its numbering
   * removed ({@code ragengine-chunker-2} counts as {@code ragengine-chunker}), in nanoseconds. Read
   * from Linux's {@code /proc/self/task/<tid>/schedstat} (time on a CPU, in nanoseconds) and
   * {@code comm} (the name, cut to 15 characters), so it also sees the JVM's own threads: JIT
   * compilers ({@code C2 CompilerThre}), GC ({@code GC Thread}, {@code G1 Conc}, {@code G1
   * Refine}). Virtual threads count under their carriers ({@code ForkJoinPool-}): the engine's
   * document threads, the limiter workers and the HTTP client calls they make. Empty where there
   * is no {@code /proc}.
   */
  static Map<String, Long> cpuByThreadGroup() {
    Map<String, Long> out = new TreeMap<>();
    Path tasks = Path.of("/proc/self/task");
    if (!Files.isDirectory(tasks)) {
      return out;
    }
    try (Stream<Path> all = Files.list(tasks)) {
      for (Path task : all.toList()) {
        try {
          String name = Files.readString(task.resolve("comm")).strip();
          String stat = Files.readString(task.resolve("schedstat")).strip();
          long nanos = Long.parseLong(stat.substring(0, stat.indexOf(' ')));
          out.merge(name.replaceAll("[-#\\s]*\\d+$", ""), nanos, Long::sum);
        } catch (IOException | RuntimeException ended) {
          // the thread ended between the listing and the read
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * The CPU each thread group used between two {@link #cpuByThreadGroup()} snapshots, largest
   * first; groups under a millisecond are left out, and threads that ended in between are missed.
   */
  static String cpuBreakdown(Map<String, Long> before, Map<String, Long> after) {
    List<Map.Entry<String, Long>> used = new ArrayList<>();
    long sum = 0;
    for (Map.Entry<String, Long> e : after.entrySet()) {
      long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
      if (d > 0) {
        used.add(Map.entry(e.getKey(), d));
        sum += d;
      }
    }
    used.sort(Map.Entry.<String, Long>comparingByValue().reversed());
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "thread CPU %.0f ms:", sum / 1e6));
    String sep = " ";
    for (Map.Entry<String, Long> e : used) {
      if (e.getValue() >= 1_000_000) {
        sb.append(String.format(Locale.ROOT, "%s%s %.0f", sep, e.getKey(), e.getValue() / 1e6));
        sep = ", ";
      }
    }
    return sb.toString();
  }

  // --- corpus ------------------------------------------------------------------------------------

  private static final String[] WORDS =
      ("time year people way day man thing woman life child world school state family student "
              + "group country problem hand part place case week company system program question "
              + "work government number night point home water room mother area money story fact "
              + "month lot right study book eye job word business issue side kind head house "
              + "service friend father power hour game line end member law car city community "
              + "name president team minute idea kid body information back parent face others "
              + "level office door health person art war history party result change morning "
              + "reason research girl guy moment air teacher force education river valley bridge "
              + "engine storage vector index query answer source chunk token model library paper "
              + "garden volcano database transaction network protocol server client window table")
          .split(" ");

  /**
   * {@code count} distinct documents of about {@code tokens} cl100k tokens each (common words,
   * one token each with its space, and a full stop every twelve words), the same for a seed.
   */
  static List<Document> corpus(int count, int tokens, long seed) {
    Random r = new Random(seed);
    List<Document> docs = new ArrayList<>(count);
    int words = tokens * 12 / 13;
    for (int d = 0; d < count; d++) {
      StringBuilder text = new StringBuilder(words * 7);
      text.append("Document ").append(seed).append('-').append(d).append('.');
      for (int w = 0; w < words; w++) {
        text.append(' ').append(WORDS[r.nextInt(WORDS.length)]);
        if (w % 12 == 11) {
          text.append('.');
        }
      }
      docs.add(Document.of(text.toString()));
    }
    return docs;
  }

  // --- model time ----------------------------------------------------------------------------------

  /**
   * Counts the time spent inside model calls: their sum, and the time during which at least one
   * call was in flight (their union, which is what concurrent calls take out of a wall time). It
   * also keeps every call's interval and thread, for a look at how the calls were spread over the
   * limiter's workers. Thread-safe.
   */
  static final class ModelClock {
    /** One call: the thread that made it (a limiter worker) and when it started and ended. */
    record Call(String thread, long start, long end) {}

    private final ReentrantLock lock = new ReentrantLock();
    private final List<Call> intervals = new ArrayList<>();
    private int inFlight;
    private long busySince;
    private long unionNanos;
    private long sumNanos;
    private long calls;
    private long firstStart = -1;
    private long lastEnd = -1;

    long begin() {
      long now = System.nanoTime();
      lock.lock();
      try {
        if (inFlight++ == 0) {
          busySince = now;
        }
        if (firstStart < 0) {
          firstStart = now;
        }
      } finally {
        lock.unlock();
      }
      return now;
    }

    void end(long start) {
      long now = System.nanoTime();
      lock.lock();
      try {
        sumNanos += now - start;
        calls++;
        intervals.add(new Call(Thread.currentThread().getName(), start, now));
        lastEnd = now;
        if (--inFlight == 0) {
          unionNanos += now - busySince;
        }
      } finally {
        lock.unlock();
      }
    }

    /**
     * What the clock saw since the last reset, read under one lock so the figures agree.
     *
     * @param unionNanos time with at least one call in flight
     * @param sumNanos time inside calls, summed over calls
     * @param calls calls that ended
     * @param firstStart when the first call started; -1 if none did
     * @param lastEnd when the last call ended; -1 if none did
     */
    record Reading(long unionNanos, long sumNanos, long calls, long firstStart, long lastEnd) {}

    Reading read() {
      lock.lock();
      try {
        return new Reading(unionNanos, sumNanos, calls, firstStart, lastEnd);
      } finally {
        lock.unlock();
      }
    }

    /** The calls that ended since the last reset, in the order they ended. */
    List<Call> calls() {
      lock.lock();
      try {
        return List.copyOf(intervals);
      } finally {
        lock.unlock();
      }
    }

    void reset() {
      lock.lock();
      try {
        if (inFlight != 0) {
          throw new IllegalStateException("calls in flight: " + inFlight);
        }
        intervals.clear();
        unionNanos = 0;
        sumNanos = 0;
        calls = 0;
        firstStart = -1;
        lastEnd = -1;
      } finally {
        lock.unlock();
      }
    }
  }

  private record TimedEmbeddingModel(EmbeddingModel delegate, ModelClock clock)
      implements EmbeddingModel {
    @Override
    public List<float[]> embed(List<String> texts) {
      long start = clock.begin();
      try {
        return delegate.embed(texts);
      } finally {
        clock.end(start);
      }
    }

    @Override
    public int dimension() {
      return delegate.dimension();
    }

    @Override
    public int maxInputTokens() {
      return delegate.maxInputTokens();
    }

    @Override
    public int maxBatchSize() {
      return delegate.maxBatchSize();
    }

    @Override
    public String modelName() {
      return delegate.modelName();
    }

    @Override
    public void warmup() {
      delegate.warmup();
    }

    @Override
    public void warmup(int connections) {
      delegate.warmup(connections);
    }
  }

  private record TimedChatModel(ChatModel delegate, ModelClock clock) implements ChatModel {
    @Override
    public ChatResponse chat(ChatRequest request) {
      long start = clock.begin();
      try {
        return delegate.chat(request);
      } finally {
        clock.end(start);
      }
    }

    @Override
    public ChatResponse chat(ChatRequest request, ChatStreamListener listener) {
      long start = clock.begin();
      try {
        return delegate.chat(request, listener);
      } finally {
        clock.end(start);
      }
    }

    @Override
    public String modelName() {
      return delegate.modelName();
    }

    @Override
    public void warmup() {
      delegate.warmup();
    }

    @Override
    public void warmup(int connections) {
      delegate.warmup(connections);
    }
  }

  /** The {@code q} quantile (0 to 1) of {@code nanos}, which this sorts, in milliseconds. */
  static double percentileMs(long[] nanos, double q) {
    Arrays.sort(nanos);
    int i = (int) Math.ceil(q * nanos.length) - 1;
    return nanos[Math.max(0, Math.min(nanos.length - 1, i))] / 1e6;
  }
}
