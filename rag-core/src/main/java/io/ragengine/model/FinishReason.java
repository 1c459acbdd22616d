package io.ragengine.model;

/** Why the model stopped writing a {@link ChatResponse}. */
public enum FinishReason {
  /** The model finished its answer, or met one of the request's stop sequences. */
  STOP,
  /** The answer was cut at the request's (or the model's) maximum number of output tokens. */
  LENGTH,
  /** The provider withheld or cut the answer for its content policy. */
  CONTENT_FILTER,
  /** The model asked to call a tool; ragengine's requests do not offer tools. */
  TOOL_CALLS,
  /** The provider gave no reason, or one this version does not know. */
  UNKNOWN
}
