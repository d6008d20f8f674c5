import Foundation

/// A place where studies live and workers claim their trials.
///
/// The contract every storage keeps (and the tests check against a real server and the
/// embedded file alike):
/// - `claim` hands each trial to one worker at a time: a waiting trial, or a running one whose
///   lease has expired by the storage's own clock; each claim raises the attempt count. A
///   running trial whose lease expired on its last allowed attempt is failed instead.
/// - `complete` and `renew` succeed only for the claim's current attempt (the fencing token):
///   a worker that lost its lease cannot overwrite the trial.
/// - One handle is used by one thread at a time; a worker opens one for its claims and one
///   for its lease renewals.
public protocol StudyStorage: AnyObject {
  /// The storage as a person should read it in a message.
  var description: String { get }

  /// Creates the study with trials 0..<trialCount waiting, or joins it when its settings are
  /// the same text.
  /// - Throws: `StudyError.settingsDiffer` (nothing touched) when the study exists with other settings.
  func createOrJoin(_ definition: StudyDefinition) throws -> JoinResult

  /// The study's definition, for workers that join by name.
  /// - Throws: `StudyError.unknownStudy` naming the study and the storage.
  func definition(of study: String) throws -> StudyDefinition

  /// Claims the lowest-numbered claimable trial (or trial `number` only).
  func claim(study: String, worker: String, number: Int?) throws -> ClaimResult

  /// Extends the claim's lease by the study's lease time; false when the claim is no longer current.
  func renew(_ claim: TrialClaim) throws -> Bool

  /// Records the trial's outcome if the claim is still current; false (nothing written) if not.
  func complete(_ claim: TrialClaim, outcome: TrialOutcome) throws -> Bool

  /// Gives the trial back: waiting again, or failed with `reason` when `countsAsFailure` and
  /// this was its last allowed attempt. Does nothing if the claim is no longer current.
  func release(_ claim: TrialClaim, reason: String, countsAsFailure: Bool) throws

  /// Every trial of the study, in trial order.
  func trials(of study: String) throws -> [TrialRow]

  /// The names of the studies in the storage, in name order.
  func studies() throws -> [String]
}

/// Opens storages by location.
public enum StudyStorages {
  /// A new handle on the storage at `location` (for PostgreSQL, a new connection).
  /// `creating`: an embedded store that does not exist yet is made (else it is an error, so
  /// that reading a study from a mistyped folder leaves nothing behind). `log` hears about
  /// reconnections.
  /// - Throws: `StudyError.storage` naming the location and why it cannot be opened.
  public static func open(
    _ location: StorageLocation, creating: Bool = false, log: @escaping @Sendable (String) -> Void = { _ in }
  ) throws -> any StudyStorage {
    switch location {
    case .embedded(let folder):
      let file = StorageLocation.embeddedFile(in: folder)
      guard creating || FileManager.default.fileExists(atPath: file) else {
        throw StudyError.storage("\(file): no study storage here (latentlab search --storage \(folder) creates one)")
      }
      return try EmbeddedStudyStorage(folder: folder)
    case .postgres(let address): return try PostgresStudyStorage(address: address, log: log)
    }
  }
}
