import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import HDF5
import Models
import NN
import TensorCore

/// One training run: builds or restores the model, trains it with a checkpoint after every
/// epoch (`checkpoint.h5` in the run folder, replaced atomically), evaluates it on the test set
/// and writes the run folder's files.
public struct TrainingRun {
  public var kind: ModelKind
  public var config: AutoencoderConfig
  public var record: TrainingRecord
  public var seed: UInt64
  public var threads: Int
  public var data: String?
  public var out: String
  /// Where the run's messages go (resuming, the test metrics, the figures written): nowhere
  /// unless the caller says.
  public var log: (String) -> Void = { _ in }
  /// Whether training draws its progress bar (off for a run beside another that draws its own).
  public var showsProgress = true
  /// The folder a relative `record.encoderCheckpoint` is read from (nil: the working
  /// directory). The reproduction records its classifiers' encoders relative to its run folder,
  /// so that the same run in two folders writes the same checkpoints.
  public var encoderBase: String?
  /// Asked after each epoch's checkpoint is written, except the last's: false stops the run
  /// there, resumable from that checkpoint (`run` returns `.paused`). nil: train to the end.
  public var continues: (() throws -> Bool)?

  public init(
    kind: ModelKind, config: AutoencoderConfig, record: TrainingRecord, seed: UInt64, threads: Int, data: String?, out: String
  ) {
    self.kind = kind
    self.config = config
    self.record = record
    self.seed = seed
    self.threads = threads
    self.data = data
    self.out = out
  }

  public var checkpointPath: String { out + "/checkpoint.h5" }

  public var options: TrainingOptions {
    TrainingOptions(epochs: record.epochs, batchSize: record.batchSize, optimizer: record.optimizer, seed: seed)
  }

  /// Checks every setting before any data is read or anything written.
  public func validate() throws {
    try config.validate(model: kind.rawValue)
    try options.validate()
    _ = try record.optimizer.make([])
    guard seed <= UInt64(Int64.max) else { throw ExperimentError.invalid("--seed must be at most \(Int64.max), got \(seed)") }
  }

  public func loadData() throws -> RunData {
    try RunData.load(data: data, seed: seed, subset: record.subset, validationFraction: record.validationFraction)
  }

  /// The model, freshly initialised from the run's seed (the classifier's encoder comes from
  /// `record.encoderCheckpoint` or is trained here first, unless `restoring`: then the
  /// checkpoint about to be restored holds it).
  public func makeModel(data: RunData, restoring: Bool) throws -> any TrainableModel {
    guard kind == .classifier, !restoring else {
      // A classifier's checkpoint carries the encoder's parameters.
      return try ModelFactory.make(
        kind, config: config, seed: seed, vaeLoss: record.vae ?? VAELossSettings(),
        headWidths: record.headWidths ?? ClassifierDefaults.headWidths)
    }
    let autoencoder = try ModelFactory.make(.autoencoder, config: config, seed: seed)
    if let recorded = record.encoderCheckpoint {
      let encoderPath = encoderBase.map { recorded.hasPrefix("/") ? recorded : $0 + "/" + recorded } ?? recorded
      let saved = try CheckpointReader.read(encoderPath)
      guard saved.model == .autoencoder, saved.config == config else {
        throw ExperimentError.invalid(
          "\(encoderPath): expected an autoencoder checkpoint with config \(try CheckpointWriter.json(config))")
      }
      try saved.restore(into: autoencoder, path: encoderPath)
    } else if let encoderOptions = record.encoderTraining {
      autoencoder.parallel = DeterministicParallel(threads: threads)
      _ = try Trainer(
        options: encoderOptions, historyPath: out + "/encoder-history.jsonl", showsProgress: showsProgress, label: "encoder")
        .fit(autoencoder, train: data.train, validation: data.validation)
    }
    return try ModelFactory.make(
      .classifier, config: config, seed: seed, encoderOf: autoencoder, headWidths: record.headWidths ?? ClassifierDefaults.headWidths)
  }

  public func checkpoint(of model: any TrainableModel, data: RunData, end: EpochEnd?) throws -> Checkpoint {
    var rng: [String: [UInt64]] = [:]
    if let end {
      let s = end.shuffle.state
      rng["shuffle"] = [s.0, s.1, s.2, s.3]
    }
    for (name, stream) in model.randomStreams {
      let s = stream.state
      rng[name] = [s.0, s.1, s.2, s.3]
    }
    return Checkpoint(
      model: kind, config: config, training: try CheckpointWriter.json(record), seed: seed,
      datasetSHA256: data.checksums, stateDict: model.stateDictTensors(),
      optimizer: end.map { OptimizerCheckpoint(settings: record.optimizer, state: $0.optimizerState) }, rng: rng,
      epoch: end?.epoch ?? 0, step: end?.step ?? 0, history: end?.history ?? [])
  }

