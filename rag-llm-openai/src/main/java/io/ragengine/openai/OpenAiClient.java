package io.ragengine.openai;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.ragengine.internal.Checks;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.EventListener;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import io.ragengine.model.ModelException;
import java.io.IOException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection to one OpenAI-compatible provider: its base URL and credentials, and the one
 * {@link OkHttpClient} (connection pool, keep-alive, HTTP/2 when the server offers it over TLS,
 * {@code TCP_NODELAY}) that every model built on it shares.
 *
 * <p>Build one client per provider and share it, as OkHttp's own clients are meant to be shared:
 * each client holds its own connection pool, so a client per call, or per model, pays new TCP and
 * TLS handshakes and keeps idle sockets twice.
 *
 * <pre>{@code
 * OpenAiClient openai = OpenAiClient.builder()
 *     .baseUrl("https://api.openai.com/v1")
 *     .apiKey(System.getenv("OPENAI_API_KEY"))
 *     .maxConnections(16)
 *     .build();
 * ChatModel chat = OpenAiChatModel.builder().client(openai).model("gpt-4o-mini").build();
 * EmbeddingModel embeddings =
 *     OpenAiEmbeddingModel.builder().client(openai).model("text-embedding-3-small").build();
 * }</pre>
 *
 * <p>Every call is retried on HTTP 408, 429 (except a 429 whose error code is {@code
 * insufficient_quota}: no wait refills a quota), 500, 502, 503, 504 and I/O errors (time-outs,
 * resets), up to {@link Builder#maxAttempts(int) maxAttempts} attempts, after the wait the server
 * asked for ({@code retry-after-ms}, {@code Retry-After} in seconds or as an HTTP date) or else an
 * exponential back-off with jitter. HTTP 400, 401, 403, 404, the other client errors and {@code
 * insufficient_quota} fail at once. Each endpoint (chat completions, embeddings) has its own
 * circuit breaker: after repeated failures calls fail fast, without a request, until the breaker
 * lets a few trial calls through.
 * Inside a {@link io.ragengine.limiter.CallLimiter} call a back-off is not slept: the client
 * throws {@link io.ragengine.limiter.RetryLaterException} so the worker serves other calls.
 *
 * <p>The API key is sent only in its header. It never appears in a log line, an exception message
 * or {@link #toString()}.
 *
 * <p>Thread-safe. {@link #close()} is optional: it releases idle connections at once rather than
 * after {@link Builder#keepAlive(Duration) keepAlive}.
 */
public final class OpenAiClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OpenAiClient.class);

  /** Hosts already warned about for plain HTTP, so each is logged once per JVM. */
  private static final Set<String> WARNED_PLAIN_HTTP_HOSTS = ConcurrentHashMap.newKeySet();

  /** OpenAI's public API. */
  public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";

  /** The header that carries the key by default, as {@code Bearer <key>}. */
  public static final String DEFAULT_API_KEY_HEADER = "Authorization";

  /** Idle connections kept per client; also what the dispatcher allows in flight per host. */
  public static final int DEFAULT_MAX_CONNECTIONS = 16;

  public static final Duration DEFAULT_KEEP_ALIVE = Duration.ofMinutes(5);
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /**
   * The longest silence while reading an answer. A blocking chat call says nothing until its
   * answer is complete, so this bounds the longest answer too.
   */
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(120);

  public static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(30);

  /** Attempts per call, the first included. */
  public static final int DEFAULT_MAX_ATTEMPTS = 5;

  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(500);
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);

  /** The longest server-requested wait honoured; a longer one fails the call at once. */
  public static final Duration DEFAULT_MAX_RETRY_AFTER = Duration.ofSeconds(60);

  /**
   * The shortest timeout, keep-alive and back-off: OkHttp counts timeouts in whole milliseconds
   * (less would become 0, no timeout), its pool refuses a keep-alive of 0 ms, and Resilience4j a
   * back-off of 0 ms.
   */
  private static final Duration MIN_DURATION = Duration.ofMillis(1);

  /**
   * The longest timeout, keep-alive and back-off, about 24.8 days: OkHttp keeps timeouts as int
   * milliseconds.
   */
  private static final Duration MAX_DURATION = Duration.ofMillis(Integer.MAX_VALUE);

  private final HttpUrl baseUrl;
  private final @Nullable String apiKey;
  private final String apiKeyHeader;
  private final @Nullable String organization;
  private final @Nullable String project;
  private final Map<String, String> headers;
  private final Map<String, String> queryParameters;
  private final int maxConnections;
  private final Duration keepAlive;
  private final Duration connectTimeout;
  private final Duration readTimeout;
  private final Duration writeTimeout;
  private final Duration callTimeout;
  private final RetryPolicy retryPolicy;
  private final CircuitBreakerConfig circuitBreakerConfig;
  private final OkHttpClient http;
  private final boolean ownsHttp;
  private final Redactor redactor;
  private final Clock clock;
  private final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();

  private OpenAiClient(Builder b) {
    this.baseUrl = b.baseUrl;
    this.apiKey = b.apiKey;
    this.apiKeyHeader = b.apiKeyHeader;
    this.organization = b.organization;
    this.project = b.project;
    this.headers = Map.copyOf(b.headers);
    this.queryParameters = Map.copyOf(b.queryParameters);
    this.maxConnections = b.maxConnections;
    this.keepAlive = b.keepAlive;
    this.connectTimeout = b.connectTimeout;
    this.readTimeout = b.readTimeout;
    this.writeTimeout = b.writeTimeout;
    this.callTimeout = b.callTimeout;
    this.clock = b.clock;
    this.retryPolicy =
        new RetryPolicy(
            b.maxAttempts, b.initialBackoff, b.maxBackoff, b.maxRetryAfter, b.sleeper, b.clock);
    CircuitBreakerConfig cb =
        b.circuitBreakerConfig != null ? b.circuitBreakerConfig : defaultCircuitBreakerConfig();
    this.circuitBreakerConfig =
        b.clock == Clock.systemUTC() ? cb : CircuitBreakerConfig.from(cb).clock(b.clock).build();
    List<String> secrets = new ArrayList<>();
    if (apiKey != null) {
      secrets.add(apiKey);
    }
    secrets.addAll(headers.values());
    this.redactor = new Redactor(List.copyOf(secrets));

    OkHttpClient.Builder hb;
    if (b.okHttpClient != null) {
      // Derived clients share the application's pool and dispatcher, as OkHttp recommends.
      hb = b.okHttpClient.newBuilder();
      this.ownsHttp = false;
    } else {
      Dispatcher dispatcher = new Dispatcher();
      dispatcher.setMaxRequests(Math.max(64, maxConnections));
      dispatcher.setMaxRequestsPerHost(maxConnections);
      hb =
          new OkHttpClient.Builder()
              .dispatcher(dispatcher)
              .connectionPool(
                  new ConnectionPool(maxConnections, keepAlive.toMillis(), TimeUnit.MILLISECONDS));
      this.ownsHttp = true;
    }
    if (b.eventListenerFactory != null) {
      hb.eventListenerFactory(b.eventListenerFactory);
    }
    this.http =
        hb.socketFactory(new NoDelaySocketFactory())
            .connectTimeout(connectTimeout)
            .readTimeout(readTimeout)
            .writeTimeout(writeTimeout)
            .callTimeout(callTimeout)
            .build();
    warnOnPlainHttp(baseUrl);
  }

  /** Returns a new builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The defaults for each endpoint's breaker: open when at least half of the last 20 calls (and at
   * least 10) failed with a server error, a time-out or an I/O error; stay open 30 s; then let 3
   * trial calls decide. Rate limits (429) and client errors (4xx) do not count as failures.
   */
  public static CircuitBreakerConfig defaultCircuitBreakerConfig() {
    return CircuitBreakerConfig.custom()
        .slidingWindowSize(20)
        .minimumNumberOfCalls(10)
        .failureRateThreshold(50)
        .waitDurationInOpenState(Duration.ofSeconds(30))
        .permittedNumberOfCallsInHalfOpenState(3)
        .build();
  }

  private static void warnOnPlainHttp(HttpUrl url) {
    if (url.isHttps() || isLoopback(url.host())) {
      return;
    }
    if (WARNED_PLAIN_HTTP_HOSTS.add(url.host())) {
      log.warn(
          "OpenAI-compatible base URL {} uses plain http:// to a host that is not loopback: the"
              + " API key and every prompt travel unencrypted",
          url.scheme() + "://" + url.host() + ":" + url.port());
    }
  }

  static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.equals("localhost") || h.endsWith(".localhost")) {
      return true;
    }
    // Only literal addresses are checked: a name is never resolved here.
    if (h.matches("[0-9.]+") || h.contains(":")) {
      try {
        return InetAddress.getByName(h).isLoopbackAddress();
      } catch (java.net.UnknownHostException e) {
        return false;
      }
    }
    return false;
  }

  /**
   * Parses a {@link Builder#baseUrl(String) baseUrl}, without its trailing slashes. No message
   * quotes a {@code user:password@} part.
   */
  static HttpUrl parseBaseUrl(String baseUrl) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    HttpUrl url = HttpUrl.parse(baseUrl);
    if (url == null) {
      throw new IllegalArgumentException(
          "baseUrl: \"" + withoutUserInfo(baseUrl) + "\" (expected: an http:// or https:// URL)");
    }
    if (!url.encodedUsername().isEmpty() || !url.encodedPassword().isEmpty()) {
      // OkHttp sends no Authorization for it, and toString() would show the password.
      throw new IllegalArgumentException(
          "baseUrl: has a user:password part, which is never sent"
              + " (expected: credentials in apiKey(..) or header(..))");
    }
    // A trailing slash would add an empty path segment before "chat/completions".
    List<String> segments = new ArrayList<>(url.pathSegments());
    while (!segments.isEmpty() && segments.get(segments.size() - 1).isEmpty()) {
      segments.remove(segments.size() - 1);
    }
    HttpUrl.Builder b = url.newBuilder().encodedPath("/");
    for (String s : segments) {
      b.addPathSegment(s);
    }
    return b.build();
  }

  /**
   * Returns {@code url} with everything from its authority's start (after a {@code ://} that comes
   * before it, else from the beginning) to its last {@code @} hidden. An unparsable URL gives no
   * reliable authority: a password may hold {@code /}, {@code ?} or {@code #}, so the last
   * {@code @} of the whole text is taken, hiding too much rather than too little.
   */
  private static String withoutUserInfo(String url) {
    int at = url.lastIndexOf('@');
    if (at < 0) {
      return url;
    }
    int scheme = url.indexOf("://");
    int start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
    return url.substring(0, start) + "<user info>" + url.substring(at);
  }

  /** Returns {@code value} if it is zero (none) or in [1 ms, {@code Integer.MAX_VALUE} ms]. */
  private static Duration timeout(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (!value.isZero() && !inRange(value)) {
      throw new IllegalArgumentException(
          name
              + ": "
              + value
              + " (expected: 0 or in ["
              + MIN_DURATION
              + ", "
              + MAX_DURATION
              + "])");
    }
    return value;
  }

  /** Returns {@code value} if it is in [1 ms, {@code Integer.MAX_VALUE} ms]. */
  private static Duration interval(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (!inRange(value)) {
      throw new IllegalArgumentException(
          name + ": " + value + " (expected: in [" + MIN_DURATION + ", " + MAX_DURATION + "])");
    }
    return value;
  }

  private static boolean inRange(Duration value) {
    return value.compareTo(MIN_DURATION) >= 0 && value.compareTo(MAX_DURATION) <= 0;
  }

  /**
   * Returns {@code value} if OkHttp accepts it as a header value: visible ASCII, space and tab
   * only. The message gives the index and code of the first other character, never the value, which
   * may be a secret.
   */
  static String headerValue(String value, String name) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c != '\t' && (c < 0x20 || c > 0x7e)) {
        throw new IllegalArgumentException(
            name
                + ": a character not allowed in an HTTP header at index "
                + i
                + " ("
                + hex(value.codePointAt(i))
                + ") (expected: visible ASCII, space or tab)");
      }
    }
    return value;
  }

  /** Returns {@code name} if it is an RFC 7230 token, as a header name must be. */
  static String headerName(String name, String option) {
    Checks.notBlank(name, option);
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean token =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!token) {
        throw new IllegalArgumentException(
            option
                + ": \""
                + name
                + "\" has a character not allowed in an HTTP header name at index "
                + i
                + " ("
                + hex(name.codePointAt(i))
                + ") (expected: letters, digits and !#$%&'*+-.^_`|~)");
      }
    }
    return name;
  }

  private static String hex(int codePoint) {
    return String.format(Locale.ROOT, "0x%02x", codePoint);
  }

  /** The base URL that endpoint paths are resolved against. */
  public String baseUrl() {
    return baseUrl.toString();
  }

  /** The OkHttp client shared by every model built on this client. */
  public OkHttpClient okHttpClient() {
    return http;
  }

  /**
   * Returns the circuit breaker of the endpoint at {@code path} (for example {@code
   * "chat/completions"} or {@code "embeddings"}), for metrics and events.
   */
  public CircuitBreaker circuitBreaker(String path) {
    return endpoint(Objects.requireNonNull(path, "path")).circuitBreaker();
  }

  Endpoint endpoint(String path) {
    return endpoints.computeIfAbsent(path, p -> new Endpoint(this, p));
  }

  HttpUrl url(String path) {
    HttpUrl.Builder b = baseUrl.newBuilder().addPathSegments(path);
    queryParameters.forEach(b::addQueryParameter);
    return b.build();
  }

  /** Adds the credentials and the extra headers. */
  Request.Builder authorize(Request.Builder b) {
    if (apiKey != null) {
      if (apiKeyHeader.equalsIgnoreCase("Authorization")) {
        b.header("Authorization", "Bearer " + apiKey);
      } else {
        b.header(apiKeyHeader, apiKey);
      }
    }
    if (organization != null) {
      b.header("OpenAI-Organization", organization);
    }
    if (project != null) {
      b.header("OpenAI-Project", project);
    }
    headers.forEach(b::header);
    return b;
  }

  /**
   * Opens up to {@code connections} connections (no more than {@code maxConnections}, which the
   * pool keeps) and leaves them in the pool, with as many overlapping {@code GET models} that cost
   * no tokens. Each call holds its answer, and so its connection, until every call has an answer
   * (or {@code readTimeout}, 10 s if none, has passed): a call that finished early would otherwise
   * hand its connection to the next one, and a fast server would see one connection used N times.
   * Any answer but 401 and 403 will do: some compatible servers have no such endpoint.
   *
   * @throws ModelException if the provider refuses the credentials (401, 403), or if no call
   *     reached it; calls that failed while others got through only cost their connection
   * @throws IllegalArgumentException if {@code connections} is not positive
   */
  void warmup(String model, int connections) {
    int n = Math.min(Checks.positive(connections, "connections"), maxConnections);
    HttpUrl modelsUrl = url("models");
    String name =
        "GET " + modelsUrl.scheme() + "://" + modelsUrl.host() + ":" + modelsUrl.port()
            + modelsUrl.encodedPath();
    Request request = authorize(new Request.Builder().url(modelsUrl).get()).build();
    if (n == 1) {
      warmOne(request, name, model, null);
      return;
    }
    CountDownLatch answered = new CountDownLatch(n);
    List<CompletableFuture<Void>> calls = new ArrayList<>(n);
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < n; i++) {
        calls.add(
            CompletableFuture.runAsync(() -> warmOne(request, name, model, answered), threads));
      }
    } // waits for every call
    ModelException first = null;
    int reached = 0;
    for (CompletableFuture<Void> call : calls) {
      try {
        call.join();
        reached++;
      } catch (CompletionException e) {
        if (e.getCause() instanceof ModelException m) {
          if (m.statusCode() == 401 || m.statusCode() == 403) {
            throw m;
          }
          if (first == null) {
            first = m;
          }
        } else if (e.getCause() instanceof RuntimeException r) {
          throw r; // a bug, not the provider: as the one-call warm-up would throw it
        } else {
          throw e;
        }
      }
    }
    if (reached == 0 && first != null) {
      throw first;
    }
    if (first != null) {
      log.debug("{} warm-up: {} of {} connections opened; the others failed: {}", name, reached, n,
          first.getMessage());
    }
  }

  /**
   * One warm-up call. With {@code answered}, it counts down once it has an answer (or has failed)
   * and keeps its connection until all the calls counted down, or {@code readTimeout} passed.
   */
  private void warmOne(
      Request request, String name, String model, @Nullable CountDownLatch answered) {
    long start = System.nanoTime();
    boolean counted = false;
    try (Response response = http.newCall(request).execute()) {
      if (answered != null) {
        answered.countDown();
        counted = true;
      }
      int status = response.code();
      if (status == 401 || status == 403) {
        String excerpt =
            Endpoint.excerpt(
                redactor.redact(
                    Endpoint.ProviderError.parse(response.peekBody(16 * 1024).string()).message()));
        throw new ModelException(
            name + " (warm-up for model " + model + ") failed: HTTP " + status
                + ", the provider refused the credentials" + (excerpt.isEmpty() ? "" : ": " + excerpt),
            status, excerpt, false, null, null);
      }
      long waitMillis = readTimeout.isZero() ? 10_000 : readTimeout.toMillis();
      if (answered != null && !answered.await(waitMillis, TimeUnit.MILLISECONDS)) {
        log.debug("{} warm-up: not every connection opened within the read timeout", name);
      }
      // Read the (small) body to its end so the connection goes back to the pool.
      response.body().bytes();
      log.debug("{} warm-up: HTTP {} in {} ms", name, status, (System.nanoTime() - start) / 1_000_000);
    } catch (IOException e) {
      throw new ModelException(
          name + " (warm-up for model " + model + "): cannot reach the provider: "
              + e.getClass().getSimpleName() + ": " + e.getMessage(),
          true, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ModelException(
          name + " (warm-up for model " + model + "): interrupted", true, e);
    } finally {
      if (answered != null && !counted) {
        answered.countDown(); // failed before an answer: the others must not wait for it
      }
    }
  }

  OkHttpClient http() {
    return http;
  }

  RetryPolicy retryPolicy() {
    return retryPolicy;
  }

  CircuitBreakerConfig circuitBreakerConfig() {
    return circuitBreakerConfig;
  }

  Redactor redactor() {
    return redactor;
  }

  Clock clock() {
    return clock;
  }

  Duration readTimeout() {
    return readTimeout;
  }

  /**
   * Releases idle connections now. Calls made afterwards still work (they open new connections).
   * A client built on an application's {@link Builder#okHttpClient(OkHttpClient) OkHttpClient}
   * leaves that client's pool alone.
   */
  @Override
  public void close() {
    if (ownsHttp) {
      http.connectionPool().evictAll();
    }
  }

  /** Shows the settings; the API key and extra header values show only as set. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("OpenAiClient[baseUrl=").append(baseUrl);
    sb.append(", apiKey=").append(apiKey == null ? "none" : "<set>");
    if (!apiKeyHeader.equals(DEFAULT_API_KEY_HEADER)) {
      sb.append(", apiKeyHeader=").append(apiKeyHeader);
    }
    if (organization != null) {
      sb.append(", organization=").append(organization);
    }
    if (project != null) {
      sb.append(", project=").append(project);
    }
    if (!headers.isEmpty()) {
      sb.append(", headers=").append(new java.util.TreeSet<>(headers.keySet()));
    }
    return sb.append(", maxConnections=")
        .append(maxConnections)
        .append(", keepAlive=")
        .append(keepAlive)
        .append(", connectTimeout=")
        .append(connectTimeout)
        .append(", readTimeout=")
        .append(readTimeout)
        .append(", writeTimeout=")
        .append(writeTimeout)
        .append(", callTimeout=")
        .append(callTimeout)
        .append(", ")
        .append(retryPolicy)
        .append(']')
        .toString();
  }

  /**
   * Builds an {@link OpenAiClient}. Each option is checked when set.
   *
   * <p>Not thread-safe. {@link #build()} may be called more than once; each call makes a client
   * with its own connection pool.
   */
  public static final class Builder {
    private HttpUrl baseUrl = Objects.requireNonNull(HttpUrl.parse(DEFAULT_BASE_URL));
    private @Nullable String apiKey;
    private String apiKeyHeader = DEFAULT_API_KEY_HEADER;
    private @Nullable String organization;
    private @Nullable String project;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private final Map<String, String> queryParameters = new LinkedHashMap<>();
    private int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private Duration keepAlive = DEFAULT_KEEP_ALIVE;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private Duration readTimeout = DEFAULT_READ_TIMEOUT;
    private Duration writeTimeout = DEFAULT_WRITE_TIMEOUT;
    private Duration callTimeout = Duration.ZERO;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
    private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
    private Duration maxRetryAfter = DEFAULT_MAX_RETRY_AFTER;
    private @Nullable CircuitBreakerConfig circuitBreakerConfig;
    private @Nullable OkHttpClient okHttpClient;
    private Sleeper sleeper = Sleeper.SYSTEM;
    private Clock clock = Clock.systemUTC();
    private EventListener.@Nullable Factory eventListenerFactory;

    private Builder() {}

    /**
     * The URL that endpoint paths ({@code chat/completions}, {@code embeddings}) are appended to,
     * usually ending in {@code /v1}. Default {@value #DEFAULT_BASE_URL}. Plain {@code http://} is
     * allowed (local servers such as vLLM, Ollama, LM Studio) and logged once at WARN when the host
     * is not a loopback address.
     *
     * @throws IllegalArgumentException if it is not an http or https URL, or if it has a {@code
     *     user:password@} part: OkHttp never sends one as credentials, and {@link
     *     OpenAiClient#toString()} would show it
     */
    public Builder baseUrl(String baseUrl) {
      this.baseUrl = parseBaseUrl(baseUrl);
      return this;
    }

    /**
     * The API key, sent as {@code Authorization: Bearer <key>} (or in {@link #apiKeyHeader}).
     * Local servers usually need none; then no header is sent.
     *
     * @throws IllegalArgumentException if it is blank or has a character other than visible ASCII,
     *     space and tab (which HTTP headers cannot carry); the message gives the character's index
     *     and code, never the key
     */
    public Builder apiKey(String apiKey) {
      this.apiKey = headerValue(Checks.notBlank(apiKey, "apiKey"), "apiKey");
      return this;
    }

    /**
     * The header that carries the key. {@code Authorization} (the default) sends {@code Bearer
     * <key>}; any other name, such as Azure's {@code api-key}, sends the bare key.
     *
     * @throws IllegalArgumentException if it is not a header name: letters, digits and {@code
     *     !#$%&'*+-.^_`|~} only (an RFC 7230 token)
     */
    public Builder apiKeyHeader(String headerName) {
      this.apiKeyHeader = headerName(headerName, "apiKeyHeader");
      return this;
    }

    /**
     * Sent as {@code OpenAI-Organization}. Default: not sent.
     *
     * @throws IllegalArgumentException if it is blank or has a character other than visible ASCII,
     *     space and tab
     */
    public Builder organization(String organization) {
      this.organization =
          headerValue(Checks.notBlank(organization, "organization"), "organization");
      return this;
    }

    /**
     * Sent as {@code OpenAI-Project}. Default: not sent.
     *
     * @throws IllegalArgumentException if it is blank or has a character other than visible ASCII,
     *     space and tab
     */
    public Builder project(String project) {
      this.project = headerValue(Checks.notBlank(project, "project"), "project");
      return this;
    }

    /**
     * Adds a header to every request, for gateways. Its value is treated as a secret: it never
     * appears in logs, exceptions or {@code toString()}.
     *
     * @throws IllegalArgumentException if {@code name} is not a header name (letters, digits and
     *     {@code !#$%&'*+-.^_`|~} only), or {@code value} has a character other than visible ASCII,
     *     space and tab; the message gives the character's index and code, never the value
     */
    public Builder header(String name, String value) {
      headerName(name, "header name");
      headerValue(Objects.requireNonNull(value, "value"), "header " + name);
      headers.put(name, value);
      return this;
    }

    /** Adds a query parameter to every request URL, such as Azure's {@code api-version}. */
    public Builder queryParameter(String name, String value) {
      Checks.notBlank(name, "queryParameter name");
      queryParameters.put(name, Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * Idle connections kept open for reuse; size it to the calls in flight at once, that is the
     * sum of the {@code maxAsync} of the limiters using this client. Default {@value
     * #DEFAULT_MAX_CONNECTIONS}. Ignored when {@link #okHttpClient(OkHttpClient)} is set.
     */
    public Builder maxConnections(int maxConnections) {
      this.maxConnections = Checks.positive(maxConnections, "maxConnections");
      return this;
    }

    /**
     * How long an idle connection is kept. Default 5 minutes.
     *
     * @throws IllegalArgumentException if it is under 1 ms or over {@code Integer.MAX_VALUE} ms
     *     (about 24.8 days)
     */
    public Builder keepAlive(Duration keepAlive) {
      this.keepAlive = interval(keepAlive, "keepAlive");
      return this;
    }

    /**
     * The longest wait for a TCP (and TLS) connection. Default 10 s; zero means none.
     *
     * @throws IllegalArgumentException if it is neither zero nor in [1 ms, {@code
     *     Integer.MAX_VALUE} ms]: OkHttp counts whole milliseconds, so less would mean none
     */
    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = timeout(connectTimeout, "connectTimeout");
      return this;
    }

    /**
     * The longest silence while reading a response: for a blocking chat call, the longest answer.
     * Default 120 s; zero means none (a dead server then hangs the call).
     *
     * @throws IllegalArgumentException if it is neither zero nor in [1 ms, {@code
     *     Integer.MAX_VALUE} ms]
     */
    public Builder readTimeout(Duration readTimeout) {
      this.readTimeout = timeout(readTimeout, "readTimeout");
      return this;
    }

    /**
     * The longest stall while sending a request. Default 30 s; zero means none.
     *
     * @throws IllegalArgumentException if it is neither zero nor in [1 ms, {@code
     *     Integer.MAX_VALUE} ms]
     */
    public Builder writeTimeout(Duration writeTimeout) {
      this.writeTimeout = timeout(writeTimeout, "writeTimeout");
      return this;
    }

    /**
     * The longest a single HTTP attempt may take, connecting and reading included; streamed
     * answers are exempt once they start. Default zero: none (the limiter's per-call timeout
     * usually bounds calls).
     *
     * @throws IllegalArgumentException if it is neither zero nor in [1 ms, {@code
     *     Integer.MAX_VALUE} ms]
     */
    public Builder callTimeout(Duration callTimeout) {
      this.callTimeout = timeout(callTimeout, "callTimeout");
      return this;
    }

    /**
     * Attempts per call, the first included; 1 disables retries. Default {@value
     * #DEFAULT_MAX_ATTEMPTS}. Inside a limiter call the limiter's attempt number counts, so the
     * bound holds across its re-runs.
     */
    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = Checks.positive(maxAttempts, "maxAttempts");
      return this;
    }

    /**
     * The back-off before the first retry when the server asked for no wait; it doubles per
     * attempt, up to {@link #maxBackoff}, with ±50 % jitter. Default 500 ms.
     *
     * @throws IllegalArgumentException if it is under 1 ms or over {@code Integer.MAX_VALUE} ms
     */
    public Builder initialBackoff(Duration initialBackoff) {
      this.initialBackoff = interval(initialBackoff, "initialBackoff");
      return this;
    }

    /**
     * The longest computed back-off. Default 30 s.
     *
     * @throws IllegalArgumentException if it is under 1 ms or over {@code Integer.MAX_VALUE} ms
     */
    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = interval(maxBackoff, "maxBackoff");
      return this;
    }

    /**
     * The longest server-requested wait ({@code Retry-After}) that is honoured; a longer one fails
     * the call at once with a retryable {@link io.ragengine.model.ModelException} that carries the
     * wait. Default 60 s.
     */
    public Builder maxRetryAfter(Duration maxRetryAfter) {
      this.maxRetryAfter = Checks.positiveOrZero(maxRetryAfter, "maxRetryAfter");
      return this;
    }

    /**
     * The settings of each endpoint's circuit breaker. Default {@link
     * OpenAiClient#defaultCircuitBreakerConfig()}.
     */
    public Builder circuitBreakerConfig(CircuitBreakerConfig config) {
      this.circuitBreakerConfig = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Derives this client's OkHttpClient from the application's, sharing its connection pool and
     * dispatcher; timeouts and the socket factory are still this builder's. Default: a new pool
     * of {@link #maxConnections} connections.
     */
    public Builder okHttpClient(OkHttpClient okHttpClient) {
      this.okHttpClient = Objects.requireNonNull(okHttpClient, "okHttpClient");
      return this;
    }

    /** For tests: what waits out a back-off outside a limiter. Default {@link Thread#sleep}. */
    Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /** For tests: the clock for HTTP-date {@code Retry-After} and the circuit breakers. */
    Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** For tests: observes connections and calls. Default: none. */
    Builder eventListenerFactory(EventListener.Factory factory) {
      this.eventListenerFactory = Objects.requireNonNull(factory, "factory");
      return this;
    }

    /**
     * Returns the client.
     *
     * @throws IllegalArgumentException if {@code maxBackoff < initialBackoff}
     */
    public OpenAiClient build() {
      if (maxBackoff.compareTo(initialBackoff) < 0) {
        throw new IllegalArgumentException(
            "maxBackoff: " + maxBackoff + " (expected: >= initialBackoff " + initialBackoff + ")");
      }
      return new OpenAiClient(this);
    }
  }
}
