package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static io.ragengine.testing.Awaits.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.ragengine.limiter.LimitedCallTesting;
import io.ragengine.limiter.RetryLaterException;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.FinishReason;
import io.ragengine.model.Message;
import io.ragengine.model.ModelException;
import io.ragengine.model.ResponseFormat;
import io.ragengine.model.TokenUsage;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Call;
import okhttp3.EventListener;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

final class OpenAiChatModelTest {
  private static final String PATH = "/v1/chat/completions";
  private static WireMockServer server;
  private final Stubs.RecordingSleeper sleeper = new Stubs.RecordingSleeper();

  @BeforeAll
  static void startServer() {
    server = Stubs.startServer();
  }

  @AfterAll
  static void stopServer() {
    server.stop();
  }

  @BeforeEach
  void reset() {
    server.resetAll();
  }

  private OpenAiChatModel model(OpenAiClient.Builder client) {
    return OpenAiChatModel.builder().client(client.build()).model("gpt-test").build();
  }

  private OpenAiChatModel model() {
    return model(Stubs.client(server, sleeper));
  }

  private static ResponseDefinitionBuilder json(int status, String body) {
    return aResponse().withStatus(status).withHeader("Content-Type", "application/json").withBody(body);
  }

  private static ResponseDefinitionBuilder ok(String text) {
    return json(200, Stubs.completion(text, "stop"));
  }

  private static ResponseDefinitionBuilder events(String body) {
    return aResponse().withStatus(200).withHeader("Content-Type", "text/event-stream").withBody(body);
  }

  /** Stubs {@code first}, then {@code then} for every later call. */
  private static void stubSequence(ResponseDefinitionBuilder first, ResponseDefinitionBuilder then) {
    server.stubFor(
        post(urlEqualTo(PATH))
            .inScenario("seq")
            .whenScenarioStateIs(Scenario.STARTED)
            .willReturn(first)
            .willSetStateTo("second"));
    server.stubFor(
        post(urlEqualTo(PATH)).inScenario("seq").whenScenarioStateIs("second").willReturn(then));
  }

  private static int requests() {
    return server.findAll(postRequestedFor(urlEqualTo(PATH))).size();
  }

