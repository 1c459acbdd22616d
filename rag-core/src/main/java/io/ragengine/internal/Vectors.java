package io.ragengine.internal;

import java.util.Objects;

/**
 * Vector checks and normalisation shared by the stores.
 *
 * <p>Not public API.
 */
public final class Vectors {
  private Vectors() {}

  /**
   * Returns a unit-length copy of {@code vector}, computed in double precision.
   *
   * @throws IllegalArgumentException if {@code vector} is empty, all zeros or has a non-finite
   *     element; the message starts with {@code name}
   */
  public static float[] normalized(float[] vector, String name) {
    Objects.requireNonNull(vector, name);
    if (vector.length == 0) {
      throw new IllegalArgumentException(name + ": length 0 (expected: > 0)");
    }
    double sum = 0;
    for (int i = 0; i < vector.length; i++) {
      float x = vector[i];
      if (!Float.isFinite(x)) {
        throw new IllegalArgumentException(
            name + ": element " + i + " is " + x + " (expected: finite)");
      }
      sum += (double) x * x;
    }
    if (sum == 0) {
      throw new IllegalArgumentException(name + ": all zeros (expected: a non-zero vector)");
    }
    double inv = 1 / Math.sqrt(sum);
    float[] out = new float[vector.length];
    for (int i = 0; i < vector.length; i++) {
      out[i] = (float) (vector[i] * inv);
    }
    return out;
  }
}
