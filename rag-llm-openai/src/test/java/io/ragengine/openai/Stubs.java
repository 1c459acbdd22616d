package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Bodies an OpenAI-compatible server sends, and the test seams' fakes. */
final class Stubs {
  static final String API_KEY = "sk-test-0123456789abcdefSECRETKEY";

  private Stubs() {}

  /** A WireMock server on loopback only, on a free port. */
  static WireMockServer startServer() {
    WireMockServer server =
        new WireMockServer(
            options().dynamicPort().bindAddress("127.0.0.1").containerThreads(40).jettyAcceptors(2));
    server.start();
    return server;
  }

  static String baseUrl(WireMockServer server) {
    return "http://127.0.0.1:" + server.port() + "/v1";
  }

  /** A client on {@code server} that records back-offs instead of sleeping. */
  static OpenAiClient.Builder client(WireMockServer server, RecordingSleeper sleeper) {
    return OpenAiClient.builder()
        .baseUrl(baseUrl(server))
        .apiKey(API_KEY)
        .sleeper(sleeper)
        .readTimeout(Duration.ofSeconds(10));
  }

  static String completion(String text, String finishReason) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("id", "chatcmpl-1").put("object", "chat.completion").put("model", "gpt-test-2025");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("message").put("role", "assistant").put("content", text);
    choice.put("finish_reason", finishReason);
    root.putObject("usage")
        .put("prompt_tokens", 11)
        .put("completion_tokens", 7)
        .put("total_tokens", 18);
    return root.toString();
  }

  /** Splits at spaces, keeping each space with the word that follows. */
  static List<String> tokens(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 1; i <= text.length(); i++) {
      if (i == text.length() || text.charAt(i) == ' ') {
        out.add(text.substring(start, i));
        start = i;
      }
    }
    return out;
  }

  static String chunk(String token) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("id", "chatcmpl-1").put("object", "chat.completion.chunk").put("model", "gpt-test-2025");
    ObjectNode choice = root.putArray("choices").addObject();
    choice.put("index", 0);
    choice.putObject("delta").put("content", token);
    choice.putNull("finish_reason");
    return "data: " + root + "\n\n";
  }

  static String finishChunk(String finishReason) {
    return "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-test-2025\",\"choices\":[{\"index\":0,"
        + "\"delta\":{},\"finish_reason\":\""
        + finishReason
        + "\"}]}\n\n";
  }

  static final String USAGE_CHUNK =
      "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-test-2025\",\"choices\":[],"
          + "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7,\"total_tokens\":18}}\n\n";

  static final String DONE = "data: [DONE]\n\n";

  /** A complete event stream for {@code text}. */
  static String stream(String text) {
    StringBuilder sb = new StringBuilder(": keep-alive comment\n\n");
    sb.append("data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},"
        + "\"finish_reason\":null}]}\n\n");
    for (String t : tokens(text)) {
      sb.append(chunk(t));
    }
    return sb.append(finishChunk("stop")).append(USAGE_CHUNK).append(DONE).toString();
  }

  static String error(String message, String type) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.putObject("error").put("message", message).put("type", type).putNull("param").put("code", type);
    return root.toString();
  }

  static String base64(float[] v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : v) {
      b.putFloat(f);
    }
    return Base64.getEncoder().encodeToString(b.array());
  }

  static String embeddings(List<float[]> vectors, boolean base64) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("object", "list").put("model", "embed-test");
    ArrayNode data = root.putArray("data");
    for (int i = 0; i < vectors.size(); i++) {
      ObjectNode item = data.addObject().put("object", "embedding").put("index", i);
      if (base64) {
        item.put("embedding", base64(vectors.get(i)));
      } else {
        ArrayNode arr = item.putArray("embedding");
        for (float f : vectors.get(i)) {
          arr.add(f);
        }
      }
    }
    root.putObject("usage").put("prompt_tokens", 5).put("total_tokens", 5);
    return root.toString();
  }

  static List<float[]> vectors(int count, int dimension, int seed) {
    java.util.Random r = new java.util.Random(seed);
    List<float[]> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      float[] v = new float[dimension];
      for (int j = 0; j < dimension; j++) {
        v[j] = (float) r.nextGaussian();
      }
      out.add(v);
    }
    return out;
  }

  /** Records each back-off instead of sleeping. Thread-safe. */
  static final class RecordingSleeper implements Sleeper {
    final List<Duration> slept = new CopyOnWriteArrayList<>();

    @Override
    public void sleep(Duration duration) {
      slept.add(duration);
    }
  }

  /** A clock that moves only when told. Thread-safe. */
  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
