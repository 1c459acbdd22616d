package io.ragengine;

/**
 * How a query finds its context. The knowledge-graph modes of LightRAG ({@code LOCAL}, {@code
 * GLOBAL}, {@code HYBRID}, {@code MIX}) arrive with graph extraction.
 */
public enum QueryMode {
  /** The chunks whose vectors are nearest the question's. */
  NAIVE,
  /** No retrieval: the question goes straight to the chat model. */
  BYPASS
}
