package io.ragengine.model;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * A deterministic {@link ChatModel} for tests: answers from a function of the request (by default
 * a fixed text derived from the messages' hash), records every request, fails the next calls on
 * demand, and can take a set latency through an injectable sleeper.
 *
 * <p>Thread-safe. Streaming splits the answer at spaces, keeping each space with the word that
 * follows it, so the tokens concatenate back to the answer.
 */
public final class FakeChatModel implements ChatModel {
  /** The name {@link #modelName()} returns unless set. */
  public static final String DEFAULT_MODEL_NAME = "fake-chat";

  private final ReentrantLock lock = new ReentrantLock();
  private final List<ChatRequest> requests = new ArrayList<>();
  private final Deque<RuntimeException> failures = new ArrayDeque<>();
  private volatile Function<ChatRequest, String> responder = FakeChatModel::defaultReply;
  private volatile FinishReason finishReason = FinishReason.STOP;
  private volatile Duration latency = Duration.ZERO;
  private volatile Consumer<Duration> sleeper = FakeChatModel::sleepUninterruptibly;
  private volatile String modelName = DEFAULT_MODEL_NAME;
  private final java.util.concurrent.atomic.AtomicInteger warmups =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile int warmupConnections;

  /** The answer the default responder gives: a fixed text derived from the messages. */
  public static String defaultReply(ChatRequest request) {
    int h = 17;
    for (Message m : request.messages()) {
      h = 31 * h + m.role().hashCode();
      h = 31 * h + m.content().hashCode();
    }
    return "fake reply " + Integer.toHexString(h) + " to " + request.messages().size() + " messages";
  }

  /** Answers with {@code reply} to every request from now on. */
  public FakeChatModel reply(String reply) {
    Objects.requireNonNull(reply, "reply");
    this.responder = r -> reply;
    return this;
  }

  /** Answers with {@code responder.apply(request)} from now on. */
  public FakeChatModel responder(Function<ChatRequest, String> responder) {
    this.responder = Objects.requireNonNull(responder, "responder");
    return this;
  }

  /** Reports this finish reason from now on. Default {@link FinishReason#STOP}. */
  public FakeChatModel finishReason(FinishReason finishReason) {
    this.finishReason = Objects.requireNonNull(finishReason, "finishReason");
    return this;
  }

  /** Sets the name {@link #modelName()} returns. */
  public FakeChatModel modelName(String modelName) {
    this.modelName = Objects.requireNonNull(modelName, "modelName");
    return this;
  }

  /**
   * Makes each call wait {@code latency} through {@code sleeper} before answering (a fake
   * sleeper lets a test assert the wait without spending it).
   */
  public FakeChatModel latency(Duration latency, Consumer<Duration> sleeper) {
    this.latency = Objects.requireNonNull(latency, "latency");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    return this;
  }

  /** Makes each call sleep {@code latency} on its own thread before answering. */
  public FakeChatModel latency(Duration latency) {
    return latency(latency, FakeChatModel::sleepUninterruptibly);
  }

  /** Fails the next {@code n} calls with a retryable HTTP 503 {@link ModelException}. */
  public FakeChatModel failNext(int n) {
    return failNext(n, new ModelException("fake chat model: HTTP 503", 503, "overloaded", true, null, null));
  }

  /** Fails the next {@code n} calls with {@code failure} (the same instance each time). */
  public FakeChatModel failNext(int n, RuntimeException failure) {
    lock.lock();
    try {
      for (int i = 0; i < n; i++) {
        failures.add(failure);
      }
    } finally {
      lock.unlock();
    }
    return this;
  }

  /** Returns a copy of the requests received, in order, failed ones included. */
  public List<ChatRequest> requests() {
    lock.lock();
    try {
      return List.copyOf(requests);
    } finally {
      lock.unlock();
    }
  }

  /** The number of calls received, failed ones included. */
  public int callCount() {
    lock.lock();
    try {
      return requests.size();
    } finally {
      lock.unlock();
    }
  }

  /** The number of times {@link #warmup()} was called, directly or through {@link #warmup(int)}. */
  public int warmupCount() {
    return warmups.get();
  }

  /** The connections the last {@link #warmup(int)} asked for; 0 if none did. */
  public int warmupConnections() {
    return warmupConnections;
  }

  @Override
  public ChatResponse chat(ChatRequest request) {
    return answer(request);
  }

  @Override
  public ChatResponse chat(ChatRequest request, ChatStreamListener listener) {
    Objects.requireNonNull(listener, "listener");
    ChatResponse response;
    try {
      response = answer(request);
    } catch (ModelException e) {
      listener.onError(e);
      throw e;
    }
    String text = response.text();
    int start = 0;
    for (int i = 1; i <= text.length(); i++) {
      if (i == text.length() || text.charAt(i) == ' ') {
        listener.onToken(text.substring(start, i));
        start = i;
      }
    }
    listener.onComplete(response);
    return response;
  }

  private ChatResponse answer(ChatRequest request) {
    Objects.requireNonNull(request, "request");
    @Nullable RuntimeException failure;
    lock.lock();
    try {
      requests.add(request);
      failure = failures.poll();
    } finally {
      lock.unlock();
    }
    Duration wait = latency;
    if (!wait.isZero()) {
      sleeper.accept(wait);
    }
    if (failure != null) {
      throw failure;
    }
    String text = responder.apply(request);
    int in = 0;
    for (Message m : request.messages()) {
      in += countWords(m.content());
    }
    return new ChatResponse(
        text,
        finishReason,
        TokenUsage.of(in, countWords(text)),
        request.model().orElse(modelName));
  }

  private static int countWords(String s) {
    int n = 0;
    boolean inWord = false;
    for (int i = 0; i < s.length(); i++) {
      boolean space = Character.isWhitespace(s.charAt(i));
      if (!space && !inWord) {
        n++;
      }
      inWord = !space;
    }
    return n;
  }

  @Override
  public String modelName() {
    return modelName;
  }

  @Override
  public void warmup() {
    warmups.incrementAndGet();
  }

  @Override
  public void warmup(int connections) {
    warmupConnections = connections;
    warmup();
  }

  static void sleepUninterruptibly(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "FakeChatModel[" + modelName + "]";
  }
}
