import Execution
import TensorCore

/// The names of the marks the models place in their plans.
enum ModelPlanMarks {
  /// Between encoder and decoder (after the VAE's sampling): the latent codes.
  static let codes = "codes"
}

extension ExecutionPlan {
  /// The codes at the `codes` mark for images.
  func codes(of images: Tensor, parallel: DeterministicParallel) throws -> Tensor {
    try forward(images, to: try mark(ModelPlanMarks.codes), parallel: parallel)
  }

  /// The plan's output for codes given at the `codes` mark.
  func output(fromCodes codes: Tensor, parallel: DeterministicParallel) throws -> Tensor {
    try forward(codes, from: try mark(ModelPlanMarks.codes), parallel: parallel)
  }

  /// The mean squared error (mean over pixels and images) of reconstructing `images`, with
  /// the backward pass when `training`; and the pass's totals (a latent step's share).
  func reconstructionError(
    _ images: Tensor, training: Bool, parallel: DeterministicParallel
  ) throws -> (mse: Double, totals: PassTotals) {
    let mse = SquaredErrorChunks(targets: images)
    let totals = training
      ? try trainingPass(images, loss: mse, parallel: parallel) : try evaluationPass(images, loss: mse, parallel: parallel)
    return (totals.lossSum * mse.scale, totals)
  }

  /// The boundary of mark `name`.
  /// - Throws: `PlanError.invalidPass` when the plan has no such mark.
  func mark(_ name: String) throws -> Int {
    guard let boundary = boundary(named: name) else { throw PlanError.invalidPass("the plan has no mark \"\(name)\"") }
    return boundary
  }
}

/// The plan to run a step with: `plan` when `execution` is `.plan`, nil for the reference layers.
/// - Throws: `PlanError.unsupportedCPU` when the plan is asked for on a CPU without AVX2.
func selectedPlan(_ plan: ExecutionPlan?, _ execution: ModelExecution) throws -> ExecutionPlan? {
  guard execution == .plan else { return nil }
  guard let plan else { throw PlanError.unsupportedCPU }
  return plan
}
