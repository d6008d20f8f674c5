import Execution
import NN
import TensorCore
import TestSupport
import XCTest

/// An `ExecutionPlan` runs a whole model one chunk of 32 images at a time (forward, loss,
/// backward). Oracle: the same layers' reference passes over the whole batch (a plain fold,
/// im2col + GEMM convolutions), on the same weights and batch. Tolerance: outputs and every
/// gradient within 1e-4 · max|reference| + 1e-3 · |element| (`assertCloseToScale`; float32
/// summation orders of up to ~10⁴ terms through a dozen layers), the loss within 1e-5
/// relative. And, bit for bit: 1 vs 2 threads, and a pass through a mark vs two passes that
/// stop and start there.
final class ExecutionPlanTests: XCTestCase {
  /// A small convolutional autoencoder on 1×12×12 images, built as the seed's is: encoder
  /// convolutions, Flatten, dense layers, the mark `codes`, dense layers, Unflatten,
  /// transposed convolutions with a sigmoid.
  func model(seed: UInt64 = 5) throws -> (encoder: [any Layer<Float>], decoder: [any Layer<Float>]) {
    var g = SeededGenerator(seed: seed, stream: .initialization)
    let first = try Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, stride: 2, padding: 1, generator: &g)
    first.computesInputGradient = false
    let encoder: [any Layer<Float>] = [
      try Sequential([
        first, ReLU(),
        try Conv2d(inputChannels: 4, outputChannels: 6, kernelSize: 3, stride: 2, padding: 1, generator: &g), ReLU(),
      ]),
      Flatten(),
      try Sequential([
        try Linear(inputFeatures: 6 * 3 * 3, outputFeatures: 10, generator: &g), ReLU(),
        try Linear(inputFeatures: 10, outputFeatures: 3, generator: &g),
      ]),
    ]
    let decoder: [any Layer<Float>] = [
      try Sequential([try Linear(inputFeatures: 3, outputFeatures: 54, generator: &g), ReLU()]),
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
    return (encoder, decoder)
  }

  func plan(_ m: (encoder: [any Layer<Float>], decoder: [any Layer<Float>])) throws -> ExecutionPlan {
    try ExecutionPlan([.layers(m.encoder), .mark("codes"), .layers(m.decoder)], inputShape: [1, 12, 12])
  }

  func parameters(_ m: (encoder: [any Layer<Float>], decoder: [any Layer<Float>])) -> [ParameterOf<Float>] {
    (m.encoder + m.decoder).flatMap { $0.namedParameters.map(\.parameter) }
  }

  func images(_ n: Int, seed: UInt64 = 8) -> Tensor {
    var g = SeededGenerator(seed: seed, streamName: "test/plan")
    return Tensor(shape: [n, 1, 12, 12], scalars: (0..<(n * 144)).map { _ in g.nextFloat() })
  }

  /// Trains one pass through the plan; returns the loss, every gradient and the output.
  func planPass(batch x: Tensor, threads: Int, frozen: Bool = false) throws -> (loss: Double, gradients: [Tensor], output: Tensor) {
    let m = try model()
    if frozen { for i in [2, 4] { parameters(m)[i].isFrozen = true } }
    let p = try plan(m)
    let parallel = DeterministicParallel(threads: threads)
    let mse = SquaredErrorChunks(targets: x)
    let totals = try p.trainingPass(x, loss: mse, parallel: parallel)
    return (totals.lossSum * mse.scale, parameters(m).map(\.gradient), try p.forward(x, parallel: parallel))
  }

