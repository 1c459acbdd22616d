package io.ragengine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.ragengine.IngestPipeline.StoredChunk;
import io.ragengine.store.KvStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The chunks queries read, parsed, in front of the store: a Caffeine cache bounded by an estimate
 * of the heap their texts take ({@link RagEngineConfig#chunkCacheBytes()}). A query looks its
 * chunks up here and reads only the missing ones from the store, in one {@link KvStore#getAll}.
 *
 * <p>Entries never go stale: a chunk's id is its document's id and its index, a document id is
 * never given to other content (an insert with a known id is a duplicate), and chunks are written
 * once, when their document is committed PROCESSED; the pipeline puts them here then (write-through),
 * and a query's misses (chunks evicted, or stored by an earlier run) are read from the store and
 * kept. Deleting documents, when it comes, must invalidate their chunks here.
 *
 * <p>Thread-safe. Eviction work runs on the calling thread (Caffeine's same-thread executor), so
 * a query never hands work to another thread here.
 */
final class ChunkCache {
  /** Heap an entry costs besides its text: the node, the record, the id and the doc id strings. */
  private static final int ENTRY_OVERHEAD_BYTES = 100;

  private final KvStore kv;
  private final String namespace;
  private final Function<String, StoredChunk> parser;
  private final @Nullable Cache<String, StoredChunk> cache;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();

  /**
   * @param maxBytes estimated heap bound; 0 means no cache (every lookup reads the store)
   * @param parser turns a stored row into a chunk
   */
  ChunkCache(KvStore kv, String namespace, long maxBytes, Function<String, StoredChunk> parser) {
    this.kv = kv;
    this.namespace = namespace;
    this.parser = parser;
    this.cache =
        maxBytes == 0
            ? null
            : Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher((String id, StoredChunk chunk) -> weight(id, chunk))
                .executor(Runnable::run)
                .build();
  }

  /**
   * Returns the chunks of {@code ids} that exist, by id; ids absent from the store (deleted
   * between a search and this lookup) are left out.
   */
  Map<String, StoredChunk> getAll(List<String> ids) {
    Map<String, StoredChunk> out = new HashMap<>();
    List<String> missing = new ArrayList<>(ids.size());
    Cache<String, StoredChunk> c = cache;
    for (String id : ids) {
      StoredChunk chunk = c == null ? null : c.getIfPresent(id);
      if (chunk != null) {
        out.put(id, chunk);
      } else {
        missing.add(id);
      }
    }
    hits.add(ids.size() - missing.size());
    if (missing.isEmpty()) {
      return out;
    }
    misses.add(missing.size());
    for (Map.Entry<String, String> row : kv.getAll(namespace, missing).entrySet()) {
      StoredChunk chunk = parser.apply(row.getValue());
      out.put(row.getKey(), chunk);
      if (c != null) {
        c.put(row.getKey(), chunk);
      }
    }
    return out;
  }

  /** Keeps a chunk just committed, so the first query to find it needs no store read. */
  void put(String id, StoredChunk chunk) {
    Cache<String, StoredChunk> c = cache;
    if (c != null) {
      c.put(id, chunk);
    }
  }

  /** Lookups answered from the cache since the engine opened. */
  long hits() {
    return hits.sum();
  }

  /** Lookups that went to the store since the engine opened (all of them without a cache). */
  long misses() {
    return misses.sum();
  }

  /** Estimated heap bytes of an entry: compact strings take one byte a character if Latin-1. */
  static int weight(String id, StoredChunk chunk) {
    long bytes = ENTRY_OVERHEAD_BYTES + bytes(id) + bytes(chunk.docId()) + bytes(chunk.content());
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }

  private static long bytes(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) > 0xFF) {
        return 2L * s.length();
      }
    }
    return s.length();
  }
}
