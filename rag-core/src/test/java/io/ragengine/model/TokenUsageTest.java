package io.ragengine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

final class TokenUsageTest {
  @Test
  void of_addsTheTwo() {
    assertEquals(new TokenUsage(3, 4, 7), TokenUsage.of(3, 4));
  }

  @Test
  void of_totalPastAnInt_namesTheSum() {
    // Regression: the sum overflowed and the message blamed totalTokens, which was not passed.
    var e = assertThrows(IllegalArgumentException.class, () -> TokenUsage.of(Integer.MAX_VALUE, 1));
    assertEquals(
        "inputTokens + outputTokens: 2147483648 (expected: at most 2147483647)", e.getMessage());
  }
}
