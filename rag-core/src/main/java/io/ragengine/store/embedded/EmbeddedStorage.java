package io.ragengine.store.embedded;

import io.ragengine.graph.Entity;
import io.ragengine.graph.Relation;
import io.ragengine.internal.Checks;
import io.ragengine.internal.Vectors;
import io.ragengine.store.DocStatus;
import io.ragengine.store.DocStatusRecord;
import io.ragengine.store.DocStatusStore;
import io.ragengine.store.GraphStore;
import io.ragengine.store.KvStore;
import io.ragengine.store.Storage;
import io.ragengine.store.StoreException;
import io.ragengine.store.UnitOfWork;
import io.ragengine.store.UnitOfWork.DocStatusDelete;
import io.ragengine.store.UnitOfWork.DocStatusPut;
import io.ragengine.store.UnitOfWork.EntityDelete;
import io.ragengine.store.UnitOfWork.EntityUpsert;
import io.ragengine.store.UnitOfWork.KvDelete;
import io.ragengine.store.UnitOfWork.KvPut;
import io.ragengine.store.UnitOfWork.Operation;
import io.ragengine.store.UnitOfWork.RelationDelete;
import io.ragengine.store.UnitOfWork.RelationUpsert;
import io.ragengine.store.UnitOfWork.VectorDelete;
import io.ragengine.store.UnitOfWork.VectorUpsert;
import io.ragengine.store.VectorMatch;
import io.ragengine.store.VectorStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.sqlite.SQLiteConfig;

/**
 * The embedded default {@link Storage}: one SQLite database in WAL mode in the working directory
 * holds all four stores durably, and vectors and the graph are also held in memory for search,
 * loaded at {@link #open}. Thread-safe.
 *
 * <p>Files in the directory: {@value #DATABASE_FILE} (with SQLite's {@code -wal} and {@code -shm}
 * files beside it while open) and {@value #LOCK_FILE}, locked while an engine has the directory
 * open. A unit of work is one SQLite transaction, committed with {@code synchronous=FULL}: when
 * {@link #commit} returns, the unit survives a crash of the process or the machine. A {@link
 * UnitOfWork.Durability#DEFERRED DEFERRED} unit is committed with {@code synchronous=NORMAL}: its
 * pages reach the write-ahead log but are not flushed to stable storage, so it survives a crash of
 * the process, and the next {@code FULL} commit's flush of the log (or a checkpoint) makes it
 * durable together with everything before it.
 *
 * <p>Design notes. All JDBC work runs on {@code jdbcThreads} platform threads, each with its own
 * connection, because sqlite-jdbc calls into native code, which would pin a virtual thread to its
 * carrier; callers (often virtual threads) hand the work over and wait. One read-write lock,
 * {@code visibility}, makes units atomic for readers: a commit holds the write lock while it writes
 * the SQLite transaction and then applies the unit to the in-memory index and graph, and every
 * read holds the read lock, so no reader sees the database and the memory disagree. Vector search
 * runs on the caller's thread (plus {@code searchParallelism - 1} helper threads) under the read
 * lock.
 */
public final class EmbeddedStorage implements Storage {

  /** The database file's name in the working directory. */
  public static final String DATABASE_FILE = "ragengine.db";

  /** The lock file's name in the working directory. */
  public static final String LOCK_FILE = "ragengine.lock";

  private static final long CLOSE_TIMEOUT_SECONDS = 60;

  /** Keys read by one statement of {@code getAll}: a power of two, far below SQLite's limit. */
  static final int KEYS_PER_READ = 256;

  /**
   * {@code KEYS_IN[b]} reads {@code 2^b} keys of one namespace. {@code getAll} rounds a slice up
   * to a power of two (the extra parameters repeat its last key), so that only these few
   * statements are prepared and cached per connection; built once, not per read.
   */
  private static final String[] KEYS_IN =
      new String[Integer.numberOfTrailingZeros(KEYS_PER_READ) + 1];

  static {
    for (int b = 0; b < KEYS_IN.length; b++) {
      KEYS_IN[b] =
          "SELECT key, value FROM kv WHERE ns = ? AND key IN (?" + ",?".repeat((1 << b) - 1) + ")";
    }
  }

