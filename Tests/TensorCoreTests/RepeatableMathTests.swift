import CKernels
import Foundation
import TensorCore
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// `RepeatableMath.exp` and `log` against glibc's `Float80` `expl` and `logl` (64-bit
/// significands, so their rounding to `Double` is the exact value's in all but freak cases):
/// within 1 ULP over arguments drawn across each function's whole range, subnormals included;
/// special values as C99's. On a thread that flushes subnormals to zero (as every thread of
/// LatentLab's that computes does, and this one once an earlier test has computed on it), a
/// result below the least normal Double is zero and a subnormal argument reads as zero: the
/// expectations follow the thread's mode.
final class RepeatableMathTests: XCTestCase {
  /// Whether this thread flushes subnormal results and arguments to zero (FTZ and DAZ).
  var flushed: Bool { latentlab_subnormals_flushed() == 1 }

  /// How many `Double`s lie between `a` and `b` (both finite, same sign).
  func ulps(_ a: Double, _ b: Double) -> UInt64 {
    let (x, y) = (a.bitPattern, b.bitPattern)
    return x > y ? x - y : y - x
  }

  func testExpIsWithinOneULPAcrossItsRange() {
    let flushed = self.flushed
    var g = SeededGenerator(seed: 11, streamName: "test.exp")
    var worst: UInt64 = 0
    var misses: [String] = []
    var arguments: [Double] = [0, 1, -1, 0x1p-60, -0x1p-60, 0.5 * 0.6931471805599453, 709.78, -708.3, -740, -745.1, 1e-300]
    for _ in 0..<200_000 { arguments.append(-745 + 1454.78 * g.nextDouble()) }
    for _ in 0..<100_000 { arguments.append(-2 + 4 * g.nextDouble()) }
    for x in arguments {
      let exact = Double(expl(Float80(x)))
      let reference = flushed && exact < .leastNormalMagnitude ? 0 : exact
      let distance = ulps(RepeatableMath.exp(x), reference)
      worst = max(worst, distance)
      if distance > 1 { misses.append("exp(\(x)): \(RepeatableMath.exp(x)) against \(reference)") }
    }
    XCTAssertEqual(misses.count, 0, "more than 1 ULP away, subnormals flushed: \(flushed); the first: \(misses.prefix(5))")
    print("RepeatableMathTests: exp's worst distance \(worst) ULP over \(arguments.count) arguments, subnormals flushed: \(flushed)")
  }

  func testLogIsWithinOneULPAcrossItsRange() {
    let flushed = self.flushed
    var g = SeededGenerator(seed: 12, streamName: "test.log")
    var worst: UInt64 = 0
    var misses: [String] = []
    var arguments: [Double] = [1, 2, 0.5, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1 + 0x1p-52, 1 - 0x1p-53, 0x1.6a09e667f3bcdp+0, 0x1.6a09e667f3bccp+0]
    // Exponent and significand drawn separately: every binade from subnormal to the largest.
    for _ in 0..<200_000 {
      let exponent = g.nextInt(below: 2098) - 1074
      arguments.append(Double(sign: .plus, exponent: exponent, significand: 1 + g.nextDouble()))
    }
    for _ in 0..<100_000 { arguments.append(0.5 + 1.5 * g.nextDouble()) }
    for x in arguments where x > 0 && x.isFinite {
      let reference = flushed && x < .leastNormalMagnitude ? -.infinity : Double(logl(Float80(x)))
      let distance = reference.isInfinite ? (RepeatableMath.log(x) == reference ? 0 : .max) : ulps(RepeatableMath.log(x), reference)
      worst = max(worst, distance)
      if distance > 1 { misses.append("log(\(x)): \(RepeatableMath.log(x)) against \(reference)") }
    }
    XCTAssertEqual(misses.count, 0, "more than 1 ULP away, subnormals flushed: \(flushed); the first: \(misses.prefix(5))")
    print("RepeatableMathTests: log's worst distance \(worst) ULP over \(arguments.count) arguments, subnormals flushed: \(flushed)")
  }

  func testSpecialValuesFollowC99() {
    XCTAssertEqual(RepeatableMath.exp(0), 1)
    XCTAssertEqual(RepeatableMath.exp(.infinity), .infinity)
    XCTAssertEqual(RepeatableMath.exp(-.infinity), 0)
    XCTAssertEqual(RepeatableMath.exp(710), .infinity)
    XCTAssertEqual(RepeatableMath.exp(-746), 0)
    XCTAssertEqual(RepeatableMath.exp(-745), flushed ? 0 : .leastNonzeroMagnitude, "exp(-745): the least subnormal, or zero")
    XCTAssertTrue(RepeatableMath.exp(.nan).isNaN)
    XCTAssertEqual(RepeatableMath.log(1), 0)
    XCTAssertEqual(RepeatableMath.log(0), -.infinity)
    XCTAssertEqual(RepeatableMath.log(.infinity), .infinity)
    XCTAssertTrue(RepeatableMath.log(-1).isNaN)
    XCTAssertTrue(RepeatableMath.log(.nan).isNaN)
  }
}
