import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import Models
import NN
import TensorCore

/// A named set of settings for the whole pipeline.
public struct Preset: Codable, Equatable, Sendable {
  public var name: String
  public var trials: Int
  public var folds: Int
  public var searchEpochs: Int
  /// Training images used everywhere (nil: all 60,000).
  public var subset: Int?
  public var autoencoderEpochs: Int
  public var classifierEpochs: Int
  public var vaeEpochs: Int
  public var vaeBatchSize: Int
  /// Training images whose codes t-SNE maps (a seeded subset).
  public var tsnePoints: Int
  public var tsneIterations: Int

  /// The seed report's protocol: 10 trials, 3 folds, 5 epochs, batch 250; retrain 5 epochs;
  /// classifier 20 epochs; VAE 20 epochs, batch 2000; t-SNE of 10,000 training codes.
  public static let seed = Preset(
    name: "seed", trials: 10, folds: 3, searchEpochs: 5, subset: nil, autoencoderEpochs: 5, classifierEpochs: 20,
    vaeEpochs: 20, vaeBatchSize: 2000, tsnePoints: 10_000, tsneIterations: 1000)

  /// The same pipeline on 6,000 training images in well under a minute (what `make test` runs).
  public static let quick = Preset(
    name: "quick", trials: 3, folds: 3, searchEpochs: 2, subset: 6000, autoencoderEpochs: 4, classifierEpochs: 10,
    vaeEpochs: 5, vaeBatchSize: 500, tsnePoints: 1000, tsneIterations: 500)

  /// The preset called `name`.
  /// - Throws: `ExperimentError.invalid` for an unknown name, listing the known ones.
  public static func named(_ name: String) throws -> Preset {
    switch name {
    case "seed": return .seed
    case "quick": return .quick
    default: throw ExperimentError.invalid("unknown preset \"\(name)\"; expected seed or quick")
    }
  }
}

/// What identifies a pipeline run: a folder holding another is refused.
public struct RunIdentity: Codable, Equatable, Sendable {
  public var preset: String
  public var seed: UInt64
  public var software: String

  /// Reads a run folder's `run.json`.
  /// - Throws: `ExperimentError.invalid` naming the file when it cannot be read or is not a run record.
  public static func read(_ path: String) throws -> RunIdentity {
    do {
      return try JSONDecoder().decode(RunIdentity.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw ExperimentError.invalid("\(path): not a LatentLab run record (\(error.localizedDescription))")
    }
  }
}

/// The seed study, end to end: search → retrain the best configuration → test MSE → PCA and
/// t-SNE of the training codes → generated images → classifier on the frozen encoder →
/// confusion matrix → VAE → report. Each stage writes into its own folder and a `done.json`;
/// a stage whose `done.json` is present is skipped on a re-run.
public struct ReproducePipeline {
  public var preset: Preset
  public var seed: UInt64
  public var threads: Int
  public var data: String?
  public var out: String
  public var log: (String) -> Void

  public init(preset: Preset, seed: UInt64, threads: Int, data: String?, out: String, log: @escaping (String) -> Void = { print($0) }) {
    self.preset = preset
    self.seed = seed
    self.threads = threads
    self.data = data
    self.out = out
    self.log = log
  }

  var identity: RunIdentity { RunIdentity(preset: preset.name, seed: seed, software: LatentLabVersion.current) }

  /// Refuses a folder that holds another run; records this run's identity in a new one.
  func checkFolder() throws {
    let path = out + "/run.json"
    if FileManager.default.fileExists(atPath: path) {
      let saved: RunIdentity
      do { saved = try RunIdentity.read(path) } catch { throw ExperimentError.invalid("\(error); nothing was changed") }
      guard saved == identity else {
        throw ExperimentError.invalid(
          "\(out) holds a run of preset \(saved.preset), seed \(saved.seed), LatentLab \(saved.software);"
            + " this is preset \(preset.name), seed \(seed), LatentLab \(LatentLabVersion.current). Use another --out; nothing was changed")
      }
    } else {
      try prepareRunFolder(out)
      try writeJSON(identity, to: path)
    }
  }

  func isDone(_ stage: String) -> Bool { FileManager.default.fileExists(atPath: "\(out)/\(stage)/done.json") }

