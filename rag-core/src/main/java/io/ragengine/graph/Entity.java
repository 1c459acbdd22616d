package io.ragengine.graph;

import io.ragengine.internal.Checks;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A node of the knowledge graph: a named thing extracted from one or more chunks. Immutable.
 *
 * <p>The name is the entity's identity: two entities with the same name are the same node. This
 * record holds only what storage needs; extraction and merging, which build it, come later.
 *
 * @param name the identity of the entity; not blank
 * @param type a category such as {@code person} or {@code organization}; may be empty
 * @param description what the chunks say about the entity; may be empty
 * @param sourceChunkIds the ids of the chunks the entity was extracted from, in order
 * @param properties further attributes, by name; copied
 */
public record Entity(
    String name,
    String type,
    String description,
    List<String> sourceChunkIds,
    Map<String, String> properties) {

  /**
   * Checks and copies the components.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws NullPointerException if any component, list element or map key or value is null
   */
  public Entity {
    Checks.notBlank(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(description, "description");
    sourceChunkIds = List.copyOf(Objects.requireNonNull(sourceChunkIds, "sourceChunkIds"));
    properties = Map.copyOf(Objects.requireNonNull(properties, "properties"));
  }

  /** Returns an entity with no source chunks and no properties. */
  public static Entity of(String name, String type, String description) {
    return new Entity(name, type, description, List.of(), Map.of());
  }
}
