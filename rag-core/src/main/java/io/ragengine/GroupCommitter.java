package io.ragengine;

import io.ragengine.store.Storage;
import io.ragengine.store.UnitOfWork;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 *
 * <p>Callers may announce a unit before they have built it ({@link #expect()}): while announced
 * units are outstanding, the committer waits for them before it starts a group, as long as each
 * arrives within {@code linger} of the one before, and at most {@value #MAX_LINGERS} lingers in
 * all. An embedding call returns the vectors of up to
 * 32 documents at once, and their units are built one after the other; committing the first alone
 * cost a second fsync on the critical path of every short ingest (traced: 1.2-4.3 ms of a 25-40 ms
 * 20-document ingest). The wait is bounded, so an announced unit that comes late (a document
 * waiting its turn behind one still being embedded) delays a group by a few milliseconds at most.
 */
final class GroupCommitter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

  /** The most units merged into one transaction. */
  static final int MAX_GROUP = 256;

  /**
   * How long the committer waits for the next announced unit. Building a document's unit takes
   * well under a tenth of this; a commit takes several times it.
   */
  static final Duration DEFAULT_LINGER = Duration.ofMillis(1);

  /** The longest a group waits for announced units, in lingers. */
  static final int MAX_LINGERS = 4;

  private record Item(UnitOfWork unit, CompletableFuture<Void> done) {}

  private static final Item STOP = new Item(new UnitOfWork(), new CompletableFuture<>());

  /** Wakes a committer waiting for announced units when the last announcement is withdrawn. */
  private static final Item WAKE = new Item(new UnitOfWork(), new CompletableFuture<>());

  private final Storage storage;
  private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private final LongAdder commits = new LongAdder();
  private final AtomicInteger expected = new AtomicInteger();
  private final long lingerNanos;
  private final Runnable onWait;
  private volatile boolean closed;

  /** Runs in {@link #commit} between its closed check and queueing the unit; for tests. */
  volatile Runnable beforeQueueHook = () -> {};

  GroupCommitter(Storage storage, ThreadFactory threads) {
    this(storage, threads, DEFAULT_LINGER, () -> {});
  }

  /**
   * The seams for tests: {@code linger}, how long to wait for each announced unit, and {@code
   * onWait}, run on the committer's thread each time it starts waiting for one.
   */
  GroupCommitter(Storage storage, ThreadFactory threads, Duration linger, Runnable onWait) {
    this.storage = Objects.requireNonNull(storage, "storage");
    this.lingerNanos = linger.toNanos();
    this.onWait = Objects.requireNonNull(onWait, "onWait");
    this.thread = threads.newThread(this::loop);
    thread.start();
  }

  /**
   * A unit announced with {@link #expect()}. Close it once the unit is queued with {@link
   * #commit}, or when it will not come; closing twice is harmless. Thread-safe.
   */
  final class Expectation implements AutoCloseable {
    private final AtomicBoolean open = new AtomicBoolean(true);

    private Expectation() {}

    @Override
    public void close() {
      if (open.compareAndSet(true, false) && expected.decrementAndGet() == 0) {
        queue.add(WAKE); // a committer waiting for it goes on at once
      }
    }
  }

  /**
   * Announces a unit that the caller will queue soon, so that the committer waits for it rather
   * than commit what is queued without it.
   */
  Expectation expect() {
    expected.incrementAndGet();
    return new Expectation();
  }

  /**
   * Queues {@code unit}; the future completes once it is committed (durably, unless the unit is
   * {@link UnitOfWork.Durability#DEFERRED}), or fails with the storage's exception.
   */
  CompletableFuture<Void> commit(UnitOfWork unit) {
    Item item = new Item(unit, new CompletableFuture<>());
    if (!closed) {
      beforeQueueHook.run();
      queue.add(item);
      if (!closed || !queue.remove(item)) {
        // Queued before close() queued STOP, so the loop commits it; or close() is draining the
        // queue and fails it. Whoever removes it from the queue owns it.
        return item.done;
      }
      // close() had drained the queue already: nobody else will ever see this unit.
    }
    item.done.completeExceptionally(new IllegalStateException("engine is closed"));
    return item.done;
  }

  /** Whether {@link #close()} has begun. */
  boolean isClosed() {
    return closed;
  }

  /** Transactions committed so far. */
  long commits() {
    return commits.sum();
  }

  /** Units announced and not yet queued or withdrawn. */
  int expected() {
    return expected.get();
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
      awaitExpected(batch);
      batch.removeIf(item -> item == WAKE);
      boolean stop = batch.remove(STOP);
      applyOrFail(batch);
      batch.clear();
      if (stop) {
        List<Item> rest = new ArrayList<>();
        queue.drainTo(rest);
        rest.removeIf(item -> item == WAKE);
        applyOrFail(rest);
        return;
      }
    }
  }

  /**
   * Adds announced units to {@code batch} as they come, each within the linger of the last and
   * all within {@value #MAX_LINGERS} lingers, so that a steady stream of other units cannot hold
   * a group back while an announced one is late.
   */
  private void awaitExpected(List<Item> batch) {
    long deadline = System.nanoTime() + MAX_LINGERS * lingerNanos;
    while (expected.get() > 0 && batch.size() < MAX_GROUP && !batch.contains(STOP)) {
      long wait = Math.min(lingerNanos, deadline - System.nanoTime());
      if (wait <= 0) {
        return;
      }
      Item next;
      onWait.run();
      try {
        next = queue.poll(wait, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        return; // only close() ends the loop; commit what we have
      }
      if (next == null) {
        return; // the announced units are late: do not hold up the ones here
      }
      batch.add(next);
      queue.drainTo(batch, MAX_GROUP - batch.size());
    }
  }

  /**
   * Applies {@code batch}; whatever escapes (an {@link Error} while merging, say) fails the units
   * not yet settled, rather than end this thread and leave every caller waiting.
   */
  private void applyOrFail(List<Item> batch) {
    if (batch.isEmpty()) {
      return;
    }
    try {
      apply(batch);
    } catch (Throwable t) {
      log.error("commit of {} units failed", batch.size(), t);
      for (Item item : batch) {
        item.done.completeExceptionally(t);
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
    } catch (RuntimeException | Error e) {
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
    } catch (RuntimeException | Error e) { // an Error too: it must not end the committer
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
    // A unit queued after STOP, in the moment between commit()'s closed check and its add, is
    // failed, never lost silently: its caller sees the exception. (One queued after this drain
    // is failed by commit() itself.)
    List<Item> late = new ArrayList<>();
    queue.drainTo(late);
    late.removeIf(item -> item == WAKE);
    for (Item item : late) {
      item.done.completeExceptionally(new IllegalStateException("engine is closed"));
    }
  }
}