  func markDone(_ stage: String, _ summary: [String: String]) throws {
    try writeJSON(summary, to: "\(out)/\(stage)/done.json")
  }

  /// Runs every stage not yet done; returns the report's path.
  @discardableResult
  public func run() throws -> String {
    guard seed <= UInt64(Int64.max) else { throw ExperimentError.invalid("--seed must be at most \(Int64.max)") }
    guard threads >= 1 else { throw ExperimentError.invalid("--threads must be at least 1") }
    try checkFolder()
    let started = ProgressReporter.monotonicSeconds()
    let runData = try RunData.load(data: data, seed: seed, subset: preset.subset, validationFraction: 0)

    // 1. Search.
    let study = Study(
      settings: StudySettings(
        seed: seed, trials: preset.trials, folds: preset.folds, epochs: preset.searchEpochs, batchSize: 250,
        subset: preset.subset, space: .seed, software: LatentLabVersion.current),
      folder: out + "/search", threads: threads)
    var trials = try study.finishedTrials()
    if !isDone("search") {
      log("== search: \(preset.trials) trials x \(preset.folds) folds x \(preset.searchEpochs) epochs")
      trials = try study.run(data: runData.train, log: log)
      try markDone("search", ["trials": "\(trials.count)"])
    }
    guard let best = Study.best(trials) else { throw ExperimentError.invalid("every trial of the search failed; see \(out)/search/study.jsonl") }
    log(Study.table(trials))

    // 2. Retrain the best configuration on the whole training set; test MSE; figures.
    let aeFolder = out + "/autoencoder"
    if !isDone("autoencoder") {
      log("== autoencoder: the best configuration (trial \(best.trial + 1)), \(preset.autoencoderEpochs) epochs")
      let run = TrainingRun(
        kind: .autoencoder, config: best.parameters.config,
        record: TrainingRecord(
          epochs: preset.autoencoderEpochs, batchSize: 250, optimizer: best.parameters.optimizer, validationFraction: 0,
          subset: preset.subset, loss: "MSE, mean over pixels"),
        seed: seed, threads: threads, data: data, out: aeFolder)
      try run.run()
      try markDone("autoencoder", [:])
    }
    let aeCheckpoint = try CheckpointReader.read(aeFolder + "/checkpoint.h5")
    let autoencoder = try loadModel(aeCheckpoint, path: aeFolder + "/checkpoint.h5")
    autoencoder.parallel = DeterministicParallel(threads: threads)

    // 3. PCA and t-SNE of the training set's latent codes.
    let embeddingFolder = out + "/embedding"
    if !isDone("embedding") {
      log("== embedding: PCA of \(runData.train.count) training codes, t-SNE of \(min(preset.tsnePoints, runData.train.count))")
      let codes = try latentCodes(autoencoder, runData.train.inputs)
      let labels = runData.train.labels.map { Int($0) }
      let pca = try PCA(fitting: codes, componentCount: 2)
      let z = try pca.transform(codes)
      try writeEmbedding(
        name: "pca", points: (0..<z.shape[0]).map { (Double(z.scalars[2 * $0]), Double(z.scalars[2 * $0 + 1])) }, labels: labels,
        title: "PCA of the latent codes (\(z.shape[0]) training images)",
        axes: (String(format: "PC 1 (%.1f%%)", pca.explainedVarianceRatio[0] * 100), String(format: "PC 2 (%.1f%%)", pca.explainedVarianceRatio[1] * 100)),
        folder: embeddingFolder)
      var g = SeededGenerator(seed: seed, streamName: "tsne/subset")
      let chosen = Array(g.permutation(codes.shape[0]).prefix(preset.tsnePoints)).sorted()
      let latent = codes.shape[1]
      let subset = Tensor(shape: [chosen.count, latent], scalars: chosen.flatMap { codes.scalars[($0 * latent)..<(($0 + 1) * latent)] })
      var options = TSNEOptions()
      options.iterations = preset.tsneIterations
      options.perplexity = min(30, Double(chosen.count - 1) / 3)
      options.threads = threads
      let result = try TSNE.embed(subset, options: options)
      let tsneLabels = chosen.map { labels[$0] }
      try writeEmbedding(
        name: "tsne", points: (0..<chosen.count).map { (Double(result.embedding.scalars[2 * $0]), Double(result.embedding.scalars[2 * $0 + 1])) },
        labels: tsneLabels, title: "t-SNE of the latent codes (\(chosen.count) training images)", axes: ("t-SNE 1", "t-SNE 2"),
        folder: embeddingFolder)
      let accuracy = try TSNE.knnAccuracy(result.embedding, labels: tsneLabels.map { Int32($0) }, k: 10)
      try markDone("embedding", [
        "pca_variance_ratio": pca.explainedVarianceRatio.map { String(format: "%.4f", $0) }.joined(separator: ","),
        "tsne_kl": String(format: "%.4f", result.klDivergence), "tsne_knn10_accuracy": String(format: "%.4f", accuracy),
        "tsne_points": "\(chosen.count)",
      ])
    }

    // 4. Generated images: a grid from the codes' box, and an interpolation.
    let generatedFolder = out + "/generated"
    if !isDone("generated") {
      log("== generated images")
      var g = SeededGenerator(seed: seed, streamName: "noise/generate")
      let grid = try Generation.grid(autoencoder, spanning: runData.train.inputs, count: 64, generator: &g)
      try FigureFile.write(try ImageGrid.render(imageList(grid), side: 28, columns: 8).encoded(), to: generatedFolder + "/grid.png")
      let line = try Generation.interpolation(autoencoder, between: runData.test.subset([0, 1]).inputs, steps: 10)
      try FigureFile.write(
        try ImageGrid.render(line, side: 28, columns: line.count).encoded(), to: generatedFolder + "/interpolation.png")
      try markDone("generated", [:])
    }

    // 5. Classifier on the frozen encoder.
    if !isDone("classifier") {
      log("== classifier: \(preset.classifierEpochs) epochs on the frozen encoder")
      let run = TrainingRun(
        kind: .classifier, config: aeCheckpoint.config,
        record: TrainingRecord(
          epochs: preset.classifierEpochs, batchSize: 250, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-3, weightDecay: 1e-5),
          validationFraction: 0, subset: preset.subset, loss: "cross-entropy, mean over the batch",
          encoderCheckpoint: aeFolder + "/checkpoint.h5"),
        seed: seed, threads: threads, data: data, out: out + "/classifier")
      try run.run()
      try markDone("classifier", [:])
    }

