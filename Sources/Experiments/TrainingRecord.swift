import Models

/// What a checkpoint's `training` attribute records: every setting needed to resume.
public struct TrainingRecord: Codable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  public var validationFraction: Double
  public var subset: Int?
  public var loss: String
  public var vae: VAELossSettings?
  public var encoderCheckpoint: String?
  public var encoderTraining: TrainingOptions?
  /// The classifier head's hidden widths (nil: `ClassifierDefaults.headWidths`).
  public var headWidths: [Int]?

  public init(
    epochs: Int, batchSize: Int, optimizer: OptimizerSettings, validationFraction: Double, subset: Int?, loss: String,
    vae: VAELossSettings? = nil, encoderCheckpoint: String? = nil, encoderTraining: TrainingOptions? = nil,
    headWidths: [Int]? = nil
  ) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.validationFraction = validationFraction
    self.subset = subset
    self.loss = loss
    self.vae = vae
    self.encoderCheckpoint = encoderCheckpoint
    self.encoderTraining = encoderTraining
    self.headWidths = headWidths
  }

  enum CodingKeys: String, CodingKey {
    case epochs, optimizer, subset, loss, vae
    case batchSize = "batch_size"
    case validationFraction = "validation_fraction"
    case encoderCheckpoint = "encoder_checkpoint"
    case encoderTraining = "encoder_training"
    case headWidths = "head_widths"
  }
}
