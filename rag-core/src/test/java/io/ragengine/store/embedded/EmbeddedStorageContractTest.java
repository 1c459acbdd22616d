package io.ragengine.store.embedded;

import io.ragengine.store.Storage;
import io.ragengine.store.StorageContractTest;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** Runs the storage contract against the embedded default. */
final class EmbeddedStorageContractTest extends StorageContractTest {
  @TempDir Path directory;

  @Override
  protected Storage newStorage() {
    return EmbeddedStorage.open(EmbeddedStorageConfig.builder().directory(directory).build());
  }
}
