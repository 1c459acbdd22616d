package io.ragengine.limiter;

import io.ragengine.internal.Checks;
import java.time.Duration;

/**
 * Settings for a {@link CallLimiter}. Immutable; create with {@link #builder()}, derive a variant
 * with {@link #toBuilder()}.
 *
 * <p>Durations of zero mean "no limit" where the option says so ({@code callTimeout}, {@code
 * queueTimeout}).
 *
 * @param name the limiter's name, used in thread names, exceptions, logs and stats
 * @param maxAsync the number of workers, hence the most calls in flight at once
 * @param maxQueued the most calls that may wait for a worker; more fail at once
 * @param callTimeout how long one run of a call may take before it is interrupted; zero: no limit
 * @param queueTimeout how long a call may wait to start before it fails; zero: no limit
 * @param drainTimeout how long {@link CallLimiter#close()} lets running calls finish
 * @param eagerInit whether workers start when the limiter is created rather than on the first call
 */
public record CallLimiterConfig(
    String name,
    int maxAsync,
    int maxQueued,
    Duration callTimeout,
    Duration queueTimeout,
    Duration drainTimeout,
    boolean eagerInit) {

  /** The default name, {@value}. */
  public static final String DEFAULT_NAME = "limiter";

  /** The default number of workers, {@value}: LightRAG's {@code MAX_ASYNC} default is 4. */
  public static final int DEFAULT_MAX_ASYNC = 8;

  /** The default bound on waiting calls, {@value}. */
  public static final int DEFAULT_MAX_QUEUED = 10_000;

  /**
   * The default run timeout, 3 minutes: longer than a long completion from a slow provider, short
   * enough that a hung connection frees its slot.
   */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofMinutes(3);

  /**
   * The default queue timeout, zero: a call waits as long as it takes to reach a worker, because a
   * bulk ingest may queue thousands of calls behind a small {@code maxAsync} and none of them may
   * be lost.
   */
  public static final Duration DEFAULT_QUEUE_TIMEOUT = Duration.ZERO;

  /** The default drain timeout of {@link CallLimiter#close()}, 30 seconds. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** Whether workers start eagerly by default: {@value}, they start on the first call. */
  public static final boolean DEFAULT_EAGER_INIT = false;

  /** The largest {@code maxAsync}, {@value}: far above any provider's concurrency limit. */
  public static final int MAX_MAX_ASYNC = 4096;

  /**
   * Checks every value, so a config built without the builder is valid too.
   *
   * @throws IllegalArgumentException if a value is out of range; the message names it
   * @throws NullPointerException if a reference is null
   */
  public CallLimiterConfig {
    Checks.notBlank(name, "name");
    Checks.inRange(maxAsync, 1, MAX_MAX_ASYNC, "maxAsync");
    Checks.positiveOrZero(maxQueued, "maxQueued");
    Checks.wait(callTimeout, "callTimeout");
    Checks.wait(queueTimeout, "queueTimeout");
    Checks.wait(drainTimeout, "drainTimeout");
  }

  /** Returns a builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the defaults. */
  public static CallLimiterConfig ofDefaults() {
    return builder().build();
  }

  /** Returns a builder that starts from this config's values. */
  public Builder toBuilder() {
    return builder()
        .name(name)
        .maxAsync(maxAsync)
        .maxQueued(maxQueued)
        .callTimeout(callTimeout)
        .queueTimeout(queueTimeout)
        .drainTimeout(drainTimeout)
        .eagerInit(eagerInit);
  }

  /**
   * Builds a {@link CallLimiterConfig}. Each setter checks its value at once, so a bad value fails
   * on the line that set it. Not thread-safe; {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private String name = DEFAULT_NAME;
    private int maxAsync = DEFAULT_MAX_ASYNC;
    private int maxQueued = DEFAULT_MAX_QUEUED;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private Duration queueTimeout = DEFAULT_QUEUE_TIMEOUT;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private boolean eagerInit = DEFAULT_EAGER_INIT;

    private Builder() {}

    /**
     * The limiter's name, used in worker thread names, exceptions, logs and stats; one limiter per
     * provider budget, so name it after the budget ({@code "chat"}, {@code "embedding"}). Default
     * {@value CallLimiterConfig#DEFAULT_NAME}.
     *
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * The number of workers: calls in flight at once, across every caller of the limiter. The rest
     * wait by priority. Default {@value CallLimiterConfig#DEFAULT_MAX_ASYNC}; can be changed on a
     * running limiter with {@link CallLimiter#setMaxAsync(int)}.
     *
     * @throws IllegalArgumentException unless {@code 1 <= maxAsync <= }{@value
     *     CallLimiterConfig#MAX_MAX_ASYNC}
     */
    public Builder maxAsync(int maxAsync) {
      this.maxAsync = Checks.inRange(maxAsync, 1, MAX_MAX_ASYNC, "maxAsync");
      return this;
    }

    /**
     * The most calls that may wait for a worker. A call submitted while {@code maxQueued} calls
     * wait fails at once with {@link LimiterFullException}. Zero accepts a call only when a
     * worker is free to take it. A call that re-enters after {@link RetryLaterException} was
     * already accepted and never counts against this bound. Default {@value
     * CallLimiterConfig#DEFAULT_MAX_QUEUED}.
     *
     * @throws IllegalArgumentException if {@code maxQueued} is negative
     */
    public Builder maxQueued(int maxQueued) {
      this.maxQueued = Checks.positiveOrZero(maxQueued, "maxQueued");
      return this;
    }

    /**
     * How long one run of a call may take. When it runs longer its worker thread is interrupted
     * and its future fails with {@link CallTimeoutException}; a call that ignores the interrupt
     * keeps its worker (and its slot) until it returns. Each run after {@link RetryLaterException}
     * has its own limit. Zero means no limit. Default 3 minutes.
     *
     * @throws IllegalArgumentException if {@code callTimeout} is negative or over 365 days
     */
    public Builder callTimeout(Duration callTimeout) {
      this.callTimeout = Checks.wait(callTimeout, "callTimeout");
      return this;
    }

    /**
     * How long a call may wait before its first run starts. A call that waits longer never runs
     * and its future fails with {@link CallTimeoutException}. Zero means no limit, the default.
     *
     * @throws IllegalArgumentException if {@code queueTimeout} is negative or over 365 days
     */
    public Builder queueTimeout(Duration queueTimeout) {
      this.queueTimeout = Checks.wait(queueTimeout, "queueTimeout");
      return this;
    }

    /**
     * How long {@link CallLimiter#close()} waits for running calls to finish before it interrupts
     * them. Zero interrupts them at once. Default 30 seconds.
     *
     * @throws IllegalArgumentException if {@code drainTimeout} is negative or over 365 days
     */
    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = Checks.wait(drainTimeout, "drainTimeout");
      return this;
    }

    /**
     * Whether workers start (and the warm-up call runs) when the limiter is created, rather than
     * on the first call. Eager start takes the cold start off the first user's call. Default
     * {@value CallLimiterConfig#DEFAULT_EAGER_INIT}.
     */
    public Builder eagerInit(boolean eagerInit) {
      this.eagerInit = eagerInit;
      return this;
    }

    /** Returns a config with the values set so far. */
    public CallLimiterConfig build() {
      return new CallLimiterConfig(
          name, maxAsync, maxQueued, callTimeout, queueTimeout, drainTimeout, eagerInit);
    }
  }

  @Override
  public String toString() {
    return "CallLimiterConfig{name="
        + name
        + ", maxAsync="
        + maxAsync
        + ", maxQueued="
        + maxQueued
        + ", callTimeout="
        + callTimeout
        + ", queueTimeout="
        + queueTimeout
        + ", drainTimeout="
        + drainTimeout
        + ", eagerInit="
        + eagerInit
        + "}";
  }
}
