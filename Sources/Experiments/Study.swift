import Datasets
import Foundation
import Models
import NN
import Studies
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

/// A random search with k-fold cross-validation, its trials in a study storage
/// (`Studies`): the embedded file in the run folder by default, or PostgreSQL shared by many
/// machines.
///
/// Trial i's parameters, folds and initial weights come from (seed, i) alone, so the finished
/// study is the same whichever workers ran which trials, in whatever order. A study is joined
/// only with the same settings; other settings are refused and nothing is touched. The run
/// folder, when there is one, also gets `study.json` (the settings) and `study.jsonl` (the
/// finished trials, rewritten whole after each), for people and for tools that read files.
public struct Study {
  public var settings: StudySettings
  /// Where the trials live.
  public var location: StorageLocation
  /// The study's name in its storage.
  public var name: String
  /// The run folder for `study.json` and `study.jsonl`, if any.
  public var folder: String?
  /// Threads this process gives the study: that many workers of one thread each, each
  /// training its own trial (independent trainings use two cores better than one training
  /// on two: seed 0's search 137–144 s → 99–103 s on an Intel Xeon), at most one per trial.
  public var threads: Int
  /// Lease and attempts for a study this run creates (a joined study keeps its own).
  public var leaseSeconds = StudyEngineSettings.defaultLeaseSeconds
  public var maxAttempts = StudyEngineSettings.defaultMaxAttempts

  /// A study in the embedded storage of `folder`, named `search`.
  public init(settings: StudySettings, folder: String, threads: Int) {
    self.init(settings: settings, location: .embedded(folder: folder), name: Study.defaultName, folder: folder, threads: threads)
  }

  public init(settings: StudySettings, location: StorageLocation, name: String, folder: String?, threads: Int) {
    self.settings = settings
    self.location = location
    self.name = name
    self.folder = folder
    self.threads = threads
  }

  /// The name of a study in a run folder's own storage.
  public static let defaultName = "search"

  /// The default name of a study in a shared storage: `PRESET-seedN`.
  public static func sharedName(preset: Preset, seed: UInt64) -> String { "\(preset.name)-seed\(seed)" }

  var settingsPath: String? { folder.map { $0 + "/study.json" } }
  var trialsPath: String? { folder.map { $0 + "/study.jsonl" } }

