/**
 * Chat, streaming chat and embedding models for any OpenAI-compatible endpoint (OpenAI, Azure-style
 * gateways, vLLM, Ollama, LM Studio), all built on one shared {@link
 * io.ragengine.openai.OpenAiClient}: {@link io.ragengine.openai.OpenAiChatModel} and {@link
 * io.ragengine.openai.OpenAiEmbeddingModel}. See {@code docs/models.md}.
 */
@NullMarked
package io.ragengine.openai;

import org.jspecify.annotations.NullMarked;
