import Execution

/// How a model runs its steps.
public enum ModelExecution: String, Codable, CaseIterable, Sendable {
  /// Through its compiled `ExecutionPlan`: the fast path, on CPUs with AVX2 and FMA.
  case plan
  /// Through its layers' reference `forward`/`backward` (im2col + GEMM): the oracle the plan
  /// is tested against, and the path on CPUs without AVX2.
  case reference

  /// The plan where this CPU runs it, else the reference layers.
  public static var preferred: ModelExecution { ExecutionPlan.isSupported ? .plan : .reference }
}
