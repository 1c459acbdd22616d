package io.ragengine.store.embedded;

import io.ragengine.internal.Checks;
import java.nio.file.Path;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Settings for {@link EmbeddedStorage}. Immutable; create with {@link #builder()}.
 *
 * @param directory the working directory that holds the database; created if missing
 * @param vectorEncoding how vectors are kept in memory for search
 * @param jdbcThreads platform threads that run all SQLite work, each with its own connection
 * @param searchParallelism threads a large vector search runs on (the caller and {@code
 *     searchParallelism - 1} helpers), one per core to use
 * @param pageSize the SQLite page size, in bytes, of a database this storage creates; a power of
 *     two from 512 to 65536. An existing database keeps the page size it was created with.
 */
public record EmbeddedStorageConfig(
    Path directory,
    VectorEncoding vectorEncoding,
    int jdbcThreads,
    int searchParallelism,
    int pageSize) {

  /** The default {@link #vectorEncoding()}: 2 bytes per dimension, exact top-10 in practice. */
  public static final VectorEncoding DEFAULT_VECTOR_ENCODING = VectorEncoding.FLOAT16;

  /** The default {@link #jdbcThreads()}: one commits while another reads. */
  public static final int DEFAULT_JDBC_THREADS = 2;

  /** The default {@link #searchParallelism()}: the two cores of a small server. */
  public static final int DEFAULT_SEARCH_PARALLELISM = 2;

  /**
   * The default {@link #pageSize()}: 16 KiB, so that a chunk of 1,200 tokens (about 5 KB of JSON)
   * or a 1536-d float32 vector (6 KB) fits in its page. With SQLite's 4 KiB default every such row
   * spilled into overflow pages, and a 1,000-document ingest spent half as much CPU again in
   * SQLite (426-565 ms against 279-313 ms; docs/benchmarks.md).
   */
  public static final int DEFAULT_PAGE_SIZE = 16_384;

  /** The smallest {@link #pageSize()} SQLite accepts. */
  public static final int MIN_PAGE_SIZE = 512;

  /** The largest {@link #pageSize()} SQLite accepts. */
  public static final int MAX_PAGE_SIZE = 65_536;

  /**
   * Checks the components.
   *
   * @throws NullPointerException if {@code directory} or {@code vectorEncoding} is null
   * @throws IllegalArgumentException if {@code jdbcThreads} or {@code searchParallelism} is not
   *     positive, or {@code pageSize} is not a power of two from 512 to 65536
   */
  public EmbeddedStorageConfig {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(vectorEncoding, "vectorEncoding");
    Checks.positive(jdbcThreads, "jdbcThreads");
    Checks.positive(searchParallelism, "searchParallelism");
    checkPageSize(pageSize);
  }

  /**
   * The settings with the {@linkplain #DEFAULT_PAGE_SIZE default page size}; the constructor of
   * the releases before {@code pageSize} existed.
   */
  public EmbeddedStorageConfig(
      Path directory, VectorEncoding vectorEncoding, int jdbcThreads, int searchParallelism) {
    this(directory, vectorEncoding, jdbcThreads, searchParallelism, DEFAULT_PAGE_SIZE);
  }

  private static int checkPageSize(int pageSize) {
    if (pageSize < MIN_PAGE_SIZE
        || pageSize > MAX_PAGE_SIZE
        || Integer.bitCount(pageSize) != 1) {
      throw new IllegalArgumentException(
          "pageSize: "
              + pageSize
              + " (expected: a power of two from "
              + MIN_PAGE_SIZE
              + " to "
              + MAX_PAGE_SIZE
              + ")");
    }
    return pageSize;
  }

  /** Returns a builder with the defaults and no directory. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder holding these settings. */
  public Builder toBuilder() {
    return builder()
        .directory(directory)
        .vectorEncoding(vectorEncoding)
        .jdbcThreads(jdbcThreads)
        .searchParallelism(searchParallelism)
        .pageSize(pageSize);
  }

  /** Builds an {@link EmbeddedStorageConfig}. Not thread-safe; {@link #build()} may be called again. */
  public static final class Builder {
    private @Nullable Path directory;
    private VectorEncoding vectorEncoding = DEFAULT_VECTOR_ENCODING;
    private int jdbcThreads = DEFAULT_JDBC_THREADS;
    private int searchParallelism = DEFAULT_SEARCH_PARALLELISM;
    private int pageSize = DEFAULT_PAGE_SIZE;

    private Builder() {}

    /** The working directory; required. It is created if missing. */
    public Builder directory(Path directory) {
      // Absolute, so that messages and config() name it unambiguously ("" is the current one);
      // not normalised, which a symbolic link in it would make wrong.
      this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath();
      return this;
    }

    /** How vectors are kept in memory. Default {@link VectorEncoding#FLOAT16}. */
    public Builder vectorEncoding(VectorEncoding vectorEncoding) {
      this.vectorEncoding = Objects.requireNonNull(vectorEncoding, "vectorEncoding");
      return this;
    }

    /**
     * Platform threads for SQLite work. Default {@value #DEFAULT_JDBC_THREADS}.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder jdbcThreads(int jdbcThreads) {
      this.jdbcThreads = Checks.positive(jdbcThreads, "jdbcThreads");
      return this;
    }

    /**
     * Threads a vector search over at least 2 x 2^19 stored elements (vectors x dimensions) runs
     * on: the caller and {@code searchParallelism - 1} helper threads, which share the scan in
     * small ranges; 1 searches on the calling thread only. Default {@value
     * #DEFAULT_SEARCH_PARALLELISM}.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder searchParallelism(int searchParallelism) {
      this.searchParallelism = Checks.positive(searchParallelism, "searchParallelism");
      return this;
    }

    /**
     * The SQLite page size, in bytes, of a database created by this storage. It takes effect only
     * when the database file is created: an existing database keeps the page size it was created
     * with (SQLite cannot change it in WAL mode), and opens as before. Default {@value
     * #DEFAULT_PAGE_SIZE}.
     *
     * <p>Larger pages hold bigger rows without overflow pages, which makes writes of chunks,
     * documents and vectors cheaper; smaller pages make each point read and each small commit
     * (a status change) read and write fewer bytes.
     *
     * @throws IllegalArgumentException if not a power of two from 512 to 65536
     */
    public Builder pageSize(int pageSize) {
      this.pageSize = checkPageSize(pageSize);
      return this;
    }

    /**
     * Returns the settings.
     *
     * @throws NullPointerException if no directory was set
     */
    public EmbeddedStorageConfig build() {
      return new EmbeddedStorageConfig(
          Objects.requireNonNull(directory, "directory"),
          vectorEncoding,
          jdbcThreads,
          searchParallelism,
          pageSize);
    }
  }
}
