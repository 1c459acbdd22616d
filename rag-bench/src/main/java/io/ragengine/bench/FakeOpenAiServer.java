package io.ragengine.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * An in-process fake of OpenAI's {@code /v1/embeddings}, {@code /v1/chat/completions} and {@code
 * GET /v1/models} on loopback. Embeddings are base64 vectors answered after {@code perCall +
 * perInput * inputs}; chat completions are one fixed, non-streamed answer after {@code
 * chatLatency}. Latency counts from the request's first byte, as a provider's would: reading and
 * parsing the request is part of it.
 *
 * <p>A minimal HTTP/1.1 server on blocking sockets: one platform thread per connection, keep-alive,
 * request bodies sent with {@code Content-Length} or chunked, {@code TCP_NODELAY} on. It replaced
 * the JDK's {@code com.sun.net.httpserver} server, which added about 2.5 ms to every request on
 * this machine (measured with curl against an empty handler: 2.1-2.7 ms), more than the engine's
 * whole query overhead. Handlers run on platform threads, so the bytes the server allocates can be
 * counted apart from the client's ({@link #allocatedBytes()}).
 *
 * <p>Every vector it serves is distinct, as a real model's are: each is one of 16 random base
 * vectors with its first three floats replaced by values drawn from a per-server counter. (Serving
 * the 16 base vectors in rotation made thousands of stored chunks tie exactly, which no real
 * embedding does and which sent every scanned vector through the search's tie-break.)
 *
 * <p>Thread-safe.
 */
public final class FakeOpenAiServer implements AutoCloseable {
  /** Base vectors; each served vector is one of them with its first floats made unique. */
  private static final int DISTINCT_VECTORS = 16;

  /** Floats at the head of a vector replaced per served vector: 12 bytes, 16 base64 characters. */
  private static final int UNIQUE_FLOATS = 3;

  private static final int MAX_HEADER_BYTES = 16 * 1024;

  private static final JsonFactory JSON = new JsonFactory();

  private final ServerSocket socket;
  private final Thread acceptor;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final long perCallNanos;
  private final long perInputNanos;
  private final long chatNanos;
  private final byte[][] vectorsBase64;
  private final AtomicLong served = new AtomicLong();
  private final LongAdder requests = new LongAdder();
  private final LongAdder inputs = new LongAdder();
  private final LongAdder chats = new LongAdder();
  private final LongAdder allocated = new LongAdder();
  private final com.sun.management.ThreadMXBean threads =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private volatile boolean closed;

  private FakeOpenAiServer(
      Duration perCall, Duration perInput, int dimension, Duration chatLatency, int backlog)
      throws IOException {
    if (dimension < UNIQUE_FLOATS) {
      throw new IllegalArgumentException(
          "dimension: " + dimension + " (expected: at least " + UNIQUE_FLOATS + ")");
    }
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
    this.socket = new ServerSocket(0, Math.max(backlog, 1024), InetAddress.getLoopbackAddress());
    this.acceptor = new Thread(this::accept, "fake-openai-accept");
    acceptor.setDaemon(true);
    acceptor.start();
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
    return new FakeOpenAiServer(perCall, perInput, dimension, Duration.ZERO, 64);
  }

  /**
   * Starts a server on a free loopback port that also answers chat completions.
   *
   * @param perCall latency of every embedding call
   * @param perInput added embedding latency per input text
   * @param dimension floats per vector
   * @param chatLatency latency of every chat completion
   * @param connections connections the client is expected to open (sizes the accept backlog;
   *     every connection gets its own thread)
   */
  public static FakeOpenAiServer start(
      Duration perCall, Duration perInput, int dimension, Duration chatLatency, int connections)
      throws IOException {
    return new FakeOpenAiServer(perCall, perInput, dimension, chatLatency, connections);
  }

  /** The base URL to give a client, ending in {@code /v1}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + socket.getLocalPort() + "/v1";
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

  /** Bytes allocated by the server's connection threads while handling requests. */
  public long allocatedBytes() {
    return allocated.sum();
  }

  private void accept() {
    while (!closed) {
      Socket s;
      try {
        s = socket.accept();
      } catch (IOException e) {
        return; // closed
      }
      open.add(s);
      Thread t = new Thread(() -> serve(s), "fake-openai");
      t.setDaemon(true);
      t.start();
    }
  }

  /** Serves one keep-alive connection until the client closes it. */
  private void serve(Socket s) {
    try (s) {
      s.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(s.getInputStream(), 64 * 1024);
      OutputStream out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
      Body body = new Body(); // reused by every request of the connection
      while (!closed) {
        Request request = Request.read(in, body);
        if (request == null) {
          return; // the client closed the connection
        }
        long allocStart = threads.getCurrentThreadAllocatedBytes();
        try {
          handle(request, out);
        } finally {
          allocated.add(threads.getCurrentThreadAllocatedBytes() - allocStart);
        }
        out.flush();
        if (request.close) {
          return;
        }
      }
    } catch (SocketException | EOFException e) {
      // the client or close() dropped the connection
    } catch (IOException e) {
      if (!closed) {
        System.err.println("fake-openai: " + e);
      }
    } finally {
      open.remove(s);
    }
  }

  private void handle(Request request, OutputStream out) throws IOException {
    long start = request.arrived; // latency counts from the first byte, as a provider's would
    switch (request.method + " " + request.path) {
      case "POST /v1/embeddings" -> {
        int n = countInputs(request.body);
        requests.increment();
        inputs.add(n);
        byte[] body = embeddingsBody(n);
        park(perCallNanos + perInputNanos * n, start);
        respond(out, 200, body);
      }
      case "POST /v1/chat/completions" -> {
        chats.increment();
        park(chatNanos, start);
        respond(out, 200, CHAT_ANSWER);
      }
      case "GET /v1/models" -> respond(out, 200, MODELS);
      default ->
          respond(
              out,
              404,
              ("{\"error\":{\"message\":\"no route " + request.method + " " + request.path
                      + "\"}}")
                  .getBytes(StandardCharsets.UTF_8));
    }
  }

  private static void park(long nanos, long since) {
    long wait = nanos - (System.nanoTime() - since);
    while (wait > 0) {
      LockSupport.parkNanos(wait);
      wait = nanos - (System.nanoTime() - since);
    }
  }

  private byte[] embeddingsBody(int n) {
    ByteArrayOutputStream out =
        new ByteArrayOutputStream(n * (vectorsBase64[0].length + 64) + 128);
    out.writeBytes("{\"object\":\"list\",\"data\":[".getBytes(StandardCharsets.US_ASCII));
    ByteBuffer head = ByteBuffer.allocate(UNIQUE_FLOATS * Float.BYTES)
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        out.write(',');
      }
      out.writeBytes(
          ("{\"object\":\"embedding\",\"index\":" + i + ",\"embedding\":\"")
              .getBytes(StandardCharsets.US_ASCII));
      long unique = served.getAndIncrement();
      head.clear();
      for (int f = 0; f < UNIQUE_FLOATS; f++) {
        // Deterministic, spread over [-0.06, 0.06): distinct for every served vector.
        long mixed = (unique * 0x9E3779B97F4A7C15L + f) * 0xBF58476D1CE4E5B9L;
        head.putFloat(((mixed >>> 40) / (float) (1 << 24) - 0.5f) * 0.12f);
      }
      byte[] base = vectorsBase64[(int) (unique % DISTINCT_VECTORS)];
      // 12 bytes are exactly 16 base64 characters, so the rest of the base encoding still fits.
      out.writeBytes(Base64.getEncoder().encode(head.array()));
      out.write(base, 16, base.length - 16);
      out.write('"');
      out.write('}');
    }
    out.writeBytes(
        ("],\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":"
                + n
                + ",\"total_tokens\":"
                + n
                + "}}")
            .getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  private static void respond(OutputStream out, int status, byte[] body) throws IOException {
    String head =
        "HTTP/1.1 " + status + (status == 200 ? " OK" : " Not Found")
            + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
  }

  private static final byte[] MODELS =
      "{\"object\":\"list\",\"data\":[]}".getBytes(StandardCharsets.US_ASCII);

  private static final byte[] CHAT_ANSWER =
      ("{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":0,"
              + "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":"
              + "{\"role\":\"assistant\",\"content\":\"The sources say so [1].\"},"
              + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":100,"
              + "\"completion_tokens\":7,\"total_tokens\":107}}")
          .getBytes(StandardCharsets.US_ASCII);

  /** One parsed HTTP/1.1 request; the body is read whole. */
  /** A request body, read into a buffer that the connection reuses (no garbage per request). */
  private static final class Body {
    byte[] bytes = new byte[64 * 1024];
    int length;

    void clear() {
      length = 0;
    }

    void readFrom(InputStream in, int n) throws IOException {
      if (length + n > bytes.length) {
        bytes = java.util.Arrays.copyOf(bytes, Math.max(length + n, bytes.length * 2));
      }
      int read = in.readNBytes(bytes, length, n);
      if (read != n) {
        throw new EOFException("body ended after " + read + " of " + n + " bytes");
      }
      length += n;
    }
  }

  private record Request(String method, String path, Body body, boolean close, long arrived) {
    /** Reads the next request, or returns null at a clean end of stream. */
    static @Nullable Request read(InputStream in, Body body) throws IOException {
      if (!firstByte(in)) {
        return null;
      }
      long arrived = System.nanoTime();
      String requestLine = line(in);
      String[] parts = requestLine.split(" ");
      if (parts.length != 3) {
        throw new IOException("bad request line: " + requestLine);
      }
      long length = 0;
      boolean chunked = false;
      boolean close = false;
      for (String header = line(in); !header.isEmpty(); header = line(in)) {
        int colon = header.indexOf(':');
        if (colon < 0) {
          continue;
        }
        String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = header.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Long.parseLong(value);
          case "transfer-encoding" -> chunked = value.equalsIgnoreCase("chunked");
          case "connection" -> close = value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      body.clear();
      if (chunked) {
        chunked(in, body);
      } else {
        body.readFrom(in, Math.toIntExact(length));
      }
      int query = parts[1].indexOf('?');
      return new Request(
          parts[0], query < 0 ? parts[1] : parts[1].substring(0, query), body, close, arrived);
    }

    private static void chunked(InputStream in, Body body) throws IOException {
      while (true) {
        String size = line(in);
        int semicolon = size.indexOf(';');
        int n = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
        if (n == 0) {
          while (!line(in).isEmpty()) {
            // trailers, ignored
          }
          return;
        }
        body.readFrom(in, n);
        line(in); // the CRLF after the chunk
      }
    }

    /** Waits for a request's first byte and leaves it unread; false if the stream ends first. */
    private static boolean firstByte(InputStream in) throws IOException {
      in.mark(1);
      if (in.read() < 0) {
        return false;
      }
      in.reset();
      return true;
    }

    /** One CRLF-terminated ISO-8859-1 line without its terminator. */
    private static String line(InputStream in) throws IOException {
      StringBuilder sb = new StringBuilder(64);
      while (true) {
        int b = in.read();
        if (b < 0) {
          throw new EOFException("connection closed inside a request");
        }
        if (b == '\n') {
          int end = sb.length();
          if (end > 0 && sb.charAt(end - 1) == '\r') {
            sb.setLength(end - 1);
          }
          return sb.toString();
        }
        if (sb.length() >= MAX_HEADER_BYTES) {
          throw new IOException("header line longer than " + MAX_HEADER_BYTES + " bytes");
        }
        sb.append((char) b);
      }
    }
  }

  private static int countInputs(Body request) throws IOException {
    try (JsonParser p = JSON.createParser(request.bytes, 0, request.length)) {
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
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    try {
      acceptor.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
