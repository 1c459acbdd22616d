package io.ragengine.store;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.internal.Checks;
import io.ragengine.internal.Vectors;
import io.ragengine.store.UnitOfWork.DocStatusDelete;
import io.ragengine.store.UnitOfWork.DocStatusPut;
import io.ragengine.store.UnitOfWork.EntityDelete;
import io.ragengine.store.UnitOfWork.EntityUpsert;
import io.ragengine.store.UnitOfWork.KvDelete;
import io.ragengine.store.UnitOfWork.KvPut;
import io.ragengine.store.UnitOfWork.Operation;
import io.ragengine.store.UnitOfWork.RelationDelete;
import io.ragengine.store.UnitOfWork.RelationUpsert;
import io.ragengine.store.UnitOfWork.VectorDelete;
import io.ragengine.store.UnitOfWork.VectorUpsert;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Storage} held in plain maps, for tests of code that uses storage, and the reference the
 * contract tests check other implementations against: vectors in float32 and exact double-precision
 * scores, so it is slow but simple. Thread-safe: one read-write lock; a commit checks the whole
 * unit, then applies it under the write lock. Nothing is durable.
 */
public final class InMemoryStorage implements Storage {
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Map<String, Map<String, String>> kv = new HashMap<>();
  private final Map<String, Map<String, float[]>> vectors = new HashMap<>();
  private final Map<String, Entity> entities = new HashMap<>();
  private final Map<String, Map<String, Relation>> adjacency = new HashMap<>();
  private final Map<String, DocStatusRecord> statuses = new HashMap<>();
  private volatile boolean closed;

  /** Returns an empty storage. */
  public static InMemoryStorage create() {
    return new InMemoryStorage();
  }

  private InMemoryStorage() {}