  /// The run saved in `folder` (its `checkpoint.h5`), ready to continue where it stopped with
  /// the checkpoint's settings: `epochs` may raise the target; `threads` and `data` are this
  /// machine's. Call `run(resume:)` with the returned checkpoint.
  /// - Throws: `ExperimentError.invalid` when the checkpoint holds another kind of model or
  ///   its `training` attribute is not a training record; the reader's errors.
  public static func resuming(
    kind: ModelKind, folder: String, epochs: Int?, threads: Int, data: String?, log: @escaping (String) -> Void = { _ in }
  ) throws -> (run: TrainingRun, checkpoint: Checkpoint) {
    let path = folder + "/checkpoint.h5"
    let saved = try CheckpointReader.read(path)
    guard saved.model == kind else {
      throw ExperimentError.invalid("\(path): holds a model of kind \(saved.model.rawValue), not \(kind.rawValue)")
    }
    var record: TrainingRecord
    do {
      record = try JSONDecoder().decode(TrainingRecord.self, from: Data(saved.training.utf8))
    } catch {
      throw ExperimentError.invalid("\(path): training attribute is not a LatentLab training record: \(error)")
    }
    if let epochs { record.epochs = epochs }
    var run = TrainingRun(
      kind: saved.model, config: saved.config, record: record, seed: saved.seed, threads: threads, data: data, out: folder)
    run.log = log
    return (run, saved)
  }

  /// The checkpoint an earlier attempt of this very run left in its folder at an epoch's end,
  /// to continue from with `run(resume:)`: nil when there is none, or when it is another run's
  /// (another model kind, configuration, training record, seed or LatentLab version) or holds
  /// no optimizer state. A checkpoint that cannot be read is another run's too: `run()` trains
  /// from the start and replaces it. The data is checked when the run starts.
  public func savedEpoch() -> Checkpoint? {
    guard FileManager.default.fileExists(atPath: checkpointPath), let saved = try? CheckpointReader.read(checkpointPath),
      saved.model == kind, saved.config == config, saved.seed == seed, saved.software == LatentLabVersion.current,
      saved.optimizer != nil, saved.epoch >= 1, saved.epoch <= record.epochs,
      let wanted = try? CheckpointWriter.json(record), saved.training == wanted
    else { return nil }
    return saved
  }

  /// Trains (or, given `resume`, continues), then writes the test metrics and figures; or,
  /// when `continues` says stop at an epoch's end, returns `.paused` with that epoch saved.
  /// - Throws: `ExperimentError.invalid` when `resume` was trained on other data files (their
  ///   SHA-256), or holds no optimizer or shuffle state; the data's, the model's and the
  ///   writers' errors.
  @discardableResult
  public func run(resume: Checkpoint? = nil) throws -> TrainingOutcome {
    try validate()
    let data = try loadData()
    if let resume, resume.datasetSHA256 != data.checksums {
      throw ExperimentError.invalid(
        "\(checkpointPath): trained on other data files (SHA-256 \(resume.datasetSHA256.sorted { $0.key < $1.key })), "
          + "not these (\(data.checksums.sorted { $0.key < $1.key }))")
    }
    try prepareRunFolder(out)
    if resume == nil {
      try writeJSON(
        RunRecord(
          model: kind.rawValue, config: config, training: options, extra: ["loss": record.loss], seed: seed,
          threads: threads, trainImages: data.train.count, validationImages: data.validation?.count ?? 0,
          datasetSHA256: data.checksums, software: LatentLabVersion.current),
        to: out + "/config.json")
    }
    let model = try makeModel(data: data, restoring: resume != nil)
    model.parallel = DeterministicParallel(threads: threads)
    var resumePoint: ResumePoint?
    if let resume {
      try resume.restore(into: model, path: checkpointPath)
      guard let optimizer = resume.optimizer, let shuffle = resume.rng["shuffle"] else {
        throw ExperimentError.invalid("\(checkpointPath): holds no optimizer or shuffle state to resume from")
      }
      for name in model.randomStreams.keys {
        if let state = resume.rng[name] {
          model.randomStreams[name] = SeededGenerator(state: (state[0], state[1], state[2], state[3]))
        }
      }
      resumePoint = ResumePoint(
        epoch: resume.epoch, step: resume.step, optimizerState: optimizer.state,
        shuffle: SeededGenerator(state: (shuffle[0], shuffle[1], shuffle[2], shuffle[3])), history: resume.history)
      log("resuming \(kind.rawValue) from epoch \(resume.epoch) of \(record.epochs) (\(checkpointPath))")
    }
    let train = try model.trainingInputs(data.train)
    let validation = try data.validation.map { try model.trainingInputs($0) }
    var trainer = Trainer(options: options, historyPath: out + "/history.jsonl", showsProgress: showsProgress, label: kind.rawValue)
    let target = record.epochs
    trainer.onEpochEnd = { [continues] end in
      try CheckpointWriter.write(try checkpoint(of: model, data: data, end: end), to: checkpointPath)
      if end.epoch < target, let continues, try !continues() { throw PausedAtEpoch(epoch: end.epoch) }
    }
    let history: [EpochRecord]
    do {
      history = try trainer.fit(model, train: train, validation: validation, resumingFrom: resumePoint)
    } catch let paused as PausedAtEpoch {
      return .paused(epoch: paused.epoch)
    }
    try report(model, data: data)
    try drawFigures(model, data: data, history: history)
    return .finished
  }

