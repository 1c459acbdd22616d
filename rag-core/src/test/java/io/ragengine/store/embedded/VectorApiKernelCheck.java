package io.ragengine.store.embedded;

import java.util.SplittableRandom;

/**
 * The child process of {@code FlatVectorIndexTest.vectorApiKernel_matchesScalar}: run with {@code
 * --add-modules jdk.incubator.vector}, it compares {@link VectorApiKernel} with the scalar kernel
 * on random float16 and int8 vectors of awkward dimensions and prints the kernel used and {@code
 * OK}, or the first mismatch.
 */
final class VectorApiKernelCheck {
  private VectorApiKernelCheck() {}

  public static void main(String[] args) {
    DotKernel kernel = DotKernel.best();
    System.out.println(kernel.description());
    SplittableRandom random = new SplittableRandom(17);
    for (int d : new int[] {1, 7, 8, 15, 16, 17, 33, 384, 1536}) {
      for (int trial = 0; trial < 50; trial++) {
        float[] q = new float[d];
        short[] h = new short[d + 3];
        byte[] b = new byte[d + 3];
        for (int j = 0; j < d; j++) {
          q[j] = (float) (random.nextDouble() * 2 - 1);
          // Include float16 subnormals and zeros of both signs.
          float x = trial % 5 == 0 ? (float) (random.nextDouble() - 0.5) * 1e-6f : (float) (random.nextDouble() * 2 - 1);
          h[j + 3] = Float.floatToFloat16(trial % 7 == 0 && j % 3 == 0 ? -0.0f : x);
          b[j + 3] = (byte) (random.nextInt(255) - 127);
        }
        double halfScale = 0;
        double byteScale = 0;
        for (int j = 0; j < d; j++) {
          halfScale += Math.abs(q[j] * Float.float16ToFloat(h[j + 3]));
          byteScale += Math.abs(q[j] * b[j + 3]);
        }
        check(d, "float16", kernel.dotHalf(kernel.halfQuery(q), h, 3, d), DotKernel.Scalar.INSTANCE.dotHalf(q, h, 3, d), halfScale);
        check(d, "int8", kernel.dotByte(q, b, 3, d), DotKernel.Scalar.INSTANCE.dotByte(q, b, 3, d), byteScale);
      }
    }
    System.out.println("OK");
  }

  /** Both sum the same products in different orders: allow float rounding of the terms' size. */
  private static void check(int d, String what, float actual, float expected, double scale) {
    if (Math.abs(actual - expected) > 1e-5 * scale + 1e-30) {
      System.out.println(what + " d=" + d + ": " + actual + " != " + expected);
      System.exit(1);
    }
  }
}
