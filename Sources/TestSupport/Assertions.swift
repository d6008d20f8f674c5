import TensorCore
import XCTest

/// Asserts that `actual` matches its golden file within `atol + rtol · |expected|`, or
/// records it in record mode (`LATENTLAB_RECORD=1`).
public func assertMatchesGolden(
  _ actual: NumPyArray, _ golden: GoldenFile, atol: Double, rtol: Double,
  file: StaticString = #filePath, line: UInt = #line
) {
  switch golden.check(actual, atol: atol, rtol: rtol) {
  case .matched: break
  case .recorded(let path): print("recorded golden file \(path)")
  case .mismatched(let message): XCTFail(message, file: file, line: line)
  }
}

/// Asserts that `actual` matches its golden file (see the `NumPyArray` overload).
public func assertMatchesGolden(
  _ actual: Tensor, _ golden: GoldenFile, atol: Double, rtol: Double,
  file: StaticString = #filePath, line: UInt = #line
) {
  assertMatchesGolden(NumPyArray(actual), golden, atol: atol, rtol: rtol, file: file, line: line)
}

/// Asserts that two arrays agree elementwise within `atol + rtol · |expected|`.
public func assertClose(
  _ actual: [Double], _ expected: [Double], atol: Double, rtol: Double,
  _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
  guard actual.count == expected.count else {
    XCTFail("counts differ: \(actual.count) vs \(expected.count). \(message())", file: file, line: line)
    return
  }
  let report = ComparisonReport.compare(actual, expected, atol: atol, rtol: rtol)
  if !report.passed { XCTFail("\(report). \(message())", file: file, line: line) }
}

/// Asserts that two float arrays agree elementwise within `atol + rtol · |expected|`.
public func assertClose(
  _ actual: [Float], _ expected: [Float], atol: Double, rtol: Double,
  _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
  assertClose(actual.map(Double.init), expected.map(Double.init), atol: atol, rtol: rtol, message(), file: file, line: line)
}

/// Asserts that two tensors have the same shape and the same bits in every element (a result
/// that must not depend on the path or the thread count); the failure counts the differences.
public func assertBitIdentical(
  _ actual: Tensor, _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.shape, expected.shape, what, file: file, line: line)
  let differing = zip(actual.scalars, expected.scalars).filter { $0.bitPattern != $1.bitPattern }.count
  XCTAssertEqual(differing, 0, "\(what): \(differing) of \(actual.count) elements differ", file: file, line: line)
}

/// Asserts that two tensors of the same shape agree elementwise within
/// `scaleTolerance · max|expected| + rtol · |expected|`: two float32 summation orders of many
/// terms differ relative to the tensor's scale, not to each element (an element that sums to
/// nearly zero has no relative precision).
public func assertCloseToScale(
  _ actual: Tensor, _ expected: Tensor, scaleTolerance: Float, rtol: Float, _ what: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.shape, expected.shape, what, file: file, line: line)
  let scale = expected.scalars.reduce(0) { max($0, abs($1)) }
  var worst: Float = 0
  var worstExcess = -Float.infinity
  for (x, y) in zip(actual.scalars, expected.scalars) {
    let excess = abs(x - y) - (scaleTolerance * scale + rtol * abs(y))
    if excess > worstExcess { (worstExcess, worst) = (excess, abs(x - y)) }
  }
  XCTAssertLessThanOrEqual(
    worstExcess, 0, "\(what): a difference of \(worst) against scale \(scale) exceeds the tolerance", file: file, line: line)
}
