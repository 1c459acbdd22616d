package io.ragengine.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ragengine.model.ModelException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class OnnxEmbeddingModelTest {
  private static OnnxEmbeddingModel model;

  @BeforeAll
  static void load() {
    model = OnnxEmbeddingModel.create();
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
    }
    return dot; // both have length 1
  }

  @Test
  void create_defaultModel_has384DimensionsAndDefaults() {
    assertEquals(384, model.dimension());
    assertEquals(OnnxEmbeddingModel.DEFAULT_MAX_TOKENS, model.maxInputTokens());
    assertEquals(OnnxEmbeddingModel.DEFAULT_MODEL_NAME, model.modelName());
    assertEquals(Runtime.getRuntime().availableProcessors(), model.poolSize());
  }

  @Test
  void embed_referenceTexts_equalTransformersJsVectors() throws IOException {
    // Vectors from Hugging Face transformers.js with the same model and tokenizer files, each
    // text on its own (see generate-expected-vectors.mjs). The last text is 425 word pieces; its
    // reference text is its first 254, as Python's tokenizers cut it for 256 tokens. This covers
    // the tokenizer, the model inputs, the cut, mean pooling and normalisation end to end. Short
    // texts agree to 1e-7; the 256-token one to 6e-4 (cosine 0.999994), because ONNX Runtime
    // 1.30 in Node rounds a few int8 activations differently over a long input.
    JsonNode cases;
    try (InputStream in = resource("io/ragengine/onnx/embedding-expected.json")) {
      cases = new ObjectMapper().readTree(in);
    }
    assertEquals(8, cases.size());
    for (JsonNode c : cases) {
      String text = c.path("text").asText();
      float[] expected = new float[c.path("vector").size()];
      for (int i = 0; i < expected.length; i++) {
        expected[i] = (float) c.path("vector").get(i).asDouble();
      }
      float[] actual = model.embed(text);
      assertArrayEquals(model.embed(c.path("referenceText").asText()), actual, "cut: " + text);
      assertArrayEquals(expected, actual, 2e-3f, text);
      assertTrue(cosine(expected, actual) > 0.9999, text);
    }
  }

  @Test
  void embed_vector_hasLengthOne() {
    float[] v = model.embed("A vector of length one.");
    assertEquals(1.0, cosine(v, v), 1e-5);
  }

  @Test
  void embed_sameTextAloneOrInABatch_givesIdenticalVector() {
    String text = "The engine embeds text in-process.";
    float[] alone = model.embed(text);
    String longer =
        "A much longer text that would need padding if the texts were batched together: ".repeat(8);
    List<float[]> batch = model.embed(List.of(longer, text, longer + "more", "short", text));
    assertArrayEquals(alone, batch.get(1)); // bit for bit, not within a tolerance
    assertArrayEquals(alone, batch.get(4));
    assertArrayEquals(alone, model.embed(text));
  }

  @Test
  void embed_concurrentCallersOnVirtualThreads_getIdenticalVectors() throws Exception {
    String text = "Concurrent callers share one session.";
    float[] expected = model.embed(text);
    try (ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<float[]>> futures = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        futures.add(callers.submit(() -> model.embed(text)));
      }
      for (Future<float[]> f : futures) {
        assertArrayEquals(expected, f.get(30, TimeUnit.SECONDS));
      }
    }
  }

  @Test
  void embed_runsOnThePoolNotTheCaller() throws Exception {
    // The runner sees the thread it runs on; the caller here is a virtual thread.
    List<Thread> seen = new ArrayList<>();
    try (OnnxEmbeddingModel recording =
            OnnxEmbeddingModel.builder()
                .poolSize(1)
                .runnerDecorator(r -> new RecordingRunner(r, seen))
                .build();
        ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      Thread caller =
          callers
              .submit(
                  () -> {
                    recording.embed(List.of("one", "two"));
                    return Thread.currentThread();
                  })
              .get(30, TimeUnit.SECONDS);
      assertTrue(caller.isVirtual());
      assertEquals(2, seen.size());
      for (Thread t : seen) {
        assertFalse(t.isVirtual(), t.toString());
        assertNotEquals(caller, t);
        assertTrue(t.getName().startsWith("ragengine-onnx-"), t.getName());
      }
    }
  }

  @Test
  void embed_concurrentBatch_doesNotQueueAOneTextCallBehindAllItsTexts() throws Exception {
    // poolSize 1. The batch's first text holds the only pool thread until the gate opens; the
    // one-text call is queued meanwhile. The batch has only one text in the pool at a time, so
    // the single text runs second, not after the batch's ten texts.
    CountDownLatch gate = new CountDownLatch(1);
    List<Integer> lengths = new ArrayList<>(); // ids per run: batch texts 3, the single text 5
    UnaryOperator<OnnxEmbeddingModel.Runner> gated =
        r ->
            new OnnxEmbeddingModel.Runner() {
              @Override
              public float[] run(long[] ids) throws OrtException {
                synchronized (lengths) {
                  lengths.add(ids.length);
                }
                if (ids.length == 3) {
                  try {
                    gate.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new OrtException("interrupted");
                  }
                }
                return r.run(ids);
              }

              @Override
              public int dimension() {
                return r.dimension();
              }

              @Override
              public void close() throws OrtException {
                r.close();
              }
            };
    try (OnnxEmbeddingModel m =
            OnnxEmbeddingModel.builder().poolSize(1).runnerDecorator(gated).build();
        ExecutorService callers = Executors.newVirtualThreadPerTaskExecutor()) {
      Future<List<float[]>> batch = callers.submit(() -> m.embed(Collections.nCopies(10, "alpha")));
      awaitUntil(() -> lengths.size() == 1); // the batch's first text is running
      AtomicReference<@Nullable Thread> single = new AtomicReference<>();
      Future<float[]> one =
          callers.submit(
              () -> {
                single.set(Thread.currentThread());
                return m.embed("alpha beta gamma");
              });
      // Parked in embed: its text is in the pool's queue.
      awaitUntil(
          () -> {
            Thread t = single.get();
            return t != null && t.getState() == Thread.State.WAITING;
          });
      gate.countDown();
      assertEquals(10, batch.get(30, TimeUnit.SECONDS).size());
      assertEquals(384, one.get(30, TimeUnit.SECONDS).length);
      synchronized (lengths) {
        assertEquals(List.of(3, 5), lengths.subList(0, 2), lengths.toString());
      }
    }
  }

  /** Spins until {@code condition} holds, failing after 10 s; no sleeps. */
  private static void awaitUntil(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10 s");
      }
      Thread.onSpinWait();
    }
  }

  @Test
  void embed_similarSentences_areCloserThanUnrelatedOnes() {
    float[] cat = model.embed("a cat sits on the mat");
    float[] kitten = model.embed("a kitten is sitting on a rug");
    float[] tax = model.embed("quarterly tax filing deadline");
    assertTrue(
        cosine(cat, kitten) > cosine(cat, tax), cosine(cat, kitten) + " vs " + cosine(cat, tax));
  }

  @Test
  void embed_textLongerThanMaxTokens_isCut() {
    try (OnnxEmbeddingModel small = OnnxEmbeddingModel.builder().maxTokens(8).poolSize(1).build()) {
      assertEquals(8, small.maxInputTokens());
      // Six one-piece words fill the 8 tokens with [CLS] and [SEP]; the rest must not count.
      String prefix = "one two three four five six";
      float[] cut = small.embed(prefix + " seven eight nine ten eleven twelve");
      assertArrayEquals(small.embed(prefix), cut);
      assertFalse(java.util.Arrays.equals(model.embed(prefix), model.embed(prefix + " seven")));
    }
  }

  @Test
  void maxTokens_zero_throwsWithNameAndValue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> OnnxEmbeddingModel.builder().maxTokens(0));
    assertEquals("maxTokens: 0 (expected: in [3, 8192])", e.getMessage());
  }

  @Test
  void maxTokens_aboveDefaultModelsPositions_throwsOnBuild() {
    OnnxEmbeddingModel.Builder builder = OnnxEmbeddingModel.builder().maxTokens(513);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
    assertEquals("maxTokens: 513 (expected: <= 512 for all-MiniLM-L6-v2-int8)", e.getMessage());
  }

  @Test
  void poolSize_negative_throwsWithNameAndValue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> OnnxEmbeddingModel.builder().poolSize(-1));
    assertEquals("poolSize: -1 (expected: >= 0)", e.getMessage());
  }

  @Test
  void modelName_blank_throws() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> OnnxEmbeddingModel.builder().modelName(" "));
    assertEquals("modelName: \" \" (expected: not blank)", e.getMessage());
  }

  @Test
  void modelFile_missing_throwsNamingTheFile(@TempDir Path dir) {
    Path missing = dir.resolve("nowhere.onnx");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> OnnxEmbeddingModel.builder().modelFile(missing));
    assertEquals("modelFile: " + missing + " (expected: an existing file)", e.getMessage());
  }

  @Test
  void tokenizerFile_missing_throwsNamingTheFile(@TempDir Path dir) {
    Path missing = dir.resolve("tokenizer.json");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> OnnxEmbeddingModel.builder().tokenizerFile(missing));
    assertEquals("tokenizerFile: " + missing + " (expected: an existing file)", e.getMessage());
  }

  @Test
  void modelFile_withoutTokenizerFile_throwsOnBuild(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("m.onnx"), "x");
    OnnxEmbeddingModel.Builder builder = OnnxEmbeddingModel.builder().modelFile(file);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
    assertEquals(
        "tokenizerFile: not set (expected: set with modelFile, or neither for the bundled model)",
        e.getMessage());
  }

  @Test
  void closed_refusesEvenAnEmptyList_andWarmupRefusesNoConnections() {
    // embed(List.of()) used to answer [] after close(), against its Javadoc ("@throws
    // IllegalStateException if this model is closed"); and warmup(0) was accepted.
    OnnxEmbeddingModel closed = OnnxEmbeddingModel.builder().poolSize(1).build();
    closed.close();
    assertThrows(IllegalStateException.class, () -> closed.embed(List.of()));
    var e = assertThrows(IllegalArgumentException.class, () -> model.warmup(0));
    assertEquals("connections: 0 (expected: > 0)", e.getMessage());
  }

  @Test
  void modelFile_notAnOnnxModel_throwsModelExceptionNamingTheFile(@TempDir Path dir)
      throws IOException {
    Path onnx = Files.writeString(dir.resolve("broken.onnx"), "not a model");
    Path tokenizer = copyDefaultTokenizer(dir);
    OnnxEmbeddingModel.Builder builder =
        OnnxEmbeddingModel.builder().modelFile(onnx).tokenizerFile(tokenizer);
    ModelException e = assertThrows(ModelException.class, builder::build);
    assertTrue(e.getMessage().contains(onnx.toString()), e.getMessage());
    assertFalse(e.retryable());
  }

  @Test
  void customModelFiles_sameAsDefault_giveTheSameVectors(@TempDir Path dir) throws IOException {
    Path onnx = dir.resolve("mini.onnx");
    try (InputStream in = resource(OnnxEmbeddingModel.DEFAULT_MODEL_RESOURCE)) {
      Files.copy(in, onnx);
    }
    Path tokenizer = copyDefaultTokenizer(dir);
    try (OnnxEmbeddingModel custom =
        OnnxEmbeddingModel.builder().modelFile(onnx).tokenizerFile(tokenizer).poolSize(1).build()) {
      assertEquals("mini", custom.modelName());
      assertEquals(384, custom.dimension());
      assertArrayEquals(
          model.embed("same files, same vector"), custom.embed("same files, same vector"));
    }
  }

  @Test
  void embed_callerInterrupted_throwsModelExceptionAndKeepsTheInterrupt() {
    Thread.currentThread().interrupt();
    try {
      ModelException e = assertThrows(ModelException.class, () -> model.embed(List.of("x", "y")));
      assertEquals("all-MiniLM-L6-v2-int8: interrupted while embedding", e.getMessage());
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted(); // clear it for the next test
    }
    assertEquals(384, model.embed("still works").length);
  }

  @Test
  void embed_afterClose_throwsIllegalStateException() {
    OnnxEmbeddingModel closed = OnnxEmbeddingModel.builder().poolSize(1).build();
    closed.close();
    closed.close(); // a second close does nothing
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> closed.embed(List.of("late")));
    assertEquals("OnnxEmbeddingModel all-MiniLM-L6-v2-int8 is closed", e.getMessage());
    assertThrows(IllegalStateException.class, closed::warmup);
  }

  private static Path copyDefaultTokenizer(Path dir) throws IOException {
    Path tokenizer = dir.resolve("tokenizer.json");
    try (InputStream in = resource(OnnxEmbeddingModel.DEFAULT_TOKENIZER_RESOURCE)) {
      Files.copy(in, tokenizer);
    }
    return tokenizer;
  }

  private static InputStream resource(String name) {
    return Objects.requireNonNull(
        OnnxEmbeddingModelTest.class.getClassLoader().getResourceAsStream(name), name);
  }

  /** Records the thread of each run, then delegates. */
  private record RecordingRunner(OnnxEmbeddingModel.Runner delegate, List<Thread> seen)
      implements OnnxEmbeddingModel.Runner {
    @Override
    public float[] run(long[] ids) throws OrtException {
      synchronized (seen) {
        seen.add(Thread.currentThread());
      }
      return delegate.run(ids);
    }

    @Override
    public int dimension() {
      return delegate.dimension();
    }

    @Override
    public void close() throws OrtException {
      delegate.close();
    }
  }
}
