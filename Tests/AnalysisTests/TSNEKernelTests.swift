import CKernels
import TensorCore
import TestSupport
import XCTest

/// The kNN heap scan and the t-SNE attraction, AVX2 and portable: the same bits, and against
/// answers computed here another way.
final class TSNEKernelTests: XCTestCase {
  let avx2 = latentlab_avx2_fma_available()

  /// Oracle: a stable sort of the distances (ties by index). The heap holds the same k points
  /// as the sort's first k, and both paths leave the same heap, bit for bit; the scan runs in
  /// two tiles, as `NearestNeighbors` runs it.
  func testKNNScanKeepsTheKNearestOnBothPaths() {
    var g = SeededGenerator(seed: 4, streamName: "test/knn-scan")
    let n = 1000, k = 17, me: Int32 = 321
    // Coarse values so ties happen.
    let norms = (0..<n).map { _ in Float(Int(g.nextUniform(0, 20))) }
    let products = (0..<n).map { _ in Float(Int(g.nextUniform(-20, 0))) }
    let rowNorm: Float = 5
    var heaps: [([Float], [Int32])] = []
    for vectorised in Set([0, avx2]) {
      var hd = [Float](repeating: 0, count: k), hi = [Int32](repeating: 0, count: k)
      var size: Int32 = 0
      for (first, count) in [(0, 611), (611, n - 611)] {
        products.withUnsafeBufferPointer { p in
          latentlab_knn_scan(
            p.baseAddress! + first, norms, rowNorm, Int32(first), Int32(count), me, Int32(k), &hd, &hi, &size, vectorised)
        }
      }
      XCTAssertEqual(size, Int32(k))
      heaps.append((hd, hi))
    }
    if let other = heaps.last {
      XCTAssertEqual(heaps[0].0.map(\.bitPattern), other.0.map(\.bitPattern))
      XCTAssertEqual(heaps[0].1, other.1)
    }
    let distances = (0..<n).map { max(0, rowNorm + norms[$0] + products[$0]) }
    let sorted = (0..<n).filter { $0 != Int(me) }.sorted { distances[$0] != distances[$1] ? distances[$0] < distances[$1] : $0 < $1 }
    let kth = distances[sorted[k - 1]]
    // The same distances; among points tied with the k-th, the heap may keep others than the sort.
    XCTAssertEqual(heaps[0].0.sorted(), sorted.prefix(k).map { distances[$0] })
    for j in heaps[0].1 { XCTAssertLessThanOrEqual(distances[Int(j)], kth) }
    XCTAssertFalse(heaps[0].1.contains(me), "a point is not its own neighbour")
  }

  /// Oracle: the attraction Σ p q (yᵢ − yⱼ) summed here in Double in edge order (to 1e-12
  /// relative); the AVX2 and portable kernels give the same bits (rows of 0 to 13 edges:
  /// every tail length).
  func testAttractionIsTheSameOnBothPathsAndMatchesTheSum() {
    var g = SeededGenerator(seed: 5, streamName: "test/attraction")
    let n = 200
    let y = (0..<(2 * n)).map { _ in g.nextNormal() * 10 }
    var rowStart: [Int64] = [0], columns: [Int32] = [], values: [Double] = []
    for i in 0..<n {
      for _ in 0..<(i % 14) {
        columns.append(Int32(Int(g.nextUniform(0, Float(n))) % n))
        values.append(Double(g.nextUniform(0, 1)) * 1e-3)
      }
      rowStart.append(Int64(columns.count))
    }
    var results: [[Double]] = []
    for vectorised in Set([0, avx2]) {
      var ax = [Double](repeating: .nan, count: n), ay = ax
      latentlab_tsne_attraction(rowStart, columns, values, y, 0, Int32(n), &ax, &ay, vectorised)
      results.append(ax + ay)
    }
    if let other = results.last { XCTAssertEqual(results[0].map(\.bitPattern), other.map(\.bitPattern)) }
    var expected = [Double](repeating: 0, count: 2 * n)
    for i in 0..<n {
      for e in Int(rowStart[i])..<Int(rowStart[i + 1]) {
        let j = Int(columns[e])
        let (dx, dy) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1])
        let q = 1 / (1 + dx * dx + dy * dy)
        expected[i] += values[e] * q * dx
        expected[n + i] += values[e] * q * dy
      }
    }
    assertClose(results[0], expected, atol: 1e-15, rtol: 1e-12)
  }
}
