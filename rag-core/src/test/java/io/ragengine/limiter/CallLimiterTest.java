package io.ragengine.limiter;

import static io.ragengine.testing.Awaits.await;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

// Many tests start a call only to occupy a worker and never look at its future.
@SuppressWarnings("FutureReturnValueIgnored")
final class CallLimiterTest {
  private final FakeTicker ticker = new FakeTicker();
  private final CountingThreadFactory threads = CountingThreadFactory.virtual();
  private final List<CallLimiter> opened = new ArrayList<>();

  @AfterEach
  void closeAll() {
    opened.forEach(CallLimiter::close);
  }

  private static CallLimiterConfig.Builder config(int maxAsync) {
    return CallLimiterConfig.builder()
        .name("test")
        .maxAsync(maxAsync)
        .drainTimeout(Duration.ofSeconds(10));
  }

  private CallLimiter limiter(CallLimiterConfig.Builder config) {
    return limiter(config, null);
  }

  private CallLimiter limiter(CallLimiterConfig.Builder config, @Nullable Callable<?> warmUp) {
    CallLimiter limiter = new CallLimiter(config.build(), warmUp, threads, ticker);
    opened.add(limiter);
    return limiter;
  }

  /** A call that says it started, then waits for the gate; interruptible. */
  private static Callable<String> gated(
      String name, BlockingQueue<String> started, CountDownLatch gate) {
    return () -> {
      started.add(name);
      assertTrue(gate.await(30, SECONDS), "gate never opened");
      return name;
    };
  }

  /**
   * A call that says it started, then waits until interrupted, counts that down and restores its
   * interrupt flag as well-behaved code does.
   */
  private static Callable<String> untilInterrupted(
      CountDownLatch started, CountDownLatch interrupted) {
    return () -> {
      started.countDown();
      try {
        new CountDownLatch(1).await(); // never opens
      } catch (InterruptedException e) {
        interrupted.countDown();
        Thread.currentThread().interrupt();
      }
      return "interrupted";
    };
  }

