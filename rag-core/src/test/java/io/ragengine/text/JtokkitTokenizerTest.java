package io.ragengine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Random;
import org.junit.jupiter.api.Test;

final class JtokkitTokenizerTest {
  private static final Encoding ENCODING =
      Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
  private static final Tokenizer TOKENIZER = Tokenizer.cl100k();
  /** cl100k_base's {@code <|endoftext|>}, a special token beyond the ordinary ids. */
  private static final int ENDOFTEXT = 100_257;

  private static String direct(int[] tokens, int from, int to) {
    IntArrayList list = new IntArrayList(to - from);
    for (int i = from; i < to; i++) {
      list.add(tokens[i]);
    }
    return ENCODING.decode(list);
  }

  @Test
  void decode_everyOrdinaryToken_sameAsTheEncoding() {
    for (int id = 0; id < 100_256; id++) {
      int[] one = {id};
      assertEquals(direct(one, 0, 1), TOKENIZER.decode(one, 0, 1), "token " + id);
    }
  }

  @Test
  void decode_randomRangesOfMixedText_sameAsTheEncoding() {
    String text =
        "Retrieval-augmented generation, 知识图谱检索增强生成 🙂🚀, naïve café déjà vu, "
            + "<|endoftext|> is text here; tabs\tand\nnewlines, numbers 1234567890.";
    int[] tokens = TOKENIZER.encode(text.repeat(3));
    Random r = new Random(1);
    for (int i = 0; i < 2_000; i++) {
      int from = r.nextInt(tokens.length);
      int to = from + r.nextInt(tokens.length - from + 1);
      assertEquals(direct(tokens, from, to), TOKENIZER.decode(tokens, from, to));
    }
    assertEquals(text.repeat(3), TOKENIZER.decode(tokens, 0, tokens.length));
  }

  @Test
  void decode_specialToken_fallsBackToTheEncoding() {
    int[] tokens = {TOKENIZER.encode("a")[0], ENDOFTEXT, TOKENIZER.encode("b")[0]};

    assertEquals("a<|endoftext|>b", TOKENIZER.decode(tokens, 0, tokens.length));
    assertEquals(direct(tokens, 0, 3), TOKENIZER.decode(tokens, 0, tokens.length));
  }

  @Test
  void startsCharacter_continuationAndSpecialTokens() {
    int[] emoji = TOKENIZER.encode("🙂");

    assertTrue(TOKENIZER.startsCharacter(emoji[0]));
    assertFalse(TOKENIZER.startsCharacter(emoji[emoji.length - 1]));
    assertTrue(TOKENIZER.startsCharacter(ENDOFTEXT));
  }

  @Test
  void decode_tokenNotInTheVocabulary_namesItsIndex_specialTokensStillDecode() {
    // Regression: jtokkit's "NullPointerException: Unknown token for decoding: -7" came through.
    int[] tokens = {9906, ENDOFTEXT, -7, 9906};
    var e = assertThrows(IllegalArgumentException.class, () -> TOKENIZER.decode(tokens, 0, 4));
    assertEquals("tokens[2]: -7 (expected: a token of cl100k_base)", e.getMessage());
    assertEquals(direct(tokens, 0, 2), TOKENIZER.decode(tokens, 0, 2));
  }
}
