import Foundation
import TensorCore

/// How an array compares with its reference under `|actual − expected| <= atol + rtol · |expected|`
/// (NumPy's `allclose` rule, elementwise).
public struct ComparisonReport: Equatable, CustomStringConvertible {
  /// The largest absolute difference.
  public var maxAbsoluteError: Double
  /// The flat index where it occurs.
  public var maxAbsoluteErrorIndex: Int
  /// The largest `|actual − expected| / |expected|` over elements with `expected != 0`.
  public var maxRelativeError: Double
  /// How many elements are outside the tolerance (a NaN where the reference has a number counts).
  public var outOfTolerance: Int
  /// The first element outside the tolerance, if any.
  public var firstFailureIndex: Int?
  /// The number of elements compared.
  public var count: Int
  /// The tolerances used.
  public var atol: Double
  public var rtol: Double

  /// Whether every element is within tolerance.
  public var passed: Bool { outOfTolerance == 0 }

  public var description: String {
    let errorText = "max abs error \(maxAbsoluteError) at index \(maxAbsoluteErrorIndex), max rel error \(maxRelativeError)"
    return passed
      ? "all \(count) elements within atol \(atol) + rtol \(rtol)·|expected|; \(errorText)"
      : "\(outOfTolerance) of \(count) elements out of tolerance (atol \(atol), rtol \(rtol));"
        + " \(errorText); first failure at index \(firstFailureIndex ?? -1)"
  }

  /// Compares `actual` with `expected` elementwise. - Precondition: equal counts.
  public static func compare(_ actual: [Double], _ expected: [Double], atol: Double, rtol: Double) -> ComparisonReport {
    precondition(actual.count == expected.count, "ComparisonReport: counts \(actual.count) and \(expected.count) differ")
    var report = ComparisonReport(
      maxAbsoluteError: 0, maxAbsoluteErrorIndex: 0, maxRelativeError: 0, outOfTolerance: 0,
      firstFailureIndex: nil, count: actual.count, atol: atol, rtol: rtol)
    for i in 0..<actual.count {
      let a = actual[i]
      let e = expected[i]
      let bothNaN = a.isNaN && e.isNaN
      let sameInfinity = a.isInfinite && a == e
      let diff = bothNaN || sameInfinity ? 0 : abs(a - e)
      let ok = bothNaN || sameInfinity || diff <= atol + rtol * abs(e)
      let magnitude = diff.isNaN ? Double.infinity : diff  // a NaN against a number is the worst error
      if magnitude > report.maxAbsoluteError {
        report.maxAbsoluteError = magnitude
        report.maxAbsoluteErrorIndex = i
      }
      if e != 0 && !diff.isNaN { report.maxRelativeError = max(report.maxRelativeError, diff / abs(e)) }
      if !ok {
        report.outOfTolerance += 1
        if report.firstFailureIndex == nil { report.firstFailureIndex = i }
      }
    }
    return report
  }
}

/// The outcome of checking a value against a golden file.
public enum GoldenOutcome: Equatable {
  /// The value agrees with the golden file within tolerance.
  case matched(ComparisonReport)
  /// Record mode: the golden file was (re)written from the value.
  case recorded(path: String)
  /// The value does not agree; the message says where and by how much.
  case mismatched(String)

  /// Whether a test should pass.
  public var isSuccess: Bool {
    switch self {
    case .matched, .recorded: return true
    case .mismatched: return false
    }
  }
}

/// Golden files: reference arrays stored as NumPy `.npy` files under `Fixtures/golden/`.
///
/// A test compares a computed array with its golden file under stated tolerances. With
/// `LATENTLAB_RECORD=1` in the environment the golden file is rewritten from the computed
/// value instead (to be reviewed and committed on purpose). Golden files made by a committed
/// NumPy generator script are rewritten by rerunning that script, not by record mode.
public struct GoldenFile {
  /// The environment variable that turns on record mode.
  public static let recordVariable = "LATENTLAB_RECORD"

  /// Whether record mode is on in this process.
  public static var recordModeFromEnvironment: Bool {
    let value = ProcessInfo.processInfo.environment[recordVariable] ?? ""
    return !value.isEmpty && value != "0"
  }

  /// The path of the file.
  public let path: String
  /// Whether checking rewrites the file instead of comparing.
  public let recordMode: Bool

  /// A golden file at `path`; record mode from the environment unless given.
  public init(path: String, recordMode: Bool? = nil) {
    self.path = path
    self.recordMode = recordMode ?? GoldenFile.recordModeFromEnvironment
  }

  /// A golden file `Fixtures/golden/<name>.npy` of this package.
  public init(named name: String, recordMode: Bool? = nil) {
    self.init(path: Fixture.path("golden/\(name).npy"), recordMode: recordMode)
  }

  /// Checks `actual` (with its shape) against the file, or records it in record mode.
  public func check(_ actual: NumPyArray, atol: Double, rtol: Double) -> GoldenOutcome {
    if recordMode {
      do {
        try actual.write(path: path)
        return .recorded(path: path)
      } catch {
        return .mismatched("could not record golden file: \(error)")
      }
    }
    let expected: NumPyArray
    do {
      expected = try NumPyArray.read(path: path)
    } catch {
      return .mismatched("\(error)\n(run with \(GoldenFile.recordVariable)=1 to record it)")
    }
    guard expected.shape == actual.shape else {
      return .mismatched("\(path): shape \(actual.shape) differs from the golden shape \(expected.shape)")
    }
    let report: ComparisonReport
    if expected.dtype == .uint64 || expected.dtype == .int64 {
      // Integers compare exactly, word by word (Double would round large values).
      let a = actual.dtype == .uint64 || actual.dtype == .int64 ? actual.uint64s() : actual.doubles().map { UInt64($0) }
      let e = expected.uint64s()
      let bad = zip(a, e).enumerated().filter { $0.element.0 != $0.element.1 }.map { $0.offset }
      report = ComparisonReport(
        maxAbsoluteError: bad.isEmpty ? 0 : .infinity, maxAbsoluteErrorIndex: bad.first ?? 0,
        maxRelativeError: 0, outOfTolerance: bad.count, firstFailureIndex: bad.first,
        count: a.count, atol: 0, rtol: 0)
    } else {
      report = ComparisonReport.compare(actual.doubles(), expected.doubles(), atol: atol, rtol: rtol)
    }
    return report.passed ? .matched(report) : .mismatched("\(path): \(report)")
  }

  /// Checks a tensor against the file.
  public func check(_ actual: Tensor, atol: Double, rtol: Double) -> GoldenOutcome {
    check(NumPyArray(actual), atol: atol, rtol: rtol)
  }
}

/// Paths of files under the package's `Fixtures/` folder, found from this source file's
/// location so tests run from any working directory.
public enum Fixture {
  /// The package's root folder.
  public static let packageRoot: String = {
    URL(fileURLWithPath: #filePath)  // …/Sources/TestSupport/GoldenFile.swift
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
  }()

  /// `Fixtures/<relative>` in this package.
  public static func path(_ relative: String) -> String {
    packageRoot + "/Fixtures/" + relative
  }
}
