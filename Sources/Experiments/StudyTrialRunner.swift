import Datasets
import Foundation
import Models
import Studies
import TensorCore

/// Runs one trial of a search: the autoencoder of trial i's parameters, trained and scored on
/// each fold; everything drawn from (study seed, trial number) alone.
public final class StudyTrialRunner {
  public let settings: StudySettings
  let data: LabeledTensor
  let threads: Int
  let parameters: [TrialParameters]
  let folds: KFoldSplit
  /// Whether training draws its progress bar (one of several concurrent runners does).
  public var showsProgress = true

  public init(settings: StudySettings, data: LabeledTensor, threads: Int) throws {
    self.settings = settings
    self.data = data
    self.threads = threads
    parameters = settings.space.sample(count: settings.trials, seed: settings.seed)
    var shuffle = SeededGenerator(seed: settings.seed, streamName: "shuffle/kfold")
    folds = try KFoldSplit(stratifiedBy: data.labels, folds: settings.folds, generator: &shuffle)
  }

  /// The training images of a study's settings (`dataFolder` as `--data`).
  public static func data(for settings: StudySettings, dataFolder: String?) throws -> LabeledTensor {
    try RunData.load(data: dataFolder, seed: settings.seed, subset: settings.subset, validationFraction: 0).train
  }

  /// Trial `trial` (0-based), trained fold by fold; a diverged fold ends it with an infinite objective.
  public func run(_ trial: Int, log: (String) -> Void = { _ in }) throws -> TrialResult {
    let p = parameters[trial]
    let start = ProgressReporter.monotonicSeconds()
    var scores: [Double] = []
    var status = "ok"
    for fold in 0..<settings.folds {
      let (trainIndices, validationIndices) = try folds.split(fold)
      let model = try ModelFactory.make(.autoencoder, config: p.config, seed: settings.seed, initializationStream: "init/trial\(trial)")
      model.parallel = DeterministicParallel(threads: threads)
      let options = TrainingOptions(epochs: settings.epochs, batchSize: settings.batchSize, optimizer: p.optimizer, seed: settings.seed)
      let trainer = Trainer(
        options: options, showsProgress: showsProgress, label: "trial \(trial + 1)/\(settings.trials) fold \(fold + 1)/\(settings.folds)")
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
    log("trial \(trial + 1): mean validation MSE \(mean.isFinite ? format(mean) : "n/a") (\(status))")
    return TrialResult(
      trial: trial, parameters: p, foldMSE: scores, meanMSE: mean.isFinite ? mean : .infinity,
      seconds: ProgressReporter.monotonicSeconds() - start, status: status)
  }

  /// Trial `trial` as the study engine records it: its mean validation MSE and its record.
  public func outcome(of trial: Int, log: (String) -> Void = { _ in }) throws -> TrialOutcome {
    let result = try run(trial, log: log)
    return TrialOutcome(objective: result.meanMSE, record: try Study.recordText(result))
  }
}

/// A log closure carried across threads (the engine's lease thread logs too); the closures the
/// tool passes print, which is safe from any thread.
final class UncheckedLog: @unchecked Sendable {
  let log: (String) -> Void
  init(_ log: @escaping (String) -> Void) { self.log = log }
}
