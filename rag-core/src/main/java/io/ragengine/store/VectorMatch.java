package io.ragengine.store;

import java.util.Objects;

/**
 * One result of a {@link VectorStore#query vector query}. Immutable.
 *
 * @param id the id of the matching vector
 * @param score the cosine similarity between the query and the stored vector, in {@code [-1, 1]}
 *     up to the precision of the store's encoding
 */
public record VectorMatch(String id, float score) {
  public VectorMatch {
    Objects.requireNonNull(id, "id");
  }
}
