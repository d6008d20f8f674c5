import Analysis
import Models
import TensorCore

/// Every setting of a study protocol in one place: the search, each stage's training, the
/// classifier's head, the VAE's loss and the embedding. The pipeline, the CLI's defaults, the
/// benchmarks and the report's prose all read them from here.
public struct Preset: Codable, Equatable, Sendable {
  public var name: String
  /// Training images used everywhere (nil: all 60,000).
  public var subset: Int?
  public var search: SearchProtocol
  /// Retraining the best configuration (the pipeline uses the best trial's optimizer; this
  /// optimizer is the published configuration's, `train autoencoder`'s default).
  public var autoencoder: StageSettings
  public var classifier: ClassifierSettings
  public var vae: VAESettings
  public var embedding: EmbeddingSettings

  /// The seed report's protocol: 10 trials, 3 folds, 5 epochs, batch 250, over the seed's
  /// space; retrain 5 epochs (published optimizer Adam 3e-3, L2 1e-4); classifier 4→30→60→10,
  /// 20 epochs, batch 250, Adam 1e-3, L2 1e-5; VAE 20 epochs, batch 2000, Adam 1e-3, KL/784;
  /// t-SNE of all 60,000 training codes (FFT interpolation), perplexity 30, 1,000 iterations.
  public static let seed = Preset(
    name: "seed", subset: nil,
    search: SearchProtocol(space: .seed, trials: 10, folds: 3, epochs: 5, batchSize: 250),
    autoencoder: StageSettings(
      epochs: 5, batchSize: 250, optimizer: OptimizerSettings(kind: "adam", learningRate: 3e-3, weightDecay: 1e-4)),
    classifier: ClassifierSettings(
      epochs: 20, batchSize: 250, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-3, weightDecay: 1e-5),
      headWidths: ClassifierDefaults.headWidths, validationFraction: 0.1),
    vae: VAESettings(
      epochs: 20, batchSize: 2000, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-3), loss: VAELossSettings()),
    embedding: EmbeddingSettings(tsnePoints: 60_000, tsneIterations: 1000, perplexity: 30))

  /// The same pipeline on 6,000 training images in well under a minute (what `make test` runs).
  public static let quick: Preset = {
    var p = Preset.seed
    p.name = "quick"
    p.subset = 6000
    (p.search.trials, p.search.epochs) = (3, 2)
    p.autoencoder.epochs = 4
    p.classifier.epochs = 10
    (p.vae.epochs, p.vae.batchSize) = (5, 500)
    (p.embedding.tsnePoints, p.embedding.tsneIterations) = (1000, 500)
    return p
  }()

  /// The preset called `name`, searching the space in the JSON file `space` when given.
  /// - Throws: `ExperimentError.invalid` for an unknown name (listing the known ones) or a
  ///   space file that cannot be read (naming it and the field).
  public static func named(_ name: String, space: String? = nil) throws -> Preset {
    var preset: Preset
    switch name {
    case "seed": preset = .seed
    case "quick": preset = .quick
    default: throw ExperimentError.invalid("unknown preset \"\(name)\"; expected seed or quick")
    }
    if let space { preset.search.space = try SearchSpace.read(space) }
    return preset
  }
}

/// The hyperparameter search: random trials over a space, scored by k-fold cross-validation.
public struct SearchProtocol: Codable, Equatable, Sendable {
  public var space: SearchSpace
  public var trials: Int
  public var folds: Int
  public var epochs: Int
  public var batchSize: Int
}

/// One stage's training: epochs, mini-batch size, optimizer.
public struct StageSettings: Codable, Equatable, Sendable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
}

/// The classifier on the frozen encoder.
public struct ClassifierSettings: Codable, Equatable, Sendable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  /// The dense head's hidden widths (the seed's 30 and 60).
  public var headWidths: [Int]
  /// The share of the training codes held out to draw its validation curves (the seed
  /// report reads overfitting from them); the autoencoders train on every image.
  public var validationFraction: Double
}

/// The VAE.
public struct VAESettings: Codable, Equatable, Sendable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  /// β and the KL term's divisor.
  public var loss: VAELossSettings
}

/// The t-SNE map of the training codes.
public struct EmbeddingSettings: Codable, Equatable, Sendable {
  /// Training codes mapped: all of them when there are no more, else a seeded subset (the
  /// seed preset maps all 60,000, as the seed report did).
  public var tsnePoints: Int
  /// Barnes-Hut, FFT interpolation, or by the number of points (FFT for the seed preset's
  /// 60,000, Barnes-Hut for the quick preset's 1,000).
  public var tsneAlgorithm: TSNEAlgorithm = .auto
  public var tsneIterations: Int
  /// Capped at (points − 1) / 3 for small maps, as scikit-learn requires.
  public var perplexity: Double
}

extension StudySettings {
  /// The search `preset` prescribes, for the study of `seed` (what `reproduce` and `search` run).
  public init(preset: Preset, seed: UInt64) {
    self.init(
      seed: seed, trials: preset.search.trials, folds: preset.search.folds, epochs: preset.search.epochs,
      batchSize: preset.search.batchSize, subset: preset.subset, space: preset.search.space,
      software: LatentLabVersion.current)
  }
}
