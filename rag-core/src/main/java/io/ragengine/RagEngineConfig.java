package io.ragengine;

import io.ragengine.internal.Checks;
import io.ragengine.text.ChunkerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The settings of a {@link RagEngine}, apart from its models and storage. Immutable; build with
 * {@link #builder()} or through {@link RagEngine#builder()}.
 *
 * @param workingDir where the embedded storage lives; null when a custom storage is given
 * @param maxAsync chat calls in flight at once, ingestion and queries together
 * @param embeddingMaxAsync embedding calls in flight at once
 * @param maxParallelInsert documents chunked and run through the chunk stage (if set) at once; a
 *     document leaves this bound when its chunks are queued for embedding, where the embedding
 *     budget sets the pace (at most {@code 2 x embeddingBatchSize x embeddingMaxAsync} texts wait
 *     for vectors). Bounds memory, not speed
 * @param chunker how documents are cut into chunks
 * @param embeddingBatchSize the most texts in one embedding call
 * @param embeddingMaxWait how long a partial batch of document texts waits for more
 * @param callTimeout the limit on one model call, both limiters
 * @param drainTimeout how long {@link RagEngine#close()} lets each limiter's running model calls
 *     finish before it interrupts them (the documents they were for stay PENDING and resume on the
 *     next open)
 * @param eagerInit start the limiters and warm the models' connections in {@code build()}
 * @param queryDefaults the parameters of {@link RagEngine#query(String)}
 * @param chunkCacheBytes the most heap, in estimated bytes, that parsed chunks kept for queries
 *     may take; 0 turns the cache off
 */
public record RagEngineConfig(
    @Nullable Path workingDir,
    int maxAsync,
    int embeddingMaxAsync,
    int maxParallelInsert,
    ChunkerConfig chunker,
    int embeddingBatchSize,
    Duration embeddingMaxWait,
    Duration callTimeout,
    Duration drainTimeout,
    boolean eagerInit,
    QueryParams queryDefaults,
    long chunkCacheBytes) {

  /** Default chat calls in flight, {@value}. */
  public static final int DEFAULT_MAX_ASYNC = 8;

  /** Default embedding calls in flight, {@value}, as LightRAG's. */
  public static final int DEFAULT_EMBEDDING_MAX_ASYNC = 8;

  /**
   * Default documents in flight, {@value}. Higher than LightRAG's 2-3 on purpose: documents in
   * flight only cost their text and chunks in memory, and the chunks of all of them feed the same
   * limiters, so enough must be in flight to fill {@code embeddingMaxAsync x embeddingBatchSize}
   * texts of batches.
   */
  public static final int DEFAULT_MAX_PARALLEL_INSERT = 64;

  /** Default texts per embedding call, {@value} (LightRAG's example configuration). */
  public static final int DEFAULT_EMBEDDING_BATCH_SIZE = 32;

  /** Default wait for a partial embedding batch, 10 ms. Query texts never wait. */
  public static final Duration DEFAULT_EMBEDDING_MAX_WAIT = Duration.ofMillis(10);

  /**
   * Default bound of the chunk cache, 64 MiB: the text of about 12,000 chunks of 1,200 English
   * tokens. Queries read their chunks from it rather than from the store.
   */
  public static final long DEFAULT_CHUNK_CACHE_BYTES = 64L << 20;

  /** Default limit on one model call, 3 minutes (see the limiter's {@code callTimeout}). */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofMinutes(3);

  /**
   * Default time {@code close()} lets running model calls finish, 30 seconds, as the limiter's
   * {@link io.ragengine.limiter.CallLimiterConfig#DEFAULT_DRAIN_TIMEOUT}.
   */
  public static final Duration DEFAULT_DRAIN_TIMEOUT =
      io.ragengine.limiter.CallLimiterConfig.DEFAULT_DRAIN_TIMEOUT;

  /**
   * @throws IllegalArgumentException if a value is out of range; the message names it
   */
  public RagEngineConfig {
    Checks.inRange(maxAsync, 1, 4096, "maxAsync");
    Checks.inRange(embeddingMaxAsync, 1, 4096, "embeddingMaxAsync");
    Checks.positive(maxParallelInsert, "maxParallelInsert");
    Objects.requireNonNull(chunker, "chunker");
    Checks.positive(embeddingBatchSize, "embeddingBatchSize");
    Checks.wait(embeddingMaxWait, "embeddingMaxWait");
    Checks.wait(callTimeout, "callTimeout");
    Checks.wait(drainTimeout, "drainTimeout");
    Objects.requireNonNull(queryDefaults, "queryDefaults");
    Checks.positiveOrZero(chunkCacheBytes, "chunkCacheBytes");
  }

  /** A builder at the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.workingDir = workingDir;
    return b.maxAsync(maxAsync)
        .embeddingMaxAsync(embeddingMaxAsync)
        .maxParallelInsert(maxParallelInsert)
        .chunker(chunker)
        .embeddingBatchSize(embeddingBatchSize)
        .embeddingMaxWait(embeddingMaxWait)
        .callTimeout(callTimeout)
        .drainTimeout(drainTimeout)
        .eagerInit(eagerInit)
        .queryDefaults(queryDefaults)
        .chunkCacheBytes(chunkCacheBytes);
  }

  /** The working directory, if the engine uses the embedded storage. */
  public Optional<Path> workingDirectory() {
    return Optional.ofNullable(workingDir);
  }

  /**
   * Builds a {@link RagEngineConfig}; each setter checks its value at once. Not thread-safe;
   * {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private @Nullable Path workingDir;
    private int maxAsync = DEFAULT_MAX_ASYNC;
    private int embeddingMaxAsync = DEFAULT_EMBEDDING_MAX_ASYNC;
    private int maxParallelInsert = DEFAULT_MAX_PARALLEL_INSERT;
    private ChunkerConfig.Builder chunker = ChunkerConfig.builder();
    private int embeddingBatchSize = DEFAULT_EMBEDDING_BATCH_SIZE;
    private Duration embeddingMaxWait = DEFAULT_EMBEDDING_MAX_WAIT;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private boolean eagerInit;
    private QueryParams queryDefaults = QueryParams.defaults();
    private long chunkCacheBytes = DEFAULT_CHUNK_CACHE_BYTES;

    private Builder() {}

    /**
     * Where the embedded storage lives (created if missing); kept as an absolute path, so that
     * messages name it unambiguously ({@code Path.of("")} is the current directory). Not
     * normalised: with a symbolic link in it, {@code a/../b} is not {@code b}.
     */
    public Builder workingDir(Path workingDir) {
      this.workingDir =
          Objects.requireNonNull(workingDir, "workingDir").toAbsolutePath();
      return this;
    }

    /** Chat calls in flight, all callers together. Default {@value #DEFAULT_MAX_ASYNC}. */
    public Builder maxAsync(int maxAsync) {
      this.maxAsync = Checks.inRange(maxAsync, 1, 4096, "maxAsync");
      return this;
    }

    /** Embedding calls in flight. Default {@value #DEFAULT_EMBEDDING_MAX_ASYNC}. */
    public Builder embeddingMaxAsync(int embeddingMaxAsync) {
      this.embeddingMaxAsync = Checks.inRange(embeddingMaxAsync, 1, 4096, "embeddingMaxAsync");
      return this;
    }

    /**
     * Documents chunked and run through the chunk stage (if set) at once; a document leaves this
     * bound when its chunks are queued for embedding. Default {@value
     * #DEFAULT_MAX_PARALLEL_INSERT}.
     */
    public Builder maxParallelInsert(int maxParallelInsert) {
      this.maxParallelInsert = Checks.positive(maxParallelInsert, "maxParallelInsert");
      return this;
    }

    /** All chunking options at once. Default {@link ChunkerConfig#ofDefaults()}. */
    public Builder chunker(ChunkerConfig chunker) {
      this.chunker = Objects.requireNonNull(chunker, "chunker").toBuilder();
      return this;
    }

    /** Tokens per chunk. Default {@value ChunkerConfig#DEFAULT_CHUNK_SIZE_TOKENS}. */
    public Builder chunkSizeTokens(int chunkSizeTokens) {
      chunker.chunkSizeTokens(chunkSizeTokens);
      return this;
    }

    /** Tokens shared by consecutive chunks. Default {@value ChunkerConfig#DEFAULT_CHUNK_OVERLAP_TOKENS}. */
    public Builder chunkOverlapTokens(int chunkOverlapTokens) {
      chunker.chunkOverlapTokens(chunkOverlapTokens);
      return this;
    }

    /** Split documents on this string before cutting token windows. Default: none. */
    public Builder splitCharacter(String splitCharacter) {
      chunker.splitCharacter(splitCharacter);
      return this;
    }

    /** Texts per embedding call. Default {@value #DEFAULT_EMBEDDING_BATCH_SIZE}. */
    public Builder embeddingBatchSize(int embeddingBatchSize) {
      this.embeddingBatchSize = Checks.positive(embeddingBatchSize, "embeddingBatchSize");
      return this;
    }

    /** Longest wait of a partial batch of document texts. Default 10 ms; zero sends at once. */
    public Builder embeddingMaxWait(Duration embeddingMaxWait) {
      this.embeddingMaxWait = Checks.wait(embeddingMaxWait, "embeddingMaxWait");
      return this;
    }

    /** Limit on one model call; zero means none. Default 3 minutes. */
    public Builder callTimeout(Duration callTimeout) {
      this.callTimeout = Checks.wait(callTimeout, "callTimeout");
      return this;
    }

    /**
     * How long {@link RagEngine#close()} lets each limiter's running model calls finish before it
     * interrupts them; zero interrupts them at once. The chat limiter drains first, then the
     * embedding limiter, so close() may take up to twice this. The documents the calls were for
     * stay PENDING and resume on the next open. Default 30 seconds.
     */
    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = Checks.wait(drainTimeout, "drainTimeout");
      return this;
    }

    /**
     * Start workers and warm the models' connections in {@code build()}: {@link
     * io.ragengine.model.ChatModel#warmup(int)} with {@code maxAsync} and {@link
     * io.ragengine.model.EmbeddingModel#warmup(int)} with {@code embeddingMaxAsync}. A warm-up
     * refused for good (a non-retryable {@link io.ragengine.model.ModelException}; with the OpenAI
     * models, a refused key) fails {@code build()}; one that fails for now (the provider cannot be
     * reached, a 5xx) is logged as a warning, and calls wait for the provider as usual. With
     * chunks stored, the embedding model's {@code dimension()} is checked against theirs too (a
     * mismatch fails {@code build()}). Default false.
     */
    public Builder eagerInit(boolean eagerInit) {
      this.eagerInit = eagerInit;
      return this;
    }

    /** The parameters of {@link RagEngine#query(String)}. Default {@link QueryParams#defaults()}. */
    public Builder queryDefaults(QueryParams queryDefaults) {
      this.queryDefaults = Objects.requireNonNull(queryDefaults, "queryDefaults");
      return this;
    }

    /**
     * The most heap the chunk cache may take, in estimated bytes (a chunk's text costs one byte per
     * character when it is all Latin-1, two otherwise, plus about 100 bytes). Queries read the
     * chunks they found from this cache and go to the store only for the ones it lacks, so a cache
     * that holds the whole corpus saves every query a store read. 0 turns it off. Default {@link
     * #DEFAULT_CHUNK_CACHE_BYTES} (64 MiB).
     */
    public Builder chunkCacheBytes(long chunkCacheBytes) {
      this.chunkCacheBytes = Checks.positiveOrZero(chunkCacheBytes, "chunkCacheBytes");
      return this;
    }

    /**
     * @throws IllegalArgumentException if the chunking options do not fit together
     */
    public RagEngineConfig build() {
      return new RagEngineConfig(
          workingDir,
          maxAsync,
          embeddingMaxAsync,
          maxParallelInsert,
          chunker.build(),
          embeddingBatchSize,
          embeddingMaxWait,
          callTimeout,
          drainTimeout,
          eagerInit,
          queryDefaults,
          chunkCacheBytes);
    }
  }
}
