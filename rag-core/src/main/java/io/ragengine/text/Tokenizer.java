package io.ragengine.text;

/**
 * Turns text into the tokens a model counts, and back. Used to size chunks and to keep prompts
 * and contexts within token budgets.
 *
 * <p>Implementations are thread-safe.
 */
public interface Tokenizer {

  /**
   * Returns OpenAI's {@code cl100k_base} encoding (GPT-4, GPT-3.5, text-embedding-3), through
   * jtokkit. The vocabulary loads on the first call (about a tenth of a second); later calls return
   * the same instance.
   */
  static Tokenizer cl100k() {
    return JtokkitTokenizer.cl100k();
  }

  /** The encoding's name, such as {@code cl100k_base}. */
  String name();

  /**
   * Returns the tokens of {@code text}. Special-token markers in the text (such as {@code
   * <|endoftext|>}) are encoded as ordinary text, never as control tokens.
   */
  int[] encode(String text);

  /** Returns the number of tokens in {@code text}; the same as {@code encode(text).length}. */
  int count(String text);

  /**
   * Returns the text of {@code tokens[from, to)}. If the range starts or ends inside a character
   * (byte-level encodings can split one across tokens), the broken bytes decode to U+FFFD; use
   * {@link #startsCharacter(int)} to choose ranges that don't.
   *
   * @throws IndexOutOfBoundsException if the range is not within {@code tokens}
   * @throws IllegalArgumentException if a token is not one of this encoding's
   */
  String decode(int[] tokens, int from, int to);

  /**
   * Returns whether {@code token}'s text begins at a character boundary, rather than continuing
   * a character begun by the token before it. Always true for encodings that never split
   * characters.
   */
  default boolean startsCharacter(int token) {
    return true;
  }
}
