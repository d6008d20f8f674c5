/// Where a trial stands.
public enum TrialState: String, Sendable, Codable, CaseIterable {
  /// Not started, or given back (an error, an interruption) to be run again.
  case waiting
  /// Claimed by a worker whose lease runs until `leaseUntil`.
  case running
  /// Finished: its result is recorded.
  case done
  /// Given up after the study's maximum number of attempts; `reason` says why.
  case failed

  /// Done or failed: nothing more will happen to it.
  public var isFinal: Bool { self == .done || self == .failed }
}

/// A study's definition: its settings (as the caller's canonical JSON) and the engine's own.
public struct StudyDefinition: Equatable, Sendable {
  /// The study's name, unique in its storage.
  public var name: String
  /// The caller's settings, canonical JSON: a study is joined only with the same text.
  public var settings: String
  /// Trials numbered 0..<trialCount.
  public var trialCount: Int
  /// How long a claim holds without renewal, in seconds (the database's clock).
  public var leaseSeconds: Double
  /// Attempts a trial gets before it is failed.
  public var maxAttempts: Int

  public init(name: String, settings: String, trialCount: Int, leaseSeconds: Double, maxAttempts: Int) {
    self.name = name
    self.settings = settings
    self.trialCount = trialCount
    self.leaseSeconds = leaseSeconds
    self.maxAttempts = maxAttempts
  }
}

/// One worker's hold on one trial: `attempt` is the fencing token a result must carry.
public struct TrialClaim: Equatable, Sendable {
  public let study: String
  public let number: Int
  public let attempt: Int
  public let worker: String

  public init(study: String, number: Int, attempt: Int, worker: String) {
    self.study = study
    self.number = number
    self.attempt = attempt
    self.worker = worker
  }
}

/// What a finished trial reports: its objective (lower is better; infinite when it diverged)
/// and the caller's full record as JSON.
public struct TrialOutcome: Equatable, Sendable {
  public var objective: Double
  public var record: String

  public init(objective: Double, record: String) {
    self.objective = objective
    self.record = record
  }
}

/// A trial as the storage holds it.
public struct TrialRow: Equatable, Sendable {
  public var number: Int
  public var state: TrialState
  /// Claims so far (0 before the first).
  public var attempt: Int
  /// The worker that claimed it last.
  public var worker: String?
  public var objective: Double?
  /// The caller's record of a done trial.
  public var record: String?
  /// Why it was given back or failed.
  public var reason: String?
  /// Seconds until a running trial's lease expires (negative once it has), by the database's clock.
  public var leaseSecondsLeft: Double?

  public init(
    number: Int, state: TrialState, attempt: Int, worker: String?, objective: Double?, record: String?, reason: String?,
    leaseSecondsLeft: Double?
  ) {
    self.number = number
    self.state = state
    self.attempt = attempt
    self.worker = worker
    self.objective = objective
    self.record = record
    self.reason = reason
    self.leaseSecondsLeft = leaseSecondsLeft
  }
}

/// The answer to a claim.
public enum ClaimResult: Equatable, Sendable {
  /// This worker now holds the trial.
  case claimed(TrialClaim)
  /// Nothing to claim now, but `running` trials are held by other workers (their leases may
  /// yet expire): ask again later.
  case wait(running: Int)
  /// Every trial (or the one asked for) is done or failed.
  case finished
}

/// Whether `createOrJoin` made the study or found it.
public enum JoinResult: Equatable, Sendable {
  case created
  case joined
}
