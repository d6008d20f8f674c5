import Models

/// The seed report's published numbers, in the one table the report, the run summaries and
/// the README's comparisons read (`../shared/seed/homework1-report.md`).
public enum SeedReport {
  /// A figure as the report gives it: the value compared against, how the report writes it,
  /// and the tolerance within which a reproduction counts as meeting it.
  public struct Figure: Sendable {
    public var value: Double
    public var written: String
    /// The bound a reproduction must not cross.
    public var bound: Double
    /// Whether the figure is a loss (met at or below `bound`) or a score (at or above).
    public var lowerIsBetter: Bool

    /// Whether `measured` meets the tolerance.
    public func isMet(by measured: Double) -> Bool { lowerIsBetter ? measured <= bound : measured >= bound }

    /// The tolerance in words ("≤ 0.025", "≥ 74%").
    public var toleranceWords: String {
      lowerIsBetter ? "≤ \(String(format: "%g", bound))" : "≥ \(String(format: "%g", bound * 100))%"
    }
  }

  /// Test MSE (mean over pixels) of the published autoencoder: "about 0.02"; met at ≤ 0.025.
  public static let autoencoderTestMSE = Figure(value: 0.02, written: "about 0.02", bound: 0.025, lowerIsBetter: true)
  /// Test accuracy of the classifier on the frozen encoder: 75%; met at ≥ 74%.
  public static let classifierTestAccuracy = Figure(value: 0.75, written: "75%", bound: 0.74, lowerIsBetter: false)
  /// Test MSE of the VAE's decoded means: "about 0.02"; met at ≤ 0.03.
  public static let vaeTestMSE = Figure(value: 0.02, written: "about 0.02", bound: 0.03, lowerIsBetter: true)

  /// The published configuration: channels 8, 17, 32; N_H1 69; L 4; conv 3 padding written "01".
  public static let configuration = AutoencoderConfig.seed
  /// How the report writes conv 3's padding.
  public static let conv3PaddingWritten = "\"01\""
  /// The published optimizer: Adam, learning rate 0.003, L2 1e-4 (`Preset.seed.autoencoder`).
  public static var optimizer: OptimizerSettings { Preset.seed.autoencoder.optimizer }
}
