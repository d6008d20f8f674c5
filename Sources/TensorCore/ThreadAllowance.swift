import Synchronization

/// How many threads a long computation may use from its next step on: a stage running beside
/// another starts with its share, and the other hands over its threads when it finishes.
///
/// A computation reads `threads` between its steps (never inside a parallel region) and runs
/// the next step on a `DeterministicParallel` of that many threads. Since no result of a
/// `DeterministicParallel` depends on its thread count, neither do the computation's bits.
public final class ThreadAllowance: Sendable {
  private let count: Atomic<Int>

  /// An allowance of `threads` threads.
  /// - Precondition: `threads >= 1`.
  public init(_ threads: Int) {
    precondition(threads >= 1, "ThreadAllowance: threads must be at least 1, got \(threads)")
    count = Atomic(threads)
  }

  /// The threads allowed now.
  public var threads: Int { count.load(ordering: .acquiring) }

  /// Allows `more` threads (a stage beside this one finished and hands over its own).
  public func add(_ more: Int) {
    guard more > 0 else { return }
    count.add(more, ordering: .releasing)
  }

  /// A `DeterministicParallel` for the allowance now: `current` itself when its thread count
  /// is still the allowed one.
  public func parallel(replacing current: DeterministicParallel) -> DeterministicParallel {
    let allowed = threads
    return allowed == current.threadCount ? current : DeterministicParallel(threads: allowed)
  }
}
