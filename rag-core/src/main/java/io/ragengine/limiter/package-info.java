/**
 * The call limiter: the one place that bounds how many calls reach a model provider at once, with
 * a priority queue so that a user's query never waits behind a bulk ingest.
 *
 * @see io.ragengine.limiter.CallLimiter
 */
@NullMarked
package io.ragengine.limiter;

import org.jspecify.annotations.NullMarked;
