import Models

/// What a run folder's `config.json` records.
public struct RunRecord: Encodable {
  public var model: String
  public var config: AutoencoderConfig
  public var training: TrainingOptions
  public var extra: [String: String]
  public var seed: UInt64
  public var threads: Int
  public var trainImages: Int
  public var validationImages: Int
  public var datasetSHA256: [String: String]
  public var software: String

  enum CodingKeys: String, CodingKey {
    case model, config, training, extra, seed, threads, software
    case trainImages = "train_images"
    case validationImages = "validation_images"
    case datasetSHA256 = "dataset_sha256"
  }
}
