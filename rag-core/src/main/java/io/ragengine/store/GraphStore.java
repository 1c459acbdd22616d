package io.ragengine.store;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The knowledge graph: entities keyed by name and undirected relations keyed by their pair of
 * entity names. Thread-safe.
 *
 * <p>A relation may name an entity that is not stored (yet); it still counts towards that name's
 * {@link #degree} and {@link #neighbours}. Deleting an entity deletes its relations. Reads see
 * committed state only; each write method commits on its own.
 */
public interface GraphStore {

  /**
   * Returns the entity named {@code name}, or empty.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the storage is closed
   */
  Optional<Entity> entity(String name);

  /**
   * Returns the relation between {@code a} and {@code b} in either order, or empty.
   *
   * @throws IllegalArgumentException if a name is blank
   * @throws IllegalStateException if the storage is closed
   */
  Optional<Relation> relation(String a, String b);

  /**
   * Returns the relations that touch {@code name}, ordered by the other entity's name.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the storage is closed
   */
  List<Relation> relations(String name);

  /**
   * Returns the names joined to {@code name} by a relation; empty if there are none. Unmodifiable.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the storage is closed
   */
  Set<String> neighbours(String name);

  /**
   * Returns the number of relations that touch {@code name}.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws IllegalStateException if the storage is closed
   */
  int degree(String name);

  /**
   * Returns the degree of each of {@code names} (0 for unknown names). Unmodifiable.
   *
   * @throws IllegalArgumentException if a name is blank
   * @throws IllegalStateException if the storage is closed
   */
  Map<String, Integer> degrees(Collection<String> names);

  /**
   * Returns the number of stored entities.
   *
   * @throws IllegalStateException if the storage is closed
   */
  int entityCount();

  /**
   * Returns the number of stored relations.
   *
   * @throws IllegalStateException if the storage is closed
   */
  int relationCount();

  /**
   * Stores {@code entity}, replacing any entity with its name, and commits.
   *
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void upsertEntity(Entity entity);

  /**
   * Stores {@code relation}, replacing any relation between the same two names, and commits.
   *
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void upsertRelation(Relation relation);

  /**
   * Removes the entity named {@code name} and every relation that touches it, and commits.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void deleteEntity(String name);

  /**
   * Removes the relation between {@code a} and {@code b} in either order, and commits.
   *
   * @throws IllegalArgumentException if a name is blank
   * @throws StoreException if the write cannot be committed; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void deleteRelation(String a, String b);
}
