package io.ragengine.bench;

import io.ragengine.limiter.CallLimiter;
import io.ragengine.limiter.CallLimiterConfig;
import io.ragengine.limiter.Priority;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.Message;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * What one model call costs above the provider's latency on this machine, before the engine adds
 * anything: the floor under {@link RagQueryMeasure}'s concurrency-1 latency. One call at a time,
 * for a server latency of 0 (back to back), 10 ms (the query's embedding) and 50 ms (its answer):
 *
 * <ul>
 *   <li>a raw loopback socket whose server thread parks for the latency and answers 8 bytes;
 *   <li>a bare {@link OkHttpClient} posting a one-input embedding request to {@link
 *       FakeOpenAiServer};
 *   <li>our {@link OpenAiEmbeddingModel} (one 1536-d vector) and {@link OpenAiChatModel} (a
 *       100 KB prompt, the size of a default NAIVE context) through one {@link OpenAiClient},
 *       called from the main (platform) thread, then from a virtual thread, as the engine's
 *       limiter workers call them.
 * </ul>
 *
 * <p>First 3,000 of each call go back to back to a zero-latency server, to warm the JIT: 100
 * warm-up calls per case alone left OkHttp's path half compiled (a zero-latency embedding call
 * took 0.78 ms after them, 0.23 ms after 3,000).
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.HttpFloorMeasure [calls]} (default 200 per
 * case, after the JIT warm-up and 100 warm-up calls).
 */
public final class HttpFloorMeasure {
  /** Calls of each kind, back to back at zero latency, before anything is measured. */
  private static final int JIT_WARMUP_CALLS = 3_000;

  private HttpFloorMeasure() {}

  public static void main(String[] args) throws Exception {
    int calls = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    System.out.println(EngineRig.machine());
    rawSocket(0, JIT_WARMUP_CALLS, false);
    try (FakeOpenAiServer server =
        FakeOpenAiServer.start(Duration.ZERO, Duration.ZERO, 1536, Duration.ZERO, 8)) {
      bareOkHttp(server, 0, JIT_WARMUP_CALLS, false);
      ourClients(server, 0, JIT_WARMUP_CALLS, false);
    }
    limiterRoundTrip(0, JIT_WARMUP_CALLS * 10, false);
    for (int ms : new int[] {0, 10, 50}) {
      rawSocket(ms, calls, true);
      limiterRoundTrip(ms, calls, true);
      try (FakeOpenAiServer server =
          FakeOpenAiServer.start(
              Duration.ofMillis(ms), Duration.ZERO, 1536, Duration.ofMillis(ms), 8)) {
        bareOkHttp(server, ms, calls, true);
        ourClients(server, ms, calls, true);
      }
    }
  }