    // 6. VAE with the best configuration.
    if !isDone("vae") {
      log("== vae: \(preset.vaeEpochs) epochs, batch \(preset.vaeBatchSize)")
      let settings = VAELossSettings()
      let run = TrainingRun(
        kind: .vae, config: aeCheckpoint.config,
        record: TrainingRecord(
          epochs: preset.vaeEpochs, batchSize: preset.vaeBatchSize, optimizer: OptimizerSettings(kind: "adam", learningRate: 1e-3),
          validationFraction: 0, subset: preset.subset, loss: settings.normalisation, vae: settings),
        seed: seed, threads: threads, data: data, out: out + "/vae")
      try run.run()
      try markDone("vae", [:])
    }

    // 7. The report (always rewritten: it only reads the stages' outputs).
    let report = StudyReport(folder: out, preset: preset, seed: seed, trials: trials, best: best, checksums: runData.checksums)
    let path = try report.write(seconds: ProgressReporter.monotonicSeconds() - started)
    log("report: \(path)")
    return path
  }

  func writeEmbedding(
    name: String, points: [(Double, Double)], labels: [Int], title: String, axes: (String, String), folder: String
  ) throws {
    var csv = "x,y,label\n"
    for (p, l) in zip(points, labels) { csv += "\(p.0),\(p.1),\(l)\n" }
    try FigureFile.write(csv, to: "\(folder)/\(name).csv")
    try FigureFile.write(
      SVGPlot.scatter(points: points, labels: labels, classNames: FashionMNIST.classNames, title: title, xLabel: axes.0, yLabel: axes.1),
      to: "\(folder)/\(name).svg")
    try FigureFile.write(
      try ScatterRaster.render(
        points: points, labels: labels, classNames: FashionMNIST.classNames, title: title, xLabel: axes.0,
        yLabel: axes.1
      ).encoded(),
      to: "\(folder)/\(name).png")
  }
}
