import ArgumentParser
import Datasets
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

/// Trains the autoencoder of `arch` on `data`; returns the model and its history.
func trainAutoencoder(
  arch: AutoencoderConfig, options: TrainingOptions, data: RunData, threads: Int, historyPath: String?, label: String
) throws -> (Autoencoder, [EpochRecord]) {
  var initialization = SeededGenerator(seed: options.seed, stream: .initialization)
  let model = try Autoencoder(config: arch, generator: &initialization)
  model.parallel = DeterministicParallel(threads: threads)
  let trainer = Trainer(options: options, historyPath: historyPath, label: label)
  let history = try trainer.fit(model, train: data.train, validation: data.validation)
  return (model, history)
}

/// `latentlab train`: train one of the seed study's models.
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train the autoencoder, the VAE, or the classifier on the frozen encoder.",
    discussion: """
      Defaults are the seed study's settings. Each run writes history.jsonl (one line per \
      epoch), config.json (model, hyperparameters, seed, data checksums) and metrics.json \
      (test metrics) into its run folder (--out, default runs/<model>-seed<seed>).
      """,
    subcommands: [TrainAutoencoder.self, TrainVAE.self, TrainClassifier.self]
  )
}

struct TrainAutoencoder: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "autoencoder", abstract: "Train the convolutional autoencoder (MSE, mean over pixels).")

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.003
  @Option(help: "L2 weight decay (added to the gradient, as PyTorch).") var weightDecay: Double = 1e-4
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 250
  @Option(help: "Epochs.") var epochs: Int = 5

  func run() throws {
    let arch = try architecture.config()
    let options = TrainingOptions(
      epochs: epochs, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      seed: common.seed)
    try options.validate()
    _ = try options.optimizer.make([])
    let out = common.out ?? "runs/autoencoder-seed\(common.seed)"
    let data = try RunData.load(common)
    try prepareRunFolder(out)
    try writeJSON(
      RunRecord(
        model: "autoencoder", config: arch, training: options, extra: [:], seed: common.seed, threads: common.threads,
        trainImages: data.train.count, validationImages: data.validation?.count ?? 0, datasetSHA256: data.checksums,
        software: LatentLabVersion.current),
      to: out + "/config.json")
    let (model, history) = try trainAutoencoder(
      arch: arch, options: options, data: data, threads: common.threads, historyPath: out + "/history.jsonl", label: "autoencoder")
    let test = try Evaluation.run(model, on: data.test)
    try writeJSON(["test_mse": test.loss, "final_train_loss": history.last!.trainLoss], to: out + "/metrics.json")
    print("autoencoder: test MSE \(format(test.loss)) (seed report: about 0.02); run folder \(out)")
  }
}

struct TrainVAE: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vae",
    abstract: "Train the variational autoencoder (mean-pixel MSE + beta * per-image KL / 784).")

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @Option(help: "Weight of the KL term.") var beta: Double = 1
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.001
  @Option(help: "L2 weight decay.") var weightDecay: Double = 0
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 2000
  @Option(help: "Epochs.") var epochs: Int = 20

  func run() throws {
    let arch = try architecture.config()
    let options = TrainingOptions(
      epochs: epochs, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      seed: common.seed)
    try options.validate()
    _ = try options.optimizer.make([])
    guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be a non-negative number, got \(beta)") }
    let settings = VAELossSettings(beta: beta)
    let out = common.out ?? "runs/vae-seed\(common.seed)"
    let data = try RunData.load(common)
    try prepareRunFolder(out)
    try writeJSON(
      RunRecord(
        model: "vae", config: arch, training: options, extra: ["loss": settings.normalisation], seed: common.seed,
        threads: common.threads, trainImages: data.train.count, validationImages: data.validation?.count ?? 0,
        datasetSHA256: data.checksums, software: LatentLabVersion.current),
      to: out + "/config.json")
    var initialization = SeededGenerator(seed: common.seed, stream: .initialization)
    let model = try VariationalAutoencoder(
      config: arch, loss: settings, generator: &initialization, noise: SeededGenerator(seed: common.seed, stream: .noise))
    model.parallel = DeterministicParallel(threads: common.threads)
    let trainer = Trainer(options: options, historyPath: out + "/history.jsonl", label: "vae")
    // Validation reports the reconstruction MSE of the mean, like the test figure.
    let history = try trainer.fit(model, train: data.train, validation: data.validation)
    let test = try Evaluation.run(model, on: data.test)
    try writeJSON(["test_mse": test.loss, "final_train_loss": history.last!.trainLoss], to: out + "/metrics.json")
    print("vae: test MSE of the decoded mean \(format(test.loss)) (seed report: about 0.02); run folder \(out)")
  }
}

