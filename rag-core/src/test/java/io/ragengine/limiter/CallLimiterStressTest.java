package io.ragengine.limiter;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Many threads at once: the bound holds, and every call is accounted for exactly once. */
final class CallLimiterStressTest {
  private static final int CALLS = 10_000;
  private static final int SUBMITTERS = 50;
  private static final int MAX_ASYNC = 8;

  private static ThreadFactory submitters(String kind) {
    return kind.equals("virtual")
        ? Thread.ofVirtual().name("submitter-", 0).factory()
        : Thread.ofPlatform().daemon().name("submitter-", 0).factory();
  }

  @ParameterizedTest
  @ValueSource(strings = {"platform", "virtual"})
  void submit_tenThousandConcurrent_neverExceedsMaxAsync(String kind) throws Exception {
    var inFlight = new AtomicInteger();
    var maxSeen = new AtomicInteger();
    // The first MAX_ASYNC calls hold their workers until every call is submitted and the test has
    // looked: the limiter must run MAX_ASYNC at once, and nothing more while they hold. (When they
    // let go as soon as MAX_ASYNC were in, a worker too many went unseen in most runs.)
    var saturated = new CountDownLatch(MAX_ASYNC);
    var release = new CountDownLatch(1);
    var config =
        CallLimiterConfig.builder().name("stress").maxAsync(MAX_ASYNC).maxQueued(CALLS).build();
    try (CallLimiter limiter = CallLimiter.create(config)) {
      var ready = new CountDownLatch(1);
      List<Thread> threads = new ArrayList<>();
      List<List<CompletableFuture<Integer>>> perSubmitter = new ArrayList<>();
      ThreadFactory factory = submitters(kind);
      for (int s = 0; s < SUBMITTERS; s++) {
        int submitter = s;
        List<CompletableFuture<Integer>> mine = new ArrayList<>(); // read only after join()
        perSubmitter.add(mine);
        Thread t =
            factory.newThread(
                () -> {
                  try {
                    assertTrue(ready.await(10, SECONDS));
                  } catch (InterruptedException e) {
                    throw new AssertionError(e);
                  }
                  for (int i = submitter; i < CALLS; i += SUBMITTERS) {
                    int value = i;
                    mine.add(
                        limiter.submit(
                            i % 7,
                            () -> {
                              int now = inFlight.incrementAndGet();
                              maxSeen.accumulateAndGet(now, Math::max);
                              if (saturated.getCount() > 0) {
                                saturated.countDown();
                                release.await(60, TimeUnit.SECONDS);
                              }
                              inFlight.decrementAndGet();
                              return value;
                            }));
                  }
                });
        threads.add(t);
        t.start();
      }
      ready.countDown();
      try {
        for (Thread t : threads) {
          assertTrue(t.join(Duration.ofSeconds(60)), "submitter stuck");
        }
        assertTrue(saturated.await(10, SECONDS), "never " + MAX_ASYNC + " calls at once");
        assertEquals(MAX_ASYNC, inFlight.get());
        assertEquals(MAX_ASYNC, limiter.runningCount());
        assertEquals(CALLS - MAX_ASYNC, limiter.queuedCount());
      } finally {
        release.countDown();
      }
      long sum = 0;
      int count = 0;
      for (List<CompletableFuture<Integer>> mine : perSubmitter) {
        for (CompletableFuture<Integer> f : mine) {
          sum += f.get(60, SECONDS);
          count++;
        }
      }
      assertEquals(CALLS, count);
      assertEquals((long) CALLS * (CALLS - 1) / 2, sum); // every call ran exactly once
      assertEquals(MAX_ASYNC, maxSeen.get());
      LimiterStats stats = limiter.stats();
      assertEquals(CALLS, stats.completed());
      assertEquals(CALLS, stats.submitted());
      assertEquals(0, stats.rejected());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 3})
  void randomCancelsAndFailures_everyCallAccountedOnce(int seed) throws Exception {
    var random = new SplittableRandom(seed);
    var config =
        CallLimiterConfig.builder().name("accounting").maxAsync(4).maxQueued(5_000).build();
    try (CallLimiter limiter = CallLimiter.create(config)) {
      List<CompletableFuture<Integer>> futures = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        int kind = random.nextInt(10);
        int value = i;
        var f =
            limiter.submit(
                random.nextInt(3),
                () -> {
                  if (kind == 0) {
                    throw new IllegalStateException("fails");
                  }
                  if (kind == 1 && LimitedCall.attempt() == 1) {
                    throw new RetryLaterException(Duration.ZERO, null);
                  }
                  return value;
                });
        futures.add(f);
        if (random.nextInt(10) == 0) {
          f.cancel(random.nextBoolean());
        }
      }
      long ok = 0;
      long bad = 0;
      long cancelled = 0;
      for (var f : futures) {
        try {
          f.get(60, SECONDS);
          ok++;
        } catch (java.util.concurrent.CancellationException e) {
          cancelled++;
        } catch (java.util.concurrent.ExecutionException e) {
          bad++;
        }
      }
      // A call cancelled without interruption runs on after its future is done, and counts its
      // outcome for a moment before taking it back (see settle): look once the limiter is idle.
      // One snapshot, so that a call between running and queued again cannot pass for neither.
      io.ragengine.testing.Awaits.await(
          "the limiter idle",
          () -> {
            LimiterStats s = limiter.stats();
            return s.running() == 0 && s.queued() == 0 && s.delayed() == 0;
          });
      LimiterStats stats = limiter.stats();
      assertEquals(ok, stats.completed());
      assertEquals(bad, stats.failed());
      assertEquals(cancelled, stats.cancelled());
      assertEquals(5_000, ok + bad + cancelled);
    }
  }
}
