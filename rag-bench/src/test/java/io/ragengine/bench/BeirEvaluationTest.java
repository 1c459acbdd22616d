package io.ragengine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics and readers behind the figures reported in docs/benchmarks.md. */
final class BeirEvaluationTest {
  @TempDir Path dir;

  @Test
  void ndcg_perfectAndWorstAndPartialRankings() {
    Set<String> relevant = Set.of("a", "b");
    assertEquals(1.0, BeirEvaluation.ndcg(List.of("a", "b", "x"), relevant, 10), 1e-12);
    assertEquals(0.0, BeirEvaluation.ndcg(List.of("x", "y"), relevant, 10), 1e-12);
    // One relevant at rank 2 of two relevant: (1/log2 3) / (1 + 1/log2 3).
    double expected = (1 / log2(3)) / (1 + 1 / log2(3));
    assertEquals(expected, BeirEvaluation.ndcg(List.of("x", "a"), relevant, 10), 1e-12);
    // Beyond k counts for nothing.
    assertEquals(0.0, BeirEvaluation.ndcg(List.of("x", "a"), relevant, 1), 1e-12);
  }

  @Test
  void recall_countsHitsWithinK() {
    Set<String> relevant = Set.of("a", "b", "c", "d");
    assertEquals(0.5, BeirEvaluation.recall(List.of("a", "x", "c"), relevant, 10), 1e-12);
    assertEquals(0.25, BeirEvaluation.recall(List.of("a", "x", "c"), relevant, 2), 1e-12);
  }

  @Test
  void readers_parseBeirFiles() throws Exception {
    Files.writeString(
        dir.resolve("corpus.jsonl"),
        "{\"_id\":\"d1\",\"title\":\"Title\",\"text\":\"Body text.\"}\n"
            + "{\"_id\":\"d2\",\"title\":\"\",\"text\":\"Only body.\"}\n");
    Files.writeString(dir.resolve("queries.jsonl"), "{\"_id\":\"q1\",\"text\":\"a claim\"}\n");
    Files.writeString(
        dir.resolve("qrels.tsv"), "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n");

    var corpus = BeirEvaluation.readCorpus(dir.resolve("corpus.jsonl"));
    assertEquals("Title Body text.", corpus.get(0).content());
    assertEquals("d1", corpus.get(0).explicitId().orElseThrow());
    assertEquals("Only body.", corpus.get(1).content());
    assertEquals(Map.of("q1", "a claim"), BeirEvaluation.readQueries(dir.resolve("queries.jsonl")));
    assertEquals(
        Map.of("q1", Set.of("d1")), BeirEvaluation.readQrels(dir.resolve("qrels.tsv")));
  }

  private static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }
}
