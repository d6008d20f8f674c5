import Models

/// One configuration the reproduction trains and analyses as the seed report does: its
/// autoencoder retrained on the whole training set, the codes' PCA and t-SNE, generated
/// images, the classifier on its frozen encoder and a VAE of its architecture.
public struct ReproductionArm: Equatable, Sendable {
  /// Words for the report: "published configuration", "search winner (trial 3)".
  public var name: String
  /// The arm's folder in the run folder ("" for the run folder itself).
  public var folder: String
  public var config: AutoencoderConfig
  public var optimizer: OptimizerSettings

  /// The seed report's published best configuration, in `published/`.
  public static func published(_ preset: Preset) -> ReproductionArm {
    ReproductionArm(
      name: "published configuration", folder: "published", config: SeedReport.configuration,
      optimizer: preset.autoencoder.optimizer)
  }

  /// The search's best trial, in the run folder itself (where earlier versions kept it).
  public static func winner(_ trial: TrialResult) -> ReproductionArm {
    ReproductionArm(
      name: "search winner (trial \(trial.trial + 1))", folder: "", config: trial.parameters.config,
      optimizer: trial.parameters.optimizer)
  }

  /// A stage's name and folder relative to the run folder (`published/autoencoder`).
  public func stage(_ name: String) -> String { folder.isEmpty ? name : folder + "/" + name }
}
