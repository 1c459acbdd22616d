package io.ragengine.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX Runtime session of a BERT-style encoder: token ids in, one pooled, L2-normalised vector
 * out.
 *
 * <p>Thread-safe: ONNX Runtime allows concurrent {@code run} calls on one session. {@link #close()}
 * must not overlap a run; {@link OnnxEmbeddingModel} waits for its pool to drain first.
 */
final class OrtRunner implements OnnxEmbeddingModel.Runner {
  static final String INPUT_IDS = "input_ids";
  static final String ATTENTION_MASK = "attention_mask";
  static final String TOKEN_TYPE_IDS = "token_type_ids";

  private final OrtEnvironment env;
  private final OrtSession session;
  private final String output;
  private final boolean takesTokenTypes;
  private final int dimension;

  OrtRunner(OrtEnvironment env, OrtSession session, String source) throws OrtException {
    this.env = env;
    this.session = session;
    Set<String> inputs = session.getInputNames();
    for (String name : inputs) {
      if (!name.equals(INPUT_IDS) && !name.equals(ATTENTION_MASK) && !name.equals(TOKEN_TYPE_IDS)) {
        throw new IllegalArgumentException(
            source
                + ": unsupported model input "
                + name
                + " (expected: input_ids, attention_mask, token_type_ids)");
      }
    }
    if (!inputs.contains(INPUT_IDS) || !inputs.contains(ATTENTION_MASK)) {
      throw new IllegalArgumentException(
          source + ": model inputs " + inputs + " (expected: input_ids and attention_mask)");
    }
    this.takesTokenTypes = inputs.contains(TOKEN_TYPE_IDS);
    Map<String, NodeInfo> outputs = session.getOutputInfo();
    // Sentence-transformers exports call the token states "last_hidden_state"; otherwise the
    // first output, token states (rank 3) or an already pooled vector (rank 2).
    this.output =
        outputs.containsKey("last_hidden_state")
            ? "last_hidden_state"
            : outputs.keySet().iterator().next();
    NodeInfo info = outputs.get(output);
    long[] shape =
        info != null && info.getInfo() instanceof TensorInfo t ? t.getShape() : new long[0];
    if (shape.length != 2 && shape.length != 3) {
      throw new IllegalArgumentException(
          source
              + ": model output "
              + output
              + " has rank "
              + shape.length
              + " (expected: 2 or 3)");
    }
    long last = shape[shape.length - 1];
    this.dimension = last > 0 ? (int) last : run(new long[] {0, 0}).length;
  }

  @Override
  public int dimension() {
    return dimension;
  }

  @Override
  public float[] run(long[] ids) throws OrtException {
    long[] mask = new long[ids.length];
    Arrays.fill(mask, 1L);
    Map<String, OnnxTensor> inputs = new HashMap<>();
    try {
      inputs.put(INPUT_IDS, OnnxTensor.createTensor(env, new long[][] {ids}));
      inputs.put(ATTENTION_MASK, OnnxTensor.createTensor(env, new long[][] {mask}));
      if (takesTokenTypes) {
        inputs.put(
            TOKEN_TYPE_IDS, OnnxTensor.createTensor(env, new long[][] {new long[ids.length]}));
      }
      try (OrtSession.Result result = session.run(inputs)) {
        OnnxValue value =
            result
                .get(output)
                .orElseThrow(() -> new OrtException("model returned no output " + output));
        Object v = value.getValue();
        float[] vector;
        if (v instanceof float[][][] tokens) {
          vector = Pooling.meanPool(tokens[0], mask);
        } else if (v instanceof float[][] pooled) {
          vector = pooled[0].clone();
        } else {
          throw new OrtException("model output " + output + " is not a float tensor");
        }
        return Pooling.normalize(vector);
      }
    } finally {
      inputs.values().forEach(OnnxTensor::close);
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
