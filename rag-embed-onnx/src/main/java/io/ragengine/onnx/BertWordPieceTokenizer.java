package io.ragengine.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The BERT tokenizer of a Hugging Face {@code tokenizer.json}: a {@code BertNormalizer}, a {@code
 * BertPreTokenizer} and a {@code WordPiece} model, with {@code [CLS]} and {@code [SEP]} around the
 * word pieces. Its ids equal those of the reference implementation (Hugging Face tokenizers.js) on
 * the 441 test texts in {@code src/test/resources/io/ragengine/onnx/}.
 *
 * <p>The steps, in the reference's order:
 *
 * <ol>
 *   <li>Added tokens ({@code [CLS]}, {@code [MASK]}, ...) written in the raw text become their ids.
 *   <li>Clean-up: NUL, U+FFFD and control or format characters other than tab, CR and LF are
 *       dropped; every whitespace character becomes a space.
 *   <li>Chinese (CJK ideograph) characters get a space on each side, so each is a word.
 *   <li>Accents are stripped (NFD, then nonspacing marks dropped) and the text is lower-cased as a
 *       whole (so a word-final capital sigma becomes ς).
 *   <li>Words split at whitespace, and each punctuation character is a word of its own.
 *   <li>WordPiece: greedy longest match from the start of each word, later pieces with the {@code
 *       ##} prefix; a word with no match, or longer than {@code max_input_chars_per_word} code
 *       points (100), is one {@code [UNK]}.
 * </ol>
 *
 * <p>Immutable and thread-safe.
 */
final class BertWordPieceTokenizer {
  private final Map<String, Integer> vocab;
  private final List<AddedToken> addedTokens;
  private final int unkId;
  private final int clsId;
  private final int sepId;
  private final String subwordPrefix;
  private final int maxInputCharsPerWord;
  private final boolean cleanText;
  private final boolean handleChineseChars;
  private final boolean stripAccents;
  private final boolean lowercase;

  private record AddedToken(String content, int id) {}

  private BertWordPieceTokenizer(JsonNode root, String source) {
    JsonNode model = root.path("model");
    require(model.path("type").asText().equals("WordPiece"), source, "model.type", "WordPiece");
    JsonNode vocabNode = model.path("vocab");
    require(vocabNode.isObject() && !vocabNode.isEmpty(), source, "model.vocab", "a token map");
    Map<String, Integer> v = new HashMap<>(vocabNode.size() * 2);
    vocabNode.properties().forEach(e -> v.put(e.getKey(), e.getValue().asInt()));
    this.vocab = Map.copyOf(v);
    this.subwordPrefix = model.path("continuing_subword_prefix").asText("##");
    this.maxInputCharsPerWord = model.path("max_input_chars_per_word").asInt(100);
    this.unkId = idOf(model.path("unk_token").asText("[UNK]"), source);
    this.clsId = idOf("[CLS]", source);
    this.sepId = idOf("[SEP]", source);

    JsonNode normalizer = root.path("normalizer");
    require(
        normalizer.path("type").asText().equals("BertNormalizer"),
        source,
        "normalizer.type",
        "BertNormalizer");
    this.cleanText = normalizer.path("clean_text").asBoolean(true);
    this.handleChineseChars = normalizer.path("handle_chinese_chars").asBoolean(true);
    this.lowercase = normalizer.path("lowercase").asBoolean(true);
    JsonNode strip = normalizer.path("strip_accents");
    // As in the reference: strip_accents null means "strip if lower-casing".
    this.stripAccents = strip.isBoolean() ? strip.asBoolean() : lowercase;
    require(
        root.path("pre_tokenizer").path("type").asText().equals("BertPreTokenizer"),
        source,
        "pre_tokenizer.type",
        "BertPreTokenizer");

    List<AddedToken> added = new ArrayList<>();
    for (JsonNode t : root.path("added_tokens")) {
      String content = t.path("content").asText("");
      if (!content.isEmpty()) {
        added.add(new AddedToken(content, t.path("id").asInt()));
      }
    }
    // Longest first, so that at one position the longest added token wins, as in the reference.
    added.sort((a, b) -> Integer.compare(b.content().length(), a.content().length()));
    this.addedTokens = List.copyOf(added);
  }

  /**
   * Reads a {@code tokenizer.json}.
   *
   * @param source names the file in error messages
   * @throws IOException if it cannot be read or is not JSON
   * @throws IllegalArgumentException if it is not a BERT WordPiece tokenizer
   */
  static BertWordPieceTokenizer read(InputStream in, String source) throws IOException {
    return new BertWordPieceTokenizer(new ObjectMapper().readTree(in), source);
  }

  private static void require(boolean ok, String source, String field, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(
          source + ": unsupported tokenizer, " + field + " (expected: " + expected + ")");
    }
  }

  private int idOf(String token, String source) {
    Integer id = vocab.get(token);
    require(id != null, source, "model.vocab", "a token " + token);
    return id == null ? 0 : id;
  }

  /**
   * Returns the ids of {@code text}: {@code [CLS]}, at most {@code maxTokens - 2} word pieces, and
   * {@code [SEP]}. Word pieces beyond that are cut from the end.
   *
   * @param maxTokens the most ids returned, including {@code [CLS]} and {@code [SEP]}; at least 2
   */
  long[] encode(String text, int maxTokens) {
    List<Integer> pieces = new ArrayList<>();
    int budget = maxTokens - 2;
    int start = 0;
    while (start < text.length() && pieces.size() < budget) {
      AddedToken next = null;
      int at = text.length();
      for (AddedToken t : addedTokens) {
        int i = text.indexOf(t.content(), start);
        if (i >= 0 && i < at) {
          at = i;
          next = t;
        }
      }
      wordPieces(normalize(text.substring(start, at)), pieces, budget);
      if (next == null) {
        break;
      }
      if (pieces.size() < budget) {
        pieces.add(next.id());
      }
      start = at + next.content().length();
    }
    long[] ids = new long[pieces.size() + 2];
    ids[0] = clsId;
    for (int i = 0; i < pieces.size(); i++) {
      ids[i + 1] = pieces.get(i);
    }
    ids[ids.length - 1] = sepId;
    return ids;
  }

  /** Clean-up, Chinese characters, accents and case, as the reference's BertNormalizer. */
  private String normalize(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (cleanText) {
        if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
          continue;
        }
        if (isWhitespace(cp)) {
          sb.append(' ');
          continue;
        }
      }
      if (handleChineseChars && isChinese(cp)) {
        sb.append(' ').appendCodePoint(cp).append(' ');
      } else {
        sb.appendCodePoint(cp);
      }
    }
    String s = sb.toString();
    if (stripAccents) {
      String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
      StringBuilder stripped = new StringBuilder(nfd.length());
      nfd.codePoints()
          .filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK)
          .forEach(stripped::appendCodePoint);
      s = stripped.toString();
    }
    // Whole-text lower-casing, as the reference does: a capital sigma at the end of a word
    // becomes a final sigma (Unicode's Final_Sigma rule), not σ as per-character mapping gives.
    return lowercase ? s.toLowerCase(Locale.ROOT) : s;
  }

  /** Splits at whitespace and punctuation, then WordPiece on each word, up to {@code budget}. */
  private void wordPieces(String text, List<Integer> out, int budget) {
    int wordStart = -1;
    for (int i = 0; i <= text.length() && out.size() < budget; ) {
      int cp = i < text.length() ? text.codePointAt(i) : ' ';
      int next = i + Character.charCount(cp);
      boolean space = i == text.length() || isWhitespace(cp);
      boolean punct = !space && isPunctuation(cp);
      if (space || punct) {
        if (wordStart >= 0) {
          wordPiece(text.substring(wordStart, i), out, budget);
          wordStart = -1;
        }
        if (punct && out.size() < budget) {
          wordPiece(text.substring(i, next), out, budget);
        }
      } else if (wordStart < 0) {
        wordStart = i;
      }
      i = next;
    }
  }

  private void wordPiece(String word, List<Integer> out, int budget) {
    int length = word.codePointCount(0, word.length());
    if (length > maxInputCharsPerWord) {
      out.add(unkId);
      return;
    }
    List<Integer> pieces = new ArrayList<>();
    int start = 0;
    while (start < word.length()) {
      int end = word.length();
      @Nullable Integer found = null;
      while (end > start) {
        String piece = word.substring(start, end);
        found = vocab.get(start > 0 ? subwordPrefix + piece : piece);
        if (found != null) {
          break;
        }
        end = word.offsetByCodePoints(end, -1);
      }
      if (found == null) {
        out.add(unkId);
        return;
      }
      pieces.add(found);
      start = end;
    }
    for (int i = 0; i < pieces.size() && out.size() < budget; i++) {
      out.add(pieces.get(i));
    }
  }

  /** Tab, LF and CR are whitespace, not control characters; Unicode White_Space otherwise. */
  private static boolean isWhitespace(int cp) {
    return switch (cp) {
      case ' ', '\t', '\n', '\r' -> true;
      default ->
          Character.getType(cp) == Character.SPACE_SEPARATOR
              || cp == 0x0B
              || cp == 0x0C
              || cp == 0x85
              || cp == 0x2028
              || cp == 0x2029;
    };
  }

  /** Control, format, unassigned and private-use characters, except tab, LF and CR. */
  private static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    int type = Character.getType(cp);
    return type == Character.CONTROL
        || type == Character.FORMAT
        || type == Character.UNASSIGNED
        || type == Character.PRIVATE_USE;
  }

  /** ASCII punctuation (which includes {@code $+<=>^`|~}) and Unicode categories P*. */
  private static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)) {
      return true;
    }
    if (cp >= 123 && cp <= 126) {
      return true;
    }
    return switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION,
          Character.DASH_PUNCTUATION,
          Character.START_PUNCTUATION,
          Character.END_PUNCTUATION,
          Character.INITIAL_QUOTE_PUNCTUATION,
          Character.FINAL_QUOTE_PUNCTUATION,
          Character.OTHER_PUNCTUATION ->
          true;
      default -> false;
    };
  }

  /** The CJK Unified Ideograph blocks BERT treats as Chinese (not Hiragana, Katakana or Hangul). */
  private static boolean isChinese(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
}
