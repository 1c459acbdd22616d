package io.ragengine.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.ragengine.internal.Checks;
import io.ragengine.model.ChatModel;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.FinishReason;
import io.ragengine.model.Message;
import io.ragengine.model.ModelException;
import io.ragengine.model.ResponseFormat;
import io.ragengine.model.TokenUsage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.sse.EventSource;
import okhttp3.sse.EventSourceListener;
import okhttp3.sse.EventSources;
import org.jspecify.annotations.Nullable;

/**
 * A {@link ChatModel} for any OpenAI-compatible {@code /chat/completions} endpoint (OpenAI,
 * Azure-style gateways, vLLM, Ollama, LM Studio), blocking or streamed over server-sent events.
 *
 * <pre>{@code
 * ChatModel chat = OpenAiChatModel.builder().client(openai).model("gpt-4o-mini").build();
 * ChatResponse answer = chat.chat(ChatRequest.of("Who founded Acme?"));
 * }</pre>
 *
 * <p>Retries, back-off, the circuit breaker and the handling of the API key are the {@link
 * OpenAiClient}'s; see there. A streamed call is retried only while no token has been delivered.
 * A stream that ends without its final event ({@code [DONE]} or a finish reason) fails with a
 * {@link ModelException}; so do malformed or incomplete answers.
 *
 * <p>Thread-safe; build one per model and share it.
 */
public final class OpenAiChatModel implements ChatModel {
  /** The model used when neither the builder nor the request names one. */
  public static final String DEFAULT_MODEL = "gpt-4o-mini";

  static final String PATH = "chat/completions";
  private static final MediaType EVENT_STREAM = MediaType.get("text/event-stream");

  /** The request field that carries {@link ChatRequest#maxOutputTokens()}. */
  public enum MaxTokensField {
    /** {@code max_tokens}: understood by every OpenAI-compatible server; the default. */
    MAX_TOKENS("max_tokens"),
    /** {@code max_completion_tokens}: required by OpenAI's reasoning models. */
    MAX_COMPLETION_TOKENS("max_completion_tokens");

    final String json;

    MaxTokensField(String json) {
      this.json = json;
    }
  }

  private final OpenAiClient client;
  private final Endpoint endpoint;
  private final String model;
  private final @Nullable Double temperature;
  private final @Nullable Integer maxOutputTokens;
  private final MaxTokensField maxTokensField;
  private final boolean streamUsageEnabled;

  private OpenAiChatModel(Builder b, OpenAiClient client) {
    this.client = client;
    this.endpoint = client.endpoint(PATH);
    this.model = b.model;
    this.temperature = b.temperature;
    this.maxOutputTokens = b.maxOutputTokens;
    this.maxTokensField = b.maxTokensField;
    this.streamUsageEnabled = b.streamUsageEnabled;
  }

  /** Returns a new builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The client whose connections and resilience settings this model uses. */
  public OpenAiClient client() {
    return client;
  }

  @Override
  public String modelName() {
    return model;
  }

  /**
   * Opens a connection to the provider and keeps it in the pool, and checks the key with a {@code
   * GET models} that costs no tokens.
   *
   * @throws ModelException if the provider cannot be reached or refuses the key (401, 403)
   */
  @Override
  public void warmup() {
    client.warmup(model, 1);
  }

  /**
   * {@link #warmup()} with up to {@code connections} connections opened at once (at most the
   * client's {@code maxConnections}), so that as many first calls find one ready.
   *
   * @throws ModelException if the provider refuses the key (401, 403), or no connection could be
   *     opened
   * @throws IllegalArgumentException if {@code connections} is not positive
   */
  @Override
  public void warmup(int connections) {
    client.warmup(model, connections);
  }

  @Override
  public ChatResponse chat(ChatRequest request) {
    Objects.requireNonNull(request, "request");
    String m = request.model().orElse(model);
    RequestBody body = requestBody(request, m, false);
    Redactor redactor = client.redactor().withInputs(contents(request));
    return endpoint.execute(
        m,
        attempt -> {
          Request httpRequest =
              client.authorize(new Request.Builder().url(endpoint.url()).post(body)).build();
          try (Response response = client.http().newCall(httpRequest).execute()) {
            if (!response.isSuccessful()) {
              throw endpoint.httpError(m, response, redactor);
            }
            return parseCompletion(m, response.body().string());
          }
        });
  }