  private final EmbeddedStorageConfig config;
  private final Path databaseFile;
  private final FileChannel lockChannel;
  private final ExecutorService jdbc;
  private final @Nullable ExecutorService searchHelpers;
  private final List<Session> sessions = new CopyOnWriteArrayList<>();
  private final ThreadLocal<@Nullable Session> session = new ThreadLocal<>();
  private final ReentrantReadWriteLock visibility = new ReentrantReadWriteLock();
  // Guarded by visibility: read lock to read, write lock to change.
  private final Map<String, FlatVectorIndex> vectorIndexes = new HashMap<>();
  private final MemoryGraph graph = new MemoryGraph();
  private final KvView kv = new KvView();
  private final VectorView vectors = new VectorView();
  private final GraphView graphStore = new GraphView();
  private final StatusView docStatus = new StatusView();
  private volatile boolean closed;

  private EmbeddedStorage(EmbeddedStorageConfig config, FileChannel lockChannel) {
    this.config = config;
    this.databaseFile = config.directory().resolve(DATABASE_FILE);
    this.lockChannel = lockChannel;
    this.jdbc = Executors.newFixedThreadPool(config.jdbcThreads(), daemons("ragengine-sqlite-"));
    this.searchHelpers =
        config.searchParallelism() > 1
            ? Executors.newFixedThreadPool(
                config.searchParallelism() - 1, daemons("ragengine-vector-search-"))
            : null;
  }

  /**
   * Opens (creating if needed) the storage in {@code config.directory()}, migrating an older
   * database and loading vectors and the graph into memory.
   *
   * @throws StoreException if the directory cannot be created or is held by another engine (in
   *     this or another process), or if the database is corrupt, unreadable or of a newer schema
   *     version; the message names the file
   */
  public static EmbeddedStorage open(EmbeddedStorageConfig config) {
    Objects.requireNonNull(config, "config");
    Path directory = config.directory();
    Path lockFile = directory.resolve(LOCK_FILE);
    FileChannel channel;
    if (Files.exists(directory) && !Files.isDirectory(directory)) {
      throw new StoreException(
          "cannot open working directory " + directory + ": it is a file (expected: a directory)");
    }
    try {
      Files.createDirectories(directory);
      channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new StoreException("cannot open working directory " + directory + ": " + e, e);
    }
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (IOException | OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      closeQuietly(channel);
      throw new StoreException(
          "working directory "
              + directory
              + " is in use by another engine (cannot lock "
              + lockFile
              + "); close that engine first");
    }
    EmbeddedStorage storage = new EmbeddedStorage(config, channel);
    try {
      storage.onJdbc(
          "open",
          c -> {
            Schema.migrate(c, storage.databaseFile);
            storage.load(c);
            return null;
          });
    } catch (RuntimeException e) {
      try {
        storage.close(); // releases the lock, so the user can fix the file and retry
      } catch (RuntimeException closeFailure) {
        e.addSuppressed(closeFailure);
      }
      throw e;
    }
    return storage;
  }

  /** Returns the settings this storage was opened with. */
  public EmbeddedStorageConfig config() {
    return config;
  }

  @Override
  public KvStore kv() {
    return kv;
  }

  @Override
  public VectorStore vectors() {
    return vectors;
  }

  @Override
  public GraphStore graph() {
    return graphStore;
  }

  @Override
  public DocStatusStore docStatus() {
    return docStatus;
  }

  @Override
  public void commit(UnitOfWork unit) {
    List<Operation> operations = Objects.requireNonNull(unit, "unit").operations();
    UnitOfWork.Durability durability = unit.durability();
    checkOpen();
    if (operations.isEmpty()) {
      return;
    }
    onJdbc(
        "commit",
        c -> {
          visibility.writeLock().lock();
          try {
            checkDimensions(operations);
            session().flushOnCommit(durability);
            write(c, operations);
            apply(operations);
          } finally {
            visibility.writeLock().unlock();
          }
          return null;
        });
  }

  /**
   * The {@code PRAGMA synchronous} level (1 NORMAL, 2 FULL) of the connection of the JDBC thread
   * that runs this read; with one JDBC thread, the level the last commit ran at. For tests.
   */
  int synchronousLevel() {
    return pragma("synchronous");
  }

