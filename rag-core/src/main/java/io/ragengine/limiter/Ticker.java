package io.ragengine.limiter;

/**
 * A source of monotonic nanosecond time, the limiter's test seam for time (as Caffeine's {@code
 * Ticker}). Production uses {@link System#nanoTime()}; tests pass a fake they advance by hand.
 */
@FunctionalInterface
interface Ticker {
  /** Nanoseconds from an arbitrary origin; only differences mean anything. */
  long read();

  static Ticker system() {
    return System::nanoTime;
  }
}
