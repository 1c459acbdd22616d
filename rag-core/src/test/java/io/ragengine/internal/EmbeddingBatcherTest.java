package io.ragengine.internal;

import static io.ragengine.testing.Awaits.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.Priority;
import io.ragengine.limiter.RetryLaterException;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.FakeEmbeddingModel;
import io.ragengine.model.ForwardingEmbeddingModel;
import io.ragengine.model.ModelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

final class EmbeddingBatcherTest {
  /** Holds scheduled tasks until the test fires them. */
  private static final class ManualDelayer implements EmbeddingBatcher.Delayer {
    final List<Runnable> tasks = new CopyOnWriteArrayList<>();

    @Override
    public void schedule(Runnable task, Duration delay) {
      tasks.add(task);
    }

    void fireAll() {
      List<Runnable> due = new ArrayList<>(tasks);
      tasks.clear();
      due.forEach(Runnable::run);
    }
  }

  private final FakeEmbeddingModel model = new FakeEmbeddingModel();
  private final ManualDelayer delayer = new ManualDelayer();
  private final List<CallLimiter> limiters = new ArrayList<>();

  @AfterEach
  void close() {
    limiters.forEach(CallLimiter::close);
  }

  private CallLimiter limiter(int maxAsync) {
    CallLimiter l =
        CallLimiter.create(
            CallLimiterConfig.builder().name("embedding").maxAsync(maxAsync).build());
    limiters.add(l);
    return l;
  }

  private EmbeddingBatcher batcher(int batchSize, Duration maxWait, int maxAsync) {
    return new EmbeddingBatcher(model, limiter(maxAsync), batchSize, maxWait, delayer, null);
  }