  /** The database's page size in bytes, as SQLite reports it. For tests. */
  int pageSize() {
    return pragma("page_size");
  }

  /** Reads the integer {@code PRAGMA name} on the connection of the JDBC thread that runs it. */
  private int pragma(String name) {
    return read(
        "read",
        c -> {
          try (Statement statement = c.createStatement();
              ResultSet rows = statement.executeQuery("PRAGMA " + name)) {
            rows.next();
            return rows.getInt(1);
          }
        });
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    boolean clean = true;
    jdbc.shutdown();
    if (searchHelpers != null) {
      searchHelpers.shutdown();
    }
    try {
      clean = jdbc.awaitTermination(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      clean = false;
    }
    StoreException failure = null;
    for (Session s : sessions) {
      try {
        s.connection.close();
      } catch (SQLException e) {
        failure = new StoreException("cannot close " + databaseFile + ": " + e.getMessage(), e);
      }
    }
    closeQuietly(lockChannel); // releases the lock
    if (failure != null) {
      throw failure;
    }
    if (!clean) {
      throw new StoreException("cannot close " + databaseFile + ": work still running");
    }
  }

  @Override
  public String toString() {
    return "EmbeddedStorage{" + databaseFile + (closed ? ", closed}" : "}");
  }

  // ---- JDBC plumbing ----

  /** Work on a JDBC thread's connection. */
  @FunctionalInterface
  private interface SqlWork<T extends @Nullable Object> {
    T run(Connection connection) throws SQLException;
  }

  /** A JDBC thread's connection and its prepared statements. */
  private static final class Session {
    final Connection connection;
    final Map<String, PreparedStatement> statements = new HashMap<>();
    /** What the connection's next commit guarantees: FULL (DURABLE) or NORMAL (DEFERRED). */
    UnitOfWork.Durability synchronous = UnitOfWork.Durability.DURABLE;

    Session(Connection connection) {
      this.connection = connection;
    }

    /**
     * Makes the connection's next commit flush the write-ahead log ({@code synchronous=FULL}) or
     * not ({@code NORMAL}). SQLite refuses to change the level inside a transaction, and
     * sqlite-jdbc keeps one open between commits, so the empty one is ended first and a new one
     * begun after.
     */
    void flushOnCommit(UnitOfWork.Durability durability) throws SQLException {
      if (durability == synchronous) {
        return;
      }
      connection.setAutoCommit(true);
      try (Statement statement = connection.createStatement()) {
        statement.execute(
            durability == UnitOfWork.Durability.DURABLE
                ? "PRAGMA synchronous = FULL"
                : "PRAGMA synchronous = NORMAL");
      } finally {
        connection.setAutoCommit(false);
      }
      synchronous = durability;
    }

    PreparedStatement prepare(String sql) throws SQLException {
      PreparedStatement statement = statements.get(sql);
      if (statement == null) {
        statement = connection.prepareStatement(sql);
        statements.put(sql, statement);
      }
      return statement;
    }
  }

  private Session session() throws SQLException {
    Session current = session.get();
    if (current == null) {
      // Nothing reads generated keys: with them on, sqlite-jdbc runs a SELECT last_insert_rowid()
      // after every INSERT: over a quarter of the JDBC thread's time in a 1,000-document ingest.
      Properties properties = new Properties();
      properties.setProperty(SQLiteConfig.Pragma.JDBC_GET_GENERATED_KEYS.pragmaName, "false");
      Connection connection =
          DriverManager.getConnection("jdbc:sqlite:" + databaseFile, properties);
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA busy_timeout = 30000");
        // Only takes effect on a database file that is still empty, so before the first table
        // (and before WAL mode, which fixes it); a no-op on an existing database.
        statement.execute("PRAGMA page_size = " + config.pageSize());
        statement.execute("PRAGMA journal_mode = WAL");
        statement.execute("PRAGMA synchronous = FULL");
        connection.setAutoCommit(false);
      } catch (SQLException e) {
        connection.close();
        throw e;
      }
      current = new Session(connection);
      sessions.add(current);
      session.set(current);
    }
    return current;
  }

