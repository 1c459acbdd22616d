package io.ragengine.limiter;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.ragengine.internal.Checks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs calls to a model provider with at most {@code maxAsync} in flight, on exactly {@code
 * maxAsync} virtual-thread workers that take waiting calls from one priority queue: higher priority
 * first, and in submission order among equal priorities. One limiter stands for one provider
 * budget and is shared by every caller that spends it (ingestion, queries, summaries), so the
 * budget is never exceeded and a query never waits behind a bulk ingest's backlog.
 *
 * <p>Thread-safe. {@link #submit} never blocks and never runs the call on the caller's thread.
 *
 * <h2>Lifecycle</h2>
 *
 * Workers start on the first call, or when the limiter is created if {@link
 * CallLimiterConfig#eagerInit()} is set. If a warm-up call was given to {@link
 * #create(CallLimiterConfig, Callable)}, it runs once when the workers start, before any other
 * call (bounded by {@code callTimeout}); {@link #isReady()} turns true after it. {@link #close()}
 * refuses new calls, fails waiting ones, lets running ones finish within {@code drainTimeout} and
 * stops the workers.
 *
 * <h2>Failures</h2>
 *
 * The future returned by {@link #submit} fails with what the call threw (a failing call, even with
 * an {@link Error}, never kills its worker), with {@link LimiterFullException} when {@code
 * maxQueued} calls were already waiting, with {@link CallTimeoutException} when the call waited
 * longer than {@code queueTimeout} or ran longer than {@code callTimeout}, or with {@link
 * LimiterClosedException} when {@link #close()} stopped it.
 *
 * <h2>Back-off without a worker</h2>
 *
 * A call that throws {@link RetryLaterException} gives its worker back at once and runs again
 * after the delay, ahead of every call of its priority submitted after it. {@link
 * LimitedCall#attempt()} tells the call which attempt it is on.
 *
 * <h2>Cancellation</h2>
 *
 * Cancelling the returned future before the call starts means it never runs. {@code cancel(true)}
 * on a running call interrupts its thread; {@code cancel(false)} completes the future but lets the
 * call finish (and never runs it again, even if it then asks to retry). A call that ignores
 * interrupts keeps its worker, and counts against {@code maxAsync}, until it returns: the provider
 * still sees it.
 *
 * <h2>Dependent stages</h2>
 *
 * Like any {@link CompletableFuture}, stages attached with the non-{@code Async} methods may run on
 * the thread that completes the future, here a worker. Keep them short and never block in them on
 * another call of the same limiter; use the {@code *Async} variants for anything heavier.
 *
 * @see CallLimiterConfig
 * @see Priority
 */
public final class CallLimiter implements AutoCloseable {
  /*
   * Design notes.
   *
   * One ReentrantLock guards the bookkeeping: the queue of waiting calls (a CallQueue: a FIFO per
   * priority level, so taking the next call is O(1)), the list of
   * first-time waiters in arrival order (for queueTimeout), the back-off heap, the worker set and
   * the counts. (ReentrantLock, not synchronized: workers are virtual threads and a virtual
   * thread blocking inside synchronized pins its carrier on Java 21.)
   *
   * Decide under the lock, act outside it. User code (calls, the warm-up) runs, and futures
   * complete, with the lock released: completing a future runs its dependent stages right there.
   *
   * A call's life is a state machine in Call.state, changed only by CAS, so that the worker, a
   * canceller, the reaper and close() agree on exactly one outcome:
   *   NEW --claim by a worker--> RUNNING --returns--> DONE
   *   NEW --cancel / queue timeout / close--> DONE                 (it never runs)
   *   RUNNING --throws RetryLaterException--> NEW                  (re-enters with its seq)
   *   RUNNING --cancel(true) / run timeout / drain--> INTERRUPTING --> INTERRUPTED
   * Only the thread that moved RUNNING to INTERRUPTING interrupts the runner. The runner, finding
   * INTERRUPTING when it tries to finish, waits for INTERRUPTED and clears its interrupt flag
   * before it takes another call, so an interrupt never leaks into the next call.
   *
   * Whoever removes a call from the queue or the back-off heap adjusts the counts, so a call that
   * a canceller and a worker race for is counted once.
   *
   * Timeouts need no timer per call. callTimeout and queueTimeout are the same for every call, so
   * run deadlines grow with start order and queue deadlines with arrival order. One reaper thread
   * sleeps until the earliest deadline, and never longer than the smallest configured timeout: a
   * call that starts or arrives while it sleeps cannot fall due before it wakes. Only a back-off
   * shorter than its sleep wakes it early.
   *
   * Workers: exactly maxAsync once started. A worker exits when it finds more workers than
   * maxAsync (after a shrink) or the limiter closing; a worker that dies of a bug is replaced.
   */

  private static final Logger log = LoggerFactory.getLogger(CallLimiter.class);

  /** How long close() waits for interrupted stragglers' workers to exit after the drain. */
  private static final long WORKER_EXIT_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final int NEW = 0;
  private static final int STARTED = 1;
  private static final int CLOSING = 2;
  private static final int CLOSED = 3;

  private static final Comparator<Call<?>> BY_PRIORITY =
      (a, b) ->
          a.priority != b.priority
              ? Integer.compare(b.priority, a.priority)
              : Long.compare(a.seq, b.seq);
  private static final Comparator<Call<?>> BY_DUE =
      (a, b) -> a.dueNanos != b.dueNanos ? Long.compare(a.dueNanos, b.dueNanos) : BY_PRIORITY.compare(a, b);

  private final CallLimiterConfig config;
  private final String name;
  private final @Nullable Callable<?> warmUp;
  private final ThreadFactory threads;
  private final Ticker ticker;
  private final long callTimeoutNanos;
  private final long queueTimeoutNanos;
  /** The reaper's longest sleep when nothing is due: the smallest timeout set, or none. */
  private final long reaperIdleNanos;

  private final ReentrantLock lock = new ReentrantLock();
  /** Idle workers wait here for a call. */
  private final Condition workAvailable = lock.newCondition();
  /** The reaper waits here for the next deadline. */
  private final Condition reaperWake = lock.newCondition();
  /** close() waits here for running calls to finish and workers to exit. */
  private final Condition drained = lock.newCondition();
  /** Second and later close() calls wait here for the first to finish. */
  private final Condition closed = lock.newCondition();

  @GuardedBy("lock")
  private final CallQueue queue = new CallQueue();

  @GuardedBy("lock")
  private final PriorityQueue<Call<?>> delayed = new PriorityQueue<>(BY_DUE);

  @GuardedBy("lock")
  private final Set<Worker> workers = new HashSet<>();

  /** Oldest first-time waiter; first-time waiters are linked in arrival order. */
  @GuardedBy("lock")
  private @Nullable Call<?> oldest;

  @GuardedBy("lock")
  private @Nullable Call<?> newest;

  @GuardedBy("lock")
  private int state = NEW;

  @GuardedBy("lock")
  private int maxAsync;

  /** Calls in the queue, a worker's to take. */
  @GuardedBy("lock")
  private int queued;

  /** Calls claimed by a worker and not yet handed back. */
  @GuardedBy("lock")
  private int running;

  /** Workers waiting on workAvailable. */
  @GuardedBy("lock")
  private int idle;

  @GuardedBy("lock")
  private long nextSeq;

  @GuardedBy("lock")
  private long reaperWakeAt = Long.MAX_VALUE;

  private final CountDownLatch readyLatch = new CountDownLatch(1);
  /** The thread running the warm-up call while it runs; close() interrupts it. */
  @GuardedBy("lock")
  private @Nullable Thread warmUpRunner;

  private final LongAdder submitted = new LongAdder();
  private final LongAdder completed = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder timedOut = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder cancelled = new LongAdder();
  private final LongAdder retried = new LongAdder();

  // HdrHistogram Recorders take values wait-free from the workers; stats() folds each interval
  // into a running total under statsLock.
  private final Recorder waitRecorder = new Recorder(2);
  private final Recorder runRecorder = new Recorder(2);
  private final ReentrantLock statsLock = new ReentrantLock();

  @GuardedBy("statsLock")
  private final Histogram waitTotal = new Histogram(2);

  @GuardedBy("statsLock")
  private final Histogram runTotal = new Histogram(2);

  @GuardedBy("statsLock")
  private @Nullable Histogram waitInterval;

  @GuardedBy("statsLock")
  private @Nullable Histogram runInterval;

  /** Test seam: runs in a worker after each call, outside the call's own error handling. */
  volatile @Nullable Consumer<Object> afterCallHook;

  /**
   * Creates a limiter whose workers are virtual threads named after the limiter. With {@link
   * CallLimiterConfig#eagerInit()} the workers start before this method returns.
   *
   * @throws NullPointerException if {@code config} is null
   */
  public static CallLimiter create(CallLimiterConfig config) {
    return create(config, null);
  }

  /**
   * Creates a limiter that runs {@code warmUp} once when its workers start, before any other call:
   * at once with {@link CallLimiterConfig#eagerInit()}, otherwise on the first call, which waits
   * for it. Use it to open and keep a connection to the provider, so the first user does not pay
   * for it. A warm-up that fails or runs longer than {@code callTimeout} is logged and the limiter
   * becomes ready anyway.
   *
   * @param warmUp the warm-up call, or null for none
   * @throws NullPointerException if {@code config} is null
   */
  public static CallLimiter create(CallLimiterConfig config, @Nullable Callable<?> warmUp) {
    String prefix = Objects.requireNonNull(config, "config").name() + "-";
    return new CallLimiter(
        config, warmUp, Thread.ofVirtual().name(prefix, 0).factory(), Ticker.system());
  }

  /** Test seam: {@code threads} makes every thread (workers, reaper, warm-up); time from ticker. */
  CallLimiter(
      CallLimiterConfig config, @Nullable Callable<?> warmUp, ThreadFactory threads, Ticker ticker) {
    this.config = Objects.requireNonNull(config, "config");
    this.name = config.name();
    this.warmUp = warmUp;
    this.threads = Objects.requireNonNull(threads, "threads");
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.callTimeoutNanos = config.callTimeout().toNanos();
    this.queueTimeoutNanos = config.queueTimeout().toNanos();
    long idleNanos = Long.MAX_VALUE;
    if (callTimeoutNanos > 0) {
      idleNanos = callTimeoutNanos;
    }
    if (queueTimeoutNanos > 0) {
      idleNanos = Math.min(idleNanos, queueTimeoutNanos);
    }
    this.reaperIdleNanos = idleNanos;
    lock.lock();
    try {
      this.maxAsync = config.maxAsync();
      if (config.eagerInit()) {
        startLocked();
      }
    } finally {
      lock.unlock();
    }
  }

  /** The settings this limiter was created with; {@link #maxAsync()} may differ since. */
  public CallLimiterConfig config() {
    return config;
  }

  /** The limiter's name. */
  public String name() {
    return name;
  }

  /**
   * Queues {@code call} to run on a worker when one is free and no call of higher priority, or of
   * equal priority and submitted earlier, is waiting. Never blocks.
   *
   * @param priority the call's priority: higher runs first; see {@link Priority}
   * @param call the call; its result or exception completes the returned future
   * @return a future for the call's result; cancelling it before the call starts means the call
   *     never runs. It fails at once with {@link LimiterFullException} if {@code maxQueued} calls
   *     are waiting.
   * @throws IllegalStateException if this limiter is closed
   * @throws NullPointerException if {@code call} is null
   */
  public <T> CompletableFuture<T> submit(int priority, Callable<T> call) {
    Call<T> c = new Call<>(this, Objects.requireNonNull(call, "call"), priority);
    boolean full;
    lock.lock();
    try {
      if (state >= CLOSING) {
        throw new IllegalStateException("limiter '" + name + "' is closed");
      }
      if (state == NEW) {
        startLocked();
      }
      // Calls beyond the free slots are the ones that truly wait.
      int free = Math.max(0, maxAsync - running);
      full = queued - free >= config.maxQueued();
      if (!full) {
        long now = ticker.read();
        c.seq = nextSeq++;
        c.enqueuedNanos = now;
        c.queueDeadline = now + queueTimeoutNanos;
        linkLocked(c);
        offerLocked(c, false);
      }
    } finally {
      lock.unlock();
    }
    submitted.increment();
    if (full) {
      c.state.set(Call.DONE);
      settle(c, rejected, null, new LimiterFullException(name, config.maxQueued()));
    }
    return c;
  }

  /**
   * Runs {@code call} through the limiter and waits for its result: {@link #submit} and a wait.
   * If the waiting thread is interrupted, the call is cancelled (and interrupted if running).
   *
   * @return the call's result
   * @throws Exception what the call threw, as it threw it; {@link LimiterFullException}, {@link
   *     CallTimeoutException} or {@link LimiterClosedException} if the limiter failed it; {@link
   *     CancellationException} if it was cancelled; {@link InterruptedException} if the waiting
   *     thread was interrupted
   * @throws IllegalStateException if this limiter is closed
   */
  public <T> T call(int priority, Callable<T> call) throws Exception {
    CompletableFuture<T> future = submit(priority, call);
    try {
      return future.get();
    } catch (InterruptedException e) {
      future.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }

  /** The current bound on calls in flight. */
  public int maxAsync() {
    lock.lock();
    try {
      return maxAsync;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Changes the number of workers, and so the calls in flight, on a running limiter.
   *
   * <p>Growing starts the new workers at once (if the workers have started), and waiting calls
   * start on them. Shrinking never interrupts a call in flight: idle workers beyond the new bound
   * exit at once, busy ones exit when their call returns, and no waiting call starts until fewer
   * than {@code maxAsync} calls run. Waiting calls keep their order.
   *
   * @throws IllegalArgumentException unless {@code 1 <= maxAsync <= }{@value
   *     CallLimiterConfig#MAX_MAX_ASYNC}
   * @throws IllegalStateException if this limiter is closed
   */
  public void setMaxAsync(int maxAsync) {
    Checks.inRange(maxAsync, 1, CallLimiterConfig.MAX_MAX_ASYNC, "maxAsync");
    lock.lock();
    try {
      if (state >= CLOSING) {
        throw new IllegalStateException("limiter '" + name + "' is closed");
      }
      this.maxAsync = maxAsync;
      if (state == STARTED && readyLatch.getCount() == 0) {
        while (workers.size() < maxAsync) {
          spawnWorkerLocked();
        }
      }
      workAvailable.signalAll(); // idle workers beyond the bound exit
    } finally {
      lock.unlock();
    }
  }

  /** Calls waiting for a worker now, not counting those waiting out a back-off. */
  public int queuedCount() {
    lock.lock();
    try {
      return queued;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Calls on a worker now. A call is counted from the moment a worker takes it until the worker
   * is back for the next, so its future may already be complete.
   */
  public int runningCount() {
    lock.lock();
    try {
      return running;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns whether the workers have started and the warm-up call, if any, has finished. A lazy
   * limiter becomes ready on its first call.
   */
  public boolean isReady() {
    return readyLatch.getCount() == 0;
  }

  /**
   * Waits until {@link #isReady()}, or for at most {@code timeout}.
   *
   * @return whether the limiter is ready
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    Checks.positiveOrZero(timeout, "timeout");
    // TimeUnit.convert saturates where toNanos() would overflow (on Duration.ofSeconds(MAX)).
    return readyLatch.await(TimeUnit.NANOSECONDS.convert(timeout), TimeUnit.NANOSECONDS);
  }

  /** Returns whether {@link #close()} has been called. */
  public boolean isClosed() {
    lock.lock();
    try {
      return state >= CLOSING;
    } finally {
      lock.unlock();
    }
  }

  /** Returns a snapshot of this limiter's counters, gauges and latency percentiles. */
  public LimiterStats stats() {
    int q;
    int r;
    int d;
    int w;
    int max;
    lock.lock();
    try {
      q = queued;
      r = running;
      d = delayed.size();
      w = workers.size();
      max = maxAsync;
    } finally {
      lock.unlock();
    }
    LimiterStats.Percentiles wait;
    LimiterStats.Percentiles run;
    statsLock.lock();
    try {
      Histogram wi = waitRecorder.getIntervalHistogram(waitInterval);
      waitTotal.add(wi);
      waitInterval = wi;
      Histogram ri = runRecorder.getIntervalHistogram(runInterval);
      runTotal.add(ri);
      runInterval = ri;
      wait = percentiles(waitTotal);
      run = percentiles(runTotal);
    } finally {
      statsLock.unlock();
    }
    return new LimiterStats(
        name,
        max,
        w,
        q,
        r,
        d,
        submitted.sum(),
        completed.sum(),
        failed.sum(),
        timedOut.sum(),
        rejected.sum(),
        cancelled.sum(),
        retried.sum(),
        wait,
        run);
  }

  /**
   * Closes the limiter: new calls are refused with {@link IllegalStateException}, waiting calls
   * (and calls waiting out a back-off) fail with {@link LimiterClosedException} without running,
   * running calls get {@code drainTimeout} to finish, then are interrupted and failed with {@link
   * LimiterClosedException}, and the workers stop. Blocks until then. Idempotent: a second call
   * waits for the first to finish and returns.
   */
  @Override
  public void close() {
    List<Call<?>> dropped = new ArrayList<>();
    boolean started;
    @Nullable Thread warmUp;
    lock.lock();
    try {
      if (state >= CLOSING) {
        while (state != CLOSED) {
          closed.awaitUninterruptibly();
        }
        return;
      }
      started = state == STARTED;
      state = CLOSING;
      warmUp = warmUpRunner;
      queue.forEach(
          c -> {
            if (c.state.compareAndSet(Call.NEW, Call.DONE)) {
              dropped.add(c);
            }
          });
      for (Call<?> c : delayed) {
        if (c.state.compareAndSet(Call.NEW, Call.DONE)) {
          dropped.add(c);
        }
      }
      queue.clear();
      delayed.clear();
      queued = 0;
      oldest = null;
      newest = null;
      workAvailable.signalAll();
      reaperWake.signalAll();
      if (!started) {
        state = CLOSED;
        closed.signalAll();
      }
    } finally {
      lock.unlock();
    }
    for (Call<?> c : dropped) {
      settle(c, failed, null, new LimiterClosedException(name, "closed before the call could run"));
    }
    // Nobody waits for a warm-up any more: it would otherwise run on to callTimeout, or forever.
    if (warmUp != null) {
      warmUp.interrupt();
    }
    if (started) {
      drain();
    }
  }

  private void drain() {
    List<Call<?>> stragglers = new ArrayList<>();
    boolean interrupted = false;
    lock.lock();
    try {
      Worker self = currentWorkerLocked();
      int selfRunning = self != null && self.current != null ? 1 : 0;
      long remaining = config.drainTimeout().toNanos();
      while (running > selfRunning && remaining > 0) {
        try {
          remaining = drained.awaitNanos(remaining);
        } catch (InterruptedException e) {
          interrupted = true; // stop waiting; interrupt the stragglers now
          remaining = 0;
        }
      }
      for (Worker w : workers) {
        Call<?> c = w.current;
        if (w != self && c != null && c.state.compareAndSet(Call.RUNNING, Call.INTERRUPTING)) {
          stragglers.add(c);
        }
      }
    } finally {
      lock.unlock();
    }
    for (Call<?> c : stragglers) {
      c.interruptRunner();
      settle(
          c,
          failed,
          null,
          new LimiterClosedException(
              name, "call still running when drainTimeout " + config.drainTimeout() + " ran out"));
    }
    lock.lock();
    try {
      Worker self = currentWorkerLocked();
      long remaining = WORKER_EXIT_GRACE_NANOS;
      while (workers.size() > (self != null ? 1 : 0) && remaining > 0) {
        try {
          remaining = drained.awaitNanos(remaining);
        } catch (InterruptedException e) {
          interrupted = true;
          remaining = 0;
        }
      }
      if (workers.size() > (self != null ? 1 : 0)) {
        log.warn(
            "limiter '{}': {} worker(s) still busy in calls that ignore interrupts after close",
            name,
            workers.size());
      }
      state = CLOSED;
      closed.signalAll();
      reaperWake.signalAll();
    } finally {
      lock.unlock();
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "CallLimiter{" + config + "}";
  }

  // ---------------------------------------------------------------------------------------------
  // Start-up

  @GuardedBy("lock")
  private void startLocked() {
    state = STARTED;
    Thread reaper = threads.newThread(this::reaperLoop);
    reaper.setDaemon(true);
    reaper.start();
    Callable<?> w = warmUp;
    if (w == null) {
      for (int i = 0; i < maxAsync; i++) {
        spawnWorkerLocked();
      }
      readyLatch.countDown();
      log.debug("limiter '{}': {} workers started", name, maxAsync);
    } else {
      Thread starter = threads.newThread(() -> warmUpThenStart(w));
      starter.setDaemon(true);
      starter.start();
    }
  }

  private void warmUpThenStart(Callable<?> w) {
    try {
      Thread t =
          threads.newThread(
              () -> {
                try {
                  w.call();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } catch (Exception | Error e) {
                  log.warn("limiter '{}': warm-up call failed: {}", name, e.toString());
                }
              });
      t.setDaemon(true);
      lock.lock();
      try {
        if (state >= CLOSING) {
          return; // closed before the warm-up began: no call to make (the finally still runs)
        }
        // Under the lock, so close() either sees it running and interrupts it, or came first.
        warmUpRunner = t;
        t.start();
      } finally {
        lock.unlock();
      }
      if (callTimeoutNanos > 0) {
        if (!t.join(config.callTimeout())) {
          t.interrupt();
          log.warn(
              "limiter '{}': warm-up call still running after callTimeout {}; interrupted it",
              name,
              config.callTimeout());
        }
      } else {
        t.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      lock.lock();
      try {
        warmUpRunner = null;
        if (state == STARTED) {
          for (int i = workers.size(); i < maxAsync; i++) {
            spawnWorkerLocked();
          }
        }
      } finally {
        lock.unlock();
      }
      readyLatch.countDown();
      log.debug("limiter '{}': warmed up, {} workers started", name, config.maxAsync());
    }
  }

  @GuardedBy("lock")
  private void spawnWorkerLocked() {
    Worker w = new Worker();
    Thread t = threads.newThread(() -> workerLoop(w));
    w.thread = t;
    workers.add(w);
    t.setDaemon(true);
    t.start();
  }

  @GuardedBy("lock")
  private @Nullable Worker currentWorkerLocked() {
    Thread me = Thread.currentThread();
    for (Worker w : workers) {
      if (me.equals(w.thread)) {
        return w;
      }
    }
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Workers

  private void workerLoop(Worker w) {
    Throwable death = null;
    try {
      Call<?> retry = null;
      long retryDelay = 0;
      while (true) {
        Call<?> c = finishAndTake(w, retry, retryDelay);
        retry = null;
        if (c == null) {
          return;
        }
        RetryLaterException again = run(c);
        if (again != null) {
          retry = c;
          // A provider's Retry-After can be anything: at most MAX_WAIT, so the deadline fits.
          Duration delay = again.delay();
          retryDelay = (delay.compareTo(Checks.MAX_WAIT) > 0 ? Checks.MAX_WAIT : delay).toNanos();
        }
        Consumer<Object> hook = afterCallHook;
        if (hook != null) {
          hook.accept(c);
        }
      }
    } catch (Throwable t) {
      death = t;
    } finally {
      if (death != null) {
        workerDied(w, death);
      }
    }
  }

  /**
   * Runs one claimed call and delivers its outcome. Returns the RetryLaterException if the call
   * asked to run again (it is then back in state NEW, the caller re-queues it), else null.
   */
  private @Nullable RetryLaterException run(Call<?> c) {
    long start = ticker.read();
    waitRecorder.recordValue(Math.max(0, start - c.enqueuedNanos));
    Object value = null;
    Throwable failure = null;
    LimitedCall.enter(c.attempt);
    try {
      value = c.callable.call();
    } catch (Throwable t) {
      failure = t;
    } finally {
      LimitedCall.enter(0);
    }
    runRecorder.recordValue(Math.max(0, ticker.read() - start));
    // A call cancelled without interruption keeps its state RUNNING until it returns; if it then
    // asks to retry, it is dropped here rather than run again for nobody.
    if (failure instanceof RetryLaterException again
        && !c.isDone()
        && c.state.compareAndSet(Call.RUNNING, Call.NEW)) {
      retried.increment();
      return again;
    }
    if (!c.state.compareAndSet(Call.RUNNING, Call.DONE)) {
      // Cancelled or timed out while running: whoever did it completes the future. Wait until it
      // has interrupted us, then clear the flag so it cannot hit the next call.
      c.awaitInterrupted();
      Thread.interrupted();
      return null;
    }
    if (failure == null) {
      settle(c, completed, value, null);
    } else {
      settle(c, failed, null, failure);
    }
    return null;
  }

  /**
   * Hands back the worker's last call (re-queueing it after a back-off if asked), then takes the
   * next, waiting while there is none. Returns null when this worker must exit.
   */
  private @Nullable Call<?> finishAndTake(Worker w, @Nullable Call<?> retry, long retryDelay) {
    Call<?> closedRetry = null;
    lock.lock();
    try {
      if (w.current != null) {
        w.current = null;
        running--;
        if (state >= CLOSING) {
          drained.signalAll();
        }
      }
      if (retry != null && retry.isDone()) {
        retry.state.compareAndSet(Call.NEW, Call.DONE); // cancelled as it asked to retry: drop it
      } else if (retry != null && retry.state.get() == Call.NEW) { // else removeCancelled has it
        if (state >= CLOSING) {
          if (retry.state.compareAndSet(Call.NEW, Call.DONE)) {
            closedRetry = retry;
          }
        } else {
          retry.attempt++;
          requeueLocked(retry, retryDelay);
        }
      }
      if (closedRetry == null) {
        return takeLocked(w);
      }
      // Closing: this worker exits; fail the retry outside the lock below.
      workers.remove(w);
      drained.signalAll();
    } finally {
      lock.unlock();
    }
    settle(
        closedRetry,
        failed,
        null,
        new LimiterClosedException(name, "closed while the call waited to retry"));
    return null;
  }

  @GuardedBy("lock")
  private @Nullable Call<?> takeLocked(Worker w) {
    while (true) {
      if (state >= CLOSING || workers.size() > maxAsync) {
        workers.remove(w);
        drained.signalAll();
        return null;
      }
      Call<?> c = queue.poll();
      if (c != null) {
        queued--;
        unlinkLocked(c);
        c.runner = w.thread;
        if (!c.state.compareAndSet(Call.NEW, Call.RUNNING)) {
          continue; // cancelled between its CAS and its removal; the canceller counts it
        }
        running++;
        w.current = c;
        c.startNanos = ticker.read();
        if (idle > 0 && !queue.isEmpty()) {
          workAvailable.signal();
        }
        return c;
      }
      idle++;
      try {
        workAvailable.await();
      } catch (InterruptedException e) {
        // Nobody interrupts an idle worker on purpose (see the design notes); ignore and look
        // again at the state.
      } finally {
        idle--;
      }
    }
  }

  private void workerDied(Worker w, Throwable death) {
    Call<?> orphan;
    boolean replaced = false;
    lock.lock();
    try {
      workers.remove(w);
      orphan = w.current;
      if (orphan != null) {
        w.current = null;
        running--;
      }
      if (state == STARTED && workers.size() < maxAsync) {
        spawnWorkerLocked();
        replaced = true;
      }
      drained.signalAll();
    } finally {
      lock.unlock();
    }
    log.error("limiter '{}': a worker died{}", name, replaced ? "; replaced it" : "", death);
    // The call it held either was still running (death after the call returned but before its
    // outcome was settled) or had asked to retry and was not yet re-queued: fail it either way.
    if (orphan != null
        && (orphan.state.compareAndSet(Call.RUNNING, Call.DONE)
            || orphan.state.compareAndSet(Call.NEW, Call.DONE))) {
      settle(orphan, failed, null, death);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Queue bookkeeping (all under the lock)

  /** Queues {@code c}; {@code reentering} if it keeps an older sequence number (a retry). */
  @GuardedBy("lock")
  private void offerLocked(Call<?> c, boolean reentering) {
    if (reentering) {
      queue.addReentered(c);
    } else {
      queue.addFresh(c);
    }
    queued++;
    if (idle > 0) {
      workAvailable.signal();
    }
  }

  @GuardedBy("lock")
  private void requeueLocked(Call<?> c, long delayNanos) {
    long now = ticker.read();
    if (delayNanos <= 0) {
      c.enqueuedNanos = now;
      offerLocked(c, true);
      return;
    }
    c.dueNanos = now + delayNanos;
    delayed.add(c);
    if (c.dueNanos - reaperWakeAt < 0) {
      reaperWake.signal();
    }
  }

  /** Links a first-time waiter at the newest end of the arrival-order list. */
  @GuardedBy("lock")
  private void linkLocked(Call<?> c) {
    if (queueTimeoutNanos == 0) {
      return; // the list only serves queueTimeout
    }
    c.linked = true;
    c.prev = newest;
    if (newest == null) {
      oldest = c;
    } else {
      newest.next = c;
    }
    newest = c;
  }

  @GuardedBy("lock")
  private void unlinkLocked(Call<?> c) {
    if (!c.linked) {
      return;
    }
    c.linked = false;
    Call<?> p = c.prev;
    Call<?> n = c.next;
    if (p == null) {
      oldest = n;
    } else {
      p.next = n;
    }
    if (n == null) {
      newest = p;
    } else {
      n.prev = p;
    }
    c.prev = null;
    c.next = null;
  }

  /** Called by a canceller that moved c from NEW to DONE. */
  private void removeCancelled(Call<?> c) {
    lock.lock();
    try {
      if (queue.remove(c)) {
        queued--;
      } else {
        delayed.remove(c);
      }
      unlinkLocked(c);
    } finally {
      lock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The reaper: timeouts and back-off re-entry

  private void reaperLoop() {
    List<Call<?>> expiredRunning = new ArrayList<>();
    List<Call<?>> expiredQueued = new ArrayList<>();
    lock.lock();
    try {
      while (state != CLOSED) {
        long now = ticker.read();
        long next = Long.MAX_VALUE;
        if (callTimeoutNanos > 0) {
          for (Worker w : workers) {
            Call<?> c = w.current;
            if (c == null || c.state.get() != Call.RUNNING) {
              continue;
            }
            long deadline = c.startNanos + callTimeoutNanos;
            if (deadline - now <= 0) {
              if (c.state.compareAndSet(Call.RUNNING, Call.INTERRUPTING)) {
                expiredRunning.add(c);
              }
            } else {
              next = Math.min(next, deadline);
            }
          }
        }
        if (queueTimeoutNanos > 0) {
          while (oldest != null && oldest.queueDeadline - now <= 0) {
            Call<?> c = oldest;
            unlinkLocked(c);
            if (c.state.compareAndSet(Call.NEW, Call.DONE)) {
              expiredQueued.add(c);
            }
          }
          if (!expiredQueued.isEmpty()) {
            queued -= queue.removeIf(c -> c.state.get() != Call.NEW);
          }
          if (oldest != null) {
            next = Math.min(next, oldest.queueDeadline);
          }
        }
        Call<?> due;
        while ((due = delayed.peek()) != null && due.dueNanos - now <= 0) {
          delayed.poll();
          due.enqueuedNanos = now;
          offerLocked(due, true);
        }
        if (due != null) {
          next = Math.min(next, due.dueNanos);
        }
        if (!expiredRunning.isEmpty() || !expiredQueued.isEmpty()) {
          lock.unlock();
          try {
            expire(expiredRunning, expiredQueued, now);
          } finally {
            lock.lock();
          }
          continue;
        }
        long sleep = next == Long.MAX_VALUE ? reaperIdleNanos : Math.min(next - now, reaperIdleNanos);
        try {
          if (sleep == Long.MAX_VALUE) {
            reaperWakeAt = Long.MAX_VALUE;
            reaperWake.await();
          } else {
            reaperWakeAt = now + sleep;
            reaperWake.awaitNanos(sleep);
          }
        } catch (InterruptedException e) {
          // Only close() ends the reaper; look at the state again.
        }
      }
    } finally {
      lock.unlock();
    }
  }

  private void expire(List<Call<?>> running, List<Call<?>> queuedCalls, long now) {
    for (Call<?> c : running) {
      c.interruptRunner();
      Duration elapsed = Duration.ofNanos(now - c.startNanos);
      settle(
          c,
          timedOut,
          null,
          new CallTimeoutException(
              name, CallTimeoutException.Phase.RUNNING, elapsed, config.callTimeout()));
    }
    for (Call<?> c : queuedCalls) {
      Duration waited = Duration.ofNanos(now - c.enqueuedNanos);
      settle(
          c,
          timedOut,
          null,
          new CallTimeoutException(
              name, CallTimeoutException.Phase.QUEUED, waited, config.queueTimeout()));
    }
    running.clear();
    queuedCalls.clear();
  }

  /** Test seam: wakes the reaper so that it reads the (fake) ticker again. */
  void wakeReaper() {
    lock.lock();
    try {
      reaperWake.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Completes {@code c} and counts it in {@code counter}. The count comes first, so that whoever
   * sees the future complete also sees it counted; it is taken back if another outcome (a cancel,
   * a timeout) completed the future first.
   */
  private static void settle(
      Call<?> c, LongAdder counter, @Nullable Object value, @Nullable Throwable failure) {
    counter.increment();
    boolean done = failure == null ? c.completeRaw(value) : c.completeExceptionally(failure);
    if (!done) {
      counter.decrement();
    }
  }

  private static LimiterStats.Percentiles percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return LimiterStats.Percentiles.EMPTY;
    }
    return new LimiterStats.Percentiles(
        h.getTotalCount(),
        Duration.ofNanos(h.getValueAtPercentile(50)),
        Duration.ofNanos(h.getValueAtPercentile(95)),
        Duration.ofNanos(h.getValueAtPercentile(99)),
        Duration.ofNanos(h.getMaxValue()));
  }

  // ---------------------------------------------------------------------------------------------

  /** A worker: its thread and the call it runs. */
  private static final class Worker {
    @Nullable Thread thread;

    /** The call this worker runs, or null when idle; guarded by the limiter's lock. */
    @Nullable Call<?> current;
  }

  /** A submitted call and its future. Fields without a note are guarded by the limiter's lock. */
  static final class Call<T> extends CompletableFuture<T> {
    static final int NEW = 0;
    static final int RUNNING = 1;
    static final int DONE = 2;
    static final int INTERRUPTING = 3;
    static final int INTERRUPTED = 4;

    final CallLimiter limiter;
    final Callable<T> callable;
    final int priority;

    /** See the state machine in the limiter's design notes. */
    final AtomicInteger state = new AtomicInteger(NEW);

    /** The worker thread of the current run; written before the claim's CAS publishes it. */
    volatile @Nullable Thread runner;

    /** Submission order: the tie-break among equal priorities, kept across retries. */
    long seq;

    long enqueuedNanos;
    long queueDeadline;
    long startNanos;
    long dueNanos;

    /** 1 on the first run; written by the worker before it re-queues the call. */
    int attempt = 1;

    boolean linked;
    @Nullable Call<?> prev;
    @Nullable Call<?> next;

    Call(CallLimiter limiter, Callable<T> callable, int priority) {
      this.limiter = limiter;
      this.callable = callable;
      this.priority = priority;
    }

    @SuppressWarnings("unchecked")
    boolean completeRaw(@Nullable Object value) {
      return complete((T) value);
    }

    /**
     * Cancels the call: one that has not started never runs; a running one is interrupted if
     * {@code mayInterruptIfRunning}, otherwise it finishes and its result is dropped.
     */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      while (true) {
        int s = state.get();
        if (s == NEW) {
          if (state.compareAndSet(NEW, DONE)) {
            limiter.removeCancelled(this);
            return cancelCounted(false);
          }
        } else if (s == RUNNING && mayInterruptIfRunning) {
          if (state.compareAndSet(RUNNING, INTERRUPTING)) {
            interruptRunner();
            return cancelCounted(true);
          }
        } else {
          return cancelCounted(mayInterruptIfRunning);
        }
      }
    }

    /** Cancels the future, counting it first (see settle). */
    private boolean cancelCounted(boolean mayInterruptIfRunning) {
      limiter.cancelled.increment();
      boolean done = super.cancel(mayInterruptIfRunning);
      if (!done) {
        limiter.cancelled.decrement();
      }
      return done;
    }

    /** Called only by the thread that moved the state from RUNNING to INTERRUPTING. */
    void interruptRunner() {
      Thread t = runner;
      if (t != null) {
        t.interrupt();
      }
      state.set(INTERRUPTED);
    }

    /** Called by the runner: waits the few instructions until the interrupter is done. */
    void awaitInterrupted() {
      for (int spins = 0; state.get() == INTERRUPTING; spins++) {
        if (spins < 100) {
          Thread.onSpinWait();
        } else {
          LockSupport.parkNanos(10_000); // the interrupter was descheduled; let it run
        }
      }
    }
  }
}
