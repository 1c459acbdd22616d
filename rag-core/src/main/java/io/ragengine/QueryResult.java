package io.ragengine;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a query returns. Immutable.
 *
 * @param answer the chat model's answer; empty with {@code onlyContext}
 * @param context the context given to the chat model (or that would have been)
 * @param sources the chunks in the context, best first
 * @param timings where the time went
 */
public record QueryResult(
    Optional<String> answer, String context, List<Source> sources, Timings timings) {

  public QueryResult {
    Objects.requireNonNull(answer, "answer");
    Objects.requireNonNull(context, "context");
    sources = List.copyOf(sources);
    Objects.requireNonNull(timings, "timings");
  }

  /**
   * One retrieved chunk. Immutable.
   *
   * @param chunkId the chunk's id, {@code <docId>-chunk-<index>}
   * @param docId the document it belongs to
   * @param score cosine similarity to the question, in [-1, 1]
   * @param content the chunk's text
   */
  public record Source(String chunkId, String docId, float score, String content) {
    @Override
    public String toString() {
      return "Source{chunkId=" + chunkId + ", score=" + score + "}";
    }
  }

  /**
   * Time spent per step. Immutable.
   *
   * @param embedding embedding the question, including the wait for an embedding slot
   * @param retrieval vector search, chunk lookup and context assembly
   * @param answer the chat call, including the wait for a chat slot; zero with onlyContext
   * @param total the whole query
   */
  public record Timings(Duration embedding, Duration retrieval, Duration answer, Duration total) {}
}
