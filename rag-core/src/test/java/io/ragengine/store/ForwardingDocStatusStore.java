package io.ragengine.store;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Passes every call to another document status store; tests override what they need. */
public class ForwardingDocStatusStore implements DocStatusStore {
  private final DocStatusStore delegate;

  public ForwardingDocStatusStore(DocStatusStore delegate) {
    this.delegate = delegate;
  }

  @Override
  public Optional<DocStatusRecord> get(String docId) {
    return delegate.get(docId);
  }

  @Override
  public Map<String, DocStatusRecord> getAll(Collection<String> docIds) {
    return delegate.getAll(docIds);
  }

  @Override
  public List<DocStatusRecord> byStatus(DocStatus status) {
    return delegate.byStatus(status);
  }

  @Override
  public Map<DocStatus, Integer> counts() {
    return delegate.counts();
  }

  @Override
  public void put(DocStatusRecord record) {
    delegate.put(record);
  }

  @Override
  public void delete(String docId) {
    delegate.delete(docId);
  }
}
