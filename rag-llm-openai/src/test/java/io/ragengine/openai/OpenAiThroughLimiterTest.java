package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.Priority;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI client and the real {@link CallLimiter} together, over real HTTP: a 429 inside a
 * limiter call gives the worker back for the back-off, so another call uses the slot meanwhile,
 * and no thread sleeps through the wait.
 */
final class OpenAiThroughLimiterTest {
  private static final String PATH = "/v1/chat/completions";
  private static WireMockServer server;

  @BeforeAll
  static void startServer() {
    server = Stubs.startServer();
  }

  @AfterAll
  static void stopServer() {
    server.stop();
  }

  @Test
  void rateLimited_insideLimiter_givesSlotToNextCallAndRetriesAfterHint() throws Exception {
    server.resetAll();
    // "first" is rate limited once with a 50 ms hint, then answered; "second" is answered at once.
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(containing("first"))
            .inScenario("first")
            .whenScenarioStateIs(Scenario.STARTED)
            .willReturn(
                aResponse()
                    .withStatus(429)
                    .withHeader("Content-Type", "application/json")
                    .withHeader("retry-after-ms", "50")
                    .withBody(Stubs.error("Rate limit reached", "rate_limit_exceeded")))
            .willSetStateTo("answered"));
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(containing("first"))
            .inScenario("first")
            .whenScenarioStateIs("answered")
            .willReturn(ok("first answer")));
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(containing("second"))
            .willReturn(ok("second answer")));

    var sleeper = new Stubs.RecordingSleeper();
    OpenAiChatModel model =
        OpenAiChatModel.builder()
            .client(Stubs.client(server, sleeper).build())
            .model("gpt-test")
            .build();
    var config = CallLimiterConfig.builder().name("chat").maxAsync(1).build();
    try (CallLimiter limiter = CallLimiter.create(config)) {
      // One slot: "second" can only run before "first" finishes if the back-off freed the slot.
      CompletableFuture<ChatResponse> first =
          limiter.submit(Priority.EXTRACTION, () -> model.chat(ChatRequest.of("first")));
      CompletableFuture<ChatResponse> second =
          limiter.submit(Priority.EXTRACTION, () -> model.chat(ChatRequest.of("second")));

      assertEquals("first answer", first.get(10, SECONDS).text());
      assertEquals("second answer", second.get(10, SECONDS).text());

      // WireMock's journal lists the newest request first.
      List<String> order =
          new ArrayList<>(
              server.getAllServeEvents().stream()
                  .map(e -> e.getRequest().getBodyAsString().contains("first") ? "first" : "second")
                  .toList());
      Collections.reverse(order);
      assertEquals(List.of("first", "second", "first"), order);
      assertEquals(1, limiter.stats().retried());
      assertTrue(sleeper.slept.isEmpty(), "the client slept instead of giving the slot back");
    }
  }

  private static com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder ok(String text) {
    return aResponse()
        .withStatus(200)
        .withHeader("Content-Type", "application/json")
        .withBody(Stubs.completion(text, "stop"));
  }
}
