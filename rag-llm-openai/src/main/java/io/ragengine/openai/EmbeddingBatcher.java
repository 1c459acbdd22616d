package io.ragengine.openai;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits the texts of one {@code embed} call into provider requests, and applies the per-text
 * limit.
 *
 * <p>Texts are packed in order, greedily: a request ends when adding the next text would exceed
 * {@code maxBatchSize} texts or {@code maxTokensPerRequest} tokens. Tokens are counted exactly
 * only where a cheap upper bound ({@link TokenCounter#upperBound}) cannot settle the question, so
 * ordinary chunks are never tokenized here. Immutable.
 */
final class EmbeddingBatcher {
  /** What to do with a text over the per-text token limit. */
  enum Overlong {
    REJECT,
    TRUNCATE
  }

  /** The texts to send (truncated where allowed) and the end index of each request. */
  record Plan(List<String> texts, int[] batchEnds) {
    int batchCount() {
      return batchEnds.length;
    }

    int start(int batch) {
      return batch == 0 ? 0 : batchEnds[batch - 1];
    }

    int end(int batch) {
      return batchEnds[batch];
    }
  }

  private final int maxBatchSize;
  private final int maxTokensPerRequest;
  private final int maxInputTokens;
  private final Overlong overlong;
  private final TokenCounter counter;

  EmbeddingBatcher(
      int maxBatchSize,
      int maxTokensPerRequest,
      int maxInputTokens,
      Overlong overlong,
      TokenCounter counter) {
    this.maxBatchSize = maxBatchSize;
    this.maxTokensPerRequest = maxTokensPerRequest;
    this.maxInputTokens = maxInputTokens;
    this.overlong = overlong;
    this.counter = counter;
  }

  /**
   * @throws IllegalArgumentException if a text is over {@code maxInputTokens} and the policy is
   *     {@link Overlong#REJECT}; no request has been sent then
   */
  Plan plan(List<String> input) {
    int n = input.size();
    List<String> texts = input;
    int[] exact = new int[n];
    Arrays.fill(exact, -1);
    // Each text's bound is one pass over its characters (5,000 per chunk): computed once, here.
    long[] bounds = new long[n];
    for (int i = 0; i < n; i++) {
      String t = texts.get(i);
      bounds[i] = TokenCounter.upperBound(t);
      if (bounds[i] <= maxInputTokens) {
        continue;
      }
      int tokens = counter.count(t);
      if (tokens > maxInputTokens) {
        if (overlong == Overlong.REJECT) {
          throw new IllegalArgumentException(
              "texts["
                  + i
                  + "]: "
                  + tokens
                  + " tokens (expected: <= maxInputTokens "
                  + maxInputTokens
                  + "; split the text, or build the model with overlongInput(TRUNCATE) to cut it)");
        }
        if (texts == input) {
          texts = new ArrayList<>(input);
        }
        String cut = counter.truncate(t, maxInputTokens);
        texts.set(i, cut);
        tokens = counter.count(cut);
      }
      exact[i] = tokens;
    }

    List<Integer> ends = new ArrayList<>();
    int start = 0;
    long bound = 0; // an upper bound of the current request's tokens
    for (int i = 0; i < n; i++) {
      if (i - start == maxBatchSize) {
        ends.add(i);
        start = i;
        bound = 0;
      }
      long cost = exact[i] >= 0 ? exact[i] : bounds[i];
      if (bound + cost > maxTokensPerRequest) {
        // The bound says "maybe too many": count exactly (each text at most once per call).
        bound = 0;
        for (int j = start; j < i; j++) {
          bound += exactCount(texts, exact, j);
        }
        cost = exactCount(texts, exact, i);
        if (bound + cost > maxTokensPerRequest) {
          ends.add(i);
          start = i;
          bound = 0;
        }
      }
      bound += cost;
    }
    ends.add(n);
    int[] out = new int[ends.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ends.get(i);
    }
    return new Plan(texts, out);
  }

  private int exactCount(List<String> texts, int[] exact, int i) {
    if (exact[i] < 0) {
      exact[i] = counter.count(texts.get(i));
    }
    return exact[i];
  }
}
