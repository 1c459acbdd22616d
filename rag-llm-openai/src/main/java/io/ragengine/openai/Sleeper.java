package io.ragengine.openai;

import java.time.Duration;

/** Waits out a retry back-off. A test seam: tests record the wait instead of spending it. */
@FunctionalInterface
interface Sleeper {
  /** Sleeps on the current thread. */
  Sleeper SYSTEM = Thread::sleep;

  void sleep(Duration duration) throws InterruptedException;
}
