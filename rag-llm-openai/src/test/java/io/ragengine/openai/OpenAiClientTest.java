package io.ragengine.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;

/** The builder's checks: each bad value fails on its setter, naming the option and the bound. */
final class OpenAiClientTest {
  private static final Duration JUST_UNDER_A_MILLISECOND = Duration.ofNanos(999_999);
  private static final Duration MAX = Duration.ofMillis(Integer.MAX_VALUE);
  private static final Duration JUST_OVER_MAX = MAX.plusMillis(1);

  /** The four OkHttp timeouts, by option name. */
  private static Map<String, BiConsumer<OpenAiClient.Builder, Duration>> timeouts() {
    Map<String, BiConsumer<OpenAiClient.Builder, Duration>> m = new LinkedHashMap<>();
    m.put("connectTimeout", OpenAiClient.Builder::connectTimeout);
    m.put("readTimeout", OpenAiClient.Builder::readTimeout);
    m.put("writeTimeout", OpenAiClient.Builder::writeTimeout);
    m.put("callTimeout", OpenAiClient.Builder::callTimeout);
    return m;
  }

  /** The options that must be a positive whole number of milliseconds. */
  private static Map<String, BiConsumer<OpenAiClient.Builder, Duration>> intervals() {
    Map<String, BiConsumer<OpenAiClient.Builder, Duration>> m = new LinkedHashMap<>();
    m.put("keepAlive", OpenAiClient.Builder::keepAlive);
    m.put("initialBackoff", OpenAiClient.Builder::initialBackoff);
    m.put("maxBackoff", OpenAiClient.Builder::maxBackoff);
    return m;
  }

  private static String refused(BiConsumer<OpenAiClient.Builder, Duration> setter, Duration value) {
    return String.valueOf(
        assertThrows(
                IllegalArgumentException.class, () -> setter.accept(OpenAiClient.builder(), value))
            .getMessage());
  }

  @Test
  @SuppressWarnings("NullAway") // a null timeout is one of the cases
  void timeouts_outsideZeroOrOneMillisecondToIntMaxMillis_throwOnTheSetter() {
    String bound = " (expected: 0 or in [PT0.001S, PT596H31M23.647S])";
    timeouts()
        .forEach(
            (name, setter) -> {
              // OkHttp would round these down to 0, which means no timeout at all.
              assertEquals(
                  name + ": PT0.000999999S" + bound, refused(setter, JUST_UNDER_A_MILLISECOND));
              assertEquals(name + ": PT0.000000001S" + bound, refused(setter, Duration.ofNanos(1)));
              // OkHttp keeps timeouts as int milliseconds: "timeout too large" at build().
              assertEquals(name + ": PT596H31M23.648S" + bound, refused(setter, JUST_OVER_MAX));
              // Duration.toMillis() would overflow at build().
              assertEquals(
                  name + ": " + ChronoUnit.FOREVER.getDuration() + bound,
                  refused(setter, ChronoUnit.FOREVER.getDuration()));
              assertEquals(name + ": PT-1S" + bound, refused(setter, Duration.ofSeconds(-1)));
              assertEquals(
                  name,
                  assertThrows(
                          NullPointerException.class,
                          () -> setter.accept(OpenAiClient.builder(), null))
                      .getMessage());
            });
  }

  @Test
  void timeouts_zeroOneMillisecondAndIntMaxMillis_reachOkHttp() {
    for (Duration d : new Duration[] {Duration.ZERO, Duration.ofMillis(1), MAX}) {
      OkHttpClient http =
          OpenAiClient.builder()
              .connectTimeout(d)
              .readTimeout(d)
              .writeTimeout(d)
              .callTimeout(d)
              .build()
              .okHttpClient();
      assertEquals(d.toMillis(), http.connectTimeoutMillis());
      assertEquals(d.toMillis(), http.readTimeoutMillis());
      assertEquals(d.toMillis(), http.writeTimeoutMillis());
      assertEquals(d.toMillis(), http.callTimeoutMillis());
    }
  }

  @Test
  void keepAliveAndBackoffs_outsideOneMillisecondToIntMaxMillis_throwOnTheSetter() {
    String bound = " (expected: in [PT0.001S, PT596H31M23.647S])";
    intervals()
        .forEach(
            (name, setter) -> {
              // Resilience4j refuses a 0 ms interval at the first retry; OkHttp's pool a 0 ms
              // keep-alive at build().
              assertEquals(
                  name + ": PT0.000999999S" + bound, refused(setter, JUST_UNDER_A_MILLISECOND));
              assertEquals(name + ": PT0S" + bound, refused(setter, Duration.ZERO));
              assertEquals(name + ": PT596H31M23.648S" + bound, refused(setter, JUST_OVER_MAX));
              assertEquals(
                  name + ": " + ChronoUnit.FOREVER.getDuration() + bound,
                  refused(setter, ChronoUnit.FOREVER.getDuration()));
              assertEquals(name + ": PT-1S" + bound, refused(setter, Duration.ofSeconds(-1)));
            });
  }

  @Test
  void keepAliveAndBackoffs_oneMillisecondAndIntMaxMillis_build() {
    for (Duration d : new Duration[] {Duration.ofMillis(1), MAX}) {
      OpenAiClient client =
          OpenAiClient.builder().keepAlive(d).initialBackoff(d).maxBackoff(d).build();
      // The computed back-off is in [0.5, 1.5] x initialBackoff (±50 % jitter), never refused.
      long first = client.retryPolicy().delayMillis(1, new RuntimeException("x"));
      assertTrue(first >= d.toMillis() / 2 && first <= d.toMillis() * 3 / 2, "" + first);
    }
  }

  @Test
  @SuppressWarnings("NullAway") // the point of the test
  void circuitBreaker_nullPath_throwsNamingIt() {
    OpenAiClient client = OpenAiClient.builder().build();
    var e = assertThrows(NullPointerException.class, () -> client.circuitBreaker(null));
    assertEquals("path", e.getMessage());
  }
}
