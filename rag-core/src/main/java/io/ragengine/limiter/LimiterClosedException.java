package io.ragengine.limiter;

/**
 * Fails a call that the limiter's {@link CallLimiter#close()} stopped: one still waiting (it never
 * ran), one waiting out a back-off, or one still running when the drain timeout ran out (it was
 * interrupted). Calls submitted after close are refused at the call site with {@link
 * IllegalStateException} instead. Immutable.
 */
public final class LimiterClosedException extends LimiterException {
  private static final long serialVersionUID = 1L;

  LimiterClosedException(String limiterName, String what) {
    super(limiterName, what, null);
  }
}
