import Execution
import NN
import TensorCore

/// The seed study's convolutional autoencoder, trained to reconstruct its input under the
/// mean squared error (mean over pixels, PyTorch's `MSELoss()`).
///
/// Parameter names are those of a PyTorch module with attributes `encoder` and `decoder`
/// (`encoder.cnn.0.weight`, …, `decoder.cnn.4.bias`); `docs/` gives that module.
/// Its plan: encoder, the mark `codes`, decoder; `reconstruct` equals `decode(encode(x))` bit
/// for bit on either path.
public final class Autoencoder: TrainableModel {
  public let kind = ModelKind.autoencoder
  public let config: AutoencoderConfig
  public let encoder: ConvEncoder
  public let decoder: ConvDecoder
  public var execution = ModelExecution.preferred
  public var parallel: DeterministicParallel {
    didSet {
      encoder.parallel = parallel
      decoder.parallel = parallel
    }
  }
  /// The compiled plan (nil on a CPU without AVX2, where the model runs on its layers).
  public let plan: ExecutionPlan?
  private let loss = MSELoss(reduction: .mean)
  private var lossGradient = Tensor.zeros([0])

  /// A new autoencoder, initialised from `generator` (the `init` stream): encoder first.
  public init(config: AutoencoderConfig, generator: inout SeededGenerator) throws {
    self.config = config
    encoder = try ConvEncoder(config: config, latentHead: true, generator: &generator)
    decoder = try ConvDecoder(config: config, generator: &generator)
    parallel = encoder.parallel
    plan = ExecutionPlan.isSupported
      ? try ExecutionPlan(
        [.layers(encoder.layers), .mark(ModelPlanMarks.codes), .layers(decoder.layers)], inputShape: ConvEncoder.imageShape)
      : nil
  }

  public var namedParameters: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) }
      + decoder.namedParameters.map { NamedParameter(name: "decoder.\($0.name)", parameter: $0.parameter) }
  }

  public var lossDescription: String { "MSE" }

  /// Codes `[N, latent]` for images `[N, 1, 28, 28]`.
  public func encode(_ images: Tensor) throws -> Tensor {
    try ConvEncoder.checkImages(images, model: "autoencoder")
    guard let plan = try selectedPlan(plan, execution) else { return try encoder.forward(images) }
    return try plan.codes(of: images, parallel: parallel)
  }

  /// Images for codes `[N, latent]`.
  public func decode(_ codes: Tensor) throws -> Tensor {
    try decoder.checkCodes(codes)
    guard let plan = try selectedPlan(plan, execution) else { return try decoder.forward(codes) }
    return try plan.output(fromCodes: codes, parallel: parallel)
  }

  /// Reconstructions of images: `decode(encode(images))` in one pass.
  public func reconstruct(_ images: Tensor) throws -> Tensor {
    try ConvEncoder.checkImages(images, model: "autoencoder")
    guard let plan = try selectedPlan(plan, execution) else { return try decoder.forward(try encoder.forward(images)) }
    return try plan.forward(images, parallel: parallel)
  }

  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try ConvEncoder.checkImages(inputs, model: "autoencoder")
    if let plan = try selectedPlan(plan, execution) {
      return BatchResult(loss: try plan.reconstructionError(inputs, training: true, parallel: parallel).mse, count: inputs.shape[0])
    }
    let value = try loss(try reconstruct(inputs), inputs, gradient: &lossGradient)
    try encoder.backward(try decoder.backward(lossGradient))
    return BatchResult(loss: value, count: inputs.shape[0])
  }

  public func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try ConvEncoder.checkImages(inputs, model: "autoencoder")
    if let plan = try selectedPlan(plan, execution) {
      return BatchResult(loss: try plan.reconstructionError(inputs, training: false, parallel: parallel).mse, count: inputs.shape[0])
    }
    let value = try loss(try reconstruct(inputs), inputs, gradient: &lossGradient)
    return BatchResult(loss: value, count: inputs.shape[0])
  }

}
