package io.ragengine.store.embedded;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.UnitOfWork;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The child process of {@link EmbeddedStorageCrashTest}: opens the storage in {@code args[0]} and
 * commits documents, one unit each, until it is killed, printing {@code committed N} after each
 * commit returns. Each unit holds a document, its chunks and their vectors, entities, relations,
 * its status, and a counter; a shared entity lists every document once, which would show a unit
 * applied twice. Every other unit is {@link UnitOfWork.Durability#DEFERRED}: the embedded store
 * promises that those survive a crash of the process too (only a crash of the machine may lose
 * them), and that they apply in order with the durable ones.
 */
final class CrashWriter {
  static final int CHUNKS = 20;
  static final int DIMENSIONS = 64;
  static final int SHARED = 3;

  private CrashWriter() {}

  public static void main(String[] args) {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    EmbeddedStorage storage =
        EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(Path.of(args[0])).build());
    int next = Integer.parseInt(storage.kv().get("meta", "count").orElse("0"));
    out.println("opened " + next);
    Random random = new Random(next);
    for (int doc = next; ; doc++) {
      storage.commit(unit(storage, doc, random));
      out.println("committed " + doc);
    }
  }

  static UnitOfWork unit(EmbeddedStorage storage, int doc, Random random) {
    String docId = "doc-" + doc;
    Instant now = Instant.ofEpochSecond(1_700_000_000L + doc);
    UnitOfWork unit = new UnitOfWork().put("docs", docId, "text of " + docId);
    for (int c = 0; c < CHUNKS; c++) {
      String chunkId = docId + "-chunk-" + c;
      unit.put("chunks", chunkId, "chunk " + c + " of " + docId);
      float[] vector = new float[DIMENSIONS];
      for (int d = 0; d < DIMENSIONS; d++) {
        vector[d] = (float) random.nextGaussian();
      }
      unit.upsertVector("chunks", chunkId, vector);
    }
    unit.upsertEntity(Entity.of(docId, "document", "entity of " + docId));
    for (int s = 0; s < SHARED; s++) {
      String name = "shared-" + s;
      List<String> sources =
          new ArrayList<>(
              storage.graph().entity(name).map(Entity::sourceChunkIds).orElse(List.of()));
      sources.add(docId);
      unit.upsertEntity(new Entity(name, "shared", "", sources, Map.of()));
      unit.upsertRelation(Relation.of(docId, name, "", "", 1));
    }
    unit.putDocStatus(
        DocStatusRecord.pending(docId, now).with(DocStatus.PROCESSED, CHUNKS, now));
    unit.put("meta", "count", Integer.toString(doc + 1));
    return doc % 2 == 0 ? unit : unit.durability(UnitOfWork.Durability.DEFERRED);
  }
}
