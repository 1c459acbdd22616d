package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

final class FakeChatModelTest extends ChatModelContractTest {
  private final FakeChatModel model = new FakeChatModel();

  @Override
  protected ChatModel model() {
    return model;
  }

  @Override
  protected void givenReply(String text) {
    model.reply(text);
  }

  @Override
  protected void givenBadRequest(String providerMessage) {
    model.failNext(
        1, new ModelException("fake: HTTP 400", 400, providerMessage, false, null, null));
  }

  @Test
  void defaultReply_isDeterministic() {
    ChatRequest r = ChatRequest.of("hello");
    assertEquals(new FakeChatModel().chat(r).text(), new FakeChatModel().chat(r).text());
  }

  @Test
  void failNext_failsThatManyCallsThenAnswers() {
    model.failNext(2);
    ChatRequest r = ChatRequest.of("hello");
    assertThrows(ModelException.class, () -> model.chat(r));
    assertThrows(ModelException.class, () -> model.chat(r));
    model.chat(r);
    assertEquals(3, model.callCount());
    assertEquals(List.of(r, r, r), model.requests());
  }

  @Test
  void latency_goesThroughTheSleeper() {
    List<Duration> slept = new ArrayList<>();
    model.latency(Duration.ofMillis(250), slept::add);
    model.chat(ChatRequest.of("hello"));
    assertEquals(List.of(Duration.ofMillis(250)), slept);
  }

  @Test
  void requestOverride_namesTheModel() {
    ChatResponse r = model.chat(ChatRequest.builder().addMessage(Message.user("x")).model("m2").build());
    assertEquals("m2", r.model());
  }

  @Test
  void warmup_isCounted() {
    model.warmup();
    assertEquals(1, model.warmupCount());
    assertSame(model, model.reply("x"));
  }
}
