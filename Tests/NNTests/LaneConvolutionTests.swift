import NN
import TensorCore
import XCTest

/// The direct lane kernels (Conv2d / ConvTranspose2d's default `Float` path) against the
/// im2col + OpenBLAS path, an independent implementation of the same maps, over shapes that
/// cover every branch of the kernels: stride 1–3, padding 0–2, kernel 1–5, output_padding,
/// channel counts that split into uneven blocks (1, 2, 3, 7, 13), batches that leave partial
/// lane groups and partial chunks (1, 7, 9, 41), and frozen parameters.
/// Tolerance: |a − b| ≤ 2e-5 · max|b| + 1e-4 · |b| elementwise: two float32 summation orders
/// of up to 30,000 terms (a bias gradient) differ relative to the tensor's scale, not to
/// each element (an element that sums to nearly zero has no relative precision).
final class LaneConvolutionTests: XCTestCase {
  struct Shape {
    var cin, cout, k, stride, padding, outputPadding, h, w, n: Int
  }

  let shapes: [Shape] = [
    Shape(cin: 1, cout: 8, k: 3, stride: 2, padding: 1, outputPadding: 1, h: 28, w: 28, n: 9),
    Shape(cin: 8, cout: 17, k: 3, stride: 2, padding: 1, outputPadding: 0, h: 14, w: 14, n: 41),
    Shape(cin: 17, cout: 3, k: 3, stride: 2, padding: 0, outputPadding: 1, h: 7, w: 9, n: 7),
    Shape(cin: 3, cout: 13, k: 5, stride: 1, padding: 2, outputPadding: 0, h: 6, w: 5, n: 1),
    Shape(cin: 2, cout: 1, k: 3, stride: 3, padding: 1, outputPadding: 2, h: 8, w: 10, n: 9),
    Shape(cin: 7, cout: 2, k: 1, stride: 1, padding: 0, outputPadding: 0, h: 4, w: 4, n: 33),
    Shape(cin: 5, cout: 6, k: 4, stride: 2, padding: 2, outputPadding: 1, h: 9, w: 7, n: 8),
  ]

  func random(_ shape: [Int], _ g: inout SeededGenerator) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextFloat() * 2 - 1 })
  }

  func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    var worst = 0 as Float
    let scale = b.scalars.reduce(0) { max($0, abs($1)) }
    for (x, y) in zip(a.scalars, b.scalars) {
      let excess = abs(x - y) - (2e-5 * scale + 1e-4 * abs(y))
      worst = max(worst, excess)
    }
    XCTAssertLessThanOrEqual(worst, 0, "\(what): lane kernels differ from im2col + GEMM", file: file, line: line)
  }

  /// Runs forward and backward through `make()` with each algorithm and compares everything.
  func compare<L: Layer<Float>>(
    _ name: String, inputShape: [Int], make: () throws -> L, setAlgorithm: (L, ConvolutionAlgorithm) -> Void,
    freeze: Bool
  ) throws {
    var results: [(y: Tensor, dx: Tensor, grads: [Tensor])] = []
    for algorithm in [ConvolutionAlgorithm.directLanes, .im2colGEMM] {
      let layer = try make()
      setAlgorithm(layer, algorithm)
      if freeze { layer.namedParameters.last!.parameter.isFrozen = true }
      var g = SeededGenerator(seed: 7, streamName: "test/lanes/\(name)")
      let x = random(inputShape, &g)
      let y = try layer.forward(x)
      let dy = random(y.shape, &g)
      layer.zeroGradients()
      let dx = try layer.backward(dy)
      results.append((y, dx, layer.namedParameters.map { $0.parameter.gradient }))
    }
    assertClose(results[0].y, results[1].y, "\(name) output")
    assertClose(results[0].dx, results[1].dx, "\(name) input gradient")
    for (i, (a, b)) in zip(results[0].grads, results[1].grads).enumerated() {
      assertClose(a, b, "\(name) parameter \(i) gradient")
    }
  }

  func testDirectKernelsMatchIm2colGEMM() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: only im2col runs")
    for (i, s) in shapes.enumerated() {
      for freeze in [false, true] {
        try compare(
          "conv\(i)", inputShape: [s.n, s.cin, s.h, s.w],
          make: {
            var g = SeededGenerator(seed: UInt64(i), stream: .initialization)
            return try Conv2d(
              inputChannels: s.cin, outputChannels: s.cout, kernelSize: s.k, stride: s.stride, padding: s.padding,
              generator: &g)
          }, setAlgorithm: { $0.algorithm = $1 }, freeze: freeze)
        try compare(
          "convT\(i)", inputShape: [s.n, s.cin, s.h, s.w],
          make: {
            var g = SeededGenerator(seed: UInt64(i), stream: .initialization)
            return try ConvTranspose2d(
              inputChannels: s.cin, outputChannels: s.cout, kernelSize: s.k, stride: s.stride, padding: s.padding,
              outputPadding: s.outputPadding, generator: &g)
          }, setAlgorithm: { $0.algorithm = $1 }, freeze: freeze)
      }
    }
  }

  /// A second forward with another input size (a new plan) and then the first size again.
  func testPlansFollowTheInputSize() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: only im2col runs")
    var g = SeededGenerator(seed: 3, stream: .initialization)
    let lanes = try Conv2d(inputChannels: 2, outputChannels: 5, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    let reference = try Conv2d(inputChannels: 2, outputChannels: 5, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    reference.weight.value = lanes.weight.value
    reference.bias!.value = lanes.bias!.value
    reference.algorithm = .im2colGEMM
    for shape in [[3, 2, 10, 10], [12, 2, 7, 5], [3, 2, 10, 10]] {
      let x = random(shape, &g)
      assertClose(try lanes.forward(x), try reference.forward(x), "forward \(shape)")
    }
  }
}
