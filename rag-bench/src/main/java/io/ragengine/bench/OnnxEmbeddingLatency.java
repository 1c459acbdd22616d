package io.ragengine.bench;

import io.ragengine.onnx.OnnxEmbeddingModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Measures the start-up cost and per-text latency of {@link OnnxEmbeddingModel} (all-MiniLM-L6-v2,
 * int8): a plain {@code main}, not JMH, because start-up happens once per JVM.
 *
 * <ul>
 *   <li>Start-up: {@code OnnxEmbeddingModel.builder().build()} (tokenizer load and ONNX session
 *       creation) in a fresh JVM, which includes loading ONNX Runtime's native library; then the
 *       same again in the warm JVM, and the first {@code embed} call.
 *   <li>Latency: texts of about 10 and about 200 word pieces, one text per call from one caller
 *       (median and 90th percentile), and the same texts as lists of 32 (time per text and texts
 *       per second, the pool running texts in parallel).
 * </ul>
 *
 * <p>Run it, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}, with the number of
 * texts of each length (default 300) and optionally a custom model file and its tokenizer:
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp rag-bench/target/benchmarks.jar \
 *     io.ragengine.bench.OnnxEmbeddingLatency 300 [model.onnx tokenizer.json]
 * </pre>
 */
public final class OnnxEmbeddingLatency {
  // Common English words that are one word piece each, so token counts are easy to predict.
  private static final String[] WORDS = {
    "the", "model", "search", "engine", "data", "text", "query", "answer", "time", "cache", "user",
    "result", "vector", "graph", "node", "file", "system", "call", "work", "test", "code", "page",
    "water", "city", "river", "music", "game", "house", "school", "market", "price", "energy"
  };
  private static final int BATCH = 32;

  private OnnxEmbeddingLatency() {}

  /**
   * Prints the measurements.
   *
   * @param args optional: the number of texts of each length (default 300), then a model file and
   *     its tokenizer file instead of the default model
   */
  public static void main(String[] args) {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    OnnxEmbeddingModel.Builder builder = OnnxEmbeddingModel.builder();
    if (args.length > 2) {
      builder.modelFile(Path.of(args[1])).tokenizerFile(Path.of(args[2]));
    }
    System.out.printf(
        Locale.ROOT,
        "cores: %d, texts per length: %d, model: %s%n",
        Runtime.getRuntime().availableProcessors(),
        count,
        args.length > 2 ? args[1] : OnnxEmbeddingModel.DEFAULT_MODEL_NAME);

    long rssBefore = residentKb();
    long t0 = System.nanoTime();
    OnnxEmbeddingModel first = builder.build();
    long coldBuild = System.nanoTime() - t0;
    t0 = System.nanoTime();
    float[] unused = first.embed("the first call after start-up");
    long firstCall = System.nanoTime() - t0;
    long rssAfter = residentKb();
    first.close();
    long[] warmBuilds = new long[5];
    for (int i = 0; i < warmBuilds.length; i++) {
      t0 = System.nanoTime();
      OnnxEmbeddingModel m = builder.build();
      warmBuilds[i] = System.nanoTime() - t0;
      m.close();
    }
    Arrays.sort(warmBuilds);
    System.out.printf(
        Locale.ROOT,
        "start-up: build() %.0f ms in a fresh JVM, %.0f ms (median of 5) in a warm one;"
            + " first embed %.1f ms (%d floats)%n",
        ms(coldBuild),
        ms(warmBuilds[2]),
        ms(firstCall),
        unused.length);
    if (rssBefore > 0 && rssAfter > 0) {
      System.out.printf(
          Locale.ROOT,
          "resident set: +%d MB over build() and the first embed (%d MB -> %d MB)%n",
          (rssAfter - rssBefore) / 1024,
          rssBefore / 1024,
          rssAfter / 1024);
    }

    try (OnnxEmbeddingModel model = builder.build()) {
      Random random = new Random(42);
      List<String> shortTexts = texts(random, count, 8);
      List<String> longTexts = texts(random, count, 180);
      // Warm-up: let the JIT and ONNX Runtime's allocator settle before measuring.
      for (int i = 0; i < 50; i++) {
        float[] w = model.embed(longTexts.get(i % longTexts.size()));
        unused[0] += w[0];
      }
      for (String[] row : new String[][] {{"~10", "short"}, {"~200", "long"}}) {
        List<String> texts = row[1].equals("short") ? shortTexts : longTexts;
        long[] single = new long[texts.size()];
        for (int i = 0; i < texts.size(); i++) {
          t0 = System.nanoTime();
          float[] v = model.embed(texts.get(i));
          single[i] = System.nanoTime() - t0;
          unused[0] += v[0];
        }
        Arrays.sort(single);
        t0 = System.nanoTime();
        for (int i = 0; i < texts.size(); i += BATCH) {
          List<float[]> vs = model.embed(texts.subList(i, Math.min(texts.size(), i + BATCH)));
          unused[0] += vs.get(0)[0];
        }
        long batched = System.nanoTime() - t0;
        System.out.printf(
            Locale.ROOT,
            "%s word pieces: one per call median %.2f ms, p90 %.2f ms;"
                + " lists of %d: %.2f ms per text, %.0f texts/s%n",
            row[0],
            ms(single[single.length / 2]),
            ms(single[single.length * 9 / 10]),
            BATCH,
            ms(batched) / texts.size(),
            texts.size() / (batched / 1e9));
      }
    }
    // Printed so the JIT cannot drop the embedding work.
    System.out.println("checksum: " + unused[0]);
  }

  private static List<String> texts(Random random, int count, int words) {
    List<String> texts = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < words; w++) {
        sb.append(WORDS[random.nextInt(WORDS.length)]).append(w % 12 == 11 ? ". " : " ");
      }
      texts.add(sb.toString().strip());
    }
    return texts;
  }

  /** The process's resident set size from /proc (Linux), or -1 elsewhere. */
  private static long residentKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }
}
