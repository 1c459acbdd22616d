package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.ragengine.model.ChatModel;
import io.ragengine.model.ChatModelContractTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The shared chat contract, against {@link OpenAiChatModel} and a WireMock server. */
final class OpenAiChatModelContractTest extends ChatModelContractTest {
  private static WireMockServer server;
  private OpenAiChatModel model;

  @BeforeAll
  static void startServer() {
    server = Stubs.startServer();
  }

  @AfterAll
  static void stopServer() {
    server.stop();
  }

  @BeforeEach
  void setUp() {
    server.resetAll();
    server.stubFor(get(urlEqualTo("/v1/models")).willReturn(aResponse().withStatus(200).withBody("{\"data\":[]}")));
    model =
        OpenAiChatModel.builder()
            .client(Stubs.client(server, new Stubs.RecordingSleeper()).build())
            .model("gpt-test")
            .build();
  }

  @Override
  protected ChatModel model() {
    return model;
  }

  @Override
  protected void givenReply(String text) {
    server.stubFor(
        post(urlEqualTo("/v1/chat/completions"))
            .atPriority(5)
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody(Stubs.completion(text, "stop"))));
    server.stubFor(
        post(urlEqualTo("/v1/chat/completions"))
            .withRequestBody(containing("\"stream\":true"))
            .atPriority(4)
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "text/event-stream")
                    .withBody(Stubs.stream(text))));
  }

  @Override
  protected void givenBadRequest(String providerMessage) {
    server.stubFor(
        post(urlEqualTo("/v1/chat/completions"))
            .atPriority(1)
            .willReturn(
                aResponse()
                    .withStatus(400)
                    .withHeader("Content-Type", "application/json")
                    .withBody(Stubs.error(providerMessage, "invalid_request_error"))));
  }
}
