package io.ragengine.examples;

import io.ragengine.Document;
import io.ragengine.EngineStats;
import io.ragengine.InsertReport;
import io.ragengine.QueryParams;
import io.ragengine.QueryResult;
import io.ragengine.QueryResult.Source;
import io.ragengine.RagEngine;
import io.ragengine.ingest.IngestProgress;
import io.ragengine.model.ChatModel;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.onnx.OnnxEmbeddingModel;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import io.ragengine.store.DocStatus;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jspecify.annotations.Nullable;

/**
 * The README's main job: a command-line RAG over your own files, offline by default.
 *
 * <pre>
 *   ingest &lt;files or folders&gt;   ingest .txt and .md files (folders recursively)
 *   ask "&lt;question&gt;"              answer from the ingested files, with the sources and scores
 *   stats                         what is stored, and the engine's figures
 *   (no arguments)                ingest this repository's docs/ and ask it about ragengine
 * </pre>
 *
 * <p>Embeddings come from the in-process all-MiniLM-L6-v2 model, so nothing leaves the machine and
 * no key is needed. With {@code OPENAI_MODEL} and {@code OPENAI_API_KEY} (or {@code
 * OPENAI_BASE_URL}, for a local server) set, answers come from that chat model; {@code
 * OPENAI_EMBEDDING_MODEL} also moves embeddings there. Without a chat model the program says so
 * and shows the best passages instead, the sentence closest to the question marked: it never
 * pretends a model answered.
 *
 * <p>The data directory ({@code --data DIR}, default {@code rag-data}) persists: ingesting the
 * same files again costs nothing. Each embedding model gets its own subdirectory, since vectors
 * of different models cannot be mixed.
 *
 * <p>Run: {@code ./mvnw -q -pl examples -am compile exec:java [-Dexec.args="ask 'question'"]}
 */
public final class RagCli {
  /** Chunk size for the local model: all-MiniLM-L6-v2 reads at most 256 word pieces. */
  static final int LOCAL_CHUNK_TOKENS = 200;

  static final List<String> DEMO_QUESTIONS =
      List.of(
          "How does ragengine keep a user's query from waiting behind a bulk ingest?",
          "What happens to documents if the process crashes in the middle of an ingest?",
          "How are embedding requests batched?");

  private static final Pattern SENTENCE = Pattern.compile("(?<=[.!?])\\s+|\\n\\s*\\n");

  private final Map<String, String> env;
  private final PrintStream out;
  private final boolean ansi;

  RagCli(Map<String, String> env, PrintStream out, boolean ansi) {
    this.env = env;
    this.out = out;
    this.ansi = ansi;
  }

  public static void main(String[] args) {
    RagCli cli = new RagCli(System.getenv(), System.out, System.console() != null);
    System.exit(cli.run(args));
  }

  /** Runs one command; returns the process exit code. */
  int run(String[] args) {
    List<String> rest = new ArrayList<>(List.of(args));
    Path data = Path.of("rag-data");
    int at = rest.indexOf("--data");
    if (at >= 0) {
      if (at + 1 >= rest.size()) {
        out.println("--data needs a directory");
        return 2;
      }
      data = Path.of(rest.get(at + 1));
      rest.remove(at + 1);
      rest.remove(at);
    }
    if (rest.isEmpty()) {
      return demo(data);
    }
    String command = rest.remove(0);
    return switch (command) {
      case "ingest" -> rest.isEmpty() ? usage("ingest needs files or folders") : ingest(data, rest);
      case "ask" ->
          rest.size() != 1 || rest.get(0).isBlank()
              ? usage("ask needs one question, in quotes")
              : ask(data, rest.get(0));
      case "stats" -> rest.isEmpty() ? stats(data) : usage("stats takes no arguments");
      default -> usage("unknown command: " + command);
    };
  }

  private int usage(String problem) {
    out.println(problem);
    out.println("usage: ingest <files or folders> | ask \"<question>\" | stats   [--data DIR]");
    out.println("       (no arguments: ingest this repository's docs/ and ask about ragengine)");
    return 2;
  }

  // --- commands -----------------------------------------------------------------------------

  private int demo(Path data) {
    Path docs = findDocs();
    if (docs == null) {
      out.println("Run this from the ragengine repository (its docs/ folder is the demo corpus).");
      return 2;
    }
    out.println("ragengine demo: ingesting " + docs + " and asking it about ragengine.");
    try (Session s = open(data)) {
      ingest(s, List.of(docs));
      for (String question : DEMO_QUESTIONS) {
        out.println();
        ask(s, question);
      }
      out.println();
      printStats(s);
    }
    return 0;
  }

