package io.ragengine.onnx;

/** Mean pooling over the attention mask and L2 normalisation, as sentence-transformers does. */
final class Pooling {
  private Pooling() {}

  /**
   * Returns the mean of the token vectors whose mask is 1. All zeros if the mask has no 1 (cannot
   * happen with {@code [CLS]} and {@code [SEP]}, which always count).
   */
  static float[] meanPool(float[][] tokens, long[] mask) {
    int dimension = tokens.length == 0 ? 0 : tokens[0].length;
    // Summed in double: the order of float additions then no longer shows in the last bits.
    double[] sum = new double[dimension];
    long count = 0;
    for (int t = 0; t < tokens.length && t < mask.length; t++) {
      if (mask[t] != 0) {
        count++;
        for (int d = 0; d < dimension; d++) {
          sum[d] += tokens[t][d];
        }
      }
    }
    float[] mean = new float[dimension];
    for (int d = 0; d < dimension && count > 0; d++) {
      mean[d] = (float) (sum[d] / count);
    }
    return mean;
  }

  /** Scales {@code v} in place to length 1 and returns it; a zero vector stays zero. */
  static float[] normalize(float[] v) {
    double squares = 0;
    for (float x : v) {
      squares += (double) x * x;
    }
    // sentence-transformers divides by max(norm, 1e-12).
    double norm = Math.max(Math.sqrt(squares), 1e-12);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] / norm);
    }
    return v;
  }
}
