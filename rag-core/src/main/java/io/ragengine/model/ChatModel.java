package io.ragengine.model;

import io.ragengine.internal.Checks;

/**
 * A chat completion model: messages in, one answer out, either whole or streamed token by token.
 *
 * <p>Implementations are thread-safe and blocking: a call returns when the answer is complete, so
 * callers run calls on virtual threads (usually a {@link io.ragengine.limiter.CallLimiter}'s
 * workers). An implementation retries what is worth retrying (rate limits, server errors,
 * connection failures) before it gives up; when it runs inside a limiter call it waits out a
 * back-off by throwing {@link io.ragengine.limiter.RetryLaterException} rather than sleeping.
 */
public interface ChatModel {

  /**
   * Returns the model's complete answer.
   *
   * @throws ModelException if the call failed and its retries, if any, were exhausted
   * @throws io.ragengine.limiter.RetryLaterException inside a limiter call, to wait before the
   *     next attempt without holding the worker
   * @throws NullPointerException if {@code request} is null
   */
  ChatResponse chat(ChatRequest request);

  /**
   * Streams the model's answer to {@code listener} as it arrives and returns the complete answer.
   * The listener's methods run on the calling thread; see {@link ChatStreamListener} for their
   * order. This call returns the same response that {@link ChatStreamListener#onComplete} got, or
   * throws the same exception that {@link ChatStreamListener#onError} got.
   *
   * <p>A failure before the first token may be retried like a blocking call; once a token was
   * delivered, a failure ends the call.
   *
   * <p>The default implementation makes a blocking call and delivers the whole answer as one
   * token.
   *
   * @throws ModelException if the call failed; the default wraps any other exception {@code
   *     chat(request)} throws (but {@code RetryLaterException}) in one, as {@code onError} gets it
   * @throws io.ragengine.limiter.RetryLaterException inside a limiter call, before any token was
   *     delivered; the listener is not told, since the call will run again
   * @throws NullPointerException if an argument is null
   */
  default ChatResponse chat(ChatRequest request, ChatStreamListener listener) {
    java.util.Objects.requireNonNull(request, "request");
    java.util.Objects.requireNonNull(listener, "listener");
    ChatResponse response;
    try {
      response = chat(request);
    } catch (ModelException e) {
      listener.onError(e);
      throw e;
    } catch (io.ragengine.limiter.RetryLaterException e) {
      throw e; // the call runs again: not the stream's end
    } catch (RuntimeException e) {
      // Any other failure ends the stream too, as the listener's contract says; it is thrown
      // wrapped, so that the caller gets the exception the listener got.
      ModelException wrapped =
          new ModelException("chat model " + modelName() + " failed: " + e, false, e);
      listener.onError(wrapped);
      throw wrapped;
    }
    if (!response.text().isEmpty()) {
      listener.onToken(response.text());
    }
    listener.onComplete(response);
    return response;
  }

  /** The model used when a request names none, as the provider knows it. */
  String modelName();

  /**
   * Prepares the model for the first real call: opens and keeps a connection, checks
   * credentials where that costs nothing. Called by the engine's eager initialisation. The
   * default does nothing.
   *
   * @throws ModelException if the provider cannot be reached or refuses the credentials
   */
  default void warmup() {}

  /**
   * {@link #warmup()} for up to {@code connections} calls at once: a model that talks to its
   * provider over pooled connections opens that many (as many as its pool keeps), so that the
   * first burst of calls does not wait for connections (and TLS handshakes) of its own. The
   * engine calls it with the chat limiter's {@code maxAsync}. The default calls {@link
   * #warmup()}.
   *
   * @param connections calls the model should be ready to serve at once; at least 1
   * @throws ModelException if the provider cannot be reached or refuses the credentials
   * @throws IllegalArgumentException if {@code connections} is less than 1
   */
  default void warmup(int connections) {
    Checks.positive(connections, "connections");
    warmup();
  }
}
