import Foundation
import Studies
import TestSupport
import XCTest

/// A wrong port, password or database fails at once with a message naming it (oracle: the
/// server's own refusal, seen within seconds; the password never printed).
final class PostgresConnectionErrorTests: XCTestCase {
  func testWrongAddressesFailClearlyWithinSeconds() throws {
    let server = try TemporaryPostgresServer()
    defer { server.stop() }
    let unused = try TemporaryPostgresServer.freePort()
    let cases: [(String, String)] = [
      ("postgresql://latentlab:password@127.0.0.1:\(unused)/postgres", "Connection refused"),
      (server.url(password: "wrong"), "password authentication failed"),
      (server.url(database: "missing"), "database \"missing\" does not exist"),
    ]
    for (url, expected) in cases {
      let start = Date()
      XCTAssertThrowsError(try StudyStorages.open(StorageLocation(url))) { error in
        let message = "\(error)"
        XCTAssertTrue(message.contains("cannot connect") && message.contains(expected), message)
        XCTAssertFalse(message.contains(":password@") || message.contains(":wrong@"), "the password is masked: \(message)")
      }
      XCTAssertLessThan(Date().timeIntervalSince(start), 5, url)
    }
    XCTAssertThrowsError(try StorageLocation("postgresql://u@h:1/")) { XCTAssertTrue("\($0)".contains("names no database"), "\($0)") }
    XCTAssertThrowsError(try StorageLocation("postgresql://u@h:1/d?schema=Bad-Name")) { XCTAssertTrue("\($0)".contains("schema"), "\($0)") }
    XCTAssertThrowsError(try StorageLocation("mysql://u@h/d")) { XCTAssertTrue("\($0)".contains("unknown scheme"), "\($0)") }
  }
}
