package io.ragengine.store;

/** Passes every call to another storage; tests override what they need. */
public class ForwardingStorage implements Storage {
  private final Storage delegate;

  public ForwardingStorage(Storage delegate) {
    this.delegate = delegate;
  }

  /** {@code delegate} with its document status store replaced by {@code statuses}. */
  public static Storage withDocStatus(Storage delegate, DocStatusStore statuses) {
    return new ForwardingStorage(delegate) {
      @Override
      public DocStatusStore docStatus() {
        return statuses;
      }
    };
  }

  /** {@code delegate} with its key-value store replaced by {@code kv}. */
  public static Storage withKv(Storage delegate, KvStore kv) {
    return new ForwardingStorage(delegate) {
      @Override
      public KvStore kv() {
        return kv;
      }
    };
  }

  @Override
  public KvStore kv() {
    return delegate.kv();
  }

  @Override
  public VectorStore vectors() {
    return delegate.vectors();
  }

  @Override
  public GraphStore graph() {
    return delegate.graph();
  }

  @Override
  public DocStatusStore docStatus() {
    return delegate.docStatus();
  }

  @Override
  public void commit(UnitOfWork unit) {
    delegate.commit(unit);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
