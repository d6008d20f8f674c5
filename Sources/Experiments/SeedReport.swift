import Models

/// The seed report's published numbers, in the one table the report, the run summaries and
/// the README's comparisons read (`../shared/seed/homework1-report.md`).
public enum SeedReport {
  /// A figure as the report gives it: the value compared against, and how the report writes it.
  public struct Figure: Sendable {
    public var value: Double
    public var written: String
  }

  /// Test MSE (mean over pixels) of the published autoencoder: "about 0.02".
  public static let autoencoderTestMSE = Figure(value: 0.02, written: "about 0.02")
  /// Test accuracy of the classifier on the frozen encoder: 75%.
  public static let classifierTestAccuracy = Figure(value: 0.75, written: "75%")
  /// Test MSE of the VAE's decoded means: "about 0.02".
  public static let vaeTestMSE = Figure(value: 0.02, written: "about 0.02")

  /// The published configuration: channels 8, 17, 32; N_H1 69; L 4; conv 3 padding written "01".
  public static let configuration = AutoencoderConfig.seed
  /// How the report writes conv 3's padding.
  public static let conv3PaddingWritten = "\"01\""
  /// The published optimizer: Adam, learning rate 0.003, L2 1e-4 (`Preset.seed.autoencoder`).
  public static var optimizer: OptimizerSettings { Preset.seed.autoencoder.optimizer }
}
