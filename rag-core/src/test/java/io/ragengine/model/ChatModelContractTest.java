package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link ChatModel} keeps. Extend it once per implementation (the fakes in
 * {@code rag-core}, the HTTP clients against a fake server in their modules) and arrange the
 * answers through the two hooks.
 */
public abstract class ChatModelContractTest {

  /** The model under test, the same instance for the whole test method. */
  protected abstract ChatModel model();

  /** Arranges that every following call, blocking or streamed, answers {@code text}. */
  protected abstract void givenReply(String text);

  /**
   * Arranges that the next call fails as a bad request (HTTP 400 where there is HTTP) whose
   * provider message is {@code providerMessage}.
   */
  protected abstract void givenBadRequest(String providerMessage);

  private static ChatRequest request() {
    return ChatRequest.builder()
        .addMessage(Message.system("You answer briefly."))
        .addMessage(Message.user("Who founded Acme?"))
        .temperature(0)
        .build();
  }

  @Test
  void chat_returnsTheReply() {
    givenReply("Acme was founded by Ada.");
    ChatResponse response = model().chat(request());
    assertEquals("Acme was founded by Ada.", response.text());
    assertEquals(FinishReason.STOP, response.finishReason());
    assertFalse(response.model().isBlank());
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void chat_nullRequest_throwsNullPointerException() {
    assertThrows(NullPointerException.class, () -> model().chat(null));
  }

  @Test
  void chatStream_tokensConcatenateToTheResponse_thenCompleteOnce() {
    givenReply("Acme was founded by Ada in 1901.");
    RecordingListener listener = new RecordingListener();
    ChatResponse returned = model().chat(request(), listener);
    assertEquals("Acme was founded by Ada in 1901.", returned.text());
    assertEquals(returned.text(), String.join("", listener.tokens));
    assertTrue(listener.tokens.stream().noneMatch(String::isEmpty), "empty token delivered");
    assertEquals(List.of("complete"), listener.ends);
    assertSame(returned, listener.completed);
    assertEquals(FinishReason.STOP, returned.finishReason());
  }

  @Test
  void chat_badRequest_failsAtOnceWithTheProviderMessage() {
    givenBadRequest("Invalid value for temperature");
    ModelException e = assertThrows(ModelException.class, () -> model().chat(request()));
    assertFalse(e.retryable());
    assertTrue(
        e.providerMessage().contains("Invalid value for temperature"), e.providerMessage());
    e.httpStatus().ifPresent(s -> assertEquals(400, s));
  }

  @Test
  void chatStream_badRequest_reportsTheSameErrorToListenerAndCaller() {
    givenBadRequest("Invalid value for temperature");
    RecordingListener listener = new RecordingListener();
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(request(), listener));
    assertEquals(List.of("error"), listener.ends);
    assertSame(e, listener.error);
    assertFalse(e.retryable());
  }

  @Test
  void chatStream_listenerThrows_propagatesUnchangedAndEndsTheCall() {
    givenReply("one two three");
    IllegalStateException boom = new IllegalStateException("listener failed");
    RecordingListener listener =
        new RecordingListener() {
          @Override
          public void onToken(String token) {
            super.onToken(token);
            throw boom;
          }
        };
    IllegalStateException thrown =
        assertThrows(IllegalStateException.class, () -> model().chat(request(), listener));
    assertSame(boom, thrown);
    assertEquals(1, listener.tokens.size());
    assertEquals(List.of(), listener.ends);
  }

  @Test
  void chat_concurrentCallers_allGetTheirAnswer() throws Exception {
    givenReply("same answer");
    ChatModel model = model();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<ChatResponse>> futures = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        futures.add(pool.submit(() -> model.chat(request())));
      }
      for (Future<ChatResponse> f : futures) {
        assertEquals("same answer", f.get(30, TimeUnit.SECONDS).text());
      }
    }
  }

  @Test
  void warmup_succeeds() {
    model().warmup();
  }

  @Test
  void modelName_isNotBlank() {
    assertFalse(model().modelName().isBlank());
  }

  @Test
  void response_toString_hidesTheText() {
    givenReply("secret answer text");
    ChatResponse response = model().chat(request());
    assertFalse(response.toString().contains("secret answer text"), response.toString());
  }

  /** Records every event; not thread-safe, as listeners are called from one thread. */
  protected static class RecordingListener implements ChatStreamListener {
    public final List<String> tokens = new ArrayList<>();
    public final List<String> ends = new ArrayList<>();
    public @Nullable ChatResponse completed;
    public @Nullable ModelException error;

    @Override
    public void onToken(String token) {
      tokens.add(token);
    }

    @Override
    public void onComplete(ChatResponse response) {
      ends.add("complete");
      completed = response;
    }

    @Override
    public void onError(ModelException error) {
      ends.add("error");
      this.error = error;
    }
  }
}
