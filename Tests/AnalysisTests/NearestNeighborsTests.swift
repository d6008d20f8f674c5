import Analysis
import TensorCore
import TestSupport
import XCTest

/// `NearestNeighbors.search` on each path: the distance kernel (`avx2`, `avx512`, up to 7
/// dimensions) against the products of OpenBLAS's pinned `Haswell` `sgemm` (bit for bit: what
/// the search computed before), the two widths against each other, and both against distances
/// and a stable sort written here.
final class NearestNeighborsTests: XCTestCase {
  /// `n` rows of `d` coordinates: uniform in [−3, 3), or small integers (ties, zero distances
  /// from duplicate rows) when `coarse`.
  func data(n: Int, d: Int, coarse: Bool, seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed, streamName: "test/knn")
    let values = (0..<(n * d)).map { _ in coarse ? Float(Int(g.nextUniform(-2, 3))) : g.nextUniform(-3, 3) }
    return Tensor(shape: [n, d], scalars: values)
  }

  /// Oracle: the same distance written here (norms summed in order, the product one fused
  /// multiply-add chain, times −2, added to the norms' sum, negatives to 0), every other row
  /// sorted by (distance, index), for 1 to 7 dimensions (the kernel's). The search's distances equal the sort's first k bit for bit;
  /// its indices are the sort's wherever the k-th distance is not tied with the (k+1)-th.
  func testKernelMatchesTheDistancesWrittenOut() throws {
    let paths = InstructionSet.allCases.filter { $0 >= .avx2 && $0 <= InstructionSet.cpuBest }
    guard !paths.isEmpty else { throw XCTSkip("the kernel needs AVX2; this CPU runs the portable path only") }
    for (n, d, k, coarse) in [(203, 2, 10, false), (150, 6, 30, true), (97, 1, 5, true), (301, 7, 12, false)] {
      let x = data(n: n, d: d, coarse: coarse, seed: UInt64(n * d))
      let v = x.scalars
      let norms = (0..<n).map { i in (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[i * d + $1] } }
      for path in paths {
        let (indices, distances) = try NearestNeighbors.search(x, k: k, instructionSet: path)
        for i in 0..<n {
          let distance = (0..<n).map { j -> Float in
            var product: Float = 0
            for c in 0..<d { product = product.addingProduct(v[i * d + c], v[j * d + c]) }
            let s = (norms[i] + norms[j]) + product * -2
            return s >= 0 ? s : 0
          }
          let sorted = (0..<n).filter { $0 != i }.sorted { distance[$0] != distance[$1] ? distance[$0] < distance[$1] : $0 < $1 }
          let row = Array(distances[(i * k)..<(i * k + k)])
          XCTAssertEqual(row.map(\.bitPattern), sorted.prefix(k).map { distance[$0].bitPattern }, "\(path), n \(n), d \(d), row \(i)")
          if distance[sorted[k - 1]] != distance[sorted[k]] {
            XCTAssertEqual(indices[(i * k)..<(i * k + k)].map(Int.init), Array(sorted.prefix(k)), "\(path), n \(n), d \(d), row \(i)")
          }
          XCTAssertFalse(indices[(i * k)..<(i * k + k)].contains(Int32(i)), "a point is not its own neighbour")
        }
      }
    }
  }

  /// Oracle: the search through `sgemm` products (the portable path's, here on the pinned
  /// `Haswell` table), bit for bit in distances and indices, ties included, for 1 to 7
  /// dimensions, sizes that leave every tail of 8 and 16, and 1 or 3 threads; and AVX2 against
  /// AVX-512 for every dimension.
  func testKernelMatchesTheHaswellProductsAndEveryWidth() throws {
    guard InstructionSet.cpuBest >= .avx2 else { throw XCTSkip("the kernel needs AVX2") }
    let haswell = BLAS.coreName.lowercased() == "haswell"
    if !haswell { print("NearestNeighborsTests: OpenBLAS runs \(BLAS.coreName), not Haswell: only the widths are compared") }
    for (n, d, k, coarse) in [(257, 2, 10, true), (300, 4, 90 - 60, false), (181, 6, 17, true), (130, 7, 9, false), (77, 3, 76, false), (500, 12, 20, false)] {
      let x = data(n: n, d: d, coarse: coarse, seed: UInt64(7 * n + d))
      for threads in [1, 3] {
        let parallel = DeterministicParallel(threads: threads)
        let avx2 = try NearestNeighbors.search(x, k: k, parallel: parallel, instructionSet: .avx2)
        if haswell && d <= 7 {
          let products = try NearestNeighbors.search(x, k: k, parallel: parallel, instructionSet: .portable)
          XCTAssertEqual(avx2.distances.map(\.bitPattern), products.distances.map(\.bitPattern), "n \(n), d \(d)")
          XCTAssertEqual(avx2.indices, products.indices, "n \(n), d \(d)")
        }
        if InstructionSet.cpuBest >= .avx512 {
          let avx512 = try NearestNeighbors.search(x, k: k, parallel: parallel, instructionSet: .avx512)
          XCTAssertEqual(avx512.distances.map(\.bitPattern), avx2.distances.map(\.bitPattern), "n \(n), d \(d)")
          XCTAssertEqual(avx512.indices, avx2.indices, "n \(n), d \(d)")
        }
      }
    }
    if InstructionSet.cpuBest < .avx512 { print("NearestNeighborsTests: no AVX-512 here; AVX2 only") }
  }
}