  private static Throwable failure(CompletableFuture<?> future) throws Exception {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> future.get(10, SECONDS));
    return Objects.requireNonNull(e.getCause());
  }

  // --- order -------------------------------------------------------------------------------

  @Test
  void submit_beyondMaxAsync_startsHigherPriorityFirstThenFifo() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var busy = limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));

    List<CompletableFuture<String>> futures = new ArrayList<>();
    for (String[] call :
        new String[][] {{"low1", "1"}, {"high1", "9"}, {"low2", "1"}, {"high2", "9"}, {"mid", "5"}}) {
      String name = call[0];
      futures.add(
          limiter.submit(
              Integer.parseInt(call[1]),
              () -> {
                started.add(name);
                return name;
              }));
    }
    assertEquals(5, limiter.queuedCount()); // nothing beyond maxAsync started
    gate.countDown();

    for (String expected : List.of("high1", "high2", "mid", "low1", "low2")) {
      assertEquals(expected, started.poll(10, SECONDS));
    }
    assertEquals("busy", busy.get(10, SECONDS));
    for (CompletableFuture<String> f : futures) {
      f.get(10, SECONDS);
    }
  }

  @Test
  void submit_negativeAndExtremePriorities_areOrdered() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));
    for (int p : new int[] {Integer.MIN_VALUE, -1, Integer.MAX_VALUE, 0}) {
      limiter.submit(p, () -> started.add(String.valueOf(p)));
    }
    gate.countDown();
    for (String expected :
        List.of(
            String.valueOf(Integer.MAX_VALUE), "0", "-1", String.valueOf(Integer.MIN_VALUE))) {
      assertEquals(expected, started.poll(10, SECONDS));
    }
  }

  // --- start-up ------------------------------------------------------------------------------

  @Test
  void lazy_noThreadBeforeFirstCall_thenStartsWorkers() throws Exception {
    CallLimiter limiter = limiter(config(3));
    assertEquals(0, threads.count());
    assertFalse(limiter.isReady());
    assertEquals(0, limiter.stats().workers());

    assertEquals("x", limiter.submit(0, () -> "x").get(10, SECONDS));

    assertTrue(limiter.isReady());
    assertEquals(3, limiter.stats().workers());
    assertEquals(4, threads.count()); // three workers and the reaper
  }

  @Test
  void eager_startsWorkersBeforeCreateReturns() {
    CallLimiter limiter = limiter(config(3).eagerInit(true));
    assertTrue(limiter.isReady());
    assertEquals(3, limiter.stats().workers());
  }

  @Test
  void eager_warmUp_runsOnceBeforeAnyCallAndBeforeReady() throws Exception {
    var warmUpGate = new CountDownLatch(1);
    var warmUps = new AtomicInteger();
    var order = new LinkedBlockingQueue<String>();
    CallLimiter limiter =
        limiter(
            config(2).eagerInit(true),
            () -> {
              warmUps.incrementAndGet();
              order.add("warm-up");
              return warmUpGate.await(30, SECONDS);
            });
    assertEquals("warm-up", order.poll(10, SECONDS));
    assertFalse(limiter.isReady());
    var call = limiter.submit(Priority.QUERY, () -> order.add("call"));
    assertEquals(0, limiter.stats().workers()); // no worker exists while the warm-up runs

    warmUpGate.countDown();
    assertTrue(limiter.awaitReady(Duration.ofSeconds(10)));
    assertTrue(call.get(10, SECONDS));
    limiter.submit(0, () -> "more").get(10, SECONDS);
    assertEquals(List.of("call"), List.copyOf(order));
    assertEquals(1, warmUps.get());
  }

  @Test
  void lazy_warmUp_runsOnFirstCallBeforeIt() throws Exception {
    var order = new LinkedBlockingQueue<String>();
    CallLimiter limiter = limiter(config(2), () -> order.add("warm-up"));
    assertEquals(0, threads.count());
    limiter.submit(0, () -> order.add("first")).get(10, SECONDS);
    assertEquals(List.of("warm-up", "first"), List.copyOf(order));
  }

  @Test
  void warmUp_failing_limiterStillBecomesReady() throws Exception {
    CallLimiter limiter =
        limiter(
            config(1).eagerInit(true),
            () -> {
              throw new IOException("connection refused");
            });
    assertTrue(limiter.awaitReady(Duration.ofSeconds(10)));
    assertEquals("ok", limiter.submit(0, () -> "ok").get(10, SECONDS));
  }

  @Test
  void warmUp_runningPastCallTimeout_isInterruptedAndLimiterBecomesReady() throws Exception {
    var interrupted = new CountDownLatch(1);
    CallLimiter limiter =
        limiter(
            config(1).eagerInit(true).callTimeout(Duration.ofMillis(50)),
            () -> {
              try {
                new CountDownLatch(1).await(); // never opens
              } catch (InterruptedException e) {
                interrupted.countDown();
              }
              return null;
            });
    assertTrue(limiter.awaitReady(Duration.ofSeconds(10)));
    assertTrue(interrupted.await(10, SECONDS));
  }

  @Test
  void close_whileTheWarmUpRuns_interruptsIt() throws Exception {
    // Regression: nobody stopped it, so a warm-up against a dead provider ran on to callTimeout
    // (or forever with none) after close(), for instance after a failed RagEngine build.
    var running = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    CallLimiter limiter =
        limiter(
            config(1).eagerInit(true).callTimeout(Duration.ZERO),
            () -> {
              running.countDown();
              try {
                new CountDownLatch(1).await(); // never opens
              } catch (InterruptedException e) {
                interrupted.countDown();
              }
              return null;
            });
    assertTrue(running.await(10, SECONDS));

    limiter.close();

    assertTrue(interrupted.await(10, SECONDS));
    assertTrue(limiter.awaitReady(Duration.ofSeconds(10))); // the starter finished too
    assertEquals(0, limiter.stats().workers());
  }

  // --- queue bound ---------------------------------------------------------------------------

  @Test
  void submit_queueFull_failsAtOnceWithLimiterName() throws Exception {
    CallLimiter limiter = limiter(config(1).maxQueued(2));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));
    var a = limiter.submit(0, () -> "a");
    var b = limiter.submit(0, () -> "b");

    var c = limiter.submit(0, () -> "c");

    assertTrue(c.isCompletedExceptionally()); // at once, without waiting for a worker
    var full = assertInstanceOf(LimiterFullException.class, failure(c));
    assertEquals("test", full.limiterName());
    assertEquals(2, full.maxQueued());
    assertEquals("limiter 'test': queue is full (maxQueued 2)", full.getMessage());
    assertEquals(1, limiter.stats().rejected());
    gate.countDown();
    assertEquals("a", a.get(10, SECONDS));
    assertEquals("b", b.get(10, SECONDS));
  }

  @Test
  void submit_maxQueuedZero_acceptsOnlyWhenAWorkerIsFree() throws Exception {
    CallLimiter limiter = limiter(config(1).maxQueued(0));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var first = limiter.submit(0, gated("first", started, gate));
    assertEquals("first", started.poll(10, SECONDS));

    var second = limiter.submit(0, () -> "second");

    assertInstanceOf(LimiterFullException.class, failure(second));
    gate.countDown();
    assertEquals("first", first.get(10, SECONDS));
  }

  // --- timeouts ------------------------------------------------------------------------------

  @Test
  void callTimeout_exceeded_interruptsCallAndFailsWithElapsed() throws Exception {
    CallLimiter limiter = limiter(config(1).callTimeout(Duration.ofSeconds(10)));
    var started = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    var call = limiter.submit(0, untilInterrupted(started, interrupted));
    assertTrue(started.await(10, SECONDS));
    var next = limiter.submit(0, () -> Thread.currentThread().isInterrupted());

    ticker.advance(Duration.ofSeconds(11));
    limiter.wakeReaper();

    var timeout = assertInstanceOf(CallTimeoutException.class, failure(call));
    assertEquals(CallTimeoutException.Phase.RUNNING, timeout.phase());
    assertEquals(Duration.ofSeconds(11), timeout.elapsed());
    assertEquals(Duration.ofSeconds(10), timeout.timeout());
    assertEquals("test", timeout.limiterName());
    assertEquals("limiter 'test': call ran 11.0 s (callTimeout 10.0 s)", timeout.getMessage());
    assertTrue(interrupted.await(10, SECONDS));
    assertFalse(next.get(10, SECONDS)); // the interrupt did not leak into the next call
    assertEquals(1, limiter.stats().timedOut());
  }

  @Test
  void callTimeout_notYetReached_callFinishes() throws Exception {
    CallLimiter limiter = limiter(config(1).callTimeout(Duration.ofSeconds(10)));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var call = limiter.submit(0, gated("call", started, gate));
    assertEquals("call", started.poll(10, SECONDS));
    ticker.advance(Duration.ofSeconds(9));
    limiter.wakeReaper();
    gate.countDown();
    assertEquals("call", call.get(10, SECONDS));
    assertEquals(0, limiter.stats().timedOut());
  }

  @Test
  void queueTimeout_exceeded_failsWaitingCallWhichNeverRuns() throws Exception {
    CallLimiter limiter = limiter(config(1).queueTimeout(Duration.ofSeconds(5)));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var busy = limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));
    var ran = new AtomicBoolean();
    var waiting = limiter.submit(0, () -> ran.getAndSet(true));

    ticker.advance(Duration.ofSeconds(6));
    limiter.wakeReaper();

    var timeout = assertInstanceOf(CallTimeoutException.class, failure(waiting));
    assertEquals(CallTimeoutException.Phase.QUEUED, timeout.phase());
    assertEquals(Duration.ofSeconds(6), timeout.elapsed());
    assertEquals(0, limiter.queuedCount());
    var later = limiter.submit(0, () -> "later");
    gate.countDown();
    assertEquals("busy", busy.get(10, SECONDS));
    assertEquals("later", later.get(10, SECONDS)); // ran after the expired call's turn
    assertFalse(ran.get());
  }

  @Test
  void queueTimeout_expiresOldestOnlyAndLeavesYoungerWaiting() throws Exception {
    CallLimiter limiter = limiter(config(1).queueTimeout(Duration.ofSeconds(5)));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));
    var old = limiter.submit(0, () -> "old");
    ticker.advance(Duration.ofSeconds(3));
    var young = limiter.submit(9, () -> "young");

    ticker.advance(Duration.ofSeconds(3)); // old waited 6 s, young 3 s
    limiter.wakeReaper();

    assertInstanceOf(CallTimeoutException.class, failure(old));
    assertEquals(1, limiter.queuedCount());
    gate.countDown();
    assertEquals("young", young.get(10, SECONDS));
  }

  // --- cancellation --------------------------------------------------------------------------

  @Test
  void cancel_beforeStart_callNeverRuns() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    limiter.submit(0, gated("busy", started, gate));
    assertEquals("busy", started.poll(10, SECONDS));
    var ran = new AtomicBoolean();
    var waiting = limiter.submit(0, () -> ran.getAndSet(true));

    assertTrue(waiting.cancel(false));

    assertTrue(waiting.isCancelled());
    assertEquals(0, limiter.queuedCount());
    var after = limiter.submit(0, () -> "after");
    gate.countDown();
    assertEquals("after", after.get(10, SECONDS));
    assertFalse(ran.get());
    assertEquals(1, limiter.stats().cancelled());
  }

  @Test
  void cancel_whileRunning_interruptsCall() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    var call = limiter.submit(0, untilInterrupted(started, interrupted));
    assertTrue(started.await(10, SECONDS));
    // Queued now, so the worker goes straight from the cancelled call to this one.
    var next = limiter.submit(0, () -> Thread.currentThread().isInterrupted());

    assertTrue(call.cancel(true));

    assertTrue(interrupted.await(10, SECONDS));
    assertThrows(CancellationException.class, () -> call.get(10, SECONDS));
    assertFalse(next.get(10, SECONDS)); // the interrupt did not leak into the next call
    assertEquals(1, limiter.stats().cancelled());
    assertEquals(1, limiter.stats().completed()); // the later call only
  }

  @Test
  void cancel_whileRunningWithoutInterrupt_callAsksToRetry_isNotRunAgain() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var runs = new AtomicInteger();
    var started = new CountDownLatch(1);
    var gate = new CountDownLatch(1);
    var call =
        limiter.submit(
            0,
            () -> {
              runs.incrementAndGet();
              started.countDown();
              gate.await();
              throw new RetryLaterException(Duration.ZERO, null);
            });
    assertTrue(started.await(10, SECONDS));

    assertTrue(call.cancel(false));
    gate.countDown();

    // One worker, and a retry re-enters ahead of fresh calls: had the cancelled call been queued
    // again, it would have run before this one.
    assertEquals("next", limiter.submit(0, () -> "next").get(10, SECONDS));
    assertEquals(1, runs.get());
    assertTrue(call.isCancelled());
    LimiterStats stats = limiter.stats();
    assertEquals(0, stats.retried());
    assertEquals(1, stats.cancelled());
    assertEquals(1, stats.completed());
    assertEquals(0, stats.failed());
  }

  @Test
  void cancel_whileRunningWithoutInterrupt_letsCallFinishAndDropsResult() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var finished = new CountDownLatch(1);
    var call =
        limiter.submit(
            0,
            () -> {
              started.add("call");
              gate.await();
              finished.countDown();
              return "dropped";
            });
    assertEquals("call", started.poll(10, SECONDS));

    assertTrue(call.cancel(false));
    gate.countDown();

    assertTrue(finished.await(10, SECONDS));
    assertTrue(call.isCancelled());
  }

  @Test
  void call_callerInterrupted_cancelsTheCall() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    var callerSaw = new LinkedBlockingQueue<Throwable>();
    Thread caller =
        Thread.ofVirtual()
            .start(
                () -> {
                  try {
                    limiter.call(
                        0,
                        () -> {
                          started.countDown();
                          try {
                            new CountDownLatch(1).await();
                          } catch (InterruptedException e) {
                            interrupted.countDown();
                          }
                          return null;
                        });
                  } catch (Exception e) {
                    callerSaw.add(e);
                  }
                });
    assertTrue(started.await(10, SECONDS));
    caller.interrupt();
    assertInstanceOf(InterruptedException.class, callerSaw.poll(10, SECONDS));
    assertTrue(interrupted.await(10, SECONDS));
  }

  // --- back-off without a worker --------------------------------------------------------------

  @Test
  void retryLater_givesWorkerBackAndReentersAheadOfLaterEqualPriorityCalls() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var attempts = new LinkedBlockingQueue<Integer>();

    var retrying =
        limiter.submit(
            5,
            () -> {
              int attempt = LimitedCall.attempt();
              attempts.add(attempt);
              started.add("retrying#" + attempt);
              if (attempt == 1) {
                throw new RetryLaterException(Duration.ofSeconds(2), new IOException("429"));
              }
              return "retried";
            });
    assertEquals("retrying#1", started.poll(10, SECONDS));
    // With maxAsync 1, this can only run if the back-off gave the worker back.
    var other = limiter.submit(5, gated("other", started, gate));
    assertEquals("other", started.poll(10, SECONDS));
    var later1 = limiter.submit(5, () -> started.add("later1"));
    var later2 = limiter.submit(5, () -> started.add("later2"));
    assertEquals(1, limiter.stats().delayed());

    ticker.advance(Duration.ofSeconds(2));
    limiter.wakeReaper();
    await("the retry re-enters the queue", () -> limiter.queuedCount() == 3);
    gate.countDown();

    assertEquals("retrying#2", started.poll(10, SECONDS)); // its place: before later1 and later2
    assertEquals("later1", started.poll(10, SECONDS));
    assertEquals("later2", started.poll(10, SECONDS));
    assertEquals("retried", retrying.get(10, SECONDS));
    assertEquals(List.of(1, 2), List.copyOf(attempts));
    assertEquals("other", other.get(10, SECONDS));
    later1.get(10, SECONDS);
    later2.get(10, SECONDS);
    assertEquals(1, limiter.stats().retried());
  }

  @Test
  void retryLater_delayTooLongForADeadline_waitsAYear_andTheWorkerLivesOn() throws Exception {
    // Regression: a Retry-After of Duration.ofSeconds(Long.MAX_VALUE) overflowed in the worker
    // ("a worker died"), and the call was neither retried nor failed.
    CallLimiter limiter = limiter(config(1));
    var call =
        limiter.submit(
            0,
            () -> {
              if (LimitedCall.attempt() == 1) {
                throw new RetryLaterException(Duration.ofSeconds(Long.MAX_VALUE), null);
              }
              return LimitedCall.attempt();
            });
    await("the call is backing off", () -> limiter.stats().delayed() == 1);
    assertEquals("next", limiter.submit(0, () -> "next").get(10, SECONDS)); // the worker lives

    ticker.advance(Duration.ofDays(365));
    limiter.wakeReaper();
    assertEquals(2, call.get(10, SECONDS)); // run again after the year, not never
    assertTrue(limiter.awaitReady(Duration.ofSeconds(Long.MAX_VALUE))); // no overflow here either
  }

  @Test
  void retryLater_zeroDelay_reentersAtOnce() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var call =
        limiter.submit(
            0,
            () -> {
              if (LimitedCall.attempt() < 3) {
                throw new RetryLaterException(Duration.ZERO, null);
              }
              return LimitedCall.attempt();
            });
    assertEquals(3, call.get(10, SECONDS));
  }

  @Test
  void retryLater_cancelledDuringBackOff_neverRunsAgain() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var runs = new AtomicInteger();
    var call =
        limiter.submit(
            0,
            () -> {
              runs.incrementAndGet();
              throw new RetryLaterException(Duration.ofSeconds(5), null);
            });
    await("the call is backing off", () -> limiter.stats().delayed() == 1);

    assertTrue(call.cancel(true));
    ticker.advance(Duration.ofSeconds(6));
    limiter.wakeReaper();

    limiter.submit(0, () -> "flush").get(10, SECONDS);
    assertEquals(0, limiter.stats().delayed());
    assertEquals(1, runs.get());
  }

  @Test
  void limitedCall_outsideLimiter_isInactive() throws Exception {
    assertEquals(0, LimitedCall.attempt());
    assertFalse(LimitedCall.active());
    CallLimiter limiter = limiter(config(1));
    assertTrue(limiter.submit(0, LimitedCall::active).get(10, SECONDS));
    assertEquals(0, LimitedCall.attempt());
  }

  // --- failures never kill workers -----------------------------------------------------------

  @Test
  void failingCalls_exceptionAndError_doNotKillWorker() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var boom = new IllegalStateException("boom");
    var error = new StackOverflowError("deep");

    assertSame(boom, failure(limiter.submit(0, () -> {
      throw boom;
    })));
    assertSame(error, failure(limiter.submit(0, () -> {
      throw error;
    })));

    assertEquals("alive", limiter.submit(0, () -> "alive").get(10, SECONDS));
    assertEquals(1, limiter.stats().workers());
    assertEquals(2, limiter.stats().failed());
    assertEquals(2, threads.count()); // the one worker and the reaper: nothing was replaced
  }

  @Test
  void worker_dyingAnyway_isReplaced() throws Exception {
    CallLimiter limiter = limiter(config(2));
    limiter.submit(0, () -> "start").get(10, SECONDS);
    // The future completes before its worker reads the hook and hands the call back. Wait for the
    // hand-back, or the hook set below could kill that worker instead, and the worker running
    // "value" could still count as running when the assertions below look.
    await("the first call handed back", () -> limiter.runningCount() == 0);
    int before = threads.count();
    var once = new AtomicBoolean(true);
    limiter.afterCallHook =
        c -> {
          if (once.getAndSet(false)) {
            throw new OutOfMemoryError("injected");
          }
        };

    assertEquals("value", limiter.submit(0, () -> "value").get(10, SECONDS));

    await("a replacement worker", () -> threads.count() == before + 1);
    await("two workers again", () -> limiter.stats().workers() == 2);
    assertEquals(0, limiter.runningCount());
    for (int i = 0; i < 10; i++) {
      int n = i;
      assertEquals("call " + n, limiter.submit(0, () -> "call " + n).get(10, SECONDS));
    }
  }

  // --- resizing ------------------------------------------------------------------------------

  @Test
  void setMaxAsync_grow_startsWaitingCalls() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    List<CompletableFuture<String>> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(limiter.submit(0, gated("c" + i, started, gate)));
    }
    assertEquals("c0", started.poll(10, SECONDS));
    assertEquals(2, limiter.queuedCount());

    limiter.setMaxAsync(3);

    // Two new workers take c1 and c2 at once; which one reports first is up to the scheduler.
    assertEquals(
        Set.of("c1", "c2"), Set.of(started.poll(10, SECONDS), started.poll(10, SECONDS)));
    assertEquals(3, limiter.runningCount());
    assertEquals(3, limiter.maxAsync());
    gate.countDown();
    for (var c : calls) {
      c.get(10, SECONDS);
    }
  }

  @Test
  void setMaxAsync_shrink_letsCallsInFlightFinishThenRunsFewer() throws Exception {
    CallLimiter limiter = limiter(config(3));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    List<CompletableFuture<String>> inFlight = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      inFlight.add(limiter.submit(0, gated("c" + i, started, gate)));
    }
    for (int i = 0; i < 3; i++) {
      started.poll(10, SECONDS);
    }

    limiter.setMaxAsync(1);
    var next = new CountDownLatch(1);
    var afterA = limiter.submit(0, gated("a", started, next));
    var afterB = limiter.submit(0, gated("b", started, next));

    assertEquals(3, limiter.runningCount()); // calls in flight are not interrupted
    gate.countDown();
    for (var c : inFlight) {
      c.get(10, SECONDS);
    }
    assertEquals("a", started.poll(10, SECONDS));
    await("one worker left", () -> limiter.stats().workers() == 1);
    assertEquals(1, limiter.runningCount());
    assertEquals(1, limiter.queuedCount()); // b waits: only one call in flight now
    next.countDown();
    assertEquals("a", afterA.get(10, SECONDS));
    assertEquals("b", afterB.get(10, SECONDS));
  }

  @Test
  void setMaxAsync_invalid_throwsWithNameAndValue() {
    CallLimiter limiter = limiter(config(1));
    var e = assertThrows(IllegalArgumentException.class, () -> limiter.setMaxAsync(0));
    assertEquals("maxAsync: 0 (expected: in [1, 4096])", e.getMessage());
  }

  // --- close ---------------------------------------------------------------------------------

  @Test
  void close_rejectsNewCallsFailsWaitingOnesAndLetsRunningFinish() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var started = new LinkedBlockingQueue<String>();
    var gate = new CountDownLatch(1);
    var running = limiter.submit(0, gated("running", started, gate));
    assertEquals("running", started.poll(10, SECONDS));
    var ran = new AtomicBoolean();
    var waiting = limiter.submit(0, () -> ran.getAndSet(true));

    var closer = Thread.ofVirtual().start(limiter::close);
    await("the limiter refuses calls", limiter::isClosed);

    var refused = assertThrows(IllegalStateException.class, () -> limiter.submit(0, () -> "x"));
    assertEquals("limiter 'test' is closed", refused.getMessage());
    var closedEx = assertInstanceOf(LimiterClosedException.class, failure(waiting));
    assertEquals("test", closedEx.limiterName());
    assertTrue(closer.isAlive()); // close() waits for the running call
    gate.countDown();
    assertEquals("running", running.get(10, SECONDS));
    assertTrue(closer.join(Duration.ofSeconds(10)));
    assertFalse(ran.get());
    assertEquals(0, limiter.stats().workers());
  }

  @Test
  void close_drainTimeoutRunsOut_interruptsAndFailsRunningCalls() throws Exception {
    CallLimiter limiter = limiter(config(1).drainTimeout(Duration.ofMillis(20)));
    var started = new CountDownLatch(1);
    var interrupted = new CountDownLatch(1);
    var running = limiter.submit(0, untilInterrupted(started, interrupted));
    assertTrue(started.await(10, SECONDS));

    limiter.close();

    assertTrue(interrupted.await(10, SECONDS));
    var e = assertInstanceOf(LimiterClosedException.class, failure(running));
    assertTrue(String.valueOf(e.getMessage()).contains("drainTimeout"), e.getMessage());
    await("workers stopped", () -> limiter.stats().workers() == 0);
  }

  @Test
  void close_callsWaitingOutBackOff_fail() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var call =
        limiter.submit(
            0,
            () -> {
              throw new RetryLaterException(Duration.ofMinutes(1), null);
            });
    await("the call is backing off", () -> limiter.stats().delayed() == 1);
    limiter.close();
    assertInstanceOf(LimiterClosedException.class, failure(call));
  }

  @Test
  void close_twiceAndBeforeStart_isQuietAndStartsNothing() {
    CallLimiter limiter = limiter(config(2));
    limiter.close();
    limiter.close();
    assertTrue(limiter.isClosed());
    assertEquals(0, threads.count());
    assertThrows(IllegalStateException.class, () -> limiter.setMaxAsync(3));
  }

  @Test
  void close_fromInsideACall_doesNotWaitForItself() throws Exception {
    CallLimiter limiter = limiter(config(1));
    var call =
        limiter.submit(
            0,
            () -> {
              limiter.close();
              return "closed from within";
            });
    assertEquals("closed from within", call.get(10, SECONDS));
    assertTrue(limiter.isClosed());
  }

  // --- the blocking convenience and stats ----------------------------------------------------

  @Test
  void call_rethrowsTheCallsOwnException() {
    CallLimiter limiter = limiter(config(1));
    var e = new IOException("provider down");
    assertSame(e, assertThrows(IOException.class, () -> limiter.call(0, () -> {
      throw e;
    })));
  }

  @Test
  void call_returnsValue() throws Exception {
    CallLimiter limiter = limiter(config(1));
    assertEquals(42, limiter.call(Priority.QUERY, () -> 42));
  }

  @Test
  void stats_countsAndPercentiles() throws Exception {
    CallLimiter limiter = limiter(config(1).maxQueued(1));
    for (int i = 0; i < 10; i++) {
      limiter
          .submit(
              0,
              () -> {
                ticker.advance(Duration.ofMillis(5)); // each call "runs" 5 ms of fake time
                return null;
              })
          .get(10, SECONDS);
    }
    limiter.submit(0, () -> {
      throw new IOException("x");
    }).exceptionally(t -> null).get(10, SECONDS);

    LimiterStats stats = limiter.stats();
    assertEquals("test", stats.name());
    assertEquals(11, stats.submitted());
    assertEquals(10, stats.completed());
    assertEquals(1, stats.failed());
    assertEquals(0, stats.queued());
    assertEquals(1, stats.maxAsync());
    assertEquals(11, stats.runTime().count());
    long p50 = stats.runTime().p50().toNanos();
    assertTrue(Math.abs(p50 - 5_000_000) <= 50_000, "p50 " + p50); // 2 significant digits
    assertTrue(stats.runTime().max().toNanos() >= 4_950_000);
    assertEquals(11, stats.waitTime().count());
  }

  @Test
  void stats_beforeAnyCall_isEmpty() {
    LimiterStats stats = limiter(config(4)).stats();
    assertEquals(0, stats.submitted());
    assertEquals(LimiterStats.Percentiles.EMPTY, stats.waitTime());
    assertEquals(4, stats.maxAsync());
    assertEquals(0, stats.workers());
  }

  @Test
  @SuppressWarnings("NullAway") // passes null on purpose
  void submit_nullCall_throws() {
    CallLimiter limiter = limiter(config(1));
    var e = assertThrows(NullPointerException.class, () -> limiter.submit(0, null));
    assertEquals("call", e.getMessage());
  }

  @Test
  void create_publicFactory_usesVirtualWorkersNamedAfterLimiter() throws Exception {
    try (CallLimiter limiter = CallLimiter.create(config(1).name("chat").build())) {
      Thread worker = limiter.submit(0, Thread::currentThread).get(10, SECONDS);
      assertTrue(worker.isVirtual());
      assertTrue(worker.getName().startsWith("chat-"), worker.getName());
    }
  }
}
