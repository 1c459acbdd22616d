package io.ragengine.openai;

import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.RetryConfig;
import io.ragengine.model.ModelException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * When and how long to wait before retrying a failed attempt: the server's {@code Retry-After}
 * when it sent one (up to {@code maxRetryAfter}), else an exponential back-off with jitter.
 * Immutable.
 */
final class RetryPolicy {
  static final double MULTIPLIER = 2.0;
  static final double JITTER = 0.5;

  final int maxAttempts;
  final Duration initialBackoff;
  final Duration maxBackoff;
  final Duration maxRetryAfter;
  final Sleeper sleeper;
  final Clock clock;
  private final IntervalFunction backoff;
  private final RetryConfig retryConfig;

  RetryPolicy(
      int maxAttempts,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration maxRetryAfter,
      Sleeper sleeper,
      Clock clock) {
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.maxRetryAfter = maxRetryAfter;
    this.sleeper = sleeper;
    this.clock = clock;
    this.backoff =
        IntervalFunction.ofExponentialRandomBackoff(initialBackoff, MULTIPLIER, JITTER, maxBackoff);
    this.retryConfig =
        RetryConfig.custom()
            .maxAttempts(maxAttempts)
            .retryOnException(RetryPolicy::isRetryable)
            .intervalBiFunction((attempt, outcome) -> delayMillis(attempt, outcome.getLeft()))
            .failAfterMaxAttempts(false)
            .build();
  }

  RetryConfig retryConfig() {
    return retryConfig;
  }

  /** Whether a failed attempt may be tried again. */
  static boolean isRetryable(Throwable t) {
    return t instanceof ModelException e && e.retryable() && !(e instanceof FinalModelException);
  }

  /**
   * The wait before the attempt after attempt number {@code attempt} (1-based) failed with {@code
   * failure}, in milliseconds, or -1 if the server asked for a wait longer than maxRetryAfter.
   */
  long delayMillis(int attempt, Throwable failure) {
    Optional<Duration> asked =
        failure instanceof ModelException e ? e.retryAfter() : Optional.empty();
    if (asked.isPresent()) {
      Duration d = asked.get();
      return d.compareTo(maxRetryAfter) > 0 ? -1 : d.toMillis();
    }
    return backoff.apply(attempt);
  }

  @Override
  public String toString() {
    return "maxAttempts="
        + maxAttempts
        + ", initialBackoff="
        + initialBackoff
        + ", maxBackoff="
        + maxBackoff
        + ", maxRetryAfter="
        + maxRetryAfter;
  }
}
