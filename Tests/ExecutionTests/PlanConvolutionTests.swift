import Execution
import NN
import TensorCore
import TestSupport
import XCTest

/// A plan's lane convolutions (the direct AVX2 kernels) against the layers' reference
/// `forward`/`backward` (im2col + OpenBLAS), an independent implementation of the same maps,
/// over shapes that cover every branch of the kernels: stride 1–3, padding 0–2, kernel 1–5,
/// output_padding, channel counts that split into uneven blocks (1, 2, 3, 7, 13), batches that
/// leave partial lane groups and partial chunks (1, 7, 9, 41), and frozen parameters. The plan
/// is the one layer, its loss `Σ y · dy` (so the output gradient is the given `dy`).
/// Tolerance: |a − b| ≤ 2e-5 · max|b| + 1e-4 · |b| elementwise (`assertCloseToScale`).
final class PlanConvolutionTests: XCTestCase {
  struct Shape {
    var cin, cout, k, stride, padding, outputPadding, h, w, n: Int

    /// The lane kernels of this shape's convolution (or transposed convolution), with a weight
    /// and bias drawn from `g` uniform in [−1, 1), packed for both directions (one chunk).
    func laneConvolution(transposed: Bool, _ g: inout SeededGenerator) -> (LaneConvolution, weight: [Float], bias: [Float]) {
      let out = { (n: Int) in
        transposed ? (n - 1) * stride - 2 * padding + k + outputPadding : (n + 2 * padding - k) / stride + 1
      }
      let lanes = LaneConvolution(
        inputChannels: cin, outputChannels: cout, kernelSize: k, stride: stride, padding: padding,
        inputSize: (h, w), outputSize: (out(h), out(w)), transposed: transposed)
      let weight = (0..<(cin * cout * k * k)).map { _ in g.nextFloat() * 2 - 1 }
      let bias = (0..<cout).map { _ in g.nextFloat() * 2 - 1 }
      lanes.packForward(weight: weight, bias: bias)
      lanes.prepareBackward(weight: weight, chunks: 1)
      return (lanes, weight, bias)
    }
  }

  static let shapes: [Shape] = [
    Shape(cin: 1, cout: 8, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 28, w: 28, n: 9),
    Shape(cin: 8, cout: 17, k: 3, stride: 2, padding: 1, outputPadding: 0, h: 14, w: 14, n: 41),
    Shape(cin: 17, cout: 3, k: 3, stride: 2, padding: 0, outputPadding: 1, h: 7, w: 9, n: 7),
    Shape(cin: 3, cout: 13, k: 5, stride: 1, padding: 2, outputPadding: 0, h: 6, w: 5, n: 1),
    Shape(cin: 2, cout: 1, k: 3, stride: 3, padding: 1, outputPadding: 2, h: 8, w: 10, n: 9),
    Shape(cin: 7, cout: 2, k: 1, stride: 1, padding: 0, outputPadding: 0, h: 4, w: 4, n: 33),
    Shape(cin: 5, cout: 6, k: 4, stride: 2, padding: 2, outputPadding: 1, h: 9, w: 7, n: 8),
    // One input channel into 7-16 (AVX-512 runs two blocks at once: 3 + 4, 5 + 6, 5 + 5 and a
    // lone 6), odd widths for lone positions.
    Shape(cin: 1, cout: 11, k: 3, stride: 1, padding: 1, outputPadding: 0, h: 5, w: 7, n: 3),
    Shape(cin: 1, cout: 7, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 9, w: 7, n: 2),
    Shape(cin: 1, cout: 16, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 6, w: 8, n: 9),
    Shape(cin: 12, cout: 1, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 9, w: 9, n: 5),
    // One output channel, transposed, 40 wide: each phase of 20 in runs of 16 and 4 (LL_MAX_RUN).
    Shape(cin: 3, cout: 1, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 4, w: 20, n: 3),
    // Two blocks of 4-6 outputs over 4 or more inputs (AVX-512 runs them at once): 9 outputs
    // forward; 11 as the input gradient of 11 → 4.
    Shape(cin: 6, cout: 9, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 7, w: 9, n: 5),
    Shape(cin: 11, cout: 4, k: 3, stride: 1, padding: 1, outputPadding: 0, h: 5, w: 6, n: 3),
  ]

