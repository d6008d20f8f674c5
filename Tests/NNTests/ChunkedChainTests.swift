import NN
import TensorCore
import TestSupport
import XCTest

/// A `ChunkedChain` runs a whole model one chunk of 32 images at a time (forward, loss,
/// backward). These tests hold it to the layers' own results bit for bit: the same model, once
/// through the chain and once calling each layer over the whole batch (its linear layers set to
/// the chain's 32-row chunks), must give identical outputs and parameter gradients, with 1 and
/// 2 threads, over batches with partial lane groups and partial chunks.
final class ChunkedChainTests: XCTestCase {
  func random(_ shape: [Int], _ g: inout SeededGenerator) -> Tensor {
    Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in g.nextFloat() })
  }

  /// A small convolutional autoencoder on 1×12×12 images, built as the seed's is: encoder
  /// convolutions (the first skips its input gradient), Flatten, dense layers, Unflatten,
  /// transposed convolutions with a sigmoid.
  func model() throws -> [any Layer<Float>] {
    var g = SeededGenerator(seed: 5, stream: .initialization)
    let first = try Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    first.computesInputGradient = false
    return [
      try Sequential([
        first, ReLU(),
        try Conv2d(inputChannels: 4, outputChannels: 6, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      ]),
      Flatten(),
      try Sequential([
        try Linear(inputFeatures: 6 * 3 * 3, outputFeatures: 10, generator: &g), ReLU(),
        try Linear(inputFeatures: 10, outputFeatures: 3, generator: &g),
      ]),
      try Sequential([
        try Linear(inputFeatures: 3, outputFeatures: 54, generator: &g), ReLU(),
      ]),
      try Unflatten(itemShape: [6, 3, 3]),
      try Sequential([
        try ConvTranspose2d(
          inputChannels: 6, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g),
        ReLU(),
        try ConvTranspose2d(
          inputChannels: 4, outputChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, generator: &g),
        Sigmoid(),
      ]),
    ]
  }

  func parameters(_ parts: [any Layer<Float>]) -> [ParameterOf<Float>] {
    parts.flatMap { $0.namedParameters.map(\.parameter) }
  }

  func linears(_ parts: [any Layer<Float>]) -> [Linear] {
    parts.flatMap { part in (part as? Sequential)?.layers.compactMap { $0 as? Linear } ?? [] }
  }

  /// The loss share of a chunk: mean squared error against the input images, with the batch's
  /// divisor.
  func mseShare(_ x: Tensor, scale: Double) -> (Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Double {
    let targets = x.scalars
    return { rows, output, gradient in
      targets.withUnsafeBufferPointer { t in
        MSELoss.squaredErrorSum(output, t.baseAddress! + rows.lowerBound * 144, count: rows.count * 144, scale: scale, gradient: gradient)
      }
    }
  }

  func compare(batch n: Int, threads: Int, frozen: Bool) throws {
    let name = "batch \(n), \(threads) threads, frozen \(frozen)"
    var g = SeededGenerator(seed: 8, streamName: "test/chain")
    let x = random([n, 1, 12, 12], &g)
    let parallel = DeterministicParallel(threads: threads)

    // Layer by layer over the whole batch, linear layers in 32-row chunks.
    let reference = try model()
    for linear in linears(reference) { linear.fixedRowsPerChunk = BatchChunking.itemsPerChunk }
    for part in reference { part.parallel = parallel }
    if frozen { parameters(reference)[2].isFrozen = true; parameters(reference)[4].isFrozen = true }
    var y = x
    for part in reference { y = try part.forward(y) }
    var dy = Tensor.zeros([0])
    let referenceLoss = try MSELoss()(y, x, gradient: &dy)
    for part in reference.reversed() { dy = try part.backward(dy) }

    // The chain, on a fresh copy of the same model.
    let parts = try model()
    if frozen { parameters(parts)[2].isFrozen = true; parameters(parts)[4].isFrozen = true }
    let chain = try XCTUnwrap(ChunkedChain.make(parts))
    let scale = 1 / Double(x.count)
    let sum = try chain.trainingPass(x, parallel: parallel, loss: mseShare(x, scale: scale))
    XCTAssertEqual(sum * scale, referenceLoss, accuracy: 1e-12 * referenceLoss, "\(name): loss")
    for (i, (a, b)) in zip(parameters(reference), parameters(parts)).enumerated() {
      assertBitIdentical(a.gradient, b.gradient, "\(name): gradient of parameter \(i)")
      if frozen && (i == 2 || i == 4) { XCTAssertTrue(b.gradient.scalars.allSatisfy { $0 == 0 }, "\(name): frozen \(i)") }
    }

    // Forward only: the same outputs, and the same loss.
    assertBitIdentical(try chain.forward(x, parallel: parallel), y, "\(name): output")
    XCTAssertEqual(try chain.loss(x, parallel: parallel, loss: mseShare(x, scale: scale)), sum, "\(name): forward loss")
  }

  func testChainGivesTheLayersOwnBits() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no chain")
    for n in [1, 13, 37, 64, 100] {
      for threads in [1, 2] {
        try compare(batch: n, threads: threads, frozen: false)
      }
    }
    try compare(batch: 100, threads: 2, frozen: true)
  }

  /// Two passes in a row accumulate gradients as two layer-by-layer passes do (nothing of the
  /// first pass leaks into the second).
  func testPassesAccumulate() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no chain")
    var g = SeededGenerator(seed: 9, streamName: "test/chain")
    let a = random([40, 1, 12, 12], &g)
    let b = random([70, 1, 12, 12], &g)
    let once = try model()
    let chainOnce = try XCTUnwrap(ChunkedChain.make(once))
    _ = try chainOnce.trainingPass(b, parallel: DeterministicParallel(threads: 2), loss: mseShare(b, scale: 1))
    let twice = try model()
    let chainTwice = try XCTUnwrap(ChunkedChain.make(twice))
    _ = try chainTwice.trainingPass(a, parallel: DeterministicParallel(threads: 2), loss: mseShare(a, scale: 1))
    for p in parameters(twice) { p.zeroGradient() }
    _ = try chainTwice.trainingPass(b, parallel: DeterministicParallel(threads: 2), loss: mseShare(b, scale: 1))
    for (i, (p, q)) in zip(parameters(once), parameters(twice)).enumerated() {
      assertBitIdentical(p.gradient, q.gradient, "gradient of parameter \(i)")
    }
  }

  /// A layer the chain cannot run, or a convolution switched off the lane kernels, means no
  /// chain; a chain built before the switch no longer matches.
  func testChainOnlyForWhatItRuns() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no chain")
    let parts = try model()
    let chain = try XCTUnwrap(ChunkedChain.make(parts))
    XCTAssertTrue(chain.matches(parts))
    let conv = try XCTUnwrap((parts[0] as? Sequential)?.layers[2] as? Conv2d)
    conv.algorithm = .im2colGEMM
    XCTAssertFalse(chain.matches(parts))
    XCTAssertNil(ChunkedChain.make(parts))
    conv.algorithm = .directLanes
    XCTAssertTrue(chain.matches(parts))
    XCTAssertNil(ChunkedChain.make(parts + [Sigmoid()]))
  }

  /// A batch of the wrong shape is the first layer's clear error, not a crash.
  func testWrongShapeIsTheLayersError() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no chain")
    let chain = try XCTUnwrap(ChunkedChain.make(try model()))
    let x = Tensor.zeros([4, 2, 12, 12])
    XCTAssertThrowsError(try chain.trainingPass(x, parallel: DeterministicParallel(threads: 1)) { _, _, _ in 0 }) { error in
      XCTAssertTrue("\(error)".contains("Conv2d"), "\(error)")
    }
  }
}

extension ChunkedChainTests {
  /// An empty batch passes through as the layers take it: an empty output, no loss, no
  /// gradient.
  func testEmptyBatch() throws {
    try XCTSkipUnless(ConvolutionAlgorithm.directLanesAvailable, "this CPU lacks AVX2/FMA: no chain")
    let parts = try model()
    let chain = try XCTUnwrap(ChunkedChain.make(parts))
    let x = Tensor.zeros([0, 1, 12, 12])
    XCTAssertEqual(try chain.forward(x, parallel: DeterministicParallel(threads: 2)).shape, [0, 1, 12, 12])
    XCTAssertEqual(try chain.trainingPass(x, parallel: DeterministicParallel(threads: 2), loss: mseShare(x, scale: 1)), 0)
    for p in parameters(parts) { XCTAssertTrue(p.gradient.scalars.allSatisfy { $0 == 0 }) }
  }
}
