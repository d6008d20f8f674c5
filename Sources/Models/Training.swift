import Datasets
import Foundation
import NN
import TensorCore

/// The result of one batch: the batch's mean loss, how many items, and (for a classifier)
/// how many were classified correctly.
public struct BatchResult: Equatable, Sendable {
  public var loss: Double
  public var count: Int
  public var correct: Int?

  public init(loss: Double, count: Int, correct: Int? = nil) {
    self.loss = loss
    self.count = count
    self.correct = correct
  }
}

/// A model the `Trainer` can train: parameters, and a step that computes the loss and
/// accumulates gradients.
public protocol TrainableModel: AnyObject {
  /// Every trainable parameter, with its PyTorch `state_dict` name.
  var namedParameters: [NamedParameter<Float>] { get }
  /// Thread use of every layer.
  var parallel: DeterministicParallel { get set }
  /// Forward, loss and backward on a batch; parameter gradients accumulate.
  func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult
  /// Forward and loss only (evaluation; the VAE decodes the mean).
  func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult
  /// Every parameter a checkpoint stores, trainable or frozen (by default the trainable ones).
  var stateDict: [NamedParameter<Float>] { get }
}

extension TrainableModel {
  public var stateDict: [NamedParameter<Float>] { namedParameters }
}

/// Inputs (any shape `[N, ...]`) with their labels: what the trainer iterates over.
public struct LabeledTensor: Sendable {
  public var inputs: Tensor
  public var labels: [Int32]

  public init(inputs: Tensor, labels: [Int32]) {
    precondition(inputs.shape.first == labels.count, "LabeledTensor: \(inputs.shape) inputs for \(labels.count) labels")
    self.inputs = inputs
    self.labels = labels
  }

  public init(_ images: LabeledImages) { self.init(inputs: images.images, labels: images.labels) }

  public var count: Int { labels.count }

  /// Copies the rows at `indices` into `batch` (reusing its storage when the size is
  /// unchanged) and their labels into `batchLabels`.
  public func gather(_ indices: ArraySlice<Int>, into batch: inout Tensor, labels batchLabels: inout [Int32]) {
    let row = inputs.shape.dropFirst().reduce(1, *)
    let shape = [indices.count] + inputs.shape.dropFirst()
    if batch.shape != shape { batch = Tensor.zeros(shape) }
    batchLabels.removeAll(keepingCapacity: true)
    inputs.withUnsafeBufferPointer { src in
      batch.withUnsafeMutableBufferPointer { dst in
        for (r, i) in indices.enumerated() {
          (dst.baseAddress! + r * row).update(from: src.baseAddress! + i * row, count: row)
          batchLabels.append(labels[i])
        }
      }
    }
  }

  /// The rows at `indices`.
  public func subset(_ indices: [Int]) -> LabeledTensor {
    var batch = Tensor.zeros([0])
    var batchLabels: [Int32] = []
    gather(indices[...], into: &batch, labels: &batchLabels)
    return LabeledTensor(inputs: batch, labels: batchLabels)
  }

  /// A seeded split into training and validation parts (`validationFraction` of the rows,
  /// rounded, drawn by a permutation from `generator`).
  public func split(validationFraction: Double, generator: inout SeededGenerator) -> (train: LabeledTensor, validation: LabeledTensor?) {
    let held = Int((Double(count) * validationFraction).rounded())
    guard held > 0 else { return (self, nil) }
    let order = generator.permutation(count)
    return (subset(Array(order[held...]).sorted()), subset(Array(order[..<held]).sorted()))
  }
}

/// Which optimizer, with its hyperparameters (PyTorch's names and meanings).
public struct OptimizerSettings: Codable, Equatable, Sendable {
  /// `adam`, `sgd` or `rmsprop`.
  public var kind: String
  public var learningRate: Double
  /// Coupled L2 (PyTorch's `weight_decay`).
  public var weightDecay: Double
  /// SGD and RMSprop momentum.
  public var momentum: Double