  private <T extends @Nullable Object> T onJdbc(String what, SqlWork<T> work) {
    checkOpen();
    if (Thread.currentThread().isInterrupted()) {
      // Checked here, not only by future.get(): get() returns a result that is already there
      // without looking at the flag, so a fast JDBC thread would let an interrupted caller on.
      throw new StoreException(
          "interrupted before " + what + " on " + databaseFile + "; nothing was done");
    }
    Future<T> future;
    try {
      future =
          jdbc.submit(
              () -> {
                Session current = session();
                try {
                  return work.run(current.connection);
                } catch (Throwable e) {
                  // An Error mid-unit too: the statements run so far are in the transaction.
                  discard(current);
                  throw e;
                }
              });
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("storage is closed", e);
    }
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // The work may still complete; a commit is then durable but the caller was not told.
      throw new StoreException("interrupted while waiting for " + what + " on " + databaseFile, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof StoreException se) {
        throw new StoreException(Objects.requireNonNullElse(se.getMessage(), what), se);
      }
      if (cause instanceof SQLException) {
        throw new StoreException(
            "cannot " + what + " " + databaseFile + ": " + cause.getMessage(), cause);
      }
      if (cause instanceof IllegalArgumentException iae) {
        throw new IllegalArgumentException(iae.getMessage(), iae);
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      throw new StoreException("cannot " + what + " " + databaseFile, cause);
    }
  }

  private <T extends @Nullable Object> T read(String what, SqlWork<T> work) {
    return onJdbc(
        what,
        c -> {
          visibility.readLock().lock();
          try {
            return work.run(c);
          } finally {
            visibility.readLock().unlock();
            c.commit(); // ends the read transaction so WAL checkpoints can progress
          }
        });
  }

  /** Runs {@code reader} over the in-memory index and graph under the read lock. */
  private <T> T inMemory(Supplier<T> reader) {
    checkOpen();
    visibility.readLock().lock();
    try {
      return reader.get();
    } finally {
      visibility.readLock().unlock();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("storage is closed");
    }
  }

  // ---- open: load the in-memory parts ----

  private void load(Connection c) throws SQLException {
    try (Statement statement = c.createStatement()) {
      Map<String, Integer> counts = new HashMap<>();
      try (ResultSet rows = statement.executeQuery("SELECT ns, COUNT(*) FROM vectors GROUP BY ns")) {
        while (rows.next()) {
          counts.put(rows.getString(1), rows.getInt(2));
        }
      }
      try (ResultSet rows = statement.executeQuery("SELECT ns, id, vector FROM vectors")) {
        while (rows.next()) {
          String ns = rows.getString(1);
          String id = rows.getString(2);
          float[] vector = Blobs.vector(rows.getBytes(3));
          FlatVectorIndex index =
              vectorIndexes.computeIfAbsent(
                  ns,
                  k -> {
                    FlatVectorIndex created = newIndex(vector.length);
                    created.reserve(counts.getOrDefault(k, 0)); // exact size: no growth slack
                    return created;
                  });
          if (index.dimensions() != vector.length) {
            throw new StoreException(
                databaseFile
                    + " is corrupt: vector "
                    + id
                    + " of namespace "
                    + ns
                    + " has dimension "
                    + vector.length
                    + ", others "
                    + index.dimensions());
          }
          index.upsert(id, vector);
        }
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT name, type, description, source_ids, properties FROM entities")) {
        while (rows.next()) {
          graph.putEntity(
              new Entity(
                  rows.getString(1),
                  rows.getString(2),
                  rows.getString(3),
                  Blobs.strings(rows.getBytes(4)),
                  Blobs.map(rows.getBytes(5))));
        }
      }
      try (ResultSet rows =
          statement.executeQuery(
              "SELECT source, target, keywords, description, weight, source_ids, properties"
                  + " FROM relations")) {
        while (rows.next()) {
          graph.putRelation(
              new Relation(
                  rows.getString(1),
                  rows.getString(2),
                  rows.getString(3),
                  rows.getString(4),
                  rows.getDouble(5),
                  Blobs.strings(rows.getBytes(6)),
                  Blobs.map(rows.getBytes(7))));
        }
      }
    }
    c.commit();
  }

  private FlatVectorIndex newIndex(int dimensions) {
    ExecutorService helpers = searchHelpers;
    Executor helper = helpers == null ? Runnable::run : helpers;
    return FlatVectorIndex.create(
        dimensions, config.vectorEncoding(), config.searchParallelism(), helper);
  }

