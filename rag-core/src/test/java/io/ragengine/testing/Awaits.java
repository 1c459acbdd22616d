package io.ragengine.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * A bounded wait for an outcome that is truly asynchronous (a worker thread exiting, say), in the
 * manner of Caffeine's {@code Awaits}. Never used where a latch or a future can say it directly.
 */
public final class Awaits {
  public static final Duration BOUND = Duration.ofSeconds(10);

  private Awaits() {}

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
