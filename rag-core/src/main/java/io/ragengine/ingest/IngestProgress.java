package io.ragengine.ingest;

/**
 * Where one {@code insert} call stands, sent to a {@link ProgressListener} after each step of each
 * document. Immutable. Counts cover the documents of that call that are processed (not the
 * duplicates); documents resumed after a crash report as their own call.
 *
 * @param stage the step that just finished
 * @param docId the document it finished for
 * @param documents documents to process in this call. For a retry or a resume, it starts at all
 *     the documents listed and goes down as the call finds some it need not process (another call
 *     has them, or their stored text is gone and they are failed at once)
 * @param documentsDone documents processed or failed so far
 * @param chunks chunks known so far (a document's chunks are known once it is chunked)
 * @param chunksEmbedded chunks embedded so far
 */
public record IngestProgress(
    Stage stage, String docId, int documents, int documentsDone, int chunks, int chunksEmbedded) {

  /** A step of a document's processing. */
  public enum Stage {
    /** The document was cut into chunks. */
    CHUNKED,
    /** Its chunks went through the {@link ChunkStage}; only with one. */
    STAGED,
    /** Its chunks were embedded. */
    EMBEDDED,
    /** It was committed: searchable, and durably PROCESSED. */
    PROCESSED,
    /** It failed; its status is durably FAILED with the reason. */
    FAILED
  }
}
