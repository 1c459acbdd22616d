package io.ragengine;

import static io.ragengine.Corpus.CORPUS;
import static io.ragengine.testing.Awaits.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.InsertReport.DocumentReport;
import io.ragengine.InsertReport.Outcome;
import io.ragengine.ingest.ChunkStage;
import io.ragengine.ingest.IngestProgress;
import io.ragengine.ingest.IngestProgress.Stage;
import io.ragengine.limiter.LimiterStats;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.FakeChatModel;
import io.ragengine.model.FakeEmbeddingModel;
import io.ragengine.model.Message;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.InMemoryStorage;
import io.ragengine.store.UnitOfWork;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The per-chunk stage: where LLM work per chunk plugs into the ingest pipeline. */
final class ChunkStageTest {
  private static final String EXTRACTED = "extracted";

  private final FakeEmbeddingModel embeddings = new FakeEmbeddingModel(64);
  private final InMemoryStorage storage = InMemoryStorage.create();
  /** Each chat call's last message, as it starts. */
  private final List<String> started = new CopyOnWriteArrayList<>();
  /** Chat calls block here until the test lets them go; interruptibly. */
  private final Semaphore gate = new Semaphore(0);
  private final FakeChatModel chat =
      new FakeChatModel()
          .responder(
              request -> {
                String last = request.messages().getLast().content();
                started.add(last);
                try {
                  gate.acquire();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw new IllegalStateException("interrupted at the gate", e);
                }
                return "entities of " + last;
              });
  private final List<RagEngine> engines = new ArrayList<>();

  @AfterEach
  void closeAll() {
    gate.release(1_000);
    engines.forEach(RagEngine::close);
  }

  /** Asks the chat model about each chunk and stores its answer under the chunk's id. */
  private static final ChunkStage EXTRACTING =
      work -> {
        var request = ChatRequest.of(List.of(Message.user("extract " + work.chunkId())));
        String answer = work.chat(request).text();
        return new UnitOfWork().put(EXTRACTED, work.chunkId(), answer);
      };

  private RagEngine open(RagEngine.Builder builder) {
    RagEngine engine = builder.build();
    engines.add(engine);
    return engine;
  }

  private RagEngine.Builder builder(ChunkStage stage) {
    return RagEngine.builder()
        .storage(storage)
        .embeddingModel(embeddings)
        .chatModel(chat)
        .chunkSizeTokens(60)
        .chunkOverlapTokens(10)
        .chunkStage(stage);
  }

  @Test
  void chunksOfEveryDocumentInFlight_shareTheChatLimiter_maxAsyncRunningTheRestQueued()
      throws Exception {
    List<IngestProgress> events = new CopyOnWriteArrayList<>();
    RagEngine engine =
        open(builder(EXTRACTING).maxAsync(3).maxParallelInsert(8).progressListener(events::add));

    var insert = engine.insertAsync(CORPUS);
    await("every document chunked", () -> count(events, Stage.CHUNKED) == CORPUS.size());
    int chunks = events.stream().mapToInt(IngestProgress::chunks).max().orElseThrow();
    assertTrue(chunks > CORPUS.size(), "each document has several chunks: " + chunks);
    // Every chunk of the three documents is in the one limiter at once: maxAsync running, the
    // rest queued in it, none waiting on a document boundary.
    await(
        "3 calls running and the rest queued",
        () -> chatStats(engine).running() == 3 && chatStats(engine).queued() == chunks - 3);
    await("the 3 running calls in the model", () -> started.size() == 3);
    gate.release(1_000);

    InsertReport report = insert.get(10, TimeUnit.SECONDS);
    assertEquals(CORPUS.size(), report.processed());
    assertEquals(chunks, chat.callCount());
    assertEquals(
        java.util.Map.of(ChatCallKind.CHUNK_STAGE, (long) chunks, ChatCallKind.ANSWER, 0L),
        engine.stats().chatCalls());
    // What the stage returned was committed with each document.
    for (String docId : List.of("volcanoes", "databases", "gardening")) {
      for (int i = 0; i < chunkCount(report, docId); i++) {
        String chunkId = IngestPipeline.chunkId(docId, i);
        assertEquals(
            Optional.of("entities of extract " + chunkId), storage.kv().get(EXTRACTED, chunkId));
      }
      assertEquals(
          List.of(Stage.CHUNKED, Stage.STAGED, Stage.EMBEDDED, Stage.PROCESSED),
          events.stream().filter(e -> e.docId().equals(docId)).map(IngestProgress::stage).toList());
    }
  }

  @Test
  void aQuerysChatCall_overtakesTheQueuedStageCalls() throws Exception {
    List<IngestProgress> events = new CopyOnWriteArrayList<>();
    RagEngine engine =
        open(builder(EXTRACTING).maxAsync(1).maxParallelInsert(1).progressListener(events::add));
    gate.release(1_000);
    engine.insert(CORPUS.subList(1, 2)); // something to find
    gate.drainPermits();
    started.clear();

    var insert = engine.insertAsync(CORPUS.subList(0, 1));
    await("the document chunked", () -> count(events, Stage.CHUNKED) == 2);
    int chunks = events.getLast().chunks();
    await(
        "one stage call running, the others queued",
        () -> chatStats(engine).running() == 1 && chatStats(engine).queued() == chunks - 1);
    String question = "What matters to databases?";
    var query = engine.queryAsync(question, QueryParams.defaults());
    await("the query's answer call queued", () -> chatStats(engine).queued() == chunks);
    gate.release(1_000);

    assertTrue(query.get(10, TimeUnit.SECONDS).answer().isPresent());
    assertEquals(1, insert.get(10, TimeUnit.SECONDS).processed());
    assertEquals(chunks + 1, started.size());
    // Only the call that held the slot went before it.
    assertEquals(question, started.get(1));
  }

