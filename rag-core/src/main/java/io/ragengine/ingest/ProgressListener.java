package io.ragengine.ingest;

/**
 * Told of each step of an ingest, for progress bars and logs.
 *
 * <p>Called from the pipeline's threads, several at once: implementations must be thread-safe,
 * fast, and must not block or call back into the engine. An exception thrown here is logged and
 * ignored; it never fails a document.
 */
@FunctionalInterface
public interface ProgressListener {
  /** Ignores everything. */
  ProgressListener NONE = progress -> {};

  /** One step of one document finished. */
  void onProgress(IngestProgress progress);
}
