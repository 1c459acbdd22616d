package io.ragengine.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ragengine.Document;
import io.ragengine.InsertReport;
import io.ragengine.QueryParams;
import io.ragengine.QueryResult;
import io.ragengine.RagEngine;
import io.ragengine.onnx.OnnxEmbeddingModel;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Retrieval quality of the whole engine on a BEIR-format dataset: ingests the corpus through
 * {@link RagEngine} (title and text as one document, the dataset's id as the document id), runs
 * every query that has judgements in NAIVE mode with {@code onlyContext}, and reports nDCG@10,
 * recall@10 and recall@100 (binary relevance, the BEIR/trec_eval definitions), ingest time and
 * queries per second. Works on any BEIR folder: {@code corpus.jsonl} ({@code _id}, {@code title},
 * {@code text}), {@code queries.jsonl} ({@code _id}, {@code text}), {@code qrels.tsv} (header,
 * then {@code query-id corpus-id score}).
 *
 * <p>Embeddings come from the in-process all-MiniLM-L6-v2 ({@code rag-embed-onnx}); {@code
 * --maxTokens N} sets where it cuts its input (default 256, the length it was trained with).
 * Documents are chunked with the engine's defaults (1,200 tokens), so almost every abstract is one
 * chunk and the model sees its first {@code maxTokens} word pieces, as in the published runs;
 * a document's rank is that of its best chunk.
 *
 * <p>Run: {@code java -cp rag-bench/target/benchmarks.jar io.ragengine.bench.BeirEvaluation
 * ../shared/datasets/scifact [--maxTokens 256] [--qrels qrels.tsv] [--queries queries.jsonl]}
 */
public final class BeirEvaluation {
  private static final ObjectMapper JSON = new ObjectMapper();

  private BeirEvaluation() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println(
          "usage: BeirEvaluation <dataset dir> [--maxTokens N] [--qrels FILE] [--queries FILE]");
      System.exit(2);
    }
    Path dataset = Path.of(args[0]);
    int maxTokens = OnnxEmbeddingModel.DEFAULT_MAX_TOKENS;
    String qrelsFile = "qrels.tsv";
    String queriesFile = "queries.jsonl";
    for (int i = 1; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--maxTokens" -> maxTokens = Integer.parseInt(args[i + 1]);
        case "--qrels" -> qrelsFile = args[i + 1];
        case "--queries" -> queriesFile = args[i + 1];
        default -> throw new IllegalArgumentException("unknown option: " + args[i]);
      }
    }
    List<Document> corpus = readCorpus(dataset.resolve("corpus.jsonl"));
    Map<String, String> queries = readQueries(dataset.resolve(queriesFile));
    Map<String, Set<String>> qrels = readQrels(dataset.resolve(qrelsFile));
    System.out.printf(
        "%s: %d documents, %d judged queries; all-MiniLM-L6-v2 int8, maxTokens %d; %d cores%n",
        dataset.getFileName(),
        corpus.size(),
        qrels.size(),
        maxTokens,
        Runtime.getRuntime().availableProcessors());

    Path work = Files.createTempDirectory("beir-");
    // Chunks the model reads whole: the engine counts cl100k tokens, the model word pieces (more
    // for the same text), hence the margin, as in the example CLI (200 for 256).
    int chunkTokens = maxTokens * 200 / 256;
    try (OnnxEmbeddingModel model = OnnxEmbeddingModel.builder().maxTokens(maxTokens).build();
        RagEngine engine =
            RagEngine.builder()
                .workingDir(work)
                .embeddingModel(model)
                .chunkSizeTokens(chunkTokens)
                .chunkOverlapTokens(chunkTokens * 15 / 100)
                .build()) {
      long t0 = System.nanoTime();
      InsertReport report = engine.insert(corpus);
      double ingestSeconds = (System.nanoTime() - t0) / 1e9;
      if (report.failed() > 0) {
        throw new IllegalStateException(report.failed() + " documents failed to ingest");
      }
      System.out.printf(
          Locale.ROOT,
          "ingest: %d documents, %d chunks in %.1f s (%.0f documents/s)%n",
          report.processed(),
          engine.stats().chunks(),
          ingestSeconds,
          report.processed() / ingestSeconds);

      QueryParams params = QueryParams.builder().onlyContext(true).topK(200).build();
      double ndcg10 = 0;
      double recall10 = 0;
      double recall100 = 0;
      int evaluated = 0;
      long q0 = System.nanoTime();
      for (Map.Entry<String, Set<String>> judged : qrels.entrySet()) {
        String text = queries.get(judged.getKey());
        if (text == null) {
          continue;
        }
        QueryResult result = engine.query(text, params);
        List<String> ranking = new ArrayList<>(new LinkedHashSet<>(
            result.sources().stream().map(QueryResult.Source::docId).toList()));
        Set<String> relevant = judged.getValue();
        ndcg10 += ndcg(ranking, relevant, 10);
        recall10 += recall(ranking, relevant, 10);
        recall100 += recall(ranking, relevant, 100);
        evaluated++;
      }
      double querySeconds = (System.nanoTime() - q0) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "queries: %d in %.1f s (%.1f queries/s, one at a time)%n",
          evaluated,
          querySeconds,
          evaluated / querySeconds);
      System.out.printf(
          Locale.ROOT,
          "nDCG@10 %.4f   recall@10 %.4f   recall@100 %.4f%n",
          ndcg10 / evaluated,
          recall10 / evaluated,
          recall100 / evaluated);
    } finally {
      deleteRecursively(work);
    }
  }

  /** nDCG@k with binary relevance: DCG = sum rel_i / log2(i + 1), ideal = all relevant first. */
  static double ndcg(List<String> ranking, Set<String> relevant, int k) {
    double dcg = 0;
    for (int i = 0; i < Math.min(k, ranking.size()); i++) {
      if (relevant.contains(ranking.get(i))) {
        dcg += 1 / log2(i + 2);
      }
    }
    double ideal = 0;
    for (int i = 0; i < Math.min(k, relevant.size()); i++) {
      ideal += 1 / log2(i + 2);
    }
    return ideal == 0 ? 0 : dcg / ideal;
  }

  static double recall(List<String> ranking, Set<String> relevant, int k) {
    int hits = 0;
    for (int i = 0; i < Math.min(k, ranking.size()); i++) {
      if (relevant.contains(ranking.get(i))) {
        hits++;
      }
    }
    return relevant.isEmpty() ? 0 : hits / (double) relevant.size();
  }

  private static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }

  static List<Document> readCorpus(Path file) throws IOException {
    List<Document> docs = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode n = JSON.readTree(line);
        String text = (n.path("title").asText("") + " " + n.path("text").asText("")).strip();
        if (!text.isEmpty()) {
          docs.add(Document.of(n.path("_id").asText(), text));
        }
      }
    }
    return docs;
  }

  static Map<String, String> readQueries(Path file) throws IOException {
    Map<String, String> queries = new HashMap<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.isBlank()) {
          JsonNode n = JSON.readTree(line);
          queries.put(n.path("_id").asText(), n.path("text").asText());
        }
      }
    }
    return queries;
  }

  static Map<String, Set<String>> readQrels(Path file) throws IOException {
    Map<String, Set<String>> qrels = new java.util.TreeMap<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int i = 1; i < lines.size(); i++) { // line 0 is the header
      String[] f = lines.get(i).split("\t");
      if (f.length >= 3 && Integer.parseInt(f[2].trim()) > 0) {
        qrels.computeIfAbsent(f[0], q -> new HashSet<>()).add(f[1]);
      }
    }
    return qrels;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
