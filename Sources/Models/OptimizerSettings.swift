import NN
import TensorCore

/// Which optimizer, with its hyperparameters (PyTorch's names and meanings).
public struct OptimizerSettings: Codable, Equatable, Sendable {
  /// `adam`, `sgd` or `rmsprop`.
  public var kind: String
  public var learningRate: Double
  /// Coupled L2 (PyTorch's `weight_decay`).
  public var weightDecay: Double
  /// SGD and RMSprop momentum.
  public var momentum: Double

  enum CodingKeys: String, CodingKey {
    case kind, momentum
    case learningRate = "lr"
    case weightDecay = "weight_decay"
  }

  public init(kind: String, learningRate: Double, weightDecay: Double = 0, momentum: Double = 0) {
    self.kind = kind
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.momentum = momentum
  }

  /// The optimizer over `parameters`.
  /// - Throws: `ModelError.invalidConfiguration` for an unknown kind; `OptimizerError` for
  ///   invalid values.
  public func make(_ parameters: [NamedParameter<Float>]) throws -> any Optimizer {
    let (lr, wd, mu) = (Float(learningRate), Float(weightDecay), Float(momentum))
    switch kind.lowercased() {
    case "adam": return try Adam(parameters: parameters, learningRate: lr, weightDecay: wd)
    case "sgd": return try SGD(parameters: parameters, learningRate: lr, momentum: mu, weightDecay: wd)
    case "rmsprop": return try RMSprop(parameters: parameters, learningRate: lr, momentum: mu, weightDecay: wd)
    default:
      throw ModelError.invalidConfiguration(
        model: "training", field: "optimizer", value: "\"\(kind)\"", expected: "adam, sgd or rmsprop")
    }
  }
}
