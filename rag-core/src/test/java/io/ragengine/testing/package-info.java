/** Test fixtures shared by every module through rag-core's test-jar. */
@NullMarked
package io.ragengine.testing;

import org.jspecify.annotations.NullMarked;
