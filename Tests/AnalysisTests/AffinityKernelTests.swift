import CKernels
import TensorCore
import XCTest

/// `latentlab_gaussian_weights`, the calibration's AVX2 weights, against their oracle
/// `RepeatableMath.exp(−d · β)`: the same bits, exactly, wherever −d · β is at or above
/// `LL_AFFINITY_FAST_LIMIT`, over distances and precisions spanning the calibration's range
/// (β from its doublings and halvings, d from 0 to far tails), odd row lengths included.
final class AffinityKernelTests: XCTestCase {
  func testWeightsHaveRepeatableMathsBits() throws {
    guard latentlab_avx2_fma_available() == 1 else { throw XCTSkip("this CPU lacks AVX2: the kernel is not called") }
    var g = SeededGenerator(seed: 21, streamName: "test/gaussian-weights")
    var compared = 0
    var mismatches: [String] = []
    for row in 0..<4000 {
      let count = [90, 91, 7, 1, 33][row % 5]
      let beta = RepeatableMath.exp(-30 + 60 * g.nextDouble())  // 1e-13 … 1e13
      let scale = RepeatableMath.exp(-20 + 40 * g.nextDouble())
      var d = (0..<count).map { _ in scale * g.nextDouble() }
      if row % 7 == 0 { d[0] = 0 }
      var w = [Double](repeating: .nan, count: count)
      latentlab_gaussian_weights(d, beta, &w, Int32(count))
      for j in 0..<count where -d[j] * beta >= LL_AFFINITY_FAST_LIMIT {
        compared += 1
        let expected = RepeatableMath.exp(-d[j] * beta)
        if w[j].bitPattern != expected.bitPattern { mismatches.append("exp(-\(d[j]) * \(beta)): \(w[j]) against \(expected)") }
      }
    }
    XCTAssertGreaterThan(compared, 100_000, "too few arguments in the kernel's range")
    XCTAssertEqual(mismatches.count, 0, "the first: \(mismatches.prefix(3))")
  }
}
