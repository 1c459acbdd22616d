package io.ragengine.text;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** A {@link Tokenizer} on a jtokkit {@link Encoding}. Thread-safe. */
final class JtokkitTokenizer implements Tokenizer {
  /** Returns the shared cl100k_base tokenizer, loading it on the first call. */
  static Tokenizer cl100k() {
    return Cl100k.INSTANCE;
  }

  private final Encoding encoding;

  /**
   * The bytes of each ordinary token, by id; null for an id the encoding does not know. Built once:
   * decoding through this table is an array copy per token, where the encoding's own {@code
   * decode} looks each token up in a map of boxed ids, which made decoding the chunker's windows
   * cost more than encoding the text.
   */
  private final byte[] @Nullable [] tokenBytes;

  JtokkitTokenizer(Encoding encoding, int vocabularySize) {
    this.encoding = Objects.requireNonNull(encoding, "encoding");
    this.tokenBytes = new byte[vocabularySize][];
    IntArrayList one = new IntArrayList(1);
    for (int id = 0; id < vocabularySize; id++) {
      one.clear();
      one.add(id);
      try {
        tokenBytes[id] = encoding.decodeBytes(one);
      } catch (IllegalArgumentException unknown) {
        // a gap in the vocabulary: decode() falls back to the encoding for it
      }
    }
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
    int length = 0;
    for (int i = from; i < to; i++) {
      byte[] b = bytesOf(tokens[i]);
      if (b == null) {
        return decodeWithEncoding(tokens, from, to);
      }
      length += b.length;
    }
    byte[] out = new byte[length];
    int pos = 0;
    for (int i = from; i < to; i++) {
      byte[] b = Objects.requireNonNull(bytesOf(tokens[i]));
      System.arraycopy(b, 0, out, pos, b.length);
      pos += b.length;
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  private String decodeWithEncoding(int[] tokens, int from, int to) {
    IntArrayList list = new IntArrayList(to - from);
    for (int i = from; i < to; i++) {
      list.add(tokens[i]);
    }
    try {
      return encoding.decode(list);
    } catch (NullPointerException unknown) {
      // jtokkit's way of saying a token is not in the vocabulary ("Unknown token for decoding"):
      // find which, among those the byte table lacks (special tokens are there too).
      for (int i = from; i < to; i++) {
        if (bytesOf(tokens[i]) == null && !decodes(tokens[i])) {
          throw new IllegalArgumentException(
              "tokens[" + i + "]: " + tokens[i] + " (expected: a token of " + name() + ")",
              unknown);
        }
      }
      throw unknown;
    }
  }

  private boolean decodes(int token) {
    IntArrayList one = new IntArrayList(1);
    one.add(token);
    try {
      encoding.decode(one);
      return true;
    } catch (NullPointerException unknown) {
      return false;
    }
  }

  /** The number of UTF-8 bytes of {@code token}, or -1 for one the table lacks. */
  int byteLength(int token) {
    byte[] b = bytesOf(token);
    return b == null ? -1 : b.length;
  }

  private byte @Nullable [] bytesOf(int token) {
    return token >= 0 && token < tokenBytes.length ? tokenBytes[token] : null;
  }

  @Override
  public boolean startsCharacter(int token) {
    byte[] bytes = bytesOf(token);
    // Special tokens are whole markers. A UTF-8 continuation byte is 10xxxxxx.
    return bytes == null || bytes.length == 0 || (bytes[0] & 0xC0) != 0x80;
  }

  /** Loads cl100k_base when first used (the JVM runs this class's initializer once). */
  private static final class Cl100k {
    // cl100k_base has 100,256 ordinary tokens (ids 0..100255) and a few special ones above.
    static final Tokenizer INSTANCE =
        new JtokkitTokenizer(
            Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE), 100_256);
  }
}
