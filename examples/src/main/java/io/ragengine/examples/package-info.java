/** Runnable programs that use only ragengine's public API. */
@NullMarked
package io.ragengine.examples;

import org.jspecify.annotations.NullMarked;
