package io.ragengine.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

final class ChunkerTest {
  private static final Tokenizer TOKENIZER = Tokenizer.cl100k();

  private static Chunker chunker(ChunkerConfig.Builder config) {
    return Chunker.create(config.build(), TOKENIZER);
  }

  private static String sentences(int n) {
    return IntStream.range(0, n)
        .mapToObj(i -> "Sentence number " + i + " says something about topic " + (i % 17) + ".")
        .collect(Collectors.joining(" "));
  }

  @Test
  void chunk_longText_windowsOfAtMostSizeThatOverlap() {
    String text = sentences(400);
    int total = TOKENIZER.count(text);
    Chunker chunker = chunker(ChunkerConfig.builder().chunkSizeTokens(200).chunkOverlapTokens(20));

    List<Chunk> chunks = chunker.chunk(text);

    // Windows start every 180 tokens until one reaches the end.
    assertEquals((int) Math.ceil((total - 20) / 180.0), chunks.size());
    for (int i = 0; i < chunks.size(); i++) {
      Chunk c = chunks.get(i);
      assertEquals(i, c.index());
      assertTrue(c.tokens() <= 200, "chunk " + i + " has " + c.tokens() + " tokens");
      assertTrue(TOKENIZER.count(c.content()) <= 200);
    }
    for (int i = 1; i < chunks.size(); i++) {
      String previous = chunks.get(i - 1).content();
      String head = chunks.get(i).content().substring(0, 30);
      assertTrue(previous.contains(head), "chunk " + i + " does not overlap the one before");
    }
    assertTrue(text.startsWith(chunks.get(0).content()));
    assertTrue(text.endsWith(chunks.get(chunks.size() - 1).content()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"ascii", "non-ascii", "split on a character"})
  void chunk_linearTime_eachCharacterEncodedOnce_eachTokenDecodedAboutOnce(String kind) {
    // The "never re-tokenise a growing chunk": count the tokenizer's work. A chunker that
    // grew a chunk and re-counted it would encode each character about chunkSize times.
    String base = sentences(2_000); // about 30,000 tokens
    String text =
        switch (kind) {
          case "ascii" -> base;
          case "non-ascii" -> base.replace("topic", "tópico");
          default -> base.replace(". ", ".\n\n");
        };
    var work = new int[2]; // characters encoded or counted, tokens decoded
    Tokenizer counting =
        new Tokenizer() {
          @Override
          public String name() {
            return TOKENIZER.name();
          }

          @Override
          public int[] encode(String t) {
            work[0] += t.length();
            return TOKENIZER.encode(t);
          }

          @Override
          public int count(String t) {
            work[0] += t.length();
            return TOKENIZER.count(t);
          }

          @Override
          public String decode(int[] tokens, int from, int to) {
            work[1] += to - from;
            return TOKENIZER.decode(tokens, from, to);
          }

          @Override
          public boolean startsCharacter(int token) {
            return TOKENIZER.startsCharacter(token);
          }
        };
    var config = ChunkerConfig.builder().chunkSizeTokens(200).chunkOverlapTokens(20);
    if (kind.startsWith("split")) {
      config.splitCharacter("\n\n");
    }

    List<Chunk> chunks = Chunker.create(config.build(), counting).chunk(text);

    int tokens = TOKENIZER.count(text);
    assertTrue(chunks.size() > 100, "chunks: " + chunks.size());
    assertTrue(work[0] <= text.length(), "characters encoded: " + work[0] + " of " + text.length());
    // Windows of 200 that start every 180 tokens decode each token 200/180 times at most.
    assertTrue(work[1] <= tokens * 200 / 180 + 200, "tokens decoded: " + work[1] + " of " + tokens);
  }

  @Test
  void chunk_textOfExactlyChunkSize_isOneChunk() {
    String text = sentences(40);
    int total = TOKENIZER.count(text);
    List<Chunk> chunks =
        chunker(ChunkerConfig.builder().chunkSizeTokens(total).chunkOverlapTokens(10)).chunk(text);
    assertEquals(List.of(new Chunk(0, text, total)), chunks);
  }

  @Test
  void chunk_multiByteCharacters_neverSplitAndNothingLost() {
    // CJK ideographs and emoji take several cl100k tokens each.
    String text = "知识图谱检索增强生成🙂🚀数据库事务崩溃恢复向量索引😀中文分词测试".repeat(5);
    List<Chunk> chunks =
        chunker(ChunkerConfig.builder().chunkSizeTokens(5).chunkOverlapTokens(0)).chunk(text);

    assertTrue(chunks.size() > 10);
    for (Chunk c : chunks) {
      assertFalse(c.content().contains("\uFFFD"), "broken character in " + c);
      assertTrue(c.tokens() <= 5);
    }
    // With no overlap and no whitespace, the chunks put back together are the text.
    assertEquals(text, chunks.stream().map(Chunk::content).collect(Collectors.joining()));
  }

  @Test
  void chunk_windowsCutOutOfTheText_sameAsDecoded() {
    // The chunker cuts an ASCII text's windows out of the text instead of decoding their tokens.
    // A tokenizer it does not know always decodes: both must give the same chunks, for ASCII, and
    // for texts with characters of two, three and four UTF-8 bytes (which both decode).
    Tokenizer decoding = new ForwardingTokenizer(TOKENIZER);
    Random random = new Random(20261121);
    String ascii = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:'\"!?-()[]{}<>@#$%&*+=/\\_|~`";
    String wide = "éüßçñøåæœ€–—“”‘’…°±µ¶§абвгдежзийκλμνξאבגדשלוםمرحبا日本語中文字한국어ภาษาไทย";
    String[] spaces = {
      " ", "  ", "\n", "\n\n", "\t", "\r\n", " \u000B ", "\f", "\u001F", "\u00A0", "\u3000"
    };
    for (int round = 0; round < 90; round++) {
      String letters = round % 3 == 0 ? ascii : ascii + wide.repeat(round % 3);
      StringBuilder text = new StringBuilder();
      int words = 50 + random.nextInt(1500);
      for (int w = 0; w < words; w++) {
        text.append(spaces[random.nextInt(spaces.length)]);
        for (int k = 1 + random.nextInt(12); k > 0; k--) {
          text.append(letters.charAt(random.nextInt(letters.length())));
        }
        if (round % 10 == 9 && w == words / 2) {
          text.append("🙂"); // a surrogate pair
        }
      }
      // Windows of one token cut inside the characters that take two.
      int size = round % 9 == 1 ? 1 : 1 + random.nextInt(300);
      ChunkerConfig.Builder config =
          ChunkerConfig.builder().chunkSizeTokens(size).chunkOverlapTokens(random.nextInt(size));
      if (round % 4 == 0) {
        config.splitCharacter("\n\n");
      }
      String t = text.toString();
      assertEquals(
          Chunker.create(config.build(), decoding).chunk(t),
          Chunker.create(config.build(), TOKENIZER).chunk(t),
          "round " + round);
    }
  }

  @Test
  void asciiOffsets_whereTheDecodedPrefixEnds_nullForOtherTexts() {
    Chunker chunker = chunker(ChunkerConfig.builder());
    String text = sentences(20) + " \t\n\r{}[]<>~`|\\ \"quoted\" 'single' 3.14159 x=y+z;";
    int[] tokens = TOKENIZER.encode(text);
    int[] offsets = chunker.asciiOffsets(text, tokens);

    assertNotNull(offsets);
    assertEquals(tokens.length + 1, offsets.length);
    for (int i = 0; i <= tokens.length; i++) {
      assertEquals(TOKENIZER.decode(tokens, 0, i), text.substring(0, offsets[i]), "token " + i);
    }
    // Any other character, and tokenizers other than jtokkit's, send the chunker to decoding.
    for (String other : List.of("naïve", "a – b", "日本", "a 🙂 b", "\u0080")) {
      assertNull(chunker.asciiOffsets(other, TOKENIZER.encode(other)), other);
    }
    assertNull(
        Chunker.create(ChunkerConfig.builder().build(), new ForwardingTokenizer(TOKENIZER))
            .asciiOffsets(text, tokens));
  }

  @Test
  void decode_rangeInsideCharacter_isWhatTheChunkerAvoids() {
    int[] tokens = TOKENIZER.encode("🙂");
    assertTrue(tokens.length > 1, "the test needs a character spread over several tokens");
    assertTrue(TOKENIZER.decode(tokens, 0, 1).contains("\uFFFD"));
    assertFalse(TOKENIZER.startsCharacter(tokens[tokens.length - 1]));
  }

  @Test
  void chunk_blankText_noChunks() {
    assertEquals(List.of(), Chunker.create(ChunkerConfig.ofDefaults(), TOKENIZER).chunk(" \n\t "));
  }

  @Test
  void chunk_splitCharacter_piecesBecomeChunksAndLongOnesAreWindowed() {
    String longPiece = sentences(60);
    String text = "First paragraph.\n\n\n\nSecond paragraph.\n\n" + longPiece;
    List<Chunk> chunks =
        chunker(
                ChunkerConfig.builder()
                    .chunkSizeTokens(100)
                    .chunkOverlapTokens(10)
                    .splitCharacter("\n\n"))
            .chunk(text);
    assertEquals("First paragraph.", chunks.get(0).content());
    assertEquals("Second paragraph.", chunks.get(1).content()); // the blank piece is dropped
    assertTrue(chunks.size() > 3);
    assertEquals(List.of(0, 1, 2, 3), chunks.stream().limit(4).map(Chunk::index).toList());
    assertTrue(chunks.stream().allMatch(c -> c.tokens() <= 100));
  }

  @Test
  void chunk_splitCharacterOnly_pieceTooLong_throwsWithoutQuotingText() {
    Chunker chunker =
        chunker(
            ChunkerConfig.builder()
                .chunkSizeTokens(10)
                .chunkOverlapTokens(0)
                .splitCharacter("\n")
                .splitCharacterOnly(true));
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> chunker.chunk("short\n" + sentences(5)));
    assertEquals(
        "piece 1 between split characters has "
            + TOKENIZER.count(sentences(5))
            + " tokens (expected: <= chunkSizeTokens 10 with splitCharacterOnly)",
        e.getMessage());
  }

