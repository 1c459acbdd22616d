package io.ragengine.openai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

final class EmbeddingBatcherTest {

  /** One token per word; counts how often it is asked. */
  private static final class WordCounter implements TokenCounter {
    final AtomicInteger counts = new AtomicInteger();

    @Override
    public int count(String text) {
      counts.incrementAndGet();
      return text.isBlank() ? 0 : text.strip().split("\\s+").length;
    }

    @Override
    public String truncate(String text, int maxTokens) {
      String[] words = text.strip().split("\\s+");
      return String.join(" ", java.util.Arrays.copyOf(words, maxTokens));
    }
  }

  private static String words(int n) {
    return String.join(" ", Collections.nCopies(n, "w"));
  }

  private static List<String> texts(int... tokens) {
    List<String> out = new ArrayList<>();
    for (int t : tokens) {
      out.add(words(t));
    }
    return out;
  }

  @Test
  void plan_tokenBudget_packsGreedilyInOrder() {
    EmbeddingBatcher b =
        new EmbeddingBatcher(100, 8, 8, EmbeddingBatcher.Overlong.REJECT, new WordCounter());
    // 3+4 fit in 8; +5 would not. 5+2 fit; +6 would not. 6 alone.
    EmbeddingBatcher.Plan plan = b.plan(texts(3, 4, 5, 2, 6));
    assertArrayEquals(new int[] {2, 4, 5}, plan.batchEnds());
  }

  @Test
  void plan_exactlyAtTheBudget_fits() {
    EmbeddingBatcher b =
        new EmbeddingBatcher(100, 8, 8, EmbeddingBatcher.Overlong.REJECT, new WordCounter());
    assertArrayEquals(new int[] {2, 3}, b.plan(texts(4, 4, 1)).batchEnds());
  }

  @Test
  void plan_countLimit_splitsEvenWithTokensToSpare() {
    EmbeddingBatcher b =
        new EmbeddingBatcher(2, 1000, 100, EmbeddingBatcher.Overlong.REJECT, new WordCounter());
    assertArrayEquals(new int[] {2, 4, 5}, b.plan(texts(1, 1, 1, 1, 1)).batchEnds());
  }

  @Test
  void plan_bothLimits_whicheverComesFirst() {
    EmbeddingBatcher b =
        new EmbeddingBatcher(3, 10, 10, EmbeddingBatcher.Overlong.REJECT, new WordCounter());
    // count limit closes [1,1,1]; budget closes [9] before +2; then [2,2,2] by count; then [5].
    assertArrayEquals(new int[] {3, 4, 7, 8}, b.plan(texts(1, 1, 1, 9, 2, 2, 2, 5)).batchEnds());
  }

  @Test
  void plan_shortTexts_areNeverTokenized() {
    WordCounter counter = new WordCounter();
    EmbeddingBatcher b =
        new EmbeddingBatcher(2048, 300_000, 8191, EmbeddingBatcher.Overlong.REJECT, counter);
    // 64 chunks of 1000 chars: at most 192,000 tokens by the bound, under the 300,000 budget.
    List<String> chunks = Collections.nCopies(64, "x".repeat(1000));
    assertArrayEquals(new int[] {64}, b.plan(chunks).batchEnds());
    assertEquals(0, counter.counts.get(), "the cheap bound settles every text");
  }

  @Test
  void plan_manyTexts_countsEachTextAtMostOnce() {
    WordCounter counter = new WordCounter();
    EmbeddingBatcher b =
        new EmbeddingBatcher(2048, 300_000, 8191, EmbeddingBatcher.Overlong.REJECT, counter);
    List<String> chunks = Collections.nCopies(500, "x".repeat(1000));
    assertArrayEquals(new int[] {500}, b.plan(chunks).batchEnds());
    assertTrue(counter.counts.get() <= 500, "counted " + counter.counts.get());
  }

  @Test
  void plan_overlong_rejectedBeforeAnyRequest() {
    EmbeddingBatcher b =
        new EmbeddingBatcher(10, 100, 5, EmbeddingBatcher.Overlong.REJECT, new WordCounter());
    var e = assertThrows(IllegalArgumentException.class, () -> b.plan(texts(1, 6, 1)));
    assertTrue(
        String.valueOf(e.getMessage()).startsWith("texts[1]: 6 tokens (expected: <= maxInputTokens 5;"),
        e.getMessage());
    assertTrue(String.valueOf(e.getMessage()).contains("overlongInput(TRUNCATE)"), e.getMessage());
  }

  @Test
  void plan_overlong_truncatedWhenAsked() {
    List<String> in = texts(1, 6, 1);
    EmbeddingBatcher b =
        new EmbeddingBatcher(10, 100, 5, EmbeddingBatcher.Overlong.TRUNCATE, new WordCounter());
    EmbeddingBatcher.Plan plan = b.plan(in);
    assertEquals(words(5), plan.texts().get(1));
    assertEquals(words(6), in.get(1), "the caller's list is not modified");
  }

  @Test
  void plan_nothingOverlong_keepsTheSameList() {
    List<String> in = texts(1, 2);
    EmbeddingBatcher b =
        new EmbeddingBatcher(10, 100, 5, EmbeddingBatcher.Overlong.TRUNCATE, new WordCounter());
    assertSame(in, b.plan(in).texts());
  }

  @Test
  void cl100k_countsAndTruncates() {
    TokenCounter c = TokenCounter.cl100k();
    assertEquals(2, c.count("hello world"));
    String longText = "The quick brown fox jumps over the lazy dog. ".repeat(50);
    String cut = c.truncate(longText, 20);
    assertTrue(c.count(cut) <= 20);
    assertTrue(longText.startsWith(cut));
    assertTrue(c.count(longText) <= TokenCounter.upperBound(longText));
    assertTrue(c.count("日本語のテキスト🙂") <= TokenCounter.upperBound("日本語のテキスト🙂"));
  }

  @Test
  void upperBound_isTheUtf8LengthAndNeverBelowTheCount() {
    TokenCounter c = TokenCounter.cl100k();
    List<String> samples =
        List.of(
            "",
            "plain ascii, the common case",
            "naïve café déjà vu",
            "日本語のテキスト",
            "🙂🚀 emoji pairs",
            "mixed Ωmega 知识 🙂 text ".repeat(40));
    for (String s : samples) {
      assertTrue(c.count(s) <= TokenCounter.upperBound(s), s);
      assertTrue(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
          <= TokenCounter.upperBound(s), s);
    }
    assertEquals(5, TokenCounter.upperBound("ascii"));
    assertEquals(6, TokenCounter.upperBound("日本"));
  }

  @Test
  void plan_englishChunkUnderTheInputLimitInBytes_isNotCounted() {
    WordCounter counter = new WordCounter();
    // 1,000 words, 6,000 chars: over the limit at 3 bytes a char, under it at its UTF-8 length.
    String chunk = "words ".repeat(1_000);
    EmbeddingBatcher b =
        new EmbeddingBatcher(10, 1_000_000, 8_191, EmbeddingBatcher.Overlong.REJECT, counter);

    b.plan(List.of(chunk, chunk));

    assertEquals(0, counter.counts.get());
  }
}