  /// The run's figures: loss curves (SVG), and for the classifier accuracy curves and the
  /// confusion matrix (SVG); originals over reconstructions (PNG) for the autoencoders;
  /// samples from the prior (PNG) for the VAE.
  public func drawFigures(_ model: any TrainableModel, data: RunData, history: [EpochRecord]) throws {
    let epochs = history.map { Double($0.epoch) }
    var series: [(name: String, x: [Double], y: [Double])] = [("train", epochs, history.map(\.trainLoss))]
    if history.contains(where: { $0.validationLoss != nil }) {
      series.append(("validation", epochs, history.map { $0.validationLoss ?? .nan }))
    }
    let lossName = model.lossDescription
    try FigureFile.write(
      SVGPlot.lines(series: series, title: "\(kind.rawValue): loss per epoch", xLabel: "epoch", yLabel: lossName),
      to: out + "/curves.svg")
    var written = ["curves.svg"]
    if history.contains(where: { $0.trainAccuracy != nil }) {
      // A classifier's accuracy per epoch beside its loss: where the seed report reads overfitting.
      var accuracy: [(name: String, x: [Double], y: [Double])] = [
        ("train", epochs, history.map { 100 * ($0.trainAccuracy ?? .nan) })
      ]
      if history.contains(where: { $0.validationAccuracy != nil }) {
        accuracy.append(("validation", epochs, history.map { 100 * ($0.validationAccuracy ?? .nan) }))
      }
      try FigureFile.write(
        SVGPlot.lines(series: accuracy, title: "\(kind.rawValue): accuracy per epoch", xLabel: "epoch", yLabel: "accuracy (%)"),
        to: out + "/accuracy.svg")
      written.append("accuracy.svg")
    }
    if kind != .classifier {
      let originals = data.test.inputs.slice(outer: 0..<10)
      let reconstructed = try model.decode(try model.encode(originals))
      try FigureFile.write(
        try ImageGrid.render(imageList(originals) + imageList(reconstructed), side: 28, columns: 10).encoded(),
        to: out + "/reconstructions.png")
      written.append("reconstructions.png")
    }
    var generate = SeededGenerator(seed: seed, streamName: "noise/generate")
    if let samples = try model.samplePrior(count: 64, generator: &generate) {
      try FigureFile.write(
        try ImageGrid.render(imageList(samples), side: 28, columns: 8).encoded(), to: out + "/samples.png")
      written.append("samples.png")
    }
    if let predicted = try model.predictedClasses(data.test.inputs) {
      let matrix = try ConfusionMatrix(classNames: FashionMNIST.classNames, truth: data.test.labels, predicted: predicted)
      try FigureFile.write(
        SVGPlot.heatmap(
          values: matrix.rowNormalized, cellText: matrix.counts.map { $0.map(String.init) },
          rowLabels: matrix.classNames, columnLabels: matrix.classNames,
          title: String(format: "Confusion matrix (test accuracy %.1f%%)", matrix.accuracy * 100),
          xLabel: "predicted class", yLabel: "true class"),
        to: out + "/confusion.svg")
      written.append("confusion.svg")
    }
    log("figures: " + written.map { out + "/" + $0 }.joined(separator: ", "))
  }

  /// Test metrics: printed, and written to `metrics.json`.
  public func report(_ model: any TrainableModel, data: RunData) throws {
    let metrics = try TestMetrics.measure(model, on: data.test)
    try writeJSON(metrics, to: out + "/metrics.json")
    log(metrics.summary(kind: kind) + "; run folder \(out)")
    if let matrix = metrics.confusionMatrix { log(TestMetrics.table(matrix)) }
  }
}

/// How a training run ended.
public enum TrainingOutcome: Equatable, Sendable {
  /// Trained to its last epoch; its metrics and figures written.
  case finished
  /// Stopped by `TrainingRun.continues` at the end of `epoch`, saved in its checkpoint.
  case paused(epoch: Int)
}

/// Unwinds the trainer from `TrainingRun.continues`' stop (caught in `TrainingRun.run`).
private struct PausedAtEpoch: Error {
  let epoch: Int
}
