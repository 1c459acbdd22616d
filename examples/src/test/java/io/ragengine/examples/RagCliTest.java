package io.ragengine.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.core.WireMockConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main job end to end, offline: the real local model, the real embedded storage. */
final class RagCliTest {
  @TempDir Path dir;

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  private int run(String... args) {
    bytes.reset();
    var cli =
        new RagCli(Map.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8), false);
    String[] withData = new String[args.length + 2];
    System.arraycopy(args, 0, withData, 0, args.length);
    withData[args.length] = "--data";
    withData[args.length + 1] = dir.resolve("data").toString();
    return cli.run(withData);
  }

  private String output() {
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void ingestAskStats_offline_findsThePassageAndSaysNoModelAnswered() throws Exception {
    Path files = Files.createDirectories(dir.resolve("notes/sub"));
    Files.writeString(
        files.resolve("volcano.md"),
        "# Volcanoes\n\nLava flows from the crater during an eruption. Magma cools into basalt.");
    Files.writeString(
        dir.resolve("notes/bread.txt"),
        "Bread dough rises when yeast ferments the sugar. Bake it in a hot oven.");
    Files.writeString(dir.resolve("notes/ignored.pdf"), "not text");

    assertEquals(0, run("ingest", dir.resolve("notes").toString()));
    assertTrue(output().contains("2 file(s): 2 ingested, 0 already there, 0 failed."), output());

    assertEquals(0, run("ask", "What comes out of a volcano?"));
    String answer = output();
    assertTrue(answer.contains("No chat model is configured"), answer);
    assertTrue(answer.contains("volcano.md"), answer); // the best source comes first
    assertTrue(answer.indexOf("volcano.md") < answer.indexOf("bread.txt"), answer);
    assertTrue(answer.contains(">>> Lava flows from the crater during an eruption. <<<"), answer);
    assertFalse(answer.contains("A ("), "pretended a model answered: " + answer);

    assertEquals(0, run("ingest", dir.resolve("notes").toString()));
    assertTrue(output().contains("0 ingested, 2 already there"), output());

    assertEquals(0, run("stats"));
    assertTrue(output().contains("Documents: 2 processed, 0 failed, 0 pending"), output());
  }

  @Test
  void ask_withOpenAiEnvironment_answersThroughTheChatModel() throws Exception {
    WireMockServer server =
        new WireMockServer(
            WireMockConfiguration.options().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    try {
      server.stubFor(
          WireMock.post(WireMock.urlEqualTo("/v1/chat/completions"))
              .willReturn(
                  WireMock.aResponse()
                      .withHeader("Content-Type", "application/json")
                      .withBody(
                          "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"m\","
                              + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                              + "\"content\":\"Lava comes out [1].\"},\"finish_reason\":\"stop\"}],"
                              + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4,"
                              + "\"total_tokens\":9}}")));
      Map<String, String> env =
          Map.of(
              "OPENAI_BASE_URL", "http://127.0.0.1:" + server.port() + "/v1",
              "OPENAI_API_KEY", "sk-test",
              "OPENAI_MODEL", "test-model");
      Path notes = Files.createDirectories(dir.resolve("notes"));
      Files.writeString(notes.resolve("v.md"), "Lava flows from the crater during an eruption.");
      bytes.reset();
      PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
      String data = dir.resolve("data").toString();
      assertEquals(0, new RagCli(env, out, false).run(new String[] {"ingest", notes.toString(),
          "--data", data}));
      assertEquals(0, new RagCli(env, out, false).run(new String[] {"ask", "What erupts?",
          "--data", data}));

      String printed = output();
      assertTrue(printed.contains("A (test-model): Lava comes out [1]."), printed);
      assertTrue(printed.contains("v.md"), printed);
      assertFalse(printed.contains("No chat model"), printed);
      // The model got the retrieved passage as numbered context.
      String body = server.getAllServeEvents().get(0).getRequest().getBodyAsString();
      assertTrue(body.contains("[1] Lava flows from the crater"), body);
    } finally {
      server.stop();
    }
  }

  @Test
  void badArguments_exitTwoWithUsage() {
    assertEquals(2, run("frobnicate"));
    assertTrue(output().startsWith("unknown command: frobnicate"), output());
    assertEquals(2, run("ask"));
    assertTrue(output().contains("usage:"), output());
    assertEquals(2, run("ingest", dir.resolve("missing").toString()));
    assertTrue(output().startsWith("no such file or folder"), output());
  }

  @Test
  void ask_beforeIngest_saysSo() {
    assertEquals(1, run("ask", "anything?"));
    assertTrue(output().contains("Nothing is ingested yet"), output());
  }
}
