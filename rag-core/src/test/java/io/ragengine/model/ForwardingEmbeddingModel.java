package io.ragengine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * An {@link EmbeddingModel} that passes every call to another; tests override one method to
 * inject a behaviour (fail on one input, block, count). Thread-safe if the delegate is.
 */
public class ForwardingEmbeddingModel implements EmbeddingModel {
  private final EmbeddingModel delegate;

  public ForwardingEmbeddingModel(EmbeddingModel delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /**
   * {@code delegate}, with each vector it returns replaced by {@code map.apply(text, vector)}: a
   * model that answers a broken vector for the texts a test picks.
   */
  public static EmbeddingModel mappingVectors(
      EmbeddingModel delegate, BiFunction<String, float[], float[]> map) {
    return new ForwardingEmbeddingModel(delegate) {
      @Override
      public List<float[]> embed(List<String> texts) {
        List<float[]> vectors = new ArrayList<>(super.embed(texts));
        for (int i = 0; i < texts.size(); i++) {
          vectors.set(i, map.apply(texts.get(i), vectors.get(i)));
        }
        return vectors;
      }
    };
  }

  @Override
  public List<float[]> embed(List<String> texts) {
    return delegate.embed(texts);
  }

  @Override
  public int dimension() {
    return delegate.dimension();
  }

  @Override
  public int maxInputTokens() {
    return delegate.maxInputTokens();
  }

  @Override
  public int maxBatchSize() {
    return delegate.maxBatchSize();
  }

  @Override
  public String modelName() {
    return delegate.modelName();
  }

  @Override
  public void warmup() {
    delegate.warmup();
  }

  @Override
  public void warmup(int connections) {
    delegate.warmup(connections);
  }
}
