package io.ragengine.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

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
 * <p>The text is encoded once and each window decoded once, so the cost is linear in the text's
 * length.
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
      windows(tokenizer.encode(text), chunks);
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
        windows(tokens, chunks);
      }
    }
    return chunks;
  }

  private void windows(int[] tokens, List<Chunk> chunks) {
    int n = tokens.length;
    int size = config.chunkSizeTokens();
    int overlap = config.chunkOverlapTokens();
    int start = 0;
    while (start < n) {
      int end = Math.min(start + size, n);
      if (end < n) {
        end = boundaryAtOrBefore(tokens, end, start + 1);
      }
      add(chunks, tokenizer.decode(tokens, start, end), end - start);
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

  private static void add(List<Chunk> chunks, String content, int tokens) {
    String stripped = content.strip();
    if (!stripped.isEmpty()) {
      chunks.add(new Chunk(chunks.size(), stripped, tokens));
    }
  }
}
