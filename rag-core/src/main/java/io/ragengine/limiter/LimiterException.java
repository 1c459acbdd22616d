package io.ragengine.limiter;

import io.ragengine.RagException;
import org.jspecify.annotations.Nullable;

/**
 * The base of the exceptions a {@link CallLimiter} fails a call with, carrying the limiter's
 * name. Immutable.
 */
public abstract class LimiterException extends RagException {
  private static final long serialVersionUID = 1L;

  private final String limiterName;

  LimiterException(String limiterName, String message, @Nullable Throwable cause) {
    super("limiter '" + limiterName + "': " + message, cause);
    this.limiterName = limiterName;
  }

  /** The name of the limiter that failed the call. */
  public String limiterName() {
    return limiterName;
  }
}
