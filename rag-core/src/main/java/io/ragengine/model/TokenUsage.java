package io.ragengine.model;

import io.ragengine.internal.Checks;

/**
 * The tokens a chat call consumed, as the provider counted them.
 *
 * <p>Immutable.
 *
 * @param inputTokens tokens of the prompt (OpenAI's {@code prompt_tokens})
 * @param outputTokens tokens of the answer (OpenAI's {@code completion_tokens})
 * @param totalTokens as reported; usually {@code inputTokens + outputTokens}
 */
public record TokenUsage(int inputTokens, int outputTokens, int totalTokens) {
  /** The usage of a response whose provider reported none: all counts zero. */
  public static final TokenUsage UNKNOWN = new TokenUsage(0, 0, 0);

  /**
   * @throws IllegalArgumentException if a count is negative
   */
  public TokenUsage {
    Checks.positiveOrZero(inputTokens, "inputTokens");
    Checks.positiveOrZero(outputTokens, "outputTokens");
    Checks.positiveOrZero(totalTokens, "totalTokens");
  }

  /** Returns the usage with {@code totalTokens = inputTokens + outputTokens}. */
  public static TokenUsage of(int inputTokens, int outputTokens) {
    long total = (long) inputTokens + outputTokens;
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "inputTokens + outputTokens: " + total + " (expected: at most " + Integer.MAX_VALUE + ")");
    }
    return new TokenUsage(inputTokens, outputTokens, (int) total);
  }
}