  @Test
  void oneChunkFails_itsDocumentFailsWithTheReason_itsOtherChunksAreCancelled_othersGoOn()
      throws Exception {
    var stage =
        (ChunkStage)
            work -> {
              if (work.docId().equals("volcanoes") && work.chunk().index() == 1) {
                throw new IllegalStateException("cannot read " + work.chunkId());
              }
              return EXTRACTING.process(work);
            };
    RagEngine engine = open(builder(stage).maxAsync(1).maxParallelInsert(1));

    // The gate stays shut: a call of the failed document still queued or running ends only by
    // being cancelled.
    DocumentReport failed = engine.insert(CORPUS.subList(0, 1)).documents().getFirst();

    assertEquals(Outcome.FAILED, failed.outcome());
    assertEquals(
        Optional.of(
            "IllegalStateException: cannot read " + IngestPipeline.chunkId("volcanoes", 1)),
        failed.error());
    // Its runs were cancelled: nothing of it is left in the limiter (a worker may take a moment
    // to see its call's interrupt), and no call was let through the gate.
    await(
        "no call of the failed document left",
        () -> chatStats(engine).running() == 0 && chatStats(engine).queued() == 0);
    assertEquals(0, chatStats(engine).completed());
    assertEquals(List.of(), storage.kv().keys(EXTRACTED)); // nothing of it committed

    gate.release(1_000);
    assertEquals(2, engine.insert(CORPUS.subList(1, 3)).processed());
    assertEquals(Optional.of(DocStatus.FAILED), status("volcanoes"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"null", "chunks", "doc_hashes", "a document status"})
  @SuppressWarnings("NullAway") // a stage returning null is one of the cases
  void aUnitTheStageMayNotCommit_failsTheDocumentSayingWhy(String what) {
    Function<ChunkStage.ChunkWork, UnitOfWork> bad =
        switch (what) {
          case "null" -> work -> null;
          case "a document status" -> work -> new UnitOfWork().deleteDocStatus(work.docId());
          default -> work -> new UnitOfWork().put(what, work.chunkId(), "x");
        };
    // Only the first chunk's unit is bad, so the reason names it whichever chunk finishes first.
    RagEngine engine =
        open(builder(work -> work.chunk().index() == 0 ? bad.apply(work) : new UnitOfWork()));

    InsertReport report = engine.insert(CORPUS.subList(0, 2));

    String chunkId = IngestPipeline.chunkId("volcanoes", 0);
    String expected =
        what.equals("null")
            ? "IllegalStateException: chunkStage returned null for chunk "
                + chunkId
                + " (expected: a unit, empty for none)"
            : "IllegalStateException: chunkStage: the unit for chunk "
                + chunkId
                + " writes "
                + (what.equals("a document status") ? "document statuses" : what)
                + " (expected: none of document statuses, docs, doc_hashes, chunks, doc_chunks)";
    assertEquals(Optional.of(expected), report.documents().getFirst().error());
    assertEquals(0, report.processed());
    assertEquals(2, engine.stats().documents().get(DocStatus.FAILED));
  }

  @Test
  void close_interruptsAStageWaitingOnItsOwn_andLeavesItsDocumentToResume() throws Exception {
    // Regression (both found by a review): the runs were not interrupted, so a stage waiting on
    // something of its own held close() up for good; and a stage that gave up quietly when its
    // wait or its chat call was cut by close got its document committed PROCESSED without its
    // work, never to be done.
    var inStage = new CountDownLatch(1);
    var neverOpened = new CountDownLatch(1);
    ChunkStage bestEffort =
        work -> {
          inStage.countDown();
          try {
            neverOpened.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // gives up quietly, returning nothing
          }
          return new UnitOfWork();
        };
    RagEngine engine = open(builder(bestEffort).drainTimeout(Duration.ofDays(1)));

    var insert = engine.insertAsync(CORPUS.subList(0, 1));
    assertTrue(inStage.await(10, TimeUnit.SECONDS));
    CompletableFuture.runAsync(engine::close, Thread.ofVirtual()::start).get(10, TimeUnit.SECONDS);

    DocumentReport report = insert.get(10, TimeUnit.SECONDS).documents().getFirst();
    assertEquals(Outcome.PENDING, report.outcome(), report.toString());
  }

  @Test
  void aStageChatCallWithoutAChatModel_failsTheDocumentSayingSo() {
    RagEngine engine =
        open(
            RagEngine.builder()
                .storage(storage)
                .embeddingModel(embeddings)
                .chunkSizeTokens(60)
                .chunkOverlapTokens(10)
                .chunkStage(EXTRACTING));

    DocumentReport report = engine.insert(CORPUS.subList(0, 1)).documents().getFirst();

    assertEquals(
        Optional.of(
            "IllegalStateException: chunkStage made a chat call, but the engine has no chat model"
                + " (expected: RagEngine.Builder.chatModel set)"),
        report.error());
  }

  private static long count(List<IngestProgress> events, Stage stage) {
    return events.stream().filter(e -> e.stage() == stage).count();
  }

  private static LimiterStats chatStats(RagEngine engine) {
    return engine.stats().chat();
  }

  private static int chunkCount(InsertReport report, String docId) {
    return report.documents().stream()
        .filter(d -> d.docId().equals(docId))
        .mapToInt(DocumentReport::chunks)
        .findFirst()
        .orElseThrow();
  }

  private Optional<DocStatus> status(String docId) {
    return storage.docStatus().get(docId).map(DocStatusRecord::status);
  }
}
