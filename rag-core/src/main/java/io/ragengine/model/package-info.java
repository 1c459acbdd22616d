/**
 * The model SPI: {@link io.ragengine.model.ChatModel} and {@link io.ragengine.model.EmbeddingModel},
 * their requests and responses, and {@link io.ragengine.model.ModelException}.
 *
 * <p>Implementations are thread-safe and blocking by design: callers run them on virtual threads,
 * usually through a {@link io.ragengine.limiter.CallLimiter}. Nothing here names an HTTP or JSON
 * library; the OpenAI-compatible implementation lives in the {@code rag-llm-openai} module.
 */
@NullMarked
package io.ragengine.model;

import org.jspecify.annotations.NullMarked;
