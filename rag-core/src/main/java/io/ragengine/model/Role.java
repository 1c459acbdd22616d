package io.ragengine.model;

/** Who speaks a {@link Message}. */
public enum Role {
  /** Instructions that frame the conversation. */
  SYSTEM,
  /** The user's turn: the question, or the text to work on. */
  USER,
  /** A previous answer of the model, for few-shot examples and multi-turn exchanges. */
  ASSISTANT
}
