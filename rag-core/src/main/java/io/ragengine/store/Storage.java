package io.ragengine.store;

/**
 * The four stores of one engine, and the way to write to them atomically. Thread-safe.
 *
 * <p>Visibility: after {@link #commit} returns, every read through any of the stores sees the
 * whole unit; before it returns, none of it. A reader never sees part of a unit. Each store's own
 * write methods are units of one operation.
 *
 * <p>{@link #close()} waits for commits in progress; afterwards every method throws {@link
 * IllegalStateException}. Closing twice is harmless.
 */
public interface Storage extends AutoCloseable {

  /** Returns the key-value store. */
  KvStore kv();

  /** Returns the vector store. */
  VectorStore vectors();

  /** Returns the graph store. */
  GraphStore graph();

  /** Returns the document status store. */
  DocStatusStore docStatus();

  /**
   * Applies every operation of {@code unit} atomically and durably: when this returns, the unit
   * is visible and survives a crash of the process; if it throws, nothing of the unit is visible.
   * An empty unit is a no-op.
   *
   * <p>A {@link UnitOfWork.Durability#DEFERRED DEFERRED} unit is as visible and atomic, but may
   * be lost by a crash until a later {@link UnitOfWork.Durability#DURABLE DURABLE} unit's commit
   * has returned. Units always become durable in commit order: whatever survives a crash is every
   * unit up to some point, and includes every {@code DURABLE} unit whose commit returned. A store
   * may make every unit durable at once.
   *
   * @throws IllegalArgumentException if a vector's dimension differs from its namespace's (or from
   *     an earlier vector of the same namespace in the unit); nothing is then changed
   * @throws StoreException if the unit cannot be written; nothing is then changed
   * @throws IllegalStateException if the storage is closed
   */
  void commit(UnitOfWork unit);

  /**
   * Releases the storage's files, threads and memory.
   *
   * @throws StoreException if the underlying files cannot be closed cleanly
   */
  @Override
  void close();
}
