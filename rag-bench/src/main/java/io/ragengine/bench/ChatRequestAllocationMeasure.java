package io.ragengine.bench;

import com.sun.management.ThreadMXBean;
import io.ragengine.model.ChatRequest;
import io.ragengine.model.Message;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The bytes one {@link OpenAiChatModel} call allocates on its calling thread for a 100 KB prompt
 * (the size of a default NAIVE context), and the time it takes, against a {@link FakeOpenAiServer}
 * with zero latency. The prompt is prose with a line break every 400 characters or so, whose
 * escapes make the JSON body a little longer than the text. The server's allocation, on its own
 * threads, is not counted.
 *
 * <p>Run, after {@code ./mvnw -q -pl rag-bench -am package -DskipTests}: {@code java -cp
 * rag-bench/target/benchmarks.jar io.ragengine.bench.ChatRequestAllocationMeasure [calls]}
 * (default 2,000, after as many warm-up calls).
 */
public final class ChatRequestAllocationMeasure {
  private ChatRequestAllocationMeasure() {}

  public static void main(String[] args) throws Exception {
    int calls = args.length > 0 ? Integer.parseInt(args[0]) : 2_000;
    ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    System.out.println(EngineRig.machine());
    try (FakeOpenAiServer server =
            FakeOpenAiServer.start(Duration.ZERO, Duration.ZERO, 16, Duration.ZERO, 1);
        OpenAiClient client =
            OpenAiClient.builder().baseUrl(server.baseUrl()).apiKey("bench").build()) {
      OpenAiChatModel chat = OpenAiChatModel.builder().client(client).model("gpt-4o-mini").build();
      StringBuilder prompt = new StringBuilder();
      while (prompt.length() < 100_000) {
        prompt.append("The river and the bridge say so, in line ").append(prompt.length());
        prompt.append(prompt.length() % 400 < 45 ? '\n' : ' ');
      }
      ChatRequest request =
          ChatRequest.of(List.of(Message.system(prompt.toString()), Message.user("Why?")));
      for (int i = 0; i < calls; i++) {
        chat.chat(request);
      }
      long[] nanos = new long[calls];
      long before = threads.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < calls; i++) {
        long start = System.nanoTime();
        chat.chat(request);
        nanos[i] = System.nanoTime() - start;
      }
      long perCall = (threads.getCurrentThreadAllocatedBytes() - before) / calls;
      Arrays.sort(nanos);
      System.out.printf(
          Locale.ROOT,
          "%d chat calls, %d-character prompt: %d bytes allocated per call on the calling thread;"
              + " p50 %.3f ms, p90 %.3f ms%n",
          calls,
          prompt.length(),
          perCall,
          nanos[calls / 2] / 1e6,
          nanos[calls * 9 / 10] / 1e6);
    }
  }
}
