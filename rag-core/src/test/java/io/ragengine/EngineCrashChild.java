package io.ragengine;

import io.ragengine.ingest.IngestProgress;
import io.ragengine.model.FakeEmbeddingModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process {@link RagEngineCrashTest} kills: opens an engine on the directory given, waits for
 * the documents a previous run left unfinished to resume, then inserts {@link #DOCUMENTS}, printing
 * {@code processed <id>} after each document's commit returned and {@code done} at the end.
 */
final class EngineCrashChild {
  static final int DOCUMENTS = 40;

  private EngineCrashChild() {}

  static List<Document> documents() {
    List<Document> docs = new ArrayList<>();
    for (int d = 0; d < DOCUMENTS; d++) {
      StringBuilder text = new StringBuilder();
      for (int s = 0; s < 30; s++) {
        text.append("Document ").append(d).append(" sentence ").append(s)
            .append(" talks about subject ").append((d * 31 + s) % 97).append(". ");
      }
      docs.add(Document.of(String.format("crash-%02d", d), text.toString()));
    }
    return docs;
  }

  static RagEngine.Builder engine(Path dir) {
    return RagEngine.builder()
        .workingDir(dir)
        .embeddingModel(new FakeEmbeddingModel(32))
        .chunkSizeTokens(80)
        .chunkOverlapTokens(10)
        .maxParallelInsert(4)
        .embeddingBatchSize(8);
  }

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    try (RagEngine engine =
        engine(dir)
            .progressListener(
                p -> {
                  if (p.stage() == IngestProgress.Stage.PROCESSED) {
                    System.out.println("processed " + p.docId());
                    System.out.flush();
                  }
                })
            .build()) {
      engine.resumed().join();
      System.out.println("resumed");
      System.out.flush();
      engine.insert(documents());
      System.out.println("done");
      System.out.flush();
    }
  }
}
