import TensorCore
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
}
