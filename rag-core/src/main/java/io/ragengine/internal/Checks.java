package io.ragengine.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * Argument checks whose messages name the option, the value and the constraint, as in {@code
 * maxAsync: 0 (expected: > 0)}, so the user can fix the call from the message alone.
 *
 * <p>Not public API.
 */
public final class Checks {
  /**
   * The longest timeout or wait an option accepts, 365 days: past it a deadline in nanoseconds
   * could overflow, and no call waits that long on purpose (zero means "none" where allowed).
   */
  public static final Duration MAX_WAIT = Duration.ofDays(365);

  private Checks() {}

  /** Returns {@code value} if it is greater than zero. */
  public static int positive(int value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  /** Returns {@code value} if it is zero or greater. */
  public static int positiveOrZero(int value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
    }
    return value;
  }

  /** Returns {@code value} if it is zero or greater. */
  public static long positiveOrZero(long value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
    }
    return value;
  }

  /** Returns {@code value} if it lies in {@code [min, max]}. */
  public static int inRange(int value, int min, int max, String name) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + ": " + value + " (expected: in [" + min + ", " + max + "])");
    }
    return value;
  }

  /** Returns {@code value} if it is non-null and longer than zero. */
  public static Duration positive(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  /** Returns {@code value} if it is non-null and not negative. */
  public static Duration positiveOrZero(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isNegative()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
    }
    return value;
  }

  /** Returns {@code value} if it is non-null, not negative and at most {@link #MAX_WAIT}. */
  public static Duration wait(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.compareTo(MAX_WAIT) > 0) {
      throw new IllegalArgumentException(
          name + ": " + value + " (expected: in [" + Duration.ZERO + ", " + MAX_WAIT + "])");
    }
    return value;
  }

  /**
   * Returns {@code value} if it is non-null and has a non-whitespace character; the message never
   * quotes the value (for document text and questions, which must not reach logs).
   */
  public static String notBlankNoEcho(String value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isBlank()) {
      throw new IllegalArgumentException(
          name + ": blank text of length " + value.length() + " (expected: not blank)");
    }
    return value;
  }

  /**
   * Returns {@code value} if it is well-formed UTF-16: every surrogate is half of a pair. An
   * unpaired surrogate is not text, and UTF-8 (the storage's and the providers' encoding) cannot
   * carry it: it would be stored and sent as {@code ?}, a silent change. The message never quotes
   * the value.
   */
  public static String wellFormed(String value, String name) {
    for (int i = 0, n = value.length(); i < n; i++) {
      char c = value.charAt(i);
      if (!Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < n
          && Character.isLowSurrogate(value.charAt(i + 1))) {
        i++; // a pair: one character outside the Basic Multilingual Plane
        continue;
      }
      throw new IllegalArgumentException(
          String.format(
              "%s: unpaired surrogate U+%04X at index %d of %d (expected: well-formed UTF-16 text;"
                  + " UTF-8 cannot carry an unpaired surrogate, so it would be stored changed)",
              name, (int) c, i, n));
    }
    return value;
  }

  /** Returns {@code value} if it is non-null and has a non-whitespace character. */
  public static String notBlank(String value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isBlank()) {
      throw new IllegalArgumentException(name + ": \"" + value + "\" (expected: not blank)");
    }
    return value;
  }
}
