package io.ragengine.store;

import io.ragengine.internal.Checks;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The status of one document. Immutable.
 *
 * @param docId the document's id; not blank
 * @param status where the document is in the pipeline
 * @param error why the document failed: required when {@code status} is {@link DocStatus#FAILED},
 *     null otherwise. Never contains document text.
 * @param chunkCount the number of chunks the document was split into; 0 before chunking
 * @param createdAt when the document was first recorded
 * @param updatedAt when this record was last written; not before {@code createdAt}
 */
public record DocStatusRecord(
    String docId,
    DocStatus status,
    @Nullable String error,
    int chunkCount,
    Instant createdAt,
    Instant updatedAt) {

  /**
   * Checks the components.
   *
   * @throws IllegalArgumentException if {@code docId} is blank, {@code chunkCount} is negative,
   *     {@code updatedAt} is before {@code createdAt}, or {@code error} is missing for a failed
   *     document or present for another status
   * @throws NullPointerException if a component other than {@code error} is null
   */
  public DocStatusRecord {
    Checks.notBlank(docId, "docId");
    Objects.requireNonNull(status, "status");
    Checks.positiveOrZero(chunkCount, "chunkCount");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(updatedAt, "updatedAt");
    if (updatedAt.isBefore(createdAt)) {
      throw new IllegalArgumentException(
          "updatedAt: " + updatedAt + " (expected: >= createdAt " + createdAt + ")");
    }
    if (status == DocStatus.FAILED && error == null) {
      throw new IllegalArgumentException("error: null (expected: set when status is FAILED)");
    }
    if (status != DocStatus.FAILED && error != null) {
      throw new IllegalArgumentException(
          "error: \"" + error + "\" (expected: null when status is " + status + ")");
    }
  }

  /** Returns a {@link DocStatus#PENDING} record created and updated at {@code now}. */
  public static DocStatusRecord pending(String docId, Instant now) {
    return new DocStatusRecord(docId, DocStatus.PENDING, null, 0, now, now);
  }

  /** Returns a copy with {@code status} and {@code chunkCount}, no error, updated at {@code now}. */
  public DocStatusRecord with(DocStatus status, int chunkCount, Instant now) {
    return new DocStatusRecord(docId, status, null, chunkCount, createdAt, now);
  }

  /** Returns a {@link DocStatus#FAILED} copy with {@code error}, updated at {@code now}. */
  public DocStatusRecord failed(String error, Instant now) {
    return new DocStatusRecord(docId, DocStatus.FAILED, error, chunkCount, createdAt, now);
  }
}