  @Test
  void config_invalidValues_throwNamingOptionValueAndConstraint() {
    assertEquals(
        "chunkSizeTokens: 0 (expected: > 0)",
        assertThrows(
                IllegalArgumentException.class, () -> ChunkerConfig.builder().chunkSizeTokens(0))
            .getMessage());
    assertEquals(
        "chunkOverlapTokens: -1 (expected: >= 0)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ChunkerConfig.builder().chunkOverlapTokens(-1))
            .getMessage());
    assertEquals(
        "chunkOverlapTokens: 512 (expected: < chunkSizeTokens 512)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ChunkerConfig.builder().chunkSizeTokens(512).chunkOverlapTokens(512).build())
            .getMessage());
    // Regression (found by a usability review): with only chunkSizeTokens set, the message read as
    // if the caller had set the overlap.
    assertEquals(
        "chunkOverlapTokens: 100, the default (expected: < chunkSizeTokens 50; set"
            + " chunkOverlapTokens lower too)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ChunkerConfig.builder().chunkSizeTokens(50).build())
            .getMessage());
    assertEquals(
        "splitCharacter: \"\" (expected: not empty)",
        assertThrows(
                IllegalArgumentException.class, () -> ChunkerConfig.builder().splitCharacter(""))
            .getMessage());
    assertEquals(
        "splitCharacterOnly: true (expected: false when splitCharacter is not set)",
        assertThrows(
                IllegalArgumentException.class,
                () -> ChunkerConfig.builder().splitCharacterOnly(true).build())
            .getMessage());
  }

  @Test
  void config_defaultsAndRoundTrip() {
    ChunkerConfig c = ChunkerConfig.ofDefaults();
    assertEquals(1200, c.chunkSizeTokens());
    assertEquals(100, c.chunkOverlapTokens());
    ChunkerConfig custom = ChunkerConfig.builder().chunkSizeTokens(300).splitCharacter("\n").build();
    assertEquals(custom, custom.toBuilder().build());
  }

  @Test
  void tokenizer_countMatchesEncodeAndTreatsSpecialMarkersAsText() {
    String text = "Plain text with <|endoftext|> inside.";
    assertEquals(TOKENIZER.encode(text).length, TOKENIZER.count(text));
    int[] tokens = TOKENIZER.encode(text);
    assertEquals(text, TOKENIZER.decode(tokens, 0, tokens.length));
    assertEquals("cl100k_base", TOKENIZER.name());
  }
}
