package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.EmbeddingModelContractTest;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The shared embedding contract, against {@link OpenAiEmbeddingModel} and a WireMock server. */
final class OpenAiEmbeddingModelContractTest extends EmbeddingModelContractTest {
  private static final int DIMENSION = 8;
  private static WireMockServer server;
  private OpenAiEmbeddingModel model;
  private int seed;

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
        OpenAiEmbeddingModel.builder()
            .client(Stubs.client(server, new Stubs.RecordingSleeper()).build())
            .model("embed-test")
            .dimensions(DIMENSION)
            .build();
  }

  @Override
  protected EmbeddingModel model() {
    return model;
  }

  @Override
  protected List<float[]> givenVectors(List<String> texts) {
    List<float[]> vectors = Stubs.vectors(texts.size(), DIMENSION, ++seed);
    server.stubFor(
        post(urlEqualTo("/v1/embeddings"))
            .withRequestBody(
                matchingJsonPath("$.input", equalToJson(Json.MAPPER.valueToTree(texts).toString())))
            .atPriority(5)
            .willReturn(
                aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "application/json")
                    .withBody(Stubs.embeddings(vectors, true))));
    return vectors;
  }

  @Override
  protected void givenBadRequest(String providerMessage) {
    server.stubFor(
        post(urlEqualTo("/v1/embeddings"))
            .atPriority(1)
            .willReturn(
                aResponse()
                    .withStatus(400)
                    .withHeader("Content-Type", "application/json")
                    .withBody(Stubs.error(providerMessage, "invalid_request_error"))));
  }
}
