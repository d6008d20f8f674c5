import CKernels
import Dispatch
import Glibc
import Synchronization

/// A parallel-for whose results do not depend on the number of threads.
///
/// Work over `0..<count` is cut into a fixed number of contiguous chunks, chosen by the caller
/// from the problem alone (never from the thread count). Threads take whole chunks; each
/// chunk is computed by exactly one thread with the same code, so a chunk's result is the
/// same whichever thread ran it. Callers that reduce (sum weight gradients, say) keep one
/// partial per chunk and add the partials in chunk order afterwards: the same bits with 1
/// thread or 16.
public struct DeterministicParallel: Sendable {
  /// The number of worker threads (at least 1).
  public let threadCount: Int

  /// A parallel-for running on `threads` threads.
  ///
  /// Sets flush-to-zero and denormals-are-zero on the calling thread and leaves them set
  /// (LatentLab's results assume them on every thread that computes, the caller included); a
  /// program that wants its own modes back saves and restores MXCSR around LatentLab's calls
  /// (`latentlab_float_environment`, `latentlab_restore_float_environment` in `CKernels`).
  /// The pool's threads are LatentLab's own; GCD threads borrowed when the pool is busy get
  /// their modes back after each region.
  /// - Precondition: `threads >= 1`.
  public init(threads: Int) {
    // The thread that sets up a computation computes too (outside parallel regions).
    latentlab_flush_subnormals_to_zero()
    // OpenBLAS's kernel table is pinned through the environment; do it here, before any
    // worker runs, rather than at a first BLAS call inside a parallel region.
    BLAS.ensureConfigured()
    precondition(threads >= 1, "DeterministicParallel: threads must be at least 1, got \(threads)")
    threadCount = threads
  }

  /// The contiguous ranges that `count` items fall into when cut into `chunks` chunks:
  /// the first `count % chunks` chunks hold one item more. Empty chunks are kept, so the
  /// chunk index always means the same range.
  public static func chunkRanges(count: Int, chunks: Int) -> [Range<Int>] {
    precondition(count >= 0 && chunks >= 1, "DeterministicParallel: bad count \(count) or chunks \(chunks)")
    let base = count / chunks
    let extra = count % chunks
    var ranges: [Range<Int>] = []
    ranges.reserveCapacity(chunks)
    var start = 0
    for c in 0..<chunks {
      let size = base + (c < extra ? 1 : 0)
      ranges.append(start..<(start + size))
      start += size
    }
    return ranges
  }

  /// How a region's threads share its chunks.
  public enum Schedule: Sendable {
    /// Thread `t` runs chunks `t, t + T, t + 2T, …`: which thread runs a chunk is fixed too,
    /// so a body may index per-thread scratch by `chunk % threads`.
    case fixed
    /// Each thread claims the next chunk when it finishes one, for chunks of uneven cost.
    /// Which thread runs a chunk varies, so the body must not use per-thread state; what a
    /// chunk computes, and so every result, is still fixed by the chunks alone.
    case claimed
  }

  /// Runs `body(chunkIndex, range)` for every chunk of `0..<count`, on up to `threadCount`
  /// threads, sharing the chunks by `schedule`. Returns when all chunks are done. The threads
  /// come from `SpinningWorkerPool` (from GCD when it is busy or the machine has fewer cores).
  ///
  /// `body` must write only to memory owned by its chunk (or use per-chunk partials).
  public func forEachChunk(
    count: Int, chunks: Int, schedule: Schedule = .fixed, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void
  ) {
    forEachChunkOnWorkers(count: count, chunks: chunks, schedule: schedule) { _, c, r in body(c, r) }
  }

  /// As `forEachChunk`, telling `body` which worker runs the chunk: `worker` is in
  /// `0..<min(threadCount, chunks)` and a worker runs one chunk at a time, so the body may
  /// keep scratch per worker (not per chunk) under either schedule. With `.claimed` a
  /// worker that falls behind (a slow core, a preempted thread) simply takes fewer chunks.
  public func forEachChunkOnWorkers(
    count: Int, chunks: Int, schedule: Schedule = .fixed,
    _ body: (_ worker: Int, _ chunk: Int, _ range: Range<Int>) -> Void
  ) {
    let ranges = DeterministicParallel.chunkRanges(count: count, chunks: chunks)
    let workers = min(threadCount, chunks)
    // Every thread that computes flushes subnormals (see latentlab_flush_subnormals_to_zero):
    // the same bits on every thread and CPU, and no microcode assists on Intel cores.
    if workers <= 1 {
      latentlab_flush_subnormals_to_zero()
      for (c, r) in ranges.enumerated() { body(0, c, r) }
      return
    }
    let counter = schedule == .claimed ? ChunkCounter() : nil
    let share: (Int) -> Void = { t in
      latentlab_flush_subnormals_to_zero()
      if let counter {
        while true {
          let c = counter.claim()
          guard c < ranges.count else { return }
          body(t, c, ranges[c])
        }
      }
      var c = t
      while c < ranges.count {
        body(t, c, ranges[c])
        c += workers
      }
    }
    if SpinningWorkerPool.shared.run(threads: workers, share) { return }
    // GCD's threads belong to the whole process: each leaves with the floating-point modes
    // it came with (the calling thread keeps flush-to-zero, as in every region).
    let caller = pthread_self()
    withoutActuallyEscaping(share) { share in
      DispatchQueue.concurrentPerform(iterations: workers) { t in
        if pthread_equal(pthread_self(), caller) != 0 { return share(t) }
        let saved = latentlab_float_environment()
        share(t)
        latentlab_restore_float_environment(saved)
      }
    }
  }

  /// Maps each chunk of `0..<count` to a value in parallel, and returns the values in chunk
  /// order (ready for an ordered reduction).
  public func mapChunks<T>(
    count: Int, chunks: Int, schedule: Schedule = .fixed, _ transform: (_ chunk: Int, _ range: Range<Int>) -> T
  ) -> [T] {
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: chunks)
    results.initialize(repeating: nil)
    defer {
      results.deinitialize()
      results.deallocate()
    }
    let base = results.baseAddress!
    forEachChunk(count: count, chunks: chunks, schedule: schedule) { c, r in
      base[c] = transform(c, r)
    }
    return results.map { $0! }
  }
}

/// The next chunk to claim, shared by the threads of one `.claimed` region.
private final class ChunkCounter: @unchecked Sendable {
  private let next = Atomic<Int>(0)
  /// The next unclaimed chunk index (claims are never handed out twice).
  func claim() -> Int { next.add(1, ordering: .relaxed).oldValue }
}
