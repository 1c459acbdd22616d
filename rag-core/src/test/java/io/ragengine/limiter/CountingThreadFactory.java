package io.ragengine.limiter;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;

/** Makes virtual threads (or platform threads) and remembers each one. Thread-safe. */
final class CountingThreadFactory implements ThreadFactory {
  private final ThreadFactory delegate;
  final List<Thread> created = new CopyOnWriteArrayList<>();

  private CountingThreadFactory(ThreadFactory delegate) {
    this.delegate = delegate;
  }

  static CountingThreadFactory virtual() {
    return new CountingThreadFactory(Thread.ofVirtual().name("test-", 0).factory());
  }

  static CountingThreadFactory platform() {
    return new CountingThreadFactory(Thread.ofPlatform().daemon().name("test-", 0).factory());
  }

  @Override
  public Thread newThread(Runnable r) {
    Thread t = delegate.newThread(r);
    created.add(t);
    return t;
  }

  int count() {
    return created.size();
  }
}
