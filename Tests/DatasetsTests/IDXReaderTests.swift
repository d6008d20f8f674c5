import Datasets
import Foundation
import TestSupport
import XCTest

/// Oracle: files written by `Fixtures/generators/idx_fixtures.py` (NumPy, big-endian dtypes)
/// with their values in `Fixtures/idx/types/expected.json`.
final class IDXReaderTests: XCTestCase {
  struct Expected: Decodable {
    var shape: [Int]
    var values: [Double]
  }

  func testEveryElementTypeRawAndGzip() throws {
    let json = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("idx/types/expected.json")))
    let expected = try JSONDecoder().decode([String: Expected].self, from: json)
    XCTAssertEqual(Set(expected.keys), Set(IDXElementType.allCases.map { "\($0)" }))
    for type in IDXElementType.allCases {
      let want = try XCTUnwrap(expected["\(type)"])
      for suffix in ["", ".gz"] {
        let path = Fixture.path("idx/types/\(type).idx\(suffix)")
        let array = try IDXReader.read(path: path)
        XCTAssertEqual(array.elementType, type, path)
        XCTAssertEqual(array.dimensions, want.shape, path)
        XCTAssertEqual(array.doubles(), want.values, path)
      }
      // The checksum is of the decompressed bytes, so raw and gzip agree.
      let raw = try IDXReader.read(path: Fixture.path("idx/types/\(type).idx"))
      let gz = try IDXReader.read(path: Fixture.path("idx/types/\(type).idx.gz"))
      XCTAssertEqual(raw.sha256, gz.sha256)
      let file = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("idx/types/\(type).idx")))
      XCTAssertEqual(raw.sha256, SHA256.hexDigest(of: [UInt8](file)))
    }
  }

  private func assertReadFails(
    _ relative: String, _ expected: (String) -> IDXError, mentions: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    let path = Fixture.path(relative)
    XCTAssertThrowsError(try IDXReader.read(path: path), file: file, line: line) { error in
      XCTAssertEqual(error as? IDXError, expected(path), file: file, line: line)
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix(path), "message must name the file: \(text)", file: file, line: line)
      XCTAssertTrue(text.contains(mentions), "message must say what was expected: \(text)", file: file, line: line)
    }
  }

  func testBadInputsAreTypedErrorsNamingTheFile() {
    assertReadFails("idx/bad/bad-magic.idx", { .badMagic(path: $0, found: 0x0102_0801) }, mentions: "expected 0x0000TTNN")
    assertReadFails("idx/bad/unknown-type.idx", { .unknownElementType(path: $0, code: 7) }, mentions: "0x08 (uint8)")
    assertReadFails(
      "idx/bad/short-payload.idx",
      { .sizeMismatch(path: $0, dimensions: [12], expectedBytes: 12, foundBytes: 9, atLeast: false, atMost: false) },
      mentions: "call for 12 payload bytes")
    assertReadFails(
      "idx/bad/long-payload.idx",
      { .sizeMismatch(path: $0, dimensions: [12], expectedBytes: 12, foundBytes: 13, atLeast: true, atMost: false) },
      mentions: "at least 13")
    assertReadFails(
      "idx/bad/huge-dimensions.idx",
      {
        .sizeMismatch(
          path: $0, dimensions: [2_147_483_647, 28, 28], expectedBytes: 1_683_627_179_248, foundBytes: 16,
          atLeast: false, atMost: false)
      },
      mentions: "the file holds 16")
    assertReadFails(
      "idx/bad/truncated-header.idx", { .truncatedHeader(path: $0, expectedBytes: 16, foundBytes: 9) },
      mentions: "expected 16 header bytes")
    assertReadFails("idx/bad/truncated.idx.gz", { .truncatedGzip(path: $0) }, mentions: "truncated gzip")
    let corrupt = Fixture.path("idx/bad/corrupt.idx.gz")
    XCTAssertThrowsError(try IDXReader.read(path: corrupt)) { error in
      guard case .corruptGzip(let path, let reason)? = error as? IDXError else {
        return XCTFail("expected corruptGzip, got \(error)")
      }
      XCTAssertEqual(path, corrupt)
      XCTAssertFalse(reason.isEmpty)
    }
    let missing = Fixture.path("idx/bad/no-such-file.idx")
    XCTAssertThrowsError(try IDXReader.read(path: missing)) { error in
      XCTAssertEqual(error as? IDXError, .fileNotFound(path: missing, alternatives: [missing]))
    }
  }

  func testStreamingDeliversThePayloadInOrder() throws {
    let path = Fixture.path("idx/tiny/train-images-idx3-ubyte.gz")
    let whole = try IDXReader.read(path: path)
    var streamed: [UInt8] = []
    var offsets: [Int] = []
    let (header, sha) = try IDXReader.stream(path: path, begin: { XCTAssertEqual($0.dimensions, [12, 28, 28]) }) { chunk, offset in
      offsets.append(offset)
      XCTAssertEqual(offset, streamed.count)
      streamed.append(contentsOf: chunk)
    }
    XCTAssertEqual(header.dimensions, [12, 28, 28])
    XCTAssertEqual(streamed, whole.payload)
    XCTAssertEqual(sha, whole.sha256)
    XCTAssertFalse(offsets.isEmpty)
  }

  func testConsumerErrorStopsTheStream() {
    struct Stop: Error {}
    XCTAssertThrowsError(
      try IDXReader.stream(path: Fixture.path("idx/tiny/train-images-idx3-ubyte.gz"), begin: { _ in }) { _, _ in
        throw Stop()
      }
    ) { XCTAssertTrue($0 is Stop) }
  }
}
