package io.ragengine;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What happened to each document of one {@code insert}. Immutable.
 *
 * @param documents one entry per document given, in the order given
 */
public record InsertReport(List<DocumentReport> documents) {
  public InsertReport {
    documents = List.copyOf(documents);
  }

  /** What became of a document. */
  public enum Outcome {
    /** Chunked, embedded and committed: it is searchable. */
    PROCESSED,
    /** Its processing failed; the error is recorded and {@code retryFailed()} tries it again. */
    FAILED,
    /** Already known (same id or same content): not processed again. */
    DUPLICATE,
    /**
     * Accepted and durable, but the engine closed before it finished; it resumes when the working
     * directory is next opened.
     */
    PENDING
  }

  /**
   * One document's outcome. Immutable.
   *
   * @param docId the document's id, explicit or derived from its content
   * @param outcome what became of it
   * @param chunks how many chunks it has (0 unless processed)
   * @param error why it failed, if it did; never quotes the document. A DUPLICATE has one too
   *     when there is something to do about it: its id is taken by a document with other content
   *     (this content was not stored), or the document it duplicates is FAILED (with that reason,
   *     and a pointer to {@code retryFailed()})
   * @param duplicateOf the id of the document it duplicates, if it is a duplicate
   */
  public record DocumentReport(
      String docId,
      Outcome outcome,
      int chunks,
      Optional<String> error,
      Optional<String> duplicateOf) {
    public DocumentReport {
      Objects.requireNonNull(docId, "docId");
      Objects.requireNonNull(outcome, "outcome");
      Objects.requireNonNull(error, "error");
      Objects.requireNonNull(duplicateOf, "duplicateOf");
    }
  }

  /** The documents with {@code outcome}. */
  public List<DocumentReport> with(Outcome outcome) {
    return documents.stream().filter(d -> d.outcome() == outcome).toList();
  }

  /** How many documents were processed. */
  public int processed() {
    return with(Outcome.PROCESSED).size();
  }

  /** How many failed. */
  public int failed() {
    return with(Outcome.FAILED).size();
  }

  /** How many were duplicates. */
  public int duplicates() {
    return with(Outcome.DUPLICATE).size();
  }
}
