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
