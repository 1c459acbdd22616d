package io.ragengine.model;

/**
 * Receives a streamed {@link ChatModel} answer as it arrives.
 *
 * <p>For one call, {@link #onToken} is called zero or more times, then exactly one of {@link
 * #onComplete} or {@link #onError}, last. All calls come from the thread that called {@link
 * ChatModel#chat(ChatRequest, ChatStreamListener)}, in order, never concurrently.
 *
 * <p>Methods must be fast (they run between reads of the network stream) and must not throw. If
 * one throws anyway, the stream is cancelled and the exception propagates unchanged from {@code
 * chat}; no further method of the listener is called.
 *
 * <p>Every method has an empty default, so adding an event in a later version breaks no
 * implementation.
 */
public interface ChatStreamListener {
  /** A listener that ignores every event. */
  ChatStreamListener NONE = new ChatStreamListener() {};

  /**
   * A piece of the answer, in order. Concatenating every token gives {@link ChatResponse#text()}.
   * Never called with an empty string.
   */
  default void onToken(String token) {}

  /** The stream ended normally; {@code response} holds the full text, finish reason and usage. */
  default void onComplete(ChatResponse response) {}

  /**
   * The call failed, before or after some tokens were delivered. Tokens already delivered are not
   * taken back; a failed stream is never retried once a token has been delivered.
   */
  default void onError(ModelException error) {}
}
