package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

final class ChatRequestTest {

  @Test
  void build_noMessages_throws() {
    var e = assertThrows(IllegalArgumentException.class, () -> ChatRequest.builder().build());
    assertEquals("messages: [] (expected: at least one message)", e.getMessage());
  }

  @Test
  void temperature_outOfRange_throwsWithNameAndValue() {
    var e =
        assertThrows(IllegalArgumentException.class, () -> ChatRequest.builder().temperature(2.5));
    assertEquals("temperature: 2.5 (expected: in [0, 2])", e.getMessage());
  }

  @Test
  void maxOutputTokens_zero_throws() {
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> ChatRequest.builder().maxOutputTokens(0));
    assertEquals("maxOutputTokens: 0 (expected: > 0)", e.getMessage());
  }

  @Test
  void toBuilder_roundTripsAndEquals() {
    ChatRequest r =
        ChatRequest.builder()
            .addMessage(Message.user("hi"))
            .model("m")
            .temperature(0.2)
            .maxOutputTokens(9)
            .stop(List.of("END"))
            .seed(7)
            .responseFormat(ResponseFormat.JSON_OBJECT)
            .build();
    assertEquals(r, r.toBuilder().build());
    assertEquals(r.hashCode(), r.toBuilder().build().hashCode());
  }

  @Test
  void toString_hidesMessageText() {
    ChatRequest r = ChatRequest.of("my secret prompt");
    assertFalse(r.toString().contains("secret"), r.toString());
    assertFalse(Message.user("my secret prompt").toString().contains("secret"));
  }

  @Test
  void modelException_statusOutOfRange_throws() {
    assertThrows(
        IllegalArgumentException.class, () -> new ModelException("x", 42, "", false, null, null));
    assertEquals(-1, new ModelException("x", false, null).statusCode());
  }
}
