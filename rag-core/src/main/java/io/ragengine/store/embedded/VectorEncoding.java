package io.ragengine.store.embedded;

/**
 * How {@link FlatVectorIndex} keeps vectors in memory. Immutable.
 *
 * <p>Vectors are normalised before encoding, so every element lies in {@code [-1, 1]}.
 */
public enum VectorEncoding {
  /**
   * IEEE half precision, 2 bytes per dimension. Scores differ from float64 ones by about 1e-3 at
   * most, which in our measurements never changed a top-10 (see docs/benchmarks.md).
   */
  FLOAT16,
  /**
   * One signed byte per dimension plus a 4-byte scale per vector (the largest absolute element /
   * 127). Half the memory of {@link #FLOAT16}, at a measured recall cost (see
   * docs/benchmarks.md).
   */
  INT8
}
