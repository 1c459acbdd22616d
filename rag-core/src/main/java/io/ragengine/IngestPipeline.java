package io.ragengine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ragengine.InsertReport.DocumentReport;
import io.ragengine.InsertReport.Outcome;
import io.ragengine.ingest.ChunkStage;
import io.ragengine.ingest.IngestProgress;
import io.ragengine.ingest.ProgressListener;
import io.ragengine.internal.Checks;
import io.ragengine.internal.EmbeddingBatcher;
import io.ragengine.limiter.Priority;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ModelException;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.Storage;
import io.ragengine.store.StoreException;
import io.ragengine.store.UnitOfWork;
import io.ragengine.text.Chunk;
import io.ragengine.text.Chunker;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The document pipeline behind {@link RagEngine#insert}. Thread-safe.
 *
 * <p>Per call: validate, assign ids, set duplicates aside, and commit every new document's text
 * and PENDING status in one durable transaction before any model call or other write (chunking,
 * which is neither, starts meanwhile: see {@link ChunkAhead}). Then per document, at
 * most {@code maxParallelInsert} at once and earlier documents first: chunk, mark PROCESSING, run
 * the {@link ChunkStage} if there is one (every chunk at once, its chat calls at EXTRACTION
 * priority through the engine's chat limiter), embed the chunks through the shared {@link
 * EmbeddingBatcher}, and commit the chunks, their vectors, the stage's units and the PROCESSED
 * status as one unit (group-committed with other documents' units). A document that fails is
 * durably FAILED with the reason; the others go on.
 *
 * <p>A document gives up its {@code maxParallelInsert} slot once its chunks are queued for
 * embedding: from there the embedding budget sets the pace, not the document bound (with small
 * documents, 64 slots held through the embedding calls left most of 8 calls of 32 texts idle).
 * The texts queued and not yet embedded are bounded instead, by an embedding window of two rounds
 * of calls ({@code 2 x embeddingBatchSize x embeddingMaxAsync} texts), so memory stays bounded.
 * Within a call, documents still commit and report PROCESSED in order.
 *
 * <p>Chunking runs on a pool of platform threads, one per core, not on the documents' virtual
 * threads. It is the pipeline's one long stretch of CPU work (tokenizing a 2,000-token document
 * takes about half a millisecond), and a virtual thread is never preempted: dozens of documents
 * chunking at once held every carrier thread, so the embedding workers and the committer, woken
 * behind them, waited 10-25 ms to run (traced on 2 cores). The operating system time-slices
 * platform threads, so the hand-offs stay prompt while both cores chunk.
 *
 * <p>Key-value namespaces: {@value #DOCS} (id to the document's JSON), {@value #HASHES} (content
 * hash to id), {@value #CHUNKS} (chunk id to the chunk's JSON), {@value #DOC_CHUNKS} (document id
 * to its chunk ids). Vector namespace {@value #CHUNKS}.
 */
final class IngestPipeline implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(IngestPipeline.class);

  static final String DOCS = "docs";
  static final String HASHES = "doc_hashes";
  static final String CHUNKS = "chunks";
  static final String DOC_CHUNKS = "doc_chunks";

  private static final int MAX_ERROR_LENGTH = 500;

  private final Storage storage;
  private final Chunker chunker;
  private final EmbeddingBatcher batcher;
  private final GroupCommitter committer;
  private final ProgressListener listener;
  private final Clock clock;
  /** Thread-safe once configured; shared so that {@link #readChunk} needs no pipeline. */
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ChunkCache chunkCache;
  private final @Nullable ChunkStage stage;
  /** The stage's chat calls: through the chat limiter at EXTRACTION priority. */
  private final Function<ChatRequest, ChatResponse> stageChat;
  /** Fair, so documents start in the order they were inserted. */
  private final Semaphore slots;

  /**
   * The fewest documents {@link #reprocess} reads and processes at once: more than enough to keep
   * {@code maxParallelInsert} documents busy (the page is at least twice it), few enough that the
   * texts of a resume after a crash mid-way through a huge insert fit in memory.
   */
  static final int REPROCESS_PAGE = 1024;

  /** Documents per page of {@link #reprocess}; changed only by tests. */
  private volatile int reprocessPage;
  private final int chunkerThreads = Runtime.getRuntime().availableProcessors();
  /** Serialises duplicate checks with the PENDING commit, so concurrent inserts agree. */
  private final ReentrantLock enqueueLock = new ReentrantLock();
  private final ExecutorService documentThreads = Executors.newVirtualThreadPerTaskExecutor();
  /** Chunking: CPU work, kept off the virtual threads' carriers (see the class comment). */
  private final ExecutorService chunkThreads =
      Executors.newFixedThreadPool(
          chunkerThreads,
          Thread.ofPlatform().name("ragengine-chunker-", 1).daemon().factory());
  /** Texts queued for embedding and not yet embedded, by documents past their slot. Fair. */
  private final Semaphore window;
  private final int windowSize;

  /** Ids of the documents being processed now, so no document is processed twice at once. */
  private final Set<String> claimed = ConcurrentHashMap.newKeySet();

  /**
   * Ids of documents reported FAILED whose FAILED status the store refused: still PENDING or
   * PROCESSING there, so {@link #retryFailed} takes them too, as its caller expects.
   */
  private final Set<String> failedUnrecorded = ConcurrentHashMap.newKeySet();

  /** The chunk stage's runs of every document in flight, so that close can stop them. */
  private final Set<Future<?>> stageRuns = ConcurrentHashMap.newKeySet();

  private final AtomicInteger inFlight = new AtomicInteger();
  private final LongAdder processed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder chunksEmbedded = new LongAdder();
  private volatile boolean closing;

  IngestPipeline(
      Storage storage,
      Chunker chunker,
      EmbeddingBatcher batcher,
      GroupCommitter committer,
      int maxParallelInsert,
      ProgressListener listener,
      Clock clock,
      ChunkCache chunkCache,
      @Nullable ChunkStage stage,
      Function<ChatRequest, ChatResponse> stageChat) {
    this.storage = storage;
    this.chunkCache = chunkCache;
    this.stage = stage;
    this.stageChat = stageChat;
    this.chunker = chunker;
    this.batcher = batcher;
    this.committer = committer;
    this.slots = new Semaphore(maxParallelInsert, true);
    this.reprocessPage =
        (int) Math.min(Integer.MAX_VALUE, Math.max(REPROCESS_PAGE, 2L * maxParallelInsert));
    this.windowSize = 2 * batcher.textsPerRound();
    this.window = new Semaphore(windowSize, true);
    this.listener = listener;
    this.clock = clock;
  }

  /**
   * A document accepted for processing, with its chunking once started: by its own turn or by its
   * call's {@link ChunkAhead}.
   */
  private record Task(
      String docId,
      String content,
      DocStatusRecord status,
      AtomicReference<@Nullable CompletableFuture<List<Chunk>>> chunking) {

    Task(String docId, String content, DocStatusRecord status) {
      this(docId, content, status, new AtomicReference<>());
    }
  }

  /**
   * Returns the task's chunking, starting it on the chunker threads unless it has started. Never
   * starts it twice.
   */
  private CompletableFuture<List<Chunk>> chunking(Task task) {
    CompletableFuture<List<Chunk>> started = task.chunking().get();
    if (started != null) {
      return started;
    }
    CompletableFuture<List<Chunk>> mine = new CompletableFuture<>();
    if (!task.chunking().compareAndSet(null, mine)) {
      return Objects.requireNonNull(task.chunking().get());
    }
    try {
      chunkThreads.execute(
          () -> {
            if (mine.isDone()) {
              return; // cancelled before it ran
            }
            try {
              mine.complete(chunker.chunk(task.content()));
            } catch (RuntimeException | Error e) {
              mine.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      mine.completeExceptionally(e); // closed: only reached while the engine closes
    }
    return mine;
  }

  /**
   * Chunks an insert call's documents ahead of their turns, in order, one per chunker thread at a
   * time, from before its PENDING commit until one embedding window of texts is ready. The commit
   * of a large call takes long (97-130 ms for 1,000 documents of 2,000 tokens, measured on 2
   * cores), and the chunker threads would otherwise idle through it, then make the first
   * embedding calls wait for their texts one after another. Chunking calls no model and writes
   * nothing, so nothing needs undoing if the commit fails. It holds about the window's texts (one
   * document per lane more at most), which the documents past their slots may hold anyway.
   */
  private final class ChunkAhead {
    private final List<Task> tasks;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicInteger texts = new AtomicInteger();
    private volatile boolean stopped;

    ChunkAhead(List<Task> tasks) {
      this.tasks = tasks;
    }

    void start() {
      for (int lane = 0; lane < chunkerThreads; lane++) {
        advance();
      }
    }

    /** Stops it, and cancels the chunking it started that has not begun to run. */
    void stop() {
      stopped = true;
      for (int i = 0; i < Math.min(next.get(), tasks.size()); i++) {
        CompletableFuture<List<Chunk>> f = tasks.get(i).chunking().get();
        if (f != null) {
          f.cancel(false);
        }
      }
    }

    private void advance() {
      while (!stopped && texts.get() < windowSize) {
        int i = next.getAndIncrement();
        if (i >= tasks.size()) {
          return;
        }
        Task task = tasks.get(i);
        if (task.chunking().get() == null) { // else its own turn has started it: go on
          var unused =
              chunking(task)
                  .whenComplete(
                      (chunks, failure) -> {
                        if (chunks != null) {
                          texts.addAndGet(chunks.size());
                        } else if (failure != null
                            && unwrap(failure) instanceof RejectedExecutionException) {
                          return; // the engine is closing
                        }
                        advance(); // past a document that failed to chunk, too: its turn says so
                      });
          return;
        }
      }
    }
  }

  /** Progress of one call, for the listener. */
  private static final class Tracker {
    /**
     * The call's documents to process; a retry or resume takes back those it finds it need not
     * process (another call has them, or their text is gone), so the count stays reachable.
     */
    final AtomicInteger documents;
    final AtomicInteger done = new AtomicInteger();
    final AtomicInteger chunks = new AtomicInteger();
    final AtomicInteger embedded = new AtomicInteger();
    /** Documents of this call that have not yet queued their texts for embedding. */
    final AtomicInteger unqueued;

    Tracker(int documents) {
      this.documents = new AtomicInteger(documents);
      this.unqueued = new AtomicInteger(documents);
    }
  }

  /**
   * A document's place in its call: it queues its final commit, and reports PROCESSED, only after
   * the document before it has. Commits apply in queue order, so documents finish in order while
   * still sharing group commits.
   */
  private static final class Turn {
    final CompletableFuture<Void> previousHasSlot;
    final CompletableFuture<Void> previousQueued;
    final CompletableFuture<Void> previousTold;
    final CompletableFuture<Void> hasSlot = new CompletableFuture<>();
    final CompletableFuture<Void> queued = new CompletableFuture<>();
    final CompletableFuture<Void> told = new CompletableFuture<>();

    Turn(@Nullable Turn previous) {
      CompletableFuture<Void> none = CompletableFuture.completedFuture(null);
      this.previousHasSlot = previous == null ? none : previous.hasSlot;
      this.previousQueued = previous == null ? none : previous.queued;
      this.previousTold = previous == null ? none : previous.told;
    }

    /** Lets the next document go, whatever became of this one. */
    void done() {
      hasSlot.complete(null);
      queued.complete(null);
      told.complete(null);
    }
  }

  /**
   * Checks that the vectors of one document all have one length, and that it fits the stored chunk
   * vectors ({@link #checkDimension}).
   *
   * @throws ModelException (not retryable) naming the model, if the lengths differ
   * @throws IllegalStateException if the stored chunk vectors have another dimension
   */
  static void checkDimensions(Storage storage, String modelName, List<float[]> vectors) {
    int first = vectors.get(0).length;
    for (float[] v : vectors) {
      if (v.length != first) {
        throw new ModelException(
            "embedding model "
                + modelName
                + " returned vectors of different lengths for one document: "
                + first
                + " and "
                + v.length
                + " floats (expected: one length)",
            false,
            null);
      }
    }
    checkDimension(storage, modelName, first);
  }

  /**
   * Checks that vectors of {@code dimension} floats fit the stored chunk vectors, so that a
   * working directory opened with another embedding model says so, rather than fail every insert
   * and query with the store's "vector: dimension" about a vector the caller never passed.
   *
   * @throws IllegalStateException if the stored chunk vectors have another dimension
   */
  static void checkDimension(Storage storage, String modelName, int dimension) {
    OptionalInt stored = storage.vectors().dimension(CHUNKS);
    if (stored.isPresent() && stored.getAsInt() != dimension) {
      throw new IllegalStateException(
          "embeddingModel "
              + modelName
              + ": "
              + dimension
              + "-d vectors, but the stored chunks have "
              + stored.getAsInt()
              + "-d ones, from another model (expected: the model they were embedded with, or"
              + " another working directory)");
    }
  }

  /**
   * Checks that neither {@code documents} nor any of them is null.
   *
   * @throws NullPointerException naming {@code documents}, or the first null one's index
   */
  static List<Document> checkDocuments(List<Document> documents) {
    Objects.requireNonNull(documents, "documents");
    for (int i = 0; i < documents.size(); i++) {
      if (documents.get(i) == null) {
        throw new NullPointerException("documents[" + i + "]");
      }
    }
    return documents;
  }

  InsertReport insert(List<Document> documents) {
    checkDocuments(documents);
    DocumentReport[] reports = new DocumentReport[documents.size()];
    List<Task> tasks = new ArrayList<>();
    List<Integer> taskIndex = new ArrayList<>();
    // Hashing is CPU work on the caller's thread, outside the lock.
    List<String> hashes = new ArrayList<>(documents.size());
    List<String> ids = new ArrayList<>(documents.size());
    for (Document doc : documents) {
      String hash = sha256(doc.content());
      hashes.add(hash);
      ids.add(doc.id() != null ? doc.id() : derivedId(hash));
    }
    enqueueLock.lock();
    try {
      UnitOfWork pending = new UnitOfWork();
      Set<String> idsInCall = new HashSet<>();
      Map<String, String> hashesInCall = new HashMap<>();
      // One lookup for every hash and every id of the call, rather than round trips per document.
      Map<String, String> storedHashes = storage.kv().getAll(HASHES, hashes);
      // With the ids the call's contents are stored under, to tell a duplicate of a FAILED one.
      Set<String> lookUp = new HashSet<>(ids);
      lookUp.addAll(storedHashes.values());
      Map<String, DocStatusRecord> known = storage.docStatus().getAll(lookUp);
      Instant now = clock.instant();
      for (int i = 0; i < documents.size(); i++) {
        Document doc = documents.get(i);
        String hash = hashes.get(i);
        String id = ids.get(i);
        String duplicateOf = idsInCall.contains(id) ? id : hashesInCall.get(hash);
        if (duplicateOf == null && known.containsKey(id)) { // a stored id, whatever its content
          duplicateOf = id;
        }
        if (duplicateOf == null) {
          duplicateOf = storedHashes.get(hash);
        }
        if (duplicateOf != null) {
          reports[i] =
              new DocumentReport(
                  id,
                  Outcome.DUPLICATE,
                  0,
                  duplicateNote(
                      id, duplicateOf, hash, idsInCall, hashesInCall, storedHashes, known),
                  Optional.of(duplicateOf));
          continue;
        }
        idsInCall.add(id);
        hashesInCall.put(hash, id);
        claimed.add(id);
        DocStatusRecord status = DocStatusRecord.pending(id, now);
        pending.put(DOCS, id, documentJson(doc, hash));
        pending.put(HASHES, hash, id);
        pending.putDocStatus(status);
        tasks.add(new Task(id, doc.content(), status));
        taskIndex.add(i);
      }
      if (!pending.isEmpty()) {
        ChunkAhead ahead = new ChunkAhead(tasks);
        ahead.start();
        // Nothing acknowledged is lost: the texts and PENDING statuses are durable before any
        // model call or other write, and a crash from here on resumes them.
        try {
          join(committer.commit(pending));
        } catch (RuntimeException | Error e) {
          ahead.stop();
          for (Task t : tasks) {
            claimed.remove(t.docId());
          }
          throw e;
        }
      }
    } finally {
      enqueueLock.unlock();
    }
    List<DocumentReport> done = process(tasks);
    for (int t = 0; t < tasks.size(); t++) {
      reports[taskIndex.get(t)] = done.get(t);
    }
    return new InsertReport(List.of(reports));
  }

  /**
   * Returns the documents a previous run left PENDING or PROCESSING. Must be called before the
   * engine accepts inserts, so that documents being inserted now are never taken for leftovers.
   */
  List<DocStatusRecord> unfinished() {
    List<DocStatusRecord> records =
        new ArrayList<>(storage.docStatus().byStatus(DocStatus.PENDING));
    records.addAll(storage.docStatus().byStatus(DocStatus.PROCESSING));
    if (!records.isEmpty()) {
      log.info("resuming {} document(s) left unfinished by the last run", records.size());
    }
    return records;
  }

  /** Processes {@code unfinished} (from {@link #unfinished()}), oldest first. */
  InsertReport resume(List<DocStatusRecord> unfinished) {
    return reprocess(unfinished);
  }

  /** Sets the documents per page of a resume or retry; for tests in this package. */
  void reprocessPage(int documents) {
    reprocessPage = Checks.positive(documents, "reprocessPage");
  }

  /**
   * Processes the FAILED documents again, and those this engine reported FAILED but could not
   * record so (still PENDING or PROCESSING in the store).
   */
  InsertReport retryFailed() {
    List<DocStatusRecord> records = new ArrayList<>(storage.docStatus().byStatus(DocStatus.FAILED));
    if (!failedUnrecorded.isEmpty()) {
      List<String> ids = List.copyOf(failedUnrecorded);
      Map<String, DocStatusRecord> current = storage.docStatus().getAll(ids);
      for (String id : ids) {
        DocStatusRecord r = current.get(id);
        if (r != null
            && (r.status() == DocStatus.PENDING || r.status() == DocStatus.PROCESSING)) {
          records.add(r);
        } else {
          failedUnrecorded.remove(id); // recorded since, one way or another
        }
      }
    }
    return reprocess(records);
  }

  /**
   * Processes {@code records} again, oldest first, a page at a time: each page's statuses and
   * texts are read with one call each, and only one page's texts are held at once. (A resume after
   * a crash mid-way through a million-document insert read every text, one read per document,
   * before the first was processed.)
   */
  private InsertReport reprocess(List<DocStatusRecord> records) {
    records = new ArrayList<>(records);
    records.sort(Comparator.comparing(DocStatusRecord::createdAt));
    Tracker tracker = new Tracker(records.size());
    List<DocumentReport> reports = new ArrayList<>(records.size());
    for (int from = 0; from < records.size(); from += reprocessPage) {
      List<DocStatusRecord> page =
          records.subList(from, Math.min(records.size(), from + reprocessPage));
      if (closing) {
        // Not started: each stays as it is in the store, as in process().
        for (DocStatusRecord r : page) {
          reports.add(stoppedReport(r, false));
        }
        tracker.documents.addAndGet(-page.size());
      } else {
        reports.addAll(reprocessPage(page, tracker));
      }
    }
    return new InsertReport(reports);
  }

  private List<DocumentReport> reprocessPage(List<DocStatusRecord> page, Tracker tracker) {
    List<DocumentReport> missing = new ArrayList<>();
    List<DocStatusRecord> mine = new ArrayList<>(page.size());
    for (DocStatusRecord r : page) {
      if (claimed.add(r.docId())) {
        mine.add(r);
      } else {
        // Being processed right now by another call: reported, not processed twice.
        missing.add(duplicateOfItself(r));
      }
    }
    List<Task> tasks = new ArrayList<>(mine.size());
    List<String> mineIds = mine.stream().map(DocStatusRecord::docId).toList();
    Set<String> held = new HashSet<>(mineIds); // claims of this page still ours, for the catch
    try {
      // One read for all of them: a document another call processed between our listing and
      // our claim has a newer record now, and is not done again.
      Map<String, DocStatusRecord> current = storage.docStatus().getAll(mineIds);
      List<DocStatusRecord> unchanged = new ArrayList<>(mine.size());
      for (DocStatusRecord r : mine) {
        if (r.equals(current.get(r.docId()))) {
          unchanged.add(r);
        } else {
          claimed.remove(r.docId());
          held.remove(r.docId());
          missing.add(duplicateOfItself(r));
        }
      }
      Map<String, String> texts =
          storage.kv().getAll(DOCS, unchanged.stream().map(DocStatusRecord::docId).toList());
      String error = "the document's text is missing from the store or unreadable";
      UnitOfWork lost = new UnitOfWork(); // every lost text of the page failed in one commit
      List<String> lostIds = new ArrayList<>();
      for (DocStatusRecord r : unchanged) {
        String content = readableContent(r.docId(), texts.get(r.docId()));
        if (content == null) {
          lost.putDocStatus(r.failed(error, now(r)));
          lostIds.add(r.docId());
        } else {
          tasks.add(new Task(r.docId(), content, r));
        }
      }
      if (!lostIds.isEmpty()) {
        join(committer.commit(lost));
        for (String id : lostIds) {
          claimed.remove(id);
          held.remove(id);
          missing.add(
              new DocumentReport(id, Outcome.FAILED, 0, Optional.of(error), Optional.empty()));
        }
      }
    } catch (RuntimeException | Error e) {
      // The store failed us: let go of the claims still ours, or a later retry would take these
      // documents for ones being processed and skip them until the engine is reopened.
      claimed.removeAll(held);
      throw e;
    }
    tracker.documents.addAndGet(-missing.size()); // not processed by this call after all
    tracker.unqueued.set(tasks.size()); // pages run one after the other
    List<DocumentReport> reports = new ArrayList<>(process(tasks, tracker));
    reports.addAll(missing);
    return reports;
  }

  /**
   * What a DUPLICATE's caller should know, if anything: its id is taken by other content (which
   * was kept, and this content not stored under the id), or the document it duplicates FAILED.
   */
  private static Optional<String> duplicateNote(
      String id,
      String duplicateOf,
      String hash,
      Set<String> idsInCall,
      Map<String, String> hashesInCall,
      Map<String, String> storedHashes,
      Map<String, DocStatusRecord> known) {
    // The id that holds this content, in this call or in the store, if any.
    String holder =
        hashesInCall.containsKey(hash) ? hashesInCall.get(hash) : storedHashes.get(hash);
    if ((idsInCall.contains(id) || known.containsKey(id)) && !id.equals(holder)) {
      return Optional.of(
          "id "
              + id
              + " is taken by a document with other content; this content was not stored under"
              + " it"
              + (holder == null
                  ? " (a document cannot be replaced: insert it under another id)"
                  : "; the same content is stored as " + holder));
    }
    DocStatusRecord original = known.get(duplicateOf);
    if (original != null && original.status() == DocStatus.FAILED) {
      return Optional.of(
          "the document it duplicates FAILED ("
              + original.error()
              + "); retryFailed() processes it again");
    }
    return Optional.empty();
  }

  private static DocumentReport duplicateOfItself(DocStatusRecord r) {
    return new DocumentReport(
        r.docId(), Outcome.DUPLICATE, 0, Optional.empty(), Optional.of(r.docId()));
  }

  private List<DocumentReport> process(List<Task> tasks) {
    return process(tasks, new Tracker(tasks.size()));
  }

  /** Processes {@code tasks}, their progress counted by {@code tracker}. */
  private List<DocumentReport> process(List<Task> tasks, Tracker tracker) {
    if (tasks.isEmpty()) {
      return List.of();
    }
    List<CompletableFuture<DocumentReport>> futures = new ArrayList<>(tasks.size());
    Turn previous = null;
    for (Task task : tasks) {
      AtomicBoolean queued = new AtomicBoolean();
      Turn turn = new Turn(previous);
      previous = turn;
      CompletableFuture<DocumentReport> report;
      try {
        report =
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return processOne(task, tracker, queued, turn);
                  } finally {
                    claimed.remove(task.docId()); // whatever became of it
                    queued(queued, tracker); // also for a document that stopped before embedding
                    turn.done();
                  }
                },
                documentThreads);
      } catch (RejectedExecutionException e) {
        // The engine closed since this call began: the document stays as it is in the store
        // (PENDING, or FAILED if this is a retry), as if it had stopped at its first step.
        claimed.remove(task.docId());
        queued(queued, tracker);
        turn.done();
        report = CompletableFuture.completedFuture(stoppedReport(task.status(), false));
      }
      futures.add(report);
    }
    // Every document's status is settled before this returns or throws.
    var unused =
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
            .exceptionally(t -> null)
            .join();
    List<DocumentReport> reports = new ArrayList<>(tasks.size());
    for (CompletableFuture<DocumentReport> f : futures) {
      reports.add(join(f));
    }
    return reports;
  }

  /**
   * Marks a document's texts as queued for embedding, once. When the call's last document has
   * queued them, no more texts are coming from it: the batcher sends its partial batch now rather
   * than after {@code embeddingMaxWait}.
   */
  private void queued(AtomicBoolean queued, Tracker tracker) {
    if (queued.compareAndSet(false, true) && tracker.unqueued.decrementAndGet() == 0) {
      batcher.flush();
    }
  }

  private DocumentReport processOne(
      Task task, Tracker tracker, AtomicBoolean queued, Turn turn) {
    // The call's documents start on threads of their own, which can reach the fair semaphore in
    // any order: each waits for the one before it to hold a slot, so earlier documents go first.
    turn.previousHasSlot.join();
    try {
      slots.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return stoppedReport(task.status(), false);
    }
    turn.hasSlot.complete(null);
    boolean holdingSlot = true;
    boolean markedProcessing = false;
    boolean processedDurable = false;
    int processedChunks = 0;
    // Announces this document's final unit to the committer once its vectors are in (see
    // GroupCommitter#expect), so that one embedding call's documents share one commit.
    AtomicReference<GroupCommitter.@Nullable Expectation> arrival = new AtomicReference<>();
    inFlight.incrementAndGet();
    try {
      if (closing) {
        return stoppedReport(task.status(), false);
      }
      List<Chunk> chunks = join(chunking(task));
      if (chunks.isEmpty()) { // blank texts are refused at insert, so only the split can do this
        throw new IllegalArgumentException(
            "no chunks: the text is nothing but splitCharacter and white space (expected: some"
                + " text between split characters)");
      }
      // Fire and forget: commits apply in order, so PROCESSED can never precede it. Deferred:
      // PROCESSING is advisory (a crash that loses it leaves PENDING, which resumes the same
      // way), so it need not be flushed to disk, and the PROCESSED units queued behind it do not
      // wait for a flush. The next durable commit makes it durable too.
      var unused =
          committer.commit(
              new UnitOfWork()
                  .putDocStatus(task.status().with(DocStatus.PROCESSING, 0, now(task.status())))
                  .durability(UnitOfWork.Durability.DEFERRED));
      markedProcessing = true;
      tracker.chunks.addAndGet(chunks.size());
      tell(IngestProgress.Stage.CHUNKED, task, tracker);
      UnitOfWork staged = null;
      if (stage != null) {
        staged = runStage(stage, task.docId(), chunks);
        if (closing) {
          // A stage that caught its calls' refusals by the closing limiter may have returned
          // without its work: leave the document to resume rather than commit it so.
          return stoppedReport(task.status(), true);
        }
        tell(IngestProgress.Stage.STAGED, task, tracker);
      }

      List<String> texts = new ArrayList<>(chunks.size());
      for (Chunk c : chunks) {
        texts.add(c.content());
      }
      // A document longer than the window takes all of it rather than wait forever.
      int permits = Math.min(texts.size(), windowSize);
      window.acquireUninterruptibly(permits);
      CompletableFuture<List<float[]>> embedding;
      try {
        embedding =
            batcher
                .embed(texts, Priority.DOCUMENT_EMBEDDING)
                .whenComplete((done, failure) -> window.release(permits))
                // Runs on the thread that completes the call, for all its documents at once,
                // before any of them can queue its unit.
                .whenComplete((done, failure) -> arrival.set(committer.expect()));
      } catch (RuntimeException | Error e) {
        window.release(permits);
        throw e;
      }
      queued(queued, tracker);
      slots.release(); // the embedding budget paces it from here
      holdingSlot = false;
      List<float[]> vectors = join(embedding);
      checkDimensions(storage, batcher.modelName(), vectors);
      chunksEmbedded.add(chunks.size());
      tracker.embedded.addAndGet(chunks.size());
      tell(IngestProgress.Stage.EMBEDDED, task, tracker);

      UnitOfWork unit = new UnitOfWork();
      List<String> chunkIds = new ArrayList<>(chunks.size());
      for (int i = 0; i < chunks.size(); i++) {
        Chunk c = chunks.get(i);
        String chunkId = chunkId(task.docId(), c.index());
        chunkIds.add(chunkId);
        unit.put(CHUNKS, chunkId, chunkJson(task.docId(), c));
        unit.upsertVector(CHUNKS, chunkId, vectors.get(i));
      }
      unit.put(DOC_CHUNKS, task.docId(), toJson(chunkIds));
      if (staged != null) {
        unit.addAll(staged);
      }
      unit.putDocStatus(task.status().with(DocStatus.PROCESSED, chunks.size(), now(task.status())));
      turn.previousQueued.join();
      CompletableFuture<Void> committed = committer.commit(unit);
      withdraw(arrival); // queued: the committer need not wait for it any longer
      turn.queued.complete(null);
      join(committed);
      processedDurable = true;
      processedChunks = chunks.size();
      failedUnrecorded.remove(task.docId());
      for (int i = 0; i < chunks.size(); i++) { // queries of fresh documents need no store read
        Chunk c = chunks.get(i);
        chunkCache.put(
            chunkIds.get(i), new StoredChunk(task.docId(), c.index(), c.tokens(), c.content()));
      }
      processed.increment();
      tracker.done.incrementAndGet();
      turn.previousTold.join();
      tell(IngestProgress.Stage.PROCESSED, task, tracker);
      turn.told.complete(null);
      return new DocumentReport(
          task.docId(), Outcome.PROCESSED, chunks.size(), Optional.empty(), Optional.empty());
    } catch (RuntimeException | Error e) {
      // An Error too (a StackOverflowError tokenizing a pathological text, an OutOfMemoryError
      // on a huge one): left PENDING, the document would fail the same way on every resume.
      Throwable cause = unwrap(e);
      if (processedDurable) {
        // Only what follows the commit failed (the chunk cache): the document is PROCESSED.
        log.warn("document {}: processed, but a step after its commit failed", task.docId(), e);
        return new DocumentReport(
            task.docId(), Outcome.PROCESSED, processedChunks, Optional.empty(), Optional.empty());
      }
      if (closing) {
        // Whatever failed, close() may be the cause: its limiters fail queued calls, and a call
        // still running when drainTimeout runs out is interrupted, which a model may report as
        // its own failure. Recorded FAILED, the document would not resume; left as it is, it
        // does, and a failure of its own recurs then.
        return stoppedReport(task.status(), markedProcessing);
      }
      String error = describe(cause);
      log.warn("document {} failed: {}", task.docId(), error);
      try {
        CompletableFuture<Void> committed =
            committer.commit(
                new UnitOfWork().putDocStatus(task.status().failed(error, now(task.status()))));
        withdraw(arrival);
        join(committed);
        failedUnrecorded.remove(task.docId());
      } catch (RuntimeException commitFailure) {
        // Still PENDING or PROCESSING in the store: retryFailed() takes it, as does the next open.
        String why = describe(unwrap(commitFailure));
        log.warn("document {}: recording its failure failed too: {}", task.docId(), why);
        failedUnrecorded.add(task.docId());
        error += "; recording FAILED in the store failed too (" + why + "), so the store still"
            + " has it unfinished: retryFailed() or the next open processes it again";
      }
      failed.increment();
      tracker.done.incrementAndGet();
      tell(IngestProgress.Stage.FAILED, task, tracker);
      return new DocumentReport(
          task.docId(), Outcome.FAILED, 0, Optional.of(error), Optional.empty());
    } finally {
      withdraw(arrival); // if it stopped before queueing a unit, none is coming
      inFlight.decrementAndGet();
      if (holdingSlot) {
        slots.release();
      }
    }
  }

  /**
   * Runs {@code stage} on every chunk at once, each on a virtual thread, and returns what they
   * return, merged in chunk order. The first failure cancels the chunks still running (a chat call
   * still queued leaves the queue) and is thrown.
   */
  private UnitOfWork runStage(ChunkStage stage, String docId, List<Chunk> chunks) {
    var finished = new ExecutorCompletionService<UnitOfWork>(documentThreads);
    List<Future<UnitOfWork>> futures = new ArrayList<>(chunks.size());
    var runs = new StageRuns();
    try {
      for (Chunk c : chunks) {
        var work = new StagedChunk(docId, chunkId(docId, c.index()), c, chunks.size(), stageChat);
        Future<UnitOfWork> f =
            finished.submit(
                () -> {
                  runs.enter();
                  try {
                    return checkStageUnit(stage.process(work), work.chunkId());
                  } finally {
                    runs.exit();
                  }
                });
        futures.add(f);
        stageRuns.add(f);
        if (closing) {
          f.cancel(true); // beginClose() may have looked before it was added
        }
      }
      for (int i = 0; i < chunks.size(); i++) {
        var unused = finished.take().get(); // in the order they finish: the first failure stops
      }
      UnitOfWork all = new UnitOfWork();
      for (Future<UnitOfWork> f : futures) {
        all.addAll(f.resultNow());
      }
      return all;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CompletionException(e);
    } catch (ExecutionException e) {
      throw new CompletionException(e.getCause());
    } finally {
      for (Future<UnitOfWork> f : futures) {
        f.cancel(true); // no effect on those done
        stageRuns.remove(f);
      }
      // No run of this document's stage outlives it (a retry could otherwise overlap it): those
      // not started never will, and those running are waited for.
      runs.stopAndAwait();
    }
  }

  /** One document's stage runs: once stopped, no more start, and the running ones are awaited. */
  private static final class StageRuns {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int running;
    private boolean stopped;

    /**
     * Counts a run in.
     *
     * @throws CancellationException if stopped: the chunk's run is not needed any more
     */
    void enter() {
      lock.lock();
      try {
        if (stopped) {
          throw new CancellationException("the document's stage stopped");
        }
        running++;
      } finally {
        lock.unlock();
      }
    }

    void exit() {
      lock.lock();
      try {
        if (--running == 0) {
          idle.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }

    /** Stops new runs and waits for the running ones to end; an interrupt does not cut it. */
    void stopAndAwait() {
      lock.lock();
      try {
        stopped = true;
        while (running > 0) {
          idle.awaitUninterruptibly();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  /** {@code unit}, if the stage may commit it with the document: else throws, naming why. */
  private static UnitOfWork checkStageUnit(@Nullable UnitOfWork unit, String chunkId) {
    if (unit == null) {
      throw new IllegalStateException(
          "chunkStage returned null for chunk " + chunkId + " (expected: a unit, empty for none)");
    }
    for (UnitOfWork.Operation op : unit.operations()) {
      String forbidden =
          switch (op) {
            case UnitOfWork.KvPut o -> ownNamespace(o.namespace());
            case UnitOfWork.KvDelete o -> ownNamespace(o.namespace());
            case UnitOfWork.VectorUpsert o -> ownNamespace(o.namespace());
            case UnitOfWork.VectorDelete o -> ownNamespace(o.namespace());
            case UnitOfWork.DocStatusPut o -> "document statuses";
            case UnitOfWork.DocStatusDelete o -> "document statuses";
            case UnitOfWork.EntityUpsert o -> null;
            case UnitOfWork.EntityDelete o -> null;
            case UnitOfWork.RelationUpsert o -> null;
            case UnitOfWork.RelationDelete o -> null;
          };
      if (forbidden != null) {
        throw new IllegalStateException(
            "chunkStage: the unit for chunk "
                + chunkId
                + " writes "
                + forbidden
                + " (expected: none of document statuses, "
                + String.join(", ", OWN_NAMESPACES)
                + ")");
      }
    }
    return unit;
  }

  /** The engine's own namespaces, which a {@link ChunkStage} may not write. */
  private static final List<String> OWN_NAMESPACES = List.of(DOCS, HASHES, CHUNKS, DOC_CHUNKS);

  private static @Nullable String ownNamespace(String namespace) {
    return OWN_NAMESPACES.contains(namespace) ? namespace : null;
  }

  /** One chunk handed to the stage. */
  private record StagedChunk(
      String docId,
      String chunkId,
      Chunk chunk,
      int chunkCount,
      Function<ChatRequest, ChatResponse> chatCall)
      implements ChunkStage.ChunkWork {
    @Override
    public ChatResponse chat(ChatRequest request) {
      return chatCall.apply(Objects.requireNonNull(request, "request"));
    }

    @Override
    public String toString() {
      return "chunk " + chunkId;
    }
  }

  private static void withdraw(AtomicReference<GroupCommitter.@Nullable Expectation> arrival) {
    GroupCommitter.Expectation e = arrival.getAndSet(null);
    if (e != null) {
      e.close();
    }
  }

  /**
   * The report of a document stopped by close(). It resumes on the next open if its stored status
   * is PENDING or PROCESSING; a FAILED one being retried stays FAILED unless it was marked
   * PROCESSING ({@code markedProcessing}) before it stopped.
   */
  private static DocumentReport stoppedReport(DocStatusRecord status, boolean markedProcessing) {
    if (!markedProcessing && status.status() == DocStatus.FAILED) {
      return new DocumentReport(
          status.docId(),
          Outcome.FAILED,
          0,
          Optional.of("the engine closed before the retry began; still failed: " + status.error()),
          Optional.empty());
    }
    return new DocumentReport(
        status.docId(),
        Outcome.PENDING,
        0,
        Optional.of("the engine closed before the document finished; it resumes on the next open"),
        Optional.empty());
  }

  private void tell(IngestProgress.Stage stage, Task task, Tracker t) {
    try {
      listener.onProgress(
          new IngestProgress(
              stage,
              task.docId(),
              t.documents.get(),
              t.done.get(),
              t.chunks.get(),
              t.embedded.get()));
    } catch (RuntimeException | Error e) { // never the document's failure
      log.warn("progress listener threw; ignored", e);
    }
  }

  int inFlight() {
    return inFlight.get();
  }

  long processedCount() {
    return processed.sum();
  }

  long failedCount() {
    return failed.sum();
  }

  long chunksEmbedded() {
    return chunksEmbedded.sum();
  }

  /** Stops starting documents; those running finish or stay pending for the next open. */
  void beginClose() {
    closing = true;
    // The stage's runs stop now (a chat call queued leaves the queue, a running one is
    // interrupted): their documents are left unfinished, to resume, and a stage blocked on
    // something of its own cannot hold close() up.
    for (Future<?> f : stageRuns) {
      f.cancel(true);
    }
  }

  /** Whether {@link #beginClose()} has been called. */
  boolean isClosing() {
    return closing;
  }

  @Override
  public void close() {
    closing = true;
    documentThreads.close(); // waits for documents in flight; they stop at their next step
    chunkThreads.close(); // after the documents: none of them can be refused a chunker
  }

  // ---------------------------------------------------------------------------------------------

  static String chunkId(String docId, int index) {
    String n = Integer.toString(index);
    return docId + "-chunk-" + (n.length() >= 3 ? n : "000".substring(n.length()) + n);
  }

  /** The chunk JSON's fields, read back by the query path. */
  record StoredChunk(String docId, int index, int tokens, String content) {}

  static StoredChunk readChunk(String jsonText) {
    try {
      JsonNode node = JSON.readTree(jsonText);
      return new StoredChunk(
          node.path("doc").asText(),
          node.path("index").asInt(),
          node.path("tokens").asInt(),
          node.path("content").asText());
    } catch (JsonProcessingException e) {
      throw new StoreException("a stored chunk is not valid JSON", e);
    }
  }

  private String chunkJson(String docId, Chunk c) {
    ObjectNode node = JSON.createObjectNode();
    node.put("doc", docId).put("index", c.index()).put("tokens", c.tokens());
    node.put("content", c.content());
    return node.toString();
  }

  private String documentJson(Document doc, String hash) {
    ObjectNode node = JSON.createObjectNode();
    node.put("content", doc.content()).put("hash", hash);
    if (doc.sourcePath() != null) {
      node.put("sourcePath", doc.sourcePath());
    }
    ObjectNode meta = node.putObject("metadata");
    doc.metadata().forEach(meta::put);
    return node.toString();
  }

  /** The stored document with this id, if any. */
  Optional<Document> document(String docId) {
    return storage.kv().get(DOCS, docId).map(text -> asInserted(parseDocument(docId, text)));
  }

  /** {@code doc} with no id if its id was derived from its content, as it was inserted then. */
  private static Document asInserted(Document doc) {
    String id = Objects.requireNonNull(doc.id());
    return id.equals(derivedId(sha256(doc.content())))
        ? new Document(null, doc.content(), doc.sourcePath(), doc.metadata())
        : doc;
  }

  /**
   * A stored document read back.
   *
   * @throws StoreException if the stored text is not valid JSON
   * @throws IllegalArgumentException if it holds no valid document (blank content, for one)
   */
  private static Document parseDocument(String docId, String text) {
    try {
      JsonNode node = JSON.readTree(text);
      Map<String, String> metadata = new HashMap<>();
      node.path("metadata")
          .fields()
          .forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
      Document d = new Document(docId, node.path("content").asText(), null, metadata);
      JsonNode source = node.get("sourcePath");
      return source == null ? d : d.withSourcePath(source.asText());
    } catch (JsonProcessingException e) {
      throw new StoreException("stored document " + docId + " is not valid JSON", e);
    }
  }

  /**
   * The text of {@code docId} from its stored JSON ({@code stored}, read by the caller), or null
   * if it is missing or cannot be read back: the document can never be processed, so it is
   * FAILED. A failing store read is the caller's and propagates instead: it says nothing about the
   * document, which keeps its status and is tried again later.
   */
  private @Nullable String readableContent(String docId, @Nullable String stored) {
    if (stored == null) {
      return null;
    }
    try {
      return parseDocument(docId, stored).content();
    } catch (StoreException | IllegalArgumentException unreadable) {
      log.warn("document {}: stored text unreadable: {}", docId, describe(unreadable));
      return null;
    }
  }

  private String toJson(List<String> ids) {
    try {
      return JSON.writeValueAsString(ids);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e); // a list of strings always serialises
    }
  }

  private Instant now(DocStatusRecord previous) {
    Instant now = clock.instant();
    return now.isBefore(previous.updatedAt()) ? previous.updatedAt() : now;
  }

  /** The id of a document given without one, from its content's {@link #sha256}. */
  private static String derivedId(String contentHash) {
    return "doc-" + contentHash.substring(0, 32);
  }

  static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** A failure's description for logs and the status record: type and message, never text. */
  static String describe(Throwable t) {
    String message = t.getMessage();
    String d = t.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    return d.length() <= MAX_ERROR_LENGTH ? d : d.substring(0, MAX_ERROR_LENGTH - 3) + "...";
  }

  static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  /** Joins {@code f}, rethrowing its failure unwrapped when it is unchecked. */
  static <T> T join(CompletableFuture<T> f) {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = unwrap(e);
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new RagException(describe(cause), cause);
    }
  }
}
