package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

final class FakeEmbeddingModelTest extends EmbeddingModelContractTest {
  private final FakeEmbeddingModel model = new FakeEmbeddingModel();

  @Override
  protected EmbeddingModel model() {
    return model;
  }

  @Override
  protected List<float[]> givenVectors(List<String> texts) {
    return texts.stream().map(model::vectorOf).toList();
  }

  @Override
  protected void givenBadRequest(String providerMessage) {
    model.failNext(
        1, new ModelException("fake: HTTP 400", 400, providerMessage, false, null, null));
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @Test
  void vectors_areUnitLengthAndSharedWordsAreCloser() {
    FakeEmbeddingModel m = new FakeEmbeddingModel(64);
    float[] a = m.vectorOf("the quick brown fox");
    float[] b = m.vectorOf("a quick brown dog");
    float[] c = m.vectorOf("unrelated tax law");
    assertEquals(1.0, dot(a, a), 1e-5);
    assertTrue(dot(a, b) > dot(a, c));
    assertArrayEquals(a, new FakeEmbeddingModel(64).vectorOf("the quick brown fox"));
  }

  @Test
  void failNext_thenRecordsCallsAndLatency() {
    List<Duration> slept = new ArrayList<>();
    model.latency(Duration.ofMillis(10), Duration.ofMillis(1), slept::add).failNext(1);
    assertThrows(ModelException.class, () -> model.embed(List.of("x", "y")));
    model.embed(List.of("z"));
    assertEquals(List.of(List.of("x", "y"), List.of("z")), model.calls());
    assertEquals(List.of(Duration.ofMillis(12), Duration.ofMillis(11)), slept);
  }
}
