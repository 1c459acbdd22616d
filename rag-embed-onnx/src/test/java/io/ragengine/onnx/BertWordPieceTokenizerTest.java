package io.ragengine.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compares our tokenizer with the reference one. The expected ids in {@code
 * tokenizer-expected.json} (41 hand-written texts) and {@code tokenizer-fuzz-expected.json} (400
 * random ones) were produced by Hugging Face's tokenizers.js from the same {@code tokenizer.json}
 * the default model loads; the {@code generate-*.mjs} scripts beside them say how.
 */
final class BertWordPieceTokenizerTest {
  private static final int NO_LIMIT = Integer.MAX_VALUE;
  private static BertWordPieceTokenizer tokenizer;

  @BeforeAll
  static void load() throws IOException {
    try (InputStream in = resource("all-minilm-l6-v2-q-tokenizer.json")) {
      tokenizer = BertWordPieceTokenizer.read(in, "default");
    }
  }

  private static InputStream resource(String name) {
    return Objects.requireNonNull(
        BertWordPieceTokenizerTest.class.getClassLoader().getResourceAsStream(name), name);
  }

  @Test
  void encode_referenceCases_equalTheReferenceIds() throws IOException {
    assertEquals(List.of(), mismatches("io/ragengine/onnx/tokenizer-expected.json", 41));
  }

  @Test
  void encode_randomReferenceCases_equalTheReferenceIds() throws IOException {
    assertEquals(List.of(), mismatches("io/ragengine/onnx/tokenizer-fuzz-expected.json", 400));
  }

  /** Encodes each text of a reference file and returns a line per text whose ids differ. */
  private static List<String> mismatches(String resource, int expectedCases) throws IOException {
    JsonNode cases;
    try (InputStream in = resource(resource)) {
      cases = new ObjectMapper().readTree(in);
    }
    assertEquals(expectedCases, cases.size());
    List<String> mismatches = new ArrayList<>();
    for (JsonNode c : cases) {
      String text = c.path("text").asText();
      long[] expected = new long[c.path("ids").size()];
      for (int i = 0; i < expected.length; i++) {
        expected[i] = c.path("ids").get(i).asLong();
      }
      long[] actual = tokenizer.encode(text, NO_LIMIT);
      if (!Arrays.equals(expected, actual)) {
        mismatches.add(
            text
                + "\n  expected "
                + Arrays.toString(expected)
                + "\n  actual   "
                + Arrays.toString(actual));
      }
    }
    return mismatches;
  }

  @Test
  void encode_empty_isClsAndSep() {
    assertArrayEquals(new long[] {101, 102}, tokenizer.encode("", NO_LIMIT));
  }

  @Test
  void encode_maxTokens_keepsTheFirstPiecesAndEndsWithSep() {
    String text = "retrieval augmented generation combines dense vector search with a model";
    long[] full = tokenizer.encode(text, NO_LIMIT);
    long[] cut = tokenizer.encode(text, 6);
    assertEquals(6, cut.length);
    assertArrayEquals(Arrays.copyOf(full, 5), Arrays.copyOf(cut, 5));
    assertEquals(102, cut[5]);
  }

  @Test
  void encode_maxTokensCutsInsideAWord_keepsItsFirstPieces() {
    // "supercalifragilisticexpialidocious" is many word pieces; a cut may fall inside it.
    long[] full = tokenizer.encode("supercalifragilisticexpialidocious", NO_LIMIT);
    assertTrue(full.length > 5);
    long[] cut = tokenizer.encode("supercalifragilisticexpialidocious", 4);
    assertArrayEquals(new long[] {101, full[1], full[2], 102}, cut);
  }

  @Test
  void encode_addedTokenInText_countsTowardsMaxTokens() {
    long[] full = tokenizer.encode("one [MASK] two", NO_LIMIT);
    assertEquals(103, full[2]); // [MASK]
    assertArrayEquals(new long[] {101, full[1], 103, 102}, tokenizer.encode("one [MASK] two", 4));
    assertArrayEquals(new long[] {101, full[1], 102}, tokenizer.encode("one [MASK] two", 3));
  }

  @Test
  void encode_wordOfExactly100Chars_isNotUnknown() {
    long[] ids = tokenizer.encode("a".repeat(100), NO_LIMIT);
    assertTrue(ids.length > 3);
    assertTrue(Arrays.stream(ids).noneMatch(id -> id == 100));
  }

  @Test
  void read_notWordPiece_throwsNamingTheFieldAndSource() {
    String json = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}";
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BertWordPieceTokenizer.read(
                    new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "x.json"));
    assertEquals("x.json: unsupported tokenizer, model.type (expected: WordPiece)", e.getMessage());
  }
}
