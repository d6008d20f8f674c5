import CKernels
import Foundation
import TensorCore
import Synchronization
import XCTest

final class DeterministicParallelTests: XCTestCase {
  func testChunkRangesCoverDisjointlyWithBalancedSizes() {
    for (count, chunks) in [(0, 3), (1, 4), (10, 3), (250, 16), (17, 17)] {
      let ranges = DeterministicParallel.chunkRanges(count: count, chunks: chunks)
      XCTAssertEqual(ranges.count, chunks)
      XCTAssertEqual(ranges.flatMap { Array($0) }, Array(0..<count))
      let sizes = ranges.map(\.count)
      XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
    }
  }

  /// A float sum reduced per chunk in chunk order gives the same bits with any thread count.
  func testChunkedReductionIsBitIdenticalAcrossThreadCounts() {
    var g = SeededGenerator(seed: 4, streamName: "test/parallel")
    let values = (0..<100_003).map { _ in g.nextUniform(-1000, 1000) }
    func reduce(threads: Int) -> Float {
      let partials = DeterministicParallel(threads: threads).mapChunks(count: values.count, chunks: 16) { _, r in
        var s: Float = 0
        for i in r { s += values[i] }
        return s
      }
      return partials.reduce(0, +)
    }
    let one = reduce(threads: 1)
    for threads in [2, 3, 8] {
      XCTAssertEqual(reduce(threads: threads).bitPattern, one.bitPattern, "threads \(threads)")
    }
  }

  func testEveryChunkRunsOnceAndResultsComeInChunkOrder() {
    let parallel = DeterministicParallel(threads: 2)
    let results = parallel.mapChunks(count: 40, chunks: 7) { c, r in (c, r) }
    XCTAssertEqual(results.map(\.0), Array(0..<7))
    XCTAssertEqual(results.flatMap { Array($0.1) }, Array(0..<40))
    var marks = [Int](repeating: 0, count: 40)
    marks.withUnsafeMutableBufferPointer { m in
      let base = m.baseAddress!
      parallel.forEachChunk(count: 40, chunks: 7) { _, r in for i in r { base[i] += 1 } }
    }
    XCTAssertEqual(marks, [Int](repeating: 1, count: 40))
  }

  /// Many regions in a row through the spinning worker pool, some after the worker has gone
  /// to sleep (a lost wake-up would hang here), each checked to run every chunk exactly once.
  /// (The regions run on a thread of their own, watched: a hang fails the test after a minute
  /// instead of stalling the suite.)
  func testManyRegionsRunEveryChunkOnceAwakeOrAsleep() {
    final class Outcome: @unchecked Sendable { var wrongRegion: Int? }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    Thread {
      let parallel = DeterministicParallel(threads: 2)
      let count = 64
      let marks = UnsafeMutablePointer<Int>.allocate(capacity: count)
      defer { marks.deallocate() }
      for region in 0..<3_000 {
        marks.initialize(repeating: 0, count: count)
        if region % 500 == 499 { usleep(5_000) }  // past the 2 ms spin: the worker sleeps
        parallel.forEachChunk(count: count, chunks: 8) { _, r in for i in r { marks[i] += 1 } }
        if (0..<count).contains(where: { marks[$0] != 1 }) {
          outcome.wrongRegion = region
          break
        }
      }
      done.signal()
    }.start()
    guard done.wait(timeout: .now() + 60) == .success else {
      return XCTFail("parallel regions did not finish within a minute (a lost wake-up?)")
    }
    XCTAssertNil(outcome.wrongRegion, "a chunk ran twice or not at all")
  }

  /// A region started inside a region, and regions started from several threads at once,
  /// still run every chunk once (the pool takes one region at a time; the others use GCD).
  func testNestedAndConcurrentRegions() {
    let parallel = DeterministicParallel(threads: 2)
    let outer = 6, inner = 40
    let marks = UnsafeMutablePointer<Int>.allocate(capacity: outer * inner)
    defer { marks.deallocate() }
    marks.initialize(repeating: 0, count: outer * inner)
    parallel.forEachChunk(count: outer, chunks: outer) { c, _ in
      parallel.forEachChunk(count: inner, chunks: 4) { _, r in for i in r { marks[c * inner + i] += 1 } }
    }
    XCTAssertEqual((0..<(outer * inner)).filter { marks[$0] != 1 }, [])
    marks.initialize(repeating: 0, count: outer * inner)
    DispatchQueue.concurrentPerform(iterations: outer) { c in
      for _ in 0..<50 {
        parallel.forEachChunk(count: inner, chunks: 4) { _, r in for i in r { marks[c * inner + i] += 1 } }
      }
    }
    XCTAssertEqual((0..<(outer * inner)).filter { marks[$0] != 50 }, [])
  }

