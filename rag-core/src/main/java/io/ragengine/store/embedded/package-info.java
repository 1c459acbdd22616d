/**
 * The embedded default storage: one SQLite database (WAL mode) in the engine's working directory
 * holds every store durably, and vectors and graph adjacency are also held in memory for search.
 * See {@link io.ragengine.store.embedded.EmbeddedStorage} and {@code docs/storage.md}.
 */
@NullMarked
package io.ragengine.store.embedded;

import org.jspecify.annotations.NullMarked;
