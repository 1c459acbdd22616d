package io.ragengine.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * An in-process fake of OpenAI's {@code /v1/embeddings}, {@code /v1/chat/completions} and {@code
 * GET /v1/models} on loopback. Embeddings are base64 vectors answered after {@code perCall +
 * perInput * inputs}; chat completions are one fixed, non-streamed answer after {@code
 * chatLatency}.
 *
 * <p>Built on the JDK's HTTP server with {@code TCP_NODELAY} on (without it, Nagle's algorithm and
 * delayed ACKs add about 40 ms to each call). Handlers run on platform threads, so the bytes the
 * server allocates can be counted apart from the client's ({@link #allocatedBytes()}).
 *
 * <p>Thread-safe.
 */
public final class FakeOpenAiServer implements AutoCloseable {
  static {
    // Read once, when the JDK server's configuration class loads: set it before the first server.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  /** Distinct vectors served in rotation; enough that no two neighbours share one. */
  private static final int DISTINCT_VECTORS = 16;

  private static final JsonFactory JSON = new JsonFactory();

  private final HttpServer server;
  private final ExecutorService executor;
  private final long perCallNanos;
  private final long perInputNanos;
  private final long chatNanos;
  private final byte[][] vectorsBase64;
  private final LongAdder requests = new LongAdder();
  private final LongAdder inputs = new LongAdder();
  private final LongAdder chats = new LongAdder();
  private final LongAdder allocated = new LongAdder();
  private final com.sun.management.ThreadMXBean threads =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private FakeOpenAiServer(
      Duration perCall, Duration perInput, int dimension, Duration chatLatency, int threads)
      throws IOException {
    this.perCallNanos = perCall.toNanos();
    this.perInputNanos = perInput.toNanos();
    this.chatNanos = chatLatency.toNanos();
    this.vectorsBase64 = new byte[DISTINCT_VECTORS][];
    Random r = new Random(42);
    for (int i = 0; i < DISTINCT_VECTORS; i++) {
      ByteBuffer b = ByteBuffer.allocate(dimension * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      for (int j = 0; j < dimension; j++) {
        b.putFloat((float) r.nextGaussian() * 0.03f);
      }
      vectorsBase64[i] = Base64.getEncoder().encode(b.array());
    }
    this.server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
    this.executor =
        Executors.newFixedThreadPool(
            threads,
            task -> {
              Thread t = new Thread(task, "fake-openai");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(executor);
    server.createContext("/v1/embeddings", this::embeddings);
    server.createContext("/v1/models", this::models);
    server.createContext("/v1/chat/completions", this::chat);
    server.start();
  }

  /**
   * Starts a server on a free loopback port.
   *
   * @param perCall latency of every call
   * @param perInput added latency per input text
   * @param dimension floats per vector
   */
  public static FakeOpenAiServer start(Duration perCall, Duration perInput, int dimension)
      throws IOException {
    return new FakeOpenAiServer(perCall, perInput, dimension, Duration.ZERO, 32);
  }

  /**
   * Starts a server on a free loopback port that also answers chat completions.
   *
   * @param perCall latency of every embedding call
   * @param perInput added embedding latency per input text
   * @param dimension floats per vector
   * @param chatLatency latency of every chat completion
   * @param threads handler threads: at least the calls the client keeps in flight, since each
   *     waits its latency on one
   */
  public static FakeOpenAiServer start(
      Duration perCall, Duration perInput, int dimension, Duration chatLatency, int threads)
      throws IOException {
    return new FakeOpenAiServer(perCall, perInput, dimension, chatLatency, threads);
  }

  /** The base URL to give a client, ending in {@code /v1}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  public long requests() {
    return requests.sum();
  }

  public long inputs() {
    return inputs.sum();
  }

  public long chats() {
    return chats.sum();
  }

  /** Bytes allocated by the server's handler threads while handling requests. */
  public long allocatedBytes() {
    return allocated.sum();
  }

  private void models(HttpExchange exchange) throws IOException {
    byte[] body = "{\"object\":\"list\",\"data\":[]}".getBytes(StandardCharsets.US_ASCII);
    exchange.getRequestBody().readAllBytes();
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  private void embeddings(HttpExchange exchange) throws IOException {
    long allocStart = threads.getCurrentThreadAllocatedBytes();
    long start = System.nanoTime();
    try {
      byte[] request = exchange.getRequestBody().readAllBytes();
      int n = countInputs(request);
      requests.increment();
      inputs.add(n);
      ByteArrayOutputStream out =
          new ByteArrayOutputStream(n * (vectorsBase64[0].length + 64) + 128);
      out.write("{\"object\":\"list\",\"data\":[".getBytes(StandardCharsets.US_ASCII));
      for (int i = 0; i < n; i++) {
        if (i > 0) {
          out.write(',');
        }
        out.write(
            ("{\"object\":\"embedding\",\"index\":" + i + ",\"embedding\":\"")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(vectorsBase64[i % DISTINCT_VECTORS]);
        out.write('"');
        out.write('}');
      }
      out.write(
          ("],\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":"
                  + n
                  + ",\"total_tokens\":"
                  + n
                  + "}}")
              .getBytes(StandardCharsets.US_ASCII));
      long wait = perCallNanos + perInputNanos * n - (System.nanoTime() - start);
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, out.size());
      try (OutputStream body = exchange.getResponseBody()) {
        out.writeTo(body);
      }
    } finally {
      allocated.add(threads.getCurrentThreadAllocatedBytes() - allocStart);
    }
  }

  private static final byte[] CHAT_ANSWER =
      ("{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":0,"
              + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":"
              + "{\"role\":\"assistant\",\"content\":\"The sources say so [1].\"},"
              + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100,"
              + "\"completion_tokens\":7,\"total_tokens\":107}}")
          .getBytes(StandardCharsets.US_ASCII);

  private void chat(HttpExchange exchange) throws IOException {
    long allocStart = threads.getCurrentThreadAllocatedBytes();
    long start = System.nanoTime();
    try {
      exchange.getRequestBody().readAllBytes();
      chats.increment();
      long wait = chatNanos - (System.nanoTime() - start);
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, CHAT_ANSWER.length);
      try (OutputStream body = exchange.getResponseBody()) {
        body.write(CHAT_ANSWER);
      }
    } finally {
      allocated.add(threads.getCurrentThreadAllocatedBytes() - allocStart);
    }
  }

  private static int countInputs(byte[] request) throws IOException {
    try (JsonParser p = JSON.createParser(request)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return 0;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        if ("input".equals(field) && t == JsonToken.START_ARRAY) {
          int n = 0;
          while (p.nextToken() != JsonToken.END_ARRAY) {
            n++;
            p.skipChildren();
          }
          return n;
        }
        p.skipChildren();
      }
      return 0;
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
