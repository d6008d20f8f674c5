/// Why a plan cannot be built or cannot run a pass.
public enum PlanError: Error, CustomStringConvertible, Equatable {
  /// A layer the plan has no step for, or one in a configuration its kernels do not take.
  case unsupportedLayer(layer: String, reason: String)
  /// This CPU lacks AVX2 and FMA, which the plan's convolution and activation kernels need.
  case unsupportedCPU
  /// A pass's input does not have the shape the plan expects at its starting boundary.
  case inputMismatch(boundary: String, expected: [Int], given: [Int])
  /// A pass that starts after it ends, or at a boundary that is not a mark.
  case invalidPass(String)
  /// A mark placed where its values are not stored on their own (after an in-place step).
  case invalidMark(String)

  public var description: String {
    switch self {
    case .unsupportedLayer(let layer, let reason):
      return "the execution plan cannot run \(layer): \(reason)"
    case .unsupportedCPU:
      return "the execution plan needs a CPU with AVX2 and FMA; this one has neither (run the models on their reference layers)"
    case .inputMismatch(let boundary, let expected, let given):
      return "execution plan: at \(boundary) expected input [N, \(expected.map(String.init).joined(separator: ", "))], given \(given)"
    case .invalidPass(let reason): return "execution plan: \(reason)"
    case .invalidMark(let name): return "execution plan: mark \"\(name)\" must follow a step that writes its own values"
    }
  }
}
