import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import HDF5
import Models
import NN
import TensorCore

/// A problem with an experiment's settings, inputs or run folder.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
  case invalid(String)

  public var description: String {
    switch self {
    case .invalid(let message): return message
    }
  }
}

/// What a run folder's `config.json` records.
public struct RunRecord: Encodable {
  public var model: String
  public var config: AutoencoderConfig
  public var training: TrainingOptions
  public var extra: [String: String]
  public var seed: UInt64
  public var threads: Int
  public var trainImages: Int
  public var validationImages: Int
  public var datasetSHA256: [String: String]
  public var software: String

  enum CodingKeys: String, CodingKey {
    case model, config, training, extra, seed, threads, software
    case trainImages = "train_images"
    case validationImages = "validation_images"
    case datasetSHA256 = "dataset_sha256"
  }
}

/// Loaded data for a run: the training split (subset, validation split applied) and the test set.
public struct RunData {
  public var train: LabeledTensor
  public var validation: LabeledTensor?
  public var test: LabeledTensor
  public var checksums: [String: String]

  /// Loads the training and test sets from `data` (the default directory when nil), keeps a
  /// seeded subset of `subset` training images if given, and holds out `validationFraction`.
  public static func load(data: String?, seed: UInt64, subset: Int?, validationFraction: Double) throws -> RunData {
    let directory = FashionMNIST.directory(explicit: data)
    let trainSet = try FashionMNIST.load(.train, directory: directory)
    let testSet = try FashionMNIST.load(.test, directory: directory)
    var train = LabeledTensor(trainSet)
    if let n = subset, n < train.count {
      var g = SeededGenerator(seed: seed, streamName: "shuffle/subset")
      train = train.subset(Array(g.permutation(train.count).prefix(n)).sorted())
    }
    var g = SeededGenerator(seed: seed, streamName: "shuffle/validation")
    let (fit, validation) = train.split(validationFraction: validationFraction, generator: &g)
    return RunData(
      train: fit, validation: validation, test: LabeledTensor(testSet),
      checksums: trainSet.checksums.merging(testSet.checksums) { a, _ in a })
  }
}

/// Writes `value` as pretty JSON to `path` atomically (temporary file, then rename).
public func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  do {
    try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

public func prepareRunFolder(_ path: String) throws {
  do {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

public func format(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

/// What a checkpoint's `training` attribute records: every setting needed to resume.
public struct TrainingRecord: Codable {
  public var epochs: Int
  public var batchSize: Int
  public var optimizer: OptimizerSettings
  public var validationFraction: Double
  public var subset: Int?
  public var loss: String
  public var vae: VAELossSettings?
  public var encoderCheckpoint: String?
  public var encoderTraining: TrainingOptions?

  public init(
    epochs: Int, batchSize: Int, optimizer: OptimizerSettings, validationFraction: Double, subset: Int?, loss: String,
    vae: VAELossSettings? = nil, encoderCheckpoint: String? = nil, encoderTraining: TrainingOptions? = nil
  ) {
    self.epochs = epochs
    self.batchSize = batchSize
    self.optimizer = optimizer
    self.validationFraction = validationFraction
    self.subset = subset
    self.loss = loss
    self.vae = vae
    self.encoderCheckpoint = encoderCheckpoint
    self.encoderTraining = encoderTraining
  }

  enum CodingKeys: String, CodingKey {
    case epochs, optimizer, subset, loss, vae
    case batchSize = "batch_size"
    case validationFraction = "validation_fraction"
    case encoderCheckpoint = "encoder_checkpoint"
    case encoderTraining = "encoder_training"
  }
}

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
      return try ModelFactory.make(kind, config: config, seed: seed, vaeLoss: record.vae ?? VAELossSettings())
    }
    let autoencoder = try ModelFactory.make(.autoencoder, config: config, seed: seed)
    if let encoderPath = record.encoderCheckpoint {
      let saved = try CheckpointReader.read(encoderPath)
      guard saved.model == .autoencoder, saved.config == config else {
        throw ExperimentError.invalid(
          "\(encoderPath): expected an autoencoder checkpoint with config \(try CheckpointWriter.json(config))")
      }
      try saved.restore(into: autoencoder, path: encoderPath)
    } else if let encoderOptions = record.encoderTraining {
      autoencoder.parallel = DeterministicParallel(threads: threads)
      _ = try Trainer(options: encoderOptions, historyPath: out + "/encoder-history.jsonl", label: "encoder")
        .fit(autoencoder, train: data.train, validation: data.validation)
    }
    guard let trained = autoencoder as? Autoencoder else { throw ExperimentError.invalid("the factory built no autoencoder") }
    return try ModelFactory.make(.classifier, config: config, seed: seed, encoder: trained.encoder)
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

  /// Trains (or, given `resume`, continues) and reports; returns the test metrics' summary line.
  public func run(resume: Checkpoint? = nil) throws {
    try validate()
    let data = try loadData()
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
      print("resuming \(kind.rawValue) from epoch \(resume.epoch) of \(record.epochs) (\(checkpointPath))")
    }
    let train = try model.trainingInputs(data.train)
    let validation = try data.validation.map { try model.trainingInputs($0) }
    var trainer = Trainer(options: options, historyPath: out + "/history.jsonl", label: kind.rawValue)
    trainer.onEpochEnd = { end in
      try CheckpointWriter.write(try checkpoint(of: model, data: data, end: end), to: checkpointPath)
    }
    let history = try trainer.fit(model, train: train, validation: validation, resumingFrom: resumePoint)
    try report(model, data: data)
    try drawFigures(model, data: data, history: history)
  }

  /// The run's figures: training curves (SVG); originals over reconstructions (PNG) for the
  /// autoencoders; samples from the prior (PNG) for the VAE; the confusion matrix (SVG) for
  /// the classifier.
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
    print("figures: " + written.map { out + "/" + $0 }.joined(separator: ", "))
  }

  /// Test metrics: printed, and written to `metrics.json`.
  public func report(_ model: any TrainableModel, data: RunData) throws {
    let metrics = try TestMetrics.measure(model, on: data.test)
    try writeJSON(metrics, to: out + "/metrics.json")
    print(metrics.summary(kind: kind) + "; run folder \(out)")
    if let matrix = metrics.confusionMatrix { print(TestMetrics.table(matrix)) }
  }
}

