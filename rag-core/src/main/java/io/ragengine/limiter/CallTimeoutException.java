package io.ragengine.limiter;

import java.time.Duration;

/**
 * Fails a call that waited longer than {@code queueTimeout} to start (it never ran), or whose run
 * took longer than {@code callTimeout} (its thread was interrupted). Immutable.
 */
public final class CallTimeoutException extends LimiterException {
  private static final long serialVersionUID = 1L;

  /** Which of the two limits the call exceeded. */
  public enum Phase {
    /** The call waited longer than {@code queueTimeout} for a worker and never ran. */
    QUEUED,
    /** One run of the call took longer than {@code callTimeout}; it was interrupted. */
    RUNNING
  }

  private final Phase phase;
  private final Duration elapsed;
  private final Duration timeout;

  CallTimeoutException(String limiterName, Phase phase, Duration elapsed, Duration timeout) {
    super(
        limiterName,
        (phase == Phase.QUEUED ? "call waited " : "call ran ")
            + format(elapsed)
            + (phase == Phase.QUEUED ? " without starting (queueTimeout " : " (callTimeout ")
            + format(timeout)
            + ")",
        null);
    this.phase = phase;
    this.elapsed = elapsed;
    this.timeout = timeout;
  }

  /** Whether the call timed out waiting or running. */
  public Phase phase() {
    return phase;
  }

  /** How long the call had waited or run when it timed out. */
  public Duration elapsed() {
    return elapsed;
  }

  /** The limit it exceeded: the limiter's {@code queueTimeout} or {@code callTimeout}. */
  public Duration timeout() {
    return timeout;
  }

  private static String format(Duration d) {
    long millis = d.toMillis();
    return millis < 10_000 ? millis + " ms" : String.format("%.1f s", millis / 1000.0);
  }
}
