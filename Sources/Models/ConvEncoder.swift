import NN
import TensorCore

/// The convolutional encoder: images `[N, 1, 28, 28]` → features `[N, hidden]` (after the
/// hidden layer's ReLU) → codes `[N, latent]` through `head`.
///
/// Parameter names follow the equivalent PyTorch module with attributes `cnn` (a Sequential
/// of conv, ReLU × 3) and `lin` (Linear, ReLU, Linear): `cnn.0.weight`, …, `lin.2.bias`.
public final class ConvEncoder {
  public let config: AutoencoderConfig
  /// Conv 1–3 with their ReLUs.
  public let cnn: Sequential
  public let flatten = Flatten()
  /// `Linear(c3·s·s, hidden)`, ReLU (and, for the autoencoder, `Linear(hidden, latent)`).
  public let lin: Sequential

  /// - Parameters:
  ///   - latentHead: whether `lin` ends with `Linear(hidden, latent)` (the autoencoder) or
  ///     stops at the hidden ReLU (the VAE, whose heads follow).
  public init(config: AutoencoderConfig, latentHead: Bool, generator: inout SeededGenerator) throws {
    try config.validate()
    self.config = config
    let c = config.channels
    let first = try Conv2d(inputChannels: 1, outputChannels: c[0], kernelSize: 3, stride: 2, padding: 1, generator: &generator)
    first.computesInputGradient = false  // nothing upstream of the images needs it
    cnn = try Sequential([
      first, ReLU(),
      try Conv2d(inputChannels: c[0], outputChannels: c[1], kernelSize: 3, stride: 2, padding: 1, generator: &generator), ReLU(),
      try Conv2d(
        inputChannels: c[1], outputChannels: c[2], kernelSize: 3, stride: 2, padding: config.conv3Padding, generator: &generator),
      ReLU(),
    ])
    var dense: [any Layer<Float>] = [
      try Linear(inputFeatures: config.flattenedFeatures, outputFeatures: config.hidden, generator: &generator), ReLU(),
    ]
    if latentHead { dense.append(try Linear(inputFeatures: config.hidden, outputFeatures: config.latent, generator: &generator)) }
    lin = try Sequential(dense)
  }

  /// The layers in order, as a plan takes them.
  public var layers: [any Layer<Float>] { [cnn, flatten, lin] }

  /// The shape of one image: `[1, 28, 28]`.
  public static let imageShape = [1, AutoencoderConfig.imageSide, AutoencoderConfig.imageSide]

  /// - Throws: `ModelError.inputMismatch` naming `model` unless `images` is `[N, 1, 28, 28]`.
  public static func checkImages(_ images: Tensor, model: String) throws {
    guard images.rank == 4, Array(images.shape.dropFirst()) == imageShape else {
      throw ModelError.inputMismatch(model: model, expected: "[N, 1, 28, 28]", given: images.shape)
    }
  }

  /// Parameters named `cnn.…` and `lin.…`.
  public var namedParameters: [NamedParameter<Float>] {
    cnn.namedParameters.map { NamedParameter(name: "cnn.\($0.name)", parameter: $0.parameter) }
      + lin.namedParameters.map { NamedParameter(name: "lin.\($0.name)", parameter: $0.parameter) }
  }

  public var parallel: DeterministicParallel {
    get { cnn.parallel }
    set {
      cnn.parallel = newValue
      lin.parallel = newValue
    }
  }

  /// The encoder's output for images `[N, 1, 28, 28]`.
  public func forward(_ images: Tensor) throws -> Tensor {
    try Self.checkImages(images, model: "encoder")
    return try lin.forward(try flatten.forward(try cnn.forward(images)))
  }

  /// Back-propagates the gradient of the encoder's output (parameter gradients accumulate).
  public func backward(_ d: Tensor) throws {
    _ = try cnn.backward(try flatten.backward(try lin.backward(d)))
  }

  /// Freezes (or unfreezes) every parameter: frozen layers skip their parameter gradients.
  public func setFrozen(_ frozen: Bool) {
    for p in namedParameters { p.parameter.isFrozen = frozen }
  }
}
