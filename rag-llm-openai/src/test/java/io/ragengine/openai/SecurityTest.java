package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatStreamListener;
import io.ragengine.model.ModelException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The API key and prompt text never leave through logs, exceptions or toString. */
final class SecurityTest {
  private static final String GATEWAY_SECRET = "gw-token-9f8e7d6c5b4a";
  private static final String PROMPT =
      "Confidential merger memo: Acme acquires Globex for 4.2 billion on March 3rd";
  private static WireMockServer server;

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

  private static String everything(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    StringBuilder sb = new StringBuilder(w.toString());
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append('\n').append(c).append('\n').append(c.getMessage());
      if (c instanceof ModelException me) {
        sb.append('\n').append(me.providerMessage());
      }
    }
    return sb.toString();
  }

  private static void assertClean(String text) {
    assertFalse(text.contains(Stubs.API_KEY), "API key leaked:\n" + text);
    assertFalse(text.contains("SECRETKEY"), "part of the API key leaked:\n" + text);
    assertFalse(text.contains(GATEWAY_SECRET), "gateway header value leaked:\n" + text);
    assertFalse(text.contains("merger memo"), "prompt text leaked:\n" + text);
  }

  @Test
  void apiKey_neverInLogsExceptionsOrToString() {
    List<Throwable> failures = new ArrayList<>();
    String logs;
    try (LogCapture capture = new LogCapture()) {
      OpenAiClient client =
          Stubs.client(server, new Stubs.RecordingSleeper())
              .header("X-Gateway-Token", GATEWAY_SECRET)
              .readTimeout(Duration.ofMillis(300))
              .maxAttempts(2)
              // Every failure must reach the server: keep the breaker closed throughout.
              .circuitBreakerConfig(
                  io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.custom()
                      .slidingWindowSize(1000)
                      .minimumNumberOfCalls(1000)
                      .build())
              .build();
      OpenAiChatModel chat = OpenAiChatModel.builder().client(client).build();
      OpenAiEmbeddingModel embed = OpenAiEmbeddingModel.builder().client(client).build();
      ChatRequest request = ChatRequest.of(PROMPT);

      // A server that echoes the key, the gateway token and the prompt in its error messages.
      String echo =
          "Incorrect API key provided: "
              + Stubs.API_KEY
              + " (token "
              + GATEWAY_SECRET
              + ") for input '"
              + PROMPT
              + "'";
      int[] statuses = {400, 401, 403, 404, 429, 500, 503};
      for (int status : statuses) {
        server.stubFor(
            any(anyUrl())
                .willReturn(
                    aResponse()
                        .withStatus(status)
                        .withHeader("Content-Type", "application/json")
                        .withBody(Stubs.error(echo, "invalid_api_key"))));
        failures.add(assertThrows(ModelException.class, () -> chat.chat(request)));
        failures.add(
            assertThrows(ModelException.class, () -> chat.chat(request, ChatStreamListener.NONE)));
        failures.add(assertThrows(ModelException.class, () -> embed.embed(List.of(PROMPT))));
        // A warm-up sends no prompt, so its echo carries only the secrets.
        server.stubFor(
            com.github.tomakehurst.wiremock.client.WireMock.get(urlEqualTo("/v1/models"))
                .atPriority(1)
                .willReturn(
                    aResponse()
                        .withStatus(status)
                        .withBody(
                            Stubs.error(
                                "Incorrect API key provided: " + Stubs.API_KEY + " " + GATEWAY_SECRET,
                                "invalid_api_key"))));
        if (status == 401 || status == 403) {
          failures.add(assertThrows(ModelException.class, chat::warmup));
        } else {
          chat.warmup(); // only refused credentials fail a warm-up
        }
      }
      server.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(500).withBody(echo)));
      failures.add(assertThrows(ModelException.class, () -> chat.chat(request)));
      server.stubFor(any(anyUrl()).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
      failures.add(assertThrows(ModelException.class, () -> chat.chat(request)));
      server.stubFor(
          any(anyUrl())
              .willReturn(aResponse().withStatus(200).withBody("{}").withFixedDelay(2_000)));
      failures.add(assertThrows(ModelException.class, () -> embed.embed(List.of(PROMPT))));
      server.stubFor(
          post(urlEqualTo("/v1/chat/completions"))
              .willReturn(
                  aResponse()
                      .withStatus(200)
                      .withHeader("Content-Type", "text/event-stream")
                      .withBody("data: {\"error\":{\"message\":\"" + echo + "\"}}\n\n")));
      failures.add(
          assertThrows(ModelException.class, () -> chat.chat(request, ChatStreamListener.NONE)));

      assertClean(client.toString());
      assertClean(chat.toString());
      assertClean(embed.toString());
      assertClean(request.toString());
      assertTrue(client.toString().contains("apiKey=<set>"), client.toString());
      assertTrue(client.toString().contains("headers=[X-Gateway-Token]"), client.toString());
      logs = capture.text();
    }
    for (Throwable t : failures) {
      assertClean(everything(t));
    }
    assertTrue(logs.contains("/v1/chat/completions"), "debug logging was on:\n" + logs);
    assertClean(logs);
  }

  @Test
  void apiKey_withALineBreak_isRefusedAtTheSetterWithoutEchoingIt() {
    String key = "sk-SECRET-0123456789ab\n" + Stubs.API_KEY;
    String expected =
        "apiKey: a character not allowed in an HTTP header at index 22 (0x0a)"
            + " (expected: visible ASCII, space or tab)";
    OpenAiClient.Builder client = OpenAiClient.builder();
    List<Executable> setters =
        List.of(
            () -> client.apiKey(key),
            () -> OpenAiChatModel.builder().apiKey(key),
            () -> OpenAiEmbeddingModel.builder().apiKey(key));
    for (Executable setter : setters) {
      String message =
          String.valueOf(assertThrows(IllegalArgumentException.class, setter).getMessage());
      assertEquals(expected, message);
      assertClean(message);
      assertFalse(message.contains("SECRET"), message);
    }
    assertTrue(client.build().toString().contains("apiKey=none"), "the bad key was not kept");
  }

  @Test
  void headerValues_withCharactersOkHttpRefuses_areRefusedNamingTheIndexAndCode() {
    OpenAiClient.Builder client = OpenAiClient.builder();
    assertEquals(
        "header X-Gateway-Token: a character not allowed in an HTTP header at index 2 (0x0d)"
            + " (expected: visible ASCII, space or tab)",
        assertThrows(
                IllegalArgumentException.class,
                () -> client.header("X-Gateway-Token", "gw\r" + GATEWAY_SECRET))
            .getMessage());
    assertEquals(
        "apiKey: a character not allowed in an HTTP header at index 5 (0x7f)"
            + " (expected: visible ASCII, space or tab)",
        assertThrows(IllegalArgumentException.class, () -> client.apiKey("sk-ab\u007f" + "cd"))
            .getMessage());
    assertEquals(
        "organization: a character not allowed in an HTTP header at index 3 (0xe9)"
            + " (expected: visible ASCII, space or tab)",
        assertThrows(IllegalArgumentException.class, () -> client.organization("org\u00e9"))
            .getMessage());
    assertEquals(
        "project: a character not allowed in an HTTP header at index 1 (0x1f600)"
            + " (expected: visible ASCII, space or tab)",
        assertThrows(IllegalArgumentException.class, () -> client.project("p\uD83D\uDE00"))
            .getMessage());
    // Spaces and tabs are allowed inside a value, as OkHttp allows them.
    OpenAiClient ok =
        client
            .apiKey(Stubs.API_KEY)
            .header("X-Gateway-Token", GATEWAY_SECRET + "\t x")
            .organization("Org One")
            .build();
    assertClean(ok.toString());
    assertTrue(ok.toString().contains("headers=[X-Gateway-Token]"), ok.toString());
  }

  @Test
  void headerNames_thatAreNotTokens_areRefusedNamingTheIndexAndCode() {
    OpenAiClient.Builder client = OpenAiClient.builder();
    String expected =
        " has a character not allowed in an HTTP header name at index %d (%s)"
            + " (expected: letters, digits and !#$%%&'*+-.^_`|~)";
    assertEquals(
        "apiKeyHeader: \"api key\"" + String.format(expected, 3, "0x20"),
        assertThrows(IllegalArgumentException.class, () -> client.apiKeyHeader("api key"))
            .getMessage());
    assertEquals(
        "header name: \"X-Token:\"" + String.format(expected, 7, "0x3a"),
        assertThrows(
                IllegalArgumentException.class, () -> client.header("X-Token:", GATEWAY_SECRET))
            .getMessage());
    assertEquals(
        "header name: \"X-T\u00f6ken\"" + String.format(expected, 3, "0xf6"),
        assertThrows(
                IllegalArgumentException.class, () -> client.header("X-T\u00f6ken", GATEWAY_SECRET))
            .getMessage());
    assertTrue(client.header("X-Odd_But.Legal~Name!", "v").build().toString().contains("X-Odd"));
  }

  @Test
  void baseUrl_withUserInfo_isRefusedAtEverySetterWithoutEchoingIt() {
    String expected =
        "baseUrl: has a user:password part, which is never sent"
            + " (expected: credentials in apiKey(..) or header(..))";
    for (String url :
        List.of(
            "https://user:" + Stubs.API_KEY + "@example.com/v1",
            "https://" + Stubs.API_KEY + "@example.com/v1",
            "http://:" + Stubs.API_KEY + "@127.0.0.1:8000/v1")) {
      OpenAiClient.Builder client = OpenAiClient.builder();
      OpenAiChatModel.Builder chat = OpenAiChatModel.builder();
      OpenAiEmbeddingModel.Builder embed = OpenAiEmbeddingModel.builder();
      for (Executable setter :
          List.<Executable>of(
              () -> client.baseUrl(url), () -> chat.baseUrl(url), () -> embed.baseUrl(url))) {
        var e = assertThrows(IllegalArgumentException.class, setter, url);
        assertEquals(expected, e.getMessage());
      }
      assertEquals(OpenAiClient.DEFAULT_BASE_URL, client.build().baseUrl());
      assertClean(client.build().toString());
      // The refused URL was not kept: the model builders still have nothing to build a client from.
      assertThrows(IllegalStateException.class, chat::build);
      assertThrows(IllegalStateException.class, embed::build);
    }
  }

  @Test
  void baseUrl_unparsableWithUserInfo_isQuotedWithoutIt() {
    String url = "htps://user:" + Stubs.API_KEY + "@example.com/v1";
    var e = assertThrows(IllegalArgumentException.class, () -> OpenAiClient.builder().baseUrl(url));
    assertEquals(
        "baseUrl: \"htps://<user info>@example.com/v1\" (expected: an http:// or https:// URL)",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> OpenAiChatModel.builder().baseUrl(Stubs.API_KEY + "@example.com"));
    assertEquals(
        "baseUrl: \"<user info>@example.com\" (expected: an http:// or https:// URL)",
        e.getMessage());
    // Passwords holding '/', '#' or a later "://" once ended the authority early: nothing was hidden.
    for (String leaky :
        List.of(
            "https://user:" + Stubs.API_KEY + "/x@example.com/v1",
            "https://user:" + Stubs.API_KEY + "#x@example.com/v1",
            "user:" + Stubs.API_KEY + "/x@example.com/v1",
            "user:" + Stubs.API_KEY + "@proxy/x?to=https://api.openai.com")) {
      var refused =
          assertThrows(IllegalArgumentException.class, () -> OpenAiClient.builder().baseUrl(leaky));
      assertClean(String.valueOf(refused.getMessage()));
    }
  }

  @Test
  void providerMessage_keepsTheUsefulPartAroundRedactions() {
    server.stubFor(
        any(anyUrl())
            .willReturn(
                aResponse()
                    .withStatus(400)
                    .withBody(Stubs.error("Incorrect API key provided: " + Stubs.API_KEY, "invalid_api_key"))));
    OpenAiChatModel chat =
        OpenAiChatModel.builder()
            .client(Stubs.client(server, new Stubs.RecordingSleeper()).build())
            .build();
    ModelException e = assertThrows(ModelException.class, () -> chat.chat(ChatRequest.of("q")));
    assertEquals("Incorrect API key provided: <redacted>", e.providerMessage());
  }

  @Test
  void plainHttp_toANonLoopbackHost_warnsOncePerHost() {
    String logs;
    try (LogCapture capture = new LogCapture()) {
      OpenAiClient.builder().baseUrl("http://llm.internal.example:8000/v1").apiKey("k").build();
      OpenAiClient.builder().baseUrl("http://llm.internal.example:8000/v1").build();
      OpenAiClient.builder().baseUrl("http://127.0.0.1:8000/v1").build();
      OpenAiClient.builder().baseUrl("http://localhost:11434/v1").build();
      OpenAiClient.builder().baseUrl("http://[::1]:8000/v1").build();
      OpenAiClient.builder().baseUrl("https://api.example.com/v1").build();
      logs = capture.text();
    }
    long warnings = logs.lines().filter(l -> l.contains("WARN") && l.contains("plain http")).count();
    assertEquals(1, warnings, logs);
    assertTrue(logs.contains("llm.internal.example"), logs);
    assertFalse(logs.contains("127.0.0.1:8000"), logs);
  }

  @Test
  void loopbackDetection_neverResolvesNames() {
    assertTrue(OpenAiClient.isLoopback("localhost"));
    assertTrue(OpenAiClient.isLoopback("127.0.0.2"));
    assertTrue(OpenAiClient.isLoopback("::1"));
    assertFalse(OpenAiClient.isLoopback("10.0.0.1"));
    assertFalse(OpenAiClient.isLoopback("example.com"));
  }

  @Test
  void redactor_hidesQuotesOfInputs() {
    Redactor r = new Redactor(List.of("sk-secret")).withInputs(List.of(PROMPT, "short"));
    String quoted = "bad input 'Acme acquires Globex for 4.2 billion on March' with key sk-secret";
    assertEquals("bad input '<input text>' with key <redacted>", r.redact(quoted));
    assertEquals("short message", r.redact("short message"));
  }
}
