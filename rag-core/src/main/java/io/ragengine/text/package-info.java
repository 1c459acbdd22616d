/**
 * Text handling: the {@link io.ragengine.text.Tokenizer} that counts tokens as the models do,
 * and the {@link io.ragengine.text.Chunker} that cuts documents into token-bounded chunks.
 */
@NullMarked
package io.ragengine.text;

import org.jspecify.annotations.NullMarked;
