/** JMH benchmarks for ragengine; see docs/benchmarks.md for how to run them and the figures measured. */
@NullMarked
package io.ragengine.bench;

import org.jspecify.annotations.NullMarked;