  enum CodingKeys: String, CodingKey {
    case kind, momentum
    case learningRate = "lr"
    case weightDecay = "weight_decay"
  }

  public init(kind: String, learningRate: Double, weightDecay: Double = 0, momentum: Double = 0) {
    self.kind = kind
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.momentum = momentum
  }

  /// The optimizer over `parameters`.
  /// - Throws: `ModelError.invalidConfiguration` for an unknown kind; `OptimizerError` for
  ///   invalid values.
  public func make(_ parameters: [NamedParameter<Float>]) throws -> any Optimizer {
    let (lr, wd, mu) = (Float(learningRate), Float(weightDecay), Float(momentum))
    switch kind.lowercased() {
    case "adam": return try Adam(parameters: parameters, learningRate: lr, weightDecay: wd)
    case "sgd": return try SGD(parameters: parameters, learningRate: lr, momentum: mu, weightDecay: wd)
    case "rmsprop": return try RMSprop(parameters: parameters, learningRate: lr, momentum: mu, weightDecay: wd)
    default:
      throw ModelError.invalidConfiguration(
        model: "training", field: "optimizer", value: "\"\(kind)\"", expected: "adam, sgd or rmsprop")
    }
  }
}

/// The hyperparameters of a training run.
public struct TrainingOptions: Codable, Equatable, Sendable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  public var seed: UInt64

  enum CodingKeys: String, CodingKey {
    case epochs, optimizer, seed
    case batchSize = "batch_size"
  }

  public init(epochs: Int, batchSize: Int, optimizer: OptimizerSettings, seed: UInt64) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.seed = seed
  }

  /// - Throws: `ModelError.invalidConfiguration` for non-positive epochs or batch size.
  public func validate() throws {
    guard epochs >= 1 else {
      throw ModelError.invalidConfiguration(model: "training", field: "epochs", value: "\(epochs)", expected: ">= 1")
    }
    guard batchSize >= 1 else {
      throw ModelError.invalidConfiguration(model: "training", field: "batchSize", value: "\(batchSize)", expected: ">= 1")
    }
  }
}

/// One epoch's record in the history (a line of `history.jsonl`).
public struct EpochRecord: Codable, Equatable, Sendable {
  public var epoch: Int
  public var trainLoss: Double
  public var validationLoss: Double?
  public var trainAccuracy: Double?
  public var validationAccuracy: Double?
  public var seconds: Double

  public init(
    epoch: Int, trainLoss: Double, validationLoss: Double? = nil, trainAccuracy: Double? = nil,
    validationAccuracy: Double? = nil, seconds: Double = 0
  ) {
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.validationLoss = validationLoss
    self.trainAccuracy = trainAccuracy
    self.validationAccuracy = validationAccuracy
    self.seconds = seconds
  }

  enum CodingKeys: String, CodingKey {
    case epoch, seconds
    case trainLoss = "train_loss"
    case validationLoss = "validation_loss"
    case trainAccuracy = "train_accuracy"
    case validationAccuracy = "validation_accuracy"
  }
}

/// A training run that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  /// The loss became NaN or infinite: training stops, and no checkpoint of it is written.
  case diverged(epoch: Int, step: Int, loss: Double)
  case emptyDataset(String)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .diverged(let epoch, let step, let loss):
      return "training diverged: the loss is \(loss) at epoch \(epoch), step \(step);"
        + " stopped without saving (try a smaller learning rate)"
    case .emptyDataset(let what): return "no data to train on: \(what)"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    }
  }
}

/// Appends JSON lines to a file, one `fsync` per line, so an interrupted run keeps its history
/// and a reader never meets half a record: a line that cannot be written whole (a full disk, a
/// file-size limit) is cut off again before the error is thrown.
public final class JSONLinesWriter {
  public let path: String
  private let handle: FileHandle
  private var end: UInt64

  /// Creates (or truncates) the file, or with `append` adds to what it holds.
  public convenience init(path: String, append: Bool = false) throws {
    try self.init(path: path, keepingLines: append ? nil : 0)
  }

