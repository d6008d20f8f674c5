import Datasets
import Foundation
import Models
import NN
import TensorCore

/// The settings that define a study: a resumed study must have the same.
public struct StudySettings: Codable, Equatable, Sendable {
  public var seed: UInt64
  public var trials: Int
  public var folds: Int
  public var epochs: Int
  public var batchSize: Int
  public var subset: Int?
  public var space: SearchSpace
  public var software: String

  public init(
    seed: UInt64, trials: Int, folds: Int, epochs: Int, batchSize: Int, subset: Int?, space: SearchSpace, software: String
  ) {
    self.seed = seed
    self.trials = trials
    self.folds = folds
    self.epochs = epochs
    self.batchSize = batchSize
    self.subset = subset
    self.space = space
    self.software = software
  }
}

/// A random search with k-fold cross-validation, persisted trial by trial.
///
/// `study.json` holds the settings, `study.jsonl` one line per finished trial. Running a study
/// whose folder already holds finished trials skips them (the parameters of trial i do not
/// depend on the others); a folder from other settings is refused, and nothing in it is
/// touched.
public struct Study {
  public var settings: StudySettings
  public var folder: String
  public var threads: Int

  public init(settings: StudySettings, folder: String, threads: Int) {
    self.settings = settings
    self.folder = folder
    self.threads = threads
  }

  var settingsPath: String { folder + "/study.json" }
  var trialsPath: String { folder + "/study.jsonl" }

  /// The trials finished so far (empty for a new study).
  public func finishedTrials() throws -> [TrialResult] {
    guard FileManager.default.fileExists(atPath: trialsPath) else { return [] }
    return try Study.readTrials(trialsPath)
  }

  /// Reads a `study.json`.
  /// - Throws: `ExperimentError.invalid` naming the file when it is not a study's settings.
  public static func readSettings(_ path: String) throws -> StudySettings {
    do {
      return try JSONDecoder().decode(StudySettings.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw ExperimentError.invalid("\(path): not a study settings file (\(error))")
    }
  }

  /// Reads a `study.jsonl`: one trial record per complete line.
  /// - Throws: `ExperimentError.invalid` naming the file and line that is not a trial record.
  public static func readTrials(_ trialsPath: String) throws -> [TrialResult] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: trialsPath)) } catch {
      throw ExperimentError.invalid("\(trialsPath): cannot read: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw ExperimentError.invalid("\(trialsPath): not UTF-8 text") }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    // The last piece is empty after a complete record; anything else there is a record a
    // crash cut short, which the writer drops before the next trial is appended.
    lines.removeLast()
    return try lines.enumerated().map { number, line in
      do {
        return try JSONDecoder().decode(TrialResult.self, from: Data(line.utf8))
      } catch {
        throw ExperimentError.invalid("\(trialsPath): line \(number + 1) is not a trial record (\(error))")
      }
    }
  }

  /// Checks the folder's settings against these (or records them in a new folder).
  func prepare() throws {
    try settings.space.validate()
    guard settings.trials >= 1, settings.folds >= 2, settings.epochs >= 1, settings.batchSize >= 1 else {
      throw ExperimentError.invalid("study: trials, epochs and batch size must be positive and folds at least 2")
    }
    if FileManager.default.fileExists(atPath: settingsPath) {
      let saved: StudySettings
      do { saved = try Study.readSettings(settingsPath) } catch { throw ExperimentError.invalid("\(error); nothing was changed") }
      guard saved == settings else {
        throw ExperimentError.invalid(
          "\(settingsPath): this folder holds a study with other settings (seed \(saved.seed), software \(saved.software),"
            + " \(saved.trials) trials); use another --out, or the same settings to resume; nothing was changed")
      }
    } else {
      try prepareRunFolder(folder)
      try writeJSON(settings, to: settingsPath)
    }
  }

  /// Runs the trials not yet finished and returns all of them, in trial order.
  public func run(data: LabeledTensor, log: (String) -> Void = { _ in }) throws -> [TrialResult] {
    try prepare()
    var results = try finishedTrials()
    let done = Set(results.map(\.trial))
    let parameters = settings.space.sample(count: settings.trials, seed: settings.seed)
    var shuffle = SeededGenerator(seed: settings.seed, streamName: "shuffle/kfold")
    let folds = try KFoldSplit(stratifiedBy: data.labels, folds: settings.folds, generator: &shuffle)
    let writer = try JSONLinesWriter(path: trialsPath, append: true)
    if !done.isEmpty { log("resuming the study: \(done.count) of \(settings.trials) trials already finished") }
    for (trial, p) in parameters.enumerated() where !done.contains(trial) {
      let start = ProgressReporter.monotonicSeconds()
      var scores: [Double] = []
      var status = "ok"
      for fold in 0..<settings.folds {
        let (trainIndices, validationIndices) = try folds.split(fold)
        let model = try ModelFactory.make(
          .autoencoder, config: p.config, seed: settings.seed, initializationStream: "init/trial\(trial)")
        model.parallel = DeterministicParallel(threads: threads)
        let options = TrainingOptions(epochs: settings.epochs, batchSize: settings.batchSize, optimizer: p.optimizer, seed: settings.seed)
        let trainer = Trainer(options: options, label: "trial \(trial + 1)/\(settings.trials) fold \(fold + 1)/\(settings.folds)")
        do {
          _ = try trainer.fit(model, train: data.subset(trainIndices), validation: nil)
          scores.append(try Evaluation.run(model, on: data.subset(validationIndices)).loss)
        } catch let error as TrainingError {
          status = "fold \(fold + 1): \(error)"
          scores.append(.infinity)
          break
        }
      }
      let mean = scores.count == settings.folds ? scores.reduce(0, +) / Double(scores.count) : .infinity
      let result = TrialResult(
        trial: trial, parameters: p, foldMSE: scores, meanMSE: mean.isFinite ? mean : .infinity,
        seconds: ProgressReporter.monotonicSeconds() - start, status: status)
      try writer.append(result)
      results.append(result)
      log("trial \(trial + 1): mean validation MSE \(mean.isFinite ? format(mean) : "n/a") (\(status))")
    }
    return results.sorted { $0.trial < $1.trial }
  }

  /// The best finished trial (lowest mean validation MSE).
  public static func best(_ results: [TrialResult]) -> TrialResult? {
    results.filter { $0.meanMSE.isFinite }.min { $0.meanMSE != $1.meanMSE ? $0.meanMSE < $1.meanMSE : $0.trial < $1.trial }
  }

  /// The trial table as Markdown.
  public static func table(_ results: [TrialResult]) -> String {
    var lines = [
      "| trial | N_C1 | N_C2 | N_C3 | N_H1 | L | optimizer | lr | L2 | fold MSE | mean MSE | s |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    let best = Study.best(results)?.trial
    for r in results {
      let c = r.parameters.config
      let o = r.parameters.optimizer
      let folds = r.foldMSE.map { $0.isFinite ? String(format: "%.4f", $0) : "diverged" }.joined(separator: ", ")
      let mean = r.meanMSE.isFinite ? String(format: "%.4f", r.meanMSE) : "–"
      lines.append(
        "| \(r.trial + 1)\(r.trial == best ? " (best)" : "") | \(c.channels[0]) | \(c.channels[1]) | \(c.channels[2]) | \(c.hidden)"
          + " | \(c.latent) | \(o.kind) | \(String(format: "%.2e", o.learningRate)) | \(String(format: "%.2e", o.weightDecay))"
          + " | \(folds) | \(mean) | \(String(format: "%.0f", r.seconds)) |")
    }
    return lines.joined(separator: "\n")
  }
}
