package io.ragengine.model;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A deterministic {@link EmbeddingModel} for tests: a hashed bag of words, so equal texts get equal
 * vectors and texts sharing words are closer than unrelated ones. Records every call, fails the
 * next calls on demand, and can take a set latency through an injectable sleeper.
 *
 * <p>Vectors have unit length. A text without a word gets the first basis vector.
 *
 * <p>Thread-safe.
 */
public final class FakeEmbeddingModel implements EmbeddingModel {
  /** The dimension unless set. */
  public static final int DEFAULT_DIMENSION = 16;

  private final int dimension;
  private final ReentrantLock lock = new ReentrantLock();
  private final List<List<String>> calls = new ArrayList<>();
  private final Deque<RuntimeException> failures = new ArrayDeque<>();
  private volatile Duration latency = Duration.ZERO;
  private volatile Duration latencyPerInput = Duration.ZERO;
  private volatile Consumer<Duration> sleeper = FakeChatModel::sleepUninterruptibly;
  private final java.util.concurrent.atomic.AtomicInteger warmups =
      new java.util.concurrent.atomic.AtomicInteger();
  private volatile int warmupConnections;

  /** A model of {@value #DEFAULT_DIMENSION} dimensions. */
  public FakeEmbeddingModel() {
    this(DEFAULT_DIMENSION);
  }

  /**
   * @throws IllegalArgumentException if {@code dimension < 1}
   */
  public FakeEmbeddingModel(int dimension) {
    if (dimension < 1) {
      throw new IllegalArgumentException("dimension: " + dimension + " (expected: > 0)");
    }
    this.dimension = dimension;
  }

  /** Returns the vector this model gives {@code text}, without recording a call. */
  public float[] vectorOf(String text) {
    float[] v = new float[dimension];
    String[] words = text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+");
    boolean any = false;
    for (String w : words) {
      if (w.isEmpty()) {
        continue;
      }
      any = true;
      int h = mix(w.hashCode());
      v[Math.floorMod(h, dimension)] += (h & 0x8000_0000) == 0 ? 1f : -1f;
    }
    if (!any) {
      v[0] = 1f;
      return v;
    }
    double norm = 0;
    for (float f : v) {
      norm += f * f;
    }
    if (norm == 0) { // words cancelled out
      v[0] = 1f;
      return v;
    }
    float inv = (float) (1 / Math.sqrt(norm));
    for (int i = 0; i < v.length; i++) {
      v[i] *= inv;
    }
    return v;
  }

  private static int mix(int h) {
    h ^= h >>> 16;
    h *= 0x85eb_ca6b;
    h ^= h >>> 13;
    h *= 0xc2b2_ae35;
    return h ^ (h >>> 16);
  }

  /**
   * Makes each call wait {@code perCall + perInput * inputs} through {@code sleeper} before
   * answering.
   */
  public FakeEmbeddingModel latency(Duration perCall, Duration perInput, Consumer<Duration> sleeper) {
    this.latency = Objects.requireNonNull(perCall, "perCall");
    this.latencyPerInput = Objects.requireNonNull(perInput, "perInput");
    this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    return this;
  }

  /** Fails the next {@code n} calls with a retryable HTTP 503 {@link ModelException}. */
  public FakeEmbeddingModel failNext(int n) {
    return failNext(
        n, new ModelException("fake embedding model: HTTP 503", 503, "overloaded", true, null, null));
  }

  /** Fails the next {@code n} calls with {@code failure} (the same instance each time). */
  public FakeEmbeddingModel failNext(int n, RuntimeException failure) {
    lock.lock();
    try {
      for (int i = 0; i < n; i++) {
        failures.add(failure);
      }
    } finally {
      lock.unlock();
    }
    return this;
  }

  /** Returns a copy of the inputs of every call received, in order, failed ones included. */
  public List<List<String>> calls() {
    lock.lock();
    try {
      return List.copyOf(calls);
    } finally {
      lock.unlock();
    }
  }

  /** The number of calls received (empty lists are not calls), failed ones included. */
  public int callCount() {
    lock.lock();
    try {
      return calls.size();
    } finally {
      lock.unlock();
    }
  }

  /** The number of times {@link #warmup()} was called, directly or through {@link #warmup(int)}. */
  public int warmupCount() {
    return warmups.get();
  }

  /** The connections the last {@link #warmup(int)} asked for; 0 if none did. */
  public int warmupConnections() {
    return warmupConnections;
  }

  @Override
  public List<float[]> embed(List<String> texts) {
    List<String> inputs = List.copyOf(texts); // throws on null
    if (inputs.isEmpty()) {
      return List.of();
    }
    @Nullable RuntimeException failure;
    lock.lock();
    try {
      calls.add(inputs);
      failure = failures.poll();
    } finally {
      lock.unlock();
    }
    Duration wait = latency.plus(latencyPerInput.multipliedBy(inputs.size()));
    if (!wait.isZero()) {
      sleeper.accept(wait);
    }
    if (failure != null) {
      throw failure;
    }
    List<float[]> out = new ArrayList<>(inputs.size());
    for (String t : inputs) {
      out.add(vectorOf(t));
    }
    return out;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public int maxInputTokens() {
    return 8191;
  }

  @Override
  public int maxBatchSize() {
    return 2048;
  }

  @Override
  public String modelName() {
    return "fake-embedding-" + dimension;
  }

  @Override
  public void warmup() {
    warmups.incrementAndGet();
  }

  @Override
  public void warmup(int connections) {
    warmupConnections = connections;
    warmup();
  }

  @Override
  public String toString() {
    return "FakeEmbeddingModel[dimension=" + dimension + "]";
  }
}
