package io.ragengine.store;

import io.ragengine.RagException;
import org.jspecify.annotations.Nullable;

/**
 * A store could not be opened, read or written: the database is corrupt, held by another engine,
 * of a newer schema version, or an I/O error occurred. Unchecked. The message names the file or
 * resource involved; the cause, when there is one, is kept.
 */
public class StoreException extends RagException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, @Nullable Throwable cause) {
    super(message, cause);
  }
}