  @Test
  void chat_sendsOptionsHeadersAndParsesTheAnswer() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.completion("Hi.", "length"))));
    OpenAiChatModel model =
        model(
            Stubs.client(server, sleeper)
                .organization("org-1")
                .project("proj-1")
                .header("X-Gateway", "gw-secret"));
    ChatRequest request =
        ChatRequest.builder()
            .addMessage(Message.system("Be brief."))
            .addMessage(Message.user("Hello"))
            .temperature(0.5)
            .maxOutputTokens(42)
            .stop(List.of("END"))
            .seed(7)
            .responseFormat(ResponseFormat.JSON_OBJECT)
            .build();
    ChatResponse response = model.chat(request);
    assertEquals("Hi.", response.text());
    assertEquals(FinishReason.LENGTH, response.finishReason());
    assertEquals(new TokenUsage(11, 7, 18), response.usage());
    assertEquals("gpt-test-2025", response.model());
    server.verify(
        postRequestedFor(urlEqualTo(PATH))
            .withHeader("Authorization", equalTo("Bearer " + Stubs.API_KEY))
            .withHeader("OpenAI-Organization", equalTo("org-1"))
            .withHeader("OpenAI-Project", equalTo("proj-1"))
            .withHeader("X-Gateway", equalTo("gw-secret"))
            .withRequestBody(
                equalToJson(
                    "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"system\",\"content\":\"Be"
                        + " brief.\"},{\"role\":\"user\",\"content\":\"Hello\"}],\"temperature\":0.5,"
                        + "\"max_tokens\":42,\"stop\":[\"END\"],\"seed\":7,"
                        + "\"response_format\":{\"type\":\"json_object\"}}")));
  }

  @Test
  void chat_azureStyleKeyHeaderAndQueryParameter() {
    server.stubFor(post(urlEqualTo(PATH + "?api-version=2024-10-21")).willReturn(ok("x")));
    OpenAiChatModel model =
        model(
            Stubs.client(server, sleeper)
                .apiKeyHeader("api-key")
                .queryParameter("api-version", "2024-10-21"));
    model.chat(ChatRequest.of("hi"));
    server.verify(
        postRequestedFor(urlEqualTo(PATH + "?api-version=2024-10-21"))
            .withHeader("api-key", equalTo(Stubs.API_KEY))
            .withoutHeader("Authorization"));
  }

  @Test
  void chat_requestModelOverridesAndMaxCompletionTokensField() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("x")));
    OpenAiChatModel model =
        OpenAiChatModel.builder()
            .client(Stubs.client(server, sleeper).build())
            .model("gpt-test")
            .maxTokensField(OpenAiChatModel.MaxTokensField.MAX_COMPLETION_TOKENS)
            .maxOutputTokens(100)
            .temperature(0.1)
            .build();
    model.chat(ChatRequest.builder().addMessage(Message.user("q")).model("other").build());
    server.verify(
        postRequestedFor(urlEqualTo(PATH))
            .withRequestBody(
                equalToJson(
                    "{\"model\":\"other\",\"temperature\":0.1,\"max_completion_tokens\":100}",
                    true,
                    true)));
  }

  @Test
  void chatStream_deliversTokensInOrderWithUsage() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events(Stubs.stream("The answer is 42."))));
    List<String> tokens = new ArrayList<>();
    ChatResponse r =
        model()
            .chat(
                ChatRequest.of("q"),
                new ChatStreamListener() {
                  @Override
                  public void onToken(String token) {
                    tokens.add(token);
                  }
                });
    assertEquals(List.of("The", " answer", " is", " 42."), tokens);
    assertEquals("The answer is 42.", r.text());
    assertEquals(FinishReason.STOP, r.finishReason());
    assertEquals(new TokenUsage(11, 7, 18), r.usage());
    server.verify(
        postRequestedFor(urlEqualTo(PATH))
            .withHeader("Accept", equalTo("text/event-stream"))
            .withRequestBody(
                equalToJson(
                    "{\"stream\":true,\"stream_options\":{\"include_usage\":true}}", true, true)));
  }

  @Test
  void chatStream_serverIgnoresStream_deliversTheWholeAnswer() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("whole answer")));
    List<String> tokens = new ArrayList<>();
    ChatResponse r =
        model()
            .chat(
                ChatRequest.of("q"),
                new ChatStreamListener() {
                  @Override
                  public void onToken(String token) {
                    tokens.add(token);
                  }
                });
    assertEquals(List.of("whole answer"), tokens);
    assertEquals("whole answer", r.text());
  }

  @Test
  void chat_429WithRetryAfterSeconds_waitsWhatTheServerAsked() {
    stubSequence(json(429, Stubs.error("Rate limit reached", "rate_limit_exceeded")).withHeader("Retry-After", "2"), ok("done"));
    assertEquals("done", model().chat(ChatRequest.of("q")).text());
    assertEquals(List.of(Duration.ofSeconds(2)), sleeper.slept);
    assertEquals(2, requests());
  }

  @Test
  void chat_429WithRetryAfterMs_takesPrecedence() {
    stubSequence(
        json(429, Stubs.error("Rate limit reached", "rate_limit_exceeded"))
            .withHeader("Retry-After", "2")
            .withHeader("retry-after-ms", "1250"),
        ok("done"));
    model().chat(ChatRequest.of("q"));
    assertEquals(List.of(Duration.ofMillis(1250)), sleeper.slept);
  }

  @Test
  void chat_429WithRetryAfterHttpDate_waitsUntilThen() {
    Stubs.MutableClock clock = new Stubs.MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    String date =
        DateTimeFormatter.RFC_1123_DATE_TIME.format(
            Instant.parse("2026-01-01T00:00:07Z").atOffset(ZoneOffset.UTC));
    stubSequence(
        json(429, Stubs.error("slow down", "rate_limit_exceeded")).withHeader("Retry-After", date),
        ok("done"));
    model(Stubs.client(server, sleeper).clock(clock)).chat(ChatRequest.of("q"));
    assertEquals(List.of(Duration.ofSeconds(7)), sleeper.slept);
  }

  @Test
  void chat_retryAfterBeyondMaxRetryAfter_failsAtOnceCarryingTheWait() {
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(json(429, Stubs.error("try tomorrow", "rate_limit_exceeded")).withHeader("Retry-After", "3600")));
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")));
    assertTrue(e.retryable());
    assertEquals(Duration.ofHours(1), e.retryAfter().orElseThrow());
    assertEquals(List.of(), sleeper.slept);
    assertEquals(1, requests());
  }

  @Test
  void chat_insufficientQuota_isNotRetried() {
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(json(429, Stubs.error("You exceeded your current quota", "insufficient_quota"))));
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")));
    assertFalse(e.retryable());
    assertEquals(1, requests());
  }

  @Test
  void chat_5xxThenSuccess_retriesAfterAnExponentialBackoffWithJitter() {
    for (int status : new int[] {500, 502, 503, 504}) {
      server.resetAll();
      sleeper.slept.clear();
      stubSequence(json(status, Stubs.error("upstream trouble", "server_error")), ok("recovered"));
      assertEquals("recovered", model().chat(ChatRequest.of("q")).text(), "after " + status);
      assertEquals(1, sleeper.slept.size());
      long ms = sleeper.slept.get(0).toMillis();
      // initialBackoff 500 ms, ±50 % jitter
      assertTrue(ms >= 250 && ms <= 750, status + ": " + ms + " ms");
    }
  }

  @Test
  void chat_repeated5xx_backoffGrowsThenGivesUpAfterMaxAttempts() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(503, Stubs.error("overloaded", "server_error"))));
    ModelException e =
        assertThrows(
            ModelException.class,
            () -> model(Stubs.client(server, sleeper).maxAttempts(4)).chat(ChatRequest.of("q")));
    assertEquals(503, e.statusCode());
    assertTrue(e.retryable());
    assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
    assertTrue(e.getMessage().contains("overloaded"), e.getMessage());
    assertEquals(4, requests());
    assertEquals(3, sleeper.slept.size());
    long[] base = {500, 1000, 2000};
    for (int i = 0; i < 3; i++) {
      long ms = sleeper.slept.get(i).toMillis();
      assertTrue(ms >= base[i] / 2 && ms <= base[i] * 3 / 2, "back-off " + i + ": " + ms);
    }
  }

  @Test
  void chat_clientErrors_failAtOnceQuotingTheServer() {
    for (int status : new int[] {400, 401, 403, 404}) {
      server.resetAll();
      server.stubFor(
          post(urlEqualTo(PATH))
              .willReturn(json(status, Stubs.error("The model `nope` does not exist", "invalid_request_error"))));
      ModelException e =
          assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")));
      assertEquals(status, e.statusCode());
      assertEquals(status, e.httpStatus().orElseThrow());
      assertFalse(e.retryable());
      assertEquals("The model `nope` does not exist", e.providerMessage());
      assertTrue(e.getMessage().contains("HTTP " + status + ": The model `nope` does not exist"), e.getMessage());
      assertTrue(e.getMessage().contains("/v1/chat/completions"), e.getMessage());
      assertEquals(1, requests());
      assertEquals(List.of(), sleeper.slept);
    }
  }

  @Test
  void chat_errorBodyInOtherShapes_isQuoted() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(400, "{\"error\":\"model 'x' not found\"}")));
    assertEquals(
        "model 'x' not found",
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"))).providerMessage());
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(400, "{\"object\":\"error\",\"message\":\"bad temp\"}")));
    assertEquals(
        "bad temp",
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"))).providerMessage());
    server.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withStatus(404).withBody("<html><body>Not Found</body></html>")));
    ModelException notFound =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")));
    assertEquals("", notFound.providerMessage());
    // Regression (found by a usability review): a base URL without /v1 gave a bare 404.
    assertTrue(
        notFound.getMessage().endsWith(
            "HTTP 404 (the server has no such path or model: check that the base URL is the API's"
                + " root, which usually ends in /v1, and the model name)"),
        notFound.getMessage());
  }

  @Test
  void chat_connectionReset_isRetried() {
    stubSequence(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER), ok("after reset"));
    assertEquals("after reset", model().chat(ChatRequest.of("q")).text());
    assertEquals(2, requests());
  }

  @Test
  void chat_connectionResetEveryTime_failsRetryableWithTheCause() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    ModelException e =
        assertThrows(
            ModelException.class,
            () -> model(Stubs.client(server, sleeper).maxAttempts(2)).chat(ChatRequest.of("q")));
    assertTrue(e.retryable());
    assertEquals(-1, e.statusCode());
    assertTrue(e.httpStatus().isEmpty());
    assertTrue(e.getMessage().contains("I/O error"), e.getMessage());
    assertInstanceOf(java.io.IOException.class, e.getCause());
  }

  @Test
  void chat_malformedJson_failsClearly() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, "{\"choices\": [ {\"message\": ")));
    ModelException e = assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")));
    assertTrue(e.getMessage().contains("unreadable response: malformed JSON"), e.getMessage());
    assertFalse(e.retryable());
  }

  @Test
  void chat_missingFields_failClearly() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, "{\"id\":\"x\"}")));
    assertTrue(
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")))
            .getMessage()
            .contains("no \"choices\""));
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, "{\"choices\":[{\"index\":0}]}")));
    assertTrue(
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")))
            .getMessage()
            .contains("has no \"message\""));
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, "[1,2]")));
    assertTrue(
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q")))
            .getMessage()
            .contains("not a JSON object"));
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, "{\"choices\":[{\"message\":{\"content\":null}}]}")));
    ChatResponse empty = model().chat(ChatRequest.of("q"));
    assertEquals("", empty.text());
    assertEquals(FinishReason.UNKNOWN, empty.finishReason());
    assertEquals(TokenUsage.UNKNOWN, empty.usage());
  }

  @Test
  void chat_readTimeout_failsRetryableWithinTheTimeout() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("late").withFixedDelay(3_000)));
    OpenAiChatModel model =
        model(Stubs.client(server, sleeper).readTimeout(Duration.ofMillis(200)).maxAttempts(2));
    ModelException e = assertThrows(ModelException.class, () -> model.chat(ChatRequest.of("q")));
    assertTrue(e.retryable());
    assertTrue(e.getMessage().contains("timed out"), e.getMessage());
    // The client gives up on its own clock, so a server thread starved past 200 ms may record the
    // second request after the call has failed.
    await("both attempts reached the server", () -> requests() == 2);
    assertEquals(1, sleeper.slept.size());
  }

  @Test
  void chatStream_cutMidway_failsWithoutRetryAfterTokensWereDelivered() {
    String cut =
        Stubs.chunk("Partial") + Stubs.chunk(" answer") + "data: {\"choices\":[{\"delta\":{\"con";
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events(cut)));
    List<String> tokens = new ArrayList<>();
    List<ModelException> errors = new ArrayList<>();
    ChatStreamListener listener =
        new ChatStreamListener() {
          @Override
          public void onToken(String token) {
            tokens.add(token);
          }

          @Override
          public void onError(ModelException error) {
            errors.add(error);
          }
        };
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"), listener));
    assertEquals(List.of("Partial", " answer"), tokens);
    assertEquals(List.of(e), errors);
    assertTrue(e.getMessage().contains("stream ended before the answer was complete"), e.getMessage());
    assertTrue(e.getMessage().contains("after 14 chars were delivered"), e.getMessage());
    assertEquals(1, requests(), "a stream that delivered tokens must not be retried");
  }

  @Test
  void chatStream_cutBeforeAnyToken_isRetried() {
    stubSequence(events(": nothing yet\n\n"), events(Stubs.stream("second try")));
    assertEquals("second try", model().chat(ChatRequest.of("q"), ChatStreamListener.NONE).text());
    assertEquals(2, requests());
  }

  @Test
  void chatStream_connectionResetMidway_failsClearly() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withFault(Fault.RANDOM_DATA_THEN_CLOSE)));
    ModelException e =
        assertThrows(
            ModelException.class,
            () -> model(Stubs.client(server, sleeper).maxAttempts(1)).chat(ChatRequest.of("q"), ChatStreamListener.NONE));
    assertTrue(e.retryable(), e.getMessage());
  }

  @Test
  void chatStream_longerThanCallTimeout_isNotCutOnceStarted() {
    // Regression (of the test): a 400 ms callTimeout had to cover the JVM's first WireMock and
    // OkHttp request too, which takes longer, so the test failed whenever it ran alone. The
    // timeout now covers the setup with room to spare, and the stream outlasts it by far.
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(events(Stubs.stream("a slow but steady answer")).withChunkedDribbleDelay(6, 4_000)));
    OpenAiChatModel model = model(Stubs.client(server, sleeper).callTimeout(Duration.ofSeconds(2)).maxAttempts(1));
    assertEquals(
        "a slow but steady answer",
        model.chat(ChatRequest.of("q"), ChatStreamListener.NONE).text());
  }

  @Test
  void chatStream_errorEventAndMalformedEvent_failClearly() {
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(events("data: {\"error\":{\"message\":\"context length exceeded\"}}\n\n")));
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"), ChatStreamListener.NONE));
    assertEquals("context length exceeded", e.providerMessage());
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events("data: {not json}\n\n")));
    e = assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"), ChatStreamListener.NONE));
    assertTrue(e.getMessage().contains("malformed JSON in a stream event"), e.getMessage());
  }

  @Test
  void chatStream_httpErrorBeforeStream_reportsStatus() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(401, Stubs.error("Incorrect API key provided", "invalid_api_key"))));
    ModelException e =
        assertThrows(ModelException.class, () -> model().chat(ChatRequest.of("q"), ChatStreamListener.NONE));
    assertEquals(401, e.statusCode());
  }

  @Test
  void circuitBreaker_opensAfterRepeatedFailures_thenHalfOpensLater() {
    Stubs.MutableClock clock = new Stubs.MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    OpenAiClient client =
        Stubs.client(server, sleeper)
            .clock(clock)
            .maxAttempts(1)
            .circuitBreakerConfig(
                CircuitBreakerConfig.custom()
                    .slidingWindowSize(4)
                    .minimumNumberOfCalls(4)
                    .failureRateThreshold(50)
                    .waitDurationInOpenState(Duration.ofSeconds(30))
                    .permittedNumberOfCallsInHalfOpenState(1)
                    .build())
            .build();
    OpenAiChatModel model = OpenAiChatModel.builder().client(client).model("gpt-test").build();
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(500, Stubs.error("down", "server_error"))));
    for (int i = 0; i < 4; i++) {
      assertEquals(500, assertThrows(ModelException.class, () -> model.chat(ChatRequest.of("q"))).statusCode());
    }
    CircuitBreaker breaker = client.circuitBreaker("chat/completions");
    assertEquals(CircuitBreaker.State.OPEN, breaker.getState());

    ModelException fast = assertThrows(ModelException.class, () -> model.chat(ChatRequest.of("q")));
    assertTrue(fast.getMessage().contains("circuit breaker is OPEN"), fast.getMessage());
    assertTrue(fast.getMessage().contains("failing fast"), fast.getMessage());
    assertTrue(fast.retryable());
    assertEquals(4, requests(), "an open breaker sends no request");

    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("back")));
    clock.advance(Duration.ofSeconds(31));
    assertEquals("back", model.chat(ChatRequest.of("q")).text());
    assertEquals(CircuitBreaker.State.CLOSED, breaker.getState());
    assertEquals(5, requests());
  }

  @Test
  void circuitBreaker_ignoresRateLimitsAndClientErrors() {
    OpenAiClient client =
        Stubs.client(server, sleeper)
            .maxAttempts(1)
            .circuitBreakerConfig(
                CircuitBreakerConfig.custom().slidingWindowSize(2).minimumNumberOfCalls(2).build())
            .build();
    OpenAiChatModel model = OpenAiChatModel.builder().client(client).build();
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(429, Stubs.error("slow", "rate_limit_exceeded"))));
    for (int i = 0; i < 3; i++) {
      assertThrows(ModelException.class, () -> model.chat(ChatRequest.of("q")));
    }
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(400, Stubs.error("bad", "invalid_request_error"))));
    for (int i = 0; i < 3; i++) {
      assertThrows(ModelException.class, () -> model.chat(ChatRequest.of("q")));
    }
    assertEquals(CircuitBreaker.State.CLOSED, client.circuitBreaker("chat/completions").getState());
  }

  @Test
  void limiter_retryableError_givesTheWorkerBackInsteadOfSleeping() throws Exception {
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(json(429, Stubs.error("Rate limit reached", "rate_limit_exceeded")).withHeader("Retry-After", "3")));
    OpenAiChatModel model = model();
    RetryLaterException later =
        assertThrows(
            RetryLaterException.class,
            () -> LimitedCallTesting.runAsAttempt(1, () -> model.chat(ChatRequest.of("q"))));
    assertEquals(Duration.ofSeconds(3), later.delay());
    ModelException cause = assertInstanceOf(ModelException.class, later.getCause());
    assertEquals(429, cause.statusCode());
    assertEquals(List.of(), sleeper.slept, "no sleeping on a limiter worker");
    assertEquals(1, requests(), "one HTTP attempt per limiter run");
  }

  @Test
  void limiter_exponentialBackoff_usesTheLimitersAttemptNumber() throws Exception {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(503, Stubs.error("busy", "server_error"))));
    OpenAiChatModel model = model();
    RetryLaterException later =
        assertThrows(
            RetryLaterException.class,
            () -> LimitedCallTesting.runAsAttempt(3, () -> model.chat(ChatRequest.of("q"))));
    long ms = later.delay().toMillis();
    assertTrue(ms >= 1000 && ms <= 3000, "third back-off ~2 s: " + ms);
  }

  @Test
  void limiter_lastAttempt_throwsTheModelException() throws Exception {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(503, Stubs.error("busy", "server_error"))));
    OpenAiChatModel model = model(Stubs.client(server, sleeper).maxAttempts(3));
    ModelException e =
        assertThrows(
            ModelException.class,
            () -> LimitedCallTesting.runAsAttempt(3, () -> model.chat(ChatRequest.of("q"))));
    assertEquals(503, e.statusCode());
    assertEquals(1, requests());
  }

  @Test
  void limiter_clientError_throwsTheModelException() throws Exception {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(400, Stubs.error("bad", "invalid_request_error"))));
    OpenAiChatModel model = model();
    assertEquals(
        400,
        assertThrows(
                ModelException.class,
                () -> LimitedCallTesting.runAsAttempt(1, () -> model.chat(ChatRequest.of("q"))))
            .statusCode());
  }

  @Test
  void limiter_streamFailsBeforeTokens_retriesLater_notAfter() throws Exception {
    OpenAiChatModel model = model();
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(503, Stubs.error("busy", "server_error"))));
    List<String> ends = new ArrayList<>();
    ChatStreamListener listener =
        new ChatStreamListener() {
          @Override
          public void onError(ModelException error) {
            ends.add("error");
          }
        };
    assertThrows(
        RetryLaterException.class,
        () -> LimitedCallTesting.runAsAttempt(1, () -> model.chat(ChatRequest.of("q"), listener)));
    assertEquals(List.of(), ends, "the call runs again: the listener is not told");
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events(Stubs.chunk("half"))));
    assertThrows(
        ModelException.class,
        () -> LimitedCallTesting.runAsAttempt(1, () -> model.chat(ChatRequest.of("q"), listener)));
    assertEquals(List.of("error"), ends);
  }

  @Test
  void concurrentCallers_reuseABoundedNumberOfConnections() throws Exception {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("pooled").withFixedDelay(5)));
    AtomicInteger connects = new AtomicInteger();
    OpenAiClient client =
        Stubs.client(server, sleeper)
            .maxConnections(8)
            .eventListenerFactory(
                call ->
                    new EventListener() {
                      @Override
                      public void connectStart(
                          Call c, java.net.InetSocketAddress address, java.net.Proxy proxy) {
                        connects.incrementAndGet();
                      }
                    })
            .build();
    OpenAiChatModel model = OpenAiChatModel.builder().client(client).build();
    int callers = 8;
    int callsEach = 25;
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> futures = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int j = 0; j < callsEach; j++) {
                    model.chat(ChatRequest.of("q"));
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
    }
    assertEquals(callers * callsEach, requests());
    assertTrue(connects.get() <= callers, "connections opened: " + connects.get());
    assertTrue(client.okHttpClient().connectionPool().connectionCount() <= 8);
  }

  @Test
  void warmup_opensAPooledConnectionAndChecksTheKey() {
    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(json(200, "{\"data\":[]}")));
    OpenAiChatModel model = model();
    model.warmup();
    assertEquals(1, model.client().okHttpClient().connectionPool().connectionCount());
    server.verify(getRequestedFor(urlEqualTo("/v1/models")).withHeader("Authorization", equalTo("Bearer " + Stubs.API_KEY)));

    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(json(404, "{}")));
    model.warmup(); // servers without /models are fine

    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(json(401, Stubs.error("Incorrect API key provided: " + Stubs.API_KEY, "invalid_api_key"))));
    ModelException e = assertThrows(ModelException.class, model::warmup);
    assertEquals(401, e.statusCode());
    assertFalse(e.getMessage().contains(Stubs.API_KEY), e.getMessage());
  }

  @Test
  void warmupForManyCalls_opensThatManyConnections_evenWhenEachCallStartsAfterTheLastAnswered() {
    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(json(200, "{\"data\":[]}")));
    // Call k starts only once call k - 1 has its answer's headers: were that answer's connection
    // handed back at once, call k would take it, and six calls would open one connection.
    int n = 6;
    List<java.util.concurrent.CountDownLatch> answered = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      answered.add(new java.util.concurrent.CountDownLatch(1));
    }
    var created = new java.util.concurrent.atomic.AtomicInteger();
    okhttp3.EventListener.Factory staggered =
        call -> {
          int k = created.getAndIncrement();
          return new okhttp3.EventListener() {
            @Override
            public void callStart(okhttp3.Call call) {
              if (k > 0 && k <= n) {
                try {
                  assertTrue(answered.get(k - 1).await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                  throw new AssertionError(e);
                }
              }
            }

            @Override
            public void responseHeadersEnd(okhttp3.Call call, okhttp3.Response response) {
              if (k < n) {
                answered.get(k).countDown();
              }
            }
          };
        };
    OpenAiChatModel model = model(Stubs.client(server, sleeper).eventListenerFactory(staggered));
    model.warmup(n);
    assertEquals(n, model.client().okHttpClient().connectionPool().connectionCount());
    server.verify(n, getRequestedFor(urlEqualTo("/v1/models")));
  }

  @Test
  void warmupForManyCalls_opensNoMoreThanThePoolKeeps() {
    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(json(200, "{\"data\":[]}")));
    OpenAiChatModel model = model(Stubs.client(server, sleeper).maxConnections(3));
    model.warmup(10);
    assertEquals(3, model.client().okHttpClient().connectionPool().connectionCount());
    server.verify(3, getRequestedFor(urlEqualTo("/v1/models")));
  }

  @Test
  void warmupForManyCalls_refusedKey_failsWithTheStatus() {
    server.stubFor(
        get(urlEqualTo("/v1/models")).willReturn(json(403, Stubs.error("no access", "forbidden"))));
    ModelException e = assertThrows(ModelException.class, () -> model().warmup(4));
    assertEquals(403, e.statusCode());
    assertTrue(e.getMessage().contains("refused the credentials"), e.getMessage());
  }

  @Test
  void warmupForManyCalls_noConnections_isRefusedBeforeAnyRequest() {
    var e = assertThrows(IllegalArgumentException.class, () -> model().warmup(0));
    assertEquals("connections: 0 (expected: > 0)", e.getMessage());
    server.verify(0, getRequestedFor(urlEqualTo("/v1/models")));
  }

  @Test
  void warmupForManyCalls_noCallGetsThrough_failsAsRetryable() throws Exception {
    int closedPort;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    OpenAiChatModel model =
        model(
            OpenAiClient.builder()
                .baseUrl("http://127.0.0.1:" + closedPort + "/v1")
                .apiKey(Stubs.API_KEY)
                .sleeper(sleeper));
    ModelException e = assertThrows(ModelException.class, () -> model.warmup(4));
    assertTrue(e.retryable());
    assertTrue(e.getMessage().contains("cannot reach the provider"), e.getMessage());
  }

  @Test
  void listenerThrowing_cancelsTheStream() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events(Stubs.stream("a b c d"))));
    IllegalStateException boom = new IllegalStateException("boom");
    AtomicInteger calls = new AtomicInteger();
    IllegalStateException thrown =
        assertThrows(
            IllegalStateException.class,
            () ->
                model()
                    .chat(
                        ChatRequest.of("q"),
                        new ChatStreamListener() {
                          @Override
                          public void onToken(String token) {
                            calls.incrementAndGet();
                            throw boom;
                          }
                        }));
    assertSame(boom, thrown);
    assertEquals(1, calls.get());
    assertEquals(1, requests());
  }

  @Test
  void builder_clientAndBaseUrl_conflict() {
    OpenAiClient client = Stubs.client(server, sleeper).build();
    assertThrows(
        IllegalStateException.class,
        () -> OpenAiChatModel.builder().client(client).baseUrl("http://127.0.0.1:1/v1").build());
    // Regression (found by a usability review): with none of client, baseUrl and apiKey, a
    // private client to api.openai.com with no key was built, and only the first call said so.
    var none = assertThrows(IllegalStateException.class, () -> OpenAiChatModel.builder().build());
    assertEquals(
        "client: not set (expected: client(..) with a shared OpenAiClient, or baseUrl(..) and/or"
            + " apiKey(..) for a private one; with neither, requests would go to"
            + " https://api.openai.com/v1 with no key)",
        none.getMessage());
    assertThrows(IllegalStateException.class, () -> OpenAiEmbeddingModel.builder().build());
    OpenAiChatModel.builder().apiKey("sk-test").build().client().close();
    var e =
        assertThrows(IllegalArgumentException.class, () -> OpenAiClient.builder().baseUrl("ftp://x"));
    assertEquals("baseUrl: \"ftp://x\" (expected: an http:// or https:// URL)", e.getMessage());
    assertEquals(
        "maxAttempts: 0 (expected: > 0)",
        assertThrows(IllegalArgumentException.class, () -> OpenAiClient.builder().maxAttempts(0))
            .getMessage());
  }

  @Test
  void baseUrl_trailingSlash_isIgnored() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("x")));
    OpenAiClient client =
        OpenAiClient.builder().baseUrl(Stubs.baseUrl(server) + "/").sleeper(sleeper).build();
    OpenAiChatModel.builder().client(client).build().chat(ChatRequest.of("q"));
    assertEquals(1, requests());
    assertEquals(Stubs.baseUrl(server), client.baseUrl());
  }

  @Test
  void noApiKey_sendsNoAuthorization() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(ok("local")));
    OpenAiChatModel model =
        OpenAiChatModel.builder().baseUrl(Stubs.baseUrl(server)).model("llama3").build();
    assertEquals("local", model.chat(ChatRequest.of("q")).text());
    server.verify(postRequestedFor(urlEqualTo(PATH)).withoutHeader("Authorization"));
  }

  @Test
  void streamUsageDisabled_sendsNoStreamOptions() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(events(Stubs.stream("x"))));
    OpenAiChatModel model =
        OpenAiChatModel.builder()
            .client(Stubs.client(server, sleeper).build())
            .streamUsageEnabled(false)
            .build();
    model.chat(ChatRequest.of("q"), ChatStreamListener.NONE);
    assertFalse(
        server.findAll(postRequestedFor(urlEqualTo(PATH))).get(0).getBodyAsString().contains("stream_options"));
    server.verify(postRequestedFor(urlEqualTo(PATH)).withRequestBody(containing("\"stream\":true")));
  }
}
