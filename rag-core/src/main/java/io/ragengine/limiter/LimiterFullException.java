package io.ragengine.limiter;

/**
 * Fails a call submitted while {@code maxQueued} calls were already waiting. The call never ran.
 * Immutable.
 */
public final class LimiterFullException extends LimiterException {
  private static final long serialVersionUID = 1L;

  private final int maxQueued;

  LimiterFullException(String limiterName, int maxQueued) {
    super(limiterName, "queue is full (maxQueued " + maxQueued + ")", null);
    this.maxQueued = maxQueued;
  }

  /** The limiter's bound on waiting calls when the call was rejected. */
  public int maxQueued() {
    return maxQueued;
  }
}
