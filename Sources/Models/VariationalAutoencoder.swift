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

/// A variational autoencoder (Kingma and Welling, 2014) with the seed's convolutional encoder
/// and decoder: the encoder's hidden features feed two heads, the mean `μ` and the
/// log-variance `log σ²` of a diagonal Gaussian over the latent space; training decodes the
/// reparameterised sample `v = μ + σ · ε`, `ε ~ N(0, I)` from the `noise` stream.
///
/// Parameter names: `encoder.cnn.…`, `encoder.lin.0.…` (hidden layer), `encoder.mu.…`,
/// `encoder.logvar.…`, `decoder.…` (as `Autoencoder`).
public final class VariationalAutoencoder: TrainableModel {
  public let config: AutoencoderConfig
  public let lossSettings: VAELossSettings
  public let encoder: ConvEncoder
  public let muHead: Linear
  public let logVarianceHead: Linear
  public let decoder: ConvDecoder
  /// The `noise` stream that draws ε; part of the training state.
  public var noise: SeededGenerator

  private let mse = MSELoss(reduction: .mean)
  private let kl: GaussianKLDivergence
  private var reconstructionGradient = Tensor.zeros([0])
  private var epsilon = Tensor.zeros([0])
  private var sample = Tensor.zeros([0])
  private var dMu = Tensor.zeros([0])
  private var dLogVariance = Tensor.zeros([0])

  /// A new VAE initialised from `generator` (the `init` stream: encoder, heads, decoder), with
  /// ε drawn from `noise`.
  public init(
    config: AutoencoderConfig, loss: VAELossSettings = VAELossSettings(), generator: inout SeededGenerator,
    noise: SeededGenerator
  ) throws {
    try config.validate(model: "vae")
    self.config = config
    lossSettings = loss
    kl = GaussianKLDivergence(reduction: .batchMean)
    encoder = try ConvEncoder(config: config, latentHead: false, generator: &generator)
    muHead = try Linear(inputFeatures: config.hidden, outputFeatures: config.latent, generator: &generator)
    logVarianceHead = try Linear(inputFeatures: config.hidden, outputFeatures: config.latent, generator: &generator)
    decoder = try ConvDecoder(config: config, generator: &generator)
    self.noise = noise
  }

  public var namedParameters: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) }
      + muHead.namedParameters.map { NamedParameter(name: "encoder.mu.\($0.name)", parameter: $0.parameter) }
      + logVarianceHead.namedParameters.map { NamedParameter(name: "encoder.logvar.\($0.name)", parameter: $0.parameter) }
      + decoder.namedParameters.map { NamedParameter(name: "decoder.\($0.name)", parameter: $0.parameter) }
  }

  public var parallel: DeterministicParallel {
    get { encoder.parallel }
    set {
      encoder.parallel = newValue
      muHead.parallel = newValue
      logVarianceHead.parallel = newValue
      decoder.parallel = newValue
    }
  }

  /// The posterior's mean and log-variance, each `[N, latent]`.
  public func encode(_ images: Tensor) throws -> (mu: Tensor, logVariance: Tensor) {
    let features = try encoder.forward(images)
    return (try muHead.forward(features), try logVarianceHead.forward(features))
  }

  /// Images for latent vectors.
  public func decode(_ codes: Tensor) throws -> Tensor { try decoder.forward(codes) }

  /// Images decoded from `count` draws of the prior N(0, I), using `generator`.
  public func generate(count: Int, generator: inout SeededGenerator) throws -> Tensor {
    let z = Tensor(shape: [count, config.latent], scalars: (0..<(count * config.latent)).map { _ in Float(generator.nextNormal()) })
    return try decode(z)
  }

  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    let (mu, logVariance) = try encode(inputs)
    let n = mu.count
    epsilon.ensureShape(mu.shape)
    sample.ensureShape(mu.shape)
    epsilon.withUnsafeMutableBufferPointer { e in
      for i in 0..<n { e[i] = Float(noise.nextNormal()) }
    }
    mu.withUnsafeBufferPointer { m in
      logVariance.withUnsafeBufferPointer { lv in
        epsilon.withUnsafeBufferPointer { e in
          sample.withUnsafeMutableBufferPointer { v in
            for i in 0..<n { v[i] = m[i] + (0.5 * lv[i]).exponential * e[i] }
          }
        }
      }
    }
    let reconstruction = try decoder.forward(sample)
    let recon = try mse(reconstruction, inputs, gradient: &reconstructionGradient)
    let divergence = try kl(mu: mu, logVariance: logVariance, dMu: &dMu, dLogVariance: &dLogVariance)
    let weight = Float(lossSettings.beta / lossSettings.klDivisor)
    let dv = try decoder.backward(reconstructionGradient)
    // v = μ + exp(½ log σ²)·ε: ∂v/∂μ = 1, ∂v/∂log σ² = ½ σ ε.
    dv.withUnsafeBufferPointer { g in
      logVariance.withUnsafeBufferPointer { lv in
        epsilon.withUnsafeBufferPointer { e in
          dMu.withUnsafeMutableBufferPointer { dm in
            dLogVariance.withUnsafeMutableBufferPointer { dl in
              for i in 0..<n {
                dm[i] = g[i] + weight * dm[i]
                dl[i] = g[i] * 0.5 * (0.5 * lv[i]).exponential * e[i] + weight * dl[i]
              }
            }
          }
        }
      }
    }
    let dFeatures = try muHead.backward(dMu) + logVarianceHead.backward(dLogVariance)
    try encoder.backward(dFeatures)
    return BatchResult(loss: recon + lossSettings.beta * divergence / lossSettings.klDivisor, count: inputs.shape[0])
  }

  /// Reconstruction MSE (mean over pixels) of the decoded posterior mean: the VAE's test loss
  /// as the seed reports it.
  public func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    let (mu, _) = try encode(inputs)
    let value = try mse(try decoder.forward(mu), inputs, gradient: &reconstructionGradient)
    return BatchResult(loss: value, count: inputs.shape[0])
  }
}

extension Float {
  /// e^self.
  @inlinable var exponential: Float { Float.exp(self) }
}
