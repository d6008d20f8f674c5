import CKernels
import Foundation
import NN
import TensorCore
import XCTest

/// ReLU and Sigmoid in `Float` (vectorised on AVX2 CPUs) against the exact values computed in
/// `Double`, over inputs that reach the edges: ±0, subnormals, ±20, ±87, ±100, ±∞, and
/// counts that leave a tail shorter than one vector.
final class ActivationTests: XCTestCase {
  func inputs(count: Int) -> [Float] {
    var g = SeededGenerator(seed: 11, streamName: "test/activations")
    let edges: [Float] = [0, -0.0, Float.leastNormalMagnitude / 16, -Float.leastNormalMagnitude / 16, 20, -20, 87, -87, 88, -88, 100, -100, .infinity, -.infinity]
    return Array((edges + (0..<count).map { _ in (g.nextFloat() * 2 - 1) * 30 }).prefix(count))
  }

  func testSigmoidMatchesTheExactValueAndItsGradient() throws {
    for count in [1, 7, 8, 13, 1_000, 40_003] {
      let xs = inputs(count: count)
      let layer = Sigmoid()
      let y = try layer.forward(Tensor(shape: [count], scalars: xs))
      for (x, v) in zip(xs, y.scalars) {
        let exact = 1 / (1 + Foundation.exp(-Double(x)))
        XCTAssertLessThanOrEqual(abs(Double(v) - exact), 3e-7 * exact + 1e-37, "sigmoid(\(x)) = \(v), exact \(exact)")
        XCTAssertTrue(v >= 0 && v <= 1)
      }
      let dy = Tensor(shape: [count], scalars: [Float](repeating: 1, count: count))
      let dx = try layer.backward(dy)
      for (v, d) in zip(y.scalars, dx.scalars) { XCTAssertEqual(d, v * (1 - v)) }
    }
  }

  /// The plan's sigmoid backward kernel against the reference layer's expression
  /// `dy · y · (1 − y)` evaluated here in Swift (no fused multiply-add), bit for bit: into
  /// another array and in place over dy, with tails shorter than a vector and NaN, ±0, 1, ∞.
  func testSigmoidBackwardKernelGivesTheBitsOfTheExpression() throws {
    try XCTSkipUnless(InstructionSet.usesAVX2Kernels, "the plan's kernels need AVX2 (LATENTLAB_ISA=portable has no plan)")
    var g = SeededGenerator(seed: 13, streamName: "test/activations/sigmoid-backward")
    for count in [1, 7, 8, 13, 1_003] {
      var y = (0..<count).map { _ in g.nextFloat() }
      var dy = (0..<count).map { _ in (g.nextFloat() - 0.5) * 1e3 }
      for (q, (yv, dv)) in [(Float(1), Float(2)), (0, -0.0), (.nan, 1), (0.5, .infinity)].enumerated() where q < count {
        (y[q], dy[q]) = (yv, dv)
      }
      var expected = [Float](repeating: 0, count: count)
      for i in 0..<count { expected[i] = dy[i] * y[i] * (1 - y[i]) }
      var dx = [Float](repeating: 7, count: count)
      latentlab_sigmoid_backward(y, dy, &dx, count)
      XCTAssertEqual(dx.map(\.bitPattern), expected.map(\.bitPattern), "count \(count)")
      dy.withUnsafeMutableBufferPointer { d in latentlab_sigmoid_backward(y, d.baseAddress!, d.baseAddress!, count) }
      XCTAssertEqual(dy.map(\.bitPattern), expected.map(\.bitPattern), "count \(count), in place")
    }
  }

  /// A diverging run must see NaN in its loss: sigmoid(NaN) is NaN wherever it sits.
  func testSigmoidPropagatesNaN() throws {
    for position in [0, 5, 8, 12] {
      var xs = inputs(count: 13)
      xs[position] = .nan
      let y = try Sigmoid().forward(Tensor(shape: [13], scalars: xs))
      XCTAssertTrue(y.scalars[position].isNaN, "sigmoid(NaN) at \(position)")
      XCTAssertEqual(y.scalars.filter(\.isNaN).count, 1)
    }
  }

  func testReLUKeepsPositivesAndNaNAndZeroesTheRest() throws {
    for count in [1, 9, 16, 40_001] {
      var xs = inputs(count: count)
      if count > 3 { xs[3] = .nan }
      let layer = ReLU()
      let y = try layer.forward(Tensor(shape: [count], scalars: xs))
      for (x, v) in zip(xs, y.scalars) {
        XCTAssertEqual(v.bitPattern, (x.isNaN || x > 0 ? x : 0).bitPattern, "relu(\(x))")
      }
      var g = SeededGenerator(seed: 12, streamName: "test/activations/dy")
      let dy = Tensor(shape: [count], scalars: (0..<count).map { _ in g.nextFloat() - 0.5 })
      let dx = try layer.backward(dy)
      for i in 0..<count {
        XCTAssertEqual(dx.scalars[i], y.scalars[i] > 0 || y.scalars[i].isNaN ? dy.scalars[i] : 0)
      }
    }
  }
}
