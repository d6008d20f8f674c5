import Datasets
import TensorCore
import XCTest

/// Oracle: the FIPS 180-4 example messages and the NIST CAVS vectors.
final class SHA256Tests: XCTestCase {
  func testKnownVectors() {
    XCTAssertEqual(SHA256.hexDigest(of: Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(SHA256.hexDigest(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(
      SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 1_000_000)),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  func testPortableAndHardwarePathsAgree() {
    var g = SeededGenerator(seed: 1, streamName: "test/sha")
    for length in [0, 1, 55, 56, 63, 64, 65, 1000, 100_003] {
      let message = (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) }
      var portable = SHA256(portable: true)
      var fast = SHA256()
      portable.update(message)
      fast.update(message)
      XCTAssertEqual(portable.hexDigest(), fast.hexDigest(), "length \(length)")
    }
    XCTAssertFalse(SHA256(portable: true).usesHardware)
  }

  func testKnownVectorsOnThePortablePath() {
    var h = SHA256(portable: true)
    h.update(Array("abc".utf8))
    XCTAssertEqual(h.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    var million = SHA256(portable: true)
    million.update([UInt8](repeating: 0x61, count: 1_000_000))
    XCTAssertEqual(million.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  func testIncrementalUpdatesInAnyChunkingGiveTheSameDigest() {
    let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let whole = SHA256.hexDigest(of: message)
    for chunk in [1, 3, 63, 64, 65, 127, 500] {
      var h = SHA256()
      var i = 0
      while i < message.count {
        h.update(message[i..<min(i + chunk, message.count)])
        i += chunk
      }
      XCTAssertEqual(h.hexDigest(), whole, "chunk \(chunk)")
    }
  }
}
