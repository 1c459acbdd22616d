/** An in-process embedding model on ONNX Runtime. Arrives with offline embeddings. */
@NullMarked
package io.ragengine.onnx;

import org.jspecify.annotations.NullMarked;
