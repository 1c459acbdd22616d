package io.ragengine.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A bounded wait for an outcome that is truly asynchronous (a worker thread exiting, say), in the
 * manner of Caffeine's {@code Awaits}. Never used where a latch or a future can say it directly.
 */
public final class Awaits {
  public static final Duration BOUND = Duration.ofSeconds(10);

  private Awaits() {}

  /**
   * Waits up to {@link #BOUND} for {@code latch} to open, from inside a fake (a storage or a model
   * holding a call back), where an assertion would not reach the test: it throws {@link
   * IllegalStateException} instead, and keeps the interrupt if interrupted.
   */
  public static void awaitOpen(CountDownLatch latch, String what) {
    try {
      if (!latch.await(BOUND.toNanos(), TimeUnit.NANOSECONDS)) {
        throw new IllegalStateException("timed out after " + BOUND + " waiting for: " + what);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for: " + what, e);
    }
  }

  public static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after " + BOUND + " waiting for: " + what);
      }
      LockSupport.parkNanos(1_000_000); // poll every millisecond
    }
  }
}
