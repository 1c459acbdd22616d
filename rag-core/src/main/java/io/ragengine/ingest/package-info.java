/** Watching the ingest pipeline: {@link io.ragengine.ingest.ProgressListener}. */
@NullMarked
package io.ragengine.ingest;

import org.jspecify.annotations.NullMarked;
