import NN
import TensorCore

/// A problem with a model's configuration or its inputs.
public enum ModelError: Error, CustomStringConvertible, Equatable {
  case invalidConfiguration(model: String, field: String, value: String, expected: String)
  case inputMismatch(model: String, expected: String, given: [Int])
  /// An operation the model does not have (decoding with a classifier).
  case unsupported(model: String, operation: String)

  public var description: String {
    switch self {
    case .invalidConfiguration(let model, let field, let value, let expected):
      return "\(model) config: \(field) = \(value), expected \(expected)"
    case .inputMismatch(let model, let expected, let given):
      return "\(model): expected input of shape \(expected), given \(given)"
    case .unsupported(let model, let operation):
      return "\(model): has no \(operation)"
    }
  }
}