struct TrainClassifier: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "classifier",
    abstract: "Train an autoencoder, then a dense classifier (L→30→60→10) on its frozen encoder.",
    discussion: """
      Until checkpoints can be loaded, the encoder is trained within this command first, with \
      the autoencoder's seed settings (--ae-* flags).
      """)

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @Option(help: "Autoencoder epochs.") var aeEpochs: Int = 5
  @Option(help: "Autoencoder learning rate (Adam).") var aeLr: Double = 0.003
  @Option(help: "Autoencoder L2 weight decay.") var aeWeightDecay: Double = 1e-4
  @Option(help: "Optimizer of the classifier: adam, sgd or rmsprop.") var optimizer: String = "adam"
  @Option(help: "Learning rate.") var lr: Double = 0.001
  @Option(help: "L2 weight decay.") var weightDecay: Double = 1e-5
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = 250
  @Option(help: "Epochs.") var epochs: Int = 20

  func run() throws {
    let arch = try architecture.config()
    let aeOptions = TrainingOptions(
      epochs: aeEpochs, batchSize: 250,
      optimizer: OptimizerSettings(kind: "adam", learningRate: aeLr, weightDecay: aeWeightDecay), seed: common.seed)
    let options = TrainingOptions(
      epochs: epochs, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      seed: common.seed)
    try aeOptions.validate()
    try options.validate()
    _ = try options.optimizer.make([])
    let out = common.out ?? "runs/classifier-seed\(common.seed)"
    let data = try RunData.load(common)
    try prepareRunFolder(out)
    try writeJSON(
      RunRecord(
        model: "classifier", config: arch, training: options,
        extra: ["encoder_training": "adam lr \(aeLr), weight decay \(aeWeightDecay), \(aeEpochs) epochs, batch 250"],
        seed: common.seed, threads: common.threads, trainImages: data.train.count,
        validationImages: data.validation?.count ?? 0, datasetSHA256: data.checksums, software: LatentLabVersion.current),
      to: out + "/config.json")
    let (autoencoder, _) = try trainAutoencoder(
      arch: arch, options: aeOptions, data: data, threads: common.threads, historyPath: out + "/encoder-history.jsonl",
      label: "encoder")
    var initialization = SeededGenerator(seed: common.seed, streamName: "init/classifier")
    let classifier = try LatentClassifier(encoder: autoencoder.encoder, generator: &initialization)
    classifier.parallel = DeterministicParallel(threads: common.threads)
    let codes = { (set: LabeledTensor) in LabeledTensor(inputs: try classifier.codes(of: set.inputs), labels: set.labels) }
    let trainCodes = try codes(data.train)
    let validationCodes = try data.validation.map(codes)
    let testCodes = try codes(data.test)
    let trainer = Trainer(options: options, historyPath: out + "/history.jsonl", label: "classifier")
    _ = try trainer.fit(classifier, train: trainCodes, validation: validationCodes)
    let predicted = try classifier.predict(codes: testCodes.inputs)
    let confusion = ConfusionCounts(classes: 10, truth: testCodes.labels, predicted: predicted)
    struct Metrics: Encodable {
      var test_accuracy: Double
      var confusion_matrix: [[Int]]
      var class_names: [String]
    }
    try writeJSON(
      Metrics(test_accuracy: confusion.accuracy, confusion_matrix: confusion.counts, class_names: FashionMNIST.classNames),
      to: out + "/metrics.json")
    print("classifier: test accuracy \(format(confusion.accuracy * 100, 1))% (seed report: 75%); run folder \(out)")
    print("confusion matrix (rows: true class, columns: predicted):")
    for (i, row) in confusion.counts.enumerated() {
      print("  " + FashionMNIST.classNames[i].padding(toLength: 12, withPad: " ", startingAt: 0)
        + row.map { String($0).leftPadded(5) }.joined())
    }
  }
}
