package io.ragengine.store;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Namespaced key-value storage for documents, chunks and durable LLM-cache entries. Values are
 * text (usually JSON). Thread-safe.
 *
 * <p>Reads see committed state only. Each write method commits on its own; to make several writes
 * visible together, put them in a {@link UnitOfWork} and call {@link Storage#commit}.
 */
public interface KvStore {

  /**
   * Returns the value under {@code key}, or empty if there is none.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code key} is blank
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  Optional<String> get(String namespace, String key);

  /**
   * Returns the values present for {@code keys}; absent keys are left out. The map is unmodifiable.
   *
   * @throws IllegalArgumentException if {@code namespace} or a key is blank
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  Map<String, String> getAll(String namespace, Collection<String> keys);

  /**
   * Returns every key in {@code namespace}, sorted. Meant for maintenance, not for hot paths.
   *
   * @throws IllegalArgumentException if {@code namespace} is blank
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  List<String> keys(String namespace);

  /**
   * Stores {@code value} under {@code key}, replacing any previous value, and commits.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code key} is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void put(String namespace, String key, String value);

  /**
   * Removes {@code key} if present, and commits.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code key} is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void delete(String namespace, String key);
}