  /// The settings as the storage keeps them (sorted keys: equal settings, equal text).
  public static func settingsText(_ settings: StudySettings) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(settings), as: UTF8.self)
  }

  /// Reads settings as the storage keeps them.
  /// - Throws: `ExperimentError.invalid` naming the study when they are not a search's settings.
  public static func settings(from definition: StudyDefinition, in location: StorageLocation) throws -> StudySettings {
    do {
      return try JSONDecoder().decode(StudySettings.self, from: Data(definition.settings.utf8))
    } catch {
      throw ExperimentError.invalid("\(location): study \"\(definition.name)\" does not hold a search's settings (\(error))")
    }
  }

  /// The study's definition in its storage.
  public func definition() throws -> StudyDefinition {
    StudyDefinition(
      name: name, settings: try Study.settingsText(settings), trialCount: settings.trials, leaseSeconds: leaseSeconds,
      maxAttempts: maxAttempts)
  }

  /// The trials finished so far (empty for a study not yet created).
  public func finishedTrials() throws -> [TrialResult] {
    if case .embedded(let f) = location, !FileManager.default.fileExists(atPath: StorageLocation.embeddedFile(in: f)) { return [] }
    let storage = try StudyStorages.open(location)
    do { _ = try storage.definition(of: name) } catch StudyError.unknownStudy(_) { return [] }
    return try Study.results(try storage.trials(of: name), settings: settings).filter { $0.status != "not run" }
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
    // The last piece is empty after a complete record; anything else there is not a record.
    lines.removeLast()
    return try lines.enumerated().map { number, line in
      do {
        return try JSONDecoder().decode(TrialResult.self, from: Data(line.utf8))
      } catch {
        throw ExperimentError.invalid("\(trialsPath): line \(number + 1) is not a trial record (\(error))")
      }
    }
  }

  /// Checks the settings, then creates the study in its storage or joins it.
  /// - Throws: `ExperimentError.invalid` when the storage holds the study with other settings,
  ///   saying which; nothing is changed then.
  @discardableResult
  public func prepare(log: @escaping (String) -> Void = { _ in }) throws -> JoinResult {
    try settings.space.validate()
    guard settings.trials >= 1, settings.folds >= 2, settings.epochs >= 1, settings.batchSize >= 1 else {
      throw ExperimentError.invalid("study: trials, epochs and batch size must be positive and folds at least 2")
    }
    guard leaseSeconds > 0, maxAttempts >= 1 else { throw ExperimentError.invalid("study: the lease must be positive and attempts at least 1") }
    if let settingsPath, FileManager.default.fileExists(atPath: settingsPath) {
      let saved: StudySettings
      do { saved = try Study.readSettings(settingsPath) } catch { throw ExperimentError.invalid("\(error); nothing was changed") }
      guard saved == settings else { throw Study.refusal(saved, where: settingsPath) }
    }
    let logger = UncheckedLog(log)
    let storage = try StudyStorages.open(location, creating: true, log: { logger.log($0) })
    let joined: JoinResult
    do {
      joined = try storage.createOrJoin(definition())
    } catch StudyError.settingsDiffer(let message) {
      guard let saved = try? Study.settings(from: storage.definition(of: name), in: location) else { throw ExperimentError.invalid(message) }
      throw Study.refusal(saved, where: "\(location): study \"\(name)\"")
    }
    if let folder, let settingsPath, !FileManager.default.fileExists(atPath: settingsPath) {
      try prepareRunFolder(folder)
      try writeJSON(settings, to: settingsPath)
    }
    return joined
  }

  static func refusal(_ saved: StudySettings, where place: String) -> ExperimentError {
    ExperimentError.invalid(
      "\(place): this holds a study with other settings (seed \(saved.seed), software \(saved.software),"
        + " \(saved.trials) trials); use another --out or --study, or the same settings to resume; nothing was changed")
  }

  /// Creates or joins the study, works on it with `threads` workers of one thread each until
  /// every trial is done or failed (waiting for trials other workers hold), and returns all
  /// trials in trial order. Every worker logs its trials' results; one worker's training draws
  /// a progress bar. The first error a worker meets is rethrown once all have stopped.
  ///
  /// `beside`: work that needs nothing from the search (the reproduction's published arm),
  /// called with the number of threads it may use. With two threads or more it runs first on
  /// one lane while the other lanes search, one worker of one thread each, and that lane then
  /// joins the search as a worker; its bars are the ones drawn, and no search worker draws one.
  /// Its lane has one thread, or the threads beyond one per trial when there are more. So every
  /// thread stays busy with work of few threads, which uses the cores better than one training
  /// on many (see `threads`). With one thread it runs, on it, before the search.
  ///
  /// `whileWaiting`: work for a thread that would otherwise wait, called (with that worker's
  /// threads) once, by the first worker that finds nothing left to claim while trials are
  /// still held, here or by other processes; that worker then goes back to the search (worker
  /// 0 waits out the rest). The reproduction trains the best trial so far there.
  ///
  /// `afterSearch`: work for a worker that sees every trial final while another is still in
  /// its `whileWaiting` work, called with its threads and a question that is true as long as
  /// that work runs (to stop at a safe point once it is false); with it, every worker stays
  /// until every trial is final. The reproduction begins the winner's VAE there.
  public func run(
    data: LabeledTensor, beside: ((_ threads: Int) throws -> Void)? = nil,
    whileWaiting: ((_ threads: Int) throws -> Void)? = nil,
    afterSearch: ((_ threads: Int, _ othersWaiting: @escaping @Sendable () -> Bool) throws -> Void)? = nil,
    log: @escaping (String) -> Void = { _ in }
  ) throws -> [TrialResult] {
    let logger = UncheckedLog(log)
    let joined = try prepare(log: log)
    let count = max(1, min(threads, settings.trials + (beside == nil ? 0 : 1)))
    // The lane that runs `beside` (when it has one of its own) is the last.
    let besideLane = beside != nil && count > 1 ? count - 1 : nil
    let besideThreads = max(1, threads - (count - 1))
    if let beside, besideLane == nil { try beside(threads) }
    let workers = try (0..<count).map { i in
      try StudyWorker(
        location: location, study: name, name: count == 1 ? StudyWorker.defaultName : "\(StudyWorker.defaultName)/\(i + 1)",
        log: { logger.log($0) })
    }
    if joined == .joined {
      let done = try workers[0].trials().filter { $0.state.isFinal }.count
      if done > 0 { log("resuming the study: \(done) of \(settings.trials) trials already finished") }
    }
    let runners = try (0..<count).map { i in
      let runner = try StudyTrialRunner(settings: settings, data: data, threads: count == 1 ? threads : 1)
      runner.showsProgress = i == (besideLane ?? 0)
      return runner
    }
    let trialLog = NSLock()
    let waitingWork = WaitingWork()
    // Worker 0 stays until every trial is final (waiting out other processes' claims); the
    // others stop when nothing is left to claim, after the waiting work if theirs, unless
    // there is work for after the search.
    let work = { (i: Int) throws in
      let execute = { (claim: TrialClaim) in try runners[i].outcome(of: claim.number, log: logger.log) }
      let recorded = { (_: Int) in
        trialLog.lock()
        defer { trialLog.unlock() }
        try? self.writeTrialLog(workers[i].trials())
      }
      if i == besideLane, let beside { try beside(besideThreads) }
      var report = StudyWorker.Report()
      let found = try workers[i].runWhileClaimable(execute, recorded: recorded, into: &report)
      if case .wait = found, let whileWaiting, waitingWork.take() {
        do {
          defer { waitingWork.end() }
          try whileWaiting(count == 1 ? threads : 1)
        }
        // A lease that expired meanwhile (its worker gone) may be claimable again.
        if i != 0 { _ = try workers[i].runWhileClaimable(execute, recorded: recorded, into: &report) }
      }
      if i == 0 || afterSearch != nil { _ = try workers[i].runUntilFinished(execute, recorded: recorded) }
      if let afterSearch, waitingWork.isRunning {
        try afterSearch(count == 1 ? threads : 1) { waitingWork.isRunning }
      }
    }
    if count == 1 {
      try work(0)
    } else {
      try WorkerThreads.run(count, work)
    }
    let rows = try workers[0].trials()
    try writeTrialLog(rows)
    return try Study.results(rows, settings: settings)
  }

  /// A trial's result as the storage and `study.jsonl` keep it: JSON, keys sorted, so that
  /// the same result is the same text on every run.
  static func recordText(_ result: TrialResult) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(result), as: UTF8.self)
  }

  /// Rewrites `study.jsonl` whole from the storage's finished trials.
  func writeTrialLog(_ rows: [TrialRow]) throws {
    guard let trialsPath else { return }
    let lines = try Study.results(rows, settings: settings).filter { $0.status != "not run" }.map { result in
      try Study.recordText(result) + "\n"
    }
    do { try DurableFile.write(lines.joined(), to: trialsPath) } catch {
      throw TrainingError.cannotWrite(path: trialsPath, reason: "\(error)")
    }
  }

  /// The trials as results: done ones from their records, failed ones with their reason and
  /// an infinite objective, the rest as "not run".
  public static func results(_ rows: [TrialRow], settings: StudySettings) throws -> [TrialResult] {
    let parameters = settings.space.sample(count: settings.trials, seed: settings.seed)
    return try rows.map { row in
      if row.state == .done, let record = row.record {
        do { return try JSONDecoder().decode(TrialResult.self, from: Data(record.utf8)) } catch {
          throw ExperimentError.invalid("trial \(row.number + 1): its stored record is not a trial result (\(error))")
        }
      }
      guard row.number < parameters.count else { throw ExperimentError.invalid("trial \(row.number + 1) is beyond the study's \(settings.trials)") }
      return TrialResult(
        trial: row.number, parameters: parameters[row.number], foldMSE: [], meanMSE: .infinity, seconds: 0,
        status: row.state == .failed ? "failed: \(row.reason ?? "no reason recorded")" : "not run")
    }
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

/// The `whileWaiting` work of `Study.run`: taken by one worker only, and whether it still runs.
private final class WaitingWork: @unchecked Sendable {
  private let lock = NSLock()
  private var taken = false
  private var running = false

  /// True for the first caller only, on any thread; the work then runs until `end`.
  func take() -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if taken { return false }
    (taken, running) = (true, true)
    return true
  }

  func end() {
    lock.lock()
    defer { lock.unlock() }
    running = false
  }

  var isRunning: Bool {
    lock.lock()
    defer { lock.unlock() }
    return running
  }
}