  @Override
  public ChatResponse chat(ChatRequest request, ChatStreamListener listener) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(listener, "listener");
    String m = request.model().orElse(model);
    RequestBody body = requestBody(request, m, true);
    Redactor redactor = client.redactor().withInputs(contents(request));
    boolean[] delivered = {false};
    ChatResponse response;
    try {
      response =
          endpoint.execute(
              m,
              attempt -> {
                Request httpRequest =
                    client
                        .authorize(
                            new Request.Builder()
                                .url(endpoint.url())
                                .header("Accept", EVENT_STREAM.toString())
                                .post(body))
                        .build();
                okhttp3.Call call = client.http().newCall(httpRequest);
                try (Response r = call.execute()) {
                  if (!r.isSuccessful()) {
                    throw endpoint.httpError(m, r, redactor);
                  }
                  // A stream may run long: once it has started, only the read timeout applies.
                  call.timeout().cancel();
                  return readStream(m, r, listener, delivered, redactor);
                }
              });
    } catch (ListenerFailure e) {
      throw e.rethrow();
    } catch (ModelException e) {
      listener.onError(e);
      throw e;
    }
    listener.onComplete(response);
    return response;
  }

  private static List<String> contents(ChatRequest request) {
    List<String> out = new ArrayList<>(request.messages().size());
    for (Message msg : request.messages()) {
      out.add(msg.content());
    }
    return out;
  }

  private RequestBody requestBody(ChatRequest request, String m, boolean stream) {
    long chars = 256;
    for (Message msg : request.messages()) {
      chars += msg.content().length() + 32;
    }
    Json.Buffer bytes = new Json.Buffer(chars);
    try (JsonGenerator g = Json.FACTORY.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeStringField("model", m);
      g.writeArrayFieldStart("messages");
      for (Message msg : request.messages()) {
        g.writeStartObject();
        g.writeStringField("role", msg.role().name().toLowerCase(Locale.ROOT));
        g.writeFieldName("content");
        Json.writeString(g, msg.content());
        g.writeEndObject();
      }
      g.writeEndArray();
      if (request.temperature().isPresent()) {
        g.writeNumberField("temperature", request.temperature().getAsDouble());
      } else if (temperature != null) {
        g.writeNumberField("temperature", temperature.doubleValue());
      }
      if (request.maxOutputTokens().isPresent()) {
        g.writeNumberField(maxTokensField.json, request.maxOutputTokens().getAsInt());
      } else if (maxOutputTokens != null) {
        g.writeNumberField(maxTokensField.json, maxOutputTokens.intValue());
      }
      if (!request.stop().isEmpty()) {
        g.writeArrayFieldStart("stop");
        for (String s : request.stop()) {
          g.writeString(s);
        }
        g.writeEndArray();
      }
      if (request.seed().isPresent()) {
        g.writeNumberField("seed", request.seed().getAsLong());
      }
      if (request.responseFormat() == ResponseFormat.JSON_OBJECT) {
        g.writeObjectFieldStart("response_format");
        g.writeStringField("type", "json_object");
        g.writeEndObject();
      }
      if (stream) {
        g.writeBooleanField("stream", true);
        if (streamUsageEnabled) {
          g.writeObjectFieldStart("stream_options");
          g.writeBooleanField("include_usage", true);
          g.writeEndObject();
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("cannot write a chat request", e);
    }
    return bytes.toRequestBody();
  }

  private JsonNode parseJson(String m, String text, String what) {
    try {
      JsonNode root = Json.MAPPER.readTree(text);
      if (root == null || !root.isObject()) {
        throw endpoint.badResponse(m, what + " is not a JSON object", null);
      }
      return root;
    } catch (JsonProcessingException e) {
      String where =
          e.getLocation() == null
              ? ""
              : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw endpoint.badResponse(m, "malformed JSON in " + what + where, null);
    }
  }

  /** A provider error inside a 2xx answer or a stream event. */
  private ModelException errorInBody(String m, JsonNode root, Redactor redactor) {
    Endpoint.ProviderError error = Endpoint.ProviderError.parse(root.toString());
    String excerpt = Endpoint.excerpt(redactor.redact(error.message()));
    return new ModelException(
        endpoint.displayName() + " (model " + m + ") failed: provider error: " + excerpt,
        ModelException.NO_STATUS,
        excerpt,
        false,
        null,
        null);
  }

  ChatResponse parseCompletion(String m, String text) {
    JsonNode root = parseJson(m, text, "the response");
    if (root.hasNonNull("error")) {
      throw errorInBody(m, root, client.redactor());
    }
    JsonNode choices = root.get("choices");
    if (choices == null || !choices.isArray() || choices.isEmpty()) {
      throw endpoint.badResponse(m, "no \"choices\"", null);
    }
    JsonNode choice = choices.get(0);
    JsonNode message = choice.get("message");
    if (message == null || !message.isObject()) {
      throw endpoint.badResponse(m, "\"choices[0]\" has no \"message\"", null);
    }
    JsonNode content = message.get("content");
    String answer;
    if (content == null || content.isNull()) {
      answer = ""; // a refusal or a tool call: no text
    } else if (content.isTextual()) {
      answer = content.asText();
    } else {
      throw endpoint.badResponse(m, "\"choices[0].message.content\" is not a string", null);
    }
    return new ChatResponse(
        answer,
        finishReason(choice.get("finish_reason")),
        usage(root.get("usage")),
        modelOf(root, m));
  }

  private static String modelOf(JsonNode root, String fallback) {
    JsonNode n = root.get("model");
    return n != null && n.isTextual() && !n.asText().isBlank() ? n.asText() : fallback;
  }

  static FinishReason finishReason(@Nullable JsonNode n) {
    if (n == null || !n.isTextual()) {
      return FinishReason.UNKNOWN;
    }
    return switch (n.asText()) {
      case "stop", "eos", "stop_sequence", "end_turn" -> FinishReason.STOP;
      case "length", "max_tokens" -> FinishReason.LENGTH;
      case "content_filter" -> FinishReason.CONTENT_FILTER;
      case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
      default -> FinishReason.UNKNOWN;
    };
  }

  static TokenUsage usage(@Nullable JsonNode n) {
    if (n == null || !n.isObject()) {
      return TokenUsage.UNKNOWN;
    }
    int in = Math.max(0, n.path("prompt_tokens").asInt(0));
    int out = Math.max(0, n.path("completion_tokens").asInt(0));
    int total = Math.max(0, n.path("total_tokens").asInt(in + out));
    return new TokenUsage(in, out, total);
  }

  private ChatResponse readStream(
      String m, Response response, ChatStreamListener listener, boolean[] delivered, Redactor redactor)
      throws IOException {
    MediaType type = response.body().contentType();
    if (type != null && type.subtype().equalsIgnoreCase("json")) {
      // A server that ignores "stream": the whole answer at once.
      ChatResponse whole = parseCompletion(m, response.body().string());
      if (!whole.text().isEmpty()) {
        delivered[0] = true;
        deliver(listener, whole.text());
      }
      return whole;
    }
    StreamReader reader = new StreamReader(m, listener, delivered, redactor);
    EventSources.processResponse(response, reader);
    return reader.result();
  }

  private static void deliver(ChatStreamListener listener, String token) {
    try {
      listener.onToken(token);
    } catch (RuntimeException | Error e) {
      throw new ListenerFailure(e);
    }
  }

  /** Collects one streamed answer. Called on the reading thread only. */
  private final class StreamReader extends EventSourceListener {
    private final String m;
    private final ChatStreamListener listener;
    private final boolean[] delivered;
    private final Redactor redactor;
    private final StringBuilder text = new StringBuilder();
    private @Nullable FinishReason finishReason;
    private TokenUsage usage = TokenUsage.UNKNOWN;
    private @Nullable String reportedModel;
    private boolean done;
    private boolean opened;
    private @Nullable ListenerFailure listenerFailure;
    private @Nullable ModelException failure;
    private @Nullable Throwable ioFailure;

    StreamReader(String m, ChatStreamListener listener, boolean[] delivered, Redactor redactor) {
      this.m = m;
      this.listener = listener;
      this.delivered = delivered;
      this.redactor = redactor;
    }

    @Override
    public void onOpen(EventSource source, Response response) {
      opened = true;
    }

    @Override
    public void onEvent(EventSource source, @Nullable String id, @Nullable String type, String data) {
      if (done || failure != null || listenerFailure != null) {
        return;
      }
      if (data.strip().equals("[DONE]")) {
        done = true;
        return;
      }
      JsonNode root;
      try {
        root = parseJson(m, data, "a stream event");
      } catch (ModelException e) {
        failure = e;
        source.cancel();
        return;
      }
      if (root.hasNonNull("error")) {
        failure = errorInBody(m, root, redactor);
        source.cancel();
        return;
      }
      JsonNode model = root.get("model");
      if (model != null && model.isTextual() && !model.asText().isBlank()) {
        reportedModel = model.asText();
      }
      JsonNode u = root.get("usage");
      if (u != null && u.isObject()) {
        usage = usage(u);
      }
      JsonNode choices = root.get("choices");
      if (choices == null || !choices.isArray() || choices.isEmpty()) {
        return; // the usage event, or a keep-alive
      }
      JsonNode choice = choices.get(0);
      JsonNode content = choice.path("delta").get("content");
      if (content != null && content.isTextual() && !content.asText().isEmpty()) {
        String token = content.asText();
        text.append(token);
        delivered[0] = true;
        try {
          deliver(listener, token);
        } catch (ListenerFailure e) {
          listenerFailure = e;
          source.cancel();
          return;
        }
      }
      JsonNode finish = choice.get("finish_reason");
      if (finish != null && finish.isTextual()) {
        finishReason = finishReason(finish);
      }
    }

    @Override
    public void onFailure(EventSource source, @Nullable Throwable t, @Nullable Response response) {
      if (failure == null && listenerFailure == null && !done) {
        ioFailure = t != null ? t : new IOException("stream failed");
      }
    }

    ChatResponse result() throws IOException {
      if (listenerFailure != null) {
        throw listenerFailure;
      }
      ModelException f = failure;
      Throwable io = ioFailure;
      if (f == null && io != null) {
        if (io instanceof IOException ioe) {
          f = endpoint.ioFailure(m, ioe);
        } else if (opened) {
          // OkHttp's event reader fails this way on an event cut off by the end of the body.
          f =
              new ModelException(
                  endpoint.displayName()
                      + " (model "
                      + m
                      + "): the stream ended before the answer was complete (cut inside an"
                      + " event)",
                  true,
                  io);
        } else {
          f = endpoint.badResponse(m, "not an event stream (" + io.getMessage() + ")", io);
        }
      }
      if (f == null && !done && finishReason == null) {
        f =
            new ModelException(
                endpoint.displayName()
                    + " (model "
                    + m
                    + "): the stream ended before the answer was complete (no finish reason, no"
                    + " [DONE])",
                true,
                null);
      }
      if (f != null) {
        if (delivered[0]) {
          // Tokens already went to the listener: a retry would deliver them twice.
          throw new FinalModelException(
              f.getMessage() + " after " + text.length() + " chars were delivered",
              f.statusCode(),
              f.providerMessage(),
              f.retryable(),
              null,
              f);
        }
        throw f;
      }
      return new ChatResponse(
          text.toString(),
          finishReason == null ? FinishReason.UNKNOWN : finishReason,
          usage,
          reportedModel == null ? m : reportedModel);
    }
  }

  /** Carries an exception thrown by the caller's listener out of the retry loop, unchanged. */
  private static final class ListenerFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ListenerFailure(Throwable cause) {
      super(null, cause, false, false);
    }

    RuntimeException rethrow() {
      Throwable c = getCause();
      if (c instanceof Error e) {
        throw e;
      }
      return (RuntimeException) Objects.requireNonNull(c);
    }
  }

  @Override
  public String toString() {
    return "OpenAiChatModel[model=" + model + ", client=" + client + "]";
  }

  /**
   * Builds an {@link OpenAiChatModel}. Set either {@link #client(OpenAiClient)} (to share one
   * client between models, the recommended way) or {@link #baseUrl}/{@link #apiKey} (a private
   * client with default settings, which {@code model.client().close()} closes; the model itself
   * holds nothing else to close).
   *
   * <p>Not thread-safe. {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private @Nullable OpenAiClient client;
    private @Nullable String baseUrl;
    private @Nullable String apiKey;
    private String model = DEFAULT_MODEL;
    private @Nullable Double temperature;
    private @Nullable Integer maxOutputTokens;
    private MaxTokensField maxTokensField = MaxTokensField.MAX_TOKENS;
    private boolean streamUsageEnabled = true;

    private Builder() {}

    /** The shared client to send requests through. */
    public Builder client(OpenAiClient client) {
      this.client = Objects.requireNonNull(client, "client");
      return this;
    }

    /**
     * Shortcut for a private client: see {@link OpenAiClient.Builder#baseUrl(String)}.
     *
     * @throws IllegalArgumentException as {@link OpenAiClient.Builder#baseUrl(String)} does
     */
    public Builder baseUrl(String baseUrl) {
      // Checked here, so a bad URL fails on this line rather than in build().
      this.baseUrl = OpenAiClient.parseBaseUrl(baseUrl).toString();
      return this;
    }

    /**
     * Shortcut for a private client: see {@link OpenAiClient.Builder#apiKey(String)}.
     *
     * @throws IllegalArgumentException as {@link OpenAiClient.Builder#apiKey(String)} does
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = OpenAiClient.headerValue(Checks.notBlank(apiKey, "apiKey"), "apiKey");
      return this;
    }

    /** The model, as the provider names it. Default {@value #DEFAULT_MODEL}. */
    public Builder model(String model) {
      this.model = Checks.notBlank(model, "model");
      return this;
    }

    /** The temperature for requests that set none. Default: not sent. */
    public Builder temperature(double temperature) {
      if (!(temperature >= 0 && temperature <= 2)) {
        throw new IllegalArgumentException(
            "temperature: " + temperature + " (expected: in [0, 2])");
      }
      this.temperature = temperature;
      return this;
    }

    /** The output limit for requests that set none. Default: not sent. */
    public Builder maxOutputTokens(int maxOutputTokens) {
      this.maxOutputTokens = Checks.positive(maxOutputTokens, "maxOutputTokens");
      return this;
    }

    /** The field that carries the output limit. Default {@link MaxTokensField#MAX_TOKENS}. */
    public Builder maxTokensField(MaxTokensField field) {
      this.maxTokensField = Objects.requireNonNull(field, "field");
      return this;
    }

    /**
     * Whether a streamed request asks for token usage ({@code stream_options.include_usage}).
     * Default true; turn it off for servers that reject the option.
     */
    public Builder streamUsageEnabled(boolean enabled) {
      this.streamUsageEnabled = enabled;
      return this;
    }

    /**
     * Returns the model.
     *
     * @throws IllegalStateException if both a client and a base URL or key were set, or none of
     *     them
     */
    public OpenAiChatModel build() {
      return new OpenAiChatModel(this, resolveClient(client, baseUrl, apiKey));
    }
  }

  static OpenAiClient resolveClient(
      @Nullable OpenAiClient client, @Nullable String baseUrl, @Nullable String apiKey) {
    if (client != null) {
      if (baseUrl != null || apiKey != null) {
        throw new IllegalStateException(
            "set either client or baseUrl/apiKey: the client already has its own");
      }
      return client;
    }
    if (baseUrl == null && apiKey == null) {
      // Nothing set at all: the private client would call OpenAI with no key, and every call
      // would fail with a 401.
      throw new IllegalStateException(
          "client: not set (expected: client(..) with a shared OpenAiClient, or baseUrl(..) and/or"
              + " apiKey(..) for a private one; with neither, requests would go to "
              + OpenAiClient.DEFAULT_BASE_URL
              + " with no key)");
    }
    OpenAiClient.Builder b = OpenAiClient.builder();
    if (baseUrl != null) {
      b.baseUrl(baseUrl);
    }
    if (apiKey != null) {
      b.apiKey(apiKey);
    }
    return b.build();
  }
}
