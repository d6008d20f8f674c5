import Foundation
import TensorCore
import TestSupport
import XCTest

final class NumPyArrayFileTests: XCTestCase {
  func testWriteThenReadRoundTrips() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .pi, 0, 1e-20])
    let path = dir.appendingPathComponent("a.npy").path
    try NumPyArray(t).write(path: path)
    let back = try NumPyArray.read(path: path)
    XCTAssertEqual(back.shape, [2, 3])
    XCTAssertEqual(back.dtype, .float32)
    XCTAssertEqual(back.tensor(), t)
    let bytes = NumPyArray(t).fileBytes()
    XCTAssertEqual((bytes.count - 6 * 4) % 64, 0, "data must start on a 64-byte boundary")
  }

  /// Oracle: files written by NumPy's own `np.save` (the RNG golden files).
  func testReadsFilesWrittenByNumPy() throws {
    let words = try NumPyArray.read(path: Fixture.path("golden/rng/seed42_init_uint64.npy"))
    XCTAssertEqual(words.dtype, .uint64)
    XCTAssertEqual(words.shape, [16])
    let perm = try NumPyArray.read(path: Fixture.path("golden/rng/seed42_shuffle_permutation20.npy"))
    XCTAssertEqual(perm.dtype, .int64)
    XCTAssertEqual(perm.doubles().map { Int($0) }.sorted(), Array(0..<20))
  }

  func testMalformedFilesAreClearErrors() {
    XCTAssertThrowsError(try NumPyArray.parse([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], path: "x.npy")) { error in
      XCTAssertEqual(error as? NumPyArrayFileError, .badMagic(path: "x.npy"))
    }
    var bytes = NumPyArray(shape: [4], floats: [1, 2, 3, 4]).fileBytes()
    bytes.removeLast(2)
    XCTAssertThrowsError(try NumPyArray.parse(bytes, path: "short.npy")) { error in
      XCTAssertEqual(
        error as? NumPyArrayFileError, .sizeMismatch(path: "short.npy", shape: [4], expectedBytes: 16, foundBytes: 14))
      XCTAssertTrue("\(error)".contains("short.npy"))
    }
    XCTAssertThrowsError(try NumPyArray.read(path: "/nonexistent/file.npy")) { error in
      XCTAssertTrue("\(error)".hasPrefix("/nonexistent/file.npy: cannot read"), "\(error)")
    }
  }
}
