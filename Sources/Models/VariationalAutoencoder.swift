import Execution
import NN
import TensorCore

/// A variational autoencoder (Kingma and Welling, 2014) with the seed's convolutional encoder
/// and decoder: the encoder's hidden features feed two heads, the mean `μ` and the
/// log-variance `log σ²` of a diagonal Gaussian over the latent space; training decodes the
/// reparameterised sample `v = μ + σ · ε`, `ε ~ N(0, I)` from the `noise` stream, under
/// `VAELossSettings`' loss.
///
/// Parameter names: `encoder.cnn.…`, `encoder.lin.0.…` (hidden layer), `encoder.mu.…`,
/// `encoder.logvar.…`, `decoder.…` (as `Autoencoder`). Its plan: encoder, `GaussianSampling`,
/// the mark `codes`, decoder. On either path ε is drawn for the whole batch first, in row
/// order, so both paths train on the same draws.
public final class VariationalAutoencoder: TrainableModel {
  public let kind = ModelKind.vae
  public let config: AutoencoderConfig
  public let lossSettings: VAELossSettings
  public let encoder: ConvEncoder
  public let muHead: Linear
  public let logVarianceHead: Linear
  public let decoder: ConvDecoder
  public var execution = ModelExecution.preferred
  public var parallel: DeterministicParallel {
    didSet {
      for layer in [encoder.cnn, encoder.lin, muHead, logVarianceHead, decoder.lin, decoder.cnn] as [any Layer<Float>] {
        layer.parallel = parallel
      }
    }
  }
  /// The compiled plan (nil on a CPU without AVX2, where the model runs on its layers).
  public let plan: ExecutionPlan?
  private let sampling: GaussianSampling

  private let mse = MSELoss(reduction: .mean)
  private let kl = GaussianKLDivergence(reduction: .batchMean)
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
    encoder = try ConvEncoder(config: config, latentHead: false, generator: &generator)
    muHead = try Linear(inputFeatures: config.hidden, outputFeatures: config.latent, generator: &generator)
    logVarianceHead = try Linear(inputFeatures: config.hidden, outputFeatures: config.latent, generator: &generator)
    decoder = try ConvDecoder(config: config, generator: &generator)
    parallel = encoder.parallel
    sampling = GaussianSampling(
      muHead: muHead, logVarianceHead: logVarianceHead, noise: noise, klWeight: Float(loss.beta / loss.klDivisor))
    plan = ExecutionPlan.isSupported
      ? try ExecutionPlan(
        [.layers(encoder.layers), .latent(sampling), .mark(ModelPlanMarks.codes), .layers(decoder.layers)],
        inputShape: ConvEncoder.imageShape)
      : nil
  }

  /// The `noise` stream that draws ε; part of the training state.
  public var noise: SeededGenerator {
    get { sampling.noise }
    set { sampling.noise = newValue }
  }

  public var randomStreams: [String: SeededGenerator] {
    get { ["noise": noise] }
    set { if let stream = newValue["noise"] { noise = stream } }
  }

  public var namedParameters: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) }
      + muHead.namedParameters.map { NamedParameter(name: "encoder.mu.\($0.name)", parameter: $0.parameter) }
      + logVarianceHead.namedParameters.map { NamedParameter(name: "encoder.logvar.\($0.name)", parameter: $0.parameter) }
      + decoder.namedParameters.map { NamedParameter(name: "decoder.\($0.name)", parameter: $0.parameter) }
  }

  public var lossDescription: String { "MSE + KL/\(Int(lossSettings.klDivisor)) (validation: MSE of the decoded mean)" }

  /// The posterior's mean and log-variance, each `[N, latent]`.
  public func posterior(_ images: Tensor) throws -> (mu: Tensor, logVariance: Tensor) {
    try ConvEncoder.checkImages(images, model: "vae")
    guard let plan = try selectedPlan(plan, execution) else {
      let features = try encoder.forward(images)
      return (try muHead.forward(features), try logVarianceHead.forward(features))
    }
    let mu = try plan.codes(of: images, parallel: parallel)
    return (mu, sampling.lastLogVariance(rows: images.shape[0]))
  }

  /// The posterior means `[N, latent]`: the VAE's codes.
  public func encode(_ images: Tensor) throws -> Tensor { try posterior(images).mu }

  /// Images for latent vectors.
  public func decode(_ codes: Tensor) throws -> Tensor {
    try decoder.checkCodes(codes)
    guard let plan = try selectedPlan(plan, execution) else { return try decoder.forward(codes) }
    return try plan.output(fromCodes: codes, parallel: parallel)
  }

  /// The decoded posterior means: `decode(encode(images))` in one pass.
  public func reconstruct(_ images: Tensor) throws -> Tensor {
    try ConvEncoder.checkImages(images, model: "vae")
    guard let plan = try selectedPlan(plan, execution) else { return try decode(try encode(images)) }
    return try plan.forward(images, parallel: parallel)
  }

  /// Images decoded from `count` draws of the prior N(0, I), using `generator`.
  public func generate(count: Int, generator: inout SeededGenerator) throws -> Tensor {
    let z = Tensor(shape: [count, config.latent], scalars: (0..<(count * config.latent)).map { _ in Float(generator.nextNormal()) })
    return try decode(z)
  }

  public func samplePrior(count: Int, generator: inout SeededGenerator) throws -> Tensor? {
    try generate(count: count, generator: &generator)
  }

  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try ConvEncoder.checkImages(inputs, model: "vae")
    let n = inputs.shape[0]
    if let plan = try selectedPlan(plan, execution) {
      let (mse, totals) = try plan.reconstructionError(inputs, training: true, parallel: parallel)
      let divergence = totals.latentSum * (1 / Double(max(1, n)))
      return BatchResult(loss: mse + lossSettings.beta * divergence / lossSettings.klDivisor, count: n)
    }
    return try referenceTrainingStep(inputs)
  }

  /// The training step on the reference layers, with ε drawn for the batch first as the plan does.
  private func referenceTrainingStep(_ inputs: Tensor) throws -> BatchResult {
    let features = try encoder.forward(inputs)
    let mu = try muHead.forward(features)
    let logVariance = try logVarianceHead.forward(features)
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
            for i in 0..<n { v[i] = m[i] + Float.exp(0.5 * lv[i]) * e[i] }
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
                dl[i] = g[i] * 0.5 * Float.exp(0.5 * lv[i]) * e[i] + weight * dl[i]
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
    try ConvEncoder.checkImages(inputs, model: "vae")
    if let plan = try selectedPlan(plan, execution) {
      return BatchResult(loss: try plan.reconstructionError(inputs, training: false, parallel: parallel).mse, count: inputs.shape[0])
    }
    let value = try mse(try reconstruct(inputs), inputs, gradient: &reconstructionGradient)
    return BatchResult(loss: value, count: inputs.shape[0])
  }

}
