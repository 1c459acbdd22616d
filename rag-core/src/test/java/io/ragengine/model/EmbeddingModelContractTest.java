package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link EmbeddingModel} keeps. Extend it once per implementation and arrange
 * the answers through the two hooks.
 */
public abstract class EmbeddingModelContractTest {

  /** The model under test, the same instance for the whole test method. */
  protected abstract EmbeddingModel model();

  /**
   * Arranges that embedding exactly {@code texts} in one call answers with one vector per text,
   * and returns those vectors in order (each of {@link EmbeddingModel#dimension()} floats).
   */
  protected abstract List<float[]> givenVectors(List<String> texts);

  /**
   * Arranges that the next call fails as a bad request (HTTP 400 where there is HTTP) whose
   * provider message is {@code providerMessage}.
   */
  protected abstract void givenBadRequest(String providerMessage);

  @Test
  void embed_returnsOneVectorPerTextInOrder() {
    List<String> texts = List.of("alpha beta", "gamma", "delta epsilon zeta");
    List<float[]> expected = givenVectors(texts);
    List<float[]> actual = model().embed(texts);
    assertEquals(texts.size(), actual.size());
    for (int i = 0; i < texts.size(); i++) {
      assertArrayEquals(expected.get(i), actual.get(i), 1e-6f, "vector " + i);
    }
    assertFalse(Arrays.equals(actual.get(0), actual.get(1)), "distinct texts, equal vectors");
  }

  @Test
  void embed_vectorsHaveTheModelsDimension() {
    List<String> texts = List.of("one", "two");
    givenVectors(texts);
    int dimension = model().dimension();
    assertTrue(dimension > 0);
    for (float[] v : model().embed(texts)) {
      assertEquals(dimension, v.length);
    }
  }

  @Test
  void embed_single_equalsTheListForm() {
    List<float[]> expected = givenVectors(List.of("solo text"));
    assertArrayEquals(expected.get(0), model().embed("solo text"), 1e-6f);
  }

  @Test
  void embed_empty_returnsEmpty() {
    assertEquals(List.of(), model().embed(List.of()));
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void embed_nullText_throwsNullPointerException() {
    List<String> withNull = Arrays.asList("a", null);
    assertThrows(NullPointerException.class, () -> model().embed(withNull));
    assertThrows(NullPointerException.class, () -> model().embed((List<String>) null));
  }

  @Test
  void embed_badRequest_failsAtOnceWithTheProviderMessage() {
    givenBadRequest("Invalid input: expected a string");
    ModelException e =
        assertThrows(ModelException.class, () -> model().embed(List.of("some text")));
    assertFalse(e.retryable());
    assertTrue(
        e.providerMessage().contains("Invalid input: expected a string"), e.providerMessage());
    e.httpStatus().ifPresent(s -> assertEquals(400, s));
  }

  @Test
  void embed_concurrentCallers_allGetTheirVectors() throws Exception {
    List<String> texts = List.of("shared one", "shared two");
    List<float[]> expected = givenVectors(texts);
    EmbeddingModel model = model();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<List<float[]>>> futures = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        futures.add(pool.submit(() -> model.embed(texts)));
      }
      for (Future<List<float[]>> f : futures) {
        List<float[]> got = f.get(30, TimeUnit.SECONDS);
        assertArrayEquals(expected.get(1), got.get(1), 1e-6f);
      }
    }
  }

  @Test
  void limits_arePositive() {
    assertTrue(model().maxBatchSize() > 0);
    assertTrue(model().maxInputTokens() > 0);
    assertFalse(model().modelName().isBlank());
  }

  @Test
  void warmup_succeeds() {
    model().warmup();
  }
}
