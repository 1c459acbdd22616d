package io.ragengine.examples;

import io.ragengine.Document;
import io.ragengine.QueryResult;
import io.ragengine.RagEngine;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import java.nio.file.Path;
import java.util.List;

/**
 * The README's example: ingest a document and ask about it, through an OpenAI-compatible
 * provider. Needs {@code OPENAI_API_KEY} (and optionally {@code OPENAI_BASE_URL}).
 *
 * <p>Run: {@code OPENAI_API_KEY=... ./mvnw -q -pl examples -am compile exec:java
 * -Dexec.mainClass=io.ragengine.examples.QuickStart}
 */
public final class QuickStart {
  private QuickStart() {}

  public static void main(String[] args) {
    String key = System.getenv("OPENAI_API_KEY");
    if (key == null || key.isBlank()) {
      System.err.println("Set OPENAI_API_KEY (and OPENAI_BASE_URL for another provider).");
      System.exit(2);
      return;
    }
    String baseUrl = System.getenv().getOrDefault("OPENAI_BASE_URL", "https://api.openai.com/v1");
    // The engine closes its storage, not its models: the client is closed after the engine.
    try (OpenAiClient openai = OpenAiClient.builder().baseUrl(baseUrl).apiKey(key).build();
        RagEngine rag =
            RagEngine.builder()
                .workingDir(Path.of("rag-data"))
                .chatModel(OpenAiChatModel.builder().client(openai).model("gpt-4o-mini").build())
                .embeddingModel(
                    OpenAiEmbeddingModel.builder()
                        .client(openai)
                        .model("text-embedding-3-small")
                        .build())
                .maxAsync(16)
                .build()) {
      rag.insert(List.of(Document.of("Acme was founded in 1947 by Ada Stone in Leeds.")));
      QueryResult result = rag.query("Who founded Acme?");
      System.out.println(result.answer().orElse("") + " " + result.sources());
    }
  }
}
