package io.ragengine.openai;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import io.ragengine.internal.Checks;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.ModelException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EmbeddingModel} for any OpenAI-compatible {@code /embeddings} endpoint.
 *
 * <pre>{@code
 * EmbeddingModel embeddings = OpenAiEmbeddingModel.builder()
 *     .client(openai)
 *     .model("text-embedding-3-small")
 *     .build();
 * List<float[]> vectors = embeddings.embed(List.of("first chunk", "second chunk"));
 * }</pre>
 *
 * <p>{@link #embed(List)} splits its texts into requests of at most {@link
 * Builder#maxBatchSize(int) maxBatchSize} texts and {@link Builder#maxTokensPerRequest(int)
 * maxTokensPerRequest} tokens (counted with {@code cl100k_base}), sent one after the other on the
 * calling thread. A text over {@link Builder#maxInputTokens(int) maxInputTokens} is rejected
 * before any request, or cut to the limit if the model was built with {@link
 * Builder#overlongInput(OverlongInput) overlongInput(TRUNCATE)}; never silently.
 *
 * <p>Vectors are requested as base64 ({@code encoding_format: base64}) and decoded straight from
 * little-endian float32 bytes into {@code float[]}: no JSON number is parsed. A server that
 * answers with JSON floats anyway is read as such, and one that rejects the base64 option makes
 * the model switch to JSON floats for good (logged once).
 *
 * <p>Retries, back-off, the circuit breaker and the handling of the API key are the {@link
 * OpenAiClient}'s. Inside a limiter call, a back-off in the second of several requests runs the
 * whole call again, first request included: give a limited call at most {@code maxBatchSize}
 * texts.
 *
 * <p>Thread-safe; build one per model and share it.
 */
public final class OpenAiEmbeddingModel implements EmbeddingModel {
  private static final Logger log = LoggerFactory.getLogger(OpenAiEmbeddingModel.class);

  public static final String DEFAULT_MODEL = "text-embedding-3-small";

  /** OpenAI's limit of inputs per request. */
  public static final int DEFAULT_MAX_BATCH_SIZE = 2048;

  /** OpenAI's limit of tokens per request, all inputs together. */
  public static final int DEFAULT_MAX_TOKENS_PER_REQUEST = 300_000;

  /** The input limit of OpenAI's embedding models. */
  public static final int DEFAULT_MAX_INPUT_TOKENS = 8191;

  static final String PATH = "embeddings";

  private static final Base64Variant BASE64 = Base64Variants.MIME_NO_LINEFEEDS.withPaddingAllowed();

  /** How vectors travel in the response. */
  public enum EncodingFormat {
    /** Base64 of little-endian float32: about a quarter of the bytes, and no number parsing. */
    BASE64,
    /** JSON arrays of numbers, for servers without base64 support. */
    FLOAT
  }

  /** What {@link #embed(List)} does with a text longer than {@code maxInputTokens}. */
  public enum OverlongInput {
    /** Throw {@link IllegalArgumentException} before any request; the default. */
    REJECT,
    /** Cut the text to its first {@code maxInputTokens} tokens. */
    TRUNCATE
  }

  private final OpenAiClient client;
  private final Endpoint endpoint;
  private final String model;
  private final @Nullable Integer requestedDimensions;
  private final int maxBatchSize;
  private final int maxInputTokens;
  private final int maxTokensPerRequest;
  private final EmbeddingBatcher batcher;
  private volatile EncodingFormat encodingFormat;
  /** 0 until known. */
  private volatile int dimension;

  private OpenAiEmbeddingModel(Builder b, OpenAiClient client, TokenCounter counter) {
    this.client = client;
    this.endpoint = client.endpoint(PATH);
    this.model = b.model;
    this.requestedDimensions = b.dimensions;
    this.maxBatchSize = b.maxBatchSize;
    this.maxInputTokens = b.maxInputTokens;
    this.maxTokensPerRequest = b.maxTokensPerRequest;
    this.encodingFormat = b.encodingFormat;
    this.batcher =
        new EmbeddingBatcher(
            maxBatchSize,
            maxTokensPerRequest,
            maxInputTokens,
            b.overlongInput == OverlongInput.TRUNCATE
                ? EmbeddingBatcher.Overlong.TRUNCATE
                : EmbeddingBatcher.Overlong.REJECT,
            counter);
    this.dimension = b.dimensions != null ? b.dimensions : knownDimension(model);
  }

  /** The native dimension of OpenAI's models, or 0. */
  static int knownDimension(String model) {
    return switch (model) {
      case "text-embedding-3-small", "text-embedding-ada-002" -> 1536;
      case "text-embedding-3-large" -> 3072;
      default -> 0;
    };
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

  @Override
  public int maxInputTokens() {
    return maxInputTokens;
  }

  @Override
  public int maxBatchSize() {
    return maxBatchSize;
  }

  /** The most tokens one request carries, all texts together. */
  public int maxTokensPerRequest() {
    return maxTokensPerRequest;
  }

  /** The format currently requested; {@link EncodingFormat#FLOAT} after a fallback. */
  public EncodingFormat encodingFormat() {
    return encodingFormat;
  }

  /**
   * The configured {@link Builder#dimensions(int) dimensions}, else the native dimension of
   * OpenAI's models, else the length of the vectors already received, else the length of a
   * vector fetched now for a one-word text.
   */
  @Override
  public int dimension() {
    int d = dimension;
    if (d == 0) {
      embed(List.of("dimension"));
      d = dimension;
    }
    return d;
  }

  /**
   * Opens a connection and keeps it in the pool, and checks the key with a {@code GET models}
   * that costs no tokens.
   *
   * @throws ModelException if the provider cannot be reached or refuses the key
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

  /**
   * {@inheritDoc}
   *
   * <p>An empty text is refused before any request: OpenAI answers a batch holding one with a 400
   * that names no text.
   *
   * @throws IllegalArgumentException also if a text is empty, naming its index
   */
  @Override
  public List<float[]> embed(List<String> texts) {
    Objects.requireNonNull(texts, "texts");
    int i = 0;
    for (String t : texts) {
      if (t == null) {
        throw new NullPointerException("texts[" + i + "]");
      }
      if (t.isEmpty()) {
        throw new IllegalArgumentException(
            "texts["
                + i
                + "]: empty (expected: at least one character; OpenAI refuses a batch holding an"
                + " empty text with 400 \"'$.input' is invalid\", and would fail every text of"
                + " it)");
      }
      i++;
    }
    List<String> inputs = List.copyOf(texts);
    if (inputs.isEmpty()) {
      return List.of();
    }
    EmbeddingBatcher.Plan plan = batcher.plan(inputs);
    float[][] out = new float[inputs.size()][];
    for (int b = 0; b < plan.batchCount(); b++) {
      int start = plan.start(b);
      List<String> batch = plan.texts().subList(start, plan.end(b));
      float[][] vectors = embedBatch(batch);
      System.arraycopy(vectors, 0, out, start, vectors.length);
    }
    return java.util.Collections.unmodifiableList(Arrays.asList(out));
  }

  private float[][] embedBatch(List<String> batch) {
    EncodingFormat format = encodingFormat;
    try {
      return send(batch, format);
    } catch (ModelException e) {
      if (format == EncodingFormat.BASE64 && rejectsBase64(e) && encodingFormat == format) {
        encodingFormat = EncodingFormat.FLOAT;
        log.info(
            "{} rejected encoding_format=base64 (HTTP {}); model {} now asks for JSON floats",
            endpoint.displayName(),
            e.statusCode(),
            model);
        return send(batch, EncodingFormat.FLOAT);
      }
      throw e;
    }
  }

  private static boolean rejectsBase64(ModelException e) {
    int s = e.statusCode();
    String m = e.providerMessage().toLowerCase(Locale.ROOT);
    return (s == 400 || s == 422) && (m.contains("encoding_format") || m.contains("base64"));
  }

  private float[][] send(List<String> batch, EncodingFormat format) {
    RequestBody body = requestBody(batch, format);
    Redactor redactor = client.redactor().withInputs(batch);
    return endpoint.execute(
        model,
        attempt -> {
          Request request =
              client.authorize(new Request.Builder().url(endpoint.url()).post(body)).build();
          try (Response response = client.http().newCall(request).execute()) {
            if (!response.isSuccessful()) {
              throw endpoint.httpError(model, response, redactor);
            }
            return parse(response.body().byteStream(), batch.size(), redactor);
          }
        });
  }

  private RequestBody requestBody(List<String> batch, EncodingFormat format) {
    long chars = 64;
    for (String t : batch) {
      chars += t.length() + 8;
    }
    Json.Buffer bytes = new Json.Buffer(chars);
    try (JsonGenerator g = Json.FACTORY.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeStringField("model", model);
      g.writeArrayFieldStart("input");
      for (String t : batch) {
        Json.writeString(g, t);
      }
      g.writeEndArray();
      g.writeStringField("encoding_format", format == EncodingFormat.BASE64 ? "base64" : "float");
      if (requestedDimensions != null) {
        g.writeNumberField("dimensions", requestedDimensions.intValue());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException("cannot write an embedding request", e);
    }
    return bytes.toRequestBody();
  }

  /**
   * Reads {@code {"data": [{"index": i, "embedding": "<base64>" | [floats]}, ...]}} as it streams
   * in, one vector per input, placed by {@code index} (by position when absent).
   */
  float[][] parse(InputStream in, int expected, Redactor redactor) throws IOException {
    float[][] vectors = new float[expected][];
    boolean sawData = false;
    int received = 0;
    try (JsonParser p = Json.FACTORY.createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw bad("the response is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken value = p.nextToken();
        if ("data".equals(field)) {
          if (value != JsonToken.START_ARRAY) {
            throw bad("\"data\" is not an array");
          }
          sawData = true;
          for (int pos = 0; p.nextToken() != JsonToken.END_ARRAY; pos++) {
            if (p.currentToken() != JsonToken.START_OBJECT) {
              throw bad("data[" + pos + "] is not an object");
            }
            int index = -1;
            float[] vector = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String name = p.currentName();
              JsonToken t = p.nextToken();
              if ("index".equals(name) && t == JsonToken.VALUE_NUMBER_INT) {
                index = p.getIntValue();
              } else if ("embedding".equals(name)) {
                if (t == JsonToken.VALUE_STRING) {
                  vector = decodeBase64(p, pos);
                } else if (t == JsonToken.START_ARRAY) {
                  vector = readFloats(p, pos);
                } else {
                  throw bad("data[" + pos + "].embedding is neither base64 nor an array");
                }
              } else {
                p.skipChildren();
              }
            }
            if (vector == null) {
              throw bad("data[" + pos + "] has no embedding");
            }
            int at = index >= 0 ? index : pos;
            if (at >= expected) {
              throw bad(
                  "more embeddings than inputs (index " + at + ", expected " + expected + ")");
            }
            if (vectors[at] != null) {
              throw bad("two embeddings for index " + at);
            }
            vectors[at] = vector;
            received++;
          }
        } else if ("error".equals(field) && value != JsonToken.VALUE_NULL) {
          JsonNode error = p.readValueAsTree();
          String excerpt =
              Endpoint.excerpt(
                  redactor.redact(
                      Endpoint.ProviderError.parse("{\"error\":" + error + "}").message()));
          throw new ModelException(
              endpoint.displayName() + " (model " + model + ") failed: provider error: " + excerpt,
              ModelException.NO_STATUS,
              excerpt,
              false,
              null,
              null);
        } else {
          p.skipChildren();
        }
      }
    } catch (JsonEOFException e) {
      throw new ModelException(
          endpoint.displayName() + " (model " + model + "): the response ended early", true, e);
    } catch (JsonProcessingException e) {
      String where =
          e.getLocation() == null
              ? ""
              : " at line "
                  + e.getLocation().getLineNr()
                  + ", column "
                  + e.getLocation().getColumnNr();
      throw bad("malformed JSON" + where);
    }
    if (!sawData) {
      throw bad("no \"data\"");
    }
    if (received != expected) {
      throw bad("expected " + expected + " embeddings, got " + received);
    }
    int d = dimension;
    int first = vectors[0].length;
    int want = d != 0 ? d : first;
    for (int i = 0; i < vectors.length; i++) {
      if (vectors[i].length != want) {
        throw bad(
            "embedding "
                + i
                + " has "
                + vectors[i].length
                + " floats (expected: "
                + want
                + (d != 0 ? ", the model's dimension)" : ", as the first)"));
      }
    }
    if (d == 0) {
      dimension = want;
    }
    return vectors;
  }

  private ModelException bad(String what) {
    return endpoint.badResponse(model, what, null);
  }

  private float[] decodeBase64(JsonParser p, int pos) throws IOException {
    byte[] bytes;
    try {
      bytes = p.getBinaryValue(BASE64);
    } catch (JsonEOFException e) {
      throw e; // the body ended inside the string: reported as cut off
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw bad("data[" + pos + "].embedding is not valid base64");
    }
    if (bytes.length == 0 || bytes.length % Float.BYTES != 0) {
      throw bad(
          "data[" + pos + "].embedding decodes to " + bytes.length + " bytes, not float32 values");
    }
    float[] v = new float[bytes.length / Float.BYTES];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    return v;
  }

  private float[] readFloats(JsonParser p, int pos) throws IOException {
    int d = dimension;
    float[] v = new float[d > 0 ? d : 256];
    int n = 0;
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t != JsonToken.VALUE_NUMBER_FLOAT && t != JsonToken.VALUE_NUMBER_INT) {
        throw bad("data[" + pos + "].embedding holds a non-number");
      }
      if (n == v.length) {
        v = Arrays.copyOf(v, v.length * 2);
      }
      v[n++] = p.getFloatValue();
    }
    if (n == 0) {
      throw bad("data[" + pos + "].embedding is empty");
    }
    return n == v.length ? v : Arrays.copyOf(v, n);
  }

  @Override
  public String toString() {
    return "OpenAiEmbeddingModel[model="
        + model
        + ", maxBatchSize="
        + maxBatchSize
        + ", maxTokensPerRequest="
        + maxTokensPerRequest
        + ", maxInputTokens="
        + maxInputTokens
        + ", encodingFormat="
        + encodingFormat
        + ", client="
        + client
        + "]";
  }

  /**
   * Builds an {@link OpenAiEmbeddingModel}. Set either {@link #client(OpenAiClient)} (to share one
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
    private @Nullable Integer dimensions;
    private int maxBatchSize = DEFAULT_MAX_BATCH_SIZE;
    private int maxTokensPerRequest = DEFAULT_MAX_TOKENS_PER_REQUEST;
    private int maxInputTokens = DEFAULT_MAX_INPUT_TOKENS;
    private OverlongInput overlongInput = OverlongInput.REJECT;
    private EncodingFormat encodingFormat = EncodingFormat.BASE64;
    private TokenCounter tokenCounter = TokenCounter.cl100k();

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

    /**
     * Asks for vectors of this many dimensions (OpenAI's {@code dimensions}, supported by the
     * {@code text-embedding-3} models) and expects them. Default: not sent; the model's native
     * dimension.
     */
    public Builder dimensions(int dimensions) {
      this.dimensions = Checks.positive(dimensions, "dimensions");
      return this;
    }

    /** The most texts per request. Default {@value #DEFAULT_MAX_BATCH_SIZE}. */
    public Builder maxBatchSize(int maxBatchSize) {
      this.maxBatchSize = Checks.positive(maxBatchSize, "maxBatchSize");
      return this;
    }

    /**
     * The most tokens per request, all texts together. Default {@value
     * #DEFAULT_MAX_TOKENS_PER_REQUEST}.
     */
    public Builder maxTokensPerRequest(int maxTokensPerRequest) {
      this.maxTokensPerRequest = Checks.positive(maxTokensPerRequest, "maxTokensPerRequest");
      return this;
    }

    /** The most tokens one text may have. Default {@value #DEFAULT_MAX_INPUT_TOKENS}. */
    public Builder maxInputTokens(int maxInputTokens) {
      this.maxInputTokens = Checks.positive(maxInputTokens, "maxInputTokens");
      return this;
    }

    /** What to do with a text over {@link #maxInputTokens}. Default {@link OverlongInput#REJECT}. */
    public Builder overlongInput(OverlongInput overlongInput) {
      this.overlongInput = Objects.requireNonNull(overlongInput, "overlongInput");
      return this;
    }

    /**
     * How vectors are requested. Default {@link EncodingFormat#BASE64}; choose {@link
     * EncodingFormat#FLOAT} for a server known to lack base64 (the model also falls back by
     * itself when the server rejects it).
     */
    public Builder encodingFormat(EncodingFormat encodingFormat) {
      this.encodingFormat = Objects.requireNonNull(encodingFormat, "encodingFormat");
      return this;
    }

    /** For tests: the token counter. Default {@code cl100k_base}. */
    Builder tokenCounter(TokenCounter tokenCounter) {
      this.tokenCounter = Objects.requireNonNull(tokenCounter, "tokenCounter");
      return this;
    }

    /**
     * Returns the model.
     *
     * @throws IllegalArgumentException if {@code maxInputTokens > maxTokensPerRequest}
     * @throws IllegalStateException if both a client and a base URL or key were set, or none of
     *     them
     */
    public OpenAiEmbeddingModel build() {
      if (maxInputTokens > maxTokensPerRequest) {
        throw new IllegalArgumentException(
            "maxInputTokens: "
                + maxInputTokens
                + " (expected: <= maxTokensPerRequest "
                + maxTokensPerRequest
                + ")");
      }
      return new OpenAiEmbeddingModel(
          this, OpenAiChatModel.resolveClient(client, baseUrl, apiKey), tokenCounter);
    }
  }
}
