import Foundation

/// A signal from one lane of an arm to another: a stage waits until the stage it needs has
/// finished, or learns that it failed (its own error is then the one reported, not this).
final class StageGate: @unchecked Sendable {
  private let condition = NSCondition()
  private var succeeded: Bool?
  /// The stage waited for, in the error a waiting lane throws when it failed.
  let stage: String

  init(stage: String) { self.stage = stage }

  /// Lets every waiting lane go on (`succeeded`) or fail; only the first call counts.
  func open(succeeded: Bool) {
    condition.lock()
    defer { condition.unlock() }
    if self.succeeded == nil { self.succeeded = succeeded }
    condition.broadcast()
  }

  /// Blocks until `open`; throws when the stage failed.
  func wait() throws {
    condition.lock()
    defer { condition.unlock() }
    while succeeded == nil { condition.wait() }
    if succeeded == false { throw ExperimentError.invalid("\(stage) failed; see its error") }
  }
}