  /// Compares one layer run through a plan with the same layer's reference passes.
  func compare(_ name: String, layer: any Layer<Float>, inputShape: [Int], freeze: Bool) throws {
    if freeze { layer.namedParameters.last!.parameter.isFrozen = true }
    var g = SeededGenerator(seed: 7, streamName: "test/lanes/\(name)")
    let x = randomTensor(inputShape, &g)
    let y = try layer.forward(x)
    let dy = randomTensor(y.shape, &g)
    layer.zeroGradients()
    let dx = try layer.backward(dy)
    let reference = layer.namedParameters.map { $0.parameter.gradient }

    let plan = try ExecutionPlan([.layers([layer])], inputShape: Array(inputShape.dropFirst()))
    let parallel = DeterministicParallel(threads: 2)
    assertCloseToScale(try plan.forward(x, parallel: parallel), y, scaleTolerance: 2e-5, rtol: 1e-4, "\(name) output")
    layer.zeroGradients()
    let totals = try plan.trainingPass(x, loss: GivenGradient(dy), parallel: parallel, computingInputGradient: true)
    assertCloseToScale(try XCTUnwrap(totals.inputGradient), dx, scaleTolerance: 2e-5, rtol: 1e-4, "\(name) input gradient")
    for (i, (p, expected)) in zip(layer.namedParameters, reference).enumerated() {
      assertCloseToScale(p.parameter.gradient, expected, scaleTolerance: 2e-5, rtol: 1e-4, "\(name) parameter \(i) gradient")
    }
  }

  func testLaneKernelsMatchTheReferenceLayers() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    for (i, s) in PlanConvolutionTests.shapes.enumerated() {
      for freeze in [false, true] {
        var g = SeededGenerator(seed: UInt64(i), stream: .initialization)
        try compare(
          "conv\(i)",
          layer: try Conv2d(
            inputChannels: s.cin, outputChannels: s.cout, kernelSize: s.k, stride: s.stride, padding: s.padding,
            generator: &g),
          inputShape: [s.n, s.cin, s.h, s.w], freeze: freeze)
        g = SeededGenerator(seed: UInt64(i), stream: .initialization)
        try compare(
          "convT\(i)",
          layer: try ConvTranspose2d(
            inputChannels: s.cin, outputChannels: s.cout, kernelSize: s.k, stride: s.stride, padding: s.padding,
            outputPadding: s.outputPadding, generator: &g),
          inputShape: [s.n, s.cin, s.h, s.w], freeze: freeze)
      }
    }
  }
}

/// Uniform values in [-1, 1).
func randomTensor(_ shape: [Int], _ g: inout SeededGenerator) -> Tensor {
  Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextFloat() * 2 - 1 })
}

/// The loss `Σ y · dy` for a fixed `dy`: its gradient with respect to the output is `dy`, so
/// a plan's backward pass can be compared with a layer's `backward(dy)`.
struct GivenGradient: ChunkLoss {
  let dy: Tensor

  init(_ dy: Tensor) { self.dy = dy }

  func share(rows: Range<Int>, output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) -> LossShare {
    let width = dy.shape.dropFirst().reduce(1, *)
    return dy.withUnsafeBufferPointer { d in
      let given = d.baseAddress! + rows.lowerBound * width
      var sum = 0.0
      for q in 0..<(rows.count * width) {
        gradient[q] = given[q]
        sum += Double(output[q]) * Double(given[q])
      }
      return LossShare(sum: sum)
    }
  }
}
