import Execution
import NN
import TensorCore

/// A classifier on a trained encoder's latent codes: the encoder, frozen, then dense
/// `latent → 30 → 60 → classes` with ReLUs (`ClassifierHead`), trained with cross-entropy.
///
/// Since the encoder is frozen (and has no randomness), its codes are a fixed function of
/// the images: `trainingInputs` computes them once and the head trains on them, which is the
/// same training as running the frozen encoder in every step, at a fraction of the cost. Its
/// plan: encoder, the mark `codes` (the frozen-encoder boundary, where training passes start),
/// head. Parameter names: `head.0.…`, `head.2.…`, `head.4.…` (the encoder's are the
/// autoencoder's, under `encoder.`).
public final class LatentClassifier: TrainableModel {
  public let kind = ModelKind.classifier
  public let encoder: ConvEncoder
  public let head: Sequential
  public let classes: Int
  public var execution = ModelExecution.preferred
  public var parallel: DeterministicParallel {
    didSet {
      head.parallel = parallel
      encoder.parallel = parallel
    }
  }
  /// The compiled plan (nil on a CPU without AVX2, where the model runs on its layers).
  public let plan: ExecutionPlan?
  private let loss = CrossEntropyLoss()
  private var lossGradient = Tensor.zeros([0])

  /// A classifier over `encoder` (which it freezes), its head `widths` wide (the seed's 30
  /// and 60), initialised from `generator`.
  public init(encoder: ConvEncoder, widths: [Int] = ClassifierDefaults.headWidths, classes: Int = 10, generator: inout SeededGenerator) throws {
    self.encoder = encoder
    self.classes = classes
    encoder.setFrozen(true)
    var layers: [any Layer<Float>] = []
    var width = encoder.config.latent
    for next in widths {
      layers += [try Linear(inputFeatures: width, outputFeatures: next, generator: &generator), ReLU()]
      width = next
    }
    layers.append(try Linear(inputFeatures: width, outputFeatures: classes, generator: &generator))
    head = try Sequential(layers)
    (head.layers[0] as? Linear)?.computesInputGradient = false
    parallel = encoder.parallel
    plan = ExecutionPlan.isSupported
      ? try ExecutionPlan(
        [.layers(encoder.layers), .mark(ModelPlanMarks.codes), .layers([head])], inputShape: ConvEncoder.imageShape)
      : nil
  }

  public var config: AutoencoderConfig { encoder.config }

  /// The trainable parameters: the head's (the encoder is frozen).
  public var namedParameters: [NamedParameter<Float>] {
    head.namedParameters.map { NamedParameter(name: "head.\($0.name)", parameter: $0.parameter) }
  }

  /// The encoder's parameters (under `encoder.`, frozen) and the head's: a classifier
  /// checkpoint is complete on its own.
  public var stateDict: [NamedParameter<Float>] {
    encoder.namedParameters.map { NamedParameter(name: "encoder.\($0.name)", parameter: $0.parameter) } + namedParameters
  }

  public var lossDescription: String { "cross-entropy" }

  /// The frozen encoder's codes `[N, latent]` for images, in batches of `batchSize`.
  public func codes(of images: Tensor, batchSize: Int = 1000) throws -> Tensor {
    try ConvEncoder.checkImages(images, model: "classifier")
    let n = images.shape[0]
    let latent = encoder.config.latent
    var out = Tensor.zeros([n, latent])
    var start = 0
    while start < n {
      let end = min(n, start + batchSize)
      let batch = images.slice(outer: start..<end)
      let c: Tensor
      if let plan = try selectedPlan(plan, execution) {
        c = try plan.codes(of: batch, parallel: parallel)
      } else {
        c = try encoder.forward(batch)
      }
      out.withUnsafeMutableBufferPointer { dst in
        c.withUnsafeBufferPointer { src in (dst.baseAddress! + start * latent).update(from: src.baseAddress!, count: src.count) }
      }
      start = end
    }
    return out
  }

  /// The codes of the images: what the head reads.
  public func encode(_ images: Tensor) throws -> Tensor { try codes(of: images) }

  public func decode(_ codes: Tensor) throws -> Tensor {
    throw ModelError.unsupported(model: "classifier", operation: "decoder")
  }

  /// The data set with its images replaced by their codes.
  public func trainingInputs(_ data: LabeledTensor) throws -> LabeledTensor {
    LabeledTensor(inputs: try codes(of: data.inputs), labels: data.labels)
  }

  /// Logits `[N, classes]` for codes.
  public func logits(codes: Tensor) throws -> Tensor {
    try checkCodes(codes)
    guard let plan = try selectedPlan(plan, execution) else { return try head.forward(codes) }
    return try plan.output(fromCodes: codes, parallel: parallel)
  }

  /// Predicted classes for codes: the first largest logit of each row.
  public func predict(codes: Tensor) throws -> [Int32] {
    let z = try logits(codes: codes)
    return (0..<z.shape[0]).map { row in
      var best = 0
      for j in 1..<classes where z.scalars[row * classes + j] > z.scalars[row * classes + best] { best = j }
      return Int32(best)
    }
  }

  public func predictedClasses(_ images: Tensor) throws -> [Int32]? { try predict(codes: try codes(of: images)) }

  /// A step on a batch of codes (not images: see the type's discussion).
  public func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try checkCodes(inputs)
    if let plan = try selectedPlan(plan, execution) {
      let crossEntropy = try CrossEntropyChunks(labels: labels, classes: classes)
      let totals = try plan.trainingPass(inputs, from: try plan.mark(ModelPlanMarks.codes), loss: crossEntropy, parallel: parallel)
      return BatchResult(loss: totals.lossSum * crossEntropy.scale, count: labels.count, correct: totals.correct)
    }
    let z = try head.forward(inputs)
    let value = try loss(z, labels, gradient: &lossGradient)
    _ = try head.backward(lossGradient)
    return BatchResult(loss: value, count: labels.count, correct: countCorrect(z, labels))
  }

  public func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult {
    try checkCodes(inputs)
    if let plan = try selectedPlan(plan, execution) {
      let crossEntropy = try CrossEntropyChunks(labels: labels, classes: classes)
      let totals = try plan.evaluationPass(inputs, from: try plan.mark(ModelPlanMarks.codes), loss: crossEntropy, parallel: parallel)
      return BatchResult(loss: totals.lossSum * crossEntropy.scale, count: labels.count, correct: totals.correct)
    }
    let z = try head.forward(inputs)
    let value = try loss(z, labels, gradient: &lossGradient)
    return BatchResult(loss: value, count: labels.count, correct: countCorrect(z, labels))
  }

  private func checkCodes(_ codes: Tensor) throws {
    guard codes.rank == 2, codes.shape[1] == encoder.config.latent else {
      throw ModelError.inputMismatch(model: "classifier", expected: "codes [N, \(encoder.config.latent)]", given: codes.shape)
    }
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
