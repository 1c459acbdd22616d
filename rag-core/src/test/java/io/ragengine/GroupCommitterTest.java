package io.ragengine;

import static io.ragengine.testing.Awaits.awaitOpen;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.store.ForwardingStorage;
import io.ragengine.store.InMemoryStorage;
import io.ragengine.store.UnitOfWork;
import io.ragengine.store.UnitOfWork.Durability;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

final class GroupCommitterTest {
  private final GatedStorage storage = new GatedStorage();
  private final GroupCommitter committer = new GroupCommitter(storage, Thread.ofVirtual().factory());
  private final Semaphore waiting = new Semaphore(0);

  @AfterEach
  void close() {
    storage.gate.countDown();
    committer.close();
  }

  @Test
  void commit_onlyDeferredUnitsQueued_commitsThemAsOneDeferredTransaction() throws Exception {
    CompletableFuture<Void> first = committer.commit(unit("a", Durability.DURABLE));
    assertTrue(storage.entered.await(5, TimeUnit.SECONDS)); // the committer is inside commit(a)
    CompletableFuture<Void> b = committer.commit(unit("b", Durability.DEFERRED));
    CompletableFuture<Void> c = committer.commit(unit("c", Durability.DEFERRED));

    storage.gate.countDown();
    CompletableFuture.allOf(first, b, c).get(5, TimeUnit.SECONDS);

    assertEquals(List.of(Durability.DURABLE, Durability.DEFERRED), storage.commits);
    assertEquals(Optional.of("c"), storage.kv().get("docs", "c"));
  }

  @Test
  void commit_deferredUnitsGroupedWithADurableOne_commitDurably() throws Exception {
    CompletableFuture<Void> first = committer.commit(unit("a", Durability.DEFERRED));
    assertTrue(storage.entered.await(5, TimeUnit.SECONDS));
    CompletableFuture<Void> b = committer.commit(unit("b", Durability.DEFERRED));
    CompletableFuture<Void> c = committer.commit(unit("c", Durability.DURABLE));
    CompletableFuture<Void> d = committer.commit(unit("d", Durability.DEFERRED));

    storage.gate.countDown();
    CompletableFuture.allOf(first, b, c, d).get(5, TimeUnit.SECONDS);

    // b, c and d were queued while a was being committed: one transaction, durable for c.
    assertEquals(List.of(Durability.DEFERRED, Durability.DURABLE), storage.commits);
  }

  @Test
  void commit_whileAUnitIsAnnounced_waitsForIt_andCommitsBothAsOneGroup() throws Exception {
    try (GroupCommitter patient = patient()) {
      GroupCommitter.Expectation announced = patient.expect();
      CompletableFuture<Void> a = patient.commit(unit("a", Durability.DURABLE));
      // The committer has taken a and waits for the announced unit instead of committing a.
      assertTrue(waiting.tryAcquire(5, TimeUnit.SECONDS));

      CompletableFuture<Void> b = patient.commit(unit("b", Durability.DURABLE));
      announced.close();
      CompletableFuture.allOf(a, b).get(5, TimeUnit.SECONDS);

      assertEquals(List.of(List.of("a", "b")), storage.groups);
      assertEquals(0, patient.expected());
    }
  }

  @Test
  void expectation_withdrawnWithoutAUnit_theWaitingCommitterGoesOnAtOnce() throws Exception {
    try (GroupCommitter patient = patient()) {
      GroupCommitter.Expectation announced = patient.expect();
      CompletableFuture<Void> a = patient.commit(unit("a", Durability.DURABLE));
      assertTrue(waiting.tryAcquire(5, TimeUnit.SECONDS)); // it waits for the announced unit

      announced.close();
      announced.close(); // harmless

      a.get(5, TimeUnit.SECONDS); // not after the 30 s linger
      assertEquals(List.of(List.of("a")), storage.groups);
      assertEquals(0, patient.expected());
    }
  }

  @Test
  void commit_announcedUnitLate_theOthersAreCommittedAfterTheLinger() throws Exception {
    storage.gate.countDown();
    try (GroupCommitter patient =
        new GroupCommitter(storage, Thread.ofVirtual().factory(), Duration.ofMillis(1), () -> {})) {
      GroupCommitter.Expectation neverComes = patient.expect();

      patient.commit(unit("a", Durability.DURABLE)).get(5, TimeUnit.SECONDS);

      assertEquals(List.of(List.of("a")), storage.groups);
      neverComes.close();
    }
  }

