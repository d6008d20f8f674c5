import Foundation
import TensorCore

/// Claims a study's trials one at a time and runs them, renewing each claim's lease while it runs.
///
/// What a trial computes must depend on the study and the trial number alone, never on which
/// worker runs it or when; then any number of workers, finishing in any order, leave the same
/// study behind.
public final class StudyWorker {
  public let location: StorageLocation
  public let study: String
  /// How this worker appears in the trial table (`host/pid` by default).
  public let name: String
  private let log: @Sendable (String) -> Void
  private let storage: any StudyStorage
  private let renewals: any StudyStorage
  /// The study's definition, read when the worker joined.
  public let definition: StudyDefinition

  /// `host/pid`: unique among live workers.
  public static var defaultName: String { "\(ProcessInfo.processInfo.hostName)/\(getpid())" }

  /// Joins the study `study` at `location` (two connections for PostgreSQL: claims and renewals).
  /// - Throws: `StudyError` when the storage cannot be opened or holds no such study.
  public init(location: StorageLocation, study: String, name: String = StudyWorker.defaultName, log: @escaping @Sendable (String) -> Void) throws {
    self.location = location
    self.study = study
    self.name = name
    self.log = log
    storage = try StudyStorages.open(location, log: log)
    renewals = try StudyStorages.open(location, log: log)
    definition = try storage.definition(of: study)
  }

  /// What a worker did.
  public struct Report: Equatable, Sendable {
    /// Trials whose results this worker recorded.
    public var completed: [Int] = []
    /// Trials whose results came too late: another attempt held them.
    public var rejected: [Int] = []

    public init() {}
  }

  /// Runs trials until every trial of the study is done or failed, waiting while other
  /// workers hold the last ones (their leases may yet expire, and then this worker runs them).
  /// An error from `execute` gives the trial back (counted as a failed attempt) and is rethrown;
  /// an interruption gives it back uncounted. `recorded` hears of each result this worker recorded.
  public func runUntilFinished(
    _ execute: (TrialClaim) throws -> TrialOutcome, recorded: (Int) -> Void = { _ in }
  ) throws -> Report {
    var report = Report()
    var lastWait: Int?
    while true {
      switch try runWhileClaimable(execute, recorded: recorded, into: &report) {
      case .wait(let running):
        if lastWait != running { log("waiting for \(running) trial(s) held by other workers") }
        lastWait = running
        Thread.sleep(forTimeInterval: StudyEngineSettings.pollSeconds)
      default:
        return report
      }
    }
  }

  /// Runs trials while there are trials to claim; returns `.finished` when every trial is done
  /// or failed, `.wait` when the rest are held by other workers (for a worker that serves
  /// several studies).
  public func runWhileClaimable(
    _ execute: (TrialClaim) throws -> TrialOutcome, recorded: (Int) -> Void = { _ in }, into report: inout Report
  ) throws -> ClaimResult {
    while true {
      try Interruption.check()
      let answer = try storage.claim(study: study, worker: name, number: nil)
      guard case .claimed(let claim) = answer else { return answer }
      try run(claim, execute, into: &report)
      if report.completed.last == claim.number { recorded(claim.number) }
    }
  }

  /// The names of the studies at `location` that `pattern` names: the name itself, or with a
  /// final `*`, every name that starts with what comes before it.
  public static func studies(matching pattern: String, at location: StorageLocation) throws -> [String] {
    let names = try StudyStorages.open(location).studies()
    guard pattern.hasSuffix("*") else { return names.contains(pattern) ? [pattern] : [] }
    return names.filter { $0.hasPrefix(pattern.dropLast()) }
  }

  /// What `runTrial` found.
  public enum SingleTrial: Equatable, Sendable {
    /// This worker ran the trial; `accepted` is false when its result came too late.
    case ran(accepted: Bool)
    /// The trial was already done or failed: nothing ran.
    case alreadyFinal(TrialState)
    /// Another worker holds the trial under a live lease: nothing ran.
    case heldByAnother
  }

  /// Runs trial `number` (0-based) alone, as a job array's task does.
  public func runTrial(number: Int, _ execute: (TrialClaim) throws -> TrialOutcome) throws -> SingleTrial {
    guard number >= 0, number < definition.trialCount else {
      throw StudyError.invalid("study \"\(study)\" has trials 1 to \(definition.trialCount); there is no trial \(number + 1)")
    }
    switch try storage.claim(study: study, worker: name, number: number) {
    case .claimed(let claim):
      var report = Report()
      try run(claim, execute, into: &report)
      return .ran(accepted: report.completed == [number])
    case .wait:
      return .heldByAnother
    case .finished:
      let state = try storage.trials(of: study).first { $0.number == number }?.state ?? .done
      return .alreadyFinal(state)
    }
  }

  /// Every trial of the study as the storage holds it now.
  public func trials() throws -> [TrialRow] { try storage.trials(of: study) }

  private func run(_ claim: TrialClaim, _ execute: (TrialClaim) throws -> TrialOutcome, into report: inout Report) throws {
    log("trial \(claim.number + 1): claimed by \(name), attempt \(claim.attempt)")
    let keeper = LeaseKeeper(storage: renewals, claim: claim, leaseSeconds: definition.leaseSeconds, log: log)
    keeper.start()
    let outcome: TrialOutcome
    do {
      outcome = try execute(claim)
      keeper.stop()
    } catch {
      keeper.stop()
      let interrupted = error is Interrupted
      try? storage.release(claim, reason: "attempt \(claim.attempt) by \(name): \(error)", countsAsFailure: !interrupted)
      throw error
    }
    if try storage.complete(claim, outcome: outcome) {
      report.completed.append(claim.number)
    } else {
      report.rejected.append(claim.number)
      let now = try storage.trials(of: study).first { $0.number == claim.number }
      log(
        "trial \(claim.number + 1) attempt \(claim.attempt): result rejected, the lease was lost"
          + (now.map { " (the trial is now \($0.state.rawValue), attempt \($0.attempt) by \($0.worker ?? "nobody"))" } ?? "")
          + "; the study is unchanged")
    }
  }
}
