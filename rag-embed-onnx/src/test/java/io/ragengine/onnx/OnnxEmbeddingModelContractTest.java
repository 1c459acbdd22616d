package io.ragengine.onnx;

import ai.onnxruntime.OrtException;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.EmbeddingModelContractTest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The real default model under the SPI contract. The model answers for itself, so {@link
 * #givenVectors} computes the expected vectors one text per call; a bad request is arranged by a
 * runner wrapper that makes the next ONNX run fail as ONNX Runtime would.
 */
final class OnnxEmbeddingModelContractTest extends EmbeddingModelContractTest {
  private static final AtomicReference<@Nullable String> failNext = new AtomicReference<>();
  private static OnnxEmbeddingModel model;

  @BeforeAll
  static void load() {
    model = OnnxEmbeddingModel.builder().runnerDecorator(FailNext::new).build();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Override
  protected EmbeddingModel model() {
    return model;
  }

  @Override
  protected List<float[]> givenVectors(List<String> texts) {
    List<float[]> vectors = new ArrayList<>();
    for (String text : texts) {
      vectors.add(model.embed(text));
    }
    return vectors;
  }

  @Override
  protected void givenBadRequest(String providerMessage) {
    failNext.set(providerMessage);
  }

  /** Delegates to the real runner, except that it fails once after {@link #givenBadRequest}. */
  private record FailNext(OnnxEmbeddingModel.Runner delegate) implements OnnxEmbeddingModel.Runner {
    @Override
    public float[] run(long[] ids) throws OrtException {
      String message = failNext.getAndSet(null);
      if (message != null) {
        throw new OrtException(OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT, message);
      }
      return delegate.run(ids);
    }

    @Override
    public int dimension() {
      return delegate.dimension();
    }

    @Override
    public void close() throws OrtException {
      delegate.close();
    }
  }
}
