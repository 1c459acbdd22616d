package io.ragengine.openai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import okhttp3.RequestBody;
import org.junit.jupiter.api.Test;

final class JsonTest {
  private static byte[] jackson(String text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartArray();
      g.writeString(text);
      g.writeString("after");
      g.writeEndArray();
    }
    return out.toByteArray();
  }

  /** {@code text} and "after" in an array, through a buffer presized for {@code expected} bytes. */
  private static byte[] fast(String text, long expected) throws IOException {
    Json.Buffer out = new Json.Buffer(expected);
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartArray();
      Json.writeString(g, text);
      g.writeString("after");
      g.writeEndArray();
    }
    return out.toByteArray();
  }

  private static byte[] fast(String text) throws IOException {
    return fast(text, text.length() + 16L);
  }

  @Test
  void writeString_readsBackAsTheText_andIsJacksonsBytesInsideTheBmp() throws IOException {
    List<String> texts = new ArrayList<>();
    texts.add("");
    texts.add("plain words only");
    texts.add("quote \" backslash \\ slash / newline \n return \r tab \t");
    texts.add("\b\f\u0000\u0001\u001f\u007f end");
    texts.add("Zoë, naïve café, 漢字, Ελληνικά, emoji 😀 and 𝄞");
    texts.add("\u2028 line separator and \u2029 paragraph separator");
    StringBuilder every = new StringBuilder();
    for (char c = 0; c < 0x300; c++) {
      every.append(c);
    }
    texts.add(every.toString());
    Random r = new Random(7);
    for (int n = 0; n < 200; n++) { // random mixes, long ones included
      StringBuilder sb = new StringBuilder();
      int length = r.nextInt(n < 190 ? 64 : 200_000);
      while (sb.length() < length) {
        int pick = r.nextInt(10);
        if (pick < 6) {
          sb.append((char) (' ' + r.nextInt(95)));
        } else if (pick < 8) {
          sb.append((char) r.nextInt(0x20));
        } else if (pick < 9) {
          sb.append((char) (0xA0 + r.nextInt(0xD7FF - 0xA0)));
        } else {
          sb.appendCodePoint(0x10000 + r.nextInt(0x10FFFF - 0x10000));
        }
      }
      texts.add(sb.toString());
    }
    for (String text : texts) {
      byte[] fast = fast(text);
      // Read back, the same text, whatever it holds.
      assertEquals(List.of(text, "after"), List.of(Json.MAPPER.readValue(fast, String[].class)));
      if (text.codePoints().allMatch(Character::isBmpCodePoint)) {
        assertArrayEquals(jackson(text), fast, () -> "for " + text.length() + " chars");
      }
    }
  }

  @Test
  void writeString_outsideTheBmp_writesUtf8WhereJacksonEscapesTheSurrogates() throws IOException {
    assertEquals("[\"emoji 😀\",\"after\"]", new String(fast("emoji 😀"), StandardCharsets.UTF_8));
    assertEquals(
        "[\"emoji \\uD83D\\uDE00\",\"after\"]",
        new String(jackson("emoji 😀"), StandardCharsets.UTF_8));
  }

  @Test
  void writeString_noEscapesNeeded_isTheUtf8EncodingInQuotes() throws IOException {
    String text = "The river and the bridge, 漢字.";
    assertEquals(
        "[\"" + text + "\",\"after\"]", new String(fast(text), StandardCharsets.UTF_8));
  }

  @Test
  void writeString_unpairedSurrogate_becomesQuestionMark() throws IOException {
    assertEquals("[\"a?b\",\"after\"]", new String(fast("a\uD800b"), StandardCharsets.UTF_8));
  }

  @Test
  void writeString_growsATooSmallBuffer_evenWhenEscapesMakeTheTextLonger() throws IOException {
    String text = "\u0001".repeat(1_000) + "\"quoted\"\n".repeat(1_000); // 6x and ~1.2x longer
    for (long presized : new long[] {64, text.length(), text.length() * 6L + 64}) {
      assertArrayEquals(jackson(text), fast(text, presized), () -> "presized " + presized);
    }
  }

  @Test
  void buffer_presizedForAProsePrompt_holdsItsEscapesWithoutGrowing() throws IOException {
    // Regression: presized to the characters alone, a prompt with a newline every 40 characters
    // outgrew its buffer and was copied into one twice its size: 300 KB for a 100 KB prompt.
    StringBuilder prompt = new StringBuilder();
    while (prompt.length() < 100_000) {
      prompt.append("The river and the bridge are both here, on line ").append(prompt.length());
      prompt.append('\n');
    }
    Json.Buffer out = new Json.Buffer(prompt.length() + 16L);
    int capacity = out.capacity();
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartArray();
      Json.writeString(g, prompt.toString());
      g.writeString("after");
      g.writeEndArray();
    }
    assertEquals(capacity, out.capacity());
    assertArrayEquals(jackson(prompt.toString()), out.toByteArray());
  }

  @Test
  void toRequestBody_writesEveryByte_inSlices_andAgainForARetry() throws IOException {
    byte[] expected = new byte[3 * 8192 + 123];
    new Random(3).nextBytes(expected);
    Json.Buffer out = new Json.Buffer(expected.length);
    out.write(expected);
    RequestBody body = out.toRequestBody();

    assertEquals(expected.length, body.contentLength());
    assertEquals(Json.MEDIA_TYPE, body.contentType());
    for (int attempt = 0; attempt < 2; attempt++) {
      okio.Buffer sink = new okio.Buffer();
      body.writeTo(sink);
      assertArrayEquals(expected, sink.readByteArray());
    }
  }

  @Test
  void writeString_toAnotherStream_isJacksonsWriteString() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartArray();
      Json.writeString(g, "emoji 😀 \"q\"");
      g.writeString("after");
      g.writeEndArray();
    }
    assertArrayEquals(jackson("emoji 😀 \"q\""), out.toByteArray());
  }

  @Test
  void writeString_keepsTheGeneratorsPlace_afterAFieldNameAndBetweenValues() throws IOException {
    Json.Buffer out = new Json.Buffer(16);
    try (JsonGenerator g = Json.FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("model", "m");
      g.writeFieldName("content");
      Json.writeString(g, "line\none");
      g.writeArrayFieldStart("input");
      Json.writeString(g, "a");
      g.writeString("b");
      Json.writeString(g, "c\"");
      g.writeEndArray();
      g.writeNumberField("n", 1);
      g.writeEndObject();
    }
    assertEquals(
        "{\"model\":\"m\",\"content\":\"line\\none\",\"input\":[\"a\",\"b\",\"c\\\"\"],\"n\":1}",
        new String(out.toByteArray(), StandardCharsets.UTF_8));
  }
}
