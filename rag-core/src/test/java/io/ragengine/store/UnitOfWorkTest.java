package io.ragengine.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ragengine.store.UnitOfWork.Durability;
import org.junit.jupiter.api.Test;

final class UnitOfWorkTest {

  @Test
  void durability_default_isDurable() {
    assertEquals(Durability.DURABLE, new UnitOfWork().durability());
  }

  @Test
  @SuppressWarnings("NullAway") // passes null on purpose
  void durability_null_throws() {
    var e = assertThrows(NullPointerException.class, () -> new UnitOfWork().durability(null));
    assertEquals("durability", e.getMessage());
  }

  @Test
  void addAll_deferredParts_stayDeferred() {
    UnitOfWork merged = new UnitOfWork().durability(Durability.DEFERRED);

    merged.addAll(new UnitOfWork().put("docs", "a", "1").durability(Durability.DEFERRED));

    assertEquals(Durability.DEFERRED, merged.durability());
    assertEquals(1, merged.operations().size());
  }

  @Test
  void addAll_aDurablePart_makesTheWholeDurable() {
    UnitOfWork merged = new UnitOfWork().durability(Durability.DEFERRED);

    merged
        .addAll(new UnitOfWork().put("docs", "a", "1").durability(Durability.DEFERRED))
        .addAll(new UnitOfWork().put("docs", "b", "2"))
        .addAll(new UnitOfWork().put("docs", "c", "3").durability(Durability.DEFERRED));

    assertEquals(Durability.DURABLE, merged.durability());
    assertEquals(3, merged.operations().size());
  }
}
