package io.ragengine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ragengine.model.ChatRequest;
import io.ragengine.openai.OpenAiChatModel;
import io.ragengine.openai.OpenAiClient;
import io.ragengine.openai.OpenAiEmbeddingModel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fake provider every engine benchmark runs against: what it answers must hold. */
final class FakeOpenAiServerTest {
  @Test
  void realClients_getDistinctVectorsAndTheChatAnswer_overKeptAliveConnections() throws Exception {
    try (FakeOpenAiServer server =
            FakeOpenAiServer.start(Duration.ZERO, Duration.ZERO, 8, Duration.ZERO, 4);
        OpenAiClient client =
            OpenAiClient.builder().baseUrl(server.baseUrl()).apiKey("sk-test").build()) {
      var embeddings =
          OpenAiEmbeddingModel.builder().client(client).model("m").dimensions(8).build();
      List<float[]> first = embeddings.embed(List.of("a", "b", "c"));
      List<float[]> second = embeddings.embed(List.of("a"));
      var chat = OpenAiChatModel.builder().client(client).model("gpt").build();

      assertEquals(3, first.size());
      assertEquals(8, first.get(0).length);
      assertNotEquals(Arrays.toString(first.get(0)), Arrays.toString(second.get(0)));
      assertNotEquals(Arrays.toString(first.get(1)), Arrays.toString(first.get(2)));
      assertEquals("The sources say so [1].", chat.chat(ChatRequest.of("hi")).text());
      assertEquals(2, server.requests());
      assertEquals(4, server.inputs());
      assertEquals(1, server.chats());
    }
  }

  @Test
  void chunkedRequestBody_isReadWhole_andUnknownPathsGet404() throws Exception {
    try (FakeOpenAiServer server = FakeOpenAiServer.start(Duration.ZERO, Duration.ZERO, 4);
        Socket socket =
            new Socket(InetAddress.getLoopbackAddress(), URI.create(server.baseUrl()).getPort())) {
      OutputStream out = socket.getOutputStream();
      String body = "{\"input\":[\"x\",\"y\"]}";
      out.write(
          ("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + Integer.toHexString(5) + "\r\n" + body.substring(0, 5) + "\r\n"
                  + Integer.toHexString(body.length() - 5) + ";ext=1\r\n" + body.substring(5)
                  + "\r\n0\r\n\r\n"
                  + "GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in =
          new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("HTTP/1.1 200 OK", in.readLine());
      int length = 0;
      for (String h = in.readLine(); !h.isEmpty(); h = in.readLine()) {
        if (h.startsWith("Content-Length: ")) {
          length = Integer.parseInt(h.substring(16));
        }
      }
      char[] json = new char[length];
      assertEquals(length, in.read(json, 0, length));
      assertTrue(new String(json).contains("\"index\":1"), new String(json));
      assertEquals("HTTP/1.1 404 Not Found", in.readLine());
      assertEquals(2, server.inputs());
    }
  }
}
