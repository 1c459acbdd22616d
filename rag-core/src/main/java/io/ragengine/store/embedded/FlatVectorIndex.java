package io.ragengine.store.embedded;

import io.ragengine.internal.Checks;
import io.ragengine.internal.Vectors;
import io.ragengine.store.VectorMatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory vector index with exact top-k search by cosine similarity, stored in flat primitive
 * arrays as float16 or int8 (see {@link VectorEncoding}). Not thread-safe for writes: searches may
 * run concurrently with each other, but not with {@link #upsert} or {@link #remove}; {@link
 * EmbeddedStorage} guards it with its read-write lock.
 *
 * <p>Design notes. Vectors are normalised at insert, so a score is a dot product. Vector {@code i}
 * occupies elements {@code [i * dimensions, (i + 1) * dimensions)} of one array; deleting moves the
 * last vector into the hole, so the live vectors are always {@code [0, size)} and a search is one
 * linear scan. Ids map to slots through an open-addressing table of ints (linear probing,
 * backward-shift deletion, load at most 1/2) rather than a {@code HashMap}, which would cost about
 * 50 bytes per vector in nodes and boxed integers. A search keeps a bounded min-heap of the best
 * {@code topK}; with {@code parallelism > 1} and enough work ({@link #MIN_ELEMENTS_PER_PART}) it
 * cuts the scan into small ranges that the calling thread and helper tasks claim one at a time,
 * each into its own heap, and merges the heaps. The caller starts at once and a helper joins when
 * its thread gets to run; a helper that has not started when the ranges run out is cancelled, so a
 * busy or slow-waking helper (many concurrent searches, one helper thread per spare core) never
 * makes a search slower than scanning alone. The inner
 * loops live in a {@link DotKernel}: the incubating Vector API when the application enables it
 * ({@code --add-modules jdk.incubator.vector}), plain Java with four accumulators otherwise.
 *
 * <p>Memory per vector, at full capacity: {@code 2 * dimensions} bytes (float16) or {@code
 * dimensions + 4} bytes (int8), plus a 4-byte id reference and 8 to 16 bytes of id table, plus the
 * id {@code String} itself. Arrays grow by half when full, so right after growing up to a third of
 * the capacity is unused.
 */
public final class FlatVectorIndex {

  /**
   * Below this many stored elements (vectors x dimensions) per range, splitting a scan costs more
   * than it saves: 2^19 elements take about 0.1 ms to scan, the hand-off to an idle helper thread
   * about 0.03-0.08 ms on the 2-core machine of docs/benchmarks.md.
   */
  static final long MIN_ELEMENTS_PER_PART = 1L << 19;

  /** A split scan cuts the vectors into this many ranges per participant (caller or helper). */
  static final int RANGES_PER_PARTICIPANT = 8;

  /** ...but no range smaller than this many elements, so claiming one stays negligible. */
  static final long MIN_ELEMENTS_PER_RANGE = 1L << 16;

  private static final int INITIAL_CAPACITY = 16;
  private static final String NO_ID = "";
  private static final DotKernel KERNEL = DotKernel.best();

  private final int dimensions;
  private final VectorEncoding encoding;
  private final int parallelism;
  private final Executor helper;

  private String[] ids;
  private short[] halfs; // FLOAT16 only; empty otherwise
  private byte[] bytes; // INT8 only; empty otherwise
  private float[] scales; // INT8 only; empty otherwise
  private int size;
  private int[] table; // slot + 1, or 0 for empty; length is a power of two

  private FlatVectorIndex(
      int dimensions, VectorEncoding encoding, int parallelism, Executor helper) {
    this.dimensions = Checks.positive(dimensions, "dimensions");
    this.encoding = Objects.requireNonNull(encoding, "encoding");
    this.parallelism = Checks.positive(parallelism, "parallelism");
    this.helper = Objects.requireNonNull(helper, "helper");
    this.ids = new String[INITIAL_CAPACITY];
    this.halfs = new short[encoding == VectorEncoding.FLOAT16 ? INITIAL_CAPACITY * dimensions : 0];
    this.bytes = new byte[encoding == VectorEncoding.INT8 ? INITIAL_CAPACITY * dimensions : 0];
    this.scales = new float[encoding == VectorEncoding.INT8 ? INITIAL_CAPACITY : 0];
    this.table = new int[INITIAL_CAPACITY * 2];
  }

  /**
   * Returns an empty index that searches on the calling thread only.
   *
   * @throws IllegalArgumentException if {@code dimensions} is not positive
   */
  public static FlatVectorIndex create(int dimensions, VectorEncoding encoding) {
    return new FlatVectorIndex(dimensions, encoding, 1, Runnable::run);
  }

  /**
   * Returns an empty index whose searches over large indexes split the scan into up to {@code
   * parallelism} ranges: one runs on the calling thread, the others on {@code helper}, which
   * should have {@code parallelism - 1} threads of its own.
   *
   * @throws IllegalArgumentException if {@code dimensions} or {@code parallelism} is not positive
   */
  public static FlatVectorIndex create(
      int dimensions, VectorEncoding encoding, int parallelism, Executor helper) {
    return new FlatVectorIndex(dimensions, encoding, parallelism, helper);
  }

  /** Returns the dimension of every vector in this index. */
  public int dimensions() {
    return dimensions;
  }

  /** Returns how vectors are kept in memory. */
  public VectorEncoding encoding() {
    return encoding;
  }

  /**
   * Returns which inner loop searches use: {@code "scalar"}, or {@code "Vector API, N float
   * lanes"} when the application runs with {@code --add-modules jdk.incubator.vector}.
   */
  public static String searchKernel() {
    return KERNEL.description();
  }

  /**
   * Makes room for {@code vectors} vectors in total, so that loading a known number of vectors
   * allocates each array once, with no growth slack.
   *
   * @throws IllegalArgumentException if {@code vectors} is negative
   * @throws IllegalStateException if the index would exceed {@link Integer#MAX_VALUE} elements
   */
  public void reserve(int vectors) {
    Checks.positiveOrZero(vectors, "vectors");
    if (vectors > ids.length) {
      growTo(vectors);
    }
  }

  /** Returns the number of vectors. */
  public int size() {
    return size;
  }

  /** Returns true if a vector is stored under {@code id}. */
  public boolean contains(String id) {
    return slotOf(id) >= 0;
  }

  /**
   * Stores {@code vector} (normalised and encoded) under {@code id}, replacing any previous one.
   *
   * @throws IllegalArgumentException if the dimension differs, or {@code vector} is all zeros or
   *     has a non-finite element
   * @throws IllegalStateException if the index would exceed {@link Integer#MAX_VALUE} elements
   */
  public void upsert(String id, float[] vector) {
    Objects.requireNonNull(id, "id");
    checkDimensions(vector, "vector");
    float[] unit = Vectors.normalized(vector, "vector");
    int position = probe(id);
    int slot;
    if (table[position] != 0) {
      slot = table[position] - 1;
    } else {
      ensureCapacity(size + 1);
      slot = size++;
      ids[slot] = id;
      position = probe(id); // the table may have been rebuilt
      table[position] = slot + 1;
    }
    encode(slot, unit);
  }

  /** Removes the vector under {@code id}; returns false if there was none. */
  public boolean remove(String id) {
    int position = probe(Objects.requireNonNull(id, "id"));
    if (table[position] == 0) {
      return false;
    }
    int slot = table[position] - 1;
    deleteFromTable(position);
    int last = --size;
    if (slot != last) {
      // Move the last vector into the hole so the live vectors stay contiguous.
      String moved = ids[last];
      ids[slot] = moved;
      if (encoding == VectorEncoding.FLOAT16) {
        System.arraycopy(halfs, last * dimensions, halfs, slot * dimensions, dimensions);
      } else {
        System.arraycopy(bytes, last * dimensions, bytes, slot * dimensions, dimensions);
        scales[slot] = scales[last];
      }
      table[probe(moved)] = slot + 1;
    }
    ids[last] = NO_ID; // drop the reference
    return true;
  }

  /**
   * Returns up to {@code topK} stored vectors most similar to {@code query}, best first, ties by
   * id; only matches scoring at least {@code minScore} and accepted by {@code idFilter} (when not
   * null) are kept. {@code idFilter} may be called from several threads at once; if it throws,
   * the search stops and throws the same exception, after every helper thread has stopped
   * scanning.
   *
   * @throws IllegalArgumentException if {@code topK} is not positive, {@code minScore} is NaN, or
   *     {@code query} has the wrong dimension, is all zeros or has a non-finite element
   */
  public List<VectorMatch> search(
      float[] query, int topK, float minScore, @Nullable Predicate<String> idFilter) {
    checkDimensions(query, "vector");
    Checks.positive(topK, "topK");
    if (Float.isNaN(minScore)) {
      throw new IllegalArgumentException("minScore: NaN (expected: a number)");
    }
    // The float16 kernel takes the query in its own form, made once per search, not per range.
    float[] q =
        encoding == VectorEncoding.FLOAT16
            ? KERNEL.halfQuery(Vectors.normalized(query, "vector"))
            : Vectors.normalized(query, "vector");
    int n = size;
    // No heap holds more than there are vectors: a topK of Integer.MAX_VALUE must not allocate it.
    int capacity = Math.max(1, Math.min(topK, n));
    int parts = (int) Math.max(1, Math.min(parallelism, (long) n * dimensions / MIN_ELEMENTS_PER_PART));
    List<TopK> heaps =
        parts == 1
            ? List.of(scan(q, 0, n, new TopK(capacity, ids), minScore, idFilter))
            : splitScan(q, n, parts, capacity, minScore, idFilter);
    List<VectorMatch> all = new ArrayList<>();
    for (TopK heap : heaps) {
      for (int i = 0; i < heap.count; i++) {
        all.add(new VectorMatch(ids[heap.slots[i]], heap.scores[i]));
      }
    }
    all.sort(
        (a, b) -> {
          int byScore = Float.compare(b.score(), a.score());
          return byScore != 0 ? byScore : a.id().compareTo(b.id());
        });
    return List.copyOf(all.subList(0, Math.min(topK, all.size())));
  }

  /**
   * A scan split among the caller and {@code parts - 1} helper tasks: the vectors are cut into
   * {@code ranges} ranges, and each participant claims the next unclaimed range until none is left,
   * keeping its own heap. The caller starts at once; a helper joins whenever its thread gets to
   * run, and one that has not started when the caller runs out of ranges is cancelled rather than
   * waited for. So the caller waits at most for the range a helper is in the middle of, never for
   * a helper that wakes late (waking an idle thread took up to half a millisecond on the 2-core
   * machine of docs/benchmarks.md, and with two fixed halves the caller sat idle for it).
   */
  private List<TopK> splitScan(
      float[] q, int n, int parts, int topK, float minScore, @Nullable Predicate<String> filter) {
    long elements = (long) n * dimensions;
    int ranges =
        (int)
            Math.min(
                n,
                Math.max(
                    parts,
                    Math.min((long) parts * RANGES_PER_PARTICIPANT,
                        elements / MIN_ELEMENTS_PER_RANGE)));
    AtomicInteger next = new AtomicInteger();
    Supplier<TopK> work =
        () -> {
          TopK heap = new TopK(topK, ids);
          for (int r = next.getAndIncrement(); r < ranges; r = next.getAndIncrement()) {
            scan(q, (int) ((long) n * r / ranges), (int) ((long) n * (r + 1) / ranges), heap,
                minScore, filter);
          }
          return heap;
        };
    List<Helper> helpers = new ArrayList<>(parts - 1);
    for (int p = 1; p < parts; p++) {
      Helper h = new Helper(work);
      helpers.add(h);
      try {
        helper.execute(h::run);
      } catch (RejectedExecutionException e) {
        // the helper is shutting down: the caller claims every range itself
      }
    }
    List<TopK> heaps = new ArrayList<>(parts);
    @Nullable Throwable failure = null;
    try {
      heaps.add(work.get());
    } catch (RuntimeException | Error e) { // from the id filter
      failure = e;
      next.set(ranges); // nobody claims another range
    }
    // Every helper is cancelled or finished before the search returns, even when it fails: no
    // helper still reads the arrays once the caller has let go of the storage's read lock.
    for (Helper h : helpers) {
      try {
        TopK heap = h.cancelOrJoin();
        if (heap != null) {
          heaps.add(heap);
        }
      } catch (RuntimeException | Error e) {
        next.set(ranges);
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw unchecked(failure);
    }
    return heaps;
  }

  /**
   * {@code t} to rethrow as it is: a scan throws only what the id filter throws (unchecked) or an
   * error.
   */
  private static RuntimeException unchecked(Throwable t) {
    if (t instanceof Error err) {
      throw err;
    }
    return t instanceof RuntimeException re ? re : new IllegalStateException(t);
  }

  /**
   * Scans {@code [from, to)} into {@code heap}; {@code q} is normalised, and in the kernel's form
   * for float16.
   */
  private TopK scan(
      float[] q, int from, int to, TopK heap, float minScore, @Nullable Predicate<String> filter) {
    return encoding == VectorEncoding.FLOAT16
        ? scanHalf(q, from, to, heap, minScore, filter)
        : scanByte(q, from, to, heap, minScore, filter);
  }

  // One loop per encoding, so that each stays monomorphic and its kernel inlined even when one
  // JVM searches indexes of both encodings.

  private TopK scanHalf(
      float[] hq, int from, int to, TopK heap, float minScore, @Nullable Predicate<String> filter) {
    for (int i = from; i < to; i++) {
      float score = KERNEL.dotHalf(hq, halfs, i * dimensions, dimensions);
      if (score >= minScore && heap.wouldAccept(score, i)) {
        offer(heap, score, i, filter);
      }
    }
    return heap;
  }

  private TopK scanByte(
      float[] q, int from, int to, TopK heap, float minScore, @Nullable Predicate<String> filter) {
    for (int i = from; i < to; i++) {
      float score = KERNEL.dotByte(q, bytes, i * dimensions, dimensions) * scales[i];
      if (score >= minScore && heap.wouldAccept(score, i)) {
        offer(heap, score, i, filter);
      }
    }
    return heap;
  }

  private void offer(TopK heap, float score, int slot, @Nullable Predicate<String> filter) {
    if (filter == null || filter.test(ids[slot])) {
      heap.offer(score, slot);
    }
  }

  private void encode(int slot, float[] unit) {
    int off = slot * dimensions;
    if (encoding == VectorEncoding.FLOAT16) {
      for (int j = 0; j < dimensions; j++) {
        halfs[off + j] = Float.floatToFloat16(unit[j]);
      }
      return;
    }
    float max = 0;
    for (float x : unit) {
      max = Math.max(max, Math.abs(x));
    }
    float scale = max / 127f; // max > 0: the vector is normalised and not all zeros
    for (int j = 0; j < dimensions; j++) {
      bytes[off + j] = (byte) Math.round(unit[j] / scale);
    }
    scales[slot] = scale;
  }

  private void checkDimensions(float[] vector, String name) {
    Objects.requireNonNull(vector, name);
    if (vector.length != dimensions) {
      throw new IllegalArgumentException(
          name + ": dimension " + vector.length + " (expected: " + dimensions + ")");
    }
  }

  private void ensureCapacity(int needed) {
    if (needed <= ids.length) {
      return;
    }
    if (needed > maxVectors()) {
      throw new IllegalStateException(
          "vector index full: " + size + " vectors of dimension " + dimensions);
    }
    growTo((int) Math.min(Math.max(needed, ids.length + (ids.length >> 1)), maxVectors()));
  }

  private int maxVectors() {
    return (Integer.MAX_VALUE - 8) / dimensions;
  }

  private void growTo(int capacity) {
    if (capacity > maxVectors()) {
      throw new IllegalStateException(
          "vector index full: " + size + " vectors of dimension " + dimensions);
    }
    ids = Arrays.copyOf(ids, capacity);
    if (encoding == VectorEncoding.FLOAT16) {
      halfs = Arrays.copyOf(halfs, capacity * dimensions);
    } else {
      bytes = Arrays.copyOf(bytes, capacity * dimensions);
      scales = Arrays.copyOf(scales, capacity);
    }
    if (capacity * 2 > table.length) { // keep the table at most half full
      int tableLength = table.length;
      while (capacity * 2 > tableLength) {
        tableLength <<= 1;
      }
      table = new int[tableLength];
      for (int slot = 0; slot < size; slot++) {
        table[probe(ids[slot])] = slot + 1;
      }
    }
  }

  private int slotOf(String id) {
    int position = probe(Objects.requireNonNull(id, "id"));
    return table[position] - 1;
  }

  /** Returns the table position holding {@code id}, or the empty position where it would go. */
  private int probe(String id) {
    int mask = table.length - 1;
    int position = home(id, mask);
    while (table[position] != 0 && !ids[table[position] - 1].equals(id)) {
      position = (position + 1) & mask;
    }
    return position;
  }

  private static int home(String id, int mask) {
    int h = id.hashCode() * 0x9E3779B9;
    return (h ^ (h >>> 16)) & mask;
  }

  /** Empties {@code position}, shifting later entries of the probe run back (no tombstones). */
  private void deleteFromTable(int position) {
    int mask = table.length - 1;
    int hole = position;
    table[hole] = 0;
    int j = hole;
    while (true) {
      j = (j + 1) & mask;
      if (table[j] == 0) {
        return;
      }
      int k = home(ids[table[j] - 1], mask);
      // Move entry j into the hole unless its home lies cyclically in (hole, j].
      boolean homeBetween = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
      if (!homeBetween) {
        table[hole] = table[j];
        table[j] = 0;
        hole = j;
      }
    }
  }

  /** A helper's share of a split scan: it runs, or the caller cancels it before it starts. */
  private static final class Helper {
    private static final int WAITING = 0;
    private static final int RUNNING = 1;
    private static final int CANCELLED = 2;

    private final AtomicInteger state = new AtomicInteger(WAITING);
    private final Supplier<TopK> work;
    private final CompletableFuture<TopK> result = new CompletableFuture<>();

    Helper(Supplier<TopK> work) {
      this.work = work;
    }

    /** Runs on the helper executor; does nothing once cancelled. */
    void run() {
      if (!state.compareAndSet(WAITING, RUNNING)) {
        return;
      }
      try {
        result.complete(work.get());
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    }

    /**
     * Null if the helper had not started (it never will now); else its heap, once it is done.
     *
     * @throws RuntimeException what the helper's scan threw (the id filter's exception)
     */
    @Nullable TopK cancelOrJoin() {
      if (state.compareAndSet(WAITING, CANCELLED)) {
        return null;
      }
      try {
        return result.join();
      } catch (CompletionException e) {
        throw unchecked(Objects.requireNonNullElse(e.getCause(), e));
      }
    }
  }

  /** A bounded min-heap of (score, slot); the root is the worst kept match. */
  private static final class TopK {
    final float[] scores;
    final int[] slots;
    final String[] ids;
    int count;

    TopK(int capacity, String[] ids) {
      this.scores = new float[capacity];
      this.slots = new int[capacity];
      this.ids = ids;
    }

    /** True if (score, slot) would enter the heap: it is full only of better matches otherwise. */
    boolean wouldAccept(float score, int slot) {
      return count < scores.length || worse(scores[0], slots[0], score, slot);
    }

    void offer(float score, int slot) {
      if (count < scores.length) {
        int i = count++;
        while (i > 0) {
          int parent = (i - 1) >>> 1;
          if (!worse(score, slot, scores[parent], slots[parent])) {
            break;
          }
          scores[i] = scores[parent];
          slots[i] = slots[parent];
          i = parent;
        }
        scores[i] = score;
        slots[i] = slot;
        return;
      }
      int i = 0;
      while (true) {
        int child = 2 * i + 1;
        if (child >= count) {
          break;
        }
        if (child + 1 < count && worse(scores[child + 1], slots[child + 1], scores[child], slots[child])) {
          child++;
        }
        if (!worse(scores[child], slots[child], score, slot)) {
          break;
        }
        scores[i] = scores[child];
        slots[i] = slots[child];
        i = child;
      }
      scores[i] = score;
      slots[i] = slot;
    }

    /** True if match a ranks below match b: a lower score, or the same score and a larger id. */
    private boolean worse(float scoreA, int slotA, float scoreB, int slotB) {
      if (scoreA != scoreB) {
        return scoreA < scoreB;
      }
      return ids[slotA].compareTo(ids[slotB]) > 0;
    }
  }
}
