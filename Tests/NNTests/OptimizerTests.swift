import Foundation
import NN
import TensorCore
import TestSupport
import XCTest

/// Oracle: hand-computed updates (derivations in the comments) for θ = [1, −2] and a constant
/// gradient g = [0.5, 0.1]. Tolerance 1e-6 (Float32 arithmetic).
final class OptimizerTests: XCTestCase {
  func parameter() -> [NamedParameter<Float>] {
    let p = Parameter(Tensor(shape: [2], scalars: [1, -2]))
    return [NamedParameter(name: "w", parameter: p)]
  }

  func run(_ optimizer: any Optimizer, steps: Int) -> [Float] {
    let p = optimizer.parameters[0].parameter
    for _ in 0..<steps {
      optimizer.zeroGradients()
      p.gradient.scalars = [0.5, 0.1]
      optimizer.step()
    }
    return p.value.scalars
  }

  /// Adam's vectorised update against the formula written out here in scalar Swift, bit for
  /// bit, over 1,003 parameters (a tail shorter than one vector) and three steps.
  func testAdamVectorisedUpdateIsBitIdenticalToTheScalarFormula() throws {
    var g = SeededGenerator(seed: 4, streamName: "test/adam")
    let count = 1003
    let start = (0..<count).map { _ in g.nextFloat() * 2 - 1 }
    let gradients = (0..<3).map { _ in (0..<count).map { _ in g.nextFloat() - 0.5 } }
    let p = Parameter(Tensor(shape: [count], scalars: start))
    let adam = try Adam(
      parameters: [NamedParameter(name: "w", parameter: p)], learningRate: 3e-3, weightDecay: 1e-4)
    var (theta, m, v) = (start, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
    let (b1, b2, eps, wd, lr): (Float, Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 1e-4, 3e-3)
    for (step, gradient) in gradients.enumerated() {
      adam.zeroGradients()
      p.gradient.scalars = gradient
      adam.step()
      let t = Double(step + 1)
      let stepSize = Float(Double(lr) / (1 - pow(Double(b1), t)))
      let root = Float((1 - pow(Double(b2), t)).squareRoot())
      for j in 0..<count {
        let grad = gradient[j] + wd * theta[j]
        m[j] = b1 * m[j] + (1 - b1) * grad
        v[j] = b2 * v[j] + (1 - b2) * grad * grad
        let denominator = v[j].squareRoot() / root + eps
        theta[j] -= stepSize * m[j] / denominator
      }
      XCTAssertEqual(p.value.scalars.map(\.bitPattern), theta.map(\.bitPattern), "step \(step + 1)")
    }
  }

  func testSGDWithMomentumAndCoupledL2() throws {
    // Step 1: g' = g + 0.01θ = [0.51, 0.08]; b = g'; θ = θ − 0.1·b = [0.949, −2.008].
    // Step 2: g' = [0.50949, 0.07992]; b = 0.9·[0.51, 0.08] + g' = [0.96849, 0.15192];
    //         θ = [0.949 − 0.096849, −2.008 − 0.015192] = [0.852151, −2.023192].
    let sgd = try SGD(parameters: parameter(), learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    assertClose(run(sgd, steps: 2), [0.852151, -2.023192], atol: 1e-6, rtol: 0)
    // Plain SGD: θ − 0.1·g = [0.95, −2.01].
    let plain = try SGD(parameters: parameter(), learningRate: 0.1)
    assertClose(run(plain, steps: 1), [0.95, -2.01], atol: 1e-6, rtol: 0)
  }

  func testAdamTwoStepsAndCoupledL2() throws {
    // Step 1: m = 0.1g, v = 0.001g²; m̂ = g, v̂ = g², so θ moves by lr·sign(g): [0.9, −2.1].
    // Step 2: m = [0.095, 0.019], v = 0.00199900·g²; step size 0.1/0.19, denominator
    //         √v/√0.001999 = |g|/… = [0.5, 0.1]·… so θ moves by lr again: [0.8, −2.2].
    let adam = try Adam(parameters: parameter(), learningRate: 0.1)
    assertClose(run(adam, steps: 2), [0.8, -2.2], atol: 1e-6, rtol: 0)
    // L2 added to the gradient (not AdamW): g' = g + 0.5θ = [1.0, −0.9], so the second
    // coordinate moves up: θ = [1 − 0.1, −2 + 0.1] = [0.9, −1.9].
    let l2 = try Adam(parameters: parameter(), learningRate: 0.1, weightDecay: 0.5)
    assertClose(run(l2, steps: 1), [0.9, -1.9], atol: 1e-6, rtol: 0)
  }

  func testRMSpropWithAndWithoutMomentum() throws {
    // Step 1: s = 0.01g², θ −= 0.01·g/(0.1|g| + 1e-8) ≈ 0.1·sign(g): [0.9, −2.1].
    // Step 2: s = 0.0199g², θ −= 0.01·g/(0.14107|g|) = 0.070888: [0.829112, −2.170888].
    let rms = try RMSprop(parameters: parameter(), learningRate: 0.01)
    assertClose(run(rms, steps: 2), [0.829112, -2.170888], atol: 1e-6, rtol: 0)
    // Momentum 0.9: b₁ = 10·sign(g), b₂ = 9·sign(g) + 7.08881·sign(g); θ −= 0.01·(b₁ + b₂).
    let momentum = try RMSprop(parameters: parameter(), learningRate: 0.01, momentum: 0.9)
    assertClose(run(momentum, steps: 2), [0.739112, -2.260888], atol: 1e-6, rtol: 0)
  }

  func testFrozenParametersAreLeftAlone() throws {
    let params = parameter()
    params[0].parameter.isFrozen = true
    let adam = try Adam(parameters: params, learningRate: 0.1)
    XCTAssertEqual(run(adam, steps: 3), [1, -2])
    XCTAssertEqual(adam.state.steps["w"], 0)
  }

  func testStateByNameRoundTripsAndResumesIdentically() throws {
    let a = try Adam(parameters: parameter(), learningRate: 0.1, weightDecay: 0.01)
    _ = run(a, steps: 2)
    let saved = a.state
    XCTAssertEqual(saved.steps["w"], 2)
    XCTAssertEqual(Set(saved.buffers["w"]!.keys), ["exp_avg", "exp_avg_sq"])
    let continued = run(a, steps: 1)

    let b = try Adam(parameters: parameter(), learningRate: 0.1, weightDecay: 0.01)
    _ = run(b, steps: 2)
    let fresh = try Adam(parameters: b.parameters, learningRate: 0.1, weightDecay: 0.01)
    try fresh.restore(saved)
    XCTAssertEqual(run(fresh, steps: 1).map(\.bitPattern), continued.map(\.bitPattern))

    var wrong = saved
    wrong.buffers["w"]!["exp_avg"] = Tensor.zeros([3])
    XCTAssertThrowsError(try fresh.restore(wrong)) { error in
      XCTAssertTrue("\(error)".contains("buffer 'exp_avg' has shape [3]"), "\(error)")
    }
    var extra = saved
    extra.buffers["v"] = [:]
    XCTAssertThrowsError(try fresh.restore(extra)) { XCTAssertTrue("\($0)".contains("v"), "\($0)") }
  }

  func testInvalidHyperparametersAreErrors() {
    XCTAssertThrowsError(try Adam(parameters: parameter(), learningRate: 0)) { error in
      XCTAssertEqual(error as? OptimizerError, .invalidHyperparameter(optimizer: "Adam", name: "lr", value: 0, expected: "> 0"))
    }
    XCTAssertThrowsError(try SGD(parameters: parameter(), learningRate: .nan))
    XCTAssertThrowsError(try RMSprop(parameters: parameter(), alpha: 1))
  }
}
