package io.ragengine.bench;

import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The call limiter's cost per call, against a direct call of the same no-op callable.
 *
 * <ul>
 *   <li>{@code direct}: the baseline, the callable called on the benchmark thread.
 *   <li>{@code submitAllThenJoin}: {@value #CALLS} no-op calls submitted at once with equal
 *       priority, then all joined; the score is calls per second. This is how LightRAG's limiter
 *       was measured (about 30,000 calls/s on the same machine).
 *   <li>{@code submitAllMixedPriorities}: the same with 8 priority levels interleaved.
 *   <li>{@code oneCallRoundTrip}: one call submitted and joined at a time: the hand-off latency
 *       from the caller to a worker and back.
 * </ul>
 *
 * <p>Run: {@code java -jar rag-bench/target/benchmarks.jar CallLimiterBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CallLimiterBenchmark {
  static final int CALLS = 100_000;

  @Param({"1", "16", "256"})
  public int maxAsync;

  private CallLimiter limiter;
  private final Callable<Integer> noop = () -> 1;
  @SuppressWarnings("unchecked")
  private final CompletableFuture<Integer>[] futures = new CompletableFuture[CALLS];

  @Setup(Level.Trial)
  public void setUp() {
    limiter =
        CallLimiter.create(
            CallLimiterConfig.builder()
                .name("bench")
                .maxAsync(maxAsync)
                .maxQueued(CALLS)
                .eagerInit(true)
                .build());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    limiter.close();
  }

  @Benchmark
  public int direct() throws Exception {
    return noop.call();
  }

  @Benchmark
  @OperationsPerInvocation(CALLS)
  public int submitAllThenJoin() {
    for (int i = 0; i < CALLS; i++) {
      futures[i] = limiter.submit(0, noop);
    }
    int sum = 0;
    for (int i = 0; i < CALLS; i++) {
      sum += futures[i].join();
    }
    return sum;
  }

  @Benchmark
  @OperationsPerInvocation(CALLS)
  public int submitAllMixedPriorities() {
    for (int i = 0; i < CALLS; i++) {
      futures[i] = limiter.submit(i & 7, noop);
    }
    int sum = 0;
    for (int i = 0; i < CALLS; i++) {
      sum += futures[i].join();
    }
    return sum;
  }

  @Benchmark
  public int oneCallRoundTrip() {
    return limiter.submit(0, noop).join();
  }
}
