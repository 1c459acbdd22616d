package io.ragengine;

import io.ragengine.limiter.LimiterStats;
import io.ragengine.store.DocStatus;
import java.util.Map;

/**
 * A snapshot of a {@link RagEngine}: its two call limiters, its documents and its pipeline.
 * Immutable. Counters count since the engine was opened.
 *
 * @param chat the chat-model limiter
 * @param embedding the embedding-model limiter
 * @param documents documents in the store by status
 * @param chunks chunks searchable now
 * @param documentsInFlight documents being processed now
 * @param documentsProcessed documents processed since open
 * @param documentsFailed documents failed since open
 * @param chunksEmbedded chunks embedded since open
 * @param embeddingCalls embedding model calls made by the batcher since open that returned vectors
 *     (a batch re-embedded text by text counts each of its single calls; failed calls do not count)
 * @param chatCalls chat model calls made since open, by {@link ChatCallKind}, every kind present
 *     (zero if none). Each run counts, as it spends the provider's budget: a call that failed, and
 *     each run of a call retried after {@link io.ragengine.limiter.RetryLaterException}
 * @param commits storage transactions made by the pipeline since open (several documents may
 *     share one: a group commit)
 * @param chunkCacheHits chunks queries found in the chunk cache since open
 * @param chunkCacheMisses chunks queries read from the store since open
 */
public record EngineStats(
    LimiterStats chat,
    LimiterStats embedding,
    Map<DocStatus, Integer> documents,
    int chunks,
    int documentsInFlight,
    long documentsProcessed,
    long documentsFailed,
    long chunksEmbedded,
    long embeddingCalls,
    Map<ChatCallKind, Long> chatCalls,
    long commits,
    long chunkCacheHits,
    long chunkCacheMisses) {
  public EngineStats {
    documents = Map.copyOf(documents);
    chatCalls = Map.copyOf(chatCalls);
  }

  /** The share of chunk lookups the cache answered, from 0 to 1; 0 before the first query. */
  public double chunkCacheHitRate() {
    long lookups = chunkCacheHits + chunkCacheMisses;
    return lookups == 0 ? 0 : (double) chunkCacheHits / lookups;
  }
}
