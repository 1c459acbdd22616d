package io.ragengine.store;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The status of every document the engine has accepted. Thread-safe.
 *
 * <p>Reads see committed state only; each write method commits on its own.
 */
public interface DocStatusStore {

  /**
   * Returns the status of {@code docId}, or empty if the document is unknown.
   *
   * @throws IllegalArgumentException if {@code docId} is blank
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  Optional<DocStatusRecord> get(String docId);

  /**
   * Returns the statuses of those of {@code docIds} that are known, by document id; unknown ids
   * are left out. The map is unmodifiable. One call for many documents, where a store can answer
   * it with one round trip (the engine checks every document of an insert at once).
   *
   * @throws IllegalArgumentException if an id is blank
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  Map<String, DocStatusRecord> getAll(Collection<String> docIds);

  /**
   * Returns the documents with {@code status}, oldest {@code createdAt} first (ties by id).
   *
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  List<DocStatusRecord> byStatus(DocStatus status);

  /**
   * Returns the number of documents per status; every status is a key, possibly with 0.
   *
   * @throws StoreException if the store cannot be read
   * @throws IllegalStateException if the storage is closed
   */
  Map<DocStatus, Integer> counts();

  /**
   * Stores {@code record}, replacing any record for its document, and commits.
   *
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void put(DocStatusRecord record);

  /**
   * Removes the record of {@code docId} if present, and commits.
   *
   * @throws IllegalArgumentException if {@code docId} is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void delete(String docId);
}
