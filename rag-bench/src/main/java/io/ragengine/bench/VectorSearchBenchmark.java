package io.ragengine.bench;

import io.ragengine.store.VectorMatch;
import io.ragengine.store.VectorStore;
import io.ragengine.store.embedded.FlatVectorIndex;
import io.ragengine.store.embedded.VectorEncoding;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Exact top-10 search latency of {@link FlatVectorIndex}: {@code size} random 384-d vectors, one
 * query per call, on one core ({@code parallelism=1}) or split over two ({@code parallelism=2}).
 * Sample-time mode, so JMH reports p50 and the other percentiles.
 *
 * <p>Run (the 1M case needs about 1 GB of heap, set below):
 *
 * <pre>
 * java -jar rag-bench/target/benchmarks.jar VectorSearchBenchmark -p size=100000
 * java -jar rag-bench/target/benchmarks.jar VectorSearchBenchmark -p size=1000000 -p parallelism=2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g"})
public class VectorSearchBenchmark {
  static final int DIMENSIONS = 384;

  @Param({"100000", "1000000"})
  int size;

  @Param({"FLOAT16", "INT8"})
  VectorEncoding encoding = VectorEncoding.FLOAT16;

  @Param({"1", "2"})
  int parallelism;

  // Placeholders until setUp(): JMH fills the fields, and NullAway does not know @Setup.
  private final ExecutorService helper = Executors.newSingleThreadExecutor();
  private FlatVectorIndex index = FlatVectorIndex.create(1, VectorEncoding.FLOAT16);
  private float[][] queries = new float[0][];
  private int next;

  @Setup(Level.Trial)
  public void setUp() {
    index = FlatVectorIndex.create(DIMENSIONS, encoding, parallelism, helper);
    SplittableRandom random = new SplittableRandom(1);
    for (int i = 0; i < size; i++) {
      index.upsert("chunk-" + i, randomVector(random));
    }
    queries = new float[64][];
    for (int i = 0; i < queries.length; i++) {
      queries[i] = randomVector(random);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    helper.shutdownNow();
  }

  @Benchmark
  public List<VectorMatch> top10() {
    float[] query = queries[next++ & (queries.length - 1)];
    return index.search(query, 10, VectorStore.NO_MIN_SCORE, null);
  }

  static float[] randomVector(SplittableRandom random) {
    float[] v = new float[DIMENSIONS];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (random.nextDouble() * 2 - 1);
    }
    return v;
  }
}
