package io.ragengine;

import io.ragengine.internal.Checks;
import java.util.Objects;

/**
 * How one query runs. Immutable; start from {@link #defaults()} or {@link #mode(QueryMode)} and
 * derive variants with {@link #toBuilder()}.
 *
 * @param mode how context is found; default {@link QueryMode#NAIVE}
 * @param topK the most chunks retrieved; default {@value #DEFAULT_TOP_K}
 * @param minScore the lowest cosine similarity a retrieved chunk may have, at most 1; chunks below
 *     it are left out even when fewer than {@code topK} remain. Default {@link #NO_MIN_SCORE}: the
 *     {@code topK} best chunks, however weak (LightRAG drops vector hits below 0.2, its {@code
 *     cosine_better_than_threshold}; which threshold suits depends on the embedding model)
 * @param maxTotalTokens the budget of the whole answer prompt (instructions, context and
 *     question); retrieved chunks are added best first until the next would not fit. Default
 *     {@value #DEFAULT_MAX_TOTAL_TOKENS}
 * @param onlyContext return the retrieved context without calling the chat model (in {@link
 *     QueryMode#BYPASS} mode, an empty context)
 */
public record QueryParams(
    QueryMode mode, int topK, double minScore, int maxTotalTokens, boolean onlyContext) {
  /** Default chunks retrieved, {@value}, as LightRAG's {@code chunk_top_k}. */
  public static final int DEFAULT_TOP_K = 20;

  /** A {@code minScore} that keeps every chunk of the top k, the default. */
  public static final double NO_MIN_SCORE = Double.NEGATIVE_INFINITY;

  /** Default prompt budget, {@value} tokens, as LightRAG's {@code max_total_tokens}. */
  public static final int DEFAULT_MAX_TOTAL_TOKENS = 30_000;

  /**
   * @throws IllegalArgumentException if {@code topK} is not in [1, 10000], {@code minScore} is
   *     NaN or above 1, or {@code maxTotalTokens} is not positive
   */
  public QueryParams {
    Objects.requireNonNull(mode, "mode");
    Checks.inRange(topK, 1, 10_000, "topK");
    checkMinScore(minScore);
    Checks.positive(maxTotalTokens, "maxTotalTokens");
  }

  /** NAIVE mode, {@value #DEFAULT_TOP_K} chunks, an answer from the chat model. */
  public static QueryParams defaults() {
    return builder().build();
  }

  /** The defaults with {@code mode}. */
  public static QueryParams mode(QueryMode mode) {
    return builder().mode(mode).build();
  }

  /** A builder at the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these values. */
  public Builder toBuilder() {
    return builder()
        .mode(mode)
        .topK(topK)
        .minScore(minScore)
        .maxTotalTokens(maxTotalTokens)
        .onlyContext(onlyContext);
  }

  private static double checkMinScore(double minScore) {
    // NaN fails the comparison too: !(NaN <= 1).
    if (!(minScore <= 1)) {
      throw new IllegalArgumentException(
          "minScore: "
              + minScore
              + " (expected: at most 1, a cosine similarity; or NO_MIN_SCORE to keep every chunk"
              + " of the top k)");
    }
    return minScore;
  }

  /** Builds {@link QueryParams}; each setter checks its value. Not thread-safe. */
  public static final class Builder {
    private QueryMode mode = QueryMode.NAIVE;
    private int topK = DEFAULT_TOP_K;
    private double minScore = NO_MIN_SCORE;
    private int maxTotalTokens = DEFAULT_MAX_TOTAL_TOKENS;
    private boolean onlyContext;

    private Builder() {}

    /** How context is found. Default NAIVE. */
    public Builder mode(QueryMode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /**
     * The most chunks retrieved. Default {@value QueryParams#DEFAULT_TOP_K}.
     *
     * @throws IllegalArgumentException unless {@code 1 <= topK <= 10000}
     */
    public Builder topK(int topK) {
      this.topK = Checks.inRange(topK, 1, 10_000, "topK");
      return this;
    }

    /**
     * The lowest cosine similarity a retrieved chunk may have; weaker chunks are left out even when
     * fewer than {@code topK} remain, and with none left the chat model is told no sources were
     * found. Default {@link QueryParams#NO_MIN_SCORE}, no minimum.
     *
     * @throws IllegalArgumentException if NaN or above 1
     */
    public Builder minScore(double minScore) {
      this.minScore = checkMinScore(minScore);
      return this;
    }

    /**
     * The answer prompt's token budget. Default {@value QueryParams#DEFAULT_MAX_TOTAL_TOKENS}.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder maxTotalTokens(int maxTotalTokens) {
      this.maxTotalTokens = Checks.positive(maxTotalTokens, "maxTotalTokens");
      return this;
    }

    /** Return the context without calling the chat model. Default false. */
    public Builder onlyContext(boolean onlyContext) {
      this.onlyContext = onlyContext;
      return this;
    }

    public QueryParams build() {
      return new QueryParams(mode, topK, minScore, maxTotalTokens, onlyContext);
    }
  }
}
