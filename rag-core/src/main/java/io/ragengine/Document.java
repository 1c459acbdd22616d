package io.ragengine;

import io.ragengine.internal.Checks;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A text to ingest. Immutable.
 *
 * <p>A document without an explicit id gets {@code "doc-"} followed by a hash of its content, so
 * the same text inserted twice is recognised as a duplicate. An explicit id wins.
 *
 * <p>Every string must be well-formed UTF-16: an unpaired surrogate (half of a pair, as a
 * substring cut between the two halves leaves) is refused, because the storage keeps text as UTF-8,
 * which cannot carry it, and the text would come back changed.
 *
 * <p>The components are in the order of {@link #of(String, String)}: the id first, then the text.
 *
 * @param id the document's id, or null to derive it from the content
 * @param content the text; not blank
 * @param sourcePath where the text came from (a file path, a URL), or null; stored, not read
 * @param metadata free-form string pairs stored with the document
 */
public record Document(
    @Nullable String id,
    String content,
    @Nullable String sourcePath,
    Map<String, String> metadata) {

  /**
   * @throws IllegalArgumentException if {@code content} or a given {@code id} is blank, or a
   *     string holds an unpaired surrogate (UTF-8 storage cannot carry it; the message gives its
   *     index)
   * @throws NullPointerException if {@code content} or {@code metadata} is null, or {@code
   *     metadata} holds a null key or value (the message names it)
   */
  public Document {
    Checks.wellFormed(Checks.notBlankNoEcho(content, "content"), "content");
    if (id != null) {
      Checks.wellFormed(Checks.notBlank(id, "id"), "id");
    }
    if (sourcePath != null) {
      Checks.wellFormed(sourcePath, "sourcePath");
    }
    Objects.requireNonNull(metadata, "metadata");
    // Before the copy: Map.copyOf's own NullPointerException names nothing.
    metadata.forEach(
        (key, value) -> {
          if (key == null) {
            throw new NullPointerException("metadata: a null key (expected: strings)");
          }
          if (value == null) {
            throw new NullPointerException("metadata[" + key + "]: null (expected: a string)");
          }
          Checks.wellFormed(key, "metadata key");
          Checks.wellFormed(value, "metadata[" + key + "]");
        });
    metadata = Map.copyOf(metadata);
  }

  /** A document with this content and an id derived from it. */
  public static Document of(String content) {
    return new Document(null, content, null, Map.of());
  }

  /** A document with an explicit id: the id first, then the text. */
  public static Document of(String id, String content) {
    return new Document(Objects.requireNonNull(id, "id"), content, null, Map.of());
  }

  /** This document with {@code sourcePath} recorded. */
  public Document withSourcePath(String sourcePath) {
    return new Document(id, content, Objects.requireNonNull(sourcePath, "sourcePath"), metadata);
  }

  /** This document with {@code metadata} instead of its current metadata. */
  public Document withMetadata(Map<String, String> metadata) {
    return new Document(id, content, sourcePath, metadata);
  }

  /** The explicit id, if one was given. */
  public Optional<String> explicitId() {
    return Optional.ofNullable(id);
  }

  @Override
  public String toString() {
    // Never the text: documents may be private, and logs are not.
    return "Document{id="
        + id
        + ", sourcePath="
        + sourcePath
        + ", length="
        + content.length()
        + ", metadata="
        + metadata.keySet()
        + "}";
  }
}
