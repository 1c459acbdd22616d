package io.ragengine.limiter;

import java.time.Duration;

/**
 * A snapshot of a {@link CallLimiter}'s state and counters, from {@link CallLimiter#stats()}.
 * Immutable. Counters count since the limiter was created; gauges ({@code queued}, {@code
 * running}, {@code delayed}, {@code workers}) hold at the moment of the snapshot. Gauges and
 * counters are read one after the other, not atomically together, so their sums may differ by the
 * calls that moved in between.
 *
 * @param name the limiter's name
 * @param maxAsync the current bound on calls in flight
 * @param workers worker threads alive now ({@code maxAsync} once started; 0 before)
 * @param queued calls waiting for a worker
 * @param running calls running now
 * @param delayed calls waiting out a back-off after {@link RetryLaterException}
 * @param submitted calls accepted or rejected by {@code submit}
 * @param completed calls that returned a value
 * @param failed calls that threw (other than a timeout), including those failed by close
 * @param timedOut calls failed with {@link CallTimeoutException}, waiting or running
 * @param rejected calls failed with {@link LimiterFullException}
 * @param cancelled calls whose futures were cancelled before they finished
 * @param retried times a call gave its worker back with {@link RetryLaterException}
 * @param waitTime how long calls waited for a worker, per start (a retry waits again)
 * @param runTime how long runs took, per run
 */
public record LimiterStats(
    String name,
    int maxAsync,
    int workers,
    int queued,
    int running,
    int delayed,
    long submitted,
    long completed,
    long failed,
    long timedOut,
    long rejected,
    long cancelled,
    long retried,
    Percentiles waitTime,
    Percentiles runTime) {

  /**
   * A latency distribution. Immutable. Values are exact to two significant digits (an
   * HdrHistogram with 2 significant digits), all zero when {@code count} is zero.
   *
   * @param count how many values were recorded
   * @param p50 the median
   * @param p95 the 95th percentile
   * @param p99 the 99th percentile
   * @param max the largest value recorded
   */
  public record Percentiles(long count, Duration p50, Duration p95, Duration p99, Duration max) {
    /** The distribution with no values. */
    public static final Percentiles EMPTY =
        new Percentiles(0, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
  }
}