  private <T> T read(Supplier<T> reader) {
    if (closed) {
      throw new IllegalStateException("storage is closed");
    }
    lock.readLock().lock();
    try {
      return reader.get();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void commit(UnitOfWork unit) {
    List<Operation> operations = unit.operations();
    if (closed) {
      throw new IllegalStateException("storage is closed");
    }
    lock.writeLock().lock();
    try {
      Map<String, Integer> dims = new HashMap<>();
      for (Operation op : operations) {
        if (op instanceof VectorUpsert v) {
          Map<String, float[]> ns = vectors.get(v.namespace());
          int expected =
              dims.computeIfAbsent(
                  v.namespace(),
                  k ->
                      ns == null || ns.isEmpty()
                          ? v.vector().length
                          : ns.values().iterator().next().length);
          if (expected != v.vector().length) {
            throw new IllegalArgumentException(
                "vector: dimension " + v.vector().length + " (expected: " + expected + ")");
          }
        }
      }
      for (Operation op : operations) {
        switch (op) {
          case KvPut p -> kv.computeIfAbsent(p.namespace(), k -> new HashMap<>()).put(p.key(), p.value());
          case KvDelete d -> {
            Map<String, String> ns = kv.get(d.namespace());
            if (ns != null) {
              ns.remove(d.key());
            }
          }
          case VectorUpsert v ->
              vectors.computeIfAbsent(v.namespace(), k -> new HashMap<>()).put(v.id(), v.vector());
          case VectorDelete d -> {
            Map<String, float[]> ns = vectors.get(d.namespace());
            if (ns != null) {
              ns.remove(d.id());
            }
          }
          case EntityUpsert u -> entities.put(u.entity().name(), u.entity());
          case EntityDelete d -> {
            entities.remove(d.name());
            for (String other : new ArrayList<>(edges(d.name()).keySet())) {
              removeRelation(d.name(), other);
            }
          }
          case RelationUpsert u -> {
            Relation r = u.relation();
            removeRelation(r.source(), r.target());
            adjacency.computeIfAbsent(r.source(), k -> new TreeMap<>()).put(r.target(), r);
            adjacency.computeIfAbsent(r.target(), k -> new TreeMap<>()).put(r.source(), r);
          }
          case RelationDelete d -> removeRelation(d.a(), d.b());
          case DocStatusPut p -> statuses.put(p.record().docId(), p.record());
          case DocStatusDelete d -> statuses.remove(d.docId());
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  private Map<String, Relation> edges(String name) {
    Map<String, Relation> edges = adjacency.get(name);
    return edges == null ? Map.of() : edges;
  }

  private void removeRelation(String a, String b) {
    for (String[] pair : new String[][] {{a, b}, {b, a}}) {
      Map<String, Relation> edges = adjacency.get(pair[0]);
      if (edges != null) {
        edges.remove(pair[1]);
        if (edges.isEmpty()) {
          adjacency.remove(pair[0]);
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public KvStore kv() {
    return new KvStore() {
      @Override
      public Optional<String> get(String namespace, String key) {
        Checks.notBlank(namespace, "namespace");
        Checks.notBlank(key, "key");
        return read(() -> Optional.ofNullable(kv.getOrDefault(namespace, Map.of()).get(key)));
      }

      @Override
      public Map<String, String> getAll(String namespace, Collection<String> keys) {
        Checks.notBlank(namespace, "namespace");
        keys.forEach(k -> Checks.notBlank(k, "key"));
        return read(
            () -> {
              Map<String, String> out = new LinkedHashMap<>();
              for (String key : keys) {
                String value = kv.getOrDefault(namespace, Map.of()).get(key);
                if (value != null) {
                  out.put(key, value);
                }
              }
              return java.util.Collections.unmodifiableMap(out);
            });
      }

      @Override
      public List<String> keys(String namespace) {
        Checks.notBlank(namespace, "namespace");
        return read(() -> List.copyOf(new TreeSet<>(kv.getOrDefault(namespace, Map.of()).keySet())));
      }

      @Override
      public void put(String namespace, String key, String value) {
        commit(new UnitOfWork().put(namespace, key, value));
      }

      @Override
      public void delete(String namespace, String key) {
        commit(new UnitOfWork().delete(namespace, key));
      }
    };
  }

  @Override
  public VectorStore vectors() {
    return new VectorStore() {
      @Override
      public List<VectorMatch> query(
          String namespace,
          float[] vector,
          int topK,
          float minScore,
          @Nullable Predicate<String> idFilter) {
        Checks.notBlank(namespace, "namespace");
        Checks.positive(topK, "topK");
        if (Float.isNaN(minScore)) {
          throw new IllegalArgumentException("minScore: NaN (expected: a number)");
        }
        float[] q = Vectors.normalized(vector, "vector");
        return read(
            () -> {
              Map<String, float[]> ns = vectors.getOrDefault(namespace, Map.of());
              if (!ns.isEmpty() && ns.values().iterator().next().length != q.length) {
                throw new IllegalArgumentException("vector: dimension " + q.length);
              }
              List<VectorMatch> all = new ArrayList<>();
              for (Map.Entry<String, float[]> e : ns.entrySet()) {
                double dot = 0;
                for (int i = 0; i < q.length; i++) {
                  dot += (double) q[i] * e.getValue()[i];
                }
                if (dot >= minScore && (idFilter == null || idFilter.test(e.getKey()))) {
                  all.add(new VectorMatch(e.getKey(), (float) dot));
                }
              }
              all.sort(
                  Comparator.comparing(VectorMatch::score, Comparator.reverseOrder())
                      .thenComparing(VectorMatch::id));
              return List.copyOf(all.subList(0, Math.min(topK, all.size())));
            });
      }

      @Override
      public boolean contains(String namespace, String id) {
        return read(() -> vectors.getOrDefault(namespace, Map.of()).containsKey(id));
      }

      @Override
      public int size(String namespace) {
        return read(() -> vectors.getOrDefault(namespace, Map.of()).size());
      }

      @Override
      public OptionalInt dimension(String namespace) {
        return read(
            () -> {
              Map<String, float[]> ns = vectors.getOrDefault(namespace, Map.of());
              return ns.isEmpty()
                  ? OptionalInt.empty()
                  : OptionalInt.of(ns.values().iterator().next().length);
            });
      }

      @Override
      public void upsert(String namespace, String id, float[] vector) {
        commit(new UnitOfWork().upsertVector(namespace, id, vector));
      }

      @Override
      public void delete(String namespace, String id) {
        commit(new UnitOfWork().deleteVector(namespace, id));
      }
    };
  }

  @Override
  public GraphStore graph() {
    return new GraphStore() {
      @Override
      public Optional<Entity> entity(String name) {
        return read(() -> Optional.ofNullable(entities.get(Checks.notBlank(name, "name"))));
      }

      @Override
      public Optional<Relation> relation(String a, String b) {
        return read(() -> Optional.ofNullable(edges(a).get(b)));
      }

      @Override
      public List<Relation> relations(String name) {
        return read(() -> List.copyOf(edges(Checks.notBlank(name, "name")).values()));
      }

      @Override
      public Set<String> neighbours(String name) {
        return read(() -> Set.copyOf(edges(Checks.notBlank(name, "name")).keySet()));
      }

      @Override
      public int degree(String name) {
        return read(() -> edges(Checks.notBlank(name, "name")).size());
      }

      @Override
      public Map<String, Integer> degrees(Collection<String> names) {
        return read(
            () -> {
              Map<String, Integer> out = new HashMap<>();
              for (String name : names) {
                out.put(name, edges(Checks.notBlank(name, "name")).size());
              }
              return Map.copyOf(out);
            });
      }

      @Override
      public int entityCount() {
        return read(entities::size);
      }

      @Override
      public int relationCount() {
        return read(
            () -> adjacency.values().stream().mapToInt(Map::size).sum() / 2);
      }

      @Override
      public void upsertEntity(Entity entity) {
        commit(new UnitOfWork().upsertEntity(entity));
      }

      @Override
      public void upsertRelation(Relation relation) {
        commit(new UnitOfWork().upsertRelation(relation));
      }

      @Override
      public void deleteEntity(String name) {
        commit(new UnitOfWork().deleteEntity(name));
      }

      @Override
      public void deleteRelation(String a, String b) {
        commit(new UnitOfWork().deleteRelation(a, b));
      }
    };
  }

  @Override
  public DocStatusStore docStatus() {
    return new DocStatusStore() {
      @Override
      public Optional<DocStatusRecord> get(String docId) {
        return read(() -> Optional.ofNullable(statuses.get(Checks.notBlank(docId, "docId"))));
      }

      @Override
      public Map<String, DocStatusRecord> getAll(Collection<String> docIds) {
        docIds.forEach(id -> Checks.notBlank(id, "docId"));
        return read(
            () -> {
              Map<String, DocStatusRecord> out = new HashMap<>();
              for (String id : docIds) {
                DocStatusRecord r = statuses.get(id);
                if (r != null) {
                  out.put(id, r);
                }
              }
              return Map.copyOf(out);
            });
      }

      @Override
      public List<DocStatusRecord> byStatus(DocStatus status) {
        return read(
            () ->
                statuses.values().stream()
                    .filter(r -> r.status() == status)
                    .sorted(
                        Comparator.comparing(DocStatusRecord::createdAt)
                            .thenComparing(DocStatusRecord::docId))
                    .toList());
      }

      @Override
      public Map<DocStatus, Integer> counts() {
        return read(
            () -> {
              Map<DocStatus, Integer> out = new EnumMap<>(DocStatus.class);
              for (DocStatus s : DocStatus.values()) {
                out.put(s, 0);
              }
              statuses.values().forEach(r -> out.merge(r.status(), 1, Integer::sum));
              return Map.copyOf(out);
            });
      }

      @Override
      public void put(DocStatusRecord record) {
        commit(new UnitOfWork().putDocStatus(record));
      }

      @Override
      public void delete(String docId) {
        commit(new UnitOfWork().deleteDocStatus(docId));
      }
    };
  }
}
