/// One epoch's record in the history (a line of `history.jsonl`).
public struct EpochRecord: Codable, Equatable, Sendable {
  public var epoch: Int
  public var trainLoss: Double
  public var validationLoss: Double?
  public var trainAccuracy: Double?
  public var validationAccuracy: Double?
  public var seconds: Double

  public init(
    epoch: Int, trainLoss: Double, validationLoss: Double? = nil, trainAccuracy: Double? = nil,
    validationAccuracy: Double? = nil, seconds: Double = 0
  ) {
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.validationLoss = validationLoss
    self.trainAccuracy = trainAccuracy
    self.validationAccuracy = validationAccuracy
    self.seconds = seconds
  }

  enum CodingKeys: String, CodingKey {
    case epoch, seconds
    case trainLoss = "train_loss"
    case validationLoss = "validation_loss"
    case trainAccuracy = "train_accuracy"
    case validationAccuracy = "validation_accuracy"
  }
}
