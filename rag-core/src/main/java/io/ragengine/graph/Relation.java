package io.ragengine.graph;

import io.ragengine.internal.Checks;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An edge of the knowledge graph between two entities, extracted from one or more chunks.
 * Immutable.
 *
 * <p>Relations are undirected, as in LightRAG: the relation between {@code a} and {@code b} is
 * the relation between {@code b} and {@code a}, and a store holds at most one of them. {@link
 * #source()} and {@link #target()} keep the order in which the relation was last written.
 *
 * @param source the name of one entity; not blank
 * @param target the name of the other entity; not blank and not equal to {@code source}
 * @param keywords high-level keywords that summarise the relation; may be empty
 * @param description what the chunks say about the relation; may be empty
 * @param weight the strength of the relation; finite and not negative
 * @param sourceChunkIds the ids of the chunks the relation was extracted from, in order
 * @param properties further attributes, by name; copied
 */
public record Relation(
    String source,
    String target,
    String keywords,
    String description,
    double weight,
    List<String> sourceChunkIds,
    Map<String, String> properties) {

  /**
   * Checks and copies the components.
   *
   * @throws IllegalArgumentException if a name is blank, the names are equal, or {@code weight}
   *     is negative, infinite or NaN
   * @throws NullPointerException if any component, list element or map key or value is null
   */
  public Relation {
    Checks.notBlank(source, "source");
    Checks.notBlank(target, "target");
    if (source.equals(target)) {
      throw new IllegalArgumentException(
          "target: \"" + target + "\" (expected: not equal to source)");
    }
    Objects.requireNonNull(keywords, "keywords");
    Objects.requireNonNull(description, "description");
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException("weight: " + weight + " (expected: finite and >= 0)");
    }
    sourceChunkIds = List.copyOf(Objects.requireNonNull(sourceChunkIds, "sourceChunkIds"));
    properties = Map.copyOf(Objects.requireNonNull(properties, "properties"));
  }

  /** Returns a relation with no source chunks and no properties. */
  public static Relation of(
      String source, String target, String keywords, String description, double weight) {
    return new Relation(source, target, keywords, description, weight, List.of(), Map.of());
  }

  /** Returns true if this relation joins {@code a} and {@code b}, in either order. */
  public boolean joins(String a, String b) {
    return (source.equals(a) && target.equals(b)) || (source.equals(b) && target.equals(a));
  }
}
