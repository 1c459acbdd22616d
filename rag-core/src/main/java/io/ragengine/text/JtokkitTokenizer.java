package io.ragengine.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.util.Objects;

/** A {@link Tokenizer} on a jtokkit {@link Encoding}. Thread-safe. */
final class JtokkitTokenizer implements Tokenizer {
  /** Returns the shared cl100k_base tokenizer, loading it on the first call. */
  static Tokenizer cl100k() {
    return Cl100k.INSTANCE;
  }

  private static final byte UNKNOWN = 0;
  private static final byte STARTS = 1;
  private static final byte CONTINUES = 2;

  private final Encoding encoding;

  /**
   * Per token id: whether its first byte starts a UTF-8 character. Filled lazily; a race only
   * computes the same byte twice.
   */
  private final byte[] startsCharacter;

  JtokkitTokenizer(Encoding encoding, int vocabularySize) {
    this.encoding = Objects.requireNonNull(encoding, "encoding");
    this.startsCharacter = new byte[vocabularySize];
  }

  @Override
  public String name() {
    return encoding.getName();
  }

  @Override
  public int[] encode(String text) {
    return encoding.encodeOrdinary(Objects.requireNonNull(text, "text")).toArray();
  }

  @Override
  public int count(String text) {
    return encoding.countTokensOrdinary(Objects.requireNonNull(text, "text"));
  }

  @Override
  public String decode(int[] tokens, int from, int to) {
    Objects.checkFromToIndex(from, to, tokens.length);
    IntArrayList list = new IntArrayList(to - from);
    for (int i = from; i < to; i++) {
      list.add(tokens[i]);
    }
    return encoding.decode(list);
  }

  @Override
  public boolean startsCharacter(int token) {
    if (token < 0 || token >= startsCharacter.length) {
      return true; // special tokens: whole markers
    }
    byte known = startsCharacter[token];
    if (known == UNKNOWN) {
      IntArrayList one = new IntArrayList(1);
      one.add(token);
      byte[] bytes = encoding.decodeBytes(one);
      // A UTF-8 continuation byte is 10xxxxxx.
      known = bytes.length > 0 && (bytes[0] & 0xC0) == 0x80 ? CONTINUES : STARTS;
      startsCharacter[token] = known;
    }
    return known == STARTS;
  }

  /** Loads cl100k_base when first used (the JVM runs this class's initializer once). */
  private static final class Cl100k {
    // cl100k_base has 100,256 ordinary tokens (ids 0..100255) and a few special ones above.
    static final Tokenizer INSTANCE =
        new JtokkitTokenizer(
            Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE), 100_256);
  }
}
