import ArgumentParser
import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import Models
import NN
import TensorCore

/// Options every training command shares: data, seed, threads, output folder.
struct RunOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir"))
  var data: String?

  @Option(help: "The run's seed: every random draw (initialisation, shuffles, noise) derives from it.")
  var seed: UInt64 = 0

  @Option(help: "Worker threads. Results are bit-identical for any count.")
  var threads: Int = 2

  @Option(help: ArgumentHelp("The run folder (history.jsonl, config.json, metrics.json).", valueName: "dir"))
  var out: String?

  @Option(help: "Train on a seeded random subset of this many training images (for quick runs).")
  var subset: Int?

  @Option(help: "Fraction of the training images held out for validation (0 for none).")
  var validationFraction: Double = 0.1

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    guard validationFraction >= 0, validationFraction < 1 else {
      throw ValidationError("--validation-fraction must be in [0, 1), got \(validationFraction)")
    }
    if let subset, subset < 2 { throw ValidationError("--subset must be at least 2, got \(subset)") }
  }
}

/// The autoencoder architecture flags (defaults: the seed study's best configuration).
struct ArchitectureOptions: ParsableArguments {
  @Option(help: "Channels of conv 1, 2, 3 (N_C1,N_C2,N_C3).")
  var channels: String = "8,17,32"

  @Option(help: "Width of the dense hidden layer (N_H1).")
  var hidden: Int = 69

  @Option(help: "Size of the latent space (L).")
  var latent: Int = 4

  @Option(help: "Padding of conv 3: 0 or 1 (the seed report writes \"01\").")
  var conv3Padding: Int = 1

  func config() throws -> AutoencoderConfig {
    let parts = channels.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else {
      throw ValidationError("--channels must be three integers like 8,17,32, got \"\(channels)\"")
    }
    let config = AutoencoderConfig(channels: parts.map { $0! }, hidden: hidden, latent: latent, conv3Padding: conv3Padding)
    try config.validate()
    return config
  }
}

/// What a run folder's `config.json` records.
struct RunRecord: Encodable {
  var model: String
  var config: AutoencoderConfig
  var training: TrainingOptions
  var extra: [String: String]
  var seed: UInt64
  var threads: Int
  var trainImages: Int
  var validationImages: Int
  var datasetSHA256: [String: String]
  var software: String

  enum CodingKeys: String, CodingKey {
    case model, config, training, extra, seed, threads, software
    case trainImages = "train_images"
    case validationImages = "validation_images"
    case datasetSHA256 = "dataset_sha256"
  }
}

/// Loaded data for a run: the training split (subset, validation split applied) and the test set.
struct RunData {
  var train: LabeledTensor
  var validation: LabeledTensor?
  var test: LabeledTensor
  var checksums: [String: String]

  static func load(_ common: RunOptions) throws -> RunData {
    let directory = FashionMNIST.directory(explicit: common.data)
    let trainSet = try FashionMNIST.load(.train, directory: directory)
    let testSet = try FashionMNIST.load(.test, directory: directory)
    var train = LabeledTensor(trainSet)
    if let n = common.subset, n < train.count {
      var g = SeededGenerator(seed: common.seed, streamName: "shuffle/subset")
      train = train.subset(Array(g.permutation(train.count).prefix(n)).sorted())
    }
    var g = SeededGenerator(seed: common.seed, streamName: "shuffle/validation")
    let (fit, validation) = train.split(validationFraction: common.validationFraction, generator: &g)
    return RunData(
      train: fit, validation: validation, test: LabeledTensor(testSet),
      checksums: trainSet.checksums.merging(testSet.checksums) { a, _ in a })
  }
}

