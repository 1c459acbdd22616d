package io.ragengine;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** Documents the engine tests ingest: three topics, each a few chunks of 60 tokens long. */
final class Corpus {
  private Corpus() {}

  /** {@code sentences} short sentences about {@code topic}. */
  static String about(String topic, int sentences) {
    return IntStream.range(0, sentences)
        .mapToObj(i -> "Fact " + i + " about " + topic + ": " + topic + " matters to " + topic + ".")
        .collect(Collectors.joining(" "));
  }

  static final List<Document> CORPUS =
      List.of(
          Document.of("volcanoes", about("volcano eruption lava magma", 12)),
          Document.of("databases", about("database transaction commit index", 12)),
          Document.of("gardening", about("garden tomato compost seedling", 12)));
}
