package io.ragengine.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import io.ragengine.limiter.LimitedCall;
import io.ragengine.limiter.RetryLaterException;
import io.ragengine.model.ModelException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import okhttp3.HttpUrl;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One API endpoint of a client ({@code chat/completions}, {@code embeddings}): its URL, its
 * circuit breaker and its retry loop. Thread-safe.
 *
 * <p>An attempt is one HTTP exchange. Each attempt asks the breaker for permission first, and
 * reports to it after: server errors (5xx), I/O errors, time-outs and unreadable answers count as
 * failures; rate limits (429) are neither failure nor success; other answers, client errors
 * included, show the server is up and count as successes.
 */
final class Endpoint {
  private static final Logger log = LoggerFactory.getLogger(OpenAiClient.class);

  /** The most of a provider's message quoted in an exception. */
  static final int MAX_EXCERPT = 300;

  /** The most of an error body read to find the provider's message. */
  private static final long MAX_ERROR_BODY = 16 * 1024;

  /** What one attempt does: send the request, read and convert the answer. */
  @FunctionalInterface
  interface Exchange<T> {
    T run(int attempt) throws IOException;
  }

  private final OpenAiClient client;
  private final HttpUrl url;
  private final String displayName;
  private final CircuitBreaker circuitBreaker;
  private final Retry retry;

  Endpoint(OpenAiClient client, String path) {
    this.client = client;
    this.url = client.url(path);
    // Scheme, host, port and path: never the query string, which may carry gateway parameters.
    this.displayName =
        "POST " + url.scheme() + "://" + url.host() + ":" + url.port() + url.encodedPath();
    this.circuitBreaker = CircuitBreaker.of(displayName, client.circuitBreakerConfig());
    this.retry = Retry.of(displayName, client.retryPolicy().retryConfig());
    circuitBreaker
        .getEventPublisher()
        .onStateTransition(
            e -> log.warn("circuit breaker of {}: {}", displayName, e.getStateTransition()));
  }

  HttpUrl url() {
    return url;
  }

  String displayName() {
    return displayName;
  }

  CircuitBreaker circuitBreaker() {
    return circuitBreaker;
  }

  /**
   * Runs {@code exchange} until it succeeds, fails for good, or runs out of attempts. Outside a
   * limiter call, back-offs are slept here; inside one, a back-off becomes a {@link
   * RetryLaterException} and the limiter's attempt number is the attempt number.
   */
  <T> T execute(String model, Exchange<T> exchange) {
    RetryPolicy policy = client.retryPolicy();
    int limiterAttempt = LimitedCall.attempt();
    if (limiterAttempt > 0) {
      try {
        return once(model, exchange, limiterAttempt);
      } catch (ModelException e) {
        if (!RetryPolicy.isRetryable(e) || limiterAttempt >= policy.maxAttempts) {
          throw e;
        }
        long delay = policy.delayMillis(limiterAttempt, e);
        if (delay < 0) {
          throw e;
        }
        log.debug(
            "{} (model {}) attempt {} of {} failed; giving the limiter worker back for {} ms",
            displayName,
            model,
            limiterAttempt,
            policy.maxAttempts,
            delay);
        throw new RetryLaterException(Duration.ofMillis(delay), e);
      }
    }
    Retry.AsyncContext<T> context = retry.asyncContext();
    for (int attempt = 1; ; attempt++) {
      try {
        T result = once(model, exchange, attempt);
        context.onComplete();
        return result;
      } catch (ModelException e) {
        long delay = context.onError(e);
        if (delay < 0) {
          throw e;
        }
        log.debug(
            "{} (model {}) attempt {} of {} failed ({}); retrying in {} ms",
            displayName,
            model,
            attempt,
            policy.maxAttempts,
            e.statusCode() == ModelException.NO_STATUS ? "no response" : "HTTP " + e.statusCode(),
            delay);
        try {
          policy.sleeper.sleep(Duration.ofMillis(delay));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          ModelException stop =
              new ModelException(
                  displayName + " (model " + model + "): interrupted while waiting to retry",
                  false,
                  ie);
          stop.addSuppressed(e);
          throw stop;
        }
      }
    }
  }

  private <T> T once(String model, Exchange<T> exchange, int attempt) {
    if (!circuitBreaker.tryAcquirePermission()) {
      throw circuitOpen(model);
    }
    long start = System.nanoTime();
    try {
      T result = exchange.run(attempt);
      circuitBreaker.onSuccess(System.nanoTime() - start, TimeUnit.NANOSECONDS);
      log.debug(
          "{} (model {}) attempt {} succeeded in {} ms",
          displayName,
          model,
          attempt,
          (System.nanoTime() - start) / 1_000_000);
      return result;
    } catch (ModelException e) {
      report(e, System.nanoTime() - start);
      throw e;
    } catch (IOException e) {
      ModelException me = ioFailure(model, e);
      report(me, System.nanoTime() - start);
      throw me;
    } catch (RuntimeException | Error e) {
      circuitBreaker.releasePermission();
      throw e;
    }
  }

  private void report(ModelException e, long nanos) {
    int status = e.statusCode();
    if (status == 429) {
      circuitBreaker.releasePermission();
    } else if (status >= 400 && status < 500) {
      circuitBreaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
    } else {
      circuitBreaker.onError(nanos, TimeUnit.NANOSECONDS, e);
    }
  }

