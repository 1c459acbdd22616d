package io.ragengine.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import okhttp3.MediaType;
import okhttp3.RequestBody;

/** The shared, thread-safe Jackson objects, and a fast way to write long strings. */
final class Json {
  static final ObjectMapper MAPPER = new ObjectMapper();
  static final JsonFactory FACTORY = MAPPER.getFactory();
  static final MediaType MEDIA_TYPE = MediaType.get("application/json");

  private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;

  private Json() {}

  /**
   * A byte buffer that becomes a request body without a copy: a 100 KB prompt is otherwise copied
   * once more by {@code toByteArray()}. Not thread-safe.
   */
  static final class Buffer extends ByteArrayOutputStream {
    Buffer(long expectedBytes) {
      super((int) Math.min(Math.max(expectedBytes, 64), 1 << 30));
    }

    /** The bytes written so far as a JSON request body; write nothing more afterwards. */
    RequestBody toRequestBody() {
      return RequestBody.create(buf, MEDIA_TYPE, 0, count);
    }
  }

  /**
   * Writes {@code text} as a JSON string value, about four times faster than {@link
   * JsonGenerator#writeString(String)} for long texts (prompts of 100 KB, batches of chunks): the
   * JDK's intrinsic UTF-8 encoder does the encoding, and a loop that checks eight bytes at a time
   * adds the backslash escapes, which UTF-8 never needs inside a multi-byte sequence. Jackson
   * encodes and escapes char by char: about 400 us per 100 KB of English prompt here, against
   * 100 us. The bytes are Jackson's, except that a character outside
   * the Basic Multilingual Plane is written as its four UTF-8 bytes where Jackson writes an escaped
   * surrogate pair: the same text either way. An unpaired surrogate, which is not text, becomes
   * {@code ?}.
   */
  static void writeString(JsonGenerator g, String text) throws IOException {
    byte[] utf8 = escapedUtf8(text);
    g.writeRawUTF8String(utf8, 0, utf8.length);
  }

  /** The UTF-8 bytes of {@code text} with JSON's escapes, without the surrounding quotes. */
  static byte[] escapedUtf8(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int n = utf8.length;
    int extra = 0;
    for (int i = nextEscape(utf8, 0); i < n; i = nextEscape(utf8, i + 1)) {
      extra += escapeLength(utf8[i]) - 1;
    }
    if (extra == 0) {
      return utf8;
    }
    byte[] out = new byte[n + extra];
    int o = 0;
    int run = 0; // start of the bytes not yet copied
    for (int i = nextEscape(utf8, 0); i < n; i = nextEscape(utf8, i + 1)) {
      System.arraycopy(utf8, run, out, o, i - run);
      o += i - run;
      run = i + 1;
      byte b = utf8[i];
      out[o++] = '\\';
      switch (b) {
        case '"' -> out[o++] = '"';
        case '\\' -> out[o++] = '\\';
        case '\n' -> out[o++] = 'n';
        case '\r' -> out[o++] = 'r';
        case '\t' -> out[o++] = 't';
        case '\b' -> out[o++] = 'b';
        case '\f' -> out[o++] = 'f';
        default -> {
          out[o++] = 'u';
          out[o++] = '0';
          out[o++] = '0';
          out[o++] = HEX[b >> 4];
          out[o++] = HEX[b & 0xF];
        }
      }
    }
    System.arraycopy(utf8, run, out, o, n - run);
    return out;
  }

  /**
   * The index of the first byte at or after {@code from} that needs an escape, or {@code
   * utf8.length}: eight bytes checked at a time where none does, one at a time where one may.
   */
  private static int nextEscape(byte[] utf8, int from) {
    int n = utf8.length;
    int i = from;
    for (; i + 8 <= n; i += 8) {
      if (mayNeedEscape((long) LONGS.get(utf8, i))) {
        for (int j = i; j < i + 8; j++) {
          if (needsEscape(utf8[j])) {
            return j;
          }
        }
      }
    }
    for (; i < n; i++) {
      if (needsEscape(utf8[i])) {
        return i;
      }
    }
    return n;
  }

  /** A control character, a quote or a backslash (never a byte of a multi-byte sequence). */
  private static boolean needsEscape(byte b) {
    return b >= 0 && (b < 0x20 || b == '"' || b == '\\');
  }

  /**
   * False only if none of the eight bytes in {@code word} needs an escape (SWAR: a byte below
   * 0x20, or equal to a quote or a backslash, sets its high bit in one of the three terms; bytes
   * of 0x80 and above never do).
   */
  private static boolean mayNeedEscape(long word) {
    long below = (word - ONES * 0x20) & ~word & HIGHS;
    long quote = word ^ (ONES * '"');
    long backslash = word ^ (ONES * '\\');
    return (below | ((quote - ONES) & ~quote & HIGHS) | ((backslash - ONES) & ~backslash & HIGHS))
        != 0;
  }

  /** Bytes of the escape for an ASCII byte that needs one. */
  private static int escapeLength(byte b) {
    return switch (b) {
      case '"', '\\', '\n', '\r', '\t', '\b', '\f' -> 2;
      default -> 6; // backslash, u, four hex digits
    };
  }
}
