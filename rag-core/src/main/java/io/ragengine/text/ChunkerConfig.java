package io.ragengine.text;

import io.ragengine.internal.Checks;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Settings for a {@link Chunker}. Immutable; create with {@link #builder()}.
 *
 * @param chunkSizeTokens the most tokens in one chunk
 * @param chunkOverlapTokens how many tokens a chunk shares with the one before it, when a text is
 *     cut into token windows
 * @param splitCharacter if set, the text is first split on this string and each piece becomes a
 *     chunk (pieces longer than {@code chunkSizeTokens} are cut into windows)
 * @param splitCharacterOnly with {@code splitCharacter}: refuse pieces longer than {@code
 *     chunkSizeTokens} instead of cutting them into windows
 */
public record ChunkerConfig(
    int chunkSizeTokens,
    int chunkOverlapTokens,
    @Nullable String splitCharacter,
    boolean splitCharacterOnly) {

  /** The default chunk size, {@value} tokens, as LightRAG's. */
  public static final int DEFAULT_CHUNK_SIZE_TOKENS = 1200;

  /** The default overlap, {@value} tokens, as LightRAG's. */
  public static final int DEFAULT_CHUNK_OVERLAP_TOKENS = 100;

  /**
   * Checks every value and their pairs.
   *
   * @throws IllegalArgumentException if a value is out of range, {@code chunkOverlapTokens} is not
   *     below {@code chunkSizeTokens}, {@code splitCharacter} is empty, or {@code
   *     splitCharacterOnly} is set without {@code splitCharacter}
   */
  public ChunkerConfig {
    Checks.positive(chunkSizeTokens, "chunkSizeTokens");
    Checks.positiveOrZero(chunkOverlapTokens, "chunkOverlapTokens");
    if (chunkOverlapTokens >= chunkSizeTokens) {
      throw new IllegalArgumentException(
          "chunkOverlapTokens: "
              + chunkOverlapTokens
              + " (expected: < chunkSizeTokens "
              + chunkSizeTokens
              + ")");
    }
    if (splitCharacter != null && splitCharacter.isEmpty()) {
      throw new IllegalArgumentException("splitCharacter: \"\" (expected: not empty)");
    }
    if (splitCharacterOnly && splitCharacter == null) {
      throw new IllegalArgumentException(
          "splitCharacterOnly: true (expected: false when splitCharacter is not set)");
    }
  }

  /** Returns a builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the defaults: 1200-token chunks overlapping by 100, no split character. */
  public static ChunkerConfig ofDefaults() {
    return builder().build();
  }

  /** Returns a builder that starts from this config's values. */
  public Builder toBuilder() {
    Builder b =
        builder()
            .chunkSizeTokens(chunkSizeTokens)
            .chunkOverlapTokens(chunkOverlapTokens)
            .splitCharacterOnly(splitCharacterOnly);
    b.splitCharacter = splitCharacter;
    return b;
  }

  /**
   * Builds a {@link ChunkerConfig}. Each setter checks its value at once; pairs of values are
   * checked by {@link #build()}. Not thread-safe; {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private int chunkSizeTokens = DEFAULT_CHUNK_SIZE_TOKENS;
    private int chunkOverlapTokens = DEFAULT_CHUNK_OVERLAP_TOKENS;
    /** Whether chunkOverlapTokens was set, so that a refusal can say the default is to blame. */
    private boolean overlapSet;
    private @Nullable String splitCharacter;
    private boolean splitCharacterOnly;

    private Builder() {}

    /**
     * The most tokens in one chunk. Default {@value ChunkerConfig#DEFAULT_CHUNK_SIZE_TOKENS}.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder chunkSizeTokens(int chunkSizeTokens) {
      this.chunkSizeTokens = Checks.positive(chunkSizeTokens, "chunkSizeTokens");
      return this;
    }

    /**
     * Tokens shared by consecutive windows, so that a sentence cut at a window's end is whole in
     * the next. Must be below {@code chunkSizeTokens}. Default {@value
     * ChunkerConfig#DEFAULT_CHUNK_OVERLAP_TOKENS}.
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder chunkOverlapTokens(int chunkOverlapTokens) {
      this.chunkOverlapTokens = Checks.positiveOrZero(chunkOverlapTokens, "chunkOverlapTokens");
      this.overlapSet = true;
      return this;
    }

    /**
     * Splits the text on this string first (a paragraph break {@code "\n\n"}, say); each piece
     * becomes a chunk, and pieces longer than {@code chunkSizeTokens} are cut into windows.
     * Default: none, the whole text is cut into windows.
     *
     * @throws IllegalArgumentException if empty
     */
    public Builder splitCharacter(String splitCharacter) {
      Objects.requireNonNull(splitCharacter, "splitCharacter");
      if (splitCharacter.isEmpty()) {
        throw new IllegalArgumentException("splitCharacter: \"\" (expected: not empty)");
      }
      this.splitCharacter = splitCharacter;
      return this;
    }

    /**
     * With a split character, fail on a piece longer than {@code chunkSizeTokens} rather than cut
     * it into windows. Default false.
     */
    public Builder splitCharacterOnly(boolean splitCharacterOnly) {
      this.splitCharacterOnly = splitCharacterOnly;
      return this;
    }

    /**
     * Returns a config with the values set so far.
     *
     * @throws IllegalArgumentException if the values do not fit together (see {@link
     *     ChunkerConfig})
     */
    public ChunkerConfig build() {
      if (!overlapSet && chunkOverlapTokens >= chunkSizeTokens) {
        throw new IllegalArgumentException(
            "chunkOverlapTokens: "
                + chunkOverlapTokens
                + ", the default (expected: < chunkSizeTokens "
                + chunkSizeTokens
                + "; set chunkOverlapTokens lower too)");
      }
      return new ChunkerConfig(
          chunkSizeTokens, chunkOverlapTokens, splitCharacter, splitCharacterOnly);
    }
  }
}
