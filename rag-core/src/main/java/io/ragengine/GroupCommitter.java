package io.ragengine;

import io.ragengine.store.Storage;
import io.ragengine.store.UnitOfWork;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits units of work in arrival order on one thread, merging the units that queued up while the
 * previous commit ran into one transaction (a group commit): one durable write for many documents,
 * each still all-or-nothing. Thread-safe.
 *
 * <p>A merged commit that fails is retried unit by unit, so one bad unit fails only itself.
 *
 * <p>A merged transaction is durable if any of its units is; a group of only {@link
 * UnitOfWork.Durability#DEFERRED} units (advisory statuses) is committed without a flush to stable
 * storage, so that it does not hold up the durable units queued behind it for a flush nobody
 * waits for.
 */
final class GroupCommitter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

  /** The most units merged into one transaction. */
  static final int MAX_GROUP = 256;

  private record Item(UnitOfWork unit, CompletableFuture<Void> done) {}

  private static final Item STOP = new Item(new UnitOfWork(), new CompletableFuture<>());

  private final Storage storage;
  private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private final LongAdder commits = new LongAdder();
  private volatile boolean closed;

  GroupCommitter(Storage storage, ThreadFactory threads) {
    this.storage = Objects.requireNonNull(storage, "storage");
    this.thread = threads.newThread(this::loop);
    thread.start();
  }

  /**
   * Queues {@code unit}; the future completes once it is committed (durably, unless the unit is
   * {@link UnitOfWork.Durability#DEFERRED}), or fails with the storage's exception.
   */
  CompletableFuture<Void> commit(UnitOfWork unit) {
    Item item = new Item(unit, new CompletableFuture<>());
    if (closed) {
      item.done.completeExceptionally(new IllegalStateException("engine is closed"));
      return item.done;
    }
    queue.add(item);
    return item.done;
  }

  /** Transactions committed so far. */
  long commits() {
    return commits.sum();
  }

  private void loop() {
    List<Item> batch = new ArrayList<>();
    while (true) {
      Item first;
      try {
        first = queue.take();
      } catch (InterruptedException e) {
        continue; // only close() ends the loop, through STOP
      }
      batch.add(first);
      queue.drainTo(batch, MAX_GROUP - 1);
      boolean stop = batch.remove(STOP);
      if (!batch.isEmpty()) {
        apply(batch);
      }
      batch.clear();
      if (stop) {
        List<Item> rest = new ArrayList<>();
        queue.drainTo(rest);
        if (!rest.isEmpty()) {
          apply(rest);
        }
        return;
      }
    }
  }

  private void apply(List<Item> batch) {
    if (batch.size() == 1) {
      commitOne(batch.get(0));
      return;
    }
    // Deferred unless a part is durable: addAll keeps the strongest durability of the parts.
    UnitOfWork merged = new UnitOfWork().durability(UnitOfWork.Durability.DEFERRED);
    for (Item item : batch) {
      merged.addAll(item.unit);
    }
    try {
      storage.commit(merged);
      commits.increment();
    } catch (RuntimeException e) {
      log.warn("group commit of {} units failed ({}); committing them one by one", batch.size(),
          e.toString());
      batch.forEach(this::commitOne);
      return;
    }
    batch.forEach(item -> item.done.complete(null));
  }

  private void commitOne(Item item) {
    try {
      storage.commit(item.unit);
      commits.increment();
    } catch (RuntimeException e) {
      item.done.completeExceptionally(e);
      return;
    }
    item.done.complete(null);
  }

  /** Commits what is queued, then stops the thread. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    queue.add(STOP);
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // A unit queued in the moment between the closed check and STOP is failed, never lost
    // silently: its caller sees the exception.
    List<Item> late = new ArrayList<>();
    queue.drainTo(late);
    for (Item item : late) {
      item.done.completeExceptionally(new IllegalStateException("engine is closed"));
    }
  }
}
