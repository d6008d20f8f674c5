import Datasets
import NN
import TensorCore

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
