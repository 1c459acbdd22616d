package io.ragengine.limiter;

/**
 * What the current thread knows about the {@link CallLimiter} call it is running, if any.
 *
 * <p>A model client uses this to decide how to wait before a retry: inside a limiter call it
 * throws {@link RetryLaterException} so the worker is given back during the back-off; outside one
 * it may simply wait on its own thread.
 *
 * <p>Thread-safe: every method reads only the current thread's state.
 */
public final class LimitedCall {
  /** Holds the attempt number of the call running on a limiter worker; 0 elsewhere. */
  private static final ThreadLocal<int[]> ATTEMPT = ThreadLocal.withInitial(() -> new int[1]);

  private LimitedCall() {}

  /**
   * Returns the attempt number of the limiter call that the current thread is running: 1 the
   * first time the call runs, 2 after it threw {@link RetryLaterException} once, and so on. Returns
   * 0 when the current thread is not running a limiter call.
   */
  public static int attempt() {
    return ATTEMPT.get()[0];
  }

  /**
   * Returns whether the current thread is running a limiter call, that is, whether throwing
   * {@link RetryLaterException} gives a worker back rather than failing the caller.
   */
  public static boolean active() {
    return attempt() > 0;
  }

  /** Called by the limiter's workers around each run; {@code 0} clears. */
  static void enter(int attempt) {
    ATTEMPT.get()[0] = attempt;
  }
}
