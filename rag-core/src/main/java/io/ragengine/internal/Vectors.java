package io.ragengine.internal;

import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Vector checks and normalisation shared by the stores.
 *
 * <p>Not public API.
 */
public final class Vectors {
  private Vectors() {}

  /**
   * What makes {@code vector} unusable as a stored or query vector, or null if nothing: null,
   * empty, a non-finite element, or all zeros (no direction to compare). The one definition the
   * stores and the engine's check of a model's vectors share.
   */
  public static @Nullable String defect(float @Nullable [] vector) {
    if (vector == null) {
      return "null (expected: a vector)";
    }
    if (vector.length == 0) {
      return "length 0 (expected: > 0)";
    }
    for (int i = 0; i < vector.length; i++) {
      float x = vector[i];
      if (!Float.isFinite(x)) {
        return "element " + i + " is " + x + " (expected: finite)";
      }
    }
    return squareSum(vector) == 0 ? "all zeros (expected: a non-zero vector)" : null;
  }

  /**
   * Returns {@code vector} if it is usable ({@link #defect}), without copying it.
   *
   * @throws IllegalArgumentException if it is not; the message starts with {@code name}
   */
  public static float[] check(float[] vector, String name) {
    Objects.requireNonNull(vector, name);
    String defect = defect(vector);
    if (defect != null) {
      throw new IllegalArgumentException(name + ": " + defect);
    }
    return vector;
  }

  /**
   * Returns a unit-length copy of {@code vector}, computed in double precision.
   *
   * @throws IllegalArgumentException if {@code vector} is empty, all zeros or has a non-finite
   *     element; the message starts with {@code name}
   */
  public static float[] normalized(float[] vector, String name) {
    Objects.requireNonNull(vector, name);
    // One pass: a non-finite element makes the sum non-finite, and only all zeros make it 0
    // (a float's square never underflows a double). The reason is looked for only then.
    double sum = squareSum(vector);
    if (vector.length == 0 || !Double.isFinite(sum) || sum == 0) {
      check(vector, name);
    }
    double inv = 1 / Math.sqrt(sum);
    float[] out = new float[vector.length];
    for (int i = 0; i < vector.length; i++) {
      out[i] = (float) (vector[i] * inv);
    }
    return out;
  }

  private static double squareSum(float[] vector) {
    double sum = 0;
    for (float x : vector) {
      sum += (double) x * x;
    }
    return sum;
  }
}
