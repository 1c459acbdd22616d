package io.ragengine.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.Priority;
import io.ragengine.limiter.RetryLaterException;
import io.ragengine.model.EmbeddingModel;
import io.ragengine.model.ModelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces embedding requests from concurrent callers (the chunks of many documents, queries)
 * into batches of up to {@code batchSize} texts, each batch one call of the embedding model through
 * the embedding {@link CallLimiter}. Not public API.
 *
 * <p>Thread-safe.
 *
 * <p>How batches form. A batch is a "ticket" queued in the limiter; it takes its texts only when
 * a worker starts it: the highest-priority pending texts first, and the oldest among equals. So
 * while every slot is busy, pending texts pile up into full batches, and when a slot frees up the
 * next batch is as full as it can be. Tickets are queued so that together they cover every pending
 * text: one per {@code batchSize} texts, plus one for a remainder, which waits up to {@code
 * maxWait} for company unless it holds a query-priority text, which goes at once. A query's text
 * therefore rides in the next batch to start, ahead of every document text.
 *
 * <p>Failures. A batch the model refuses for good (a non-retryable {@link ModelException}) is
 * embedded again one text at a time, so a single bad input fails only its own text, not the texts
 * of the other documents that shared its batch. Retryable failures fail the whole batch: splitting
 * them would multiply calls to a provider that is down. A single-text call that asks to {@link
 * RetryLaterException retry later} (a 429 while the batch is split, say) gives the worker back like
 * any limiter call; the re-run goes on one text at a time with the texts still without a vector.
 * A vector that cannot be used (null, empty, non-finite, or all zeros) fails only its own text,
 * naming the model. (Lengths are the pipeline's to check, against the stored vectors.)
 */
public final class EmbeddingBatcher {
  private static final Logger log = LoggerFactory.getLogger(EmbeddingBatcher.class);

  private static final Comparator<Pending> ORDER =
      (a, b) ->
          a.priority != b.priority
              ? Integer.compare(b.priority, a.priority)
              : Long.compare(a.seq, b.seq);

  private final EmbeddingModel model;
  private final CallLimiter limiter;
  private final int batchSize;
  private final Duration maxWait;
  private final Delayer delayer;
  private final @Nullable BiConsumer<Integer, Long> batchObserver;

  private final ReentrantLock lock = new ReentrantLock();

  @GuardedBy("lock")
  private final PriorityQueue<Pending> pending = new PriorityQueue<>(ORDER);

  /** Tickets submitted to the limiter that have not yet taken their texts. */
  @GuardedBy("lock")
  private int ticketsWaiting;

  @GuardedBy("lock")
  private boolean timerArmed;

  @GuardedBy("lock")
  private long nextSeq;

  /** Schedules a task after a delay; the seam that lets tests fire the maxWait timer by hand. */
  public interface Delayer {
    /** Runs {@code task} once after {@code delay}, on some thread. */
    void schedule(Runnable task, Duration delay);

    /** The JDK's shared delayed executor. */
    static Delayer system() {
      return (task, delay) ->
          CompletableFuture.delayedExecutor(delay.toNanos(), TimeUnit.NANOSECONDS).execute(task);
    }
  }

  /**
   * @param batchObserver told (texts, model nanos) after each successful model call; for stats
   */
  public EmbeddingBatcher(
      EmbeddingModel model,
      CallLimiter limiter,
      int batchSize,
      Duration maxWait,
      Delayer delayer,
      @Nullable BiConsumer<Integer, Long> batchObserver) {
    this.model = Objects.requireNonNull(model, "model");
    this.limiter = Objects.requireNonNull(limiter, "limiter");
    this.batchSize = Checks.positive(batchSize, "embeddingBatchSize");
    this.maxWait = Checks.wait(maxWait, "embeddingMaxWait");
    this.delayer = Objects.requireNonNull(delayer, "delayer");
    this.batchObserver = batchObserver;
  }

  /**
   * Returns the vectors of {@code texts}, in order, once the batches holding them have been
   * embedded. The future fails with the model's (or the limiter's) exception if a batch holding one
   * of the texts failed.
   *
   * @param priority the texts' priority: {@link Priority#QUERY} and above are sent at once
   */
  public CompletableFuture<List<float[]>> embed(List<String> texts, int priority) {
    Objects.requireNonNull(texts, "texts");
    if (texts.isEmpty()) {
      return CompletableFuture.completedFuture(List.of());
    }
    List<Pending> mine = new ArrayList<>(texts.size());
    for (String text : texts) {
      mine.add(new Pending(Objects.requireNonNull(text, "text"), priority));
    }
    int tickets = 0;
    boolean arm = false;
    lock.lock();
    try {
      for (Pending p : mine) {
        p.seq = nextSeq++;
        pending.add(p);
      }
      int uncovered = pending.size() - ticketsWaiting * batchSize;
      while (uncovered >= batchSize) {
        tickets++;
        ticketsWaiting++;
        uncovered -= batchSize;
      }
      if (uncovered > 0) {
        if (priority >= Priority.QUERY || maxWait.isZero()) {
          tickets++;
          ticketsWaiting++;
        } else if (!timerArmed) {
          timerArmed = true;
          arm = true;
        }
      }
    } finally {
      lock.unlock();
    }
    for (int i = 0; i < tickets; i++) {
      submitTicket(priority);
    }
    if (arm) {
      try {
        delayer.schedule(this::timerFired, maxWait);
      } catch (RuntimeException e) {
        // No timer will fire: disarm, so that a later remainder arms one again, and send the texts
        // waiting for company now, ours and those of callers who counted on this timer.
        log.warn("embedding batch timer could not be scheduled; sending the waiting texts now", e);
        timerFired();
      }
    }
    CompletableFuture<?>[] all = new CompletableFuture<?>[mine.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = mine.get(i).vector;
    }
    return CompletableFuture.allOf(all)
        .thenApply(
            unused -> {
              List<float[]> vectors = new ArrayList<>(mine.size());
              for (Pending p : mine) {
                vectors.add(p.vector.join());
              }
              return vectors;
            });
  }

  /**
   * Checks that the model answered one vector per text.
   *
   * @throws ModelException (not retryable) naming the model, if it returned null or another count
   */
  private void checkVectors(@Nullable List<float[]> vectors, int texts) {
    if (vectors == null || vectors.size() != texts) {
      throw new ModelException(
          "embedding model "
              + model.modelName()
              + " returned "
              + (vectors == null ? "null" : vectors.size() + " vectors")
              + " (expected: one vector per text, "
              + texts
              + " in all)",
          false,
          null);
    }
  }

  /**
   * Completes {@code text} with {@code vector}, or fails only that text, with a {@link
   * ModelException} naming the model, if the vector cannot be stored or searched ({@link
   * Vectors#defect}). Caught here, the model is blamed; caught by the store, the error would blame
   * a "vector" argument the caller never passed, and only once the document is committed.
   */
  private void deliver(Pending text, float @Nullable [] vector) {
    String defect = Vectors.defect(vector);
    if (defect == null) {
      text.vector.complete(vector);
    } else {
      text.vector.completeExceptionally(
          new ModelException(
              "embedding model " + model.modelName() + " returned an unusable vector: " + defect,
              false,
              null));
    }
  }

  /** The name of the model the batches go to. */
  public String modelName() {
    return model.modelName();
  }

  /** The most texts all embedding calls hold at once: the batch size times the limiter's slots. */
  public int textsPerRound() {
    return batchSize * limiter.maxAsync();
  }

  /** Texts waiting for a batch to take them. */
  public int pendingCount() {
    lock.lock();
    try {
      return pending.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends the texts still waiting for company now, instead of when {@code maxWait} runs out: for a
   * caller that knows no more texts are coming soon (the last document of an insert has queued
   * its chunks), waiting would only add latency.
   */
  public void flush() {
    boolean submit = false;
    int priority = Priority.DOCUMENT_EMBEDDING;
    lock.lock();
    try {
      if (pending.size() > ticketsWaiting * batchSize) {
        ticketsWaiting++;
        submit = true;
        Pending head = pending.peek();
        if (head != null) {
          priority = head.priority;
        }
      }
    } finally {
      lock.unlock();
    }
    if (submit) {
      submitTicket(priority);
    }
  }

  private void timerFired() {
    lock.lock();
    try {
      timerArmed = false;
    } finally {
      lock.unlock();
    }
    flush();
  }

  private void submitTicket(int priority) {
    Ticket ticket = new Ticket();
    CompletableFuture<Void> run;
    try {
      run = limiter.submit(priority, ticket);
    } catch (IllegalStateException closed) {
      run = CompletableFuture.failedFuture(closed);
    }
    run.whenComplete(
        (ok, failure) -> {
          if (failure != null) {
            ticket.fail(failure);
          }
        });
  }

  /** One batch: takes its texts when a worker first runs it, keeps them across retries. */
  private final class Ticket implements java.util.concurrent.Callable<Void> {
    /**
     * The texts this ticket took, set once under the lock. Volatile: fail() reads it on whichever
     * thread settles the limiter's future (the reaper on a run timeout, say) while a worker may
     * still be running call().
     */
    private volatile @Nullable List<Pending> batch;

    /**
     * Set once the model refused the whole batch for good, so that a re-run after a back-off goes
     * on text by text instead of sending the refused batch again. Only call() reads and writes it;
     * the limiter's hand-off between runs (under its lock) orders one run's write before the next
     * run's read, whichever worker runs it.
     */
    private boolean oneByOne;

    @Override
    public @Nullable Void call() {
      List<Pending> texts = take();
      if (texts.isEmpty()) {
        return null;
      }
      if (oneByOne) {
        embedOneByOne(texts);
        return null;
      }
      List<String> inputs = new ArrayList<>(texts.size());
      for (Pending p : texts) {
        inputs.add(p.text);
      }
      long start = System.nanoTime();
      List<float[]> vectors;
      try {
        vectors = model.embed(inputs);
      } catch (RuntimeException e) {
        // A RetryLaterException is not a refusal either: the limiter runs this ticket again later.
        if (!refusedForGood(e) || texts.size() == 1 || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        // Refused for good: a 400 for one bad input, an IllegalArgumentException for a text
        // longer than the model takes. The batch mixes texts of many documents: embed them one
        // by one so only the bad one fails.
        oneByOne = true;
        embedOneByOne(texts);
        return null;
      }
      long nanos = System.nanoTime() - start;
      checkVectors(vectors, texts.size());
      observe(texts.size(), nanos);
      for (int i = 0; i < texts.size(); i++) {
        deliver(texts.get(i), vectors.get(i));
      }
      return null;
    }

    private void observe(int texts, long nanos) {
      BiConsumer<Integer, Long> observer = batchObserver;
      if (observer != null) {
        observer.accept(texts, nanos);
      }
    }

    /**
     * Whether {@code e} refuses the batch's input, as the two refusals {@link EmbeddingModel#embed}
     * names do: a non-retryable {@link ModelException} (a 400) and an {@link
     * IllegalArgumentException} (a text longer than the model takes). Anything else (a retryable
     * failure the client's retries did not get past, a connection reset, a bug) says nothing about
     * a text, and splitting would send a failing provider a call per text.
     */
    private static boolean refusedForGood(RuntimeException e) {
      return e instanceof ModelException m ? !m.retryable() : e instanceof IllegalArgumentException;
    }

    /**
     * Embeds each text without a vector yet in a call of its own, failing only that text if the
     * call fails.
     *
     * @throws RetryLaterException if a call asks to retry later: the limiter runs this ticket again
     *     after the delay, and the texts already embedded are skipped then
     */
    private void embedOneByOne(List<Pending> texts) {
      for (Pending p : texts) {
        if (p.vector.isDone()) {
          continue; // embedded (or failed) before a back-off
        }
        try {
          long start = System.nanoTime();
          List<float[]> one = model.embed(List.of(p.text));
          long nanos = System.nanoTime() - start;
          checkVectors(one, 1);
          observe(1, nanos);
          deliver(p, one.get(0));
        } catch (RetryLaterException e) {
          throw e; // a transient refusal, not this text's failure: back off without the worker
        } catch (RuntimeException e) {
          p.vector.completeExceptionally(e);
        }
      }
    }

    /**
     * Returns the texts of this ticket, taking them from the pending ones the first time. Checked
     * again under the lock, so that a worker and fail() racing on another thread take them once.
     */
    private List<Pending> take() {
      List<Pending> b = batch;
      if (b != null) {
        return b; // a re-run after a back-off keeps its texts
      }
      lock.lock();
      try {
        b = batch;
        if (b != null) {
          return b;
        }
        b = new ArrayList<>(batchSize);
        ticketsWaiting--;
        while (b.size() < batchSize) {
          Pending p = pending.poll();
          if (p == null) {
            break;
          }
          b.add(p);
        }
        batch = b;
        return b;
      } finally {
        lock.unlock();
      }
    }

    /** The ticket failed or never ran: fail the texts it took, or would have taken. */
    void fail(Throwable failure) {
      for (Pending p : take()) {
        p.vector.completeExceptionally(failure);
      }
    }
  }

  private static final class Pending {
    final String text;
    final int priority;
    long seq;
    final CompletableFuture<float[]> vector = new CompletableFuture<>();

    Pending(String text, int priority) {
      this.text = text;
      this.priority = priority;
    }
  }
}