  /// Opens the file keeping its first `keepingLines` complete lines (all complete lines when
  /// nil); a last line without its newline, left by a crash, is dropped.
  public init(path: String, keepingLines: Int?) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      if !FileManager.default.fileExists(atPath: path) {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
          throw TrainingError.cannotWrite(path: path, reason: "cannot create the file")
        }
      }
      handle = try FileHandle(forUpdating: url)
      let text = try handle.readToEnd() ?? Data()
      var keep = 0
      var lines = 0
      for (i, byte) in text.enumerated() where byte == 0x0A {
        if let limit = keepingLines, lines == limit { break }
        lines += 1
        keep = i + 1
      }
      end = UInt64(keep)
      try handle.truncate(atOffset: end)
      try handle.seek(toOffset: end)
    } catch let error as TrainingError {
      throw error
    } catch {
      throw TrainingError.cannotWrite(path: path, reason: "\(error)")
    }
  }

  deinit { try? handle.close() }

  /// Writes one value as a line, whole or not at all.
  public func append<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
      var data = try encoder.encode(value)
      data.append(0x0A)
      try handle.write(contentsOf: data)
      try handle.synchronize()
      end += UInt64(data.count)
    } catch {
      try? handle.truncate(atOffset: end)
      try? handle.seek(toOffset: end)
      throw TrainingError.cannotWrite(path: path, reason: "\(error)")
    }
  }
}

/// What the trainer hands over at the end of each epoch: enough to checkpoint and resume.
public struct EpochEnd {
  /// Epochs completed (1-based count).
  public var epoch: Int
  /// Optimizer steps taken in all.
  public var step: Int
  public var optimizerState: OptimizerState
  /// The `shuffle` stream, positioned for the next epoch.
  public var shuffle: SeededGenerator
  public var history: [EpochRecord]
}

/// Where an interrupted run continues from (as saved at an epoch's end).
public struct ResumePoint {
  public var epoch: Int
  public var step: Int
  public var optimizerState: OptimizerState
  public var shuffle: SeededGenerator
  public var history: [EpochRecord]

  public init(epoch: Int, step: Int, optimizerState: OptimizerState, shuffle: SeededGenerator, history: [EpochRecord]) {
    self.epoch = epoch
    self.step = step
    self.optimizerState = optimizerState
    self.shuffle = shuffle
    self.history = history
  }
}

/// Trains a model: epochs over seeded shuffles in mini-batches, an optional validation set,
/// per-epoch history, a progress bar, and a stop on a non-finite loss.
///
/// Randomness: the order of each epoch comes from the `shuffle` stream of `options.seed`
/// (one permutation per epoch, drawn in turn), so the same seed visits the same batches.
public struct Trainer {
  public var options: TrainingOptions
  /// Where each epoch's record goes as a JSON line (nil: nowhere).
  public var historyPath: String?
  /// Whether to show progress on standard error.
  public var showsProgress: Bool
  /// A name for the progress bar.
  public var label: String
  /// Called after each epoch (to write a checkpoint); an error stops training.
  public var onEpochEnd: ((EpochEnd) throws -> Void)?

  public init(options: TrainingOptions, historyPath: String? = nil, showsProgress: Bool = true, label: String = "train") {
    self.options = options
    self.historyPath = historyPath
    self.showsProgress = showsProgress
    self.label = label
  }