  @Test
  void commit_storageThrowsAnError_failsOnlyThoseUnits_andTheCommitterGoesOn() throws Exception {
    // Regression: only RuntimeException was caught, so an Error ended the committer's thread and
    // every later commit waited forever.
    var injected = new AssertionError("injected");
    storage.failing.put("b", injected);
    CompletableFuture<Void> a = committer.commit(unit("a", Durability.DURABLE));
    assertTrue(storage.entered.await(5, TimeUnit.SECONDS)); // inside commit(a): b and c queue up
    CompletableFuture<Void> b = committer.commit(unit("b", Durability.DURABLE));
    CompletableFuture<Void> c = committer.commit(unit("c", Durability.DURABLE));

    storage.gate.countDown();

    a.get(5, TimeUnit.SECONDS);
    var e = assertThrows(ExecutionException.class, () -> b.get(5, TimeUnit.SECONDS));
    assertSame(injected, e.getCause());
    c.get(5, TimeUnit.SECONDS); // b and c failed as a group, then went one by one
    committer.commit(unit("d", Durability.DURABLE)).get(5, TimeUnit.SECONDS);
    assertEquals(List.of(List.of("a"), List.of("c"), List.of("d")), storage.groups);
  }

  @Test
  void commit_racingClose_queuedAfterCloseDrained_failsRatherThanWaitForever() throws Exception {
    storage.gate.countDown();
    var inCommit = new CountDownLatch(1);
    var goOn = new CountDownLatch(1);
    committer.beforeQueueHook =
        () -> {
          inCommit.countDown();
          awaitOpen(goOn, "close() to finish");
        };
    CompletableFuture<CompletableFuture<Void>> racing =
        CompletableFuture.supplyAsync(() -> committer.commit(unit("late", Durability.DURABLE)));
    assertTrue(inCommit.await(5, TimeUnit.SECONDS)); // past the closed check, not yet queued

    committer.close(); // stops the thread and drains the queue, all before the unit is queued
    goOn.countDown();

    CompletableFuture<Void> late = racing.get(5, TimeUnit.SECONDS);
    var e = assertThrows(ExecutionException.class, () -> late.get(5, TimeUnit.SECONDS));
    assertEquals(
        "engine is closed",
        assertInstanceOf(IllegalStateException.class, e.getCause()).getMessage());
    assertEquals(List.of(), storage.groups);
  }

  /** A committer that waits up to 30 s for each announced unit; {@link #waiting} counts waits. */
  private GroupCommitter patient() {
    storage.gate.countDown(); // commits go straight through
    return new GroupCommitter(
        storage, Thread.ofVirtual().factory(), Duration.ofSeconds(30), waiting::release);
  }

  private static UnitOfWork unit(String key, Durability durability) {
    return new UnitOfWork().put("docs", key, key).durability(durability);
  }

  /**
   * Records each commit's durability; the first commit waits for {@link #gate}. A commit holding a
   * key in {@link #failing} throws what is mapped to it.
   */
  private static final class GatedStorage extends ForwardingStorage {
    final Map<String, Error> failing = new ConcurrentHashMap<>();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch gate = new CountDownLatch(1);
    final List<Durability> commits = new CopyOnWriteArrayList<>();
    /** The keys each commit wrote, in order. */
    final List<List<String>> groups = new CopyOnWriteArrayList<>();

    GatedStorage() {
      super(InMemoryStorage.create());
    }

    @Override
    public void commit(UnitOfWork unit) {
      entered.countDown();
      awaitOpen(gate, "the test to open the gate");
      for (UnitOfWork.Operation op : unit.operations()) {
        Error e = failing.get(((UnitOfWork.KvPut) op).key());
        if (e != null) {
          throw e;
        }
      }
      super.commit(unit);
      commits.add(unit.durability());
      groups.add(
          unit.operations().stream()
              .map(op -> ((UnitOfWork.KvPut) op).key())
              .toList());
    }
  }
}