  // ---- commit ----

  /** Fails the unit before anything is written if a vector's dimension does not fit. */
  private void checkDimensions(List<Operation> operations) {
    Map<String, Integer> dimensions = new HashMap<>();
    for (Operation op : operations) {
      if (op instanceof VectorUpsert v) {
        Integer expected = dimensions.get(v.namespace());
        if (expected == null) {
          FlatVectorIndex index = vectorIndexes.get(v.namespace());
          expected = index == null ? v.vector().length : index.dimensions();
          dimensions.put(v.namespace(), expected);
        }
        if (expected != v.vector().length) {
          throw new IllegalArgumentException(
              "vector: dimension "
                  + v.vector().length
                  + " (expected: "
                  + expected
                  + " in namespace "
                  + v.namespace()
                  + ")");
        }
      }
    }
  }

  private void write(Connection c, List<Operation> operations) throws SQLException {
    Session s = session();
    for (Operation op : operations) {
      switch (op) {
        case KvPut p -> update(
            s.prepare(
                "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?)"
                    + " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value"),
            p.namespace(),
            p.key(),
            p.value());
        case KvDelete d ->
            update(s.prepare("DELETE FROM kv WHERE ns = ? AND key = ?"), d.namespace(), d.key());
        case VectorUpsert v -> update(
            s.prepare(
                "INSERT INTO vectors (ns, id, vector) VALUES (?, ?, ?)"
                    + " ON CONFLICT (ns, id) DO UPDATE SET vector = excluded.vector"),
            v.namespace(),
            v.id(),
            Blobs.vector(v.vector()));
        case VectorDelete d ->
            update(
                s.prepare("DELETE FROM vectors WHERE ns = ? AND id = ?"), d.namespace(), d.id());
        case EntityUpsert u -> {
          Entity e = u.entity();
          update(
              s.prepare(
                  "INSERT OR REPLACE INTO entities (name, type, description, source_ids,"
                      + " properties) VALUES (?, ?, ?, ?, ?)"),
              e.name(),
              e.type(),
              e.description(),
              Blobs.strings(e.sourceChunkIds()),
              Blobs.map(e.properties()));
        }
        case EntityDelete d -> {
          update(s.prepare("DELETE FROM entities WHERE name = ?"), d.name());
          update(s.prepare("DELETE FROM relations WHERE a = ? OR b = ?"), d.name(), d.name());
        }
        case RelationUpsert u -> {
          Relation r = u.relation();
          boolean ordered = r.source().compareTo(r.target()) < 0;
          update(
              s.prepare(
                  "INSERT OR REPLACE INTO relations (a, b, source, target, keywords, description,"
                      + " weight, source_ids, properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
              ordered ? r.source() : r.target(),
              ordered ? r.target() : r.source(),
              r.source(),
              r.target(),
              r.keywords(),
              r.description(),
              r.weight(),
              Blobs.strings(r.sourceChunkIds()),
              Blobs.map(r.properties()));
        }
        case RelationDelete d -> {
          boolean ordered = d.a().compareTo(d.b()) < 0;
          update(
              s.prepare("DELETE FROM relations WHERE a = ? AND b = ?"),
              ordered ? d.a() : d.b(),
              ordered ? d.b() : d.a());
        }
        case DocStatusPut p -> {
          DocStatusRecord r = p.record();
          update(
              s.prepare(
                  "INSERT OR REPLACE INTO doc_status (doc_id, status, error, chunk_count,"
                      + " created_s, created_ns, updated_s, updated_ns)"
                      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
              r.docId(),
              r.status().name(),
              r.error(),
              r.chunkCount(),
              r.createdAt().getEpochSecond(),
              r.createdAt().getNano(),
              r.updatedAt().getEpochSecond(),
              r.updatedAt().getNano());
        }
        case DocStatusDelete d ->
            update(s.prepare("DELETE FROM doc_status WHERE doc_id = ?"), d.docId());
      }
    }
    c.commit();
  }

  private static void update(PreparedStatement statement, @Nullable Object... values)
      throws SQLException {
    for (int i = 0; i < values.length; i++) {
      statement.setObject(i + 1, values[i]);
    }
    statement.executeUpdate();
  }

  /** Applies a committed unit to memory. Cannot fail: dimensions were checked before writing. */
  private void apply(List<Operation> operations) {
    for (Operation op : operations) {
      switch (op) {
        case VectorUpsert v ->
            vectorIndexes
                .computeIfAbsent(v.namespace(), k -> newIndex(v.vector().length))
                .upsert(v.id(), v.vector());
        case VectorDelete d -> {
          FlatVectorIndex index = vectorIndexes.get(d.namespace());
          if (index != null && index.remove(d.id()) && index.size() == 0) {
            vectorIndexes.remove(d.namespace());
          }
        }
        case EntityUpsert u -> graph.putEntity(u.entity());
        case EntityDelete d -> graph.removeEntity(d.name());
        case RelationUpsert u -> {
          Relation r = u.relation();
          graph.removeRelation(r.source(), r.target());
          graph.putRelation(r);
        }
        case RelationDelete d -> graph.removeRelation(d.a(), d.b());
        case KvPut p -> {}
        case KvDelete d -> {}
        case DocStatusPut p -> {}
        case DocStatusDelete d -> {}
      }
    }
  }

  // ---- the four stores ----

  private final class KvView implements KvStore {
    @Override
    public Optional<String> get(String namespace, String key) {
      Checks.notBlank(namespace, "namespace");
      Checks.notBlank(key, "key");
      return read("read", c -> Optional.ofNullable(value(session(), namespace, key)));
    }

    @Override
    public Map<String, String> getAll(String namespace, Collection<String> keys) {
      Checks.notBlank(namespace, "namespace");
      Objects.requireNonNull(keys, "keys");
      Set<String> wanted = new LinkedHashSet<>(Math.max(16, keys.size() * 2));
      for (String key : keys) {
        wanted.add(Checks.notBlank(key, "key"));
      }
      checkOpen(); // before the shortcut: a closed storage says so, empty question or not
      if (wanted.isEmpty()) {
        return Map.of();
      }
      List<String> list = new ArrayList<>(wanted);
      return read(
          "read",
          c -> {
            Session s = session();
            Map<String, String> found = new HashMap<>(list.size() * 2);
            // One statement per slice of keys, not one per key: each JDBC step crosses into C.
            for (int from = 0; from < list.size(); from += KEYS_PER_READ) {
              List<String> slice = list.subList(from, Math.min(list.size(), from + KEYS_PER_READ));
              int params = slice.size() <= 1 ? 1 : Integer.highestOneBit(slice.size() - 1) << 1;
              PreparedStatement statement =
                  s.prepare(KEYS_IN[Integer.numberOfTrailingZeros(params)]);
              statement.setString(1, namespace);
              for (int i = 0; i < params; i++) {
                statement.setString(i + 2, slice.get(Math.min(i, slice.size() - 1)));
              }
              try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                  found.put(rows.getString(1), rows.getString(2));
                }
              }
            }
            Map<String, String> out = new LinkedHashMap<>(found.size() * 2);
            for (String key : list) { // in the order asked
              String value = found.get(key);
              if (value != null) {
                out.put(key, value);
              }
            }
            return java.util.Collections.unmodifiableMap(out);
          });
    }

    private @Nullable String value(Session s, String namespace, String key) throws SQLException {
      PreparedStatement statement = s.prepare("SELECT value FROM kv WHERE ns = ? AND key = ?");
      statement.setString(1, namespace);
      statement.setString(2, key);
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next() ? rows.getString(1) : null;
      }
    }

