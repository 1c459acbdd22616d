package io.ragengine.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

final class CallLimiterConfigTest {

  private static void assertRejected(String message, Executable setter) {
    var e = assertThrows(IllegalArgumentException.class, setter);
    assertEquals(message, e.getMessage());
  }

  @Test
  void defaults_areTheDocumentedConstants() {
    CallLimiterConfig c = CallLimiterConfig.ofDefaults();
    assertEquals(CallLimiterConfig.DEFAULT_NAME, c.name());
    assertEquals(CallLimiterConfig.DEFAULT_MAX_ASYNC, c.maxAsync());
    assertEquals(CallLimiterConfig.DEFAULT_MAX_QUEUED, c.maxQueued());
    assertEquals(CallLimiterConfig.DEFAULT_CALL_TIMEOUT, c.callTimeout());
    assertEquals(CallLimiterConfig.DEFAULT_QUEUE_TIMEOUT, c.queueTimeout());
    assertEquals(CallLimiterConfig.DEFAULT_DRAIN_TIMEOUT, c.drainTimeout());
    assertFalse(c.eagerInit());
  }

  @Test
  void maxAsync_zero_throwsWithNameAndValue() {
    assertRejected(
        "maxAsync: 0 (expected: in [1, 4096])", () -> CallLimiterConfig.builder().maxAsync(0));
  }

  @Test
  void maxAsync_aboveMax_throws() {
    assertRejected(
        "maxAsync: 4097 (expected: in [1, 4096])",
        () -> CallLimiterConfig.builder().maxAsync(4097));
  }

  @Test
  void maxQueued_negative_throws() {
    assertRejected(
        "maxQueued: -1 (expected: >= 0)", () -> CallLimiterConfig.builder().maxQueued(-1));
  }

  @Test
  void callTimeout_negative_throws() {
    assertRejected(
        "callTimeout: PT-1S (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().callTimeout(Duration.ofSeconds(-1)));
  }

  @Test
  void queueTimeout_negative_throws() {
    assertRejected(
        "queueTimeout: PT-0.001S (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().queueTimeout(Duration.ofMillis(-1)));
  }

  @Test
  void drainTimeout_negative_throws() {
    assertRejected(
        "drainTimeout: PT-1M (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().drainTimeout(Duration.ofMinutes(-1)));
  }

  @Test
  void timeouts_overAYear_throw_ratherThanOverflowADeadlineLater() {
    // Regression: Duration.ofSeconds(Long.MAX_VALUE) passed the setter and CallLimiter.create (or
    // close(), for drainTimeout) failed with ArithmeticException: long overflow.
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
    assertRejected(
        "callTimeout: PT8761H (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().callTimeout(Duration.ofHours(8761)));
    assertRejected(
        "queueTimeout: " + forever + " (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().queueTimeout(forever));
    assertRejected(
        "drainTimeout: " + forever + " (expected: in [PT0S, PT8760H])",
        () -> CallLimiterConfig.builder().drainTimeout(forever));
    assertEquals(
        Duration.ofDays(365),
        CallLimiterConfig.builder().callTimeout(Duration.ofDays(365)).build().callTimeout());
  }

  @Test
  void name_blank_throws() {
    assertRejected("name: \" \" (expected: not blank)", () -> CallLimiterConfig.builder().name(" "));
  }

  @Test
  @SuppressWarnings("NullAway") // passes null on purpose
  void nulls_throwNamingTheOption() {
    assertEquals(
        "callTimeout",
        assertThrows(
                NullPointerException.class, () -> CallLimiterConfig.builder().callTimeout(null))
            .getMessage());
    assertEquals(
        "name",
        assertThrows(NullPointerException.class, () -> CallLimiterConfig.builder().name(null))
            .getMessage());
  }

  @Test
  void constructor_direct_checksToo() {
    assertRejected(
        "maxAsync: -3 (expected: in [1, 4096])",
        () ->
            new CallLimiterConfig(
                "x", -3, 1, Duration.ZERO, Duration.ZERO, Duration.ZERO, false));
  }

  @Test
  void toBuilder_roundTripsEveryOption() {
    CallLimiterConfig c =
        CallLimiterConfig.builder()
            .name("chat")
            .maxAsync(16)
            .maxQueued(7)
            .callTimeout(Duration.ofSeconds(3))
            .queueTimeout(Duration.ofSeconds(4))
            .drainTimeout(Duration.ofSeconds(5))
            .eagerInit(true)
            .build();
    assertEquals(c, c.toBuilder().build());
    assertEquals(
        "CallLimiterConfig{name=chat, maxAsync=16, maxQueued=7, callTimeout=PT3S,"
            + " queueTimeout=PT4S, drainTimeout=PT5S, eagerInit=true}",
        c.toString());
  }
}
