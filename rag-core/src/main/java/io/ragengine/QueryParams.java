package io.ragengine;

import io.ragengine.internal.Checks;
import java.util.Objects;

/**
 * How one query runs. Immutable; start from {@link #defaults()} or {@link #mode(QueryMode)} and
 * derive variants with {@link #toBuilder()}.
 *
 * @param mode how context is found; default {@link QueryMode#NAIVE}
 * @param topK the most chunks retrieved; default {@value #DEFAULT_TOP_K}
 * @param maxTotalTokens the budget of the whole answer prompt (instructions, context and
 *     question); retrieved chunks are added best first until the next would not fit. Default
 *     {@value #DEFAULT_MAX_TOTAL_TOKENS}
 * @param onlyContext return the retrieved context without calling the chat model (in {@link
 *     QueryMode#BYPASS} mode, an empty context)
 */
public record QueryParams(QueryMode mode, int topK, int maxTotalTokens, boolean onlyContext) {
  /** Default chunks retrieved, {@value}, as LightRAG's {@code chunk_top_k}. */
  public static final int DEFAULT_TOP_K = 20;

  /** Default prompt budget, {@value} tokens, as LightRAG's {@code max_total_tokens}. */
  public static final int DEFAULT_MAX_TOTAL_TOKENS = 30_000;

  /**
   * @throws IllegalArgumentException if {@code topK} is not in [1, 10000], or {@code
   *     maxTotalTokens} is not positive
   */
  public QueryParams {
    Objects.requireNonNull(mode, "mode");
    Checks.inRange(topK, 1, 10_000, "topK");
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
    return builder().mode(mode).topK(topK).maxTotalTokens(maxTotalTokens).onlyContext(onlyContext);
  }

  /** Builds {@link QueryParams}; each setter checks its value. Not thread-safe. */
  public static final class Builder {
    private QueryMode mode = QueryMode.NAIVE;
    private int topK = DEFAULT_TOP_K;
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
      return new QueryParams(mode, topK, maxTotalTokens, onlyContext);
    }
  }
}