  /// Trains `model` on `train`, validating on `validation` after each epoch; returns the
  /// history. With `resumingFrom`, continues a run saved at an epoch's end (the model's
  /// parameters already restored): the same batches, the same optimizer state, the same bits
  /// as if it had never stopped.
  public func fit(
    _ model: any TrainableModel, train: LabeledTensor, validation: LabeledTensor?, resumingFrom resume: ResumePoint? = nil
  ) throws -> [EpochRecord] {
    try options.validate()
    guard train.count > 0 else { throw TrainingError.emptyDataset("the training set is empty") }
    let optimizer = try options.optimizer.make(model.namedParameters)
    var shuffle = SeededGenerator(seed: options.seed, stream: .shuffle)
    var history: [EpochRecord] = []
    var steps = 0
    if let resume {
      try optimizer.restore(resume.optimizerState)
      shuffle = resume.shuffle
      history = resume.history
      steps = resume.step
    }
    let firstEpoch = (resume?.epoch ?? 0) + 1
    guard firstEpoch <= options.epochs else { return history }
    // Resuming keeps the history lines of the epochs the checkpoint holds, no more: an epoch
    // logged but not checkpointed (a crash between the two) is trained and logged again.
    let writer = try historyPath.map { try JSONLinesWriter(path: $0, keepingLines: resume?.epoch ?? 0) }
    var batch = Tensor.zeros([0])
    var batchLabels: [Int32] = []
    let all = Array(0..<train.count)
    for epoch in firstEpoch...options.epochs {
      let start = ProgressReporter.monotonicSeconds()
      let order = EpochOrder.shuffled(all, generator: &shuffle)
      let batches = MiniBatches(order: order, batchSize: options.batchSize)
      let progress = showsProgress
        ? ProgressReporter(label: "\(label) epoch \(epoch)/\(options.epochs)", total: train.count, unit: "img") : nil
      var lossSum = 0.0
      var correct = 0
      var seen = 0
      var hasAccuracy = false
      for (step, indices) in batches.enumerated() {
        // A stop between steps loses only this epoch's steps: the last checkpoint (written at
        // the previous epoch's end) is the resume point.
        try Interruption.check()
        train.gather(indices, into: &batch, labels: &batchLabels)
        optimizer.zeroGradients()
        let result = try model.trainingStep(inputs: batch, labels: batchLabels)
        guard result.loss.isFinite else {
          throw TrainingError.diverged(epoch: epoch, step: step + 1, loss: result.loss)
        }
        optimizer.step()
        steps += 1
        lossSum += result.loss * Double(result.count)
        seen += result.count
        if let c = result.correct {
          correct += c
          hasAccuracy = true
        }
        progress?.advance(by: result.count)
      }
      progress?.finish()
      var record = EpochRecord(
        epoch: epoch, trainLoss: lossSum / Double(seen), validationLoss: nil,
        trainAccuracy: hasAccuracy ? Double(correct) / Double(seen) : nil, validationAccuracy: nil, seconds: 0)
      if let validation, validation.count > 0 {
        let result = try Evaluation.run(model, on: validation, batchSize: options.batchSize)
        record.validationLoss = result.loss
        record.validationAccuracy = result.accuracy
      }
      record.seconds = ProgressReporter.monotonicSeconds() - start
      try writer?.append(record)
      history.append(record)
      try onEpochEnd?(
        EpochEnd(epoch: epoch, step: steps, optimizerState: optimizer.state, shuffle: shuffle, history: history))
    }
    return history
  }
}

/// Metrics of a model on a data set.
public struct EvaluationResult: Codable, Equatable, Sendable {
  /// The mean loss per item.
  public var loss: Double
  /// The fraction classified correctly (classifiers only).
  public var accuracy: Double?
  public var count: Int
}

/// Evaluation over a whole data set in batches.
public enum Evaluation {
  /// The item-weighted mean loss (and accuracy) of `model` on `data`.
  public static func run(_ model: any TrainableModel, on data: LabeledTensor, batchSize: Int = 1000) throws -> EvaluationResult {
    var batch = Tensor.zeros([0])
    var labels: [Int32] = []
    var lossSum = 0.0
    var correct = 0
    var hasAccuracy = false
    for indices in MiniBatches(order: Array(0..<data.count), batchSize: batchSize) {
      data.gather(indices, into: &batch, labels: &labels)
      let result = try model.evaluationStep(inputs: batch, labels: labels)
      lossSum += result.loss * Double(result.count)
      if let c = result.correct {
        correct += c
        hasAccuracy = true
      }
    }
    let n = Double(max(data.count, 1))
    return EvaluationResult(loss: lossSum / n, accuracy: hasAccuracy ? Double(correct) / n : nil, count: data.count)
  }
}
