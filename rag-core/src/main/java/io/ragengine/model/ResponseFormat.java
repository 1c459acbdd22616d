package io.ragengine.model;

/** The shape a {@link ChatRequest} asks the model to answer in. */
public enum ResponseFormat {
  /** Free text; the default. */
  TEXT,
  /**
   * A single JSON object. Providers that support it (OpenAI's {@code response_format:
   * json_object}) guarantee syntactically valid JSON; the prompt must still ask for JSON.
   */
  JSON_OBJECT
}
