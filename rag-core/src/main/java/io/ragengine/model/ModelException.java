package io.ragengine.model;

import io.ragengine.RagException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * A model call failed: the provider answered with an error, the connection failed, or the answer
 * could not be read.
 *
 * <p>Carries what a caller needs to act: the HTTP {@link #httpStatus() status} if there was one,
 * an excerpt of the {@link #providerMessage() provider's own message}, whether the call is {@link
 * #retryable() worth retrying}, and the wait the provider asked for, if any. The message and every
 * field are written so they never contain an API key or the text of a prompt or document.
 *
 * <p>Immutable.
 */
public class ModelException extends RagException {
  private static final long serialVersionUID = 1L;

  /** The value of {@link #statusCode()} when there was no HTTP response. */
  public static final int NO_STATUS = -1;

  private final int statusCode;
  private final String providerMessage;
  private final boolean retryable;
  private final @Nullable Duration retryAfter;

  /**
   * A failure without an HTTP response (a connection error, a malformed answer, an open circuit).
   *
   * @param message what failed, for people; no key, no prompt text
   * @param retryable whether the same call may succeed later
   * @param cause the underlying failure, if any
   */
  public ModelException(String message, boolean retryable, @Nullable Throwable cause) {
    this(message, NO_STATUS, "", retryable, null, cause);
  }

  /**
   * @param message what failed, for people; no key, no prompt text
   * @param statusCode the HTTP status, or {@link #NO_STATUS}
   * @param providerMessage an excerpt of the provider's error message; empty if none
   * @param retryable whether the same call may succeed later
   * @param retryAfter the wait the provider asked for ({@code Retry-After}), if any
   * @param cause the underlying failure, if any
   * @throws IllegalArgumentException if {@code statusCode} is neither {@link #NO_STATUS} nor in
   *     [100, 599], or {@code retryAfter} is negative
   */
  public ModelException(
      String message,
      int statusCode,
      String providerMessage,
      boolean retryable,
      @Nullable Duration retryAfter,
      @Nullable Throwable cause) {
    super(Objects.requireNonNull(message, "message"), cause);
    if (statusCode != NO_STATUS && (statusCode < 100 || statusCode > 599)) {
      throw new IllegalArgumentException(
          "statusCode: " + statusCode + " (expected: -1 or in [100, 599])");
    }
    if (retryAfter != null && retryAfter.isNegative()) {
      throw new IllegalArgumentException("retryAfter: " + retryAfter + " (expected: >= 0)");
    }
    this.statusCode = statusCode;
    this.providerMessage = Objects.requireNonNull(providerMessage, "providerMessage");
    this.retryable = retryable;
    this.retryAfter = retryAfter;
  }

  /** What failed, for people; never null, never an API key or prompt text. */
  @Override
  public String getMessage() {
    return Objects.requireNonNull(super.getMessage());
  }

  /** The HTTP status of the provider's answer, if there was one. */
  public OptionalInt httpStatus() {
    return statusCode == NO_STATUS ? OptionalInt.empty() : OptionalInt.of(statusCode);
  }

  /** The HTTP status of the provider's answer, or {@link #NO_STATUS} ({@value #NO_STATUS}). */
  public int statusCode() {
    return statusCode;
  }

  /**
   * An excerpt of the error message the provider sent (OpenAI's {@code error.message}), with any
   * API key removed; empty if the provider sent none.
   */
  public String providerMessage() {
    return providerMessage;
  }

  /**
   * Whether the same call may succeed if made again later: true for rate limits (429), server
   * errors (500, 502, 503, 504), time-outs and connection failures; false for bad requests,
   * authentication and permission errors, unknown models and unreadable answers that a retry
   * would not change.
   */
  public boolean retryable() {
    return retryable;
  }

  /** The wait the provider asked for before a retry ({@code Retry-After}), if it asked. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