  private ModelException circuitOpen(String model) {
    CircuitBreaker.Metrics m = circuitBreaker.getMetrics();
    return new FinalModelException(
        displayName
            + " (model "
            + model
            + "): circuit breaker is "
            + circuitBreaker.getState()
            + " after "
            + m.getNumberOfFailedCalls()
            + " of the last "
            + (m.getNumberOfFailedCalls() + m.getNumberOfSuccessfulCalls())
            + " calls failed; failing fast without calling the provider (it lets trial calls"
            + " through after "
            + client.circuitBreakerConfig().getWaitIntervalFunctionInOpenState().apply(1)
            + " ms)",
        ModelException.NO_STATUS,
        "",
        true,
        null,
        null);
  }

  /** Maps an I/O failure of one attempt. Never quotes a header. */
  ModelException ioFailure(String model, IOException e) {
    String prefix = displayName + " (model " + model + ")";
    if (Thread.currentThread().isInterrupted()) {
      return new ModelException(prefix + ": interrupted", false, e);
    }
    if (e instanceof SocketTimeoutException) {
      return new ModelException(
          prefix + ": timed out (" + e.getMessage() + "; readTimeout " + client.readTimeout() + ")",
          true,
          e);
    }
    if (e instanceof InterruptedIOException) {
      return new ModelException(prefix + ": timed out (" + e.getMessage() + ")", true, e);
    }
    return new ModelException(
        prefix + ": I/O error: " + e.getClass().getSimpleName() + ": " + e.getMessage(), true, e);
  }

  /** Maps a response whose status is not 2xx; reads (a bounded part of) its body. */
  ModelException httpError(String model, Response response, Redactor redactor) {
    int status = response.code();
    String body;
    try {
      body = response.peekBody(MAX_ERROR_BODY).string();
    } catch (IOException e) {
      body = "";
    }
    ProviderError error = ProviderError.parse(body);
    String excerpt = excerpt(redactor.redact(error.message()));
    boolean retryable =
        (status == 429 && !"insufficient_quota".equals(error.code()))
            || status == 408
            || status == 500
            || status == 502
            || status == 503
            || status == 504;
    Duration retryAfter = retryable ? retryAfter(response) : null;
    StringBuilder msg =
        new StringBuilder(displayName)
            .append(" (model ")
            .append(model)
            .append(") failed: HTTP ")
            .append(status);
    if (!excerpt.isEmpty()) {
      msg.append(": ").append(excerpt);
    }
    if (retryAfter != null) {
      msg.append(" (server asked to retry after ").append(retryAfter.toMillis()).append(" ms)");
    }
    if (status == 404 && !"model_not_found".equals(error.code())) {
      // Most often a base URL without its /v1: the server has no such path.
      msg.append(
          " (the server has no such path or model: check that the base URL is the API's root,"
              + " which usually ends in /v1, and the model name)");
    }
    return new ModelException(msg.toString(), status, excerpt, retryable, retryAfter, null);
  }

  /** A malformed or incomplete 2xx answer. */
  ModelException badResponse(String model, String what, @Nullable Throwable cause) {
    return new ModelException(
        displayName + " (model " + model + "): unreadable response: " + what, false, cause);
  }

  /** Whitespace collapsed, at most {@value #MAX_EXCERPT} chars. */
  static String excerpt(String text) {
    String t = text.strip().replaceAll("\\s+", " ");
    return t.length() <= MAX_EXCERPT ? t : t.substring(0, MAX_EXCERPT - 3) + "...";
  }

  /**
   * The wait asked for by {@code retry-after-ms} (OpenAI, milliseconds) or else {@code
   * Retry-After} (seconds, or an HTTP date), or null.
   */
  @Nullable Duration retryAfter(Response response) {
    String ms = response.header("retry-after-ms");
    if (ms != null) {
      try {
        double v = Double.parseDouble(ms.trim());
        if (v >= 0 && v < 1e12) {
          return Duration.ofNanos((long) (v * 1_000_000));
        }
      } catch (NumberFormatException ignored) {
        // fall through to Retry-After
      }
    }
    String ra = response.header("Retry-After");
    if (ra == null) {
      return null;
    }
    String v = ra.trim();
    try {
      double seconds = Double.parseDouble(v);
      if (seconds >= 0 && seconds < 1e9) {
        return Duration.ofMillis((long) (seconds * 1000));
      }
      return null;
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        Duration d = Duration.between(client.clock().instant(), at);
        return d.isNegative() ? Duration.ZERO : d;
      } catch (DateTimeParseException e) {
        return null;
      }
    }
  }

  /** The provider's error message and code, from the usual JSON shapes, or the raw body. */
  record ProviderError(String message, @Nullable String code) {
    static ProviderError parse(String body) {
      if (body.isBlank()) {
        return new ProviderError("", null);
      }
      try {
        JsonNode root = Json.MAPPER.readTree(body);
        if (root != null && root.isObject()) {
          JsonNode error = root.get("error");
          if (error != null && error.isObject()) {
            JsonNode code = error.get("code");
            String codeText = code == null || code.isNull() ? null : code.asText();
            return new ProviderError(text(error.get("message"), body), codeText);
          }
          if (error != null && error.isTextual()) { // Ollama and others: {"error": "..."}
            return new ProviderError(error.asText(), null);
          }
          for (String field : new String[] {"message", "detail"}) { // vLLM, FastAPI
            JsonNode n = root.get(field);
            if (n != null && !n.isNull()) {
              return new ProviderError(n.isTextual() ? n.asText() : n.toString(), null);
            }
          }
        }
      } catch (IOException | RuntimeException notJson) {
        // an HTML error page from a proxy, plain text, ...
      }
      return new ProviderError(body.toLowerCase(Locale.ROOT).contains("<html") ? "" : body, null);
    }

    private static String text(@Nullable JsonNode n, String fallback) {
      if (n == null || n.isNull()) {
        return fallback;
      }
      return n.isTextual() ? n.asText() : n.toString();
    }
  }
}
