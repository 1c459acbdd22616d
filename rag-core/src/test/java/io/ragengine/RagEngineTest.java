package io.ragengine;

import static io.ragengine.Corpus.CORPUS;
import static io.ragengine.Corpus.about;
import static io.ragengine.testing.Awaits.await;
import static io.ragengine.testing.Awaits.awaitOpen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.management.HotSpotDiagnosticMXBean;
import io.ragengine.InsertReport.DocumentReport;
import io.ragengine.InsertReport.Outcome;
import io.ragengine.ingest.IngestProgress;
import io.ragengine.limiter.CallTimeoutException;
import io.ragengine.limiter.RetryLaterException;
import io.ragengine.model.ChatModel;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.FakeChatModel;
import io.ragengine.model.FakeEmbeddingModel;
import io.ragengine.model.ForwardingEmbeddingModel;
import io.ragengine.model.Message;
import io.ragengine.model.ModelException;
import io.ragengine.model.Role;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.DocStatusStore;
import io.ragengine.store.ForwardingDocStatusStore;
import io.ragengine.store.ForwardingKvStore;
import io.ragengine.store.ForwardingStorage;
import io.ragengine.store.InMemoryStorage;
import io.ragengine.store.KvStore;
import io.ragengine.store.Storage;
import io.ragengine.store.StoreException;
import io.ragengine.store.UnitOfWork;
import io.ragengine.store.embedded.EmbeddedStorage;
import io.ragengine.store.embedded.EmbeddedStorageConfig;
import io.ragengine.text.ForwardingTokenizer;
import io.ragengine.text.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

final class RagEngineTest {
  @TempDir Path dir;

  private final FakeEmbeddingModel embeddings = new FakeEmbeddingModel(64);
  private final FakeChatModel chat = new FakeChatModel();
  private final List<RagEngine> engines = new ArrayList<>();

  @AfterEach
  void closeAll() {
    engines.forEach(RagEngine::close);
  }

  private RagEngine.Builder builder() {
    return RagEngine.builder()
        .workingDir(dir)
        .embeddingModel(embeddings)
        .chatModel(chat)
        .chunkSizeTokens(60)
        .chunkOverlapTokens(10);
  }

  private RagEngine open(RagEngine.Builder builder) {
    RagEngine engine = builder.build();
    engines.add(engine);
    return engine;
  }

  // --- ingest and query --------------------------------------------------------------------

  @Test
  void insert_thenNaiveQuery_retrievesTheMatchingDocumentAndAnswersFromIt() {
    RagEngine engine = open(builder());

    InsertReport report = engine.insert(CORPUS);

    assertEquals(3, report.processed());
    assertTrue(report.documents().stream().allMatch(d -> d.chunks() > 1));
    QueryResult result = engine.query("database transaction commit index");
    assertEquals("databases", result.sources().get(0).docId());
    assertTrue(result.sources().get(0).chunkId().startsWith("databases-chunk-"));
    assertTrue(result.answer().isPresent());
    // The chat model got our instructions with the numbered context, then the question.
    List<Message> messages = chat.requests().get(0).messages();
    assertEquals(Role.SYSTEM, messages.get(0).role());
    assertTrue(messages.get(0).content().contains("[1] " + result.sources().get(0).content()));
    assertEquals("database transaction commit index", messages.get(1).content());
    assertEquals(result.context(), messages.get(0).content().substring(
        messages.get(0).content().indexOf("[1] ")));
  }

  @Test
  void document_readsBackTextSourceAndMetadata_anIdOnlyIfOneWasGiven_alsoAfterReopen() {
    Document given =
        Document.of("manual", "The pump must be primed before its first start.")
            .withSourcePath("/manuals/pump.txt")
            .withMetadata(Map.of("lang", "en", "rev", "3"));
    Document derived = Document.of("Valves close clockwise.");
    RagEngine engine = open(builder());
    String derivedId = engine.insert(List.of(given, derived)).documents().get(1).docId();

    for (int run = 0; run < 2; run++) {
      assertEquals(Optional.of(given), engine.document("manual"));
      Document back = engine.document(derivedId).orElseThrow();
      // Regression (found by a usability review): the derived id came back as an explicit one.
      assertEquals(Optional.empty(), back.explicitId());
      assertEquals(derived, back);
      assertEquals(Optional.empty(), engine.document("no-such-document"));
      engine.close();
      engine = open(builder());
    }
  }

  @Test
  @SuppressWarnings("NullAway") // the null document is the point
  void asyncOverloads_oneDocument_andTheQueryDefaults() throws Exception {
    QueryParams defaults = QueryParams.builder().onlyContext(true).topK(2).build();
    RagEngine engine = open(builder().queryDefaults(defaults));

    InsertReport report = engine.insertAsync(CORPUS.get(0)).get(10, TimeUnit.SECONDS);
    QueryResult result = engine.queryAsync("lava").get(10, TimeUnit.SECONDS);

    assertEquals(1, report.processed());
    assertEquals(2, result.sources().size()); // the defaults' topK, and no answer
    assertTrue(result.answer().isEmpty());
    assertThrows(NullPointerException.class, () -> engine.insertAsync((Document) null));
  }

