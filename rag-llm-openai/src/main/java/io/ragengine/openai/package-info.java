/** OpenAI-compatible chat, streaming chat and embedding clients. Arrives with the model SPI. */
@NullMarked
package io.ragengine.openai;

import org.jspecify.annotations.NullMarked;
