import Foundation

/// Where a study lives: `--storage` parsed.
///
/// A folder path is the embedded store (`FOLDER/studies.sqlite`, no server; several processes
/// on one machine may share it). `postgresql://user[:password]@host[:port]/database` (or
/// `postgres://`) is a PostgreSQL server; `?schema=NAME` names the schema of our tables
/// (default `latentlab`), other query parameters go to libpq unchanged (`sslmode=require`, …).
public enum StorageLocation: Equatable, Sendable, CustomStringConvertible {
  case embedded(folder: String)
  case postgres(PostgresAddress)

  /// Parses `--storage`.
  /// - Throws: `StudyError.invalid` for a PostgreSQL URL that cannot be read, naming what is wrong.
  public init(_ text: String) throws {
    if text.hasPrefix("postgresql://") || text.hasPrefix("postgres://") {
      self = .postgres(try PostgresAddress(url: text))
    } else {
      guard !text.isEmpty else { throw StudyError.invalid("--storage: expected a folder or a postgresql:// URL, got an empty string") }
      guard !text.contains("://") else {
        throw StudyError.invalid("--storage \(text): unknown scheme; expected a folder or postgresql://user@host:port/database")
      }
      self = .embedded(folder: text)
    }
  }

  /// The embedded store's database file in `folder`.
  public static func embeddedFile(in folder: String) -> String { folder + "/studies.sqlite" }

  /// The location as a person should read it (a PostgreSQL password masked).
  public var description: String {
    switch self {
    case .embedded(let folder): return StorageLocation.embeddedFile(in: folder)
    case .postgres(let address): return address.display
    }
  }
}

/// A PostgreSQL server and database, and the schema our tables live in.
public struct PostgresAddress: Equatable, Sendable {
  /// The libpq connection URI (our `schema` parameter removed, `connect_timeout` added).
  public var connectionURI: String
  /// The schema holding `studies` and `trials`.
  public var schema: String
  /// The URL with its password masked, for messages.
  public var display: String

  /// Seconds libpq waits for a server before it gives up, unless the URL says otherwise.
  public static let defaultConnectTimeout = 5

  /// Reads a `postgresql://` URL.
  /// - Throws: `StudyError.invalid` naming the URL (password masked) and the problem.
  public init(url: String) throws {
    guard var parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else {
      throw StudyError.invalid("--storage: \(PostgresAddress.masked(url)) is not a PostgreSQL URL (expected postgresql://user@host:port/database)")
    }
    let database = String(parts.path.drop { $0 == "/" })
    guard !database.isEmpty, !database.contains("/") else {
      throw StudyError.invalid("--storage: \(PostgresAddress.masked(url)) names no database (expected postgresql://user@host:port/database)")
    }
    var items = parts.queryItems ?? []
    var schema = "latentlab"
    if let index = items.firstIndex(where: { $0.name == "schema" }) {
      schema = items[index].value ?? ""
      items.remove(at: index)
    }
    guard let first = schema.unicodeScalars.first, CharacterSet.lowercaseLetters.contains(first) || first == "_",
      schema.unicodeScalars.allSatisfy({ ($0.isASCII && CharacterSet.alphanumerics.contains($0) && !CharacterSet.uppercaseLetters.contains($0)) || $0 == "_" }),
      schema.count <= 63
    else {
      throw StudyError.invalid("--storage: schema \"\(schema)\" must be lower-case letters, digits and _, starting with a letter")
    }
    if !items.contains(where: { $0.name == "connect_timeout" }) {
      items.append(URLQueryItem(name: "connect_timeout", value: String(PostgresAddress.defaultConnectTimeout)))
    }
    parts.queryItems = items
    guard let uri = parts.string else { throw StudyError.invalid("--storage: \(PostgresAddress.masked(url)) cannot be read") }
    connectionURI = uri
    self.schema = schema
    display = PostgresAddress.masked(url)
  }

  /// `url` with the password between `:` and `@` replaced by `***`.
  static func masked(_ url: String) -> String {
    guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
    let userInfo = url[scheme.upperBound..<at]
    guard let colon = userInfo.firstIndex(of: ":") else { return url }
    return String(url[..<colon]) + ":***" + String(url[at...])
  }
}