/// A model's figures on the test set.
public struct TestMetrics: Codable {
  public var testMSE: Double?
  public var testAccuracy: Double?
  public var confusionMatrix: [[Int]]?
  public var classNames: [String]?

  enum CodingKeys: String, CodingKey {
    case testMSE = "test_mse"
    case testAccuracy = "test_accuracy"
    case confusionMatrix = "confusion_matrix"
    case classNames = "class_names"
  }

  public static func measure(_ model: any TrainableModel, on test: LabeledTensor) throws -> TestMetrics {
    if let predicted = try model.predictedClasses(test.inputs) {
      let confusion = try ConfusionMatrix(classNames: FashionMNIST.classNames, truth: test.labels, predicted: predicted)
      return TestMetrics(
        testAccuracy: confusion.accuracy, confusionMatrix: confusion.counts, classNames: FashionMNIST.classNames)
    }
    return TestMetrics(testMSE: try Evaluation.run(model, on: test).loss)
  }

  public func summary(kind: ModelKind) -> String {
    switch kind {
    case .autoencoder: return "autoencoder: test MSE \(format(testMSE ?? .nan)) (seed report: about 0.02)"
    case .vae: return "vae: test MSE of the decoded mean \(format(testMSE ?? .nan)) (seed report: about 0.02)"
    case .classifier: return "classifier: test accuracy \(format((testAccuracy ?? .nan) * 100, 1))% (seed report: 75%)"
    }
  }

  public static func table(_ matrix: [[Int]]) -> String {
    var lines = ["confusion matrix (rows: true class, columns: predicted):"]
    for (i, row) in matrix.enumerated() {
      lines.append("  " + FashionMNIST.classNames[i].padding(toLength: 12, withPad: " ", startingAt: 0)
        + row.map { String($0).leftPadded(5) }.joined())
    }
    return lines.joined(separator: "\n")
  }
}

/// The images of a tensor `[N, 1, 28, 28]` as flat arrays, for `ImageGrid`.
public func imageList(_ images: Tensor) -> [[Float]] {
  let plane = images.shape.dropFirst().reduce(1, *)
  return (0..<images.shape[0]).map { Array(images.scalars[($0 * plane)..<(($0 + 1) * plane)]) }
}

/// The latent codes a model gives images (the VAE's posterior means), in batches.
public func latentCodes(_ model: any TrainableModel, _ images: Tensor, batchSize: Int = 1000) throws -> Tensor {
  let n = images.shape[0]
  var parts: [Float] = []
  var width = 0
  var start = 0
  while start < n {
    let codes = try model.encode(images.slice(outer: start..<min(n, start + batchSize)))
    width = codes.shape[1]
    parts += codes.scalars
    start += batchSize
  }
  return Tensor(shape: [n, width], scalars: parts)
}

/// Builds the model a checkpoint describes, with its parameters.
public func loadModel(_ checkpoint: Checkpoint, path: String) throws -> any TrainableModel {
  let loss = (try? JSONDecoder().decode(TrainingRecord.self, from: Data(checkpoint.training.utf8)))?.vae
  let model = try ModelFactory.make(
    checkpoint.model, config: checkpoint.config, seed: checkpoint.seed, vaeLoss: loss ?? VAELossSettings())
  try checkpoint.restore(into: model, path: path)
  return model
}

extension String {
  /// The string right-aligned in `width` characters.
  public func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
