package io.ragengine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * One call to a {@link ChatModel}: the messages and the sampling options.
 *
 * <p>Immutable; create with {@link #builder()} or {@link #of(String)}. Options left unset are not
 * sent, so the provider's (or the model client's) defaults apply. {@link #toString()} shows the
 * options and the number of messages, never their text. Two requests with equal messages and
 * options are {@link #equals equal}, which makes a request usable as (part of) a cache key.
 */
public final class ChatRequest {
  private final List<Message> messages;
  private final @Nullable String model;
  private final @Nullable Double temperature;
  private final @Nullable Integer maxOutputTokens;
  private final List<String> stop;
  private final @Nullable Long seed;
  private final ResponseFormat responseFormat;

  private ChatRequest(Builder b) {
    if (b.messages.isEmpty()) {
      throw new IllegalArgumentException("messages: [] (expected: at least one message)");
    }
    this.messages = List.copyOf(b.messages);
    this.model = b.model;
    this.temperature = b.temperature;
    this.maxOutputTokens = b.maxOutputTokens;
    this.stop = List.copyOf(b.stop);
    this.seed = b.seed;
    this.responseFormat = b.responseFormat;
  }

  /** Returns a request of one {@link Role#USER} message with every option unset. */
  public static ChatRequest of(String userMessage) {
    return builder().addMessage(Message.user(userMessage)).build();
  }

  /** Returns a request of these messages with every option unset. */
  public static ChatRequest of(List<Message> messages) {
    return builder().messages(messages).build();
  }

  /** Returns a new builder with no messages and every option unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder holding this request's messages and options. */
  public Builder toBuilder() {
    Builder b = new Builder().messages(messages).stop(stop).responseFormat(responseFormat);
    b.model = model;
    b.temperature = temperature;
    b.maxOutputTokens = maxOutputTokens;
    b.seed = seed;
    return b;
  }

  /** The messages, in order; never empty. */
  public List<Message> messages() {
    return messages;
  }

  /** The model to use instead of the model client's default, if set. */
  public Optional<String> model() {
    return Optional.ofNullable(model);
  }

  /** The sampling temperature, in [0, 2], if set. */
  public OptionalDouble temperature() {
    return temperature == null ? OptionalDouble.empty() : OptionalDouble.of(temperature);
  }

  /** The most tokens the answer may have, if set. */
  public OptionalInt maxOutputTokens() {
    return maxOutputTokens == null ? OptionalInt.empty() : OptionalInt.of(maxOutputTokens);
  }

  /** Sequences at which the model stops writing; empty when none. */
  public List<String> stop() {
    return stop;
  }

  /** The sampling seed, for providers that support reproducible sampling, if set. */
  public OptionalLong seed() {
    return seed == null ? OptionalLong.empty() : OptionalLong.of(seed);
  }

  /** The answer's shape; {@link ResponseFormat#TEXT} unless set. */
  public ResponseFormat responseFormat() {
    return responseFormat;
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof ChatRequest r
        && messages.equals(r.messages)
        && Objects.equals(model, r.model)
        && Objects.equals(temperature, r.temperature)
        && Objects.equals(maxOutputTokens, r.maxOutputTokens)
        && stop.equals(r.stop)
        && Objects.equals(seed, r.seed)
        && responseFormat == r.responseFormat;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        messages, model, temperature, maxOutputTokens, stop, seed, responseFormat);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ChatRequest[messages=").append(messages.size());
    if (model != null) {
      sb.append(", model=").append(model);
    }
    if (temperature != null) {
      sb.append(", temperature=").append(temperature);
    }
    if (maxOutputTokens != null) {
      sb.append(", maxOutputTokens=").append(maxOutputTokens);
    }
    if (!stop.isEmpty()) {
      sb.append(", stop=<").append(stop.size()).append(" sequences>");
    }
    if (seed != null) {
      sb.append(", seed=").append(seed);
    }
    return sb.append(", responseFormat=").append(responseFormat).append(']').toString();
  }

  /**
   * Builds a {@link ChatRequest}. Each option is checked when set.
   *
   * <p>Not thread-safe. {@link #build()} may be called more than once.
   */
  public static final class Builder {
    private final List<Message> messages = new ArrayList<>();
    private @Nullable String model;
    private @Nullable Double temperature;
    private @Nullable Integer maxOutputTokens;
    private List<String> stop = List.of();
    private @Nullable Long seed;
    private ResponseFormat responseFormat = ResponseFormat.TEXT;

    private Builder() {}

    /** Appends a message. */
    public Builder addMessage(Message message) {
      messages.add(Objects.requireNonNull(message, "message"));
      return this;
    }

    /** Replaces the messages with these, in order. */
    public Builder messages(List<Message> messages) {
      Objects.requireNonNull(messages, "messages");
      List<Message> copy = List.copyOf(messages); // throws on a null element
      this.messages.clear();
      this.messages.addAll(copy);
      return this;
    }

    /** Uses this model instead of the model client's default. */
    public Builder model(String model) {
      this.model = io.ragengine.internal.Checks.notBlank(model, "model");
      return this;
    }

    /**
     * Sets the sampling temperature: 0 for the most deterministic answers, up to 2.
     *
     * @throws IllegalArgumentException if {@code temperature} is not in [0, 2]
     */
    public Builder temperature(double temperature) {
      if (!(temperature >= 0 && temperature <= 2)) {
        throw new IllegalArgumentException(
            "temperature: " + temperature + " (expected: in [0, 2])");
      }
      this.temperature = temperature;
      return this;
    }

    /**
     * Sets the most tokens the answer may have.
     *
     * @throws IllegalArgumentException if {@code maxOutputTokens <= 0}
     */
    public Builder maxOutputTokens(int maxOutputTokens) {
      this.maxOutputTokens = io.ragengine.internal.Checks.positive(maxOutputTokens, "maxOutputTokens");
      return this;
    }

    /**
     * Sets the sequences at which the model stops writing (OpenAI accepts at most 4).
     *
     * @throws IllegalArgumentException if a sequence is empty
     */
    public Builder stop(List<String> stop) {
      List<String> copy = List.copyOf(Objects.requireNonNull(stop, "stop"));
      for (String s : copy) {
        if (s.isEmpty()) {
          throw new IllegalArgumentException("stop: \"\" (expected: non-empty sequences)");
        }
      }
      this.stop = copy;
      return this;
    }

    /** Sets the sampling seed, for providers that support reproducible sampling. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Sets the answer's shape. Default {@link ResponseFormat#TEXT}. */
    public Builder responseFormat(ResponseFormat responseFormat) {
      this.responseFormat = Objects.requireNonNull(responseFormat, "responseFormat");
      return this;
    }

    /**
     * Returns the request.
     *
     * @throws IllegalArgumentException if no message was added
     */
    public ChatRequest build() {
      return new ChatRequest(this);
    }
  }
}
