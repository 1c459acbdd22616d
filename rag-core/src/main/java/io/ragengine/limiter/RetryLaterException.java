package io.ragengine.limiter;

import io.ragengine.RagException;
import io.ragengine.internal.Checks;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Thrown by a call running in a {@link CallLimiter} to give its worker back and run again after
 * {@link #delay()}, keeping its place in line: when it re-enters the queue it goes ahead of every
 * call of the same priority submitted after it. No worker sleeps through the delay.
 *
 * <p>This is how a client that was told to back off (an HTTP 429 with {@code Retry-After}, say)
 * waits without holding one of the limiter's {@code maxAsync} slots. The limiter runs the same
 * {@link java.util.concurrent.Callable} again; {@link LimitedCall#attempt()} tells it which attempt
 * it is on, so the call decides when to stop retrying and fail instead. Thrown outside a limiter it
 * is an ordinary failure whose {@link #getCause() cause} is the error that asked for the retry.
 *
 * <p>Immutable.
 */
public final class RetryLaterException extends RagException {
  private static final long serialVersionUID = 1L;

  private final Duration delay;

  /**
   * @param delay how long to wait before the call runs again; zero re-enters at once
   * @param cause the failure that asked for the retry, reported if the call is never retried
   * @throws IllegalArgumentException if {@code delay} is negative
   */
  public RetryLaterException(Duration delay, @Nullable Throwable cause) {
    super("retry after " + Checks.positiveOrZero(delay, "delay"), cause);
    this.delay = delay;
  }

  /**
   * How long the call waits, without a worker, before it re-enters the queue; a limiter waits at
   * most 365 days however long this is.
   */
  public Duration delay() {
    return delay;
  }
}
