package io.ragengine.store.embedded;

import java.nio.file.Path;
import io.ragengine.store.StoreException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The database layout and its migrations. The version lives in {@code PRAGMA user_version}: 0 is
 * an empty file, and step {@code i} of {@link #STEPS} takes version {@code i} to {@code i + 1}.
 * A file of a newer version than {@link #VERSION} is refused; an older one is migrated in one
 * transaction per step.
 */
final class Schema {
  private Schema() {}

  private static final List<List<String>> STEPS =
      List.of(
          // 0 -> 1: the four stores.
          List.of(
              "CREATE TABLE kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
                  + " PRIMARY KEY (ns, key))",
              "CREATE TABLE vectors (ns TEXT NOT NULL, id TEXT NOT NULL, vector BLOB NOT NULL,"
                  + " PRIMARY KEY (ns, id))",
              "CREATE TABLE entities (name TEXT PRIMARY KEY, type TEXT NOT NULL,"
                  + " description TEXT NOT NULL, source_ids BLOB NOT NULL,"
                  + " properties BLOB NOT NULL)",
              // a < b: the pair of names in order, so an undirected relation has one row.
              "CREATE TABLE relations (a TEXT NOT NULL, b TEXT NOT NULL, source TEXT NOT NULL,"
                  + " target TEXT NOT NULL, keywords TEXT NOT NULL, description TEXT NOT NULL,"
                  + " weight REAL NOT NULL, source_ids BLOB NOT NULL, properties BLOB NOT NULL,"
                  + " PRIMARY KEY (a, b))",
              "CREATE INDEX relations_by_b ON relations (b)",
              "CREATE TABLE doc_status (doc_id TEXT PRIMARY KEY, status TEXT NOT NULL,"
                  + " error TEXT, chunk_count INTEGER NOT NULL, created_s INTEGER NOT NULL,"
                  + " created_ns INTEGER NOT NULL, updated_s INTEGER NOT NULL,"
                  + " updated_ns INTEGER NOT NULL)"),
          // 1 -> 2: byStatus() reads documents of one status, oldest first.
          List.of(
              "CREATE INDEX doc_status_by_status ON doc_status (status, created_s, created_ns,"
                  + " doc_id)"));

  /** The version this code writes. */
  static final int VERSION = STEPS.size();

  /** Brings the database at {@code file} to {@link #VERSION}; refuses newer versions. */
  static void migrate(Connection connection, Path file) throws SQLException {
    int version = version(connection);
    if (version > VERSION) {
      throw new StoreException(
          file
              + " has schema version "
              + version
              + ", newer than the "
              + VERSION
              + " this ragengine supports: open it with a newer ragengine");
    }
    for (int step = version; step < VERSION; step++) {
      try (Statement statement = connection.createStatement()) {
        for (String sql : STEPS.get(step)) {
          statement.executeUpdate(sql);
        }
        statement.executeUpdate("PRAGMA user_version = " + (step + 1));
        connection.commit();
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      }
    }
  }

  static int version(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("PRAGMA user_version")) {
      return rows.next() ? rows.getInt(1) : 0;
    }
  }

  /** Runs the first {@code steps} migration steps only: for tests of older files. */
  static void createAtVersion(Connection connection, int steps) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      for (int step = 0; step < steps; step++) {
        for (String sql : STEPS.get(step)) {
          statement.executeUpdate(sql);
        }
      }
      statement.executeUpdate("PRAGMA user_version = " + steps);
    }
  }
}
