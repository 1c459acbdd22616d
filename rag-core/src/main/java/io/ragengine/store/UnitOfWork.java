package io.ragengine.store;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.internal.Checks;
import io.ragengine.internal.Vectors;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes to all four stores that become visible together: {@link Storage#commit} applies every
 * operation or none, and no reader sees some of them without the others. The ingest pipeline puts
 * one document's chunks, vectors, graph changes and final status in one unit. Not thread-safe.
 *
 * <p>A unit only records operations; nothing is read or written until it is committed. Operations
 * apply in the order they were added, so a later write to the same key wins. Arguments are
 * checked when an operation is added, so a bad one fails on the caller's line.
 *
 * <p>A unit is {@link Durability#DURABLE} unless {@link #durability(Durability)} says otherwise: a
 * write that is cheap to lose and on nobody's critical path (an advisory status) may ask for
 * {@link Durability#DEFERRED} and spare the store a flush to stable storage.
 *
 * <p>Implementations of {@link Storage} read the recorded {@link #operations()} and {@link
 * #durability()}.
 */
public final class UnitOfWork {

  /** What a unit must survive once {@link Storage#commit} has returned. */
  public enum Durability {
    /** The default: the unit survives a crash of the process or of the machine. */
    DURABLE,

    /**
     * The unit is visible and atomic when {@link Storage#commit} returns, like any other, but a
     * crash may lose it until a later {@code DURABLE} unit's commit has returned, or until the
     * store flushes on its own. Units become durable in the order they were committed: a crash
     * never keeps a unit and loses one committed before it. Whether a crash of the process alone
     * can lose it depends on the store; the embedded store keeps it then, and only a crash of the
     * machine can lose it.
     */
    DEFERRED
  }

  /** One recorded write. Immutable. */
  public sealed interface Operation {}

  /** Puts {@code value} under {@code key} in a key-value namespace. */
  public record KvPut(String namespace, String key, String value) implements Operation {}

  /** Removes {@code key} from a key-value namespace. */
  public record KvDelete(String namespace, String key) implements Operation {}

  /**
   * Stores a vector. {@code vector} is the unit-length copy made when the operation was added;
   * callers must not modify it.
   */
  @SuppressWarnings("ArrayRecordComponent") // a private copy; records of a sealed, internal log
  public record VectorUpsert(String namespace, String id, float[] vector) implements Operation {}

  /** Removes a vector. */
  public record VectorDelete(String namespace, String id) implements Operation {}

  /** Stores an entity. */
  public record EntityUpsert(Entity entity) implements Operation {}

  /** Removes an entity and its relations. */
  public record EntityDelete(String name) implements Operation {}

  /** Stores a relation. */
  public record RelationUpsert(Relation relation) implements Operation {}

  /** Removes the relation between two names, in either order. */
  public record RelationDelete(String a, String b) implements Operation {}

  /** Stores a document status. */
  public record DocStatusPut(DocStatusRecord record) implements Operation {}

  /** Removes a document status. */
  public record DocStatusDelete(String docId) implements Operation {}

  private final List<Operation> operations = new ArrayList<>();
  private Durability durability = Durability.DURABLE;

  /** Creates an empty unit, {@link Durability#DURABLE}. */
  public UnitOfWork() {}

  /**
   * Sets what the unit must survive once committed. Default {@link Durability#DURABLE}.
   *
   * @throws NullPointerException if {@code durability} is null
   */
  public UnitOfWork durability(Durability durability) {
    this.durability = Objects.requireNonNull(durability, "durability");
    return this;
  }

  /** What the unit must survive once committed. */
  public Durability durability() {
    return durability;
  }

  /**
   * Appends every operation of {@code other}, in order, so that both commit as one (the ingest
   * pipeline's group commit of several documents). The unit becomes {@link Durability#DURABLE}
   * if {@code other} is, so a merged unit is as durable as the most durable of its parts. {@code
   * other} is unchanged.
   */
  public UnitOfWork addAll(UnitOfWork other) {
    operations.addAll(Objects.requireNonNull(other, "other").operations);
    if (other.durability == Durability.DURABLE) {
      durability = Durability.DURABLE;
    }
    return this;
  }

  /**
   * Records a key-value put.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code key} is blank
   */
  public UnitOfWork put(String namespace, String key, String value) {
    Checks.notBlank(namespace, "namespace");
    Checks.notBlank(key, "key");
    operations.add(new KvPut(namespace, key, Objects.requireNonNull(value, "value")));
    return this;
  }

  /**
   * Records a key-value delete.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code key} is blank
   */
  public UnitOfWork delete(String namespace, String key) {
    operations.add(new KvDelete(Checks.notBlank(namespace, "namespace"), Checks.notBlank(key, "key")));
    return this;
  }

  /**
   * Records a vector upsert. The vector is copied and normalised now.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code id} is blank, or {@code vector}
   *     is empty, all zeros or has a non-finite element
   */
  public UnitOfWork upsertVector(String namespace, String id, float[] vector) {
    Checks.notBlank(namespace, "namespace");
    Checks.notBlank(id, "id");
    operations.add(new VectorUpsert(namespace, id, Vectors.normalized(vector, "vector")));
    return this;
  }

  /**
   * Records a vector delete.
   *
   * @throws IllegalArgumentException if {@code namespace} or {@code id} is blank
   */
  public UnitOfWork deleteVector(String namespace, String id) {
    operations.add(
        new VectorDelete(Checks.notBlank(namespace, "namespace"), Checks.notBlank(id, "id")));
    return this;
  }

  /** Records an entity upsert. */
  public UnitOfWork upsertEntity(Entity entity) {
    operations.add(new EntityUpsert(Objects.requireNonNull(entity, "entity")));
    return this;
  }

  /**
   * Records the delete of an entity and of every relation that touches it.
   *
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public UnitOfWork deleteEntity(String name) {
    operations.add(new EntityDelete(Checks.notBlank(name, "name")));
    return this;
  }

  /** Records a relation upsert. */
  public UnitOfWork upsertRelation(Relation relation) {
    operations.add(new RelationUpsert(Objects.requireNonNull(relation, "relation")));
    return this;
  }

  /**
   * Records the delete of the relation between {@code a} and {@code b}, in either order.
   *
   * @throws IllegalArgumentException if a name is blank
   */
  public UnitOfWork deleteRelation(String a, String b) {
    operations.add(new RelationDelete(Checks.notBlank(a, "a"), Checks.notBlank(b, "b")));
    return this;
  }

  /** Records a document status put. */
  public UnitOfWork putDocStatus(DocStatusRecord record) {
    operations.add(new DocStatusPut(Objects.requireNonNull(record, "record")));
    return this;
  }

  /**
   * Records a document status delete.
   *
   * @throws IllegalArgumentException if {@code docId} is blank
   */
  public UnitOfWork deleteDocStatus(String docId) {
    operations.add(new DocStatusDelete(Checks.notBlank(docId, "docId")));
    return this;
  }

  /** Returns the recorded operations in order. Unmodifiable. */
  public List<Operation> operations() {
    return List.copyOf(operations);
  }

  /** Returns true if nothing was recorded. */
  public boolean isEmpty() {
    return operations.isEmpty();
  }

  @Override
  public String toString() {
    return "UnitOfWork{operations=" + operations.size() + ", " + durability + "}";
  }
}
