/**
 * ragengine's public entry points: the engine, its configuration, documents, queries and results,
 * and {@link io.ragengine.RagException}, the base of its exceptions.
 */
@NullMarked
package io.ragengine;

import org.jspecify.annotations.NullMarked;
