package io.ragengine.examples;

import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.LimitedCall;
import io.ragengine.limiter.LimiterStats;
import io.ragengine.limiter.Priority;
import io.ragengine.limiter.RetryLaterException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The call limiter at work: a bulk ingest of a few hundred extraction calls against a simulated
 * slow model with a budget of 8 calls in flight, while a user asks questions in the middle of it.
 * The questions jump the queue; calls the model answers with "429, retry later" give their slot
 * back while they wait; the stats at the end show where the time went.
 *
 * <p>Run from the repository root: {@code ./mvnw -q -pl examples -am compile exec:java
 * -Dexec.mainClass=io.ragengine.examples.LimiterDemo}
 */
public final class LimiterDemo {
  private static final int MAX_ASYNC = 8;
  private static final int EXTRACTIONS = 400;
  private static final int QUESTIONS = 5;

  private LimiterDemo() {}

  public static void main(String[] args) throws Exception {
    SimulatedModel model = new SimulatedModel();
    CallLimiterConfig config =
        CallLimiterConfig.builder()
            .name("chat")
            .maxAsync(MAX_ASYNC)
            .callTimeout(Duration.ofSeconds(10))
            .eagerInit(true)
            .build();
    System.out.printf(
        "ragengine call limiter demo: %d extraction calls and %d user questions share one budget"
            + " of %d calls in flight.%n",
        EXTRACTIONS, QUESTIONS, MAX_ASYNC);
    System.out.println("Simulated model: 20-60 ms per call, 5% of first attempts answered 429.");

    long start = System.nanoTime();
    try (CallLimiter limiter = CallLimiter.create(config, model::warmUp)) {
      limiter.awaitReady(Duration.ofSeconds(10));
      System.out.printf(
          "Warm-up done in %d ms: the connection is open before the first call.%n",
          (System.nanoTime() - start) / 1_000_000);

      // A bulk ingest queues all its extraction calls at once, as the engine does.
      long ingestStart = System.nanoTime();
      AtomicInteger done = new AtomicInteger();
      List<CompletableFuture<String>> extractions = new ArrayList<>();
      for (int i = 0; i < EXTRACTIONS; i++) {
        int chunk = i;
        CompletableFuture<String> f =
            limiter.submit(Priority.EXTRACTION, () -> model.call("extract chunk " + chunk));
        f.thenRun(() -> progress(done.incrementAndGet()));
        extractions.add(f);
      }

      // A third of the way in, a user asks questions. They run at query priority.
      while (done.get() < EXTRACTIONS / 3) {
        extractions.get(done.get()).join();
      }
      System.out.printf("%n-- a user asks %d questions while %d extractions wait --%n",
          QUESTIONS, limiter.queuedCount());
      List<CompletableFuture<Long>> answers = new ArrayList<>();
      for (int q = 0; q < QUESTIONS; q++) {
        long asked = System.nanoTime();
        int question = q;
        answers.add(
            limiter
                .submit(Priority.QUERY, () -> model.call("answer question " + question))
                .thenApply(answer -> System.nanoTime() - asked));
      }
      for (int q = 0; q < QUESTIONS; q++) {
        System.out.printf(
            "   question %d answered in %3d ms (a model call takes 20-60 ms)%n",
            q + 1, answers.get(q).join() / 1_000_000);
      }
      System.out.println("-- back to the ingest --");

      for (CompletableFuture<String> f : extractions) {
        f.join();
      }
      printStats(limiter.stats(), model, System.nanoTime() - ingestStart);
    }
  }

  private static void progress(int done) {
    if (done % (EXTRACTIONS / 10) == 0) {
      int percent = done * 100 / EXTRACTIONS;
      String bar = "#".repeat(percent / 5) + ".".repeat(20 - percent / 5);
      System.out.printf("   ingest [%s] %3d%% (%d/%d)%n", bar, percent, done, EXTRACTIONS);
    }
  }

  private static void printStats(LimiterStats s, SimulatedModel model, long elapsedNanos) {
    double busy = model.busyNanos.sum() / (double) (MAX_ASYNC * elapsedNanos);
    System.out.printf(
        Locale.ROOT,
        "%nIngest and questions done in %.2f s. Limiter '%s' stats:%n"
            + "  calls: %d submitted, %d completed, %d failed, %d timed out, %d rejected,"
            + " %d cancelled%n"
            + "  back-offs: %d calls gave their slot back after a 429 and ran again later%n"
            + "  wait for a slot: p50 %s, p95 %s, p99 %s, max %s%n"
            + "  run time:        p50 %s, p95 %s, p99 %s, max %s%n"
            + "  budget used: %.1f%% of %d slots x elapsed time spent inside model calls%n",
        elapsedNanos / 1e9,
        s.name(),
        s.submitted(),
        s.completed(),
        s.failed(),
        s.timedOut(),
        s.rejected(),
        s.cancelled(),
        s.retried(),
        ms(s.waitTime().p50()),
        ms(s.waitTime().p95()),
        ms(s.waitTime().p99()),
        ms(s.waitTime().max()),
        ms(s.runTime().p50()),
        ms(s.runTime().p95()),
        ms(s.runTime().p99()),
        ms(s.runTime().max()),
        busy * 100,
        MAX_ASYNC);
  }

  private static String ms(Duration d) {
    return String.format(Locale.ROOT, "%6.1f ms", d.toNanos() / 1e6);
  }

  /** Stands in for a remote LLM: 20-60 ms per call, and a 429 on 5% of first attempts. */
  private static final class SimulatedModel {
    final LongAdder busyNanos = new LongAdder();

    Object warmUp() throws InterruptedException {
      Thread.sleep(150); // simulates opening a TLS connection to the provider
      return "connected";
    }

    String call(String prompt) throws InterruptedException {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      long t0 = System.nanoTime();
      try {
        // Simulated network latency: the call holds its slot while it waits, like a real one.
        Thread.sleep(20 + random.nextInt(41));
        if (LimitedCall.attempt() == 1 && random.nextInt(100) < 5) {
          // The provider said "429, retry after 200 ms": give the slot back meanwhile.
          throw new RetryLaterException(Duration.ofMillis(200), null);
        }
        return "result of " + prompt;
      } finally {
        busyNanos.add(System.nanoTime() - t0);
      }
    }
  }
}
