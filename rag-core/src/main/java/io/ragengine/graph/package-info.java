/**
 * The knowledge graph: entities, the relations between them, and (later) their extraction from
 * chunks and merging. For now it holds the value types that {@link io.ragengine.store.GraphStore}
 * stores.
 */
@NullMarked
package io.ragengine.graph;

import org.jspecify.annotations.NullMarked;
