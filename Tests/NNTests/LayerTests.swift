import CKernels
import NN
import TensorCore
import TestSupport
import XCTest

final class LayerTests: XCTestCase {
  /// PyTorch's defaults: every weight and bias in ±1/sqrt(fan_in), fan_in as PyTorch computes it.
  func testDefaultInitialisationBoundsAndFanIn() throws {
    var g = SeededGenerator(seed: 1, stream: .initialization)
    let conv = try Conv2d(inputChannels: 8, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    let convT = try ConvTranspose2d(inputChannels: 32, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    let linear = try Linear(inputFeatures: 512, outputFeatures: 69, generator: &g)
    for (layer, fanIn): (any Layer<Float>, Int) in [(conv, 8 * 9), (convT, 17 * 9), (linear, 512)] {
      let bound = 1 / Float(fanIn).squareRoot()
      for p in layer.namedParameters {
        let values = p.parameter.value.scalars
        XCTAssertLessThanOrEqual(values.map(abs).max()!, bound, "\(layer) \(p.name)")
        // U(−b, b) has variance b²/3; with ≥ 17 values the sample max is near b.
        XCTAssertGreaterThan(values.map(abs).max()!, bound * 0.5, "\(layer) \(p.name)")
      }
      let w = layer.namedParameters[0].parameter.value.scalars
      let variance = w.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)
      XCTAssertEqual(variance, Double(bound * bound) / 3, accuracy: Double(bound * bound) / 3 * 0.15, "\(layer)")
    }
    XCTAssertEqual(convT.weight.value.shape, [32, 17, 3, 3], "ConvTranspose2d weight is [in, out, k, k]")
    XCTAssertEqual(conv.namedParameters.map(\.name), ["weight", "bias"])
  }

  func testInitialisationIsSeeded() throws {
    var a = SeededGenerator(seed: 5, stream: .initialization)
    var b = SeededGenerator(seed: 5, stream: .initialization)
    let la = try Linear(inputFeatures: 4, outputFeatures: 3, generator: &a)
    let lb = try Linear(inputFeatures: 4, outputFeatures: 3, generator: &b)
    XCTAssertEqual(la.weight.value, lb.weight.value)
    let lc = try Linear(inputFeatures: 4, outputFeatures: 3, generator: &a)
    XCTAssertNotEqual(la.weight.value, lc.weight.value, "the next layer draws further along the stream")
  }

  func testSequentialNamesParametersAsPyTorch() throws {
    var g = SeededGenerator(seed: 1, stream: .initialization)
    let net = try Sequential([
      try Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      try Conv2d(inputChannels: 8, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      Flatten(), try Linear(inputFeatures: 17 * 7 * 7, outputFeatures: 4, generator: &g),
    ])
    XCTAssertEqual(net.namedParameters.map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"])
    XCTAssertEqual(net.parameterCount, 8 * 9 + 8 + 17 * 72 + 17 + 4 * 833 + 4)
  }

  func testLossValues() throws {
    var grad = Tensor.zeros([0])
    let p = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
    let t = Tensor(shape: [2, 2], scalars: [0, 2, 3, 6])
    XCTAssertEqual(try MSELoss(reduction: .mean)(p, t, gradient: &grad), 1.25)  // (1 + 0 + 0 + 4) / 4
    XCTAssertEqual(try MSELoss(reduction: .sum)(p, t, gradient: &grad), 5)
    XCTAssertEqual(try MSELoss(reduction: .batchMean)(p, t, gradient: &grad), 2.5)
    let logits = Tensor(shape: [2, 2], scalars: [0, 0, 1000, 0])
    XCTAssertEqual(try CrossEntropyLoss()(logits, [0, 0], gradient: &grad), log(2) / 2, accuracy: 1e-12)
    var dm = Tensor.zeros([0]), dl = Tensor.zeros([0])
    let kl = GaussianKLDivergence(reduction: .batchMean)
    XCTAssertEqual(try kl(mu: Tensor.zeros([3, 2]), logVariance: Tensor.zeros([3, 2]), dMu: &dm, dLogVariance: &dl), 0)
    // μ = 1, σ² = 1 in each of 2 coordinates: ½·1 per coordinate, summed: 1 per image.
    XCTAssertEqual(
      try kl(mu: Tensor(shape: [3, 2], repeating: 1), logVariance: Tensor.zeros([3, 2]), dMu: &dm, dLogVariance: &dl), 1)
  }

  /// `MSELoss.squaredErrorSum` keeps its stated order (element i into partial i mod 8, the
  /// partials added pairwise), bit for bit against the order written out here, at lengths
  /// around the multiples of 8; is within 1e-13 relative of the exact sum (`Float80`, where
  /// each square of a float difference and this short sum are exact enough); and writes the
  /// gradient `2 · scale · (ŷ − y)` exactly.
  func testSquaredErrorSumOrderValueAndGradient() {
    var g = SeededGenerator(seed: 31, streamName: "test/squared-error")
    for count in [0, 1, 7, 8, 9, 15, 16, 17, 25_088, 25_093] {
      let p = (0..<count).map { _ in g.nextUniform(-1, 2) }
      let t = (0..<count).map { _ in g.nextUniform(0, 1) }
      var gradient = [Float](repeating: .nan, count: count)
      let sum = MSELoss.squaredErrorSum(p, t, count: count, scale: 0.25, gradient: &gradient)
      var partials = [Double](repeating: 0, count: 8)
      var exact: Float80 = 0
      for i in 0..<count {
        let e = Double(p[i] - t[i])
        partials[i % 8] += e * e
        exact += Float80(e) * Float80(e)
        XCTAssertEqual(gradient[i].bitPattern, (Float(0.5) * (p[i] - t[i])).bitPattern, "count \(count), gradient \(i)")
      }
      let ordered = ((partials[0] + partials[1]) + (partials[2] + partials[3]))
        + ((partials[4] + partials[5]) + (partials[6] + partials[7]))
      XCTAssertEqual(sum.bitPattern, ordered.bitPattern, "count \(count): the stated order")
      XCTAssertEqual(sum, Double(exact), accuracy: 1e-13 * Double(exact), "count \(count): the exact sum")
      // Both kernel paths, whichever the process selected (AVX2 only where the CPU has it).
      for isa: Int32 in InstructionSet.cpuHasAVX2 ? [0, 1] : [0] {
        var d = [Float](repeating: .nan, count: count)
        let s = latentlab_squared_error_sum(p, t, count, 0.5, &d, isa)
        XCTAssertEqual(s.bitPattern, ordered.bitPattern, "count \(count), kernel path \(isa)")
        XCTAssertEqual(d.map(\.bitPattern), gradient.map(\.bitPattern), "count \(count), kernel path \(isa)")
      }
      // Double keeps the order (its squares round, so the oracle rounds them the same way).
      let (pd, td) = (p.map(Double.init), t.map(Double.init))
      var dd = [Double](repeating: .nan, count: count)
      var partialsD = [Double](repeating: 0, count: 8)
      for i in 0..<count { partialsD[i % 8] += (pd[i] - td[i]) * (pd[i] - td[i]) }
      let orderedD = ((partialsD[0] + partialsD[1]) + (partialsD[2] + partialsD[3]))
        + ((partialsD[4] + partialsD[5]) + (partialsD[6] + partialsD[7]))
      let sumD = MSELoss.squaredErrorSum(pd, td, count: count, scale: 0.25, gradient: &dd)
      XCTAssertEqual(sumD.bitPattern, orderedD.bitPattern, "count \(count): Double")
    }
  }

  func testShapeMismatchesAndImpossibleConfigurationsAreClearErrors() throws {
    var g = SeededGenerator(seed: 1, stream: .initialization)
    let conv = try Conv2d(inputChannels: 8, outputChannels: 17, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    XCTAssertThrowsError(try conv.forward(Tensor.zeros([2, 3, 14, 14]))) { error in
      XCTAssertEqual(
        error as? LayerError,
        .shapeMismatch(layer: "Conv2d(8, 17, kernel_size=3, stride=2, padding=1)", expected: "[N, 8, H, W]", given: [2, 3, 14, 14]))
      XCTAssertEqual(
        "\(error)", "Conv2d(8, 17, kernel_size=3, stride=2, padding=1): expected input of shape [N, 8, H, W], given [2, 3, 14, 14]")
    }
    let big = try Conv2d(inputChannels: 1, outputChannels: 1, kernelSize: 5, generator: &g)
    XCTAssertThrowsError(try big.forward(Tensor.zeros([1, 1, 3, 3]))) { XCTAssertTrue("\($0)".contains("kernel"), "\($0)") }
    XCTAssertThrowsError(
      try ConvTranspose2d(inputChannels: 2, outputChannels: 2, kernelSize: 3, stride: 2, outputPadding: 2, generator: &g)
    ) { XCTAssertTrue("\($0)".contains("output_padding must be in 0..<stride"), "\($0)") }
    XCTAssertThrowsError(try Conv2d(inputChannels: 0, outputChannels: 2, kernelSize: 3, generator: &g))
    let convT = try ConvTranspose2d(inputChannels: 1, outputChannels: 1, kernelSize: 1, stride: 1, padding: 1, generator: &g)
    XCTAssertThrowsError(try convT.forward(Tensor.zeros([1, 1, 2, 2]))) { XCTAssertTrue("\($0)".contains("positive output size"), "\($0)") }
    let linear = try Linear(inputFeatures: 512, outputFeatures: 69, generator: &g)
    XCTAssertThrowsError(try linear.forward(Tensor.zeros([4, 500]))) { XCTAssertTrue("\($0)".contains("[N, 512]"), "\($0)") }
    XCTAssertThrowsError(try linear.backward(Tensor.zeros([4, 69]))) {
      XCTAssertEqual($0 as? LayerError, .backwardBeforeForward(layer: linear.description))
    }
    let net = try Sequential([Flatten(), linear])
    XCTAssertThrowsError(try net.forward(Tensor.zeros([2, 1, 28, 28]))) { XCTAssertTrue("\($0)".contains("given [2, 784]"), "\($0)") }
    XCTAssertThrowsError(try Unflatten(itemShape: [32, 4, 4]).forward(Tensor.zeros([2, 500])))
    var ceGrad = Tensor.zeros([0])
    XCTAssertThrowsError(try CrossEntropyLoss()(Tensor.zeros([2, 10]), [1, 10], gradient: &ceGrad)) {
      XCTAssertEqual($0 as? LossError, .labelOutOfRange(loss: "CrossEntropyLoss", label: 10, classes: 10))
    }
  }
}
