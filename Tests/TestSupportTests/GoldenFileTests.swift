import Foundation
import TensorCore
import TestSupport
import XCTest

/// The golden-file library must fail when it should: these tests feed it wrong values.
final class GoldenFileTests: XCTestCase {
  var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
  }

  func testCompareReportsMaxErrorItsIndexAndFailureCount() {
    let expected: [Double] = [1, 2, 3, 4, 100]
    let actual: [Double] = [1, 2.5, 3, 4.0001, 100.01]
    let report = ComparisonReport.compare(actual, expected, atol: 1e-3, rtol: 1e-3)
    XCTAssertFalse(report.passed)
    XCTAssertEqual(report.outOfTolerance, 1)  // 100.01 is within 1e-3 + 1e-3·100
    XCTAssertEqual(report.firstFailureIndex, 1)
    XCTAssertEqual(report.maxAbsoluteError, 0.5)
    XCTAssertEqual(report.maxAbsoluteErrorIndex, 1)
    XCTAssertEqual(report.maxRelativeError, 0.25)
    XCTAssertTrue(report.description.contains("1 of 5 elements out of tolerance"), report.description)
    XCTAssertTrue(ComparisonReport.compare(actual, expected, atol: 0.6, rtol: 0).passed)
  }

  func testNaNAgainstANumberFailsAndNaNAgainstNaNPasses() {
    let report = ComparisonReport.compare([1, .nan], [1, 2], atol: 1, rtol: 1)
    XCTAssertFalse(report.passed)
    XCTAssertEqual(report.maxAbsoluteErrorIndex, 1)
    XCTAssertEqual(report.maxAbsoluteError, .infinity)
    XCTAssertTrue(ComparisonReport.compare([.nan, .infinity], [.nan, .infinity], atol: 0, rtol: 0).passed)
  }

  func testRecordThenCheckThenDetectChanges() throws {
    let path = directory.appendingPathComponent("sub/value.npy").path
    let value = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])

    // Missing golden file: a failure that says how to record it.
    guard case .mismatched(let missing) = GoldenFile(path: path, recordMode: false).check(value, atol: 0, rtol: 0) else {
      return XCTFail("a missing golden file must fail")
    }
    XCTAssertTrue(missing.contains("LATENTLAB_RECORD=1"), missing)

    // Record mode writes it.
    XCTAssertEqual(GoldenFile(path: path, recordMode: true).check(value, atol: 0, rtol: 0), .recorded(path: path))
    XCTAssertTrue(FileManager.default.fileExists(atPath: path))

    // Now it matches, and a change beyond tolerance is caught with its index.
    let golden = GoldenFile(path: path, recordMode: false)
    XCTAssertTrue(golden.check(value, atol: 0, rtol: 0).isSuccess)
    var changed = value
    changed[1, 0] += 1e-3
    XCTAssertTrue(golden.check(changed, atol: 1e-2, rtol: 0).isSuccess)
    guard case .mismatched(let message) = golden.check(changed, atol: 1e-4, rtol: 0) else {
      return XCTFail("a change beyond tolerance must fail")
    }
    XCTAssertTrue(message.contains("1 of 4 elements out of tolerance"), message)
    XCTAssertTrue(message.contains("at index 2"), message)

    // A different shape fails even with the same elements.
    guard case .mismatched(let shapeMessage) = golden.check(value.reshaped([4]), atol: 1, rtol: 1) else {
      return XCTFail("a shape change must fail")
    }
    XCTAssertTrue(shapeMessage.contains("shape [4]"), shapeMessage)
  }

  func testIntegerGoldenFilesCompareExactly() throws {
    let path = directory.appendingPathComponent("words.npy").path
    let words: [UInt64] = [1, UInt64.max, 1 << 60]
    XCTAssertEqual(
      GoldenFile(path: path, recordMode: true).check(NumPyArray(shape: [3], uint64s: words), atol: 0, rtol: 0),
      .recorded(path: path))
    let golden = GoldenFile(path: path, recordMode: false)
    XCTAssertTrue(golden.check(NumPyArray(shape: [3], uint64s: words), atol: 0, rtol: 0).isSuccess)
    // One bit off in a large word: Double would round it away; the integer path must not.
    XCTAssertFalse(golden.check(NumPyArray(shape: [3], uint64s: [1, UInt64.max - 1, 1 << 60]), atol: 1, rtol: 1).isSuccess)
  }

  func testRecordModeFollowsTheEnvironmentVariableName() {
    XCTAssertEqual(GoldenFile.recordVariable, "LATENTLAB_RECORD")
    XCTAssertTrue(Fixture.path("golden").hasSuffix("/Fixtures/golden"))
    XCTAssertTrue(FileManager.default.fileExists(atPath: Fixture.path("golden/rng")))
  }
}
