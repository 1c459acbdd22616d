/** Helpers shared by ragengine's modules. Not public API: anything here may change at any time. */
@NullMarked
package io.ragengine.internal;

import org.jspecify.annotations.NullMarked;