  @Test
  void query_onlyContext_returnsContextWithoutCallingChat() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);

    QueryResult result =
        engine.query(
            "garden tomato compost",
            QueryParams.builder().onlyContext(true).topK(3).build());

    assertTrue(result.answer().isEmpty());
    assertEquals(3, result.sources().size());
    assertEquals("gardening", result.sources().get(0).docId());
    assertTrue(result.context().startsWith("[1] "));
    assertEquals(0, chat.callCount());
    assertTrue(result.sources().get(0).score() >= result.sources().get(2).score());
  }

  @Test
  void query_tokenBudget_stopsAddingChunksThatDoNotFit() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    // The instructions take some tokens; leave room for one chunk of at most 60 tokens only.
    QueryResult small =
        engine.query(
            "volcano lava",
            QueryParams.builder().onlyContext(true).topK(10).maxTotalTokens(380).build());
    QueryResult large =
        engine.query("volcano lava", QueryParams.builder().onlyContext(true).topK(10).build());
    assertTrue(small.sources().size() < large.sources().size());
    assertEquals(10, large.sources().size());
  }

  @Test
  void query_minScore_leavesOutWeakerChunks_andWithNoneLeftTheModelIsToldSo() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    QueryParams top10 = QueryParams.builder().onlyContext(true).topK(10).build();
    List<QueryResult.Source> all = engine.query("volcano lava", top10).sources();
    assertEquals(10, all.size());
    // The volcano chunks score about 0.67 against this question, the other documents' 0.
    List<QueryResult.Source> strong = all.stream().filter(x -> x.score() >= 0.3).toList();
    assertTrue(strong.size() > 1 && strong.size() < all.size(), all.toString());

    QueryResult kept = engine.query("volcano lava", top10.toBuilder().minScore(0.3).build());

    assertEquals(strong, kept.sources());
    assertFalse(kept.context().contains("[" + (strong.size() + 1) + "] "));

    QueryResult none = engine.query("volcano lava", top10.toBuilder().minScore(1).build());
    assertTrue(none.sources().isEmpty(), none.sources().toString());
    engine.query("volcano lava", top10.toBuilder().onlyContext(false).minScore(1).build());
    assertTrue(
        chat.requests().get(0).messages().get(0).content().endsWith("(none were found)\n"));
  }

  @Test
  void queryParams_minScore_refusesNaNAndScoresAboveOne_namingTheOption() {
    var nan =
        assertThrows(
            IllegalArgumentException.class, () -> QueryParams.builder().minScore(Double.NaN));
    assertEquals(
        "minScore: NaN (expected: at most 1, a cosine similarity; or NO_MIN_SCORE to keep every"
            + " chunk of the top k)",
        nan.getMessage());
    var above =
        assertThrows(IllegalArgumentException.class, () -> QueryParams.builder().minScore(1.5));
    assertEquals(
        "minScore: 1.5 (expected: at most 1, a cosine similarity; or NO_MIN_SCORE to keep every"
            + " chunk of the top k)",
        above.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new QueryParams(QueryMode.NAIVE, 5, 2, 1000, false));
    assertEquals(QueryParams.NO_MIN_SCORE, QueryParams.defaults().minScore());
    assertEquals(-0.5, QueryParams.builder().minScore(-0.5).build().toBuilder().build().minScore());
  }

  @Test
  void query_withoutChatModel_onlyContextWorksAndAnswersRefuseClearly() {
    RagEngine engine =
        open(RagEngine.builder().workingDir(dir).embeddingModel(embeddings).chunkSizeTokens(60)
            .chunkOverlapTokens(10));
    engine.insert(CORPUS);
    assertFalse(
        engine.query("lava", QueryParams.builder().onlyContext(true).build()).sources().isEmpty());
    var e = assertThrows(IllegalStateException.class, () -> engine.query("lava"));
    assertEquals(
        "no chatModel configured: set one on the builder, or query with onlyContext(true)",
        e.getMessage());
    // In BYPASS mode onlyContext gives an empty context: no advice to use it.
    var bypass =
        assertThrows(
            IllegalStateException.class,
            () -> engine.query("lava", QueryParams.mode(QueryMode.BYPASS)));
    assertEquals(
        "no chatModel configured: BYPASS mode only asks the chat model; set one on the builder",
        bypass.getMessage());
  }

  @Test
  void queryStream_deliversTheAnswersTokensAsTheyCome() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    List<String> tokens = new CopyOnWriteArrayList<>();

    QueryResult result =
        engine.queryStream(
            "magma",
            QueryParams.defaults(),
            new ChatStreamListener() {
              @Override
              public void onToken(String token) {
                tokens.add(token);
              }
            });

    assertTrue(tokens.size() > 1);
    assertEquals(result.answer().orElseThrow(), String.join("", tokens));
  }

  /** Records a stream's events in order, with the thread of each. */
  private static class StreamEvents implements ChatStreamListener {
    final List<String> events = new CopyOnWriteArrayList<>();
    final List<Thread> threads = new CopyOnWriteArrayList<>();
    volatile @Nullable ModelException error;

    @Override
    public void onToken(String token) {
      events.add("token");
      threads.add(Thread.currentThread());
    }

    @Override
    public void onComplete(ChatResponse response) {
      events.add("complete");
      threads.add(Thread.currentThread());
    }

    @Override
    public void onError(ModelException error) {
      events.add("error");
      threads.add(Thread.currentThread());
      this.error = error;
    }
  }

  @Test
  void queryStream_eventsComeFromTheChatWorker_notTheCaller() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    StreamEvents listener = new StreamEvents();

    engine.queryStream("magma", QueryParams.defaults(), listener);

    assertEquals("complete", listener.events.getLast());
    assertTrue(listener.threads.stream().noneMatch(Thread.currentThread()::equals));
    assertTrue(listener.threads.stream().allMatch(Thread::isVirtual));
  }

  @Test
  void queryStream_failingBeforeOrOutsideTheModelsStream_stillEndsWithOneOnError() {
    // Regression (found by a usability review): a query that failed where the model's stream
    // could not report it (its embedding, a chat model failing other than with ModelException)
    // left the listener waiting for an end that never came.
    RagEngine engine = open(builder());
    engine.insert(CORPUS);

    chat.responder(
        request -> {
          throw new IllegalStateException("chat bug");
        });
    StreamEvents chatBug = new StreamEvents();
    var thrown =
        assertThrows(
            IllegalStateException.class,
            () -> engine.queryStream("magma", QueryParams.defaults(), chatBug));
    assertEquals(List.of("error"), chatBug.events);
    assertSame(thrown, Objects.requireNonNull(chatBug.error).getCause());
    assertEquals(
        "the answer did not complete: IllegalStateException: chat bug", chatBug.error.getMessage());

    ModelException refused = new ModelException("HTTP 400: no", false, null);
    embeddings.failNext(1, refused);
    StreamEvents embedFailed = new StreamEvents();
    assertThrows(
        ModelException.class, () -> engine.queryStream("lava", QueryParams.defaults(), embedFailed));
    assertEquals(List.of("error"), embedFailed.events);
    assertEquals(1, chat.requests().size(), "a chat call after the failed embedding");


    chat.responder(
        request -> {
          throw new AssertionError("chat model bug");
        });
    StreamEvents error = new StreamEvents();
    assertThrows(
        AssertionError.class, () -> engine.queryStream("magma", QueryParams.defaults(), error));
    assertEquals(List.of("error"), error.events);

    // An onlyContext query never calls the listener, even when it fails.
    embeddings.failNext(1, refused);
    StreamEvents contextOnly = new StreamEvents();
    assertThrows(
        ModelException.class,
        () ->
            engine.queryStream(
                "lava", QueryParams.builder().onlyContext(true).build(), contextOnly));
    assertEquals(List.of(), contextOnly.events);

    // An argument error throws at the call site and sends nothing.
    StreamEvents refusedAtOnce = new StreamEvents();
    assertThrows(
        IllegalArgumentException.class,
        () -> engine.queryStream(" ", QueryParams.defaults(), refusedAtOnce));
    assertEquals(List.of(), refusedAtOnce.events);
  }

  @Test
  void queryStream_timedOutWhileTheListenerIsBusy_throwsAtOnce_andTheListenerHearsTheEndAfter()
      throws Exception {
    // Regression (found by a review): the caller waited for the listener's lock to deliver the
    // end, so a listener stuck in onToken held queryStream long past its callTimeout.
    CountDownLatch inToken = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    StreamEvents events =
        new StreamEvents() {
          @Override
          public void onToken(String token) {
            super.onToken(token);
            inToken.countDown();
            awaitIgnoringInterrupts(release);
          }
        };
    RagEngine engine = open(builder().callTimeout(Duration.ofMillis(300)));
    engine.insert(CORPUS);

    assertThrows(
        CallTimeoutException.class,
        () -> engine.queryStream("magma", QueryParams.defaults(), events));

    // queryStream returned although the listener cannot leave onToken before the release below.
    assertTrue(inToken.await(10, TimeUnit.SECONDS));
    release.countDown();
    await("the end delivered by the worker", () -> events.events.size() == 2);
    assertEquals(List.of("token", "error"), events.events);
    assertTrue(
        Objects.requireNonNull(events.error).getCause() instanceof CallTimeoutException,
        String.valueOf(events.error));
  }

  @Test
  void queryStream_closeFromOnErrorAfterATimeout_doesNotWaitForTheTimedOutCall() {
    // Regression (found by a review): the caller ran onError holding the listener's lock; the
    // timed-out model, interrupted, reported its own onError and parked on that lock, and close()
    // (called from onError) waited out drainTimeout for it.
    // The model reports its interruption only once the caller's onError has begun, so that the
    // caller's is first, and the model's comes while close() runs.
    CountDownLatch callerInOnError = new CountDownLatch(1);
    chat.responder(
        request -> {
          try {
            new CountDownLatch(1).await(); // until the timeout interrupts it
          } catch (InterruptedException e) {
            awaitIgnoringInterrupts(callerInOnError);
            Thread.currentThread().interrupt();
            throw new ModelException("interrupted", false, e);
          }
          throw new AssertionError("unreachable");
        });
    RagEngine engine =
        open(builder().callTimeout(Duration.ofMillis(300)).drainTimeout(Duration.ofDays(1)));
    engine.insert(CORPUS);
    StreamEvents events =
        new StreamEvents() {
          @Override
          public void onError(ModelException error) {
            super.onError(error);
            callerInOnError.countDown();
            engine.close();
          }
        };

    assertThrows(
        CallTimeoutException.class,
        () -> engine.queryStream("magma", QueryParams.defaults(), events));

    assertEquals(List.of("error"), events.events);
    assertTrue(
        Objects.requireNonNull(events.error).getCause() instanceof CallTimeoutException,
        String.valueOf(events.error));
    assertThrows(IllegalStateException.class, () -> engine.query("lava")); // closed, not hung
  }

  private static void awaitIgnoringInterrupts(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void queryStream_listenerThrowing_hearsNothingMore() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    List<String> events = new CopyOnWriteArrayList<>();
    ChatStreamListener throwing =
        new ChatStreamListener() {
          @Override
          public void onToken(String token) {
            events.add("token");
            throw new IllegalStateException("listener bug");
          }

          @Override
          public void onError(ModelException error) {
            events.add("error");
          }
        };

    var e =
        assertThrows(
            IllegalStateException.class,
            () -> engine.queryStream("magma", QueryParams.defaults(), throwing));

    assertEquals("listener bug", e.getMessage());
    assertEquals(List.of("token"), events);
  }

  @Test
  void query_nothingRetrieved_stillSendsTheInstructions_soTheModelSaysItDoesNotKnow() {
    // Regression: with no sources the bare question went to the model, which then answered from
    // its own knowledge instead of saying the documents do not hold the answer.
    RagEngine engine = open(builder());

    QueryResult result = engine.query("what is the capital of France?");

    assertTrue(result.sources().isEmpty());
    assertEquals("", result.context());
    List<Message> messages = chat.requests().get(0).messages();
    assertEquals(2, messages.size());
    assertEquals(Role.SYSTEM, messages.get(0).role());
    assertTrue(messages.get(0).content().contains("say that you do not know"), messages.toString());
    assertTrue(messages.get(0).content().endsWith("Sources:\n(none were found)\n"));
    assertEquals(Message.user("what is the capital of France?"), messages.get(1));
  }

  @Test
  void query_bypassWithOnlyContext_returnsAnEmptyContext_withoutAChatModel() {
    // Regression: BYPASS was looked at before onlyContext, so the chat model was called anyway,
    // and without one the query failed with a NullPointerException.
    RagEngine engine = open(builder().storage(InMemoryStorage.create()));
    RagEngine noChat =
        open(RagEngine.builder().storage(InMemoryStorage.create()).embeddingModel(embeddings));
    QueryParams params = QueryParams.builder().mode(QueryMode.BYPASS).onlyContext(true).build();

    for (RagEngine e : List.of(engine, noChat)) {
      QueryResult result = e.query("hello there", params);
      assertTrue(result.answer().isEmpty());
      assertEquals("", result.context());
      assertTrue(result.sources().isEmpty());
    }
    assertEquals(0, chat.callCount());
  }

  @Test
  void reopenedWithAModelOfAnotherDimension_insertsFailAndQueriesThrow_namingTheMismatch() {
    // Regression: both failed with the store's "vector: dimension 32 (expected: 64)", and the
    // query's about a vector the caller never passed.
    try (RagEngine first = builder().build()) {
      assertEquals(3, first.insert(CORPUS).processed());
    }
    FakeEmbeddingModel other = new FakeEmbeddingModel(32);
    RagEngine engine = open(builder().embeddingModel(other));
    String expected =
        "embeddingModel "
            + other.modelName()
            + ": 32-d vectors, but the stored chunks have 64-d ones, from another model (expected:"
            + " the model they were embedded with, or another working directory)";

    var query = assertThrows(IllegalStateException.class, () -> engine.query("volcano lava"));
    DocumentReport report =
        engine.insert(Document.of("new", about("tides moon ocean", 5))).documents().get(0);

    assertEquals(expected, query.getMessage());
    assertEquals(Outcome.FAILED, report.outcome());
    assertEquals("IllegalStateException: " + expected, report.error().orElseThrow());
    assertEquals(0, chat.callCount());
  }

  @Test
  void query_bypass_sendsOnlyTheQuestion() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    QueryResult result = engine.query("hello there", QueryParams.mode(QueryMode.BYPASS));
    assertTrue(result.sources().isEmpty());
    assertEquals(List.of(Message.user("hello there")), chat.requests().get(0).messages());
  }

  // --- duplicates, ids, durability ---------------------------------------------------------

  @Test
  void insert_duplicateContent_isReportedAndNotProcessedAgain() {
    RagEngine engine = open(builder());
    Document a = Document.of(about("comets", 3));
    InsertReport first = engine.insert(List.of(a, Document.of(about("comets", 3))));
    int callsAfterFirst = embeddings.callCount();

    InsertReport second = engine.insert(List.of(Document.of("other-id", about("comets", 3))));

    String id = first.documents().get(0).docId();
    assertTrue(id.startsWith("doc-"), id);
    assertEquals(Outcome.PROCESSED, first.documents().get(0).outcome());
    assertEquals(Outcome.DUPLICATE, first.documents().get(1).outcome());
    assertEquals(id, first.documents().get(1).duplicateOf().orElseThrow());
    assertEquals(Optional.empty(), first.documents().get(1).error()); // nothing to do about it
    DocumentReport dup = second.documents().get(0);
    assertEquals(Outcome.DUPLICATE, dup.outcome());
    assertEquals(id, dup.duplicateOf().orElseThrow()); // same content under another id
    assertEquals(Optional.empty(), dup.error());
    assertEquals(callsAfterFirst, embeddings.callCount());
  }

  @Test
  void insert_knownIdWithOtherContent_isReportedDuplicateOfItself_sayingTheContentWasNotStored() {
    // Regression: the report said only "duplicate of comets", and the new content was dropped
    // without a word.
    RagEngine engine = open(builder());
    engine.insert(List.of(Document.of("comets", about("comets", 3))));
    int callsAfterFirst = embeddings.callCount();

    InsertReport again =
        engine.insert(
            List.of(
                Document.of("volcanoes", about("volcanoes", 3)),
                Document.of("comets", about("gardens", 3))));

    assertEquals(Outcome.PROCESSED, again.documents().get(0).outcome());
    DocumentReport dup = again.documents().get(1);
    assertEquals(Outcome.DUPLICATE, dup.outcome());
    assertEquals("comets", dup.duplicateOf().orElseThrow());
    assertEquals(
        Optional.of(
            "id comets is taken by a document with other content; this content was not stored"
                + " under it (a document cannot be replaced: insert it under another id)"),
        dup.error());
    assertEquals(callsAfterFirst + 1, embeddings.callCount()); // only the new document's
  }

  @Test
  void insert_vectorsOfDifferentLengthsForOneDocument_failOnlyThatDocument() {
    // Only the first vector's length was checked against the store; a later one of another
    // length failed at commit, with the store's "vector: dimension" about no vector of the caller.
    EmbeddingModel uneven =
        ForwardingEmbeddingModel.mappingVectors(
            embeddings,
            (text, v) -> text.contains("the end") ? Arrays.copyOf(v, v.length - 1) : v);
    RagEngine engine =
        open(builder().embeddingModel(uneven).chunkSizeTokens(64).chunkOverlapTokens(0));

    InsertReport report =
        engine.insert(
            List.of(
                Document.of("even", about("rivers", 12)),
                Document.of("uneven", about("bridges", 12) + " And that is the end.")));

    assertEquals(Outcome.PROCESSED, report.documents().get(0).outcome(), report.toString());
    DocumentReport failed = report.documents().get(1);
    assertEquals(Outcome.FAILED, failed.outcome());
    assertEquals(
        Optional.of(
            "ModelException: embedding model "
                + embeddings.modelName()
                + " returned vectors of different lengths for one document: 64 and 63 floats"
                + " (expected: one length)"),
        failed.error());
  }

  @Test
  void insert_knownIdWithContentStoredElsewhere_saysWhereTheContentIs() {
    // Found in review: with the content matched first (in the call, or stored under another id),
    // a taken id got no note, or one saying the content was not stored when it was.
    RagEngine engine = open(builder());
    engine.insert(
        List.of(
            Document.of("comets", about("comets", 3)),
            Document.of("gardens", about("gardens", 3))));

    InsertReport again =
        engine.insert(
            List.of(
                Document.of("volcanoes", about("volcanoes", 3)),
                Document.of("comets", about("volcanoes", 3)), // its content is in this call
                Document.of("comets", about("gardens", 3)))); // its content is stored

    String taken =
        "id comets is taken by a document with other content; this content was not stored under"
            + " it; the same content is stored as ";
    assertEquals(Optional.of(taken + "volcanoes"), again.documents().get(1).error());
    assertEquals(Optional.of(taken + "gardens"), again.documents().get(2).error());
    assertEquals(
        List.of("volcanoes", "comets"), // the content's holder in the call, then the taken id
        again.documents().subList(1, 3).stream()
            .map(d -> d.duplicateOf().orElseThrow())
            .toList());
  }

  @Test
  void insert_duplicateOfAFailedDocument_saysSoWithItsReason_andPointsToRetryFailed() {
    // Regression: it was reported a duplicate of itself, with no hint that it had failed.
    var failing = new AtomicBoolean(true);
    RagEngine engine = open(builder().embeddingModel(refusingWhile(failing)));
    Document doc = Document.of(about("comets", 3));
    String reason = engine.insert(List.of(doc)).documents().get(0).error().orElseThrow();
    failing.set(false);

    InsertReport again =
        engine.insert(List.of(doc, Document.of("same-text-other-id", doc.content())));

    String note = "the document it duplicates FAILED (" + reason + "); retryFailed() processes it"
        + " again";
    for (DocumentReport dup : again.documents()) {
      assertEquals(Outcome.DUPLICATE, dup.outcome());
      assertEquals(Optional.of(note), dup.error());
    }
  }

  @Test
  void insert_returns_afterResultsAreDurable_reopenedEngineFindsThem() {
    try (RagEngine engine = builder().build()) {
      engine.insert(CORPUS);
    }
    RagEngine reopened = open(builder());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(reopened.stats().documents()));
    assertEquals(
        "volcanoes",
        reopened
            .query("volcano eruption", QueryParams.builder().onlyContext(true).build())
            .sources()
            .get(0)
            .docId());
    assertEquals(0, reopened.resumed().join().documents().size());
  }

  @Test
  void open_documentsLeftPending_areResumedAndProcessedOnce() {
    // A previous run accepted two documents and stopped before processing them: record exactly
    // what insert records before any work, with the engine's own namespaces.
    try (EmbeddedStorage storage =
        EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(dir).build())) {
      for (Document d : CORPUS.subList(0, 2)) {
        storage.commit(
            new io.ragengine.store.UnitOfWork()
                .put(IngestPipeline.DOCS, d.explicitId().orElseThrow(),
                    "{\"content\":" + quote(d.content()) + "}")
                .putDocStatus(
                    io.ragengine.store.DocStatusRecord.pending(
                        d.explicitId().orElseThrow(), java.time.Instant.now())));
      }
    }

    RagEngine engine = open(builder());
    InsertReport resumed = engine.resumed().join();

    assertEquals(2, resumed.processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 2), nonZero(engine.stats().documents()));
    // Inserting them again now is a duplicate, not a second processing.
    assertEquals(1, engine.insert(CORPUS.get(0)).duplicates());
  }

  @Test
  void open_leftoverWhoseTextIsUnreadable_isFailedWithTheReasonNotStuck() {
    try (EmbeddedStorage storage =
        EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(dir).build())) {
      storage.commit(
          new io.ragengine.store.UnitOfWork()
              .put(IngestPipeline.DOCS, "broken", "{not json")
              .putDocStatus(
                  io.ragengine.store.DocStatusRecord.pending("broken", java.time.Instant.now())));
    }

    RagEngine engine = open(builder());
    InsertReport resumed = engine.resumed().join();

    DocumentReport report = resumed.documents().get(0);
    assertEquals(Outcome.FAILED, report.outcome());
    assertEquals("the document's text is missing from the store or unreadable",
        report.error().orElseThrow());
    assertEquals(Map.of(DocStatus.FAILED, 1), nonZero(engine.stats().documents()));
  }

  @Test
  void insert_chunksOnPlatformThreads_notOnTheVirtualThreadsCarriers() {
    // A virtual thread is never preempted: documents chunking on virtual threads held every
    // carrier and starved the embedding workers and the committer. Chunking must stay off them.
    List<Boolean> virtual = new CopyOnWriteArrayList<>();
    Tokenizer recording =
        new ForwardingTokenizer(Tokenizer.cl100k()) {
          @Override
          public int[] encode(String text) {
            virtual.add(Thread.currentThread().isVirtual());
            return super.encode(text);
          }
        };
    RagEngine engine = open(builder().tokenizer(recording));

    engine.insert(CORPUS);

    assertEquals(CORPUS.size(), virtual.size()); // one encode per document
    assertFalse(virtual.contains(true), virtual.toString());
  }

  private static Map<DocStatus, Integer> nonZero(Map<DocStatus, Integer> counts) {
    return counts.entrySet().stream()
        .filter(e -> e.getValue() != 0)
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  @Test
  void insert_lastDocumentQueued_partialBatchGoesWithoutWaitingForMaxWait() throws Exception {
    // An hour's maxWait: only the flush after the last document can send the partial batch.
    RagEngine engine = open(builder().embeddingMaxWait(java.time.Duration.ofHours(1)));

    InsertReport report = engine.insertAsync(CORPUS).get(10, TimeUnit.SECONDS);

    assertEquals(3, report.processed());
    assertEquals(1, engine.stats().embeddingCalls());
  }

  @Test
  void insert_rightAfterOpen_isNotAlsoResumed() {
    // Regression: resume once read PENDING documents in the background after open, and could
    // take the documents an insert had just recorded, processing them twice.
    for (int round = 0; round < 5; round++) {
      Path roundDir = dir.resolve("round-" + round);
      try (RagEngine engine = builder().workingDir(roundDir).build()) {
        InsertReport report = engine.insert(CORPUS);
        int chunks = report.documents().stream().mapToInt(DocumentReport::chunks).sum();
        engine.resumed().join();
        assertEquals(chunks, engine.stats().chunksEmbedded());
        assertEquals(3, engine.stats().documentsProcessed());
      }
    }
  }

  @Test
  void retryFailed_concurrentCalls_processEachDocumentOnce() throws Exception {
    // The second retry lists the documents while the first has claimed them but not yet marked
    // them PROCESSING (it is reading their texts), so only the claims keep them apart; left to
    // chance, the two calls often did not overlap at all.
    var failing = new AtomicBoolean(true);
    var holdNextRead = new AtomicBoolean();
    var entered = new CountDownLatch(1);
    var release = new CountDownLatch(1);
    Storage inner = InMemoryStorage.create();
    KvStore kv =
        watchingTextReads(
            inner.kv(),
            texts -> {
              if (holdNextRead.compareAndSet(true, false)) {
                entered.countDown();
                awaitOpen(release, "the test to let the first retry go on");
              }
            });
    RagEngine engine =
        open(
            builder()
                .storage(ForwardingStorage.withKv(inner, kv))
                .embeddingModel(refusingWhile(failing)));
    assertEquals(3, engine.insert(CORPUS).failed());
    failing.set(false);

    holdNextRead.set(true);
    // Threads of their own: the common pool may have one thread only, held by the first.
    var first = CompletableFuture.supplyAsync(engine::retryFailed, Thread.ofVirtual()::start);
    assertTrue(entered.await(10, TimeUnit.SECONDS));
    InsertReport second;
    try {
      second =
          CompletableFuture.supplyAsync(engine::retryFailed, Thread.ofVirtual()::start)
              .get(10, TimeUnit.SECONDS);
    } finally {
      release.countDown();
    }

    assertEquals(0, second.processed(), second.toString());
    assertEquals(3, second.documents().size(), second.toString()); // all listed, all held
    assertTrue(
        second.documents().stream().allMatch(d -> d.outcome() == Outcome.DUPLICATE),
        second.toString());
    assertEquals(3, first.get(10, TimeUnit.SECONDS).processed());
    assertEquals(3, engine.stats().documentsProcessed());
  }

  @Test
  void retryFailed_documentsAnotherCallRetriedAfterThisOneListedThem_areNotProcessedAgain()
      throws Exception {
    // Regression: retryFailed listed the FAILED documents, then claimed them. A call that
    // processed them in between had released its claims, so they were processed twice.
    var failing = new AtomicBoolean(true);
    EmbeddingModel flaky = refusingWhile(failing);
    var pauseNextListing = new AtomicBoolean();
    var listed = new CountDownLatch(1);
    var goOn = new CountDownLatch(1);
    Storage inner = InMemoryStorage.create();
    DocStatusStore statuses =
        new ForwardingDocStatusStore(inner.docStatus()) {
          @Override
          public List<DocStatusRecord> byStatus(DocStatus status) {
            List<DocStatusRecord> found = super.byStatus(status);
            if (status == DocStatus.FAILED && pauseNextListing.getAndSet(false)) {
              listed.countDown();
              awaitOpen(goOn, "the test to let the listing go on");
            }
            return found;
          }
        };
    Storage storage = ForwardingStorage.withDocStatus(inner, statuses);
    RagEngine engine = open(builder().storage(storage).embeddingModel(flaky));
    assertEquals(3, engine.insert(CORPUS).failed());
    failing.set(false);

    pauseNextListing.set(true);
    var late = CompletableFuture.supplyAsync(engine::retryFailed);
    assertTrue(listed.await(10, TimeUnit.SECONDS)); // it has the 3 listed
    assertEquals(3, engine.retryFailed().processed());
    goOn.countDown();
    InsertReport lateReport = late.get(10, TimeUnit.SECONDS);

    assertEquals(0, lateReport.processed());
    assertTrue(
        lateReport.documents().stream().allMatch(d -> d.outcome() == Outcome.DUPLICATE),
        lateReport.toString());
    assertEquals(3, engine.stats().documentsProcessed());
  }

  @Test
  void retryFailed_storeFailsAfterTheClaims_throwsAndLetsGoOfThem_theNextRetryProcessesAll() {
    // Regression: the documents claimed before the failure stayed claimed, and every later
    // retryFailed took them for documents being processed and skipped them.
    var failing = new AtomicBoolean(true);
    var failNextRead = new AtomicBoolean();
    Storage inner = InMemoryStorage.create();
    DocStatusStore statuses =
        new ForwardingDocStatusStore(inner.docStatus()) {
          @Override
          public Map<String, DocStatusRecord> getAll(Collection<String> docIds) {
            if (failNextRead.getAndSet(false)) {
              throw new StoreException("read failed");
            }
            return super.getAll(docIds);
          }
        };
    RagEngine engine =
        open(
            builder()
                .storage(ForwardingStorage.withDocStatus(inner, statuses))
                .embeddingModel(refusingWhile(failing)));
    assertEquals(3, engine.insert(CORPUS).failed());
    failing.set(false);

    failNextRead.set(true); // fails once every document is claimed
    var e = assertThrows(StoreException.class, engine::retryFailed);
    assertEquals("read failed", e.getMessage());

    assertEquals(3, engine.retryFailed().processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(engine.stats().documents()));
  }

  @Test
  void retryFailed_goesAPageAtATime_oneTextReadPerPage_everyDocumentReported() {
    // Regression: a retry or resume read every document's text, one read per document, before it
    // processed the first; a resume after a crash mid-way through a huge insert held them all.
    var failing = new AtomicBoolean(true);
    Storage inner = InMemoryStorage.create();
    List<Integer> textReads = new CopyOnWriteArrayList<>();
    KvStore kv = watchingTextReads(inner.kv(), textReads::add);
    List<IngestProgress> events = new CopyOnWriteArrayList<>();
    RagEngine engine =
        open(
            builder()
                .storage(ForwardingStorage.withKv(inner, kv))
                .embeddingModel(refusingWhile(failing))
                .progressListener(events::add));
    List<Document> six = new ArrayList<>(CORPUS);
    six.add(Document.of("tides", about("tide moon ocean current", 12)));
    six.add(Document.of("bridges", about("bridge steel cable span", 12)));
    six.add(Document.of("lost", about("lost text gone", 12)));
    assertEquals(6, engine.insert(six).failed());
    inner.kv().delete(IngestPipeline.DOCS, "lost");
    failing.set(false);
    engine.pipeline().reprocessPage(2);
    events.clear();

    InsertReport report = engine.retryFailed();

    assertEquals(List.of(2, 2, 2), textReads);
    assertEquals(
        six.stream().map(d -> d.explicitId().orElseThrow()).sorted().toList(),
        report.documents().stream().map(DocumentReport::docId).sorted().toList());
    assertEquals(5, report.processed());
    assertEquals(
        List.of("lost"), report.with(Outcome.FAILED).stream().map(DocumentReport::docId).toList());
    assertEquals(
        Map.of(DocStatus.PROCESSED, 5, DocStatus.FAILED, 1), nonZero(engine.stats().documents()));
    // The progress totals count what was processed: the lost text's document is taken back.
    // (Listeners are told from several threads, so the last event told need not be the last.)
    IngestProgress last =
        events.stream().max(Comparator.comparingInt(IngestProgress::documentsDone)).orElseThrow();
    assertEquals(5, last.documentsDone());
    assertEquals(5, last.documents());
  }

  /** {@code inner}, telling {@code onRead} how many texts each read of document texts asks for. */
  private static KvStore watchingTextReads(KvStore inner, IntConsumer onRead) {
    return new ForwardingKvStore(inner) {
      @Override
      public Map<String, String> getAll(String namespace, Collection<String> keys) {
        if (namespace.equals(IngestPipeline.DOCS)) {
          onRead.accept(keys.size());
        }
        return super.getAll(namespace, keys);
      }

      @Override
      public Optional<String> get(String namespace, String key) {
        if (namespace.equals(IngestPipeline.DOCS)) {
          onRead.accept(1);
        }
        return super.get(namespace, key);
      }
    };
  }

  @Test
  void retryFailed_storeFailsReadingATextBack_throws_theDocumentsStayFailedWithTheirReason() {
    // Regression: a failing read of a document's text was taken for a text missing or unreadable,
    // so a transient store error recorded the document FAILED for a reason that was not true.
    var failing = new AtomicBoolean(true);
    var failTextReads = new AtomicBoolean();
    Storage inner = InMemoryStorage.create();
    KvStore kv =
        watchingTextReads(
            inner.kv(),
            keys -> {
              if (failTextReads.get()) {
                throw new StoreException("read failed");
              }
            });
    RagEngine engine =
        open(
            builder()
                .storage(ForwardingStorage.withKv(inner, kv))
                .embeddingModel(refusingWhile(failing)));
    List<String> reasons =
        engine.insert(CORPUS).documents().stream().map(d -> d.error().orElseThrow()).toList();
    failing.set(false);

    failTextReads.set(true);
    var e = assertThrows(StoreException.class, engine::retryFailed);
    assertEquals("read failed", e.getMessage());
    List<DocStatusRecord> stored =
        CORPUS.stream()
            .map(d -> inner.docStatus().get(d.explicitId().orElseThrow()).orElseThrow())
            .toList();
    assertEquals(reasons, stored.stream().map(DocStatusRecord::error).toList());

    failTextReads.set(false);
    assertEquals(3, engine.retryFailed().processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(engine.stats().documents()));
  }

  @Test
  void insert_engineClosedWhileItsPendingCommitRuns_reportsPending_andTheyResumeOnReopen()
      throws Exception {
    // Regression: the call went on to start its documents on the pipeline's threads, which
    // close() had shut down by then, and threw RejectedExecutionException.
    var storage =
        new HoldingStorage(
            EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(dir).build()));
    RagEngine engine = open(builder().storage(storage));
    engine.resumed().join();
    storage.holdNext.set(true);
    var inserting = CompletableFuture.supplyAsync(() -> engine.insert(CORPUS));
    assertTrue(storage.committing.await(10, TimeUnit.SECONDS));

    var closing = CompletableFuture.runAsync(engine::close);
    // The committer closes last, after the pipeline's threads: the commit ends after both.
    await(
        "close() to reach the committer", () -> engine.committer().isClosed());
    storage.release.countDown();
    InsertReport report = inserting.get(10, TimeUnit.SECONDS);
    closing.get(10, TimeUnit.SECONDS);

    assertEquals(CORPUS.size(), report.documents().size());
    assertTrue(
        report.documents().stream().allMatch(d -> d.outcome() == Outcome.PENDING),
        report.toString());
    try (RagEngine reopened = builder().build()) {
      assertEquals(3, reopened.resumed().get(10, TimeUnit.SECONDS).processed());
    }
  }

  @Test
  void close_drainTimeoutZero_interruptsRunningCallsOfBothModels() throws Exception {
    // Regression: the engine's limiters always had the default 30 s drain, and were closed one
    // after the other, so close() could block a minute with no way to shorten it.
    var chatCalling = new CountDownLatch(1);
    var embeddingCalling = new CountDownLatch(1);
    var interrupted = new CountDownLatch(2);
    EmbeddingModel stuck =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            if (texts.contains("a stuck question")) {
              blockUntilInterrupted(embeddingCalling, interrupted);
            }
            return super.embed(texts);
          }
        };
    chat.responder(
        request -> {
          blockUntilInterrupted(chatCalling, interrupted);
          return "unreachable";
        });
    RagEngine engine = open(builder().embeddingModel(stuck).drainTimeout(Duration.ZERO));
    engine.insert(CORPUS);
    var answering = engine.queryAsync("lava", QueryParams.defaults());
    // One after the other: the two questions must not share the stuck embedding call.
    assertTrue(chatCalling.await(10, TimeUnit.SECONDS));
    var embedding = engine.queryAsync("a stuck question", QueryParams.defaults());
    assertTrue(embeddingCalling.await(10, TimeUnit.SECONDS));

    CompletableFuture.runAsync(engine::close).get(10, TimeUnit.SECONDS);

    assertTrue(interrupted.await(10, TimeUnit.SECONDS));
    for (var query : List.of(answering, embedding)) {
      assertThrows(ExecutionException.class, () -> query.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void close_fromInsideAChatCall_doesNotWaitForThatCall() throws Exception {
    // Found in review before release: with the chat limiter closed on another thread, it could
    // not tell the call closing the engine was its own, waited drainTimeout for it, interrupted
    // it, and the storage then failed to close.
    RagEngine engine = open(builder().drainTimeout(Duration.ofDays(1)));
    engine.insert(CORPUS);
    var closedInside = new CompletableFuture<Void>();
    ChatStreamListener closer =
        new ChatStreamListener() {
          @Override
          public void onToken(String token) {
            if (!closedInside.isDone()) {
              try {
                engine.close();
                closedInside.complete(null);
              } catch (RuntimeException | Error e) {
                closedInside.completeExceptionally(e);
              }
            }
          }
        };

    var query =
        CompletableFuture.supplyAsync(
            () -> engine.queryStream("lava", QueryParams.defaults(), closer));

    closedInside.get(10, TimeUnit.SECONDS); // a day's drain would time this out
    assertTrue(query.handle((result, failure) -> true).get(10, TimeUnit.SECONDS));
    assertThrows(IllegalStateException.class, engine::stats);
  }

  /** Counts down {@code calling}, then waits to be interrupted and counts down {@code done}. */
  private static void blockUntilInterrupted(CountDownLatch calling, CountDownLatch done) {
    calling.countDown();
    try {
      new CountDownLatch(1).await(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      done.countDown();
      throw new IllegalStateException("interrupted");
    }
  }

  @Test
  void close_whileAnEmbeddingCallFails_leavesTheDocumentToResume_notFailed() throws Exception {
    // Regression: only a LimiterClosedException or an IllegalStateException counted as caused by
    // close(). A call interrupted at drainTimeout may fail as the model's own error instead, and
    // the document was recorded FAILED, never to resume.
    var calling = new CountDownLatch(1);
    var fail = new CountDownLatch(1);
    EmbeddingModel failsWhenTold =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            calling.countDown();
            awaitOpen(fail, "the test to fail the call");
            throw new ModelException("HTTP 503: interrupted while reading", true, null);
          }
        };
    RagEngine engine = open(builder().embeddingModel(failsWhenTold));
    var inserting = CompletableFuture.supplyAsync(() -> engine.insert(CORPUS.get(0)));
    assertTrue(calling.await(10, TimeUnit.SECONDS));

    var closing = CompletableFuture.runAsync(engine::close);
    await("close() to stop the pipeline", engine::pipelineClosing);
    fail.countDown();
    InsertReport report = inserting.get(10, TimeUnit.SECONDS);
    closing.get(10, TimeUnit.SECONDS);

    assertEquals(Outcome.PENDING, report.documents().get(0).outcome(), report.toString());
    try (RagEngine reopened = builder().build()) {
      assertEquals(1, reopened.resumed().get(10, TimeUnit.SECONDS).processed());
    }
  }

  @ParameterizedTest(name = "reprocessPage {0}")
  @ValueSource(ints = {1, IngestPipeline.REPROCESS_PAGE})
  void close_whileRetryFailedWaitsForASlot_reportsTheWaitingDocumentStillFailed(int page)
      throws Exception {
    // Regression: it was reported PENDING, "resumes on the next open", but it was still FAILED
    // in the store, and the next open resumes only PENDING and PROCESSING documents. With pages
    // of one, the second document's page never starts.
    var failing = new AtomicBoolean(true);
    var holdChunking = new AtomicBoolean();
    var chunking = new CountDownLatch(1);
    var chunk = new CountDownLatch(1);
    Tokenizer held =
        new ForwardingTokenizer(Tokenizer.cl100k()) {
          @Override
          public int[] encode(String text) {
            if (holdChunking.getAndSet(false)) {
              chunking.countDown();
              awaitOpen(chunk, "the test to let chunking go on");
            }
            return super.encode(text);
          }
        };
    RagEngine engine =
        open(
            builder()
                .tokenizer(held)
                .embeddingModel(refusingWhile(failing))
                .maxParallelInsert(1));
    assertEquals(2, engine.insert(CORPUS.subList(0, 2)).failed());
    failing.set(false);
    engine.pipeline().reprocessPage(page);

    holdChunking.set(true);
    var retrying = CompletableFuture.supplyAsync(engine::retryFailed);
    assertTrue(chunking.await(10, TimeUnit.SECONDS)); // the first holds the one slot
    var closing = CompletableFuture.runAsync(engine::close);
    await("close() to stop the pipeline", engine::pipelineClosing);
    chunk.countDown();
    InsertReport report = retrying.get(10, TimeUnit.SECONDS);
    closing.get(10, TimeUnit.SECONDS);

    // The first was marked PROCESSING before it stopped: it resumes. The second never started.
    List<DocumentReport> docs = report.documents();
    assertEquals(Outcome.PENDING, docs.get(0).outcome(), report.toString());
    assertEquals(Outcome.FAILED, docs.get(1).outcome(), report.toString());
    assertTrue(docs.get(1).error().orElseThrow().startsWith(
        "the engine closed before the retry began; still failed: ModelException: HTTP 401"),
        report.toString());
    try (RagEngine reopened = builder().build()) {
      assertEquals(1, reopened.resumed().get(10, TimeUnit.SECONDS).processed());
      assertEquals(
          Map.of(DocStatus.PROCESSED, 1, DocStatus.FAILED, 1),
          nonZero(reopened.stats().documents()));
    }
  }

  /**
   * Holds the first commit after {@link #holdNext} is set until {@link #release} opens, and tells
   * {@link #committing} once it holds it.
   */
  private static final class HoldingStorage extends ForwardingStorage {
    final AtomicBoolean holdNext = new AtomicBoolean();
    final CountDownLatch committing = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    HoldingStorage(Storage delegate) {
      super(delegate);
    }

    @Override
    public void commit(UnitOfWork unit) {
      if (holdNext.getAndSet(false)) {
        committing.countDown();
        awaitOpen(release, "the test to release the commit");
      }
      super.commit(unit);
    }
  }

  /** The fake embeddings, refusing every call with a 401 while {@code failing} is set. */
  private EmbeddingModel refusingWhile(AtomicBoolean failing) {
    return new ForwardingEmbeddingModel(embeddings) {
      @Override
      public List<float[]> embed(List<String> texts) {
        if (failing.get()) {
          throw new ModelException("HTTP 401: invalid key", false, null);
        }
        return super.embed(texts);
      }
    };
  }

  @Test
  void insert_chunksWhileItsPendingCommitRuns_butCallsNoModelBeforeItIsDurable()
      throws Exception {
    var storage = new HoldingStorage(InMemoryStorage.create());
    List<String> encoded = new CopyOnWriteArrayList<>();
    var allEncoded = new CountDownLatch(CORPUS.size());
    Tokenizer recording =
        new ForwardingTokenizer(Tokenizer.cl100k()) {
          @Override
          public int[] encode(String text) {
            encoded.add(text);
            allEncoded.countDown();
            return super.encode(text);
          }
        };
    RagEngine engine = open(builder().storage(storage).tokenizer(recording));
    engine.resumed().join();

    storage.holdNext.set(true);
    var insert = engine.insertAsync(CORPUS);
    assertTrue(storage.committing.await(10, TimeUnit.SECONDS));

    // The PENDING commit is held: every document gets chunked meanwhile, but nothing is embedded.
    assertTrue(allEncoded.await(10, TimeUnit.SECONDS));
    assertEquals(0, embeddings.callCount());
    assertEquals(Map.of(), nonZero(engine.stats().documents()));
    storage.release.countDown();
    assertEquals(3, insert.get(10, TimeUnit.SECONDS).processed());
    assertEquals(CORPUS.size(), encoded.size()); // each chunked once: its turn took the result
  }

  @Test
  void insert_pendingCommitFails_throwsItsErrorAndCallsNoModel_laterInsertWorks() {
    var failNextCommit = new AtomicBoolean();
    Storage storage =
        new ForwardingStorage(InMemoryStorage.create()) {
          @Override
          public void commit(UnitOfWork unit) {
            if (failNextCommit.getAndSet(false)) {
              throw new StoreException("disk full");
            }
            super.commit(unit);
          }
        };
    RagEngine engine = open(builder().storage(storage));
    engine.resumed().join();

    failNextCommit.set(true);
    var e = assertThrows(StoreException.class, () -> engine.insert(CORPUS));

    assertEquals("disk full", e.getMessage());
    assertEquals(0, embeddings.callCount());
    assertEquals(Map.of(), nonZero(engine.stats().documents())); // nothing was acknowledged
    assertEquals(3, engine.insert(CORPUS).processed()); // the same documents go in afterwards
    assertEquals(3, engine.stats().documentsProcessed());
  }

  @Test
  void insert_maxParallelInsertOne_nextDocumentStartsWhileTheFirstIsBeingEmbedded()
      throws Exception {
    var gate = new CountDownLatch(1);
    var gated =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            awaitOpen(gate, "the test to open the gate");
            return super.embed(texts);
          }
        };
    List<IngestProgress> events = new CopyOnWriteArrayList<>();
    RagEngine engine =
        open(
            builder()
                .embeddingModel(gated)
                .maxParallelInsert(1)
                .embeddingMaxWait(java.time.Duration.ZERO)
                .progressListener(events::add));

    var report = engine.insertAsync(CORPUS.subList(0, 2));
    try {
      // One document slot, and no embedding can finish, yet the second document is chunked: the
      // first gave up its slot when its chunks were queued for embedding.
      await(
          "the second document chunked",
          () -> events.stream()
              .anyMatch(e -> e.docId().equals("databases")
                  && e.stage() == IngestProgress.Stage.CHUNKED));
      assertTrue(events.stream().noneMatch(e -> e.stage() == IngestProgress.Stage.EMBEDDED));
    } finally {
      gate.countDown();
    }

    assertEquals(2, report.get(10, TimeUnit.SECONDS).processed());
    assertEquals(
        List.of("volcanoes", "databases"),
        events.stream()
            .filter(e -> e.stage() == IngestProgress.Stage.PROCESSED)
            .map(IngestProgress::docId)
            .toList());
  }

  // --- failures ------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"a 400", "an over-long text"})
  void insert_oneDocumentsEmbeddingsRefused_itFailsWithReasonAndOthersGoOn(String refusal) {
    // Regression for the second: the IllegalArgumentException EmbeddingModel names for a text
    // longer than it takes failed every document with a text in the same embedding call.
    var poisoned =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            if (texts.stream().anyMatch(t -> t.contains("POISON"))) {
              throw refusal.equals("a 400")
                  ? new ModelException("HTTP 400: input rejected by the provider", false, null)
                  : new IllegalArgumentException("texts[0]: too long");
            }
            return super.embed(texts);
          }
        };
    RagEngine engine = open(builder().embeddingModel(poisoned));

    insertWithOneBadDocument_onlyItFails(
        engine,
        "POISON",
        refusal.equals("a 400")
            ? "ModelException: HTTP 400: input rejected by the provider"
            : "IllegalArgumentException: texts[0]: too long");
    // Every document announced its final unit to the committer; none is left announced.
    assertEquals(0, engine.committer().expected());
  }

  @Test
  void insert_oneDocumentCannotBeChunked_itFailsWithReasonAndOthersGoOn() {
    // Chunking runs on another thread than the document's: its failure must still come back as
    // the document's own.
    RagEngine engine =
        open(
            builder()
                .tokenizer(
                    failingOn(
                        "UNTOKENIZABLE",
                        () -> new IllegalStateException("tokenizer refused the text"))));

    insertWithOneBadDocument_onlyItFails(
        engine, "UNTOKENIZABLE", "IllegalStateException: tokenizer refused the text");
    assertEquals(0, engine.committer().expected());
  }

  @Test
  void insert_oneDocumentIsOnlySplitCharacters_itFailsSayingSo_andOthersGoOn() {
    // Regression: it had no chunks, and failed with "ArrayIndexOutOfBoundsException: Index 0 out
    // of bounds for length 0".
    RagEngine engine = open(builder().splitCharacter("---"));

    insertWithBadContent_onlyItFails(
        engine,
        "------\n---",
        "IllegalArgumentException: no chunks: the text is nothing but splitCharacter and white"
            + " space (expected: some text between split characters)");
  }

  @Test
  void insert_oneDocumentsChunkingThrowsAnError_itFailsWithReasonAndOthersGoOn() {
    // Regression: only a RuntimeException failed a document. An Error left it PENDING, to fail
    // again on every resume, and made insert throw while the call's other documents still ran.
    RagEngine engine =
        open(builder().tokenizer(failingOn("RECURSE", () -> new StackOverflowError("too deep"))));

    insertWithOneBadDocument_onlyItFails(engine, "RECURSE", "StackOverflowError: too deep");
  }

  /** cl100k, throwing what {@code failure} gives (unchecked) for a text holding {@code marker}. */
  private static Tokenizer failingOn(String marker, Supplier<? extends Throwable> failure) {
    return new ForwardingTokenizer(Tokenizer.cl100k()) {
      @Override
      public int[] encode(String text) {
        if (text.contains(marker)) {
          Throwable t = failure.get();
          if (t instanceof Error e) {
            throw e;
          }
          throw (RuntimeException) t;
        }
        return super.encode(text);
      }
    };
  }

  /** Inserts the corpus with a document holding {@code marker} second: only it fails. */
  private static void insertWithOneBadDocument_onlyItFails(
      RagEngine engine, String marker, String error) {
    insertWithBadContent_onlyItFails(engine, marker + " " + about("poison", 2), error);
  }

  private static void insertWithBadContent_onlyItFails(
      RagEngine engine, String badContent, String error) {
    List<Document> docs = new ArrayList<>(CORPUS);
    docs.add(1, Document.of("bad", badContent));

    InsertReport report = engine.insert(docs);

    assertEquals(3, report.processed());
    DocumentReport bad = report.documents().get(1);
    assertEquals(Outcome.FAILED, bad.outcome());
    assertEquals(error, bad.error().orElseThrow());
    var stored = engine.stats().documents();
    assertEquals(1, stored.get(DocStatus.FAILED));
    assertEquals(3, stored.get(DocStatus.PROCESSED));
  }

  @Test
  void retryFailed_afterTheCauseIsGone_processesTheFailedDocuments() {
    var failing = new AtomicInteger(1_000);
    var flaky =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            if (failing.get() > 0) {
              failing.decrementAndGet();
              throw new ModelException("HTTP 401: invalid key", false, null);
            }
            return super.embed(texts);
          }
        };
    RagEngine engine = open(builder().embeddingModel(flaky));
    assertEquals(3, engine.insert(CORPUS).failed());

    failing.set(0); // the key was fixed
    InsertReport retried = engine.retryFailed();

    assertEquals(3, retried.processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(engine.stats().documents()));
  }

  @Test
  void insert_failureCannotBeRecorded_reportSaysSo_andRetryFailedStillProcessesIt() {
    // Regression: the report said FAILED while the store kept the document unfinished, so
    // retryFailed() never took it and only a reopen processed it again.
    var failing = new AtomicBoolean(true);
    var refuseFailedStatus = new AtomicBoolean(true);
    Storage storage =
        new ForwardingStorage(InMemoryStorage.create()) {
          @Override
          public void commit(UnitOfWork unit) {
            boolean recordsFailed =
                unit.operations().stream()
                    .anyMatch(o -> o instanceof UnitOfWork.DocStatusPut p
                        && p.record().status() == DocStatus.FAILED);
            if (recordsFailed && refuseFailedStatus.get()) {
              throw new StoreException("disk full");
            }
            super.commit(unit);
          }
        };
    RagEngine engine = open(builder().storage(storage).embeddingModel(refusingWhile(failing)));

    InsertReport report = engine.insert(CORPUS);

    assertEquals(3, report.failed());
    for (var d : report.documents()) {
      assertEquals(
          Optional.of(
              "ModelException: HTTP 401: invalid key; recording FAILED in the store failed too"
                  + " (StoreException: disk full), so the store still has it unfinished:"
                  + " retryFailed() or the next open processes it again"),
          d.error());
    }
    assertEquals(0, nonZero(engine.stats().documents()).getOrDefault(DocStatus.FAILED, 0));
    failing.set(false);
    refuseFailedStatus.set(false);

    assertEquals(3, engine.retryFailed().processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(engine.stats().documents()));
    assertEquals(0, engine.retryFailed().documents().size()); // taken once, not again
  }

  // --- progress, order, stats ----------------------------------------------------------------

  @Test
  void progressListener_throwingAnError_changesNoOutcome() {
    RagEngine engine =
        open(
            builder()
                .progressListener(
                    p -> {
                      throw new AssertionError("listener bug");
                    }));

    InsertReport report = engine.insert(CORPUS);

    assertEquals(3, report.processed());
    assertEquals(Map.of(DocStatus.PROCESSED, 3), nonZero(engine.stats().documents()));
  }

  @Test
  void progressListener_seesEachStepAndDocumentsFinishInOrder() {
    List<IngestProgress> events = new CopyOnWriteArrayList<>();
    RagEngine engine = open(builder().maxParallelInsert(1).progressListener(events::add));

    engine.insert(CORPUS);

    List<String> processedOrder =
        events.stream()
            .filter(e -> e.stage() == IngestProgress.Stage.PROCESSED)
            .map(IngestProgress::docId)
            .toList();
    assertEquals(List.of("volcanoes", "databases", "gardening"), processedOrder);
    IngestProgress last = events.get(events.size() - 1);
    assertEquals(3, last.documents());
    assertEquals(3, last.documentsDone());
    assertEquals(last.chunks(), last.chunksEmbedded());
    assertEquals(
        List.of(IngestProgress.Stage.CHUNKED, IngestProgress.Stage.EMBEDDED,
            IngestProgress.Stage.PROCESSED),
        events.stream().filter(e -> e.docId().equals("volcanoes")).map(IngestProgress::stage)
            .toList());
  }

  @Test
  void stats_afterIngestAndQuery_countEverything() {
    RagEngine engine = open(builder());
    InsertReport report = engine.insert(CORPUS);
    engine.query("lava");
    int chunks = report.documents().stream().mapToInt(DocumentReport::chunks).sum();

    EngineStats stats = engine.stats();

    assertEquals(chunks, stats.chunks());
    assertEquals(chunks, stats.chunksEmbedded());
    assertEquals(3, stats.documentsProcessed());
    assertEquals(0, stats.documentsInFlight());
    assertTrue(stats.embeddingCalls() >= 2); // document batches and the question
    assertEquals(1, stats.chat().completed());
    assertEquals(Map.of(ChatCallKind.ANSWER, 1L, ChatCallKind.CHUNK_STAGE, 0L), stats.chatCalls());
    assertTrue(stats.commits() >= 1);
  }

  @Test
  void stats_chatCalls_countEachRunOfTheAnswer_includingARetryAndAFailure() {
    // A 429 (RetryLaterException) runs the call again: two provider calls, both counted. A call
    // that then fails for good is counted too: it spent budget.
    chat.reply("ok").failNext(1, new RetryLaterException(Duration.ZERO, null));
    RagEngine engine = open(builder());

    assertEquals("ok", engine.query("lava").answer().orElseThrow());
    chat.failNext(1, new ModelException("HTTP 400", false, null));
    assertThrows(ModelException.class, () -> engine.query("lava"));

    assertEquals(3, chat.requests().size());
    assertEquals(3L, engine.stats().chatCalls().get(ChatCallKind.ANSWER));
    assertEquals(0L, engine.stats().chatCalls().get(ChatCallKind.CHUNK_STAGE));
  }

  @Test
  void query_afterInsert_findsTheNewChunksInTheCache() {
    RagEngine engine = open(builder());
    engine.insert(CORPUS);

    QueryResult result = engine.query("lava", QueryParams.builder().onlyContext(true).build());

    assertTrue(result.sources().size() > 0);
    assertEquals(result.sources().size(), engine.stats().chunkCacheHits());
    assertEquals(0, engine.stats().chunkCacheMisses());
  }

  @Test
  void query_afterReopen_readsTheChunksFromTheStoreOnceThenFromTheCache() {
    RagEngine first = open(builder());
    first.insert(CORPUS);
    QueryResult before = first.query("lava", QueryParams.builder().onlyContext(true).build());
    first.close();
    RagEngine engine = open(builder());

    QueryResult cold = engine.query("lava", QueryParams.builder().onlyContext(true).build());
    EngineStats afterCold = engine.stats();
    QueryResult warm = engine.query("lava", QueryParams.builder().onlyContext(true).build());
    EngineStats afterWarm = engine.stats();

    int n = cold.sources().size();
    assertEquals(before.context(), cold.context());
    assertEquals(cold.context(), warm.context());
    assertEquals(0, afterCold.chunkCacheHits());
    assertEquals(n, afterCold.chunkCacheMisses());
    assertEquals(n, afterWarm.chunkCacheHits());
    assertEquals(n, afterWarm.chunkCacheMisses());
    assertEquals(0.5, afterWarm.chunkCacheHitRate());
  }

  @Test
  void queryAsync_cancelledWhileItsChatCallRuns_interruptsTheCall_andFreesTheSlot()
      throws Exception {
    // Regression: the future came from CompletableFuture.supplyAsync, whose cancel(true) does not
    // interrupt: the paid chat call ran on to its end, or to callTimeout, holding a chat slot.
    var started = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    chat.responder(
        request -> {
          started.countDown();
          try {
            if (!new CountDownLatch(1).await(10, TimeUnit.SECONDS)) {
              return "never interrupted";
            }
          } catch (InterruptedException e) {
            interrupted.countDown();
            throw new IllegalStateException("interrupted");
          }
          return "unreachable";
        });
    RagEngine engine = open(builder());
    engine.insert(CORPUS);

    CompletableFuture<QueryResult> future = engine.queryAsync("lava", QueryParams.defaults());
    assertTrue(started.await(10, TimeUnit.SECONDS));
    assertTrue(future.cancel(true));

    assertTrue(interrupted.await(10, TimeUnit.SECONDS), "the chat call was not interrupted");
    await("the chat slot to free up", () -> engine.stats().chat().running() == 0);
    assertThrows(CancellationException.class, future::join);
  }

  @Test
  void query_chunkCacheOff_readsTheStoreEveryTime() {
    RagEngine engine = open(builder().chunkCacheBytes(0));
    engine.insert(CORPUS);

    QueryResult first = engine.query("lava", QueryParams.builder().onlyContext(true).build());
    QueryResult second = engine.query("lava", QueryParams.builder().onlyContext(true).build());

    assertEquals(first.context(), second.context());
    assertEquals(0, engine.stats().chunkCacheHits());
    assertEquals(2L * first.sources().size(), engine.stats().chunkCacheMisses());
  }

  // --- bad input -----------------------------------------------------------------------------

  @Test
  void badInput_failsAtTheCallSiteNamingWhatIsWrong() {
    RagEngine engine = open(builder());
    var blank = assertThrows(IllegalArgumentException.class, () -> Document.of("  \n"));
    assertEquals("content: blank text of length 3 (expected: not blank)", blank.getMessage());
    List<Document> withNull = new ArrayList<>();
    withNull.add(CORPUS.get(0));
    withNull.add(null);
    var nul = assertThrows(NullPointerException.class, () -> engine.insert(withNull));
    assertEquals("documents[1]", nul.getMessage());
    var nulAsync = assertThrows(NullPointerException.class, () -> engine.insertAsync(withNull));
    assertEquals("documents[1]", nulAsync.getMessage());
    var question = assertThrows(IllegalArgumentException.class, () -> engine.query(" "));
    assertEquals("question: blank text of length 1 (expected: not blank)", question.getMessage());
    var topK =
        assertThrows(IllegalArgumentException.class, () -> QueryParams.builder().topK(0));
    assertEquals("topK: 0 (expected: in [1, 10000])", topK.getMessage());
    var cache =
        assertThrows(IllegalArgumentException.class, () -> RagEngine.builder().chunkCacheBytes(-1));
    assertEquals("chunkCacheBytes: -1 (expected: >= 0)", cache.getMessage());
  }

  @Test
  void document_nullMetadataKeyOrValue_isRefusedNamingIt() {
    // Regression (found by a usability review): Map.copyOf threw a bare NullPointerException.
    Map<String, String> nullValue = new HashMap<>();
    nullValue.put("author", null);
    Map<String, String> nullKey = new HashMap<>();
    nullKey.put(null, "x");
    Document doc = Document.of("text");

    var value = assertThrows(NullPointerException.class, () -> doc.withMetadata(nullValue));
    var key = assertThrows(NullPointerException.class, () -> doc.withMetadata(nullKey));

    assertEquals("metadata[author]: null (expected: a string)", value.getMessage());
    assertEquals("metadata: a null key (expected: strings)", key.getMessage());
  }

  @Test
  void unpairedSurrogates_areRefusedAtTheCallSite_pairsAreKept() {
    RagEngine engine = open(builder());
    // Regression: a text cut between the two halves of a pair was stored with "?" in their place,
    // and a question went to the models the same way: changed without a word.
    var content =
        assertThrows(IllegalArgumentException.class, () -> Document.of("secret text \uD83D"));
    assertEquals(
        "content: unpaired surrogate U+D83D at index 12 of 13 (expected: well-formed UTF-16 text;"
            + " UTF-8 cannot carry an unpaired surrogate, so it would be stored changed)",
        content.getMessage());
    var lowFirst =
        assertThrows(IllegalArgumentException.class, () -> Document.of("x", "\uDE42 then a pair"));
    assertStartsWith("content: unpaired surrogate U+DE42 at index 0", lowFirst);
    var id = assertThrows(IllegalArgumentException.class, () -> Document.of("id-\uD83D", "text"));
    assertStartsWith("id: unpaired surrogate U+D83D at index 3 of 4", id);
    var metadata =
        assertThrows(
            IllegalArgumentException.class,
            () -> Document.of("text").withMetadata(Map.of("author", "A\uDC00")));
    assertStartsWith("metadata[author]: unpaired surrogate U+DC00", metadata);
    var question =
        assertThrows(IllegalArgumentException.class, () -> engine.query("why\uD800?"));
    assertStartsWith("question: unpaired surrogate U+D800 at index 3", question);
    assertEquals(0, embeddings.callCount());

    String smiling = "a smile \uD83D\uDE42 survives the round trip";
    engine.insert(List.of(Document.of("smile", smiling)));
    QueryResult result =
        engine.query("smile \uD83D\uDE42", QueryParams.builder().onlyContext(true).build());
    assertTrue(result.context().contains(smiling), result.context());
  }

  private static void assertStartsWith(String prefix, Throwable e) {
    assertTrue(String.valueOf(e.getMessage()).startsWith(prefix), String.valueOf(e.getMessage()));
  }

  @Test
  void builder_missingPieces_failClearly() {
    var noModel =
        assertThrows(IllegalStateException.class, () -> RagEngine.builder().workingDir(dir).build());
    assertEquals("embeddingModel: not set (expected: an EmbeddingModel)", noModel.getMessage());
    var noDir =
        assertThrows(
            IllegalStateException.class,
            () -> RagEngine.builder().embeddingModel(embeddings).build());
    assertTrue(String.valueOf(noDir.getMessage()).startsWith("workingDir: not set"));
    var badAsync =
        assertThrows(IllegalArgumentException.class, () -> RagEngine.builder().maxAsync(0));
    assertEquals("maxAsync: 0 (expected: in [1, 4096])", badAsync.getMessage());
    var overlap =
        assertThrows(
            IllegalArgumentException.class,
            () -> builder().chunkSizeTokens(50).chunkOverlapTokens(50).build());
    assertEquals("chunkOverlapTokens: 50 (expected: < chunkSizeTokens 50)", overlap.getMessage());
    // Regression: a Duration past a long of nanoseconds passed the setter, and build() failed
    // with ArithmeticException: long overflow.
    var forever =
        assertThrows(
            IllegalArgumentException.class,
            () -> RagEngine.builder().callTimeout(Duration.ofSeconds(Long.MAX_VALUE)));
    assertEquals(
        "callTimeout: PT2562047788015215H30M7S (expected: in [PT0S, PT8760H])",
        forever.getMessage());
    var maxWait =
        assertThrows(
            IllegalArgumentException.class,
            () -> RagEngine.builder().embeddingMaxWait(Duration.ofDays(366)));
    assertEquals("embeddingMaxWait: PT8784H (expected: in [PT0S, PT8760H])", maxWait.getMessage());
  }

  @Test
  void build_embeddingModelWithNoBatchSize_failsNamingTheModel() {
    // Regression: the message blamed embeddingBatchSize, an option the caller never set.
    var none =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public int maxBatchSize() {
            return 0;
          }
        };
    var e =
        assertThrows(IllegalArgumentException.class, () -> builder().embeddingModel(none).build());
    assertEquals(
        "embeddingModel " + embeddings.modelName() + ": maxBatchSize() 0 (expected: > 0)",
        e.getMessage());
    open(builder()); // refused before anything was opened: the directory is free
  }

  @Test
  void build_chunksLongerThanTheEmbeddingModelReads_isRefusedNamingBoth() {
    // Regression: with a 256-token model (all-MiniLM-L6-v2) and the default 1,200-token chunks,
    // the model cut every chunk, and most of each chunk's text could never be found.
    var short256 =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public int maxInputTokens() {
            return 256;
          }
        };
    Path fresh = dir.resolve("fresh");
    var defaults = RagEngine.builder().workingDir(fresh).embeddingModel(short256);
    var e = assertThrows(IllegalArgumentException.class, defaults::build);
    // Refused before the storage opened (found by a usability review: it left a database behind).
    assertFalse(Files.exists(fresh), "working directory created");
    assertEquals(
        "chunkSizeTokens: 1200 (expected: <= the 256 tokens embeddingModel "
            + embeddings.modelName()
            + " reads; the rest of each chunk would never be embedded. Set chunkSizeTokens lower,"
            + " with a margin, as the model counts tokens its own way)",
        e.getMessage());

    RagEngine engine =
        open(builder().embeddingModel(short256).chunkSizeTokens(256).chunkOverlapTokens(20));
    assertEquals(256, engine.config().chunker().chunkSizeTokens());
  }

  @Test
  void maxTotalTokens_leavingNoRoomForAQuestion_isRefusedNamingTheMinimum_atBuildForTheDefaults() {
    // Regression (found by a usability review): maxTotalTokens(50) was taken, and then every
    // query failed with "question: 2 tokens (expected: at most 0 ...)".
    Path fresh = dir.resolve("fresh");
    QueryParams tiny = QueryParams.builder().maxTotalTokens(50).build();
    var atBuild =
        assertThrows(
            IllegalArgumentException.class,
            () -> builder().workingDir(fresh).queryDefaults(tiny).build());
    assertTrue(
        String.valueOf(atBuild.getMessage())
            .matches(
                "queryDefaults\\.maxTotalTokens: 50 \\(expected: more than 2\\d\\d in NAIVE mode:"
                    + " the answer instructions take \\d+ tokens and 200 are kept as a margin,"
                    + " which would leave no room for a question\\)"),
        atBuild.getMessage());
    assertFalse(Files.exists(fresh), "working directory created");

    RagEngine engine = open(builder());
    var atQuery = assertThrows(IllegalArgumentException.class, () -> engine.query("Hi?", tiny));
    assertTrue(
        String.valueOf(atQuery.getMessage()).startsWith("maxTotalTokens: 50 (expected: more than"),
        atQuery.getMessage());
    QueryParams bypass = tiny.toBuilder().mode(QueryMode.BYPASS).maxTotalTokens(200).build();
    var bypassed = assertThrows(IllegalArgumentException.class, () -> engine.query("Hi?", bypass));
    assertEquals(
        "maxTotalTokens: 200 (expected: more than 200 in BYPASS mode: 200 are kept as a margin,"
            + " which would leave no room for a question)",
        bypassed.getMessage());
    assertEquals(0, embeddings.callCount());
    assertEquals(0, chat.callCount());
    // The smallest budget that leaves room works.
    String minimum = String.valueOf(atQuery.getMessage()).replaceAll("\\D*(\\d+)\\D*(\\d+).*", "$2");
    QueryParams enough = QueryParams.builder().maxTotalTokens(Integer.parseInt(minimum) + 3).build();
    assertTrue(engine.query("Hi?", enough).answer().isPresent());
  }

  @Test
  void query_timings_holdEachStepsModelCall_andAddUpToTheTotal() {
    // Each step's duration is compared with the same interval measured inside the model: the
    // step must contain it, whatever the machine's speed.
    String question = "What matters to lava?";
    var embedNanos = new AtomicLong();
    var chatNanos = new AtomicLong();
    var timedEmbeddings =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            long start = System.nanoTime();
            List<float[]> vectors = super.embed(texts);
            if (texts.equals(List.of(question))) {
              embedNanos.set(System.nanoTime() - start);
            }
            return vectors;
          }
        };
    var timedChat =
        new FakeChatModel()
            .responder(
                r -> {
                  long start = System.nanoTime();
                  String reply = FakeChatModel.defaultReply(r);
                  chatNanos.set(System.nanoTime() - start);
                  return reply;
                });
    RagEngine engine = open(builder().embeddingModel(timedEmbeddings).chatModel(timedChat));
    engine.insert(CORPUS);

    QueryResult.Timings full = engine.query(question).timings();
    assertTrue(full.embedding().toNanos() >= embedNanos.get(), full + " " + embedNanos);
    assertTrue(full.answer().toNanos() >= chatNanos.get(), full + " " + chatNanos);
    assertTrue(full.retrieval().compareTo(Duration.ZERO) > 0, full.toString());
    assertEquals(full.total(), full.embedding().plus(full.retrieval()).plus(full.answer()));

    QueryParams contextOnly = QueryParams.builder().onlyContext(true).build();
    QueryResult.Timings context = engine.query(question, contextOnly).timings();
    assertEquals(Duration.ZERO, context.answer());
    assertEquals(context.total(), context.embedding().plus(context.retrieval()));
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void query_nullQuestionOrParams_throwNamingThem() {
    RagEngine engine = open(builder());
    var question = assertThrows(NullPointerException.class, () -> engine.query(null));
    assertEquals("question", question.getMessage());
    var params =
        assertThrows(NullPointerException.class, () -> engine.query("why?", (QueryParams) null));
    assertEquals("params", params.getMessage());
  }

  @Test
  void query_questionLongerThanTheTokenBudgetAllows_isRefusedBeforeAnyModelCall() {
    // Regression: the question went out anyway, with every source dropped to make room.
    RagEngine engine = open(builder());
    engine.insert(CORPUS);
    int embedCalls = embeddings.callCount();
    String question = "why " + "word ".repeat(400);
    QueryParams small = QueryParams.builder().maxTotalTokens(500).build();

    var naive = assertThrows(IllegalArgumentException.class, () -> engine.query(question, small));
    // At the call site for queryAsync too, as its other argument errors are.
    assertThrows(IllegalArgumentException.class, () -> engine.queryAsync(question, small));
    var bypass =
        assertThrows(
            IllegalArgumentException.class,
            () -> engine.query(question, small.toBuilder().mode(QueryMode.BYPASS).build()));

    String naiveMessage = String.valueOf(naive.getMessage());
    assertTrue(
        naiveMessage.matches("question: 40\\d tokens \\(expected: at most \\d+, what"
            + " maxTotalTokens 500 leaves for it in NAIVE mode\\)"),
        naiveMessage);
    assertTrue(
        String.valueOf(bypass.getMessage())
            .endsWith("(expected: at most 300, what maxTotalTokens 500 leaves for it in BYPASS mode)"),
        bypass.getMessage());
    assertFalse(naiveMessage.contains("word"));
    assertEquals(embedCalls, embeddings.callCount());
    assertEquals(0, chat.callCount());
  }

  @Test
  @SuppressWarnings("NullAway") // the models return null on purpose
  void modelsReturningNull_failWithTheModelsName_notANullPointerException() {
    var nullEmbeddings =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public List<float[]> embed(List<String> texts) {
            return null;
          }
        };
    ChatModel nullChat =
        new ChatModel() {
          @Override
          public ChatResponse chat(ChatRequest request) {
            return null;
          }

          @Override
          public String modelName() {
            return "null-chat";
          }
        };
    RagEngine failing = open(builder().embeddingModel(nullEmbeddings));
    DocumentReport report = failing.insert(CORPUS.get(0)).documents().get(0);
    failing.close();
    RagEngine engine = open(builder().chatModel(nullChat));

    assertEquals(Outcome.FAILED, report.outcome());
    assertTrue(
        report.error().orElseThrow().startsWith(
            "ModelException: embedding model "
                + embeddings.modelName()
                + " returned null (expected: one vector per text, "),
        report.error().orElseThrow());
    var e =
        assertThrows(
            ModelException.class,
            () -> engine.query("hello", QueryParams.mode(QueryMode.BYPASS)));
    assertEquals("chat model null-chat returned null", e.getMessage());
  }

  @Test
  void builder_config_replacesEverySettingAtOnce() {
    RagEngineConfig config =
        RagEngineConfig.builder()
            .workingDir(dir)
            .maxAsync(3)
            .embeddingBatchSize(5)
            .chunkSizeTokens(70)
            .chunkOverlapTokens(7)
            .build();
    RagEngine engine =
        open(
            RagEngine.builder()
                .maxAsync(9)
                .embeddingModel(embeddings)
                .config(config));
    assertEquals(config, engine.config());
  }

  @Test
  void closedEngine_refusesCalls() {
    RagEngine engine = builder().build();
    engine.close();
    engine.close(); // idempotent
    assertEquals(
        "engine is closed",
        assertThrows(IllegalStateException.class, () -> engine.insert(CORPUS)).getMessage());
    assertThrows(IllegalStateException.class, () -> engine.query("x"));
    assertEquals(
        "engine is closed",
        assertThrows(IllegalStateException.class, engine::stats).getMessage());
    assertThrows(IllegalStateException.class, engine::retryFailed);
    assertThrows(IllegalStateException.class, () -> engine.queryAsync("x", QueryParams.defaults()));
    assertThrows(IllegalStateException.class, () -> engine.insertAsync(CORPUS));
  }

  @Test
  void close_calledWhileAnotherCloseRuns_returnsOnlyOnceTheEngineIsClosed() throws Exception {
    // Regression: the second call saw the flag and returned at once, with the storage still open.
    var closing = new CountDownLatch(1);
    var finish = new CountDownLatch(1);
    var storageClosed = new AtomicBoolean();
    Storage storage =
        new ForwardingStorage(InMemoryStorage.create()) {
          @Override
          public void close() {
            closing.countDown();
            awaitOpen(finish, "the test to let the storage close");
            super.close();
            storageClosed.set(true);
          }
        };
    RagEngine engine = open(builder().storage(storage));
    var first = CompletableFuture.runAsync(engine::close);
    assertTrue(closing.await(10, TimeUnit.SECONDS)); // the first close() is in its last step

    var secondReturned = new CountDownLatch(1);
    Thread second =
        Thread.ofPlatform()
            .start(
                () -> {
                  engine.close();
                  secondReturned.countDown();
                });
    await(
        "the second close() to return or to wait",
        () -> secondReturned.getCount() == 0 || second.getState() == Thread.State.WAITING);
    assertEquals(1, secondReturned.getCount(), "returned while the first was still closing");

    finish.countDown();
    assertTrue(secondReturned.await(10, TimeUnit.SECONDS));
    assertTrue(storageClosed.get());
    first.get(10, TimeUnit.SECONDS);
  }

  @Test
  void workingDir_isKeptAbsolute_andAFileInItsPlaceIsNamedAsSuch() throws Exception {
    // Regression: Path.of("") printed as an empty string, a relative path as given, and a file in
    // the directory's place failed with "FileAlreadyExistsException", never "not a directory".
    assertEquals(
        Path.of("data").toAbsolutePath(),
        RagEngineConfig.builder().workingDir(Path.of("data")).build().workingDir());
    assertEquals(
        Path.of("").toAbsolutePath(),
        RagEngineConfig.builder().workingDir(Path.of("")).build().workingDir());

    Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
    var e = assertThrows(StoreException.class, () -> builder().workingDir(file).build());
    assertEquals(
        "cannot open working directory " + file + ": it is a file (expected: a directory)",
        e.getMessage());
  }

  @Test
  void workingDir_heldByAnotherEngine_refusedClearly() {
    open(builder());
    var e = assertThrows(RuntimeException.class, () -> builder().build());
    assertTrue(String.valueOf(e.getMessage()).contains(dir.toString()), e.getMessage());
  }

  @Test
  void build_failingAfterTheStorageOpened_releasesTheWorkingDirectory() {
    var broken =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public int maxBatchSize() {
            throw new IllegalStateException("model not loaded");
          }
        };
    var e =
        assertThrows(IllegalStateException.class, () -> builder().embeddingModel(broken).build());
    assertEquals("model not loaded", e.getMessage());
    open(builder()); // would fail with "held by another engine" if the lock had leaked
  }

  @Test
  void build_storageUsedByAnOpenEngine_isRefused_untilABuildOnItFails() {
    // Regression: a second engine on one storage was accepted; it resumed the first engine's
    // documents, so both processed them.
    Storage shared = InMemoryStorage.create();
    RagEngine first = open(builder().storage(shared));

    var e = assertThrows(IllegalStateException.class, () -> builder().storage(shared).build());

    assertEquals(
        "storage: "
            + shared
            + " is already used by an engine that is not closed (expected: a storage for each"
            + " engine; two would resume each other's documents, and the first closed would close"
            + " it under the other)",
        e.getMessage());
    first.insert(CORPUS); // the first engine is untouched
    assertEquals(CORPUS.size(), first.stats().documentsProcessed());
    first.close();

    // A build that fails leaves the storage to its caller, free for the next try.
    Storage other = InMemoryStorage.create();
    var broken =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public int maxBatchSize() {
            throw new IllegalStateException("model not loaded");
          }
        };
    assertThrows(
        IllegalStateException.class, () -> builder().storage(other).embeddingModel(broken).build());
    open(builder().storage(other)).insert(CORPUS);
  }

  @Test
  void build_failingToListTheLeftovers_throws_andLeavesNoThreadOfItsOwnRunning() {
    // Regression: the limiters' workers (started by eagerInit) and the committer thread that a
    // failed build had started stayed parked forever; a caller retrying build() piled them up.
    Storage inner = InMemoryStorage.create();
    DocStatusStore statuses =
        new ForwardingDocStatusStore(inner.docStatus()) {
          @Override
          public List<DocStatusRecord> byStatus(DocStatus status) {
            throw new StoreException("listing failed");
          }
        };
    RagEngine.Builder failing =
        builder()
            .storage(ForwardingStorage.withDocStatus(inner, statuses))
            .eagerInit(true)
            .maxAsync(3)
            .embeddingMaxAsync(2);
    Set<String> before = liveThreads().keySet();

    var e = assertThrows(StoreException.class, failing::build);

    assertEquals("listing failed", e.getMessage());
    assertEquals(1, chat.warmupCount()); // the workers had started
    await(
        "the failed build's threads to end",
        () -> {
          Map<String, String> started = new HashMap<>(liveThreads());
          started.keySet().removeAll(before);
          started.values().removeIf(name -> !name.matches("ragengine-.*|chat-\\d+|embedding-\\d+"));
          return started.isEmpty();
        });
  }

  /**
   * Every live thread, virtual ones too, by id: the engine's workers and committer are virtual
   * threads, which only a thread dump lists.
   */
  private Map<String, String> liveThreads() {
    Path file = dir.resolve("threads-" + System.nanoTime() + ".json");
    try {
      ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
          .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
      Map<String, String> threads = new HashMap<>();
      for (JsonNode container : new ObjectMapper().readTree(file.toFile()).path("threadDump")
          .path("threadContainers")) {
        for (JsonNode thread : container.path("threads")) {
          threads.put(thread.path("tid").asText(), thread.path("name").asText());
        }
      }
      Files.delete(file);
      return threads;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void eagerInit_warmsBothModelsBeforeBuildReturns_forTheirLimitersCallsInFlight() {
    open(builder().eagerInit(true).maxAsync(5).embeddingMaxAsync(3));
    assertEquals(1, chat.warmupCount());
    assertEquals(1, embeddings.warmupCount());
    assertEquals(5, chat.warmupConnections());
    assertEquals(3, embeddings.warmupConnections());
  }

  @Test
  void eagerInit_aWarmupRefusedForGood_failsBuild_aProviderDown_onlyWarns() {
    // Regression (found by a usability review): a refused key only logged a warning, and every
    // document inserted afterwards was FAILED.
    ModelException refused = new ModelException("HTTP 401: invalid key", false, null);
    ModelException down = new ModelException("connection refused", true, null);
    AtomicReference<@Nullable ModelException> warmupFailure = new AtomicReference<>(refused);
    EmbeddingModel model =
        new ForwardingEmbeddingModel(embeddings) {
          @Override
          public void warmup(int connections) {
            ModelException e = warmupFailure.get();
            if (e != null) {
              throw e;
            }
          }
        };
    RagEngine.Builder eager = builder().embeddingModel(model).eagerInit(true);

    var e = assertThrows(ModelException.class, eager::build);

    assertSame(refused, e);
    // The failed build released the working directory: the next one opens it.
    warmupFailure.set(down);
    RagEngine engine = open(eager);
    assertEquals(3, engine.insert(CORPUS).processed());
    // Without eagerInit nothing is warmed, so nothing fails build().
    engine.close();
    warmupFailure.set(refused);
    open(builder().embeddingModel(model)).close();
    // Both models refused: the first refusal is thrown, the other rides along.
    ModelException chatRefused = new ModelException("HTTP 403", false, null);
    ChatModel refusingChat =
        new ChatModel() {
          @Override
          public ChatResponse chat(ChatRequest request) {
            throw new AssertionError("not called");
          }

          @Override
          public String modelName() {
            return "refusing";
          }

          @Override
          public void warmup(int connections) {
            throw chatRefused;
          }
        };
    var both =
        assertThrows(
            ModelException.class,
            () -> builder().embeddingModel(model).chatModel(refusingChat).eagerInit(true).build());
    assertEquals(
        Set.of(refused, chatRefused),
        Set.of(both, both.getSuppressed()[0]),
        "thrown " + both + ", suppressed " + List.of(both.getSuppressed()));
  }

  @Test
  void eagerInit_anEmbeddingModelOfAnotherDimension_failsBuild_withoutItTheFirstQuerySaysSo() {
    open(builder()).insert(CORPUS); // 64-d chunks
    engines.forEach(RagEngine::close);
    FakeEmbeddingModel other = new FakeEmbeddingModel(32);

    var e =
        assertThrows(
            IllegalStateException.class,
            () -> builder().embeddingModel(other).eagerInit(true).build());

    assertEquals(
        "embeddingModel "
            + other.modelName()
            + ": 32-d vectors, but the stored chunks have 64-d ones, from another model (expected:"
            + " the model they were embedded with, or another working directory)",
        e.getMessage());
    RagEngine lazy = open(builder().embeddingModel(other)); // the directory was released
    assertThrows(IllegalStateException.class, () -> lazy.query("lava"));
    lazy.close();
    // A model that cannot tell its dimension for now (its provider is down) is let through.
    EmbeddingModel unreachable =
        new ForwardingEmbeddingModel(other) {
          @Override
          public int dimension() {
            throw new ModelException("connection refused", true, null);
          }
        };
    open(builder().embeddingModel(unreachable).eagerInit(true)).close();
    open(builder().eagerInit(true)).query("lava"); // the right model opens as before
  }
}