    @Override
    public List<String> keys(String namespace) {
      Checks.notBlank(namespace, "namespace");
      return read(
          "read",
          c -> {
            PreparedStatement statement =
                session().prepare("SELECT key FROM kv WHERE ns = ? ORDER BY key");
            statement.setString(1, namespace);
            List<String> out = new ArrayList<>();
            try (ResultSet rows = statement.executeQuery()) {
              while (rows.next()) {
                out.add(rows.getString(1));
              }
            }
            return List.copyOf(out);
          });
    }

    @Override
    public void put(String namespace, String key, String value) {
      commit(new UnitOfWork().put(namespace, key, value));
    }

    @Override
    public void delete(String namespace, String key) {
      commit(new UnitOfWork().delete(namespace, key));
    }
  }

  private final class VectorView implements VectorStore {
    /** What a read makes of a namespace's index, which is null while the namespace is empty. */
    private interface IndexRead<T> {
      T apply(@Nullable FlatVectorIndex index);
    }

    /** Runs {@code read} on {@code namespace}'s index, under the read lock, if still open. */
    private <T> T read(String namespace, IndexRead<T> read) {
      checkOpen();
      visibility.readLock().lock();
      try {
        return read.apply(vectorIndexes.get(namespace));
      } finally {
        visibility.readLock().unlock();
      }
    }

    @Override
    public List<VectorMatch> query(
        String namespace,
        float[] vector,
        int topK,
        float minScore,
        @Nullable Predicate<String> idFilter) {
      Checks.notBlank(namespace, "namespace");
      Checks.positive(topK, "topK");
      if (Float.isNaN(minScore)) {
        throw new IllegalArgumentException("minScore: NaN (expected: a number)");
      }
      Vectors.check(vector, "vector"); // the index normalises its own copy
      return read(
          namespace,
          index -> index == null ? List.of() : index.search(vector, topK, minScore, idFilter));
    }

    @Override
    public boolean contains(String namespace, String id) {
      Checks.notBlank(namespace, "namespace");
      Checks.notBlank(id, "id");
      return read(namespace, index -> index != null && index.contains(id));
    }

    @Override
    public int size(String namespace) {
      Checks.notBlank(namespace, "namespace");
      return read(namespace, index -> index == null ? 0 : index.size());
    }

    @Override
    public OptionalInt dimension(String namespace) {
      Checks.notBlank(namespace, "namespace");
      return read(
          namespace,
          index ->
              index == null || index.size() == 0
                  ? OptionalInt.empty()
                  : OptionalInt.of(index.dimensions()));
    }

    @Override
    public void upsert(String namespace, String id, float[] vector) {
      commit(new UnitOfWork().upsertVector(namespace, id, vector));
    }

    @Override
    public void delete(String namespace, String id) {
      commit(new UnitOfWork().deleteVector(namespace, id));
    }
  }

  private final class GraphView implements GraphStore {
    @Override
    public Optional<Entity> entity(String name) {
      Checks.notBlank(name, "name");
      return inMemory(() -> graph.entity(name));
    }

    @Override
    public Optional<Relation> relation(String a, String b) {
      Checks.notBlank(a, "a");
      Checks.notBlank(b, "b");
      return inMemory(() -> graph.relation(a, b));
    }

    @Override
    public List<Relation> relations(String name) {
      Checks.notBlank(name, "name");
      return inMemory(() -> graph.relations(name));
    }

    @Override
    public Set<String> neighbours(String name) {
      Checks.notBlank(name, "name");
      return inMemory(() -> graph.neighbours(name));
    }

    @Override
    public int degree(String name) {
      Checks.notBlank(name, "name");
      return inMemory(() -> graph.degree(name));
    }

    @Override
    public Map<String, Integer> degrees(Collection<String> names) {
      Objects.requireNonNull(names, "names");
      for (String name : names) {
        Checks.notBlank(name, "name");
      }
      checkOpen();
      visibility.readLock().lock();
      try {
        Map<String, Integer> out = new HashMap<>();
        for (String name : names) {
          out.put(name, graph.degree(name));
        }
        return Map.copyOf(out);
      } finally {
        visibility.readLock().unlock();
      }
    }

    @Override
    public int entityCount() {
      return inMemory(() -> graph.entityCount());
    }

    @Override
    public int relationCount() {
      return inMemory(() -> graph.relationCount());
    }

    @Override
    public void upsertEntity(Entity entity) {
      commit(new UnitOfWork().upsertEntity(entity));
    }

    @Override
    public void upsertRelation(Relation relation) {
      commit(new UnitOfWork().upsertRelation(relation));
    }

    @Override
    public void deleteEntity(String name) {
      commit(new UnitOfWork().deleteEntity(name));
    }

    @Override
    public void deleteRelation(String a, String b) {
      commit(new UnitOfWork().deleteRelation(a, b));
    }
  }

  private final class StatusView implements DocStatusStore {
    private static final String COLUMNS =
        "doc_id, status, error, chunk_count, created_s, created_ns, updated_s, updated_ns";

    @Override
    public Optional<DocStatusRecord> get(String docId) {
      Checks.notBlank(docId, "docId");
      return read("read", c -> Optional.ofNullable(status(session(), docId)));
    }

    @Override
    public Map<String, DocStatusRecord> getAll(Collection<String> docIds) {
      Objects.requireNonNull(docIds, "docIds");
      List<String> wanted = new ArrayList<>(docIds.size());
      for (String id : docIds) {
        wanted.add(Checks.notBlank(id, "docId"));
      }
      // One hand-off to a JDBC thread for all of them: the hand-off, not the lookup, is the cost.
      return read(
          "read",
          c -> {
            Session s = session();
            Map<String, DocStatusRecord> out = new HashMap<>();
            for (String id : wanted) {
              DocStatusRecord r = status(s, id);
              if (r != null) {
                out.put(id, r);
              }
            }
            return Map.copyOf(out);
          });
    }

    private @Nullable DocStatusRecord status(Session s, String docId) throws SQLException {
      PreparedStatement statement =
          s.prepare("SELECT " + COLUMNS + " FROM doc_status WHERE doc_id = ?");
      statement.setString(1, docId);
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next() ? record(rows) : null;
      }
    }

    @Override
    public List<DocStatusRecord> byStatus(DocStatus status) {
      Objects.requireNonNull(status, "status");
      return read(
          "read",
          c -> {
            PreparedStatement statement =
                session()
                    .prepare(
                        "SELECT "
                            + COLUMNS
                            + " FROM doc_status WHERE status = ?"
                            + " ORDER BY created_s, created_ns, doc_id");
            statement.setString(1, status.name());
            List<DocStatusRecord> out = new ArrayList<>();
            try (ResultSet rows = statement.executeQuery()) {
              while (rows.next()) {
                out.add(record(rows));
              }
            }
            return List.copyOf(out);
          });
    }

    @Override
    public Map<DocStatus, Integer> counts() {
      return read(
          "read",
          c -> {
            Map<DocStatus, Integer> out = new EnumMap<>(DocStatus.class);
            for (DocStatus status : DocStatus.values()) {
              out.put(status, 0);
            }
            PreparedStatement statement =
                session().prepare("SELECT status, COUNT(*) FROM doc_status GROUP BY status");
            try (ResultSet rows = statement.executeQuery()) {
              while (rows.next()) {
                out.put(DocStatus.valueOf(rows.getString(1)), rows.getInt(2));
              }
            }
            return Map.copyOf(out);
          });
    }

    private DocStatusRecord record(ResultSet rows) throws SQLException {
      return new DocStatusRecord(
          rows.getString(1),
          DocStatus.valueOf(rows.getString(2)),
          rows.getString(3),
          rows.getInt(4),
          Instant.ofEpochSecond(rows.getLong(5), rows.getInt(6)),
          Instant.ofEpochSecond(rows.getLong(7), rows.getInt(8)));
    }

    @Override
    public void put(DocStatusRecord record) {
      commit(new UnitOfWork().putDocStatus(record));
    }

    @Override
    public void delete(String docId) {
      commit(new UnitOfWork().deleteDocStatus(docId));
    }
  }

  // ---- helpers ----

  private static ThreadFactory daemons(String prefix) {
    AtomicInteger counter = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + counter.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  /**
   * Rolls back and closes this JDBC thread's session after a failure; the thread's next work opens
   * a new one. Reusing it is not safe: after an I/O error (a full disk) SQLite has already rolled
   * the transaction back, so sqlite-jdbc's {@code rollback()} fails before it begins the next one,
   * and the connection is left in autocommit mode, committing each statement of the next unit on
   * its own (a unit stored in part), with its prepared statements closed (every later commit and
   * read failed, even once the disk had room again).
   */
  private void discard(Session broken) {
    session.remove();
    sessions.remove(broken);
    try {
      broken.connection.rollback();
    } catch (SQLException ignored) {
      // The original failure is the one to report.
    }
    try {
      broken.connection.close(); // closes its statements too
    } catch (SQLException ignored) {
      // Nothing more to release; the next session is a new connection.
    }
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // Nothing more to release.
    }
  }
}
