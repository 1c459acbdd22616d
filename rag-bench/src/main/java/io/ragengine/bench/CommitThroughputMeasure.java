package io.ragengine.bench;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.UnitOfWork;
import io.ragengine.store.embedded.EmbeddedStorage;
import io.ragengine.store.embedded.EmbeddedStorageConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Commit cost per document of {@link EmbeddedStorage} as the store grows: documents of 20 chunks
 * (text and a 384-d vector each) and 30 graph elements (10 entities, 20 relations), one unit per
 * document, durable on return ({@code synchronous=FULL}). Prints the mean cost of documents
 * 1-100 and of the last 100, then the time to reopen (load vectors and graph into memory).
 *
 * <p>Run: {@code java -Xmx2g -cp rag-bench/target/benchmarks.jar
 * io.ragengine.bench.CommitThroughputMeasure [documents] [directory] [pageSize]} (default 10000
 * documents, a temporary directory, and the storage's default page size for a new database).
 */
public final class CommitThroughputMeasure {
  private CommitThroughputMeasure() {}

  public static void main(String[] args) throws IOException {
    int documents = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    Path directory =
        args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("ragengine-commit-");
    SplittableRandom random = new SplittableRandom(1);
    String text = "x".repeat(1_200 * 4); // a 1,200-token chunk is about 4,800 characters
    long[] nanos = new long[documents];
    EmbeddedStorageConfig.Builder builder = EmbeddedStorageConfig.builder().directory(directory);
    if (args.length > 2) {
      builder.pageSize(Integer.parseInt(args[2]));
    }
    EmbeddedStorageConfig config = builder.build();
    try (EmbeddedStorage storage = EmbeddedStorage.open(config)) {
      for (int doc = 0; doc < documents; doc++) {
        UnitOfWork unit = unit(doc, random, text);
        long start = System.nanoTime();
        storage.commit(unit);
        nanos[doc] = System.nanoTime() - start;
      }
    }
    System.out.printf(
        "commit per document: docs 1-100 %.2f ms, docs %d-%d %.2f ms (%s)%n",
        mean(nanos, 0, Math.min(100, documents)),
        Math.max(1, documents - 99),
        documents,
        mean(nanos, Math.max(0, documents - 100), documents),
        directory);
    long start = System.nanoTime();
    try (EmbeddedStorage storage = EmbeddedStorage.open(config)) {
      System.out.printf(
          "reopen with %,d vectors of 384-d and %,d entities: %.2f s%n",
          storage.vectors().size("chunks"),
          storage.graph().entityCount(),
          (System.nanoTime() - start) / 1e9);
    }
  }

  private static UnitOfWork unit(int doc, SplittableRandom random, String text) {
    String docId = "doc-" + doc;
    UnitOfWork unit = new UnitOfWork().put("docs", docId, text);
    for (int c = 0; c < 20; c++) {
      String chunkId = docId + "-chunk-" + c;
      unit.put("chunks", chunkId, text);
      float[] vector = new float[384];
      for (int j = 0; j < vector.length; j++) {
        vector[j] = (float) (random.nextDouble() * 2 - 1);
      }
      unit.upsertVector("chunks", chunkId, vector);
    }
    for (int e = 0; e < 10; e++) {
      String name = "entity-" + random.nextInt(50_000);
      unit.upsertEntity(
          new Entity(name, "concept", "a description of " + name, List.of(docId), Map.of()));
    }
    for (int r = 0; r < 20; r++) {
      unit.upsertRelation(
          Relation.of(
              "entity-" + random.nextInt(50_000),
              "entity-" + (50_000 + random.nextInt(50_000)),
              "related",
              "a relation",
              1));
    }
    Instant now = Instant.now();
    unit.putDocStatus(DocStatusRecord.pending(docId, now).with(DocStatus.PROCESSED, 20, now));
    return unit;
  }

  private static double mean(long[] nanos, int from, int to) {
    long sum = 0;
    for (int i = from; i < to; i++) {
      sum += nanos[i];
    }
    return sum / 1e6 / Math.max(1, to - from);
  }
}
