package io.ragengine;

import io.ragengine.IngestPipeline.StoredChunk;
import io.ragengine.QueryResult.Source;
import io.ragengine.QueryResult.Timings;
import io.ragengine.ingest.ChunkStage;
import io.ragengine.ingest.ProgressListener;
import io.ragengine.internal.Checks;
import io.ragengine.internal.EmbeddingBatcher;
import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.CallTimeoutException;
import io.ragengine.limiter.Priority;
import io.ragengine.model.ChatModel;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.Message;
import io.ragengine.model.ModelException;
import io.ragengine.store.Storage;
import io.ragengine.store.VectorMatch;
import io.ragengine.store.embedded.EmbeddedStorage;
import io.ragengine.store.embedded.EmbeddedStorageConfig;
import io.ragengine.text.Chunker;
import io.ragengine.text.Tokenizer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embeddable retrieval-augmented generation engine: give it documents, ask it questions.
 *
 * <p>Thread-safe: one engine serves every thread of an application, and should, because it holds
 * the provider budgets. {@link #insert} and {@link #query} block (cheaply, on virtual threads);
 * {@link #insertAsync} and {@link #queryAsync} return futures. Close it to stop its threads and
 * release its working directory.
 *
 * <h2>Concurrency</h2>
 *
 * Two {@link CallLimiter}s hold the budgets: {@code maxAsync} chat calls and {@code
 * embeddingMaxAsync} embedding calls in flight, shared by ingestion and queries, with query calls
 * ahead of ingestion work. Embedding requests from concurrent documents and queries are coalesced
 * into batches of {@code embeddingBatchSize}.
 *
 * <h2>Durability</h2>
 *
 * {@code insert} returns only once every document's final status is durable. Documents are
 * recorded PENDING, durably, before any work; one that is left PENDING or PROCESSING by a crash
 * is resumed when the working directory is next opened ({@link #resumed()}). A document whose
 * processing fails is recorded FAILED with the reason and is tried again by {@link #retryFailed()}.
 *
 * <h2>Status</h2>
 *
 * This version answers in {@link QueryMode#NAIVE} and {@link QueryMode#BYPASS} mode; the
 * knowledge-graph modes arrive with graph extraction.
 */
public final class RagEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RagEngine.class);

  /** Tokens kept free in the answer prompt beyond the instructions, question and context. */
  private static final int PROMPT_MARGIN_TOKENS = 200;

  private static final String ANSWER_INSTRUCTIONS =
      """
      You answer questions from the numbered sources below, which were retrieved from the \
      user's documents. Use only what the sources say. When they do not contain the answer, \
      say that you do not know instead of guessing. Cite the sources you used by their numbers \
      in square brackets, such as [2].

      Sources:
      """;

  /** The sources part of the instructions when none was retrieved (or none fit the budget). */
  private static final String NO_SOURCES = "(none were found)\n";

  /**
   * Storages given with {@link Builder#storage} to engines not yet closed, by identity: a second
   * engine on one of them is refused at build().
   */
  private static final Set<Storage> STORAGES_IN_USE =
      Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

  private final RagEngineConfig config;
  private final Storage storage;
  /** Whether the storage was given with {@link Builder#storage}, and so is in STORAGES_IN_USE. */
  private final boolean givenStorage;
  private final @Nullable ChatModel chatModel;
  private final EmbeddingModel embeddingModel;
  private final Tokenizer tokenizer;
  private final CallLimiter chatLimiter;
  private final CallLimiter embeddingLimiter;
  private final EmbeddingBatcher batcher;
  private final GroupCommitter committer;
  private final IngestPipeline pipeline;
  private final ChunkCache chunks;
  private final ExecutorService asyncThreads = Executors.newVirtualThreadPerTaskExecutor();
  private final CompletableFuture<InsertReport> resumed;
  private final LongAdder embeddingCalls = new LongAdder();
  /** Chat calls run, by why they were made; every kind present. */
  private final Map<ChatCallKind, LongAdder> chatCalls = newChatCallCounters();
  private final int instructionTokens;
  /** Set by the first close(): calls are refused from then on. */
  private final AtomicBoolean closed = new AtomicBoolean();
  /** Completes when the first close() has finished; later ones wait for it. */
  private final CompletableFuture<Void> closeDone = new CompletableFuture<>();

  private RagEngine(
      Builder b,
      RagEngineConfig config,
      Storage storage,
      Tokenizer tokenizer,
      int instructionTokens) {
    this.config = config;
    this.embeddingModel = Objects.requireNonNull(b.embeddingModel, "embeddingModel");
    this.chatModel = b.chatModel;
    this.tokenizer = tokenizer;
    this.instructionTokens = instructionTokens; // counted by build(), which checked the budget
    this.storage = storage;
    this.givenStorage = b.storage != null;
    // What this constructor starts, to stop again if it fails: a failed build() leaves no
    // threads behind, and a caller may retry it in a loop.
    List<AutoCloseable> started = new ArrayList<>();
    started.add(asyncThreads);
    try {
      int modelBatch = embeddingModel.maxBatchSize(); // checked by build()
      ChatModel chat = chatModel;
      List<ModelException> refusals = new CopyOnWriteArrayList<>();
      this.chatLimiter =
          CallLimiter.create(
              limiterConfig("chat", config.maxAsync()),
              chat == null ? null : warmUp(() -> chat.warmup(config.maxAsync()), refusals));
      started.add(chatLimiter);
      EmbeddingModel embedding = embeddingModel;
      this.embeddingLimiter =
          CallLimiter.create(
              limiterConfig("embedding", config.embeddingMaxAsync()),
              warmUp(() -> embedding.warmup(config.embeddingMaxAsync()), refusals));
      started.add(embeddingLimiter);
      int batchSize = Math.min(config.embeddingBatchSize(), modelBatch);
      this.batcher =
          new EmbeddingBatcher(
              embeddingModel,
              embeddingLimiter,
              batchSize,
              config.embeddingMaxWait(),
              EmbeddingBatcher.Delayer.system(),
              (texts, nanos) -> embeddingCalls.increment());
      ThreadFactory committerThread = Thread.ofVirtual().name("ragengine-commit").factory();
      this.committer = new GroupCommitter(storage, committerThread);
      started.add(committer);
      this.chunks =
          new ChunkCache(
              storage.kv(),
              IngestPipeline.CHUNKS,
              config.chunkCacheBytes(),
              IngestPipeline::readChunk);
      this.pipeline =
          new IngestPipeline(
              storage,
              Chunker.create(config.chunker(), tokenizer),
              batcher,
              committer,
              config.maxParallelInsert(),
              b.progressListener,
              Clock.systemUTC(),
              chunks,
              b.chunkStage,
              this::extractionChat);
      started.add(pipeline);
      if (config.eagerInit()) {
        awaitReady(chatLimiter);
        awaitReady(embeddingLimiter);
        if (!refusals.isEmpty()) {
          // A refused key or model is a setting to fix, so the engine should not open with it;
          // a provider that is down (a retryable failure) only got a warning from the limiter.
          ModelException refused = refusals.get(0);
          refusals.stream().skip(1).forEach(refused::addSuppressed);
          throw refused;
        }
        checkStoredDimension();
      }
      // Read the leftovers now, before build() returns and inserts can start: a document inserted
      // later must never be mistaken for one a crash left behind.
      var unfinished = pipeline.unfinished();
      this.resumed = CompletableFuture.supplyAsync(() -> pipeline.resume(unfinished), asyncThreads);
      resumed.whenComplete(
          (report, failure) -> {
            if (failure != null) {
              log.warn("resuming unfinished documents failed", failure);
            }
          });
    } catch (RuntimeException | Error e) {
      closeAll(started.reversed(), e); // newest first
      throw e;
    }
  }

  /**
   * Refuses settings the embedding model cannot serve; called by {@code build()} before anything
   * is opened or started.
   */
  private static void checkEmbeddingModel(EmbeddingModel model, RagEngineConfig config) {
    int modelBatch = model.maxBatchSize();
    if (modelBatch <= 0) {
      throw new IllegalArgumentException(
          "embeddingModel "
              + model.modelName()
              + ": maxBatchSize() "
              + modelBatch
              + " (expected: > 0)");
    }
    int modelTokens = model.maxInputTokens();
    int chunkTokens = config.chunker().chunkSizeTokens();
    if (chunkTokens > modelTokens) {
      // The model would cut (or refuse) every full chunk: the rest of its text would be stored
      // and sent to the chat model, but never found by a search.
      throw new IllegalArgumentException(
          "chunkSizeTokens: "
              + chunkTokens
              + " (expected: <= the "
              + modelTokens
              + " tokens embeddingModel "
              + model.modelName()
              + " reads; the rest of each chunk would never be embedded. Set chunkSizeTokens"
              + " lower, with a margin, as the model counts tokens its own way)");
    }
  }

  /**
   * With {@code eagerInit}: refuses an embedding model whose {@code dimension()} differs from the
   * stored chunk vectors', which would fail every insert and query. Only then, since a model may
   * learn its dimension from an embedding call; that call goes through the embedding limiter, so
   * {@code callTimeout} bounds it, and one that fails for now (the provider down, a timeout) is
   * let through with a warning, as a warm-up is.
   */
  private void checkStoredDimension() {
    if (storage.vectors().dimension(IngestPipeline.CHUNKS).isEmpty()) {
      return;
    }
    EmbeddingModel model = embeddingModel;
    int dimension;
    try {
      dimension =
          callLimited(embeddingLimiter, Priority.QUERY, model::dimension, "the model's dimension");
    } catch (ModelException e) {
      if (!e.retryable()) {
        throw e;
      }
      log.warn(
          "embeddingModel {}: dimension() failed for now: {}", model.modelName(), e.toString());
      return;
    } catch (CallTimeoutException e) {
      log.warn("embeddingModel {}: dimension() {}", model.modelName(), e.getMessage());
      return;
    }
    IngestPipeline.checkDimension(storage, model.modelName(), dimension);
  }

  /**
   * The tokens of a question {@code params} leave room for: {@code maxTotalTokens} less the
   * answer instructions (not in BYPASS mode) and the margin. Throws, naming {@code option}, if
   * that leaves none.
   */
  private static int questionRoom(QueryParams params, int instructionTokens, String option) {
    int fixed =
        PROMPT_MARGIN_TOKENS + (params.mode() == QueryMode.BYPASS ? 0 : instructionTokens);
    int room = params.maxTotalTokens() - fixed;
    if (room < 1) {
      throw new IllegalArgumentException(
          option
              + ": "
              + params.maxTotalTokens()
              + " (expected: more than "
              + fixed
              + " in "
              + params.mode()
              + " mode: "
              + (params.mode() == QueryMode.BYPASS
                  ? ""
                  : "the answer instructions take " + instructionTokens + " tokens and ")
              + PROMPT_MARGIN_TOKENS
              + " are kept as a margin, which would leave no room for a question)");
    }
    return room;
  }

  /**
   * Closes each of {@code steps} in order, even after one failed: returns {@code failure} with
   * their failures added as suppressed, or, if it was null, their first failure.
   */
  private static @Nullable Throwable closeAll(
      List<AutoCloseable> steps, @Nullable Throwable failure) {
    for (AutoCloseable step : steps) {
      try {
        step.close();
      } catch (Exception | Error e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    return failure;
  }

  private CallLimiterConfig limiterConfig(String name, int maxAsync) {
    return CallLimiterConfig.builder()
        .name(name)
        .maxAsync(maxAsync)
        // The pipeline bounds the work; never refuse acknowledged work.
        .maxQueued(Integer.MAX_VALUE)
        .callTimeout(config.callTimeout())
        .drainTimeout(config.drainTimeout())
        .eagerInit(config.eagerInit())
        .build();
  }

  /** A limiter's warm-up call; a failure for good (not retryable) joins {@code refusals}. */
  private static Callable<Object> warmUp(Runnable warmup, List<ModelException> refusals) {
    return () -> {
      try {
        warmup.run();
      } catch (ModelException e) {
        if (!e.retryable()) {
          refusals.add(e);
        }
        throw e;
      }
      return true;
    };
  }

  private void awaitReady(CallLimiter limiter) {
    try {
      limiter.awaitReady(
          config.callTimeout().isZero() ? Duration.ofMinutes(5) : config.callTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** This engine's settings. */
  public RagEngineConfig config() {
    return config;
  }

  // --- ingest ----------------------------------------------------------------------------------

  /**
   * Ingests {@code documents}: chunks them, embeds the chunks and stores everything, so that
   * queries find them. Returns when every document is durably PROCESSED or FAILED (or a duplicate,
   * which is reported and not processed again). A document whose processing fails does not stop
   * the others; its reason is in the report and in the store.
   *
   * @return what happened to each document, in the order given
   * @throws IllegalStateException if this engine is closed
   * @throws NullPointerException if {@code documents} or one of them is null (the message gives
   *     its index)
   * @throws io.ragengine.store.StoreException if the documents could not be recorded at all; then
   *     none of them was accepted
   */
  public InsertReport insert(List<Document> documents) {
    checkOpen();
    return pipeline.insert(documents);
  }

  /** {@link #insert(List)} for one document. */
  public InsertReport insert(Document document) {
    return insert(List.of(Objects.requireNonNull(document, "document")));
  }

  /**
   * {@link #insert(List)} on a virtual thread. Argument errors throw here; everything else fails
   * the future. Cancelling the future does not stop the ingest, which goes on to the end;
   * {@link #close()} stops it, and the next open resumes what it left.
   *
   * @throws IllegalStateException if this engine is closed
   * @throws NullPointerException if {@code documents} or one of them is null (the message gives
   *     its index)
   */
  public CompletableFuture<InsertReport> insertAsync(List<Document> documents) {
    checkOpen();
    List<Document> copy = List.copyOf(IngestPipeline.checkDocuments(documents));
    return async(() -> pipeline.insert(copy));
  }

  /** {@link #insertAsync(List)} for one document. */
  public CompletableFuture<InsertReport> insertAsync(Document document) {
    return insertAsync(List.of(Objects.requireNonNull(document, "document")));
  }

  /**
   * Processes every FAILED document again, and any this engine reported FAILED whose status the
   * store refused to record (still unfinished there), and returns what happened.
   *
   * @throws IllegalStateException if this engine is closed
   */
  public InsertReport retryFailed() {
    checkOpen();
    return pipeline.retryFailed();
  }

  /**
   * The report of the documents this engine resumed when it opened: those a previous run left
   * PENDING or PROCESSING. Completes with an empty report when there were none.
   */
  public CompletableFuture<InsertReport> resumed() {
    return resumed.copy();
  }

  /**
   * Returns the stored document with this id (its text, source path and metadata), whatever its
   * status, or empty if there is none. Its {@code id} is {@code docId} if that was given at insert,
   * and null if it was derived from the content (so {@link Document#explicitId()} holds).
   *
   * @throws IllegalStateException if this engine is closed
   */
  public Optional<Document> document(String docId) {
    checkOpen();
    return pipeline.document(Checks.notBlank(docId, "docId"));
  }

  // --- query -----------------------------------------------------------------------------------

  /** {@link #query(String, QueryParams)} with the configured {@code queryDefaults}. */
  public QueryResult query(String question) {
    return query(question, config.queryDefaults());
  }

  /**
   * Answers {@code question} from the ingested documents.
   *
   * <p>NAIVE mode: the question is embedded (at query priority, ahead of ingestion), the {@code
   * topK} nearest chunks are retrieved, as many as fit the token budget become the numbered
   * context, and the chat model answers from it. With {@code onlyContext} the chat model is not
   * called. BYPASS mode sends the question to the chat model with no retrieval.
   *
   * @throws IllegalArgumentException if {@code question} is blank, holds an unpaired surrogate, or
   *     has more tokens than {@code maxTotalTokens} leaves for it (checked before any model call)
   * @throws IllegalStateException if this engine is closed, an answer is wanted and no chat model
   *     was configured, or the stored chunks were embedded by a model of another dimension
   * @throws io.ragengine.model.ModelException if a model call failed after its retries
   * @throws io.ragengine.limiter.CallTimeoutException if a model call timed out
   */
  public QueryResult query(String question, QueryParams params) {
    return run(question, params, null, checkQuery(question, params));
  }

  /**
   * {@link #query(String, QueryParams)}, delivering the answer's tokens to {@code listener} as the
   * chat model produces them; the returned result holds the whole answer.
   *
   * <p>The listener hears {@link ChatStreamListener#onToken} zero or more times and then exactly
   * one of {@code onComplete} or {@code onError}, in order and one at a time. The answer's events
   * come from the chat-limiter worker that makes the call, not the calling thread (thread-locals
   * such as a logging MDC are not carried over). If the query fails around the model's stream
   * (the question's embedding fails, the call times out, is cancelled or is refused, the engine
   * closes, the chat model fails with something other than a {@link ModelException}), {@code
   * onError} gets that failure, as a {@code ModelException} with it as the cause unless it is one,
   * and this method throws the failure itself without waiting for the listener: {@code onError}
   * then runs on the calling thread, or on the worker as soon as the listener method it is in
   * returns. Events after the end (a model's own {@code onError} after a timeout) are dropped.
   * Argument errors throw at once, and {@code onlyContext} queries never call the listener.
   */
  public QueryResult queryStream(String question, QueryParams params, ChatStreamListener listener) {
    Objects.requireNonNull(listener, "listener");
    int questionTokens = checkQuery(question, params);
    if (params.onlyContext()) {
      return run(question, params, null, questionTokens); // no answer, so no stream
    }
    EndingListener ending = new EndingListener(listener);
    try {
      return run(question, params, ending, questionTokens);
    } catch (RuntimeException | Error e) {
      ending.endIfOpen(e);
      throw e;
    }
  }

  /**
   * A query's stream listener that always ends: passes events on until the first {@code
   * onComplete} or {@code onError}, or until the listener throws, and drops any after that; {@link
   * #endIfOpen} ends the stream with {@code onError} for a query that failed around it.
   *
   * <p>Never waits: the listener is called by whichever thread finds it free ({@code busy}). A
   * caller that finds the worker inside the listener leaves its failure {@code pending}, and the
   * worker delivers it as soon as it leaves; a worker event that finds the caller delivering the
   * end is after the end, and dropped. So a slow listener holds up neither the caller past its
   * timeout nor {@code close()} waiting for the worker.
   */
  private static final class EndingListener implements ChatStreamListener {
    private final ChatStreamListener listener;
    /** Set while a thread is calling the listener; the only writer of {@code ended} then. */
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile boolean ended;
    private volatile @Nullable ModelException pending;

    EndingListener(ChatStreamListener listener) {
      this.listener = listener;
    }

    @Override
    public void onToken(String token) {
      deliver(false, () -> listener.onToken(token));
    }

    @Override
    public void onComplete(ChatResponse response) {
      deliver(true, () -> listener.onComplete(response));
    }

    @Override
    public void onError(ModelException error) {
      deliver(true, () -> listener.onError(error));
    }

    void endIfOpen(Throwable failure) {
      if (pending == null) {
        pending =
            failure instanceof ModelException m
                ? m
                : new ModelException(
                    "the answer did not complete: " + IngestPipeline.describe(failure),
                    false,
                    failure);
      }
      deliverPending();
    }

    private void deliver(boolean last, Runnable event) {
      if (!busy.compareAndSet(false, true)) {
        return; // the caller is ending the stream: this event comes after the end
      }
      try {
        if (!ended) {
          if (pending != null) {
            endWithPending();
          } else {
            ended = last;
            try {
              event.run();
            } catch (RuntimeException | Error e) {
              ended = true; // a listener that throws hears nothing more, as ChatStreamListener says
              throw e;
            }
          }
        }
      } finally {
        busy.set(false);
      }
      deliverPending(); // a failure left while this thread was in the listener
    }

    /** Delivers {@code pending} if the stream is open and the listener free; else leaves it. */
    private void deliverPending() {
      while (pending != null && !ended && busy.compareAndSet(false, true)) {
        try {
          if (!ended) {
            endWithPending();
          }
        } finally {
          busy.set(false);
        }
      }
    }

    private void endWithPending() {
      ended = true;
      ModelException error = Objects.requireNonNull(pending);
      try {
        listener.onError(error);
      } catch (RuntimeException | Error e) {
        // The query has failed already; this must not hide why.
        log.warn("queryStream: the listener's onError threw", e);
      }
    }
  }

  /**
   * {@link #query(String, QueryParams)} on a virtual thread. Argument errors, and a missing chat
   * model, throw here; everything else fails the future.
   *
   * <p>Cancelling the future cancels the query, as a {@link Future}'s cancel does and a plain
   * {@link CompletableFuture}'s does not: a query not yet started never runs, and with {@code
   * cancel(true)} a running one is interrupted. Its chat call then leaves the limiter's queue, or
   * is interrupted if it is running (a virtual thread's socket read ends at once, and the slot
   * frees up); an interrupted wait for the question's vector asks for no answer. Dependent futures
   * ({@code thenApply} and the like) are plain ones.
   */
  public CompletableFuture<QueryResult> queryAsync(String question, QueryParams params) {
    int questionTokens = checkQuery(question, params);
    try {
      return QueryFuture.start(asyncThreads, () -> run(question, params, null, questionTokens));
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("engine is closed"); // closed since checkOpen()
    }
  }

  /** {@link #queryAsync(String, QueryParams)} with the configured {@code queryDefaults}. */
  public CompletableFuture<QueryResult> queryAsync(String question) {
    return queryAsync(question, config.queryDefaults());
  }

  /** The future of {@link #queryAsync}: cancelling it cancels the query's task as well. */
  private static final class QueryFuture<T> extends CompletableFuture<T> {
    private volatile @Nullable Future<?> task;
    private volatile boolean interrupt;

    /** Runs {@code work} on {@code threads}; its future's cancel cancels the work's task too. */
    static <T> QueryFuture<T> start(ExecutorService threads, Supplier<T> work) {
      QueryFuture<T> result = new QueryFuture<>();
      Future<?> task =
          threads.submit(
              () -> {
                try {
                  result.complete(work.get());
                } catch (Throwable t) {
                  result.completeExceptionally(t);
                }
              });
      result.task = task;
      if (result.isCancelled()) {
        task.cancel(result.interrupt); // cancelled before the task was known
      }
      return result;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      interrupt = mayInterruptIfRunning; // before the cancel, for running() to read after it
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      Future<?> t = task;
      if (cancelled && t != null) {
        t.cancel(mayInterruptIfRunning);
      }
      return cancelled;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      return new CompletableFuture<>();
    }
  }

  /**
   * Waits for the question's vector; an interrupt stops the wait (the batch, shared with other
   * texts, goes on).
   *
   * @throws RagException if the waiting thread is interrupted; its interrupt flag stays set
   */
  private static float[] awaitVector(CompletableFuture<List<float[]>> vectors) {
    try {
      vectors.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RagException("interrupted while waiting for the question's vector", e);
    } catch (ExecutionException e) {
      // Rethrown below, unwrapped as everywhere else.
    }
    return IngestPipeline.join(vectors).get(0);
  }

  /** Runs {@code work} on a virtual thread of the engine's own. */
  private <T> CompletableFuture<T> async(Supplier<T> work) {
    try {
      return CompletableFuture.supplyAsync(work, asyncThreads);
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("engine is closed"); // closed since checkOpen()
    }
  }

  /**
   * Checks a query at its call site, before any model call: the engine is open, the question is
   * not blank and fits the token budget, and a chat model is there if an answer is wanted.
   *
   * @return the question's tokens
   */
  private int checkQuery(String question, QueryParams params) {
    checkOpen();
    Checks.wellFormed(Checks.notBlankNoEcho(question, "question"), "question");
    Objects.requireNonNull(params, "params");
    if (chatModel == null && !params.onlyContext()) {
      throw new IllegalStateException(
          params.mode() == QueryMode.BYPASS
              ? "no chatModel configured: BYPASS mode only asks the chat model; set one on the"
                  + " builder"
              : "no chatModel configured: set one on the builder, or query with"
                  + " onlyContext(true)");
    }
    return checkQuestionFits(question, params);
  }

  /** Runs a query {@link #checkQuery} let through. */
  private QueryResult run(
      String question,
      QueryParams params,
      @Nullable ChatStreamListener listener,
      int questionTokens) {
    checkOpen(); // again: an async query may start after close()
    ChatModel chat = chatModel;
    long start = System.nanoTime();
    if (params.mode() == QueryMode.BYPASS) {
      if (params.onlyContext()) {
        return new QueryResult(
            Optional.empty(),
            "",
            List.of(),
            new Timings(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO));
      }
      return answer(Objects.requireNonNull(chat), question, null, List.of(), listener, start,
          start, start);
    }
    float[] vector = awaitVector(batcher.embed(List.of(question), Priority.QUERY));
    IngestPipeline.checkDimension(storage, embeddingModel.modelName(), vector.length);
    long embedded = System.nanoTime();

    List<VectorMatch> matches =
        storage
            .vectors()
            .query(IngestPipeline.CHUNKS, vector, params.topK(), (float) params.minScore(), null);
    List<String> ids = new ArrayList<>(matches.size());
    for (VectorMatch m : matches) {
      ids.add(m.id());
    }
    Map<String, StoredChunk> found = chunks.getAll(ids);
    int budget =
        params.maxTotalTokens()
            - instructionTokens
            - questionTokens
            - PROMPT_MARGIN_TOKENS;
    List<Source> sources = new ArrayList<>();
    // The pieces, joined once: String.join sizes one array and fills it, where a StringBuilder's
    // toString() would copy the ~100 KB context a second time.
    List<String> pieces = new ArrayList<>(3 * matches.size());
    for (VectorMatch m : matches) {
      StoredChunk chunk = found.get(m.id());
      if (chunk == null) {
        continue; // deleted between the search and the lookup
      }
      int cost = chunk.tokens() + 8; // the number, the brackets and the blank line
      if (cost > budget) {
        break;
      }
      budget -= cost;
      pieces.add("[" + (sources.size() + 1) + "] ");
      pieces.add(chunk.content());
      pieces.add("\n\n");
      sources.add(new Source(m.id(), chunk.docId(), m.score(), chunk.content()));
    }
    String context = String.join("", pieces);
    long retrieved = System.nanoTime();
    if (params.onlyContext()) {
      return new QueryResult(
          Optional.empty(),
          context,
          sources,
          new Timings(
              Duration.ofNanos(embedded - start),
              Duration.ofNanos(retrieved - embedded),
              Duration.ZERO,
              Duration.ofNanos(retrieved - start)));
    }
    return answer(Objects.requireNonNull(chat), question, context, sources, listener, start,
        embedded, retrieved);
  }

  /**
   * Returns the question's tokens, if the question fits {@code maxTotalTokens} with the prompt's
   * other parts (the answer instructions in NAIVE mode, and a margin); checked before any model
   * call, since the provider would refuse the prompt or drop every source to make room.
   */
  private int checkQuestionFits(String question, QueryParams params) {
    int room = questionRoom(params, instructionTokens, "maxTotalTokens");
    int tokens = tokenizer.count(question);
    if (tokens > room) {
      throw new IllegalArgumentException(
          "question: "
              + tokens
              + " tokens (expected: at most "
              + room
              + ", what maxTotalTokens "
              + params.maxTotalTokens()
              + " leaves for it in "
              + params.mode()
              + " mode)");
    }
    return tokens;
  }

  /** Asks the chat model; {@code context} null sends the bare question (BYPASS). */
  private QueryResult answer(
      ChatModel chat,
      String question,
      @Nullable String context,
      List<Source> sources,
      @Nullable ChatStreamListener listener,
      long start,
      long embedded,
      long retrieved) {
    List<Message> messages = new ArrayList<>(2);
    if (context != null) {
      // With no sources the instructions still go: the model says it does not know rather than
      // answer from its own knowledge.
      String sourcesPart = sources.isEmpty() ? NO_SOURCES : context;
      messages.add(Message.system(ANSWER_INSTRUCTIONS + sourcesPart));
    }
    messages.add(Message.user(question));
    ChatRequest request = ChatRequest.of(messages);
    ChatResponse response =
        callChat(
            chat,
            ChatCallKind.ANSWER,
            Priority.QUERY,
            () -> listener == null ? chat.chat(request) : chat.chat(request, listener),
            "the answer");
    long answered = System.nanoTime();
    return new QueryResult(
        Optional.of(response.text()),
        context == null ? "" : context,
        sources,
        new Timings(
            Duration.ofNanos(embedded - start),
            Duration.ofNanos(retrieved - embedded),
            Duration.ofNanos(answered - retrieved),
            Duration.ofNanos(answered - start)));
  }

  /** A {@link ChunkStage}'s chat call. */
  private ChatResponse extractionChat(ChatRequest request) {
    ChatModel chat = chatModel;
    if (chat == null) {
      throw new IllegalStateException(
          "chunkStage made a chat call, but the engine has no chat model (expected:"
              + " RagEngine.Builder.chatModel set)");
    }
    return callChat(
        chat,
        ChatCallKind.CHUNK_STAGE,
        Priority.EXTRACTION,
        () -> chat.chat(request),
        "a chat call");
  }

  /**
   * Runs {@code call} through the chat limiter, counting each run under {@code kind}, and unwraps
   * what it throws.
   */
  private ChatResponse callChat(
      ChatModel chat,
      ChatCallKind kind,
      int priority,
      Callable<ChatResponse> call,
      String awaited) {
    LongAdder calls = Objects.requireNonNull(chatCalls.get(kind));
    ChatResponse response =
        callLimited(
            chatLimiter,
            priority,
            () -> {
              calls.increment();
              return call.call();
            },
            awaited);
    if (response == null) {
      throw new ModelException("chat model " + chat.modelName() + " returned null", false, null);
    }
    return response;
  }

  /**
   * Runs {@code call} through {@code limiter} and returns what it returns: its unchecked
   * exceptions as they are, an interrupt (status kept) and checked ones as {@link RagException}.
   */
  private static <T> T callLimited(
      CallLimiter limiter, int priority, Callable<T> call, String awaited) {
    try {
      return limiter.call(priority, call);
    } catch (RuntimeException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RagException("interrupted while waiting for " + awaited, e);
    } catch (Exception e) {
      throw new RagException(IngestPipeline.describe(e), e);
    }
  }

  // --- stats and lifecycle -----------------------------------------------------------------------

  /**
   * A snapshot of the limiters, the documents and the pipeline.
   *
   * @throws IllegalStateException if this engine is closed (the document counts live in its
   *     storage, closed with it)
   */
  public EngineStats stats() {
    checkOpen();
    return new EngineStats(
        chatLimiter.stats(),
        embeddingLimiter.stats(),
        storage.docStatus().counts(),
        storage.vectors().size(IngestPipeline.CHUNKS),
        pipeline.inFlight(),
        pipeline.processedCount(),
        pipeline.failedCount(),
        pipeline.chunksEmbedded(),
        embeddingCalls.sum(),
        chatCallCounts(),
        committer.commits(),
        chunks.hits(),
        chunks.misses());
  }

  private static Map<ChatCallKind, LongAdder> newChatCallCounters() {
    Map<ChatCallKind, LongAdder> counters = new EnumMap<>(ChatCallKind.class);
    for (ChatCallKind kind : ChatCallKind.values()) {
      counters.put(kind, new LongAdder());
    }
    return counters;
  }

  private Map<ChatCallKind, Long> chatCallCounts() {
    Map<ChatCallKind, Long> counts = new EnumMap<>(ChatCallKind.class);
    for (ChatCallKind kind : ChatCallKind.values()) {
      counts.put(kind, Objects.requireNonNull(chatCalls.get(kind)).sum());
    }
    return counts;
  }

  /**
   * Closes the engine: new calls are refused, documents in flight stop at their next step (they
   * stay PENDING and resume on the next open), queued model calls fail, running ones get {@code
   * drainTimeout} to finish and are interrupted then (the chat limiter's, then the embedding
   * limiter's: up to twice {@code drainTimeout} in all), pending commits are written, and the
   * storage closes. If a step fails, the later ones still run, and the first failure is thrown.
   * The models are not closed: they are the caller's, and may serve other engines. Idempotent: a
   * call while another closes the engine returns once that one has finished.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      closeDone.join();
      return;
    }
    // Every step runs, even after one failed: a limiter that failed to close must not leave
    // pending commits unwritten or the storage open. The limiters are closed on this thread, one
    // after the other: a limiter knows when close() comes from inside one of its own calls (a
    // stream listener, say) and does not wait for that call then, and an interrupt of this thread
    // cuts its drain short.
    Throwable failure = null;
    try {
      failure =
          closeAll(
              List.of(
                  pipeline::beginClose,
                  chatLimiter,
                  embeddingLimiter,
                  pipeline,
                  asyncThreads,
                  committer,
                  storage),
              null);
    } finally {
      if (givenStorage) {
        STORAGES_IN_USE.remove(storage); // its close() has run, whatever it threw
      }
      closeDone.complete(null);
    }
    if (failure instanceof RuntimeException re) {
      throw re;
    }
    if (failure instanceof Error err) {
      throw err;
    }
    if (failure != null) {
      throw new IllegalStateException("closing the engine failed", failure); // none is checked
    }
  }

  /** Whether close() has told the pipeline to stop, for tests in this package. */
  boolean pipelineClosing() {
    return pipeline.isClosing();
  }

  /** The engine's pipeline, for tests in this package. */
  IngestPipeline pipeline() {
    return pipeline;
  }

  /** The engine's committer, for tests in this package. */
  GroupCommitter committer() {
    return committer;
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("engine is closed");
    }
  }

  @Override
  public String toString() {
    return "RagEngine{"
        + config
        + ", chatModel="
        + (chatModel == null ? "none" : chatModel.modelName())
        + ", embeddingModel=" + embeddingModel.modelName() + "}";
  }

  /**
   * Builds a {@link RagEngine}. Not thread-safe. Required: an embedding model, and a working
   * directory or a storage. A chat model is needed for answers, not for retrieval.
   */
  public static final class Builder {
    private RagEngineConfig.Builder config = RagEngineConfig.builder();
    private @Nullable Storage storage;
    private @Nullable ChatModel chatModel;
    private @Nullable EmbeddingModel embeddingModel;
    private @Nullable Tokenizer tokenizer;
    private ProgressListener progressListener = ProgressListener.NONE;
    private @Nullable ChunkStage chunkStage;

    private Builder() {}

    /** Where the embedded storage lives; created if missing, locked while the engine is open. */
    public Builder workingDir(Path workingDir) {
      config.workingDir(workingDir);
      return this;
    }

    /**
     * A storage to use instead of the embedded one. The engine closes it when it is closed; if
     * {@link #build()} fails, the storage is left open, still the caller's. Each engine needs its
     * own: two engines on one storage would resume each other's documents, and the first closed
     * would close it under the other, so {@link #build()} refuses a storage that an engine not
     * yet closed uses.
     */
    public Builder storage(Storage storage) {
      this.storage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /** The model that answers; optional for retrieval-only use. */
    public Builder chatModel(ChatModel chatModel) {
      this.chatModel = Objects.requireNonNull(chatModel, "chatModel");
      return this;
    }

    /** The model that embeds chunks and questions. Required. */
    public Builder embeddingModel(EmbeddingModel embeddingModel) {
      this.embeddingModel = Objects.requireNonNull(embeddingModel, "embeddingModel");
      return this;
    }

    /** Counts tokens for chunking and budgets. Default {@link Tokenizer#cl100k()}. */
    public Builder tokenizer(Tokenizer tokenizer) {
      this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
      return this;
    }

    /** Told of each step of each ingested document. Default: none. */
    public Builder progressListener(ProgressListener progressListener) {
      this.progressListener = Objects.requireNonNull(progressListener, "progressListener");
      return this;
    }

    /**
     * Work to do on each chunk between chunking and embedding, such as LLM extraction; its chat
     * calls share the chat limiter at EXTRACTION priority, and what it returns is committed with
     * the chunk's document. Default: none. See {@link ChunkStage}.
     */
    public Builder chunkStage(ChunkStage chunkStage) {
      this.chunkStage = Objects.requireNonNull(chunkStage, "chunkStage");
      return this;
    }

    /** Every scalar setting at once, the working directory included; replaces those set before. */
    public Builder config(RagEngineConfig config) {
      this.config = Objects.requireNonNull(config, "config").toBuilder();
      return this;
    }

    /** See {@link RagEngineConfig#maxAsync()}. */
    public Builder maxAsync(int maxAsync) {
      config.maxAsync(maxAsync);
      return this;
    }

    /** See {@link RagEngineConfig#embeddingMaxAsync()}. */
    public Builder embeddingMaxAsync(int embeddingMaxAsync) {
      config.embeddingMaxAsync(embeddingMaxAsync);
      return this;
    }

    /** See {@link RagEngineConfig#maxParallelInsert()}. */
    public Builder maxParallelInsert(int maxParallelInsert) {
      config.maxParallelInsert(maxParallelInsert);
      return this;
    }

    /** See {@link RagEngineConfig.Builder#chunkSizeTokens(int)}. */
    public Builder chunkSizeTokens(int chunkSizeTokens) {
      config.chunkSizeTokens(chunkSizeTokens);
      return this;
    }

    /** See {@link RagEngineConfig.Builder#chunkOverlapTokens(int)}. */
    public Builder chunkOverlapTokens(int chunkOverlapTokens) {
      config.chunkOverlapTokens(chunkOverlapTokens);
      return this;
    }

    /** See {@link RagEngineConfig.Builder#splitCharacter(String)}. */
    public Builder splitCharacter(String splitCharacter) {
      config.splitCharacter(splitCharacter);
      return this;
    }

    /** See {@link RagEngineConfig#embeddingBatchSize()}. */
    public Builder embeddingBatchSize(int embeddingBatchSize) {
      config.embeddingBatchSize(embeddingBatchSize);
      return this;
    }

    /** See {@link RagEngineConfig#embeddingMaxWait()}. */
    public Builder embeddingMaxWait(Duration embeddingMaxWait) {
      config.embeddingMaxWait(embeddingMaxWait);
      return this;
    }

    /** See {@link RagEngineConfig#callTimeout()}. */
    public Builder callTimeout(Duration callTimeout) {
      config.callTimeout(callTimeout);
      return this;
    }

    /** See {@link RagEngineConfig#drainTimeout()}. */
    public Builder drainTimeout(Duration drainTimeout) {
      config.drainTimeout(drainTimeout);
      return this;
    }

    /** See {@link RagEngineConfig#eagerInit()}. */
    public Builder eagerInit(boolean eagerInit) {
      config.eagerInit(eagerInit);
      return this;
    }

    /** See {@link RagEngineConfig#queryDefaults()}. */
    public Builder queryDefaults(QueryParams queryDefaults) {
      config.queryDefaults(queryDefaults);
      return this;
    }

    /** See {@link RagEngineConfig.Builder#chunkCacheBytes(long)}. */
    public Builder chunkCacheBytes(long chunkCacheBytes) {
      config.chunkCacheBytes(chunkCacheBytes);
      return this;
    }

    /**
     * Opens the storage and starts the engine; with {@code eagerInit}, also starts the limiters'
     * workers and warms the models' connections before returning. Documents a previous run left
     * unfinished start resuming in the background ({@link RagEngine#resumed()}).
     *
     * @throws IllegalStateException if no embedding model, or neither a working directory nor a
     *     storage, was given, or the storage given is used by an engine that is not closed; with
     *     {@code eagerInit}, also if the embedding model's {@code dimension()} differs from the
     *     stored chunk vectors' (without it, that shows at the first insert or query)
     * @throws IllegalArgumentException if {@code chunkSizeTokens} is more than the embedding
     *     model's {@code maxInputTokens()}, the model's {@code maxBatchSize()} is not positive, or
     *     the {@code queryDefaults}' {@code maxTotalTokens} leaves no room for a question; nothing
     *     is created or started then
     * @throws io.ragengine.model.ModelException with {@code eagerInit}, if a model's warm-up was
     *     refused for good (not {@code retryable()}: with the OpenAI models, a refused key); a
     *     warm-up that failed for now is only logged
     * @throws io.ragengine.store.StoreException if the working directory cannot be opened: held by
     *     another engine, corrupt, or from a newer version; or if the storage fails listing the
     *     documents to resume. A failed build stops every thread it started and releases the
     *     working directory, so it can be retried.
     */
    public RagEngine build() {
      if (embeddingModel == null) {
        throw new IllegalStateException("embeddingModel: not set (expected: an EmbeddingModel)");
      }
      RagEngineConfig c = config.build();
      Tokenizer t = tokenizer != null ? tokenizer : Tokenizer.cl100k();
      // Before anything is opened: a refused setting leaves no working directory behind.
      checkEmbeddingModel(embeddingModel, c);
      int instructionTokens = t.count(ANSWER_INSTRUCTIONS);
      questionRoom(c.queryDefaults(), instructionTokens, "queryDefaults.maxTotalTokens");
      Storage s = storage;
      boolean opened = false;
      if (s != null && !STORAGES_IN_USE.add(s)) {
        throw new IllegalStateException(
            "storage: "
                + s
                + " is already used by an engine that is not closed (expected: a storage for each"
                + " engine; two would resume each other's documents, and the first closed would"
                + " close it under the other)");
      }
      if (s == null) {
        Path dir = c.workingDir();
        if (dir == null) {
          throw new IllegalStateException(
              "workingDir: not set (expected: a directory for the embedded storage, or"
                  + " storage(..))");
        }
        s = EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(dir).build());
        opened = true;
      }
      try {
        return new RagEngine(this, c, s, t, instructionTokens);
      } catch (RuntimeException | Error e) {
        if (opened) {
          s.close(); // release the working directory's lock: the caller may try again
        } else {
          STORAGES_IN_USE.remove(s); // still the caller's, free for another try
        }
        throw e;
      }
    }
  }
}
