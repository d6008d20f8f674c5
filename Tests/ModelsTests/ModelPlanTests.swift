import Execution
import Models
import NN
import TensorCore
import TestSupport
import XCTest

/// Every model's compiled plan computes the model its reference layers define. Oracle: a
/// second model of the same kind and seed running on its reference layers (`execution =
/// .reference`), on the same batch (77 images: a partial chunk and a partial lane group). The
/// reference layers are in turn checked against NumPy and finite differences in `NNTests`.
/// Tolerance: outputs and every parameter gradient within 2e-4 · max|reference| + 2e-3 ·
/// |element| (float32 summation orders through the whole model), losses within 1e-5 relative.
/// Bit for bit: the plan with 1 and with 2 threads; `reconstruct` and `decode(encode)`.
final class ModelPlanTests: XCTestCase {
  let batch = syntheticImages(count: 77, seed: 4)

  /// A model of `kind` (seed 3) on `execution` with `threads`.
  func make(_ kind: ModelKind, _ execution: ModelExecution, threads: Int) throws -> any TrainableModel {
    let model = try ModelFactory.make(kind, config: .seed, seed: 3)
    model.execution = execution
    model.parallel = DeterministicParallel(threads: threads)
    return model
  }

  /// One training step from zero gradients: the loss, the accuracy count and every gradient.
  func step(_ model: any TrainableModel) throws -> (result: BatchResult, gradients: [Tensor]) {
    let data = try model.trainingInputs(batch)
    for p in model.namedParameters { p.parameter.zeroGradient() }
    let result = try model.trainingStep(inputs: data.inputs, labels: data.labels)
    return (result, model.namedParameters.map(\.parameter.gradient))
  }

  func compare(_ kind: ModelKind) throws {
    let reference = try make(kind, .reference, threads: 1)
    let one = try make(kind, .plan, threads: 1)
    let two = try make(kind, .plan, threads: 2)
    let expected = try step(reference)
    let (a, b) = (try step(one), try step(two))
    XCTAssertEqual(a.result.loss, expected.result.loss, accuracy: 1e-5 * expected.result.loss, "\(kind): loss")
    XCTAssertEqual(a.result.correct, expected.result.correct, "\(kind): correct")
    XCTAssertEqual(a.result.loss.bitPattern, b.result.loss.bitPattern, "\(kind): loss with 1 vs 2 threads")
    for (i, name) in reference.namedParameters.map(\.name).enumerated() {
      assertCloseToScale(a.gradients[i], expected.gradients[i], scaleTolerance: 2e-4, rtol: 2e-3, "\(kind): gradient of \(name)")
      assertBitIdentical(b.gradients[i], a.gradients[i], "\(kind): gradient of \(name) with 1 vs 2 threads")
    }
    XCTAssertEqual(
      reference.randomStreams.mapValues(\.state.0), one.randomStreams.mapValues(\.state.0),
      "\(kind): both paths draw the same random numbers")
    let data = try reference.trainingInputs(batch)
    let evaluated = try one.evaluationStep(inputs: data.inputs, labels: data.labels).loss
    XCTAssertEqual(evaluated, try reference.evaluationStep(inputs: data.inputs, labels: data.labels).loss, accuracy: 1e-5 * evaluated)
    XCTAssertEqual(evaluated.bitPattern, try two.evaluationStep(inputs: data.inputs, labels: data.labels).loss.bitPattern)

    let codes = try one.encode(batch.inputs)
    assertCloseToScale(codes, try reference.encode(batch.inputs), scaleTolerance: 2e-4, rtol: 2e-3, "\(kind): codes")
    assertBitIdentical(try two.encode(batch.inputs), codes, "\(kind): codes with 1 vs 2 threads")
    guard kind != .classifier else {
      XCTAssertEqual(try one.predictedClasses(batch.inputs), try reference.predictedClasses(batch.inputs))
      XCTAssertThrowsError(try one.decode(codes))
      return
    }
    let decoded = try one.decode(codes)
    assertCloseToScale(decoded, try reference.decode(codes), scaleTolerance: 2e-4, rtol: 2e-3, "\(kind): decoded")
    assertBitIdentical(try two.decode(codes), decoded, "\(kind): decoded with 1 vs 2 threads")
    for model in [one, two, reference] {
      let reconstructed = kind == .vae
        ? try (model as! VariationalAutoencoder).reconstruct(batch.inputs)
        : try (model as! Autoencoder).reconstruct(batch.inputs)
      assertBitIdentical(reconstructed, try model.decode(try model.encode(batch.inputs)), "\(kind) on \(model.execution): reconstruct")
    }
  }

  func testAutoencoderPlanComputesTheModel() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    try compare(.autoencoder)
  }

  func testVAEPlanComputesTheModel() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    try compare(.vae)
  }

  func testClassifierPlanComputesTheModel() throws {
    try XCTSkipUnless(ExecutionPlan.isSupported, "this CPU lacks AVX2/FMA: no plan")
    try compare(.classifier)
  }

  /// The factory builds each kind with the parameter names and streams a checkpoint expects.
  func testTheFactoryBuildsEveryKind() throws {
    for kind in ModelKind.allCases {
      let model = try ModelFactory.make(kind, config: .seed, seed: 0)
      XCTAssertEqual(model.kind, kind)
      XCTAssertEqual(model.config, .seed)
      XCTAssertEqual(model.randomStreams.keys.sorted(), kind == .vae ? ["noise"] : [])
    }
    let classifier = try ModelFactory.make(.classifier, config: .seed, seed: 0)
    let autoencoder = try ModelFactory.make(.autoencoder, config: .seed, seed: 0)
    let encoderNames = Set(autoencoder.namedParameters.map(\.name).filter { $0.hasPrefix("encoder.") })
    for p in classifier.stateDict where p.name.hasPrefix("encoder.") {
      XCTAssertTrue(encoderNames.contains(p.name), p.name)
      let twin = autoencoder.namedParameters.first { $0.name == p.name }!.parameter.value
      XCTAssertEqual(p.parameter.value, twin, "a classifier's fresh encoder is the autoencoder's of the same seed: \(p.name)")
    }
  }
}
