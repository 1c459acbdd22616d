package io.ragengine.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

final class PoolingTest {

  @Test
  void meanPool_paddedTokens_areLeftOut() {
    float[][] tokens = {{1, 2}, {3, 4}, {100, 100}};
    assertArrayEquals(new float[] {2, 3}, Pooling.meanPool(tokens, new long[] {1, 1, 0}));
  }

  @Test
  void normalize_scalesToLengthOne() {
    assertArrayEquals(new float[] {0.6f, 0.8f}, Pooling.normalize(new float[] {3, 4}), 1e-7f);
  }

  @Test
  void normalize_zeroVector_staysZero() {
    assertArrayEquals(new float[] {0, 0}, Pooling.normalize(new float[] {0, 0}));
  }
}
