package io.ragengine.openai;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingResult;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Counts tokens for the embedding limits, and cuts texts to a token limit. Thread-safe.
 *
 * <p>The default counts with {@code cl100k_base}, the tokenizer of OpenAI's embedding models; for
 * other providers' models the count is an estimate.
 */
interface TokenCounter {
  /** The exact number of tokens of {@code text}. */
  int count(String text);

  /** The longest prefix of {@code text} of at most {@code maxTokens} tokens. */
  String truncate(String text, int maxTokens);

  /**
   * A bound that is never below {@link #count}: every cl100k token covers at least one UTF-8 byte,
   * so the text's UTF-8 length bounds it (counting each surrogate as 3 bytes, more than the 4 a
   * pair takes, and as much as the replacement character a lone one becomes). Lets most texts skip
   * the exact count: a 1,200-token chunk of English is about 5,500 bytes, under the 8,191-token
   * input limit, where the cruder 3 bytes per char would have needed a count.
   */
  static long upperBound(String text) {
    long bytes = 0;
    for (int i = 0, n = text.length(); i < n; i++) {
      char c = text.charAt(i);
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    }
    return bytes;
  }

  /** The {@code cl100k_base} counter, loaded on first use. */
  static TokenCounter cl100k() {
    return Cl100k.INSTANCE;
  }

  /** Holder: loading the encoding takes a moment, so only models that need a count pay it. */
  final class Cl100k implements TokenCounter {
    static final Cl100k INSTANCE = new Cl100k();

    private final Encoding encoding =
        Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    private Cl100k() {}

    @Override
    public int count(String text) {
      return encoding.countTokensOrdinary(text);
    }

    @Override
    public String truncate(String text, int maxTokens) {
      int limit = maxTokens;
      for (int tries = 0; tries < 8 && limit > 0; tries++) {
        EncodingResult r = encoding.encodeOrdinary(text, limit);
        if (!r.isTruncated()) {
          return text;
        }
        String cut = encoding.decode(r.getTokens());
        // A cut inside a multi-byte character decodes to U+FFFD: drop it.
        while (!cut.isEmpty() && cut.charAt(cut.length() - 1) == '\uFFFD') {
          cut = cut.substring(0, cut.length() - 1);
        }
        int n = count(cut);
        if (n <= maxTokens) {
          return cut;
        }
        limit -= n - maxTokens; // re-encoding merged differently; cut a little more
      }
      return "";
    }
  }
}
