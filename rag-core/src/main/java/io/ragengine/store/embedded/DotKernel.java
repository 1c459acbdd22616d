package io.ragengine.store.embedded;

/**
 * The inner loops of {@link FlatVectorIndex}: dot products of a float query with a stored vector.
 * Thread-safe (stateless).
 *
 * <p>{@link #best()} picks {@link VectorApiKernel} when the application runs with {@code
 * --add-modules jdk.incubator.vector} on a CPU with at least 8 float lanes, and {@link Scalar}
 * otherwise. System property {@value #DISABLE_PROPERTY}{@code =true} forces the scalar kernel.
 */
interface DotKernel {

  /** Set to {@code true} to use the scalar kernel even when the Vector API is available. */
  String DISABLE_PROPERTY = "io.ragengine.vector.scalar";

  /**
   * The form of a query that {@link #dotHalf} takes, computed once per search. Identity unless a
   * kernel can fold work into it; elements must lie in [-1, 1] (a unit vector's do).
   */
  default float[] halfQuery(float[] q) {
    return q;
  }

  /**
   * The dot product of a query with {@code d} float16 values of {@code h} from {@code off}.
   *
   * @param q the query as {@link #halfQuery} returned it
   */
  float dotHalf(float[] q, short[] h, int off, int d);

  /** The dot product of {@code q} with {@code d} int8 values of {@code b} from {@code off}. */
  float dotByte(float[] q, byte[] b, int off, int d);

  /** A short description for logs and benchmark output. */
  String description();

  static DotKernel best() {
    if (Boolean.getBoolean(DISABLE_PROPERTY)
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return Scalar.INSTANCE;
    }
    try {
      // By name, so that this class never links against the incubator module by itself.
      Class<?> type = Class.forName("io.ragengine.store.embedded.VectorApiKernel");
      return type.getDeclaredMethod("createOrNull").invoke(null) instanceof DotKernel k
          ? k
          : Scalar.INSTANCE; // null: too few lanes for a gain
    } catch (ReflectiveOperationException | LinkageError e) {
      return Scalar.INSTANCE;
    }
  }

  /** Plain Java loops with four accumulators to break the add dependency chain. */
  enum Scalar implements DotKernel {
    INSTANCE;

    @Override
    public float dotHalf(float[] q, short[] h, int off, int d) {
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (; j + 3 < d; j += 4) {
        s0 += q[j] * Float.float16ToFloat(h[off + j]);
        s1 += q[j + 1] * Float.float16ToFloat(h[off + j + 1]);
        s2 += q[j + 2] * Float.float16ToFloat(h[off + j + 2]);
        s3 += q[j + 3] * Float.float16ToFloat(h[off + j + 3]);
      }
      for (; j < d; j++) {
        s0 += q[j] * Float.float16ToFloat(h[off + j]);
      }
      return (s0 + s1) + (s2 + s3);
    }

    @Override
    public float dotByte(float[] q, byte[] b, int off, int d) {
      float s0 = 0;
      float s1 = 0;
      float s2 = 0;
      float s3 = 0;
      int j = 0;
      for (; j + 3 < d; j += 4) {
        s0 += q[j] * b[off + j];
        s1 += q[j + 1] * b[off + j + 1];
        s2 += q[j + 2] * b[off + j + 2];
        s3 += q[j + 3] * b[off + j + 3];
      }
      for (; j < d; j++) {
        s0 += q[j] * b[off + j];
      }
      return (s0 + s1) + (s2 + s3);
    }

    @Override
    public String description() {
      return "scalar";
    }
  }
}
