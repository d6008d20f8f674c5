import NN
import TensorCore
import TestSupport
import XCTest

/// The dense layers' product kernel (`DenseProduct`, `latentlab_dense_product`) against two
/// oracles written here: its contract exactly (one fused multiply-add chain per element in k
/// order, `Float.addingProduct` in a scalar loop; bit for bit, at both register widths), and
/// the product itself in Float64 within the rounding bound of a k-term chain,
/// `k · 2⁻²⁴ · (|C₀| + Σ|a·b|)` (plus one unit for the accumulated start).
final class DenseProductTests: XCTestCase {
  struct Case {
    let m: Int, n: Int, k: Int
    /// A stored as its transpose (`[k, m]`, as a weight gradient reads dy).
    let transposedA: Bool
    let accumulate: Bool
  }

  static let cases: [Case] = [
    Case(m: 32, n: 69, k: 512, transposedA: false, accumulate: true),  // a dense forward from its bias
    Case(m: 32, n: 512, k: 69, transposedA: false, accumulate: false),  // its input gradient
    Case(m: 69, n: 512, k: 250, transposedA: true, accumulate: false),  // its weight gradient
    Case(m: 26, n: 6, k: 69, transposedA: false, accumulate: true),
    Case(m: 7, n: 17, k: 5, transposedA: true, accumulate: true),
    Case(m: 5, n: 33, k: 1, transposedA: false, accumulate: false),
    Case(m: 1, n: 1, k: 3, transposedA: false, accumulate: true),
    Case(m: 13, n: 100, k: 0, transposedA: false, accumulate: true),  // no terms: C₀ unchanged
  ]

  func testChainContractBitForBitAtEveryWidth() throws {
    try XCTSkipUnless(InstructionSet.usesAVX2Kernels, "the dense kernel needs AVX2 and FMA (LATENTLAB_ISA=portable uses BLAS)")
    let widths: [Int32] = InstructionSet.cpuBest == .avx512 ? [1, 2] : [1]
    if widths.count == 1 { print("DenseProductTests: no AVX-512F on this CPU; the AVX2 width only") }
    for (index, t) in Self.cases.enumerated() {
      var g = SeededGenerator(seed: UInt64(index), streamName: "test/dense-product")
      let a = (0..<(t.m * t.k)).map { _ in g.nextUniform(-1, 1) }
      let b = (0..<(t.k * t.n)).map { _ in g.nextUniform(-1, 1) }
      let c0 = (0..<(t.m * t.n)).map { _ in g.nextUniform(-1, 1) }
      let (rowStep, depthStep) = t.transposedA ? (1, t.m) : (t.k, 1)
      // Oracle 1: the contract, in a scalar loop.
      var chain = [Float](repeating: 0, count: t.m * t.n)
      var bound = [Double](repeating: 0, count: t.m * t.n)
      var exact = [Double](repeating: 0, count: t.m * t.n)
      for i in 0..<t.m {
        for j in 0..<t.n {
          var c: Float = t.accumulate ? c0[i * t.n + j] : 0
          var sum = Double(c), magnitude = abs(Double(c))
          for q in 0..<t.k {
            let (x, y) = (a[i * rowStep + q * depthStep], b[q * t.n + j])
            c = c.addingProduct(x, y)
            sum += Double(x) * Double(y)
            magnitude += abs(Double(x) * Double(y))
          }
          chain[i * t.n + j] = c
          exact[i * t.n + j] = sum
          bound[i * t.n + j] = Double(t.k + 1) * 0x1p-24 * magnitude
        }
      }
      for width in widths {
        var c = t.accumulate ? c0 : [Float](repeating: .nan, count: t.m * t.n)
        a.withUnsafeBytes { ab in
          b.withUnsafeBytes { bb in
            c.withUnsafeMutableBytes { cb in
              DenseProduct.multiply(
                ab.baseAddress!, rowStep: rowStep, depthStep: depthStep, bb.baseAddress!, ldb: t.n, into: cb.baseAddress!,
                ldc: t.n, m: t.m, n: t.n, k: t.k, accumulate: t.accumulate, width: width)
            }
          }
        }
        let name = "case \(index) (\(t.m)x\(t.n)x\(t.k)), width \(width)"
        XCTAssertEqual(zip(c, chain).filter { $0.bitPattern != $1.bitPattern }.count, 0, "\(name): elements off the chain")
        // Oracle 2: the product in Float64, within the chain's rounding bound.
        let worst = (0..<c.count).map { abs(Double(c[$0]) - exact[$0]) - bound[$0] }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 0, "\(name): an element beyond k·2⁻²⁴·Σ|terms| of the Float64 product")
      }
    }
  }
}