/// Writes `value` as pretty JSON to `path` atomically (temporary file, then rename).
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  do {
    try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

func prepareRunFolder(_ path: String) throws {
  do {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  } catch {
    throw TrainingError.cannotWrite(path: path, reason: "\(error)")
  }
}

func format(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

/// What a checkpoint's `training` attribute records: every setting needed to resume.
struct TrainingRecord: Codable {
  var epochs: Int
  var batchSize: Int
  var optimizer: OptimizerSettings
  var validationFraction: Double
  var subset: Int?
  var loss: String
  var vae: VAELossSettings?
  var encoderCheckpoint: String?
  var encoderTraining: TrainingOptions?

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
struct TrainingRun {
  var kind: ModelKind
  var config: AutoencoderConfig
  var record: TrainingRecord
  var seed: UInt64
  var threads: Int
  var data: String?
  var out: String

  var checkpointPath: String { out + "/checkpoint.h5" }

  var options: TrainingOptions {
    TrainingOptions(epochs: record.epochs, batchSize: record.batchSize, optimizer: record.optimizer, seed: seed)
  }

  /// Checks every setting before any data is read or anything written.
  func validate() throws {
    try config.validate(model: kind.rawValue)
    try options.validate()
    _ = try record.optimizer.make([])
    guard seed <= UInt64(Int64.max) else { throw ValidationError("--seed must be at most \(Int64.max), got \(seed)") }
  }

  func loadData() throws -> RunData {
    var common = try RunOptions.parse([])
    common.data = data
    common.seed = seed
    common.subset = record.subset
    common.validationFraction = record.validationFraction
    return try RunData.load(common)
  }

  /// The model, freshly initialised from the run's seed (the classifier's encoder comes from
  /// `record.encoderCheckpoint` or is trained here first, unless `restoring`: then the
  /// checkpoint about to be restored holds it).
  func makeModel(data: RunData, restoring: Bool) throws -> any TrainableModel {
    var initialization = SeededGenerator(seed: seed, stream: .initialization)
    switch kind {
    case .autoencoder:
      return try Autoencoder(config: config, generator: &initialization)
    case .vae:
      return try VariationalAutoencoder(
        config: config, loss: record.vae ?? VAELossSettings(), generator: &initialization,
        noise: SeededGenerator(seed: seed, stream: .noise))
    case .classifier:
      let autoencoder = try Autoencoder(config: config, generator: &initialization)
      if restoring {
        // The classifier's checkpoint carries the encoder's parameters.
      } else if let encoderPath = record.encoderCheckpoint {
        let saved = try CheckpointReader.read(encoderPath)
        guard saved.model == .autoencoder, saved.config == config else {
          throw ValidationError(
            "\(encoderPath): expected an autoencoder checkpoint with config \(try CheckpointWriter.json(config))")
        }
        try saved.restore(into: autoencoder, path: encoderPath)
      } else if let encoderOptions = record.encoderTraining {
        autoencoder.parallel = DeterministicParallel(threads: threads)
        _ = try Trainer(options: encoderOptions, historyPath: out + "/encoder-history.jsonl", label: "encoder")
          .fit(autoencoder, train: data.train, validation: data.validation)
      }
      var head = SeededGenerator(seed: seed, streamName: "init/classifier")
      return try LatentClassifier(encoder: autoencoder.encoder, generator: &head)
    }
  }

  /// The training inputs for the model: images, or for the classifier the frozen codes.
  func inputs(for model: any TrainableModel, _ set: LabeledTensor) throws -> LabeledTensor {
    guard let classifier = model as? LatentClassifier else { return set }
    return LabeledTensor(inputs: try classifier.codes(of: set.inputs), labels: set.labels)
  }

  func checkpoint(of model: any TrainableModel, data: RunData, end: EpochEnd?) throws -> Checkpoint {
    var rng: [String: [UInt64]] = [:]
    if let end {
      let s = end.shuffle.state
      rng["shuffle"] = [s.0, s.1, s.2, s.3]
    }
    if let vae = model as? VariationalAutoencoder {
      let s = vae.noise.state
      rng["noise"] = [s.0, s.1, s.2, s.3]
    }
    return Checkpoint(
      model: kind, config: config, training: try CheckpointWriter.json(record), seed: seed,
      datasetSHA256: data.checksums, stateDict: model.stateDictTensors(),
      optimizer: end.map { OptimizerCheckpoint(settings: record.optimizer, state: $0.optimizerState) }, rng: rng,
      epoch: end?.epoch ?? 0, step: end?.step ?? 0, history: end?.history ?? [])
  }

  /// Trains (or, given `resume`, continues) and reports; returns the test metrics' summary line.
  func run(resume: Checkpoint? = nil) throws {
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
        throw ValidationError("\(checkpointPath): holds no optimizer or shuffle state to resume from")
      }
      if let vae = model as? VariationalAutoencoder, let noise = resume.rng["noise"] {
        vae.noise = SeededGenerator(state: (noise[0], noise[1], noise[2], noise[3]))
      }
      resumePoint = ResumePoint(
        epoch: resume.epoch, step: resume.step, optimizerState: optimizer.state,
        shuffle: SeededGenerator(state: (shuffle[0], shuffle[1], shuffle[2], shuffle[3])), history: resume.history)
      print("resuming \(kind.rawValue) from epoch \(resume.epoch) of \(record.epochs) (\(checkpointPath))")
    }
    let train = try inputs(for: model, data.train)
    let validation = try data.validation.map { try inputs(for: model, $0) }
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
  func drawFigures(_ model: any TrainableModel, data: RunData, history: [EpochRecord]) throws {
    let epochs = history.map { Double($0.epoch) }
    var series: [(name: String, x: [Double], y: [Double])] = [("train", epochs, history.map(\.trainLoss))]
    if history.contains(where: { $0.validationLoss != nil }) {
      series.append(("validation", epochs, history.map { $0.validationLoss ?? .nan }))
    }
    let lossName = kind == .classifier ? "cross-entropy" : kind == .vae ? "loss (train: MSE + KL/784; validation: MSE)" : "MSE"
    try FigureFile.write(
      SVGPlot.lines(series: series, title: "\(kind.rawValue): loss per epoch", xLabel: "epoch", yLabel: lossName),
      to: out + "/curves.svg")
    var written = ["curves.svg"]
    if kind != .classifier {
      let originals = data.test.inputs.slice(outer: 0..<10)
      let reconstructed = try decode(model, try latentCodes(model, originals))
      try FigureFile.write(
        try ImageGrid.render(imageList(originals) + imageList(reconstructed), side: 28, columns: 10).encoded(),
        to: out + "/reconstructions.png")
      written.append("reconstructions.png")
    }
    if let vae = model as? VariationalAutoencoder {
      var g = SeededGenerator(seed: seed, streamName: "noise/generate")
      try FigureFile.write(
        try ImageGrid.render(imageList(try vae.generate(count: 64, generator: &g)), side: 28, columns: 8).encoded(),
        to: out + "/samples.png")
      written.append("samples.png")
    }
    if let classifier = model as? LatentClassifier {
      let predicted = try classifier.predict(codes: try classifier.codes(of: data.test.inputs))
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
  func report(_ model: any TrainableModel, data: RunData) throws {
    let metrics = try TestMetrics.measure(model, on: data.test)
    try writeJSON(metrics, to: out + "/metrics.json")
    print(metrics.summary(kind: kind) + "; run folder \(out)")
    if let matrix = metrics.confusionMatrix { print(TestMetrics.table(matrix)) }
  }
}

/// A model's figures on the test set.
struct TestMetrics: Codable {
  var testMSE: Double?
  var testAccuracy: Double?
  var confusionMatrix: [[Int]]?
  var classNames: [String]?

  enum CodingKeys: String, CodingKey {
    case testMSE = "test_mse"
    case testAccuracy = "test_accuracy"
    case confusionMatrix = "confusion_matrix"
    case classNames = "class_names"
  }

  static func measure(_ model: any TrainableModel, on test: LabeledTensor) throws -> TestMetrics {
    if let classifier = model as? LatentClassifier {
      let codes = try classifier.codes(of: test.inputs)
      let confusion = ConfusionCounts(classes: 10, truth: test.labels, predicted: try classifier.predict(codes: codes))
      return TestMetrics(
        testAccuracy: confusion.accuracy, confusionMatrix: confusion.counts, classNames: FashionMNIST.classNames)
    }
    return TestMetrics(testMSE: try Evaluation.run(model, on: test).loss)
  }

  func summary(kind: ModelKind) -> String {
    switch kind {
    case .autoencoder: return "autoencoder: test MSE \(format(testMSE ?? .nan)) (seed report: about 0.02)"
    case .vae: return "vae: test MSE of the decoded mean \(format(testMSE ?? .nan)) (seed report: about 0.02)"
    case .classifier: return "classifier: test accuracy \(format((testAccuracy ?? .nan) * 100, 1))% (seed report: 75%)"
    }
  }

  static func table(_ matrix: [[Int]]) -> String {
    var lines = ["confusion matrix (rows: true class, columns: predicted):"]
    for (i, row) in matrix.enumerated() {
      lines.append("  " + FashionMNIST.classNames[i].padding(toLength: 12, withPad: " ", startingAt: 0)
        + row.map { String($0).leftPadded(5) }.joined())
    }
    return lines.joined(separator: "\n")
  }
}

/// Options for continuing a run.
struct ResumeOptions: ParsableArguments {
  @Option(help: ArgumentHelp(
    "Continue the run in this folder from its checkpoint.h5 (settings come from the checkpoint; --epochs may raise the target).",
    valueName: "run"))
  var resume: String?
}

/// Runs `run`, or resumes the run folder named by `resume` with the checkpoint's settings.
func trainOrResume(_ run: TrainingRun, resume folder: String?, epochs: Int?) throws {
  guard let folder else { return try run.run() }
  let path = folder + "/checkpoint.h5"
  let saved = try CheckpointReader.read(path)
  guard saved.model == run.kind else {
    throw ValidationError("\(path): holds a model of kind \(saved.model.rawValue), not \(run.kind.rawValue)")
  }
  var record: TrainingRecord
  do {
    record = try JSONDecoder().decode(TrainingRecord.self, from: Data(saved.training.utf8))
  } catch {
    throw ValidationError("\(path): training attribute is not a LatentLab training record: \(error)")
  }
  if let epochs { record.epochs = epochs }
  let resumed = TrainingRun(
    kind: saved.model, config: saved.config, record: record, seed: saved.seed, threads: run.threads, data: run.data,
    out: folder)
  try resumed.run(resume: saved)
}

/// `latentlab train`: train one of the seed study's models.
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train the autoencoder, the VAE, or the classifier on the frozen encoder.",
    discussion: """
      Defaults are the seed study's settings. Each run writes into its run folder (--out, \
      default runs/<model>-seed<seed>): checkpoint.h5 after every epoch (HDF5, see \
      docs/checkpoint-format.md), history.jsonl (one line per epoch), config.json and \
      metrics.json (test metrics). --resume RUN continues an interrupted run bit-identically.
      """,
    subcommands: [TrainAutoencoder.self, TrainVAE.self, TrainClassifier.self]
  )
}

struct TrainAutoencoder: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "autoencoder", abstract: "Train the convolutional autoencoder (MSE, mean over pixels).")

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @OptionGroup var resuming: ResumeOptions
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.003
  @Option(help: "L2 weight decay (added to the gradient, as PyTorch).") var weightDecay: Double = 1e-4
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 250
  @Option(help: "Epochs (default 5).") var epochs: Int?

  func run() throws {
    let record = TrainingRecord(
      epochs: epochs ?? 5, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      validationFraction: common.validationFraction, subset: common.subset, loss: "MSE, mean over pixels")
    let run = TrainingRun(
      kind: .autoencoder, config: try architecture.config(), record: record, seed: common.seed, threads: common.threads,
      data: common.data, out: common.out ?? "runs/autoencoder-seed\(common.seed)")
    try trainOrResume(run, resume: resuming.resume, epochs: epochs)
  }
}