  private int ingest(Path data, List<String> paths) {
    List<Path> roots = new ArrayList<>();
    for (String p : paths) {
      Path path = Path.of(p);
      if (!Files.exists(path)) {
        out.println("no such file or folder: " + p);
        return 2;
      }
      roots.add(path);
    }
    try (Session s = open(data)) {
      ingest(s, roots);
    }
    return 0;
  }

  private int ask(Path data, String question) {
    try (Session s = open(data)) {
      if (s.engine.stats().chunks() == 0) {
        out.println("Nothing is ingested yet in " + s.dir + ": run ingest first.");
        return 1;
      }
      ask(s, question);
    }
    return 0;
  }

  private int stats(Path data) {
    try (Session s = open(data)) {
      printStats(s);
    }
    return 0;
  }

  // --- the work --------------------------------------------------------------------------------

  private void ingest(Session s, List<Path> roots) {
    List<Path> files = new ArrayList<>();
    for (Path root : roots) {
      files.addAll(textFiles(root));
    }
    if (files.isEmpty()) {
      out.println("No .txt or .md files found.");
      return;
    }
    List<Document> documents = new ArrayList<>();
    for (Path f : files) {
      String text = read(f);
      if (!text.isBlank()) {
        documents.add(Document.of(text).withSourcePath(f.toString()));
      }
    }
    InsertReport report;
    if (!ansi) {
      // Not a terminal (a pipe, a CI log): a bar would print a line per redraw.
      out.println("Ingesting " + documents.size() + " file(s)...");
      report = s.engine.insert(documents);
    } else {
      report = ingestWithBar(s, documents);
    }
    out.printf(
        "%d file(s): %d ingested, %d already there, %d failed.%n",
        documents.size(), report.processed(), report.duplicates(), report.failed());
    report.with(InsertReport.Outcome.FAILED)
        .forEach(d -> out.println("  failed: " + d.docId() + ": " + d.error().orElse("")));
  }

  private InsertReport ingestWithBar(Session s, List<Document> documents) {
    InsertReport report;
    try (ProgressBar bar =
        new ProgressBarBuilder()
            .setTaskName("Ingesting")
            .setInitialMax(documents.size())
            .setStyle(ProgressBarStyle.ASCII)
            .setConsumer(new ConsoleProgressBarConsumer(out, 100))
            .continuousUpdate()
            .build()) {
      s.progress = p -> {
        if (p.stage() == IngestProgress.Stage.PROCESSED || p.stage() == IngestProgress.Stage.FAILED) {
          bar.step();
        }
      };
      report = s.engine.insert(documents);
      bar.stepTo(documents.size());
    } finally {
      s.progress = null;
    }
    return report;
  }

  private void ask(Session s, String question) {
    out.println("Q: " + question);
    if (s.chat == null) {
      QueryResult r =
          s.engine.query(question, QueryParams.builder().onlyContext(true).topK(3).build());
      out.println(
          "No chat model is configured (set OPENAI_MODEL and OPENAI_API_KEY or OPENAI_BASE_URL"
              + " for answers), so this is retrieval only: the best passages, the sentence"
              + " closest to the question marked.");
      int n = 1;
      for (Source source : r.sources()) {
        out.printf(Locale.ROOT, "  [%d] score %.3f  %s%n", n++, source.score(), s.origin(source));
        out.println(indent(highlight(s, question, source.content())));
      }
      return;
    }
    QueryResult r = s.engine.query(question, QueryParams.builder().topK(5).build());
    out.println("A (" + s.chat.modelName() + "): " + r.answer().orElse(""));
    int n = 1;
    for (Source source : r.sources()) {
      out.printf(Locale.ROOT, "  [%d] score %.3f  %s%n", n++, source.score(), s.origin(source));
    }
  }

  private void printStats(Session s) {
    EngineStats st = s.engine.stats();
    out.printf(
        "Data: %s%nDocuments: %d processed, %d failed, %d pending; %d chunks searchable.%n",
        s.dir,
        st.documents().getOrDefault(DocStatus.PROCESSED, 0),
        st.documents().getOrDefault(DocStatus.FAILED, 0),
        st.documents().getOrDefault(DocStatus.PENDING, 0)
            + st.documents().getOrDefault(DocStatus.PROCESSING, 0),
        st.chunks());
    out.printf(
        "Embedding model: %s; chat model: %s.%n",
        s.embeddings.modelName(),
        s.chat == null ? "none (retrieval only)" : s.chat.modelName());
    out.printf(
        Locale.ROOT,
        "This run: %d embedding calls (%d completed in the limiter, run p50 %.1f ms),"
            + " %d chat calls.%n",
        st.embeddingCalls(),
        st.embedding().completed(),
        st.embedding().runTime().p50().toNanos() / 1e6,
        st.chat().completed());
  }

