package io.ragengine.limiter;

import java.util.concurrent.Callable;

/**
 * Runs code as if it were attempt {@code n} of a {@link LimitedCall} on a limiter worker, so model
 * clients can be tested on their limiter path without a limiter.
 *
 * <p>Thread-safe: it touches only the current thread's state.
 */
public final class LimitedCallTesting {
  private LimitedCallTesting() {}

  /**
   * Runs {@code call} on the current thread with {@link LimitedCall#attempt()} returning {@code
   * attempt}, then clears it, whatever the outcome.
   *
   * @throws IllegalArgumentException if {@code attempt < 1}
   */
  public static <T> T runAsAttempt(int attempt, Callable<T> call) throws Exception {
    if (attempt < 1) {
      throw new IllegalArgumentException("attempt: " + attempt + " (expected: > 0)");
    }
    LimitedCall.enter(attempt);
    try {
      return call.call();
    } finally {
      LimitedCall.enter(0);
    }
  }
}
