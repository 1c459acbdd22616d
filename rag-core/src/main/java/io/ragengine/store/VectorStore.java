package io.ragengine.store;

import java.util.List;
import java.util.OptionalInt;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Namespaced vector storage with exact top-k search by cosine similarity. Typical namespaces hold
 * chunk, entity and relation vectors. Thread-safe.
 *
 * <p>All vectors of a namespace share one dimension, set by the first vector stored while the
 * namespace is empty. Vectors are normalised
 * when stored, so scores are cosine similarities; a store may keep them at reduced precision (the
 * embedded default uses float16 or int8), so scores are exact up to that precision. Reads see
 * committed state only; each write method commits on its own.
 */
public interface VectorStore {

  /** A {@code minScore} that keeps every match. */
  float NO_MIN_SCORE = Float.NEGATIVE_INFINITY;

  /**
   * Returns up to {@code topK} vectors of {@code namespace} most similar to {@code vector}, best
   * first (ties by id), keeping only matches scoring at least {@code minScore} and, when {@code
   * idFilter} is not null, whose id it accepts. An unknown or empty namespace gives an empty list.
   *
   * <p>{@code idFilter} may be called from several threads at once and for ids that do not end up
   * in the result; it must be fast and thread-safe.
   *
   * @param minScore the lowest score kept, or {@link #NO_MIN_SCORE}; not NaN
   * @throws IllegalArgumentException if {@code namespace} is blank, {@code topK} is not positive,
   *     {@code minScore} is NaN, or {@code vector} is empty, all zeros, has a non-finite element
   *     or differs in dimension from the namespace's vectors
   * @throws IllegalStateException if the storage is closed
   */
  List<VectorMatch> query(
      String namespace,
      float[] vector,
      int topK,
      float minScore,
      @Nullable Predicate<String> idFilter);

  /**
   * Same as {@link #query(String, float[], int, float, Predicate)} with no minimum score and no
   * filter.
   */
  default List<VectorMatch> query(String namespace, float[] vector, int topK) {
    return query(namespace, vector, topK, NO_MIN_SCORE, null);
  }

  /**
   * Returns true if {@code namespace} holds a vector with {@code id}.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code id} is blank
   * @throws IllegalStateException if the storage is closed
   */
  boolean contains(String namespace, String id);

  /**
   * Returns the number of vectors in {@code namespace}; 0 if it is unknown.
   *
   * @throws IllegalArgumentException if {@code namespace} is blank
   * @throws IllegalStateException if the storage is closed
   */
  int size(String namespace);

  /**
   * Returns the dimension of the vectors in {@code namespace}; empty if it holds none (the next
   * vector stored then sets it). The default returns empty: a store that does not say skips the
   * engine's check for a model of another dimension, and only its own refusal of the vectors
   * remains.
   *
   * @throws IllegalArgumentException if {@code namespace} is blank
   * @throws IllegalStateException if the storage is closed
   */
  default OptionalInt dimension(String namespace) {
    return OptionalInt.empty();
  }

  /**
   * Stores {@code vector} under {@code id}, replacing any previous one, and commits.
   *
   * @throws IllegalArgumentException as {@link UnitOfWork#upsertVector} does, or if the dimension
   *     differs from the namespace's vectors
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void upsert(String namespace, String id, float[] vector);

  /**
   * Removes the vector under {@code id} if present, and commits.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code id} is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void delete(String namespace, String id);
}
