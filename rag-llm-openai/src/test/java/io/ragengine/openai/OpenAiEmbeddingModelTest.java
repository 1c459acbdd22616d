package io.ragengine.openai;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import io.ragengine.model.ModelException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

final class OpenAiEmbeddingModelTest {
  private static final String PATH = "/v1/embeddings";
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

  private OpenAiEmbeddingModel.Builder builder() {
    return OpenAiEmbeddingModel.builder()
        .client(Stubs.client(server, sleeper).build())
        .model("embed-test");
  }

  private static ResponseDefinitionBuilder json(int status, String body) {
    return aResponse().withStatus(status).withHeader("Content-Type", "application/json").withBody(body);
  }

  private static List<LoggedRequest> requests() {
    return server.findAll(postRequestedFor(urlEqualTo(PATH)));
  }

  private static List<String> inputsOf(LoggedRequest r) throws Exception {
    List<String> out = new ArrayList<>();
    for (JsonNode n : Json.MAPPER.readTree(r.getBodyAsString()).get("input")) {
      out.add(n.asText());
    }
    return out;
  }

  @Test
  void warmupForManyCalls_opensThatManyConnections() {
    server.stubFor(
        com.github.tomakehurst.wiremock.client.WireMock.get(urlEqualTo("/v1/models"))
            .willReturn(json(200, "{\"data\":[]}")));
    OpenAiEmbeddingModel model = builder().build();
    model.warmup(3);
    assertEquals(3, model.client().okHttpClient().connectionPool().connectionCount());
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void embed_nullText_namesItsIndex_beforeAnyRequest() {
    OpenAiEmbeddingModel model = builder().build();
    var e =
        assertThrows(NullPointerException.class, () -> model.embed(Arrays.asList("a", "b", null)));
    assertEquals("texts[2]", e.getMessage());
    assertEquals(
        "texts",
        assertThrows(NullPointerException.class, () -> model.embed((List<String>) null))
            .getMessage());
    assertEquals(0, requests().size());
  }

  @Test
  void embed_emptyText_namesItsIndex_beforeAnyRequest() {
    // Regression: it was sent, and OpenAI refuses the whole batch with a 400 naming no text.
    OpenAiEmbeddingModel model = builder().build();
    var e =
        assertThrows(IllegalArgumentException.class, () -> model.embed(List.of("a", "", "b")));
    assertEquals(
        "texts[1]: empty (expected: at least one character; OpenAI refuses a batch holding an"
            + " empty text with 400 \"'$.input' is invalid\", and would fail every text of it)",
        e.getMessage());
    assertEquals(0, requests().size());
  }

  @Test
  void embed_base64_decodesLittleEndianFloatsExactly() {
    float[] v = {1.5f, -0.25f, Float.MIN_VALUE, 3.4028235e38f, 0f, -0f};
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(List.of(v), true))));
    OpenAiEmbeddingModel model = builder().build();
    assertArrayEquals(v, model.embed("x"));
    assertEquals(6, model.dimension(), "learned from the answer");
    server.verify(
        postRequestedFor(urlEqualTo(PATH))
            .withRequestBody(
                equalToJson("{\"model\":\"embed-test\",\"input\":[\"x\"],\"encoding_format\":\"base64\"}")));
  }

  @Test
  void embed_floatFormat_parsesJsonNumbers() {
    List<float[]> vs = Stubs.vectors(3, 5, 1);
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(vs, false))));
    OpenAiEmbeddingModel model =
        builder().encodingFormat(OpenAiEmbeddingModel.EncodingFormat.FLOAT).build();
    List<float[]> got = model.embed(List.of("a", "b", "c"));
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(vs.get(i), got.get(i));
    }
    server.verify(postRequestedFor(urlEqualTo(PATH)).withRequestBody(containing("\"encoding_format\":\"float\"")));
  }

  @Test
  void embed_serverAnswersFloatsToBase64Request_readsThemAnyway() {
    List<float[]> vs = Stubs.vectors(2, 4, 2);
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(vs, false))));
    List<float[]> got = builder().build().embed(List.of("a", "b"));
    assertArrayEquals(vs.get(1), got.get(1));
  }

  @Test
  void embed_serverRejectsBase64_fallsBackToFloatsForGood() {
    List<float[]> vs = Stubs.vectors(1, 4, 3);
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(containing("\"encoding_format\":\"base64\""))
            .willReturn(json(400, Stubs.error("encoding_format: unsupported value 'base64'", "invalid_request_error"))));
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(containing("\"encoding_format\":\"float\""))
            .willReturn(json(200, Stubs.embeddings(vs, false))));
    OpenAiEmbeddingModel model = builder().build();
    assertArrayEquals(vs.get(0), model.embed("a"));
    assertEquals(OpenAiEmbeddingModel.EncodingFormat.FLOAT, model.encodingFormat());
    model.embed("b");
    assertEquals(3, requests().size(), "one rejected request, then floats only");
  }

  @Test
  void embed_indexOutOfOrder_placesVectorsByIndex() {
    String body =
        "{\"data\":[{\"index\":1,\"embedding\":\""
            + Stubs.base64(new float[] {2f})
            + "\"},{\"index\":0,\"embedding\":\""
            + Stubs.base64(new float[] {1f})
            + "\"}]}";
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, body)));
    List<float[]> got = builder().build().embed(List.of("a", "b"));
    assertArrayEquals(new float[] {1f}, got.get(0));
    assertArrayEquals(new float[] {2f}, got.get(1));
  }

  @Test
  void embed_wrongNumberOfEmbeddings_failsClearly() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(2, 4, 1), true))));
    ModelException e =
        assertThrows(ModelException.class, () -> builder().build().embed(List.of("a", "b", "c")));
    assertTrue(e.getMessage().contains("expected 3 embeddings, got 2"), e.getMessage());
    assertFalse(e.retryable());

    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(3, 4, 1), true))));
    e = assertThrows(ModelException.class, () -> builder().build().embed(List.of("a", "b")));
    assertTrue(e.getMessage().contains("more embeddings than inputs"), e.getMessage());
  }

  @Test
  void embed_badBodies_failClearlyNeverWithANullPointer() {
    String[][] cases = {
      {"{\"data\": [ {\"index\": 0, \"embedding\": \"AAAA", "the response ended early"},
      {"{\"data\": [ {\"index\": 0 \"embedding\": 1}]}", "malformed JSON at line 1"},
      {"{\"object\":\"list\"}", "no \"data\""},
      {"{\"data\":{}}", "\"data\" is not an array"},
      {"{\"data\":[{\"index\":0}]}", "data[0] has no embedding"},
      {"{\"data\":[{\"index\":0,\"embedding\":\"!!!not base64!!!\"}]}", "not valid base64"},
      {"{\"data\":[{\"index\":0,\"embedding\":\"AAA=\"}]}", "decodes to 2 bytes"},
      {"{\"data\":[{\"index\":0,\"embedding\":[1,\"x\"]}]}", "non-number"},
      {"{\"data\":[{\"index\":0,\"embedding\":[]}]}", "is empty"},
      {"{\"data\":[{\"index\":0,\"embedding\":true}]}", "neither base64 nor an array"},
      {"[]", "not a JSON object"},
      {"{\"error\":{\"message\":\"backend exploded\"}}", "backend exploded"},
    };
    for (String[] c : cases) {
      server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, c[0])));
      ModelException e =
          assertThrows(ModelException.class, () -> builder().maxBatchSize(5).build().embed("a"), c[0]);
      assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
    }
  }

  @Test
  void embed_dimensionMismatch_failsClearly() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(1, 4, 1), true))));
    ModelException e =
        assertThrows(ModelException.class, () -> builder().dimensions(8).build().embed("a"));
    assertTrue(e.getMessage().contains("has 4 floats (expected: 8"), e.getMessage());
    server.stubFor(
        post(urlEqualTo(PATH))
            .willReturn(json(200, Stubs.embeddings(List.of(new float[3], new float[4]), true))));
    e = assertThrows(ModelException.class, () -> builder().build().embed(List.of("a", "b")));
    assertTrue(e.getMessage().contains("embedding 1 has 4 floats (expected: 3"), e.getMessage());
  }

  @Test
  void embed_dimensionsOption_isSentAndKnownWithoutACall() {
    OpenAiEmbeddingModel model = builder().dimensions(256).build();
    assertEquals(256, model.dimension());
    assertEquals(0, requests().size());
    assertEquals(1536, builder().model("text-embedding-3-small").build().dimension());
    assertEquals(3072, builder().model("text-embedding-3-large").build().dimension());
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(1, 256, 1), true))));
    model.embed("a");
    server.verify(postRequestedFor(urlEqualTo(PATH)).withRequestBody(containing("\"dimensions\":256")));
  }

  @Test
  void dimension_unknownModel_isLearnedWithOneCall() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(1, 12, 1), true))));
    OpenAiEmbeddingModel model = builder().build();
    assertEquals(12, model.dimension());
    assertEquals(12, model.dimension());
    assertEquals(1, requests().size());
  }

  @Test
  void embed_tokenBudget_splitsRequestsAsSpecified() throws Exception {
    // 30 texts of exactly 40 cl100k tokens each ("w w w ..." is one token per word);
    // 100 tokens per request leaves room for 2 texts; 5 per request would allow more.
    String text = "w" + " w".repeat(39);
    assertEquals(40, TokenCounter.cl100k().count(text));
    List<String> texts = Collections.nCopies(30, text);
    server.stubFor(
        post(urlEqualTo(PATH))
            .withRequestBody(
                com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath("$.input.length()", com.github.tomakehurst.wiremock.client.WireMock.equalTo("2")))
            .willReturn(json(200, Stubs.embeddings(Stubs.vectors(2, 4, 1), true))));
    OpenAiEmbeddingModel model =
        builder().maxTokensPerRequest(100).maxInputTokens(100).maxBatchSize(5).build();
    List<float[]> got = model.embed(texts);
    assertEquals(30, got.size());
    List<LoggedRequest> sent = requests();
    assertEquals(15, sent.size());
    for (LoggedRequest r : sent) {
      assertEquals(2, inputsOf(r).size());
    }
  }

  @Test
  void embed_countLimit_splitsAndKeepsOrder() throws Exception {
    for (int i = 0; i < 3; i++) {
      List<String> batch = i < 2 ? List.of("t" + (2 * i), "t" + (2 * i + 1)) : List.of("t4");
      float[][] vs = new float[batch.size()][];
      for (int j = 0; j < batch.size(); j++) {
        vs[j] = new float[] {2 * i + j};
      }
      server.stubFor(
          post(urlEqualTo(PATH))
              .withRequestBody(
                  com.github.tomakehurst.wiremock.client.WireMock.matchingJsonPath(
                      "$.input", equalToJson(Json.MAPPER.valueToTree(batch).toString())))
              .willReturn(json(200, Stubs.embeddings(List.of(vs), true))));
    }
    List<float[]> got = builder().maxBatchSize(2).build().embed(List.of("t0", "t1", "t2", "t3", "t4"));
    for (int i = 0; i < 5; i++) {
      assertArrayEquals(new float[] {i}, got.get(i));
    }
    assertEquals(3, requests().size());
  }

  @Test
  void embed_overlongInput_rejectedBeforeAnyRequest() {
    OpenAiEmbeddingModel model = builder().maxInputTokens(10).maxTokensPerRequest(100).build();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> model.embed(List.of("short", "w" + " w".repeat(20))));
    assertTrue(String.valueOf(e.getMessage()).startsWith("texts[1]: 21 tokens (expected: <= maxInputTokens 10"), e.getMessage());
    assertEquals(0, requests().size());
  }

  @Test
  void embed_overlongInput_truncatedWhenAsked() throws Exception {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(json(200, Stubs.embeddings(Stubs.vectors(1, 4, 1), true))));
    OpenAiEmbeddingModel model =
        builder()
            .maxInputTokens(10)
            .maxTokensPerRequest(100)
            .overlongInput(OpenAiEmbeddingModel.OverlongInput.TRUNCATE)
            .build();
    model.embed("w" + " w".repeat(20));
    String sent = inputsOf(requests().get(0)).get(0);
    assertEquals("w" + " w".repeat(9), sent);
  }

  @Test
  void embed_5xxThenSuccess_andConnectionReset_areRetried() {
    server.stubFor(
        post(urlEqualTo(PATH))
            .inScenario("s")
            .whenScenarioStateIs(Scenario.STARTED)
            .willReturn(json(502, "bad gateway"))
            .willSetStateTo("reset"));
    server.stubFor(
        post(urlEqualTo(PATH))
            .inScenario("s")
            .whenScenarioStateIs("reset")
            .willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER))
            .willSetStateTo("ok"));
    server.stubFor(
        post(urlEqualTo(PATH))
            .inScenario("s")
            .whenScenarioStateIs("ok")
            .willReturn(json(200, Stubs.embeddings(Stubs.vectors(1, 4, 1), true))));
    builder().build().embed("a");
    assertEquals(3, requests().size());
    // The 502 always costs a back-off; OkHttp itself may retry the reset at once, without one.
    assertTrue(sleeper.slept.size() >= 1 && sleeper.slept.size() <= 2, sleeper.slept.toString());
  }

  @Test
  void embed_responseCutMidway_isRetryable() {
    server.stubFor(post(urlEqualTo(PATH)).willReturn(aResponse().withFault(Fault.MALFORMED_RESPONSE_CHUNK)));
    ModelException e =
        assertThrows(
            ModelException.class,
            () ->
                OpenAiEmbeddingModel.builder()
                    .client(Stubs.client(server, sleeper).maxAttempts(1).build())
                    .build()
                    .embed("a"));
    assertTrue(e.retryable(), e.getMessage());
  }
}
