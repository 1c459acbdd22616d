package io.ragengine.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Cuts a document into chunks of at most {@code chunkSizeTokens} tokens, in the manner of
 * LightRAG's {@code chunking_by_token_size}: token windows of {@code chunkSizeTokens} that overlap
 * by {@code chunkOverlapTokens}, optionally after a split on a string.
 *
 * <p>Thread-safe and stateless: one chunker serves every document.
 *
 * <p>Differences from LightRAG, on purpose:
 *
 * <ul>
 *   <li>A window never ends or begins inside a character. Byte-level encodings such as {@code
 *       cl100k_base} can spread one character (a CJK ideograph, an emoji) over several tokens;
 *       LightRAG cuts there and the broken bytes decode to U+FFFD. Here a window's edges move back
 *       to the nearest character boundary, so a chunk may hold up to three tokens fewer.
 *   <li>No trailing window that lies wholly inside the previous one: a text of exactly {@code
 *       chunkSizeTokens} tokens is one chunk, not two.
 *   <li>Chunks that are blank after stripping are dropped.
 * </ul>
 *
 * <p>The text is encoded once and each window decoded once (an ASCII text's windows are cut out
 * of it instead), so the cost is linear in the text's length.
 */
public final class Chunker {
  private final ChunkerConfig config;
  private final Tokenizer tokenizer;
  private final Pattern split;

  private Chunker(ChunkerConfig config, Tokenizer tokenizer) {
    this.config = Objects.requireNonNull(config, "config");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    String ch = config.splitCharacter();
    this.split = Pattern.compile(ch == null ? "(?!)" : Pattern.quote(ch));
  }

  /** Returns a chunker with {@code config} that counts tokens with {@code tokenizer}. */
  public static Chunker create(ChunkerConfig config, Tokenizer tokenizer) {
    return new Chunker(config, tokenizer);
  }

  /** The settings of this chunker. */
  public ChunkerConfig config() {
    return config;
  }

  /**
   * Returns the chunks of {@code text}, numbered from 0; none for a blank text.
   *
   * @throws IllegalArgumentException with {@code splitCharacterOnly}, if a piece between split
   *     characters is longer than {@code chunkSizeTokens}; the message gives the piece's position
   *     and size, never its text
   * @throws NullPointerException if {@code text} is null
   */
  public List<Chunk> chunk(String text) {
    Objects.requireNonNull(text, "text");
    List<Chunk> chunks = new ArrayList<>();
    if (config.splitCharacter() == null) {
      windows(text, tokenizer.encode(text), chunks);
      return chunks;
    }
    String[] pieces = split.split(text, -1);
    for (int p = 0; p < pieces.length; p++) {
      int[] tokens = tokenizer.encode(pieces[p]);
      if (tokens.length <= config.chunkSizeTokens()) {
        add(chunks, pieces[p], tokens.length);
      } else if (config.splitCharacterOnly()) {
        throw new IllegalArgumentException(
            "piece "
                + p
                + " between split characters has "
                + tokens.length
                + " tokens (expected: <= chunkSizeTokens "
                + config.chunkSizeTokens()
                + " with splitCharacterOnly)");
      } else {
        windows(pieces[p], tokens, chunks);
      }
    }
    return chunks;
  }

  /** Cuts {@code text}, whose tokens are {@code tokens}, into overlapping windows. */
  private void windows(String text, int[] tokens, List<Chunk> chunks) {
    int n = tokens.length;
    int size = config.chunkSizeTokens();
    int overlap = config.chunkOverlapTokens();
    int @Nullable [] offsets = asciiOffsets(text, tokens);
    int start = 0;
    while (start < n) {
      int end = Math.min(start + size, n);
      if (end < n) {
        end = boundaryAtOrBefore(tokens, end, start + 1);
      }
      if (offsets != null) {
        addStripped(chunks, text, offsets[start], offsets[end], end - start);
      } else {
        add(chunks, tokenizer.decode(tokens, start, end), end - start);
      }
      if (end >= n) {
        return;
      }
      // The next window starts `overlap` tokens before this one's end, on a character boundary,
      // and always after this one's start, so the loop ends.
      start = boundaryAtOrBefore(tokens, Math.max(end - overlap, start + 1), start + 1);
    }
  }

  /** The largest position in {@code [floor, pos]} where a character begins, or {@code pos}. */
  private int boundaryAtOrBefore(int[] tokens, int pos, int floor) {
    for (int i = pos; i >= floor; i--) {
      if (tokenizer.startsCharacter(tokens[i])) {
        return i;
      }
    }
    return pos; // a single character longer than the window: cut it rather than loop
  }

  /**
   * Where each token of an ASCII {@code text} begins in it, and its length at the end; null if the
   * text is not ASCII or the tokenizer is not the jtokkit one. For ASCII, each character is one
   * UTF-8 byte, so a window's text is a substring of {@code text}: no decoding, one copy. The
   * tokens' bytes add up to the text's UTF-8 length, which equals its length in characters only
   * when every character is ASCII. (Counting UTF-8 lead bytes would extend this to any text;
   * measured on the seed documents, it saved nothing over decoding.)
   */
  int @Nullable [] asciiOffsets(String text, int[] tokens) {
    if (!(tokenizer instanceof JtokkitTokenizer jtokkit)) {
      return null;
    }
    int[] offsets = new int[tokens.length + 1];
    int at = 0;
    for (int i = 0; i < tokens.length; i++) {
      offsets[i] = at;
      int bytes = jtokkit.byteLength(tokens[i]);
      if (bytes < 0 || bytes > text.length() - at) {
        return null; // a token the table lacks, or more bytes than characters: not ASCII
      }
      at += bytes;
    }
    offsets[tokens.length] = at;
    return at == text.length() ? offsets : null;
  }

  /** Adds {@code text[from, to)} without its leading and trailing whitespace, as strip() would. */
  private static void addStripped(List<Chunk> chunks, String text, int from, int to, int tokens) {
    while (from < to && Character.isWhitespace(text.charAt(from))) {
      from++;
    }
    while (to > from && Character.isWhitespace(text.charAt(to - 1))) {
      to--;
    }
    if (from < to) {
      chunks.add(new Chunk(chunks.size(), text.substring(from, to), tokens));
    }
  }

  private static void add(List<Chunk> chunks, String content, int tokens) {
    String stripped = content.strip();
    if (!stripped.isEmpty()) {
      chunks.add(new Chunk(chunks.size(), stripped, tokens));
    }
  }
}
