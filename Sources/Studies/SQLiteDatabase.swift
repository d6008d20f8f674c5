import CSQLite
import Foundation

/// A value bound to or read from SQL.
enum SQLValue: Equatable, Sendable {
  case null
  case integer(Int64)
  case real(Double)
  case text(String)

  var int: Int? {
    switch self {
    case .integer(let i): return Int(i)
    case .real(let r): return Int(exactly: r)
    default: return nil
    }
  }

  var double: Double? {
    switch self {
    case .real(let r): return r
    case .integer(let i): return Double(i)
    default: return nil
    }
  }

  var string: String? {
    if case .text(let s) = self { return s }
    return nil
  }
}

/// One SQLite connection (libsqlite3), in WAL mode with a generous busy timeout so several
/// processes can share the file; one thread at a time.
final class SQLiteDatabase {
  let path: String
  private var handle: OpaquePointer?

  /// How long a writer waits for another process's write lock before it gives up, in ms.
  static let busyTimeoutMilliseconds: Int32 = 60_000

  /// Opens (creating if need be) the database at `path`.
  /// - Throws: `StudyError.storage` naming the file and SQLite's message.
  init(path: String) throws {
    self.path = path
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
    let status = sqlite3_open_v2(path, &handle, flags, nil)
    guard status == SQLITE_OK else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      sqlite3_close(handle)
      handle = nil
      throw StudyError.storage("\(path): cannot open the study database: \(message)")
    }
    sqlite3_busy_timeout(handle, SQLiteDatabase.busyTimeoutMilliseconds)
    try execute("PRAGMA journal_mode = WAL")
    // FULL: a transaction reported committed survives a power loss, as a trial's result must.
    try execute("PRAGMA synchronous = FULL")
  }

  deinit { sqlite3_close_v2(handle) }

  private func failure(_ what: String) -> StudyError {
    StudyError.storage("\(path): \(what): \(String(cString: sqlite3_errmsg(handle)))")
  }

  /// Runs statements that return nothing.
  func execute(_ sql: String) throws {
    guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw failure("cannot run \(sql.prefix(40))…") }
  }

  /// Runs one statement with `?N` parameters and returns its rows.
  @discardableResult
  func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [[SQLValue]] {
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else { throw failure("cannot prepare a statement") }
    defer { sqlite3_finalize(statement) }
    for (i, value) in parameters.enumerated() {
      let index = Int32(i + 1)
      switch value {
      case .null: sqlite3_bind_null(statement, index)
      case .integer(let v): sqlite3_bind_int64(statement, index, v)
      case .real(let v): sqlite3_bind_double(statement, index, v)
      case .text(let v): latentlab_sqlite3_bind_text_copy(statement, index, v)
      }
    }
    var rows: [[SQLValue]] = []
    while true {
      let status = sqlite3_step(statement)
      if status == SQLITE_DONE { break }
      guard status == SQLITE_ROW else { throw failure("cannot run a statement") }
      rows.append(
        (0..<sqlite3_column_count(statement)).map { column in
          switch sqlite3_column_type(statement, column) {
          case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
          case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
          case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, column)))
          default: return .null
          }
        })
    }
    return rows
  }

  /// Rows changed by the last statement.
  var changes: Int { Int(sqlite3_changes(handle)) }

  /// Runs `body` in a write transaction taken at once (`BEGIN IMMEDIATE`), so two processes'
  /// claims never interleave; rolled back if `body` throws.
  func writeTransaction<T>(_ body: () throws -> T) throws -> T {
    try execute("BEGIN IMMEDIATE")
    do {
      let result = try body()
      try execute("COMMIT")
      return result
    } catch {
      try? execute("ROLLBACK")
      throw error
    }
  }
}
