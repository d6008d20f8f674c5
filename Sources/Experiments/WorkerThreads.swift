import Foundation

/// Runs `body(0)`, …, `body(count − 1)` each on a thread of its own and waits for all of them.
///
/// For work that is independent by construction (a study's workers, each claiming its own
/// trials); unlike `DeterministicParallel`, nothing is divided among the threads. The first
/// error any of them throws (by index) is rethrown after every thread has finished.
enum WorkerThreads {
  /// The stack each thread gets: a training's, as on the main thread.
  static let stackBytes = 8 << 20

  static func run(_ count: Int, _ body: @escaping (Int) throws -> Void) throws {
    let done = DispatchGroup()
    let errors = ErrorSlots(count)
    for i in 0..<count {
      done.enter()
      let thread = Thread {
        defer { done.leave() }
        do { try body(i) } catch { errors.set(i, error) }
      }
      thread.stackSize = stackBytes
      thread.start()
    }
    done.wait()
    if let first = errors.first { throw first }
  }
}

/// One error slot per thread, written under a lock.
private final class ErrorSlots: @unchecked Sendable {
  private var slots: [Error?]
  private let lock = NSLock()

  init(_ count: Int) { slots = Array(repeating: nil, count: count) }

  func set(_ i: Int, _ error: Error) {
    lock.lock()
    defer { lock.unlock() }
    slots[i] = error
  }

  var first: Error? {
    lock.lock()
    defer { lock.unlock() }
    return slots.compactMap { $0 }.first
  }
}
