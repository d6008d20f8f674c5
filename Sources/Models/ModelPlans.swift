import Execution

/// The names of the marks the models place in their plans.
enum ModelPlanMarks {
  /// Between encoder and decoder (after the VAE's sampling): the latent codes.
  static let codes = "codes"
}

extension ExecutionPlan {
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
