package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ragengine.limiter.RetryLaterException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link ChatModel#chat(ChatRequest, ChatStreamListener)}'s default, over a blocking model. */
final class ChatModelDefaultStreamTest {

  /** A blocking-only model that throws {@code failure} from every call. */
  private static ChatModel failingWith(RuntimeException failure) {
    return new ChatModel() {
      @Override
      public ChatResponse chat(ChatRequest request) {
        throw failure;
      }

      @Override
      public String modelName() {
        return "plain";
      }
    };
  }

  @Test
  void anyFailure_endsTheStreamWithOnError_andTheCallerGetsTheSameException() {
    // Regression (found by a usability review): only a ModelException reached onError, so a
    // model failing any other way left the listener with no end at all.
    IllegalStateException boom = new IllegalStateException("boom");
    var listener = new ChatModelContractTest.RecordingListener();

    var thrown =
        assertThrows(
            ModelException.class, () -> failingWith(boom).chat(ChatRequest.of("hi"), listener));

    assertEquals(List.of("error"), listener.ends);
    assertSame(thrown, listener.error);
    assertSame(boom, thrown.getCause());
    assertEquals(
        "chat model plain failed: java.lang.IllegalStateException: boom", thrown.getMessage());
  }

  @Test
  void retryLater_isNotTheStreamsEnd_theListenerHearsNothing() {
    RetryLaterException later = new RetryLaterException(Duration.ofSeconds(1), null);
    var listener = new ChatModelContractTest.RecordingListener();

    var thrown =
        assertThrows(
            RetryLaterException.class,
            () -> failingWith(later).chat(ChatRequest.of("hi"), listener));

    assertSame(later, thrown);
    assertEquals(List.of(), listener.ends);
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void nullRequest_throwsNullPointerException_notAWrappedOne() {
    var listener = new ChatModelContractTest.RecordingListener();
    assertThrows(
        NullPointerException.class,
        () -> failingWith(new IllegalStateException()).chat(null, listener));
    assertEquals(List.of(), listener.ends);
  }
}