  private static void rawSocket(int ms, int calls, boolean print) throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
      Thread server =
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    try (Socket s = listener.accept()) {
                      s.setTcpNoDelay(true);
                      DataInputStream in = new DataInputStream(s.getInputStream());
                      DataOutputStream out = new DataOutputStream(s.getOutputStream());
                      while (true) {
                        long nanos = in.readLong();
                        LockSupport.parkNanos(nanos);
                        out.writeLong(nanos);
                        out.flush();
                      }
                    } catch (Exception e) {
                      // the client closed
                    }
                  });
      try (Socket c = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        c.setTcpNoDelay(true);
        DataOutputStream out = new DataOutputStream(c.getOutputStream());
        DataInputStream in = new DataInputStream(c.getInputStream());
        report(print, "raw socket", ms, time(calls, () -> {
          out.writeLong(ms * 1_000_000L);
          out.flush();
          in.readLong();
        }));
      }
      server.join(1_000);
    }
  }

  private static void bareOkHttp(FakeOpenAiServer server, int ms, int calls, boolean print)
      throws Exception {
    OkHttpClient http = new OkHttpClient();
    RequestBody body =
        RequestBody.create("{\"input\":[\"what is it\"]}", MediaType.get("application/json"));
    Request request = new Request.Builder().url(server.baseUrl() + "/embeddings").post(body).build();
    report(print, "bare OkHttp, 1 embedding", ms, time(calls, () -> {
      try (Response response = http.newCall(request).execute()) {
        response.body().bytes();
      }
    }));
    http.connectionPool().evictAll();
    http.dispatcher().executorService().shutdown();
  }

  private static void ourClients(FakeOpenAiServer server, int ms, int calls, boolean print)
      throws Exception {
    try (OpenAiClient client =
        OpenAiClient.builder().baseUrl(server.baseUrl()).apiKey("sk-bench").build()) {
      var embeddings =
          OpenAiEmbeddingModel.builder().client(client).model("m").dimensions(1536).build();
      var chat = OpenAiChatModel.builder().client(client).model("gpt-4o-mini").build();
      ChatRequest prompt =
          ChatRequest.of(List.of(Message.system("word ".repeat(20_000)), Message.user("why?")));
      report(print, "OpenAiEmbeddingModel, 1 x 1536-d", ms,
          time(calls, () -> embeddings.embed(List.of("what is it"))));
      report(print, "OpenAiChatModel, 100 KB prompt", ms, time(calls, () -> chat.chat(prompt)));
      // The engine's limiter workers are virtual threads: their blocking reads wait through the
      // JDK's poller and wake through a carrier thread, one hand-off more than a platform thread.
      report(print, "  the same on a virtual thread", ms,
          onVirtualThread(() -> time(calls, () -> embeddings.embed(List.of("what is it")))));
      report(print, "  the same on a virtual thread", ms,
          onVirtualThread(() -> time(calls, () -> chat.chat(prompt))));
    }
  }

  /**
   * A no-op call through a {@link CallLimiter} from a virtual thread, after {@code ms} idle: the
   * two hand-offs (to a worker, and back to the caller) that every model call of a query makes.
   */
  private static void limiterRoundTrip(int ms, int calls, boolean print) throws Exception {
    try (CallLimiter limiter =
        CallLimiter.create(CallLimiterConfig.builder().name("floor").maxAsync(8).build())) {
      long[] nanos =
          onVirtualThread(
              () -> {
                Callable<Object> noop = () -> Boolean.TRUE;
                for (int i = 0; i < 100; i++) {
                  limiter.call(Priority.QUERY, noop);
                }
                long[] t = new long[calls];
                for (int i = 0; i < calls; i++) {
                  LockSupport.parkNanos(ms * 1_000_000L);
                  long t0 = System.nanoTime();
                  limiter.call(Priority.QUERY, noop);
                  t[i] = System.nanoTime() - t0;
                }
                return t;
              });
      if (print) {
        Arrays.sort(nanos);
        System.out.printf(
            Locale.ROOT,
            "%-34s   idle %2d ms: p50 %.3f ms, p90 %.3f ms%n",
            "CallLimiter no-op call",
            ms,
            EngineRig.percentileMs(nanos, 0.5),
            EngineRig.percentileMs(nanos, 0.9));
      }
    }
  }

  private static long[] onVirtualThread(Callable<long[]> timed) throws Exception {
    try (ExecutorService thread = Executors.newVirtualThreadPerTaskExecutor()) {
      return thread.submit(timed).get();
    }
  }

  private interface Call {
    void run() throws Exception;
  }

  private static long[] time(int calls, Call call) throws Exception {
    for (int i = 0; i < 100; i++) {
      call.run();
    }
    long[] nanos = new long[calls];
    for (int i = 0; i < calls; i++) {
      long t0 = System.nanoTime();
      call.run();
      nanos[i] = System.nanoTime() - t0;
    }
    return nanos;
  }

  private static void report(boolean print, String what, int ms, long[] nanos) {
    if (!print) {
      return;
    }
    Arrays.sort(nanos);
    System.out.printf(
        Locale.ROOT,
        "%-34s latency %2d ms: p50 %.2f ms (+%.2f), p90 %.2f ms%n",
        what,
        ms,
        EngineRig.percentileMs(nanos, 0.5),
        EngineRig.percentileMs(nanos, 0.5) - ms,
        EngineRig.percentileMs(nanos, 0.9));
  }
}
