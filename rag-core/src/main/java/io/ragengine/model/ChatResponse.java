package io.ragengine.model;

import java.util.Objects;

/**
 * The complete answer of a {@link ChatModel}.
 *
 * <p>Immutable. {@link #toString()} shows the length of the text, not the text.
 *
 * @param text the answer; empty, never null, when the model wrote nothing
 * @param finishReason why the model stopped
 * @param usage tokens consumed, or {@link TokenUsage#UNKNOWN} when the provider reported none
 * @param model the model that answered, as the provider named it (it may differ from the one
 *     requested, e.g. a dated snapshot)
 */
public record ChatResponse(String text, FinishReason finishReason, TokenUsage usage, String model) {

  /**
   * @throws NullPointerException if any argument is null
   */
  public ChatResponse {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(finishReason, "finishReason");
    Objects.requireNonNull(usage, "usage");
    Objects.requireNonNull(model, "model");
  }

  @Override
  public String toString() {
    return "ChatResponse[text=<"
        + text.length()
        + " chars>, finishReason="
        + finishReason
        + ", usage="
        + usage
        + ", model="
        + model
        + "]";
  }
}