  /// The claimed (dynamic) schedule: chunks of very uneven cost, many regions, every chunk run
  /// once, results in chunk order, and a per-chunk float reduction bit-identical with 1, 2, 3
  /// and 8 threads. (Oracle: the one-thread run; a chunk run twice or skipped breaks the marks.)
  func testClaimedScheduleRunsEveryChunkOnceWithTheSameResults() {
    var g = SeededGenerator(seed: 9, streamName: "test/parallel-claimed")
    let values = (0..<50_000).map { _ in g.nextUniform(-1000, 1000) }
    func reduce(threads: Int) -> [UInt32] {
      let parallel = DeterministicParallel(threads: threads)
      var all: [UInt32] = []
      for _ in 0..<200 {
        let partials = parallel.mapChunks(count: values.count, chunks: 13, schedule: .claimed) { c, r in
          var s: Float = 0
          // Chunk c sums its range c + 1 times: costs from 1 to 13 units.
          for _ in 0...c { for i in r { s += values[i] * 1e-3 } }
          return s
        }
        all.append(partials.reduce(0, +).bitPattern)
      }
      return all
    }
    let one = reduce(threads: 1)
    for threads in [2, 3, 8] { XCTAssertEqual(reduce(threads: threads), one, "threads \(threads)") }
    let parallel = DeterministicParallel(threads: 2)
    let marks = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
    defer { marks.deallocate() }
    for region in 0..<500 {
      marks.initialize(repeating: 0, count: 1000)
      parallel.forEachChunk(count: 1000, chunks: 37, schedule: .claimed) { _, r in for i in r { marks[i] += 1 } }
      guard (0..<1000).allSatisfy({ marks[$0] == 1 }) else { return XCTFail("region \(region): a chunk ran twice or not at all") }
    }
    XCTAssertEqual(parallel.mapChunks(count: 40, chunks: 7, schedule: .claimed) { c, _ in c }, Array(0..<7))
  }
  /// `forEachChunkOnWorkers`: worker indices lie in `0..<min(threads, chunks)` and a worker
  /// never runs two chunks at once (a per-worker bit, set on entry and cleared on exit, is
  /// never found set), under both schedules; a result built in per-worker scratch is the
  /// one-thread result. (Oracle: the flags and the one-thread run; a worker index shared by
  /// two threads trips the flag or, through the shared scratch, the sums.)
  func testWorkerScratchIsExclusiveUnderEitherSchedule() {
    var g = SeededGenerator(seed: 12, streamName: "test/parallel-workers")
    let values = (0..<20_000).map { _ in g.nextUniform(-1, 1) }
    final class Flags: @unchecked Sendable {
      let busy = Atomic<UInt64>(0)  // bit w: worker w is inside a chunk
      let clash = Atomic<Int>(0)
      let outOfRange = Atomic<Int>(0)
    }
    func sums(threads: Int, chunks: Int, schedule: DeterministicParallel.Schedule) -> ([UInt32], Flags) {
      let flags = Flags()
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 8 * values.count)
      defer { scratch.deallocate() }
      var out = [UInt32](repeating: 0, count: chunks)
      out.withUnsafeMutableBufferPointer { o in
        let o = o.baseAddress!
        let parallel = DeterministicParallel(threads: threads)
        parallel.forEachChunkOnWorkers(count: values.count, chunks: chunks, schedule: schedule) { w, c, r in
          guard w >= 0, w < min(threads, chunks) else { return _ = flags.outOfRange.add(1, ordering: .relaxed) }
          let bit = UInt64(1) << UInt64(w)
          let wasBusy = flags.busy.bitwiseOr(bit, ordering: .acquiring).oldValue & bit != 0
          if wasBusy { flags.clash.add(1, ordering: .relaxed) }
          // The chunk's values, copied into the worker's scratch, summed from there.
          let mine = scratch + w * values.count
          for (k, i) in r.enumerated() { mine[k] = values[i] * Float(c + 1) }
          var s: Float = 0
          for k in 0..<r.count { s += mine[k] }
          o[c] = s.bitPattern
          flags.busy.bitwiseAnd(~bit, ordering: .releasing)
        }
      }
      return (out, flags)
    }
    for chunks in [20, 23, 1] {
      let (one, _) = sums(threads: 1, chunks: chunks, schedule: .fixed)
      for threads in [2, 3, 8] {
        for schedule in [DeterministicParallel.Schedule.fixed, .claimed] {
          for _ in 0..<50 {
            let (got, flags) = sums(threads: threads, chunks: chunks, schedule: schedule)
            XCTAssertEqual(flags.outOfRange.load(ordering: .relaxed), 0, "\(threads) threads, \(schedule)")
            XCTAssertEqual(flags.clash.load(ordering: .relaxed), 0, "\(threads) threads, \(schedule)")
            XCTAssertEqual(got, one, "\(threads) threads, \(chunks) chunks, \(schedule)")
          }
        }
      }
    }
  }

  /// Every chunk runs with flush-to-zero and denormals-are-zero, on GCD's threads too (the
  /// pool cannot serve more threads than cores), and GCD's threads leave the region with the
  /// modes they came with. Oracle: MXCSR read on each thread; GCD's threads are cleared of
  /// both modes first, so a thread that kept them from the region fails the second check.
  func testChunksRunFlushedAndBorrowedThreadsLeaveAsTheyCame() throws {
    let cleared = latentlab_float_environment() & ~UInt32(0x8040)  // MXCSR without FTZ (bit 15) and DAZ (bit 6)
    let me = pthread_self()
    // GCD keeps a pool that earlier tests may have grown: clear as many of its threads as it
    // shows in a few rounds.
    let before = ThreadModes()
    for _ in 0..<20 {
      DispatchQueue.concurrentPerform(iterations: 16) { _ in
        if pthread_equal(pthread_self(), me) == 0 { latentlab_restore_float_environment(cleared) }
        before.record()
        usleep(200)
      }
    }
    let threads = ProcessInfo.processInfo.activeProcessorCount + 2
    let parallel = DeterministicParallel(threads: threads)
    let during = ThreadModes()
    parallel.forEachChunk(count: 4 * threads, chunks: 4 * threads) { _, _ in
      during.record()
      usleep(2000)
    }
    XCTAssertEqual(during.all.filter { !$0.flushed }.count, 0, "chunks that ran without flush-to-zero")
    XCTAssertTrue(latentlab_subnormals_flushed() == 1, "the calling thread keeps flush-to-zero")
    let borrowed = Set(during.all.map(\.thread)).subtracting([me]).intersection(before.all.map(\.thread))
    guard !borrowed.isEmpty else { throw XCTSkip("GCD ran the region on threads it had not shown before") }
    // Until GCD hands out one of the borrowed threads again (it usually takes the most
    // recently idle one at once).
    let after = ThreadModes()
    var seenAgain: [(thread: pthread_t, flushed: Bool)] = []
    for _ in 0..<200 where seenAgain.isEmpty {
      DispatchQueue.concurrentPerform(iterations: 16) { _ in
        after.record()
        usleep(200)
      }
      seenAgain = after.all.filter { borrowed.contains($0.thread) }
    }
    guard !seenAgain.isEmpty else { throw XCTSkip("GCD ran the later work on other threads than the region's") }
    XCTAssertEqual(seenAgain.filter(\.flushed).count, 0, "GCD threads that kept the region's flush-to-zero")
  }
}

/// Which threads ran and whether each had both subnormal modes set, recorded from many threads.
private final class ThreadModes: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var all: [(thread: pthread_t, flushed: Bool)] = []

  func record() {
    let entry = (thread: pthread_self(), flushed: latentlab_subnormals_flushed() == 1)
    lock.lock()
    all.append(entry)
    lock.unlock()
  }
}
