package io.ragengine;

import org.jspecify.annotations.Nullable;

/**
 * The base of every exception that ragengine throws for a reason other than a bad argument or a
 * call at the wrong time (those are {@link IllegalArgumentException} and {@link
 * IllegalStateException}). Unchecked. Subclasses carry the context needed to act on the failure:
 * the limiter's name, the model, the HTTP status.
 *
 * <p>Messages never contain document text, prompts or API keys.
 */
public class RagException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public RagException(String message) {
    super(message);
  }

  public RagException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
