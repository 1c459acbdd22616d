package io.ragengine.store.embedded;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The graph held in memory: entities by name and, per name, its relations by the other name.
 * Not thread-safe; {@link EmbeddedStorage} guards it with its read-write lock.
 */
final class MemoryGraph {
  private final Map<String, Entity> entities = new HashMap<>();
  // Each relation is reachable from both of its names; relationCount counts it once.
  private final Map<String, Map<String, Relation>> adjacency = new HashMap<>();
  private int relationCount;

  Optional<Entity> entity(String name) {
    return Optional.ofNullable(entities.get(name));
  }

  Optional<Relation> relation(String a, String b) {
    Map<String, Relation> edges = adjacency.get(a);
    return edges == null ? Optional.empty() : Optional.ofNullable(edges.get(b));
  }

  List<Relation> relations(String name) {
    Map<String, Relation> edges = adjacency.get(name);
    if (edges == null) {
      return List.of();
    }
    return List.copyOf(edges.values()); // a TreeMap: ordered by the other name
  }

  Set<String> neighbours(String name) {
    Map<String, Relation> edges = adjacency.get(name);
    return edges == null ? Set.of() : Set.copyOf(edges.keySet());
  }

  int degree(String name) {
    Map<String, Relation> edges = adjacency.get(name);
    return edges == null ? 0 : edges.size();
  }

  int entityCount() {
    return entities.size();
  }

  int relationCount() {
    return relationCount;
  }

  void putEntity(Entity entity) {
    entities.put(entity.name(), entity);
  }

  void removeEntity(String name) {
    entities.remove(name);
    Map<String, Relation> edges = adjacency.get(name);
    if (edges == null) {
      return;
    }
    for (String other : new ArrayList<>(edges.keySet())) {
      removeRelation(name, other);
    }
  }

  void putRelation(Relation relation) {
    Relation previous =
        adjacency.computeIfAbsent(relation.source(), k -> new TreeMap<>())
            .put(relation.target(), relation);
    adjacency.computeIfAbsent(relation.target(), k -> new TreeMap<>())
        .put(relation.source(), relation);
    if (previous == null) {
      relationCount++;
    }
  }

  void removeRelation(String a, String b) {
    if (detach(a, b) && detach(b, a)) {
      relationCount--;
    }
  }

  private boolean detach(String from, String to) {
    Map<String, Relation> edges = adjacency.get(from);
    if (edges == null || edges.remove(to) == null) {
      return false;
    }
    if (edges.isEmpty()) {
      adjacency.remove(from);
    }
    return true;
  }
}
