package io.ragengine.text;

import io.ragengine.internal.Checks;
import java.util.Objects;

/**
 * One piece of a document, as cut by a {@link Chunker}. Immutable.
 *
 * @param index the chunk's position in its document, from 0
 * @param content the chunk's text, stripped of leading and trailing whitespace
 * @param tokens the number of tokens in the window the chunk was cut from
 */
public record Chunk(int index, String content, int tokens) {
  /**
   * @throws IllegalArgumentException if {@code index} or {@code tokens} is negative
   */
  public Chunk {
    Checks.positiveOrZero(index, "index");
    Objects.requireNonNull(content, "content");
    Checks.positiveOrZero(tokens, "tokens");
  }
}