  func testPlanComputesTheReferenceLayers() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    for n in [1, 13, 37, 100] {
      let x = images(n)
      let m = try model()
      var y = x
      for layer in m.encoder + m.decoder { y = try layer.forward(y) }
      var dy = Tensor.zeros([0])
      let loss = try MSELoss()(y, x, gradient: &dy)
      for layer in (m.encoder + m.decoder).reversed() { dy = try layer.backward(dy) }
      let planned = try planPass(batch: x, threads: 2)
      XCTAssertEqual(planned.loss, loss, accuracy: 1e-5 * loss, "batch \(n): loss")
      assertCloseToScale(planned.output, y, scaleTolerance: 1e-4, rtol: 1e-3, "batch \(n): output")
      for (i, (a, b)) in zip(planned.gradients, parameters(m).map(\.gradient)).enumerated() {
        assertCloseToScale(a, b, scaleTolerance: 1e-4, rtol: 1e-3, "batch \(n): gradient of parameter \(i)")
      }
    }
  }

  /// Oracle: the one-thread pass, bit for bit (loss, output, every parameter gradient).
  func testThreadCountNeverChangesABit() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    for n in [37, 100, 2000] {
      let x = images(n)
      let one = try planPass(batch: x, threads: 1)
      // Workers claim chunks as they finish, so which worker runs which chunk varies from run
      // to run: several runs at 2 and 3 threads, and a batch of 63 chunks, long enough for the
      // workers to run side by side (two sharing a slot would overwrite each other's rows).
      for (threads, run) in [2, 3].flatMap({ t in (0..<4).map { (t, $0) } }) {
        let many = try planPass(batch: x, threads: threads)
        let label = "batch \(n), \(threads) threads, run \(run)"
        XCTAssertEqual(one.loss.bitPattern, many.loss.bitPattern, "\(label): loss")
        assertBitIdentical(many.output, one.output, "\(label): output")
        for (i, (a, b)) in zip(many.gradients, one.gradients).enumerated() {
          assertBitIdentical(a, b, "\(label): gradient of parameter \(i)")
        }
      }
    }
  }

  /// `forward(to: codes)` then `forward(from: codes)` is `forward()`, bit for bit; and an
  /// evaluation pass's loss is the training pass's.
  func testAPassThroughAMarkIsTwoPassesMeetingThere() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    let p = try plan(try model())
    let codes = try XCTUnwrap(p.boundary(named: "codes"))
    let parallel = DeterministicParallel(threads: 2)
    let x = images(77)
    let z = try p.forward(x, to: codes, parallel: parallel)
    XCTAssertEqual(z.shape, [77, 3])
    assertBitIdentical(try p.forward(z, from: codes, parallel: parallel), try p.forward(x, parallel: parallel), "output")
    let mse = SquaredErrorChunks(targets: x)
    XCTAssertEqual(
      try p.evaluationPass(x, loss: mse, parallel: parallel).lossSum, try p.trainingPass(x, loss: mse, parallel: parallel).lossSum)
  }

  /// Frozen parameters get no gradient, and the others the same bits as without freezing.
  func testFrozenParametersGetNoGradient() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    let x = images(50)
    let free = try planPass(batch: x, threads: 2)
    let frozen = try planPass(batch: x, threads: 2, frozen: true)
    for (i, (a, b)) in zip(frozen.gradients, free.gradients).enumerated() {
      if i == 2 || i == 4 {
        XCTAssertTrue(a.scalars.allSatisfy { $0 == 0 }, "frozen parameter \(i)")
      } else {
        assertBitIdentical(a, b, "gradient of parameter \(i)")
      }
    }
  }

  /// Two passes in a row accumulate gradients as two reference passes do (nothing of the
  /// first pass leaks into the second).
  func testPassesAccumulate() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    let (a, b) = (images(40, seed: 1), images(70, seed: 2))
    let parallel = DeterministicParallel(threads: 2)
    let once = try model()
    _ = try plan(once).trainingPass(b, loss: SquaredErrorChunks(targets: b), parallel: parallel)
    let twice = try model()
    let p = try plan(twice)
    _ = try p.trainingPass(a, loss: SquaredErrorChunks(targets: a), parallel: parallel)
    for q in parameters(twice) { q.zeroGradient() }
    _ = try p.trainingPass(b, loss: SquaredErrorChunks(targets: b), parallel: parallel)
    for (i, (q, r)) in zip(parameters(once), parameters(twice)).enumerated() {
      assertBitIdentical(r.gradient, q.gradient, "gradient of parameter \(i)")
    }
  }

  /// A layer the plan has no step for, or a kernel its convolutions do not take, is an error
  /// naming the layer, never a slower path.
  func testALayerThePlanCannotRunIsAnErrorNamingIt() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    var g = SeededGenerator(seed: 1, stream: .initialization)
    let wide = try Conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 9, padding: 4, generator: &g)
    XCTAssertThrowsError(try ExecutionPlan([.layers([wide])], inputShape: [1, 12, 12])) { error in
      XCTAssertEqual(
        error as? PlanError, .unsupportedLayer(layer: wide.description, reason: "kernel size 9 is larger than the lane kernels take (7)"))
    }
    XCTAssertThrowsError(try ExecutionPlan([.layers([Doubling()])], inputShape: [4])) { error in
      XCTAssertTrue("\(error)".contains("Doubling()"), "\(error)")
    }
  }

  /// A batch of the wrong shape is a clear error, not a crash; so is a pass from nowhere.
  func testWrongShapeIsAnError() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    let p = try plan(try model())
    let x = Tensor.zeros([4, 2, 12, 12])
    XCTAssertThrowsError(try p.trainingPass(x, loss: SquaredErrorChunks(targets: x), parallel: DeterministicParallel(threads: 1))) {
      XCTAssertTrue("\($0)".contains("expected input [N, 1, 12, 12], given [4, 2, 12, 12]"), "\($0)")
    }
    XCTAssertThrowsError(try p.forward(Tensor.zeros([4, 3]), from: 2, parallel: DeterministicParallel(threads: 1))) {
      XCTAssertTrue("\($0)".contains("a pass runs from the input or a mark"), "\($0)")
    }
  }

  /// An empty batch passes through: an empty output, no loss, no gradient.
  func testEmptyBatch() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    let m = try model()
    let p = try plan(m)
    let x = Tensor.zeros([0, 1, 12, 12])
    XCTAssertEqual(try p.forward(x, parallel: DeterministicParallel(threads: 2)).shape, [0, 1, 12, 12])
    XCTAssertEqual(try p.trainingPass(x, loss: SquaredErrorChunks(targets: x), parallel: DeterministicParallel(threads: 2)).lossSum, 0)
    for q in parameters(m) { XCTAssertTrue(q.gradient.scalars.allSatisfy { $0 == 0 }) }
  }
}

/// A layer type no plan step exists for.
final class Doubling: Layer {
  var parallel = DeterministicParallel(threads: 1)
  var description: String { "Doubling()" }
  var namedParameters: [NamedParameter<Float>] { [] }
  func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }
  func forward(_ x: Tensor) throws -> Tensor { Tensor(shape: x.shape, scalars: x.scalars.map { 2 * $0 }) }
  func backward(_ dy: Tensor) throws -> Tensor { Tensor(shape: dy.shape, scalars: dy.scalars.map { 2 * $0 }) }
}
