package io.ragengine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.IngestPipeline.StoredChunk;
import io.ragengine.store.ForwardingKvStore;
import io.ragengine.store.InMemoryStorage;
import io.ragengine.store.KvStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

final class ChunkCacheTest {
  private final KvStore store = InMemoryStorage.create().kv();
  private final List<List<String>> reads = new ArrayList<>();

  /** The store, recording the keys of every getAll. */
  private final KvStore recording =
      new ForwardingKvStore(store) {
        @Override
        public Map<String, String> getAll(String namespace, Collection<String> keys) {
          reads.add(List.copyOf(keys));
          return super.getAll(namespace, keys);
        }
      };

  private static StoredChunk parse(String row) {
    return new StoredChunk("doc-" + row, 0, 1, "text of " + row);
  }

  private ChunkCache cache(long maxBytes) {
    return new ChunkCache(recording, "chunks", maxBytes, ChunkCacheTest::parse);
  }

  @Test
  void getAll_secondLookup_isAnsweredWithoutTheStore() {
    store.put("chunks", "a", "A");
    store.put("chunks", "b", "B");
    ChunkCache cache = cache(1 << 20);

    Map<String, StoredChunk> first = cache.getAll(List.of("a", "b"));
    Map<String, StoredChunk> second = cache.getAll(List.of("b", "a"));

    assertEquals(Map.of("a", parse("A"), "b", parse("B")), first);
    assertEquals(first, second);
    assertEquals(List.of(List.of("a", "b")), reads);
    assertEquals(2, cache.hits());
    assertEquals(2, cache.misses());
  }

  @Test
  void getAll_partlyCached_readsOnlyTheMissingOnesInOneCall() {
    store.put("chunks", "a", "A");
    store.put("chunks", "b", "B");
    store.put("chunks", "c", "C");
    ChunkCache cache = cache(1 << 20);
    cache.getAll(List.of("b"));
    reads.clear();

    Map<String, StoredChunk> found = cache.getAll(List.of("a", "b", "c"));

    assertEquals(3, found.size());
    assertEquals(List.of(List.of("a", "c")), reads);
  }

  @Test
  void getAll_idAbsentFromTheStore_isLeftOutAndNotCached() {
    store.put("chunks", "a", "A");
    ChunkCache cache = cache(1 << 20);

    assertEquals(Map.of("a", parse("A")), cache.getAll(List.of("a", "gone")));
    store.put("chunks", "gone", "G"); // a chunk id is never reused, but a missing one may appear
    assertEquals(parse("G"), cache.getAll(List.of("gone")).get("gone"));
  }

  @Test
  void getAll_zeroBytes_alwaysReadsTheStore() {
    store.put("chunks", "a", "A");
    ChunkCache cache = cache(0);

    cache.getAll(List.of("a"));
    cache.getAll(List.of("a"));

    assertEquals(List.of(List.of("a"), List.of("a")), reads);
    assertEquals(0, cache.hits());
    assertEquals(2, cache.misses());
  }

  @Test
  void getAll_moreThanTheBoundHolds_evictsSoTheStoreIsReadAgain() {
    ChunkCache cache = cache(3 * ChunkCache.weight("k00", parse("00")));
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String id = String.format("k%02d", i);
      store.put("chunks", id, String.format("%02d", i));
      ids.add(id);
    }

    cache.getAll(ids);
    reads.clear();
    cache.getAll(ids);

    assertEquals(1, reads.size());
    assertTrue(reads.get(0).size() >= 37, "at most 3 of 40 entries fit: " + reads.get(0));
  }

  @Test
  void put_committedChunk_isFoundWithoutTheStore_unlessTheCacheIsOff() {
    ChunkCache on = cache(1 << 20);
    ChunkCache off = cache(0);

    on.put("a", parse("A"));
    off.put("a", parse("A"));

    assertEquals(Map.of("a", parse("A")), on.getAll(List.of("a")));
    assertEquals(List.of(), reads);
    assertEquals(Map.of(), off.getAll(List.of("a"))); // nothing kept, and the store lacks it
    assertEquals(List.of(List.of("a")), reads);
  }

  @Test
  void weight_countsOneByteForLatin1AndTwoOtherwise() {
    StoredChunk latin = new StoredChunk("d", 0, 1, "é".repeat(1_000));
    StoredChunk other = new StoredChunk("d", 0, 1, "漢".repeat(1_000));
    assertEquals(1_000, ChunkCache.weight("i", other) - ChunkCache.weight("i", latin));
    assertEquals(100 + 1 + 1 + 1_000, ChunkCache.weight("i", latin));
  }
}
