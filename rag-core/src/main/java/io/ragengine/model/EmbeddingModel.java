package io.ragengine.model;

import io.ragengine.internal.Checks;
import java.util.List;

/**
 * A text embedding model: texts in, one vector per text out, in order.
 *
 * <p>Implementations are thread-safe and blocking, like {@link ChatModel}, and retry the same way.
 * An implementation splits a long list into as many provider calls as its limits require ({@link
 * #maxBatchSize()} inputs, and any token budget it has); the caller sees one list either way.
 */
public interface EmbeddingModel {

  /**
   * Returns one vector of {@link #dimension()} floats per text, in the order of {@code texts}. An
   * empty list returns an empty list without calling the provider.
   *
   * @throws ModelException if a call failed and its retries, if any, were exhausted, or the
   *     provider's answer did not hold one valid vector per text
   * @throws IllegalArgumentException if a text is longer than {@link #maxInputTokens()} and the
   *     implementation is not set to truncate it
   * @throws io.ragengine.limiter.RetryLaterException inside a limiter call, to wait before the
   *     next attempt without holding the worker
   * @throws NullPointerException if {@code texts} or one of them is null
   */
  List<float[]> embed(List<String> texts);

  /** Returns the vector of one text; see {@link #embed(List)}. */
  default float[] embed(String text) {
    return embed(List.of(text)).get(0);
  }

  /**
   * The number of floats in each vector. An implementation that cannot know it in advance may
   * learn it from one embedding call the first time it is asked.
   *
   * @throws ModelException if the dimension had to be learned and that call failed
   */
  int dimension();

  /** The most tokens one text may have. */
  int maxInputTokens();

  /** The most texts one provider call takes; {@link #embed(List)} splits longer lists. */
  int maxBatchSize();

  /** The model's name, as the provider knows it; part of any cache key for its vectors. */
  String modelName();

  /**
   * Prepares the model for the first real call: opens and keeps a connection, checks
   * credentials where that costs nothing. Called by the engine's eager initialisation. The
   * default does nothing.
   *
   * @throws ModelException if the provider cannot be reached or refuses the credentials
   */
  default void warmup() {}

  /**
   * {@link #warmup()} for up to {@code connections} calls at once: a model that talks to its
   * provider over pooled connections opens that many (as many as its pool keeps), so that the
   * first burst of calls does not wait for connections (and TLS handshakes) of its own. The
   * engine calls it with the embedding limiter's {@code maxAsync}. The default calls {@link
   * #warmup()}.
   *
   * @param connections calls the model should be ready to serve at once; at least 1
   * @throws ModelException if the provider cannot be reached or refuses the credentials
   * @throws IllegalArgumentException if {@code connections} is less than 1
   */
  default void warmup(int connections) {
    Checks.positive(connections, "connections");
    warmup();
  }
}
