import Foundation

/// Renews one claim's lease on a thread of its own while the trial runs, through its own
/// storage handle (so a long claim query never delays a renewal).
final class LeaseKeeper: @unchecked Sendable {
  private let storage: any StudyStorage
  private let claim: TrialClaim
  private let interval: Double
  private let log: @Sendable (String) -> Void
  private let condition = NSCondition()
  private var stopRequested = false
  private var running = false

  /// `storage` must not be used by another thread while the keeper runs.
  init(storage: any StudyStorage, claim: TrialClaim, leaseSeconds: Double, log: @escaping @Sendable (String) -> Void) {
    self.storage = storage
    self.claim = claim
    self.interval = leaseSeconds / StudyEngineSettings.renewalsPerLease
    self.log = log
  }

  /// Starts renewing.
  func start() {
    running = true
    Thread.detachNewThread { [self] in loop() }
  }

  /// Stops renewing and returns once the thread has let go of the storage.
  func stop() {
    condition.lock()
    stopRequested = true
    condition.broadcast()
    while running { condition.wait() }
    condition.unlock()
  }

  private func loop() {
    condition.lock()
    defer {
      running = false
      condition.broadcast()
      condition.unlock()
    }
    while !stopRequested {
      if condition.wait(until: Date(timeIntervalSinceNow: interval)) || stopRequested { continue }
      condition.unlock()
      var lost = false
      do {
        lost = try !storage.renew(claim)
        if lost {
          log("trial \(claim.number + 1) attempt \(claim.attempt): the lease was lost (another attempt holds it now); its result will be rejected")
        }
      } catch {
        log("trial \(claim.number + 1) attempt \(claim.attempt): cannot renew the lease: \(error)")
      }
      condition.lock()
      if lost { return }
    }
  }
}
