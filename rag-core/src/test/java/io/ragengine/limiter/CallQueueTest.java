package io.ragengine.limiter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The queue against the reference it replaced: a PriorityQueue with the same order. */
final class CallQueueTest {
  private static final Comparator<CallLimiter.Call<?>> REFERENCE =
      (a, b) ->
          a.priority != b.priority
              ? Integer.compare(b.priority, a.priority)
              : Long.compare(a.seq, b.seq);

  private static final CallLimiter OWNER = CallLimiter.create(CallLimiterConfig.ofDefaults());

  private static CallLimiter.Call<Object> call(int priority, long seq) {
    CallLimiter.Call<Object> c = new CallLimiter.Call<>(OWNER, () -> "x", priority);
    c.seq = seq;
    return c;
  }

  @Test
  void randomOperations_pollInTheSameOrderAsAPriorityQueue() {
    for (int seed = 0; seed < 20; seed++) {
      var random = new SplittableRandom(seed);
      var queue = new CallQueue();
      var reference = new PriorityQueue<>(REFERENCE);
      List<CallLimiter.Call<?>> polled = new ArrayList<>();
      long seq = 0;
      for (int step = 0; step < 3_000; step++) {
        int op = random.nextInt(10);
        if (op < 5) {
          var c = call(random.nextInt(-3, 4) * 10, seq++); // fresh: ever larger seq
          queue.addFresh(c);
          reference.add(c);
        } else if (op < 6 && !polled.isEmpty()) {
          var c = polled.remove(random.nextInt(polled.size())); // a retry keeps its old seq
          queue.addReentered(c);
          reference.add(c);
        } else if (op < 7 && !reference.isEmpty()) {
          var victim = new ArrayList<>(reference).get(random.nextInt(reference.size()));
          assertTrue(queue.remove(victim));
          reference.remove(victim);
          assertFalse(queue.remove(victim));
        } else {
          var expected = reference.poll();
          var actual = queue.poll();
          assertEquals(expected, actual, "seed " + seed + " step " + step);
          if (actual != null) {
            polled.add(actual);
          }
        }
        assertEquals(reference.size(), queue.size());
      }
    }
  }

  @Test
  void removeIf_andClear_keepTheSizeRight() {
    var queue = new CallQueue();
    for (int i = 0; i < 10; i++) {
      queue.addFresh(call(i % 3, i));
    }
    assertEquals(4, queue.removeIf(c -> c.priority == 0));
    assertEquals(6, queue.size());
    assertEquals(2, java.util.Objects.requireNonNull(queue.poll()).priority);
    queue.clear();
    assertTrue(queue.isEmpty());
    assertNull(queue.poll());
  }
}
