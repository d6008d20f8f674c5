/// The hyperparameters of a training run.
public struct TrainingOptions: Codable, Equatable, Sendable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  public var seed: UInt64

  enum CodingKeys: String, CodingKey {
    case epochs, optimizer, seed
    case batchSize = "batch_size"
  }

  public init(epochs: Int, batchSize: Int, optimizer: OptimizerSettings, seed: UInt64) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.seed = seed
  }

  /// - Throws: `ModelError.invalidConfiguration` for non-positive epochs or batch size.
  public func validate() throws {
    guard epochs >= 1 else {
      throw ModelError.invalidConfiguration(model: "training", field: "epochs", value: "\(epochs)", expected: ">= 1")
    }
    guard batchSize >= 1 else {
      throw ModelError.invalidConfiguration(model: "training", field: "batchSize", value: "\(batchSize)", expected: ">= 1")
    }
  }
}
