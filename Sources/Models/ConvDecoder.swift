import NN
import TensorCore

/// The mirrored decoder: codes `[N, latent]` → images `[N, 1, 28, 28]` in (0, 1).
///
/// Parameter names: `lin.0` (latent → hidden), `lin.2` (hidden → c3·s·s), `cnn.0`, `cnn.2`,
/// `cnn.4` (the transposed convolutions; sigmoid last).
public final class ConvDecoder {
  public let config: AutoencoderConfig
  public let lin: Sequential
  public let unflatten: Unflatten
  public let cnn: Sequential

  public init(config: AutoencoderConfig, generator: inout SeededGenerator) throws {
    try config.validate()
    self.config = config
    let c = config.channels
    let s = config.encoderSizes[3]
    let op = try config.decoderOutputPaddings()
    lin = try Sequential([
      try Linear(inputFeatures: config.latent, outputFeatures: config.hidden, generator: &generator), ReLU(),
      try Linear(inputFeatures: config.hidden, outputFeatures: config.flattenedFeatures, generator: &generator), ReLU(),
    ])
    unflatten = try Unflatten(itemShape: [c[2], s, s])
    cnn = try Sequential([
      try ConvTranspose2d(
        inputChannels: c[2], outputChannels: c[1], kernelSize: 3, stride: 2, padding: config.conv3Padding,
        outputPadding: op[0], generator: &generator), ReLU(),
      try ConvTranspose2d(
        inputChannels: c[1], outputChannels: c[0], kernelSize: 3, stride: 2, padding: 1, outputPadding: op[1],
        generator: &generator), ReLU(),
      try ConvTranspose2d(
        inputChannels: c[0], outputChannels: 1, kernelSize: 3, stride: 2, padding: 1, outputPadding: op[2],
        generator: &generator),
      Sigmoid(),
    ])
  }

  /// The layers in order, as a plan takes them.
  public var layers: [any Layer<Float>] { [lin, unflatten, cnn] }

  /// - Throws: `ModelError.inputMismatch` unless `codes` is `[N, latent]`.
  public func checkCodes(_ codes: Tensor) throws {
    guard codes.rank == 2, codes.shape[1] == config.latent else {
      throw ModelError.inputMismatch(model: "decoder", expected: "[N, \(config.latent)]", given: codes.shape)
    }
  }

  public var namedParameters: [NamedParameter<Float>] {
    lin.namedParameters.map { NamedParameter(name: "lin.\($0.name)", parameter: $0.parameter) }
      + cnn.namedParameters.map { NamedParameter(name: "cnn.\($0.name)", parameter: $0.parameter) }
  }

  public var parallel: DeterministicParallel {
    get { cnn.parallel }
    set {
      cnn.parallel = newValue
      lin.parallel = newValue
    }
  }

  /// Images for codes `[N, latent]`.
  public func forward(_ codes: Tensor) throws -> Tensor {
    try checkCodes(codes)
    return try cnn.forward(try unflatten.forward(try lin.forward(codes)))
  }

  /// The gradient with respect to the codes, for the gradient of the images.
  public func backward(_ d: Tensor) throws -> Tensor {
    try lin.backward(try unflatten.backward(try cnn.backward(d)))
  }
}
