package io.ragengine;

/**
 * Why the engine called the chat model: the key of {@link EngineStats#chatCalls()}, so that an
 * application can see where its LLM budget goes. Later pipeline stages (graph extraction,
 * summaries, query keywords) add kinds of their own.
 */
public enum ChatCallKind {
  /** A query's answer, streamed or not. */
  ANSWER,

  /** A call made by the {@link io.ragengine.ingest.ChunkStage} for a chunk. */
  CHUNK_STAGE
}
