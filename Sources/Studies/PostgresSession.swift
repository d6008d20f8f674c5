import CPostgres
import Foundation

/// A failed PostgreSQL call: the server's message and SQLSTATE, and whether the connection is gone.
struct PostgresFailure: Error, CustomStringConvertible {
  var message: String
  var sqlState: String?
  var connectionLost: Bool

  var description: String { message + (sqlState.map { " (SQLSTATE \($0))" } ?? "") }

  /// Worth reconnecting and retrying: the connection broke, or the server is shutting down,
  /// starting up or refused us for now (classes 08 and 57P).
  var isTransient: Bool {
    if connectionLost { return true }
    guard let state = sqlState else { return false }
    return state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300"
  }
}

/// One libpq connection; every query in text format with `$N` parameters; one thread at a time.
final class PostgresSession {
  private let connection: OpaquePointer

  /// Connects, failing within the URI's `connect_timeout`.
  /// - Throws: `PostgresFailure` with libpq's message (refused, authentication, no such database).
  init(uri: String) throws {
    guard let connection = PQconnectdb(uri) else {
      throw PostgresFailure(message: "out of memory", sqlState: nil, connectionLost: true)
    }
    guard PQstatus(connection) == CONNECTION_OK else {
      let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
      PQfinish(connection)
      throw PostgresFailure(message: message, sqlState: nil, connectionLost: true)
    }
    self.connection = connection
    // Floats print with enough digits to read back the same bits; the server's notices
    // ("relation already exists, skipping") are not for the user.
    _ = try query("SET extra_float_digits = 3")
    _ = try query("SET client_min_messages = warning")
  }

  deinit { PQfinish(connection) }

  /// The rows of one statement, each column as text or nil for NULL, and the number of rows
  /// it changed.
  struct Result {
    var rows: [[String?]]
    var changed: Int
  }

  /// Runs one statement with text parameters (`nil` is NULL).
  func query(_ sql: String, _ parameters: [String?] = []) throws -> Result {
    let cStrings = parameters.map { $0.map { strdup($0) } ?? nil }
    defer { cStrings.forEach { free($0) } }
    let pointers = cStrings.map { UnsafePointer<CChar>($0) }
    guard let result = PQexecParams(connection, sql, Int32(parameters.count), nil, pointers, nil, nil, 0) else {
      throw PostgresFailure(message: String(cString: PQerrorMessage(connection)), sqlState: nil, connectionLost: true)
    }
    defer { PQclear(result) }
    let status = PQresultStatus(result)
    guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
      let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
      let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
      throw PostgresFailure(
        message: message.isEmpty ? String(cString: PQerrorMessage(connection)) : message, sqlState: state,
        connectionLost: PQstatus(connection) != CONNECTION_OK)
    }
    let rowCount = PQntuples(result)
    let columnCount = PQnfields(result)
    var rows: [[String?]] = []
    rows.reserveCapacity(Int(rowCount))
    for r in 0..<rowCount {
      rows.append(
        (0..<columnCount).map { c in PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)) })
    }
    let changed = Int(String(cString: PQcmdTuples(result))) ?? 0
    return Result(rows: rows, changed: changed)
  }

  /// Runs `body` inside `BEGIN … COMMIT`, rolling back if it throws.
  func transaction<T>(_ body: () throws -> T) throws -> T {
    _ = try query("BEGIN")
    do {
      let value = try body()
      _ = try query("COMMIT")
      return value
    } catch {
      _ = try? query("ROLLBACK")
      throw error
    }
  }
}
