package io.ragengine.openai;

import io.ragengine.model.ModelException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A {@link ModelException} that this client does not retry itself even when {@link #retryable()}
 * says a later call may succeed: an open circuit breaker (retrying at once would defeat it) and a
 * stream that failed after tokens were delivered (a retry would deliver them twice).
 */
final class FinalModelException extends ModelException {
  private static final long serialVersionUID = 1L;

  FinalModelException(
      String message,
      int statusCode,
      String providerMessage,
      boolean retryable,
      @Nullable Duration retryAfter,
      @Nullable Throwable cause) {
    super(message, statusCode, providerMessage, retryable, retryAfter, cause);
  }

  static FinalModelException of(ModelException e) {
    return new FinalModelException(
        e.getMessage(),
        e.statusCode(),
        e.providerMessage(),
        e.retryable(),
        e.retryAfter().orElse(null),
        e);
  }
}
