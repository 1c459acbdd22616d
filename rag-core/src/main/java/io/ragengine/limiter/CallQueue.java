package io.ragengine.limiter;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * The limiter's queue of waiting calls: higher priority first, lower sequence number first among
 * equals. Not thread-safe; the limiter guards it with its lock.
 *
 * <p>Why not a {@link PriorityQueue}: with a backlog of 100,000 calls its sift-down took about 40 %
 * of the limiter's CPU in {@code CallLimiterBenchmark} (a profile at maxAsync 16). Here, since new
 * calls get increasing sequence numbers, each priority level is a FIFO deque and taking the next
 * call is O(1). The exception is a call re-entering after {@link RetryLaterException}: it keeps
 * its older sequence number, so it goes into the level's small heap of re-entries, whose head is
 * compared with the deque's head. Only non-empty levels are kept, sorted by priority, so the next
 * call is always in {@code levels[0]}.
 */
final class CallQueue {
  private static final Comparator<CallLimiter.Call<?>> BY_SEQ =
      Comparator.comparingLong(c -> c.seq);

  /** One priority: fresh calls in arrival order, and re-entries by sequence number. */
  private static final class Level {
    final int priority;
    final ArrayDeque<CallLimiter.Call<?>> fresh = new ArrayDeque<>();
    @Nullable PriorityQueue<CallLimiter.Call<?>> reentered;

    Level(int priority) {
      this.priority = priority;
    }

    boolean isEmpty() {
      return fresh.isEmpty() && (reentered == null || reentered.isEmpty());
    }

    CallLimiter.@Nullable Call<?> poll() {
      PriorityQueue<CallLimiter.Call<?>> r = reentered;
      CallLimiter.Call<?> f = fresh.peekFirst();
      if (r != null) {
        CallLimiter.Call<?> head = r.peek();
        if (head != null && (f == null || head.seq < f.seq)) {
          return r.poll();
        }
      }
      return fresh.pollFirst();
    }
  }

  /** Non-empty levels, highest priority first. */
  private Level[] levels = new Level[0];

  private int size;

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Adds a call whose sequence number is larger than every other call's. */
  void addFresh(CallLimiter.Call<?> c) {
    level(c.priority).fresh.addLast(c);
    size++;
  }

  /** Adds a call re-entering with its original, older sequence number. */
  void addReentered(CallLimiter.Call<?> c) {
    Level l = level(c.priority);
    PriorityQueue<CallLimiter.Call<?>> r = l.reentered;
    if (r == null) {
      r = new PriorityQueue<>(BY_SEQ);
      l.reentered = r;
    }
    r.add(c);
    size++;
  }

  /** Removes and returns the next call, or null if there is none. */
  CallLimiter.@Nullable Call<?> poll() {
    if (levels.length == 0) {
      return null;
    }
    Level top = levels[0];
    CallLimiter.Call<?> c = top.poll();
    if (top.isEmpty()) {
      removeLevel(0);
    }
    if (c != null) {
      size--;
    }
    return c;
  }

  /** Removes {@code c} if it is queued (O(n) in its level: cancellation is the rare path). */
  boolean remove(CallLimiter.Call<?> c) {
    int i = find(c.priority);
    if (i < 0) {
      return false;
    }
    Level l = levels[i];
    boolean removed = l.fresh.remove(c) || (l.reentered != null && l.reentered.remove(c));
    if (removed) {
      size--;
      if (l.isEmpty()) {
        removeLevel(i);
      }
    }
    return removed;
  }

  /** Removes every call matching {@code filter}; returns how many. */
  int removeIf(Predicate<CallLimiter.Call<?>> filter) {
    int before = size;
    for (int i = levels.length - 1; i >= 0; i--) {
      Level l = levels[i];
      int had = l.fresh.size() + (l.reentered == null ? 0 : l.reentered.size());
      l.fresh.removeIf(filter);
      if (l.reentered != null) {
        l.reentered.removeIf(filter);
      }
      size -= had - (l.fresh.size() + (l.reentered == null ? 0 : l.reentered.size()));
      if (l.isEmpty()) {
        removeLevel(i);
      }
    }
    return before - size;
  }

  void forEach(Consumer<CallLimiter.Call<?>> action) {
    for (Level l : levels) {
      l.fresh.forEach(action);
      if (l.reentered != null) {
        l.reentered.forEach(action);
      }
    }
  }

  void clear() {
    levels = new Level[0];
    size = 0;
  }

  /** The level of {@code priority}, created (in its sorted place) if missing. */
  private Level level(int priority) {
    int i = find(priority);
    if (i >= 0) {
      return levels[i];
    }
    int at = -i - 1;
    Level l = new Level(priority);
    Level[] grown = new Level[levels.length + 1];
    System.arraycopy(levels, 0, grown, 0, at);
    grown[at] = l;
    System.arraycopy(levels, at, grown, at + 1, levels.length - at);
    levels = grown;
    return l;
  }

  private void removeLevel(int i) {
    Level[] shrunk = new Level[levels.length - 1];
    System.arraycopy(levels, 0, shrunk, 0, i);
    System.arraycopy(levels, i + 1, shrunk, i, levels.length - i - 1);
    levels = shrunk;
  }

  /**
   * Binary search over the levels, sorted by descending priority: the index of {@code priority},
   * or {@code -(insertion point) - 1}.
   */
  private int find(int priority) {
    int lo = 0;
    int hi = levels.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int p = levels[mid].priority;
      if (p == priority) {
        return mid;
      }
      if (p > priority) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return -(lo + 1);
  }

  @Override
  public String toString() {
    return "CallQueue{size=" + size + ", levels=" + Arrays.stream(levels).map(l -> l.priority).toList()
        + "}";
  }
}
