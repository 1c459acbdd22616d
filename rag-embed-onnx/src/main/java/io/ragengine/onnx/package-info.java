/**
 * An in-process embedding model on ONNX Runtime, so the engine works offline with no API key:
 * {@link io.ragengine.onnx.OnnxEmbeddingModel}, all-MiniLM-L6-v2 (int8) by default, with its own
 * BERT WordPiece tokenizer. See {@code docs/embeddings-onnx.md}.
 */
@NullMarked
package io.ragengine.onnx;

import org.jspecify.annotations.NullMarked;
