package io.ragengine.store;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Passes every call to another key-value store; tests override what they need. */
public class ForwardingKvStore implements KvStore {
  private final KvStore delegate;

  public ForwardingKvStore(KvStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public Optional<String> get(String namespace, String key) {
    return delegate.get(namespace, key);
  }

  @Override
  public Map<String, String> getAll(String namespace, Collection<String> keys) {
    return delegate.getAll(namespace, keys);
  }

  @Override
  public List<String> keys(String namespace) {
    return delegate.keys(namespace);
  }

  @Override
  public void put(String namespace, String key, String value) {
    delegate.put(namespace, key, value);
  }

  @Override
  public void delete(String namespace, String key) {
    delegate.delete(namespace, key);
  }
}
