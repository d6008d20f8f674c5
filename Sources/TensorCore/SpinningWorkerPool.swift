import Dispatch
import Foundation
import Synchronization

/// Worker threads that wait for the next parallel region by spinning for a while before they
/// sleep: `DeterministicParallel`'s default way to run a region on more than one thread.
///
/// A training step runs a few dozen short parallel regions (0.1–1 ms each). Handed to
/// `DispatchQueue.concurrentPerform`, each region's second thread starts 15–25 µs late (a
/// sleeping pool thread has to be woken), while the calling thread has already started its
/// share: measured here, a region of two 98 µs shares took 118–121 µs (median) through GCD and
/// 97–99 µs with a worker spinning on an atomic. Workers spin for `spinSeconds` after a region
/// and then sleep on a condition variable, so an idle process does not burn a core.
///
/// One region at a time: `run` returns false (the caller then uses GCD) when a region is
/// already running (a nested or concurrent call), and when more threads are asked for than
/// the machine has cores (spinning on an oversubscribed machine would steal time from the
/// threads doing the work).
final class SpinningWorkerPool: @unchecked Sendable {
  /// The process's pool.
  static let shared = SpinningWorkerPool()

  /// How long an idle worker spins before it sleeps.
  static let spinSeconds = 0.002

  private let generation = Atomic<Int>(0)  // bumped to publish a region
  private let remaining = Atomic<Int>(0)  // workers still running the current region
  private let busy = Atomic<Bool>(false)
  private let sleepers = Atomic<Int>(0)
  private let condition = NSCondition()
  private let cores = ProcessInfo.processInfo.activeProcessorCount
  // Written by `run` before `generation` is bumped (releasing) and read by workers after they
  // see the bump (acquiring).
  private var job: ((Int) -> Void)?
  private let jobThreads = Atomic<Int>(0)
  private var workerCount = 0  // touched only by the caller holding `busy`

  private init() {}

  /// Runs `body(t)` for `t` in `0..<threads`, `t = 0` on the calling thread; returns when all
  /// are done, true. Returns false without running anything when the pool cannot take the
  /// region (busy, or `threads` above the core count).
  func run(threads: Int, _ body: (Int) -> Void) -> Bool {
    guard threads <= cores else { return false }
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
    startWorkers(upTo: threads - 1)
    withoutActuallyEscaping(body) { body in
      job = body
      jobThreads.store(threads, ordering: .relaxed)
      remaining.store(threads - 1, ordering: .relaxed)
      generation.add(1, ordering: .sequentiallyConsistent)
      // A worker announces itself in `sleepers` before its last look at `generation`, and this
      // reads `sleepers` after the bump (both sequentially consistent): one of the two sees
      // the other, so no wake-up is lost.
      if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
        condition.lock()
        condition.broadcast()
        condition.unlock()
      }
      body(0)
      var spins = 0
      while remaining.load(ordering: .acquiring) > 0 {
        // Yield now and then: should the scheduler put a worker on this CPU, it gets to run.
        spins += 1
        if spins & 63 == 0 { sched_yield() }
      }
      job = nil  // workers dropped their references before counting down
    }
    busy.store(false, ordering: .releasing)
    return true
  }

  /// Called before the region is published: a new worker starts from the current generation,
  /// so that it takes part in the region about to be published even if it starts after it.
  private func startWorkers(upTo count: Int) {
    while workerCount < count {
      workerCount += 1
      let index = workerCount
      let start = generation.load(ordering: .relaxed)
      let thread = Thread { [unowned self] in self.workerLoop(index: index, from: start) }
      thread.name = "latentlab-worker-\(index)"
      thread.start()
    }
  }

  private func workerLoop(index: Int, from start: Int) {
    var seen = start
    while true {
      waitForRegion(after: seen)
      seen = generation.load(ordering: .acquiring)
      if index < jobThreads.load(ordering: .relaxed) {
        runJob(index)
        remaining.subtract(1, ordering: .releasing)
      }
    }
  }

  /// In a function of its own so that the worker's reference to the closure is released
  /// before it counts down (`withoutActuallyEscaping` checks that none is left).
  @inline(never)
  private func runJob(_ index: Int) { job?(index) }

  private func waitForRegion(after seen: Int) {
    var spins = 0
    var deadline = 0.0
    while generation.load(ordering: .acquiring) == seen {
      spins += 1
      guard spins & 63 == 0 else { continue }
      sched_yield()
      guard spins & 1023 == 0 else { continue }
      let now = ProcessInfo.processInfo.systemUptime
      if deadline == 0 {
        deadline = now + Self.spinSeconds
      } else if now > deadline {
        condition.lock()
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while generation.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        condition.unlock()
      }
    }
  }
}
