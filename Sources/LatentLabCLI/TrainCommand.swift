import ArgumentParser
import Analysis
import Checkpointing
import Datasets
import Experiments
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
  var channels: String = SeedReport.configuration.channels.map(String.init).joined(separator: ",")

  @Option(help: "Width of the dense hidden layer (N_H1).")
  var hidden: Int = SeedReport.configuration.hidden

  @Option(help: "Size of the latent space (L).")
  var latent: Int = SeedReport.configuration.latent

  @Option(help: "Padding of conv 3: 0 or 1 (the seed report writes \(SeedReport.conv3PaddingWritten)).")
  var conv3Padding: Int = SeedReport.configuration.conv3Padding

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

/// Options for continuing a run.
struct ResumeOptions: ParsableArguments {
  @Option(help: ArgumentHelp(
    "Continue the run in this folder from its checkpoint.h5 (settings come from the checkpoint; --epochs may raise the target).",
    valueName: "run"))
  var resume: String?
}

/// Runs `run`, or resumes the run folder named by `resume` with the checkpoint's settings.
func trainOrResume(_ run: TrainingRun, resume folder: String?, epochs: Int?) throws {
  guard let folder else {
    var run = run
    run.log = { print($0) }
    try run.run()
    return
  }
  let (resumed, saved) = try TrainingRun.resuming(
    kind: run.kind, folder: folder, epochs: epochs, threads: run.threads, data: run.data, log: { print($0) })
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
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = Preset.seed.autoencoder.optimizer.kind
  @Option(help: "Learning rate.") var lr: Double = Preset.seed.autoencoder.optimizer.learningRate
  @Option(help: "L2 weight decay (added to the gradient, as PyTorch).")
  var weightDecay: Double = Preset.seed.autoencoder.optimizer.weightDecay
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = Preset.seed.autoencoder.batchSize
  @Option(help: "Epochs (default \(Preset.seed.autoencoder.epochs)).") var epochs: Int?

  func run() throws {
    let record = TrainingRecord(
      epochs: epochs ?? Preset.seed.autoencoder.epochs, batchSize: batchSize,
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
    abstract: "Train the variational autoencoder (mean-pixel MSE + beta * per-image KL / \(Int(Preset.seed.vae.loss.klDivisor))).")

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @OptionGroup var resuming: ResumeOptions
  @Option(help: "Weight of the KL term.") var beta: Double = Preset.seed.vae.loss.beta
  @Option(help: "Optimizer: adam, sgd or rmsprop.") var optimizer: String = Preset.seed.vae.optimizer.kind
  @Option(help: "Learning rate.") var lr: Double = Preset.seed.vae.optimizer.learningRate
  @Option(help: "L2 weight decay.") var weightDecay: Double = Preset.seed.vae.optimizer.weightDecay
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = Preset.seed.vae.batchSize
  @Option(help: "Epochs (default \(Preset.seed.vae.epochs)).") var epochs: Int?

  func run() throws {
    guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be a non-negative number, got \(beta)") }
    var settings = Preset.seed.vae.loss
    settings.beta = beta
    let record = TrainingRecord(
      epochs: epochs ?? Preset.seed.vae.epochs, batchSize: batchSize,
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
    abstract: "Train a dense classifier (L→\(Preset.seed.classifier.headWidths.map(String.init).joined(separator: "→"))→10) on a frozen autoencoder's encoder.",
    discussion: """
      The encoder comes from --encoder CHECKPOINT (an autoencoder's checkpoint.h5), or is \
      trained first within this command with the autoencoder's seed settings (--ae-* flags).
      """)

  @OptionGroup var common: RunOptions
  @OptionGroup var architecture: ArchitectureOptions
  @OptionGroup var resuming: ResumeOptions
  @Option(help: ArgumentHelp("An autoencoder checkpoint whose encoder to use.", valueName: "checkpoint"))
  var encoder: String?
  @Option(help: "Autoencoder epochs (when training the encoder here).") var aeEpochs: Int = Preset.seed.autoencoder.epochs
  @Option(help: "Autoencoder learning rate (Adam).") var aeLr: Double = Preset.seed.autoencoder.optimizer.learningRate
  @Option(help: "Autoencoder L2 weight decay.") var aeWeightDecay: Double = Preset.seed.autoencoder.optimizer.weightDecay
  @Option(help: "Optimizer of the classifier: adam, sgd or rmsprop.") var optimizer: String = Preset.seed.classifier.optimizer.kind
  @Option(help: "Learning rate.") var lr: Double = Preset.seed.classifier.optimizer.learningRate
  @Option(help: "L2 weight decay.") var weightDecay: Double = Preset.seed.classifier.optimizer.weightDecay
  @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
  @Option(help: "Mini-batch size.") var batchSize: Int = Preset.seed.classifier.batchSize
  @Option(help: "Epochs (default \(Preset.seed.classifier.epochs)).") var epochs: Int?

  func run() throws {
    var config = try architecture.config()
    if let encoder {
      // The encoder's checkpoint decides the architecture.
      config = try CheckpointReader.read(encoder).config
    }
    let encoderTraining = encoder == nil
      ? TrainingOptions(
        epochs: aeEpochs, batchSize: Preset.seed.autoencoder.batchSize,
        optimizer: OptimizerSettings(kind: "adam", learningRate: aeLr, weightDecay: aeWeightDecay), seed: common.seed)
      : nil
    try encoderTraining?.validate()
    let record = TrainingRecord(
      epochs: epochs ?? Preset.seed.classifier.epochs, batchSize: batchSize,
      optimizer: OptimizerSettings(kind: optimizer, learningRate: lr, weightDecay: weightDecay, momentum: momentum),
      validationFraction: common.validationFraction, subset: common.subset, loss: "cross-entropy, mean over the batch",
      encoderCheckpoint: encoder, encoderTraining: encoderTraining, headWidths: Preset.seed.classifier.headWidths)
    let run = TrainingRun(
      kind: .classifier, config: config, record: record, seed: common.seed, threads: common.threads,
      data: common.data, out: common.out ?? "runs/classifier-seed\(common.seed)")
    try trainOrResume(run, resume: resuming.resume, epochs: epochs)
  }
}

/// What an interrupted training run kept, and the command that continues it.
func trainingInterruptionNote(kind: String, folder: String, common: RunOptions) -> String {
  let path = folder + "/checkpoint.h5"
  var flags = ["--resume", folder]
  if let data = common.data { flags += ["--data", data] }
  if common.threads != 2 { flags += ["--threads", "\(common.threads)"] }
  let command = (["latentlab", "train", kind] + flags).map(shellQuoted).joined(separator: " ")
  guard let saved = try? CheckpointReader.read(path) else {
    return "No epoch was finished, so nothing was kept; start again with: \(currentCommandLine())"
  }
  let target = (try? JSONDecoder().decode(TrainingRecord.self, from: Data(saved.training.utf8)))?.epochs
  return "Kept \(path) (epoch \(saved.epoch)\(target.map { " of \($0)" } ?? "")); continue with: \(command)"
}

extension TrainAutoencoder: ContinuableCommand {
  func interruptionNote() -> String {
    trainingInterruptionNote(
      kind: "autoencoder", folder: resuming.resume ?? common.out ?? "runs/autoencoder-seed\(common.seed)", common: common)
  }
}

extension TrainVAE: ContinuableCommand {
  func interruptionNote() -> String {
    trainingInterruptionNote(kind: "vae", folder: resuming.resume ?? common.out ?? "runs/vae-seed\(common.seed)", common: common)
  }
}

extension TrainClassifier: ContinuableCommand {
  func interruptionNote() -> String {
    trainingInterruptionNote(
      kind: "classifier", folder: resuming.resume ?? common.out ?? "runs/classifier-seed\(common.seed)", common: common)
  }
}