  private static List<String> texts(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  @Test
  void embed_tenTexts_fullBatchesAtOnceRemainderAfterMaxWait() throws Exception {
    EmbeddingBatcher batcher = batcher(4, Duration.ofMillis(5), 1);
    List<String> texts = texts("t", 10);

    CompletableFuture<List<float[]>> result = batcher.embed(texts, Priority.DOCUMENT_EMBEDDING);

    // Two full batches go without waiting; the remainder waits for maxWait.
    await("two full batches embedded", () -> model.callCount() == 2);
    assertEquals(1, delayer.tasks.size());
    assertEquals(2, batcher.pendingCount());
    delayer.fireAll();
    List<float[]> vectors = result.get(10, SECONDS);

    assertEquals(List.of(texts.subList(0, 4), texts.subList(4, 8), texts.subList(8, 10)),
        model.calls());
    for (int i = 0; i < texts.size(); i++) {
      assertArrayEquals(model.vectorOf(texts.get(i)), vectors.get(i));
    }
  }

  @Test
  void flush_remainderWaitingForMaxWait_goesAtOnce() throws Exception {
    EmbeddingBatcher batcher = batcher(4, Duration.ofSeconds(60), 1);
    List<String> texts = texts("t", 6);

    CompletableFuture<List<float[]>> result = batcher.embed(texts, Priority.DOCUMENT_EMBEDDING);
    await("the full batch embedded", () -> model.callCount() == 1);
    batcher.flush(); // the timer is never fired

    result.get(10, SECONDS);
    assertEquals(List.of(texts.subList(0, 4), texts.subList(4, 6)), model.calls());
    assertEquals(0, batcher.pendingCount());
  }

  @Test
  void flush_nothingUncovered_submitsNoBatch() throws Exception {
    EmbeddingBatcher batcher = batcher(4, Duration.ofSeconds(60), 1);

    batcher.flush();
    CompletableFuture<List<float[]>> result =
        batcher.embed(texts("t", 4), Priority.DOCUMENT_EMBEDDING);
    result.get(10, SECONDS);
    batcher.flush();

    assertEquals(1, model.callCount());
  }

  @Test
  void embed_delayerThrows_sendsAtOnceAndArmsTheTimerAgainLater() throws Exception {
    var first = new AtomicBoolean(true);
    EmbeddingBatcher.Delayer failsOnce =
        (task, delay) -> {
          if (first.getAndSet(false)) {
            throw new RejectedExecutionException("delayer shut down");
          }
          delayer.schedule(task, delay);
        };
    var batcher =
        new EmbeddingBatcher(model, limiter(1), 4, Duration.ofSeconds(60), failsOnce, null);

    var a = batcher.embed(List.of("a"), Priority.DOCUMENT_EMBEDDING);
    assertArrayEquals(model.vectorOf("a"), a.get(10, SECONDS).get(0)); // not left waiting

    var b = batcher.embed(List.of("b"), Priority.DOCUMENT_EMBEDDING);
    assertEquals(1, delayer.tasks.size()); // the failed timer did not stay armed
    delayer.fireAll();
    assertArrayEquals(model.vectorOf("b"), b.get(10, SECONDS).get(0));
  }

  @Test
  void embed_queryWhileDocumentsWait_ridesInTheNextBatchFirst() throws Exception {
    var gate = new CountDownLatch(1);
    var first = new AtomicBoolean(true);
    model.latency(
        Duration.ofNanos(1),
        Duration.ZERO,
        d -> {
          if (first.getAndSet(false)) {
            try {
              assertTrue(gate.await(10, SECONDS));
            } catch (InterruptedException e) {
              throw new AssertionError(e);
            }
          }
        });
    EmbeddingBatcher batcher = batcher(4, Duration.ofSeconds(60), 1);
    var documents = batcher.embed(texts("d", 9), Priority.DOCUMENT_EMBEDDING);
    // The first batch (d0-d3) is running and held; d4-d8 wait.
    await("d0-d3 taken by the running batch", () -> batcher.pendingCount() == 5);

    var query = batcher.embed(List.of("the question"), Priority.QUERY);
    gate.countDown();

    assertArrayEquals(model.vectorOf("the question"), query.get(10, SECONDS).get(0));
    documents.get(10, SECONDS);
    List<List<String>> calls = model.calls();
    assertEquals(List.of("d0", "d1", "d2", "d3"), calls.get(0));
    assertEquals(List.of("the question", "d4", "d5", "d6"), calls.get(1));
  }

  @Test
  void embed_modelRefusesEveryInput_everyTextFails() throws Exception {
    model.failNext(4, new ModelException("provider refuses", false, null)); // batch + 3 singles
    EmbeddingBatcher batcher = batcher(8, Duration.ZERO, 2);

    var result = batcher.embed(texts("t", 3), Priority.DOCUMENT_EMBEDDING);

    var e = assertThrows(ExecutionException.class, () -> result.get(10, SECONDS));
    assertInstanceOf(ModelException.class, e.getCause());
    assertEquals(0, batcher.pendingCount());
    assertEquals(4, model.callCount()); // the batch, then each text on its own
  }

  @ParameterizedTest
  @ValueSource(strings = {"a 400", "an over-long text"})
  void embed_oneInputRefusedForGood_onlyItsTextFails(String refusal) throws Exception {
    // Regression for the second: an IllegalArgumentException (EmbeddingModel's refusal of a text
    // longer than it takes) failed every text of the batch, and so every document in it.
    RuntimeException refused =
        refusal.equals("a 400")
            ? new ModelException("HTTP 400: input rejected", false, null)
            : new IllegalArgumentException("texts[0]: 9000 tokens (expected: <= 8192)");
    EmbeddingModel poisoned =
        new ForwardingEmbeddingModel(model) {
          @Override
          public List<float[]> embed(List<String> texts) {
            if (texts.contains("poison")) {
              throw refused;
            }
            return super.embed(texts);
          }
        };
    // One batch of three, sent when full: the two callers' texts share the call.
    var observed = new CopyOnWriteArrayList<Integer>(); // texts of each call that returned vectors
    var batcher =
        new EmbeddingBatcher(
            poisoned, limiter(1), 3, Duration.ofDays(1), delayer, (n, nanos) -> observed.add(n));

    var good = batcher.embed(List.of("a", "b"), Priority.DOCUMENT_EMBEDDING);
    var bad = batcher.embed(List.of("poison"), Priority.DOCUMENT_EMBEDDING);

    assertArrayEquals(model.vectorOf("a"), good.get(10, SECONDS).get(0));
    assertArrayEquals(model.vectorOf("b"), good.get(10, SECONDS).get(1));
    var e = assertThrows(ExecutionException.class, () -> bad.get(10, SECONDS));
    assertSame(refused, e.getCause());
    assertEquals(List.of(1, 1), observed); // the two single calls that worked, for the stats
  }

  @Test
  void embed_unusableVectors_failOnlyTheirTextsNamingTheModel() throws Exception {
    // Regression: such vectors went on to the store, whose error blamed a "vector" argument the
    // caller never passed.
    EmbeddingModel broken =
        ForwardingEmbeddingModel.mappingVectors(
            model,
            (text, v) ->
                switch (text) {
                  case "nan" -> {
                    float[] nan = v.clone();
                    nan[3] = Float.NaN;
                    yield nan;
                  }
                  case "zeros" -> new float[v.length];
                  case "empty" -> new float[0];
                  default -> v;
                });
    var batcher = new EmbeddingBatcher(broken, limiter(1), 8, Duration.ZERO, delayer, null);

    var good = batcher.embed(List.of("a"), Priority.DOCUMENT_EMBEDDING);
    assertArrayEquals(model.vectorOf("a"), good.get(10, SECONDS).get(0));
    var mixed = new ArrayList<CompletableFuture<List<float[]>>>();
    for (String text : List.of("nan", "b", "zeros", "empty")) {
      mixed.add(batcher.embed(List.of(text), Priority.DOCUMENT_EMBEDDING));
    }

    String prefix = "embedding model " + model.modelName() + " returned an unusable vector: ";
    assertEquals(prefix + "element 3 is NaN (expected: finite)", failure(mixed.get(0)));
    assertArrayEquals(model.vectorOf("b"), mixed.get(1).get(10, SECONDS).get(0));
    assertEquals(prefix + "all zeros (expected: a non-zero vector)", failure(mixed.get(2)));
    assertEquals(prefix + "length 0 (expected: > 0)", failure(mixed.get(3)));
  }

  /** The message of the non-retryable ModelException that failed {@code future}. */
  private static String failure(CompletableFuture<?> future) {
    var e = assertThrows(ExecutionException.class, () -> future.get(10, SECONDS));
    ModelException cause = assertInstanceOf(ModelException.class, e.getCause());
    assertTrue(!cause.retryable());
    return String.valueOf(cause.getMessage());
  }

  @Test
  void embed_singleTextAsksToRetryLater_rerunEmbedsOnlyTheTextsLeft() throws Exception {
    var seen = new CopyOnWriteArrayList<List<String>>();
    var askedOnce = new AtomicBoolean();
    EmbeddingModel refusesBatches =
        new ForwardingEmbeddingModel(model) {
          @Override
          public List<float[]> embed(List<String> texts) {
            seen.add(List.copyOf(texts));
            if (texts.size() > 1) {
              throw new ModelException("HTTP 400: batch refused", false, null);
            }
            if (texts.equals(List.of("b")) && askedOnce.compareAndSet(false, true)) {
              throw new RetryLaterException(Duration.ZERO, null); // a 429 on the single call
            }
            return super.embed(texts);
          }
        };
    var batcher =
        new EmbeddingBatcher(refusesBatches, limiter(1), 8, Duration.ZERO, delayer, null);

    List<float[]> vectors =
        batcher.embed(List.of("a", "b"), Priority.DOCUMENT_EMBEDDING).get(10, SECONDS);

    assertArrayEquals(model.vectorOf("a"), vectors.get(0));
    assertArrayEquals(model.vectorOf("b"), vectors.get(1));
    // The re-run neither sends the refused batch again nor embeds "a" a second time.
    assertEquals(List.of(List.of("a", "b"), List.of("a"), List.of("b"), List.of("b")), seen);
    assertEquals(1, limiters.get(0).stats().retried());
  }

  @Test
  void embed_retryableFailure_failsWholeBatchWithoutSplitting() throws Exception {
    model.failNext(1, new ModelException("HTTP 503", true, null));
    EmbeddingBatcher batcher = batcher(8, Duration.ZERO, 1);
    var result = batcher.embed(texts("t", 3), Priority.DOCUMENT_EMBEDDING);
    assertThrows(ExecutionException.class, () -> result.get(10, SECONDS));
    assertEquals(1, model.callCount()); // the one failed call: no retries text by text
  }

  @Test
  void embed_modelAsksToRetryLater_batchRerunsWithSameTexts() throws Exception {
    model.failNext(1, new RetryLaterException(Duration.ZERO, null));
    EmbeddingBatcher batcher = batcher(8, Duration.ZERO, 1);

    List<float[]> vectors = batcher.embed(texts("t", 3), Priority.DOCUMENT_EMBEDDING).get(10, SECONDS);

    assertArrayEquals(model.vectorOf("t2"), vectors.get(2));
    assertEquals(1, limiters.get(0).stats().retried());
  }

  @Test
  void embed_maxWaitZero_remainderGoesAtOnce() throws Exception {
    EmbeddingBatcher batcher = batcher(32, Duration.ZERO, 1);
    batcher.embed(List.of("alone"), Priority.DOCUMENT_EMBEDDING).get(10, SECONDS);
    assertEquals(List.of(List.of("alone")), model.calls());
    assertTrue(delayer.tasks.isEmpty());
  }

  @Test
  void embed_limiterClosed_failsInsteadOfHanging() throws Exception {
    EmbeddingBatcher batcher = batcher(4, Duration.ZERO, 1);
    limiters.get(0).close();
    var result = batcher.embed(List.of("late"), Priority.DOCUMENT_EMBEDDING);
    var e = assertThrows(ExecutionException.class, () -> result.get(10, SECONDS));
    assertInstanceOf(IllegalStateException.class, e.getCause());
  }

  @Test
  void embed_empty_completesWithoutCallingModel() throws Exception {
    assertEquals(List.of(), batcher(4, Duration.ZERO, 1).embed(List.of(), 0).get(10, SECONDS));
    assertEquals(0, model.callCount());
  }

  @Test
  void create_invalidOptions_throwNamingThem() {
    CallLimiter limiter = limiter(1);
    assertEquals(
        "embeddingBatchSize: 0 (expected: > 0)",
        assertThrows(
                IllegalArgumentException.class,
                () -> new EmbeddingBatcher(model, limiter, 0, Duration.ZERO, delayer, null))
            .getMessage());
    assertEquals(
        "embeddingMaxWait: PT-1S (expected: in [PT0S, PT8760H])",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    new EmbeddingBatcher(
                        model, limiter, 4, Duration.ofSeconds(-1), delayer, null))
            .getMessage());
  }
}
