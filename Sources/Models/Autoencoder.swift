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
    let side = AutoencoderConfig.imageSide
    guard images.rank == 4, Array(images.shape.dropFirst()) == [1, side, side] else {
      throw ModelError.inputMismatch(model: "encoder", expected: "[N, 1, 28, 28]", given: images.shape)
    }
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
    guard codes.rank == 2, codes.shape[1] == config.latent else {
      throw ModelError.inputMismatch(model: "decoder", expected: "[N, \(config.latent)]", given: codes.shape)
    }
    return try cnn.forward(try unflatten.forward(try lin.forward(codes)))
  }

  /// The gradient with respect to the codes, for the gradient of the images.
  public func backward(_ d: Tensor) throws -> Tensor {
    try lin.backward(try unflatten.backward(try cnn.backward(d)))
  }
}

/// The seed study's convolutional autoencoder, trained to reconstruct its input under the
/// mean squared error (mean over pixels, PyTorch's `MSELoss()`).
///
/// Parameter names are those of a PyTorch module with attributes `encoder` and `decoder`
/// (`encoder.cnn.0.weight`, …, `decoder.cnn.4.bias`); `docs/` gives that module.
public final class Autoencoder: TrainableModel {
  public let config: AutoencoderConfig
  public let encoder: ConvEncoder
  public let decoder: ConvDecoder
  private let loss = MSELoss(reduction: .mean)
  private var lossGradient = Tensor.zeros([0])

  /// A new autoencoder, initialised from `generator` (the `init` stream): encoder first.
  public init(config: AutoencoderConfig, generator: inout SeededGenerator) throws {
    self.config = config
    encoder = try ConvEncoder(config: config, latentHead: true, generator: &generator)
    decoder = try ConvDecoder(config: config, generator: &generator)
    chainParts = [encoder.cnn, encoder.flatten, encoder.lin, decoder.lin, decoder.unflatten, decoder.cnn]
  }

  public var namedParameters: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) }
      + decoder.namedParameters.map { NamedParameter(name: "decoder.\($0.name)", parameter: $0.parameter) }
  }

  public var parallel: DeterministicParallel {
    get { encoder.parallel }
    set {
      encoder.parallel = newValue
      decoder.parallel = newValue
    }
  }

  /// Codes `[N, latent]` for images `[N, 1, 28, 28]`.
  public func encode(_ images: Tensor) throws -> Tensor { try encoder.forward(images) }

  /// Images for codes.
  public func decode(_ codes: Tensor) throws -> Tensor { try decoder.forward(codes) }

  /// Reconstructions of images: `decode(encode(images))`, chunk by chunk through the whole
  /// model where `trainingStep` runs so (its linear layers in 32-row chunks, so the last bits
  /// may differ from calling `encode` and `decode` over the batch).
  public func reconstruct(_ images: Tensor) throws -> Tensor {
    try checkImages(images)
    if let chain = currentChain() { return try chain.forward(images, parallel: parallel) }
    return try decode(try encode(images))
  }

  /// Where the CPU has the lane kernels, a training step runs the whole model one chunk of 32
  /// images at a time (`ChunkedChain`): forward, loss and backward of a chunk while its
  /// activations are in cache. Its linear layers then take 32-row chunks, and the loss is a
  /// sum of per-chunk sums; elsewhere the layers run one after the other over the batch.
  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try checkImages(inputs)
    if let chain = currentChain() { return try chunkedMeanSquaredError(inputs, chain, training: true) }
    let reconstruction = try reconstruct(inputs)
    let value = try loss(reconstruction, inputs, gradient: &lossGradient)
    try encoder.backward(try decoder.backward(lossGradient))
    return BatchResult(loss: value, count: inputs.shape[0])
  }

  /// The loss over a batch, chunk by chunk through the whole model where `trainingStep` does so.
  public func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try checkImages(inputs)
    if let chain = currentChain() { return try chunkedMeanSquaredError(inputs, chain, training: false) }
    let value = try loss(try reconstruct(inputs), inputs, gradient: &lossGradient)
    return BatchResult(loss: value, count: inputs.shape[0])
  }

  // MARK: Chunked chain

  private var chain: ChunkedChain?

  /// The model's layers in order, as a chain takes them.
  private let chainParts: [any Layer<Float>]

  /// The chain for the layers' current configuration (rebuilt when a layer's algorithm
  /// changed what runs on lanes), or nil when it cannot run here.
  private func currentChain() -> ChunkedChain? {
    if let chain, chain.matches(chainParts) { return chain }
    chain = ChunkedChain.make(chainParts)
    return chain
  }

  /// The mean squared error of the reconstructions of `images` through `chain`, with the
  /// backward pass when `training`: each chunk's squared errors (and their gradient, for the
  /// whole batch's mean) summed in chunk order.
  private func chunkedMeanSquaredError(_ images: Tensor, _ chain: ChunkedChain, training: Bool) throws -> BatchResult {
    let scale = 1 / Double(max(1, images.count))
    let width = AutoencoderConfig.imageSide * AutoencoderConfig.imageSide
    let sum = try images.withUnsafeBufferPointer { xb in
      let targets = xb.baseAddress!
      let share = { (rows: Range<Int>, output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) in
        MSELoss.squaredErrorSum(
          output, targets + rows.lowerBound * width, count: rows.count * width, scale: scale, gradient: gradient)
      }
      return training
        ? try chain.trainingPass(images, parallel: parallel, loss: share)
        : try chain.loss(images, parallel: parallel, loss: share)
    }
    return BatchResult(loss: sum * scale, count: images.shape[0])
  }

  private func checkImages(_ images: Tensor) throws {
    let side = AutoencoderConfig.imageSide
    guard images.rank == 4, Array(images.shape.dropFirst()) == [1, side, side] else {
      throw ModelError.inputMismatch(model: "autoencoder", expected: "[N, 1, 28, 28]", given: images.shape)
    }
  }
}
