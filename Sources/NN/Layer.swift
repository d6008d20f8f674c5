import TensorCore

/// A problem with a layer's configuration or with the tensors given to it.
public enum LayerError: Error, CustomStringConvertible, Equatable {
  /// The input's shape does not fit the layer.
  case shapeMismatch(layer: String, expected: String, given: [Int])
  /// The configuration cannot produce a valid output.
  case invalidConfiguration(layer: String, reason: String)
  /// `backward` was called without a matching `forward`.
  case backwardBeforeForward(layer: String)

  public var description: String {
    switch self {
    case .shapeMismatch(let layer, let expected, let given):
      return "\(layer): expected input of shape \(expected), given \(given)"
    case .invalidConfiguration(let layer, let reason):
      return "\(layer): invalid configuration: \(reason)"
    case .backwardBeforeForward(let layer):
      return "\(layer): backward called before forward (or with another batch shape)"
    }
  }
}

/// One step of a network, with an explicit forward and backward pass over a mini-batch.
///
/// `forward` computes the output and keeps, in the layer's own buffers, what `backward`
/// needs. `backward` takes the gradient of the loss with respect to the output, adds the
/// gradients of the layer's parameters to their `gradient`s, and returns the gradient with
/// respect to the input. Buffers are sized once per batch shape, so a training loop with a
/// fixed batch size allocates nothing per step.
public protocol Layer<Scalar>: AnyObject, CustomStringConvertible {
  associatedtype Scalar: BLASScalar

  /// The output shape for an input shape, or an error naming the layer and both shapes.
  func outputShape(for inputShape: [Int]) throws -> [Int]

  /// The layer's output for a batch `x`.
  func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar>

  /// The input gradient for the output gradient `dy` of the last `forward`; accumulates the
  /// parameter gradients.
  func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar>

  /// The parameters in a stable order, named as in the equivalent PyTorch module
  /// (`weight`, `bias`; `0.weight` inside a `Sequential`).
  var namedParameters: [NamedParameter<Scalar>] { get }

  /// How the layer spreads its work over threads (fixed chunks: results do not depend on
  /// the thread count).
  var parallel: DeterministicParallel { get set }
}

extension Layer {
  /// Zeroes the gradients of all parameters.
  public func zeroGradients() {
    for p in namedParameters { p.parameter.zeroGradient() }
  }

  /// The number of trainable scalars.
  public var parameterCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.count } }
}
