package io.ragengine.ingest;

import io.ragengine.model.ChatRequest;
import io.ragengine.model.ChatResponse;
import io.ragengine.store.UnitOfWork;
import io.ragengine.text.Chunk;

/**
 * Work done on each chunk of a document after chunking and before embedding: where LLM work per
 * chunk plugs into the pipeline (entity and relation extraction in LightRAG's manner, a summary,
 * or anything else a chunk needs before its document is committed). Set with {@code
 * RagEngine.Builder.chunkStage}; without one, documents go from chunking straight to embedding.
 *
 * <p>The engine runs the stage on every chunk of a document at once, each on a virtual thread of
 * its own, while the document holds its {@code maxParallelInsert} slot; so up to {@code
 * maxParallelInsert} documents' chunks are in the stage together. Their model calls, made with
 * {@link ChunkWork#chat}, all go through the engine's one chat limiter at {@link
 * io.ragengine.limiter.Priority#EXTRACTION}: {@code maxAsync}, not the document boundaries, sets
 * the pace, calls go in the order they are made (so a document's first calls go before a later
 * document's), and a query's calls overtake every queued one.
 *
 * <p>What {@link #process} returns is committed in the document's own transaction, with its
 * chunks, vectors and status PROCESSED: all of it or none of it is ever stored. If the stage
 * throws for one chunk, the document's other chunks are cancelled (their calls still queued never
 * run, those running are interrupted and waited for) and the document is FAILED with the
 * exception as its reason; {@code retryFailed()} runs the stage again on every chunk. A resume
 * after a crash also runs it again: nothing is cached yet.
 *
 * <p>The units of a document's chunks are merged in chunk order, and the embedded storage writes
 * a key, vector, entity or relation last-writer-wins: two chunks (or two documents) that upsert the
 * same entity replace each other's, so graph extraction will need a merge step of its own.
 *
 * <p>Implementations must be thread-safe: {@link #process} is called from many threads at once.
 * They must also respond to interrupts: when the engine closes, or another chunk of the document
 * failed, the runs still going are interrupted (a chat call waiting for the limiter leaves its
 * queue), and the document waits for them to end. On close the document is then left
 * unfinished, whatever the stage returned, and resumes on the next open.
 */
@FunctionalInterface
public interface ChunkStage {

  /**
   * Processes one chunk.
   *
   * @return what to commit with the chunk's document, such as graph upserts; an empty unit for
   *     nothing. It may not change document statuses nor write to the engine's own namespaces
   *     ({@code docs}, {@code doc_hashes}, {@code chunks}, {@code doc_chunks}): such a unit fails
   *     the document
   */
  UnitOfWork process(ChunkWork work);

  /** One chunk for the stage, and the engine's chat budget to spend on it. */
  interface ChunkWork {
    /** The id of the chunk's document. */
    String docId();

    /** The id the chunk is stored under once its document is committed. */
    String chunkId();

    /** The chunk: its index in the document, its text and its token count. */
    Chunk chunk();

    /** How many chunks the document has. */
    int chunkCount();

    /**
     * Calls the engine's chat model through its chat limiter at {@link
     * io.ragengine.limiter.Priority#EXTRACTION}, blocking until the answer is in.
     *
     * @throws io.ragengine.model.ModelException if the call failed after the model's retries
     * @throws io.ragengine.limiter.LimiterException if the limiter refused or timed out the call,
     *     or closed while it waited
     * @throws IllegalStateException if the engine has no chat model, or its chat limiter is closed
     * @throws io.ragengine.RagException if the thread was interrupted while waiting; its interrupt
     *     status is set again
     */
    ChatResponse chat(ChatRequest request);
  }
}
