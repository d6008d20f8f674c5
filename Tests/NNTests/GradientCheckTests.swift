import NN
import TensorCore
import TestSupport
import XCTest

/// Oracle: central finite differences in Float64, `(L(θ + h) − L(θ − h)) / 2h` with h = 1e-6,
/// for the scalar loss `L = Σ r ⊙ layer(x)` with a fixed random `r` (so `dy = r`).
/// Tolerance: atol 1e-7 + rtol 1e-5 (the truncation error is O(h²) and rounding O(ε/h)).
final class GradientCheckTests: XCTestCase {
  typealias D = Double

  func random(_ shape: [Int], _ g: inout SeededGenerator) -> TensorOf<D> {
    TensorOf(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in 2 * g.nextDouble() - 1 })
  }

  func weightedSum(_ y: TensorOf<D>, _ r: TensorOf<D>) -> D {
    zip(y.scalars, r.scalars).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Checks the input and parameter gradients of `layer` at `x`.
  func check(
    _ layer: any Layer<D>, input shape: [Int], label: String, seed: UInt64 = 1,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    var g = SeededGenerator(seed: seed, streamName: "test/gradcheck")
    let x = random(shape, &g)
    let r = random(try layer.outputShape(for: shape), &g)
    layer.zeroGradients()
    _ = try layer.forward(x)
    let dx = try layer.backward(r)
    let h = 1e-6
    // Input gradient.
    var numeric = [D]()
    for i in 0..<x.count {
      var xp = x
      xp.scalars[i] += h
      var xm = x
      xm.scalars[i] -= h
      numeric.append((weightedSum(try layer.forward(xp), r) - weightedSum(try layer.forward(xm), r)) / (2 * h))
    }
    assertClose(dx.scalars, numeric, atol: 1e-7, rtol: 1e-5, "\(label): input gradient", file: file, line: line)
    // Parameter gradients.
    for named in layer.namedParameters {
      let p = named.parameter
      let analytic = p.gradient.scalars
      var numericP = [D]()
      for i in 0..<p.count {
        let saved = p.value.scalars[i]
        p.value.scalars[i] = saved + h
        let lp = weightedSum(try layer.forward(x), r)
        p.value.scalars[i] = saved - h
        let lm = weightedSum(try layer.forward(x), r)
        p.value.scalars[i] = saved
        numericP.append((lp - lm) / (2 * h))
      }
      assertClose(analytic, numericP, atol: 1e-7, rtol: 1e-5, "\(label): \(named.name) gradient", file: file, line: line)
    }
  }

  func testConv2dOverStridesPaddingsOddSizesAndBatches() throws {
    // (batch, cin, h, w, cout, k, stride, padding); batch 35 spans two chunks.
    let shapes = [
      (1, 1, 5, 5, 2, 3, 1, 0), (2, 2, 6, 7, 3, 3, 2, 1), (1, 3, 7, 7, 2, 3, 2, 0),
      (2, 2, 5, 4, 2, 2, 1, 1), (35, 1, 4, 4, 2, 3, 2, 1),
    ]
    for (n, cin, h, w, cout, k, s, p) in shapes {
      var g = SeededGenerator(seed: 9, stream: .initialization)
      let conv = try Conv2dOf<D>(inputChannels: cin, outputChannels: cout, kernelSize: k, stride: s, padding: p, generator: &g)
      try check(conv, input: [n, cin, h, w], label: "\(conv) on [\(n), \(cin), \(h), \(w)]")
    }
    var g = SeededGenerator(seed: 9, stream: .initialization)
    let noBias = try Conv2dOf<D>(inputChannels: 2, outputChannels: 2, kernelSize: 3, stride: 2, padding: 1, bias: false, generator: &g)
    try check(noBias, input: [2, 2, 5, 5], label: "\(noBias)")
  }

  func testConvTranspose2dOverStridesPaddingsOutputPaddingsOddSizesAndBatches() throws {
    // (batch, cin, h, w, cout, k, stride, padding, output padding)
    let shapes = [
      (1, 1, 3, 3, 2, 3, 1, 0, 0), (2, 2, 4, 3, 3, 3, 2, 1, 1), (1, 3, 3, 3, 2, 3, 2, 1, 0),
      (2, 2, 3, 2, 2, 3, 2, 0, 1), (1, 2, 2, 3, 1, 2, 1, 1, 0), (34, 2, 2, 2, 1, 3, 2, 1, 1),
    ]
    for (n, cin, h, w, cout, k, s, p, op) in shapes {
      var g = SeededGenerator(seed: 10, stream: .initialization)
      let layer = try ConvTranspose2dOf<D>(
        inputChannels: cin, outputChannels: cout, kernelSize: k, stride: s, padding: p, outputPadding: op, generator: &g)
      try check(layer, input: [n, cin, h, w], label: "\(layer) on [\(n), \(cin), \(h), \(w)]")
    }
  }

  func testLinearActivationsAndReshapes() throws {
    var g = SeededGenerator(seed: 11, stream: .initialization)
    try check(try LinearOf<D>(inputFeatures: 7, outputFeatures: 3, generator: &g), input: [1, 7], label: "Linear batch 1")
    try check(try LinearOf<D>(inputFeatures: 5, outputFeatures: 4, generator: &g), input: [40, 5], label: "Linear batch 40")
    try check(try LinearOf<D>(inputFeatures: 5, outputFeatures: 4, bias: false, generator: &g), input: [3, 5], label: "Linear no bias")
    try check(ReLUOf<D>(), input: [3, 2, 3, 3], label: "ReLU")
    try check(SigmoidOf<D>(), input: [4, 5], label: "Sigmoid")
    try check(FlattenOf<D>(), input: [2, 3, 2, 2], label: "Flatten")
    try check(try UnflattenOf<D>(itemShape: [2, 2, 3]), input: [3, 12], label: "Unflatten")
  }

  /// A miniature of the seed autoencoder: every layer type chained, through Sequential.
  func testSequentialAutoencoderChain() throws {
    var g = SeededGenerator(seed: 12, stream: .initialization)
    let net = try SequentialOf<D>([
      try Conv2dOf<D>(inputChannels: 1, outputChannels: 2, kernelSize: 3, stride: 2, padding: 1, generator: &g),
      ReLUOf<D>(),
      FlattenOf<D>(),
      try LinearOf<D>(inputFeatures: 2 * 4 * 4, outputFeatures: 3, generator: &g),
      try LinearOf<D>(inputFeatures: 3, outputFeatures: 2 * 4 * 4, generator: &g),
      ReLUOf<D>(),
      try UnflattenOf<D>(itemShape: [2, 4, 4]),
      try ConvTranspose2dOf<D>(
        inputChannels: 2, outputChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g),
      SigmoidOf<D>(),
    ])
    XCTAssertEqual(try net.outputShape(for: [2, 1, 8, 8]), [2, 1, 8, 8])
    try check(net, input: [2, 1, 8, 8], label: "Sequential")
  }

  /// Central differences of a scalar function of a tensor, element by element.
  func numericGradient(_ x: TensorOf<D>, h: D = 1e-6, _ f: (TensorOf<D>) throws -> D) rethrows -> [D] {
    try (0..<x.count).map { i in
      var plus = x
      plus.scalars[i] += h
      var minus = x
      minus.scalars[i] -= h
      return (try f(plus) - f(minus)) / (2 * h)
    }
  }

  func testLossGradients() throws {
    var g = SeededGenerator(seed: 13, streamName: "test/loss")
    var scratch = TensorOf<D>.zeros([0]), scratch2 = TensorOf<D>.zeros([0])
    let prediction = random([3, 4], &g)
    let target = random([3, 4], &g)
    for reduction in [LossReduction.mean, .sum, .batchMean] {
      let loss = MSELoss(reduction: reduction)
      var grad = TensorOf<D>.zeros([0])
      _ = try loss(prediction, target, gradient: &grad)
      let numeric = try numericGradient(prediction) { try loss($0, target, gradient: &scratch) }
      assertClose(grad.scalars, numeric, atol: 1e-7, rtol: 1e-5, "MSE \(reduction)")
    }
    // Cross-entropy, with logits large enough that a naive softmax would overflow in Float.
    var logits = random([4, 5], &g)
    logits.scalars[0] = 95
    let labels: [Int32] = [0, 4, 2, 2]
    let ce = CrossEntropyLoss()
    var grad = TensorOf<D>.zeros([0])
    _ = try ce(logits, labels, gradient: &grad)
    let numeric = try numericGradient(logits) { try ce($0, labels, gradient: &scratch) }
    assertClose(grad.scalars, numeric, atol: 1e-7, rtol: 1e-5, "cross-entropy")
    // KL divergence, both arguments.
    let mu = random([3, 2], &g)
    let logVar = random([3, 2], &g)
    for reduction in [LossReduction.batchMean, .sum, .mean] {
      let kl = GaussianKLDivergence(reduction: reduction)
      var dMu = TensorOf<D>.zeros([0]), dLv = TensorOf<D>.zeros([0])
      _ = try kl(mu: mu, logVariance: logVar, dMu: &dMu, dLogVariance: &dLv)
      let numericMu = try numericGradient(mu) { try kl(mu: $0, logVariance: logVar, dMu: &scratch, dLogVariance: &scratch2) }
      let numericLv = try numericGradient(logVar) { try kl(mu: mu, logVariance: $0, dMu: &scratch, dLogVariance: &scratch2) }
      assertClose(dMu.scalars, numericMu, atol: 1e-7, rtol: 1e-5, "KL dmu \(reduction)")
      assertClose(dLv.scalars, numericLv, atol: 1e-7, rtol: 1e-5, "KL dlogvar \(reduction)")
    }
  }
}
