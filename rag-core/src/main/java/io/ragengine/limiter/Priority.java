package io.ragengine.limiter;

/**
 * The priorities the engine gives its calls. A {@link CallLimiter} runs higher priorities first
 * and calls of equal priority in the order they were submitted. Any {@code int} is a valid
 * priority; these constants leave room between them for an application's own levels.
 *
 * <p>The order is the point: a user's query waits behind at most the calls already running,
 * never behind a bulk ingest's backlog. (LightRAG's numbers run the other way, lower first: 5 for
 * queries, 8 for summaries, 10 for extraction.)
 */
public final class Priority {
  /** Query-path calls: keyword extraction, query embeddings, the answer. {@value} */
  public static final int QUERY = 30;

  /** Entity and relation description summaries made while merging the graph. {@value} */
  public static final int SUMMARY = 20;

  /** Entity and relation extraction from chunks, and its gleaning passes. {@value} */
  public static final int EXTRACTION = 10;

  /** Embeddings of chunks, entities and relations during ingestion. {@value} */
  public static final int DOCUMENT_EMBEDDING = 10;

  /** Background work with no user waiting, such as re-indexing. {@value} */
  public static final int BACKGROUND = 0;

  private Priority() {}
}
