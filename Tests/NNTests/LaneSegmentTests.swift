import NN
import TensorCore
import TestSupport
import XCTest

/// A `Sequential` runs its runs of convolutions and activations as lane segments (one layout
/// conversion at each end, chunk by chunk through every layer); these tests hold it to the
/// layers' own results bit for bit: the same network with the same inputs, once through
/// `Sequential` and once calling each layer on its own, must give identical outputs, input
/// gradients and parameter gradients, over batches with partial lane groups and chunks.
final class LaneSegmentTests: XCTestCase {
  func random(_ shape: [Int], _ g: inout SeededGenerator) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextFloat() * 2 - 1 })
  }

  /// Conv → ReLU → ConvTranspose (output_padding) → Sigmoid → Conv (stride 1) → ReLU →
  /// Flatten → Linear: a segment of six layers, then two that run on their own.
  func network(firstSkipsInputGradient: Bool) throws -> Sequential {
    var g = SeededGenerator(seed: 11, stream: .initialization)
    let first = try Conv2d(inputChannels: 2, outputChannels: 5, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    first.computesInputGradient = !firstSkipsInputGradient
    return try Sequential([
      first, ReLU(),
      try ConvTranspose2d(inputChannels: 5, outputChannels: 3, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g),
      Sigmoid(),
      try Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: 3, stride: 1, padding: 1, generator: &g), ReLU(),
      Flatten(),
      try Linear(inputFeatures: 4 * 10 * 10, outputFeatures: 6, generator: &g),
    ])
  }

  func compare(batch n: Int, firstSkipsInputGradient: Bool, frozen: Bool, threads: Int) throws {
    let name = "batch \(n), first skips dx \(firstSkipsInputGradient), frozen \(frozen), \(threads) threads"
    var results: [(y: Tensor, dx: Tensor, grads: [Tensor])] = []
    for throughSequential in [true, false] {
      let net = try network(firstSkipsInputGradient: firstSkipsInputGradient)
      net.parallel = DeterministicParallel(threads: threads)
      if frozen { net.namedParameters[2].parameter.isFrozen = true }  // the transposed conv's weight
      var g = SeededGenerator(seed: 3, streamName: "test/segments")
      let x = random([n, 2, 10, 10], &g)
      let dy = random([n, 6], &g)
      net.zeroGradients()
      var y: Tensor, dx: Tensor
      if throughSequential {
        y = try net.forward(x)
        dx = try net.backward(dy)
      } else {
        y = x
        for layer in net.layers { y = try layer.forward(y) }
        dx = dy
        for layer in net.layers.reversed() { dx = try layer.backward(dx) }
      }
      results.append((y, dx, net.namedParameters.map { $0.parameter.gradient }))
    }
    assertBitIdentical(results[0].y, results[1].y, "\(name): output")
    assertBitIdentical(results[0].dx, results[1].dx, "\(name): input gradient")
    for (i, (a, b)) in zip(results[0].grads, results[1].grads).enumerated() {
      assertBitIdentical(a, b, "\(name): gradient of parameter \(i)")
    }
  }

  func testSegmentsGiveTheLayersOwnBits() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no lane segments")
    for n in [1, 13, 37, 64] {
      for threads in [1, 2] {
        try compare(batch: n, firstSkipsInputGradient: false, frozen: false, threads: threads)
      }
    }
    try compare(batch: 37, firstSkipsInputGradient: true, frozen: false, threads: 2)
    try compare(batch: 37, firstSkipsInputGradient: false, frozen: true, threads: 2)
  }

  /// A first convolution that skips its input gradient hands back zeros through the segment,
  /// as it does on its own, even after a backward that computed one.
  func testSkippedInputGradientIsZero() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no lane segments")
    let net = try network(firstSkipsInputGradient: false)
    var g = SeededGenerator(seed: 5, streamName: "test/segments/zero")
    let x = random([9, 2, 10, 10], &g)
    let dy = random([9, 6], &g)
    _ = try net.forward(x)
    XCTAssertGreaterThan(try net.backward(dy).scalars.map(abs).max()!, 0)
    (net.layers[0] as! Conv2d).computesInputGradient = false
    _ = try net.forward(x)
    XCTAssertEqual(try net.backward(dy).scalars.map(abs).max()!, 0)
  }

  /// A second backward without a forward is an error naming the layers, as for a layer.
  func testBackwardNeedsForward() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no lane segments")
    let net = try network(firstSkipsInputGradient: false)
    var g = SeededGenerator(seed: 5, streamName: "test/segments/order")
    _ = try net.forward(random([3, 2, 10, 10], &g))
    _ = try net.backward(random([3, 6], &g))
    XCTAssertThrowsError(try net.backward(random([3, 6], &g)))
  }
}
