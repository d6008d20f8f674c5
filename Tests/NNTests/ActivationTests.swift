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
