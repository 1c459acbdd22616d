/**
 * The storage SPI: four stores ({@link io.ragengine.store.KvStore}, {@link
 * io.ragengine.store.VectorStore}, {@link io.ragengine.store.GraphStore}, {@link
 * io.ragengine.store.DocStatusStore}) reached through one {@link io.ragengine.store.Storage}, and
 * a {@link io.ragengine.store.UnitOfWork} that makes writes to all four visible atomically.
 *
 * <p>The embedded default (SQLite plus in-memory search) is in {@code
 * io.ragengine.store.embedded}. Other implementations plug in by implementing {@code Storage} and
 * passing the abstract contract tests in rag-core's test-jar.
 */
@NullMarked
package io.ragengine.store;

import org.jspecify.annotations.NullMarked;
