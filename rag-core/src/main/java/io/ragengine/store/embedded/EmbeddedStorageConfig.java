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
 * @param searchParallelism ranges a large vector search is split into, one per core to use
 */
public record EmbeddedStorageConfig(
    Path directory, VectorEncoding vectorEncoding, int jdbcThreads, int searchParallelism) {

  /** The default {@link #vectorEncoding()}: 2 bytes per dimension, exact top-10 in practice. */
  public static final VectorEncoding DEFAULT_VECTOR_ENCODING = VectorEncoding.FLOAT16;

  /** The default {@link #jdbcThreads()}: one commits while another reads. */
  public static final int DEFAULT_JDBC_THREADS = 2;

  /** The default {@link #searchParallelism()}: the two cores of a small server. */
  public static final int DEFAULT_SEARCH_PARALLELISM = 2;

  /**
   * Checks the components.
   *
   * @throws NullPointerException if {@code directory} or {@code vectorEncoding} is null
   * @throws IllegalArgumentException if {@code jdbcThreads} or {@code searchParallelism} is not
   *     positive
   */
  public EmbeddedStorageConfig {
    Objects.requireNonNull(directory, "directory");
    Objects.requireNonNull(vectorEncoding, "vectorEncoding");
    Checks.positive(jdbcThreads, "jdbcThreads");
    Checks.positive(searchParallelism, "searchParallelism");
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
        .searchParallelism(searchParallelism);
  }

  /** Builds an {@link EmbeddedStorageConfig}. Not thread-safe; {@link #build()} may be called again. */
  public static final class Builder {
    private @Nullable Path directory;
    private VectorEncoding vectorEncoding = DEFAULT_VECTOR_ENCODING;
    private int jdbcThreads = DEFAULT_JDBC_THREADS;
    private int searchParallelism = DEFAULT_SEARCH_PARALLELISM;

    private Builder() {}

    /** The working directory; required. It is created if missing. */
    public Builder directory(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
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
     * Ranges a vector search over at least {@code 2 * 8192} vectors is split into; 1 searches on
     * the calling thread only. Default {@value #DEFAULT_SEARCH_PARALLELISM}.
     *
     * @throws IllegalArgumentException if not positive
     */
    public Builder searchParallelism(int searchParallelism) {
      this.searchParallelism = Checks.positive(searchParallelism, "searchParallelism");
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
          searchParallelism);
    }
  }
}
