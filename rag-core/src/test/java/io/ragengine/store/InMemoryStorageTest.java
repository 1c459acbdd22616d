package io.ragengine.store;

/** Runs the storage contract against the in-memory reference. */
final class InMemoryStorageTest extends StorageContractTest {
  @Override
  protected Storage newStorage() {
    return InMemoryStorage.create();
  }
}
