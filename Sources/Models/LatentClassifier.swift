import NN
import TensorCore

/// A classifier on a trained encoder's latent codes: the encoder, frozen, then dense
/// `latent → 30 → 60 → classes` with ReLUs, trained with cross-entropy.
///
/// Since the encoder is frozen (and has no randomness), its codes are a fixed function of
/// the images: `codes(of:)` computes them once, and the dense `head` trains on them, which is
/// the same training as running the frozen encoder in every step, at a fraction of the cost.
/// Parameter names: `head.0.…`, `head.2.…`, `head.4.…` (the encoder's are the autoencoder's,
/// under `encoder.`).
public final class LatentClassifier: TrainableModel {
  public let encoder: ConvEncoder
  public let head: Sequential
  public let classes: Int
  private let loss = CrossEntropyLoss()
  private var lossGradient = Tensor.zeros([0])

  /// A classifier over `encoder` (which it freezes), head initialised from `generator`.
  public init(encoder: ConvEncoder, classes: Int = 10, generator: inout SeededGenerator) throws {
    self.encoder = encoder
    self.classes = classes
    encoder.setFrozen(true)
    let latent = encoder.config.latent
    head = try Sequential([
      try Linear(inputFeatures: latent, outputFeatures: 30, generator: &generator), ReLU(),
      try Linear(inputFeatures: 30, outputFeatures: 60, generator: &generator), ReLU(),
      try Linear(inputFeatures: 60, outputFeatures: classes, generator: &generator),
    ])
    (head.layers[0] as? Linear)?.computesInputGradient = false
  }

  /// The trainable parameters: the head's (the encoder is frozen).
  public var namedParameters: [NamedParameter<Float>] {
    head.namedParameters.map { NamedParameter(name: "head.\($0.name)", parameter: $0.parameter) }
  }

  /// The encoder's parameters (under `encoder.`, frozen) and the head's: a classifier
  /// checkpoint is complete on its own.
  public var stateDict: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) } + namedParameters
  }

  public var parallel: DeterministicParallel {
    get { head.parallel }
    set {
      head.parallel = newValue
      encoder.parallel = newValue
    }
  }

  /// The frozen encoder's codes `[N, latent]` for images, in batches of `batchSize`.
  public func codes(of images: Tensor, batchSize: Int = 1000) throws -> Tensor {
    let n = images.shape[0]
    var out = Tensor.zeros([n, encoder.config.latent])
    var start = 0
    while start < n {
      let end = min(n, start + batchSize)
      let c = try encoder.forward(images.slice(outer: start..<end))
      out.withUnsafeMutableBufferPointer { dst in
        c.withUnsafeBufferPointer { src in
          (dst.baseAddress! + start * encoder.config.latent).update(from: src.baseAddress!, count: src.count)
        }
      }
      start = end
    }
    return out
  }

  /// Logits `[N, classes]` for codes.
  public func logits(codes: Tensor) throws -> Tensor { try head.forward(codes) }

  /// Predicted classes for codes.
  public func predict(codes: Tensor) throws -> [Int32] {
    let z = try logits(codes: codes)
    return (0..<z.shape[0]).map { row in
      var best = 0
      for j in 1..<classes where z.scalars[row * classes + j] > z.scalars[row * classes + best] { best = j }
      return Int32(best)
    }
  }

  /// A step on a batch of codes (not images: see the type's discussion).
  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    let z = try head.forward(inputs)
    let value = try loss(z, labels, gradient: &lossGradient)
    _ = try head.backward(lossGradient)
    return BatchResult(loss: value, count: labels.count, correct: countCorrect(z, labels))
  }

  public func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    let z = try head.forward(inputs)
    let value = try loss(z, labels, gradient: &lossGradient)
    return BatchResult(loss: value, count: labels.count, correct: countCorrect(z, labels))
  }

  private func countCorrect(_ z: Tensor, _ labels: [Int32]) -> Int {
    var correct = 0
    z.withUnsafeBufferPointer { p in
      for (row, label) in labels.enumerated() {
        var best = 0
        for j in 1..<classes where p[row * classes + j] > p[row * classes + best] { best = j }
        if best == Int(label) { correct += 1 }
      }
    }
    return correct
  }
}
