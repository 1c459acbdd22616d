package io.ragengine.store;

/**
 * Where a document is in the ingest pipeline. Immutable.
 *
 * <p>A document is recorded {@link #PENDING} before any work starts, moves to {@link #PROCESSING},
 * and ends {@link #PROCESSED} (its results are visible) or {@link #FAILED} (with a reason; it can
 * be retried).
 */
public enum DocStatus {
  /** Accepted and durable; no work started yet. */
  PENDING,
  /** Chunked; extraction and embedding under way. */
  PROCESSING,
  /** All results committed and visible to queries. */
  PROCESSED,
  /** Given up on; {@link DocStatusRecord#error()} says why. */
  FAILED
}