  /** The passage with the sentence most similar to the question marked. */
  private String highlight(Session s, String question, String passage) {
    String[] sentences = SENTENCE.split(passage.strip());
    if (sentences.length < 2) {
      return passage;
    }
    List<String> texts = new ArrayList<>(sentences.length + 1);
    texts.add(question);
    texts.addAll(List.of(sentences));
    List<float[]> vectors = s.embeddings.embed(texts);
    int best = 0;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < sentences.length; i++) {
      double score = cosine(vectors.get(0), vectors.get(i + 1));
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    String marked = ansi ? "\u001b[1;33m" + sentences[best] + "\u001b[0m" : ">>> " + sentences[best] + " <<<";
    return passage.replace(sentences[best], marked);
  }

  private static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  private static String indent(String text) {
    String oneLine = text.replaceAll("\\s*\\n\\s*", " ");
    return "      " + (oneLine.length() > 700 ? oneLine.substring(0, 700) + " ..." : oneLine);
  }

  // --- set-up ----------------------------------------------------------------------------------

  /** An open engine with its models. */
  private final class Session implements AutoCloseable {
    final Path dir;
    final EmbeddingModel embeddings;
    final @Nullable ChatModel chat;
    final RagEngine engine;
    volatile @Nullable Consumer<IngestProgress> progress;
    private final @Nullable AutoCloseable local;
    private final Map<String, String> sourceOf = new java.util.concurrent.ConcurrentHashMap<>();

    Session(Path data) {
      Optional<OpenAiClient> client = openAi();
      String embeddingName = env.get("OPENAI_EMBEDDING_MODEL");
      if (client.isPresent() && embeddingName != null && !embeddingName.isBlank()) {
        embeddings =
            OpenAiEmbeddingModel.builder().client(client.get()).model(embeddingName).build();
        local = null;
      } else {
        OnnxEmbeddingModel onnx = OnnxEmbeddingModel.create();
        embeddings = onnx;
        local = onnx;
      }
      String chatName = env.get("OPENAI_MODEL");
      chat =
          client.isPresent() && chatName != null && !chatName.isBlank()
              ? OpenAiChatModel.builder().client(client.get()).model(chatName).build()
              : null;
      dir = data.resolve(embeddings.modelName().replaceAll("[^A-Za-z0-9._-]", "_"));
      RagEngine.Builder b =
          RagEngine.builder()
              .workingDir(dir)
              .embeddingModel(embeddings)
              .progressListener(
                  p -> {
                    var listener = progress;
                    if (listener != null) {
                      listener.accept(p);
                    }
                  });
      if (local != null) {
        b.chunkSizeTokens(LOCAL_CHUNK_TOKENS).chunkOverlapTokens(30);
      }
      if (chat != null) {
        b.chatModel(chat);
      }
      engine = b.build();
    }

    /** Where a chunk came from: its file if known, else its document id. */
    String origin(Source source) {
      return sourceOf.computeIfAbsent(
          source.docId(),
          id -> engine.document(id).map(Document::sourcePath).filter(p -> p != null).orElse(id));
    }

    @Override
    public void close() {
      engine.close();
      if (local != null) {
        try {
          local.close();
        } catch (Exception e) {
          out.println("closing the local model failed: " + e);
        }
      }
    }
  }

  private Session open(Path data) {
    return new Session(data);
  }

  private Optional<OpenAiClient> openAi() {
    String key = env.getOrDefault("OPENAI_API_KEY", "");
    String url = env.getOrDefault("OPENAI_BASE_URL", "");
    if (key.isBlank() && url.isBlank()) {
      return Optional.empty();
    }
    OpenAiClient.Builder b = OpenAiClient.builder();
    b.baseUrl(url.isBlank() ? "https://api.openai.com/v1" : url);
    if (!key.isBlank()) {
      b.apiKey(key);
    }
    return Optional.of(b.build());
  }

  private static @Nullable Path findDocs() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("docs/architecture.md"))) {
        return d.resolve("docs");
      }
    }
    return null;
  }

  private static List<Path> textFiles(Path root) {
    if (Files.isRegularFile(root)) {
      return isText(root) ? List.of(root) : List.of();
    }
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).filter(RagCli::isText).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  private static boolean isText(Path p) {
    String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return name.endsWith(".txt") || name.endsWith(".md");
  }

  private static String read(Path f) {
    try {
      return Files.readString(f, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }
}
