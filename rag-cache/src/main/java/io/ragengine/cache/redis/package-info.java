/** The L2 Redis cache and the tiered L1+L2 cache. Arrives with the caching work. */
@NullMarked
package io.ragengine.cache.redis;

import org.jspecify.annotations.NullMarked;
