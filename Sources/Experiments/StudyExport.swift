import Foundation
import Studies

/// A search study as optuna's JournalStorage (optuna 5): `optuna.load_study` and
/// optuna-dashboard read it.
///
/// Each trial carries its eight parameters with their distributions (channels and hidden width
/// as `IntDistribution`, latent size and optimizer as `CategoricalDistribution`, learning rate
/// and L2 as `FloatDistribution` with the space's scale), its mean validation MSE as the value,
/// each finite fold MSE as the intermediate value of step = fold index, and `status` as a user
/// attribute. Done trials whose training diverged, and trials failed after their last attempt,
/// are FAIL. The study's user attributes are its seed, software, space and protocol. Nothing
/// that depends on who ran a trial or when (workers, attempts, seconds) is written, so the
/// same study, run by any number of workers, always exports the same bytes.
public enum StudyExport {
  /// The journal's text for `rows` of the study `definition`.
  public static func optunaJournal(definition: StudyDefinition, settings: StudySettings, rows: [TrialRow]) throws -> String {
    let space = settings.space
    let results = try Study.results(rows, settings: settings)
    let trials = zip(rows, results).map { row, result -> JournalTrial in
      let config = result.parameters.config
      let optimizer = result.parameters.optimizer
      let learningRate = OptunaDistribution.float(
        low: space.learningRate.lowerBound, high: space.learningRate.upperBound, log: space.learningRateScale == .log)
      let weightDecay = OptunaDistribution.float(
        low: space.weightDecay.lowerBound, high: space.weightDecay.upperBound, log: space.weightDecayScale == .log)
      let parameters: [(String, OptunaDistribution, Double)] = [
        ("conv1_channels", .int(low: space.conv1Channels.lowerBound, high: space.conv1Channels.upperBound), Double(config.channels[0])),
        ("conv2_channels", .int(low: space.conv2Channels.lowerBound, high: space.conv2Channels.upperBound), Double(config.channels[1])),
        ("conv3_channels", .int(low: space.conv3Channels.lowerBound, high: space.conv3Channels.upperBound), Double(config.channels[2])),
        ("hidden", .int(low: space.hidden.lowerBound, high: space.hidden.upperBound), Double(config.hidden)),
        ("latent", .categorical(space.latent.map { .int($0) }), Double(space.latent.firstIndex(of: config.latent) ?? 0)),
        ("optimizer", .categorical(space.optimizers.map { .string($0) }), Double(space.optimizers.firstIndex(of: optimizer.kind) ?? 0)),
        ("learning_rate", learningRate, optimizer.learningRate),
        ("weight_decay", weightDecay, optimizer.weightDecay),
      ]
      let state: JournalTrial.State
      switch row.state {
      case .done: state = result.meanMSE.isFinite ? .complete : .fail
      case .failed: state = .fail
      case .running: state = .running
      case .waiting: state = .waiting
      }
      let intermediate = result.foldMSE.enumerated().filter { $0.element.isFinite }.map { ($0.offset, $0.element) }
      return JournalTrial(
        state: state, value: state == .complete ? result.meanMSE : nil, parameters: parameters, intermediate: intermediate,
        userAttributes: [("status", .string(result.status))])
    }
    let attributes: [(String, JournalValue)] = [
      ("seed", .int(Int(settings.seed))), ("software", .string(settings.software)), ("space", .string(space.name)),
      ("trials", .int(settings.trials)), ("folds", .int(settings.folds)), ("epochs", .int(settings.epochs)),
      ("batch_size", .int(settings.batchSize)), ("subset", settings.subset.map { .int($0) } ?? .null),
      ("objective", .string("mean validation MSE over the folds (lower is better)")),
    ]
    return OptunaJournal.text(study: definition.name, userAttributes: attributes, trials: trials)
  }
}