struct TrainVAE: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vae",
    abstract: "Train the variational autoencoder (mean-pixel MSE + beta * per-image KL / 784).")

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @OptionGroup var resuming: ResumeOptions
  @Option(help: "Weight of the KL term.") var beta: Double = 1
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.001
  @Option(help: "L2 weight decay.") var weightDecay: Double = 0
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 2000
  @Option(help: "Epochs (default 20).") var epochs: Int?

  func run() throws {
    guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be a non-negative number, got \(beta)") }
    let settings = VAELossSettings(beta: beta)
    let record = TrainingRecord(
      epochs: epochs ?? 20, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      validationFraction: common.validationFraction, subset: common.subset, loss: settings.normalisation, vae: settings)
    let run = TrainingRun(
      kind: .vae, config: try architecture.config(), record: record, seed: common.seed, threads: common.threads,
      data: common.data, out: common.out ?? "runs/vae-seed\(common.seed)")
    try trainOrResume(run, resume: resuming.resume, epochs: epochs)
  }
}

struct TrainClassifier: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classifier",
    abstract: "Train a dense classifier (L→30→60→10) on a frozen autoencoder's encoder.",
    discussion: """
      The encoder comes from --encoder CHECKPOINT (an autoencoder's checkpoint.h5), or is \
      trained first within this command with the autoencoder's seed settings (--ae-* flags).
      """)

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @OptionGroup var resuming: ResumeOptions
  @Option(help: ArgumentHelp("An autoencoder checkpoint whose encoder to use.", valueName: "checkpoint"))
  var encoder: String?
  @Option(help: "Autoencoder epochs (when training the encoder here).") var aeEpochs: Int = 5
  @Option(help: "Autoencoder learning rate (Adam).") var aeLr: Double = 0.003
  @Option(help: "Autoencoder L2 weight decay.") var aeWeightDecay: Double = 1e-4
  @Option(help: "Optimizer of the classifier: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.001
  @Option(help: "L2 weight decay.") var weightDecay: Double = 1e-5
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 250
  @Option(help: "Epochs (default 20).") var epochs: Int?

  func run() throws {
    var config = try architecture.config()
    if let encoder {
      // The encoder's checkpoint decides the architecture.
      config = try CheckpointReader.read(encoder).config
    }
    let encoderTraining = encoder == nil
      ? TrainingOptions(
        epochs: aeEpochs, batchSize: 250,
        optimizer: OptimizerSettings(kind: "adam", learningRate: aeLr, weightDecay: aeWeightDecay), seed: common.seed)
      : nil
    try encoderTraining?.validate()
    let record = TrainingRecord(
      epochs: epochs ?? 20, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      validationFraction: common.validationFraction, subset: common.subset, loss: "cross-entropy, mean over the batch",
      encoderCheckpoint: encoder, encoderTraining: encoderTraining)
    let run = TrainingRun(
      kind: .classifier, config: config, record: record, seed: common.seed, threads: common.threads,
      data: common.data, out: common.out ?? "runs/classifier-seed\(common.seed)")
    try trainOrResume(run, resume: resuming.resume, epochs: epochs)
  }
}
