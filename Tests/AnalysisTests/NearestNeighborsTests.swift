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
  /// sorted by (distance, index), for 1 to 7 dimensions (the kernel's), exhaustive and by tree.
  /// The search's distances equal the sort's first k bit for bit, and so do its indices, ties
  /// at the k-th distance included (ties go to the lower index).
  func testKernelMatchesTheDistancesWrittenOut() throws {
    let paths = InstructionSet.allCases.filter { $0 >= .avx2 && $0 <= InstructionSet.cpuBest }
    guard !paths.isEmpty else { throw XCTSkip("the kernel needs AVX2; this CPU runs the portable path only") }
    var tiedAtK = 0
    for (n, d, k, coarse) in [
      (203, 2, 10, false), (150, 6, 30, true), (97, 1, 5, true), (301, 7, 12, false), (400, 2, 20, true),
    ] {
      let x = data(n: n, d: d, coarse: coarse, seed: UInt64(n * d))
      let v = x.scalars
      let norms = (0..<n).map { i in (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[i * d + $1] } }
      for (path, method) in paths.flatMap({ p in [(p, NearestNeighbors.Method.exhaustive), (p, .tree)] }) {
        let (indices, distances) = try NearestNeighbors.search(x, k: k, method: method, instructionSet: path)
        for i in 0..<n {
          let distance = (0..<n).map { j -> Float in
            var product: Float = 0
            for c in 0..<d { product = product.addingProduct(v[i * d + c], v[j * d + c]) }
            let s = (norms[i] + norms[j]) + product * -2
            return s >= 0 ? s : 0
          }
          let sorted = (0..<n).filter { $0 != i }.sorted {
            distance[$0] != distance[$1] ? distance[$0] < distance[$1] : $0 < $1
          }
          if path == paths[0] && method == .exhaustive && distance[sorted[k - 1]] == distance[sorted[k]] {
            tiedAtK += 1
          }
          let row = Array(distances[(i * k)..<(i * k + k)])
          let label = "\(path), \(method), n \(n), d \(d), row \(i)"
          XCTAssertEqual(row.map(\.bitPattern), sorted.prefix(k).map { distance[$0].bitPattern }, label)
          XCTAssertEqual(indices[(i * k)..<(i * k + k)].map(Int.init), Array(sorted.prefix(k)), label)
        }
      }
    }
    XCTAssertGreaterThan(tiedAtK, 50, "rows whose k-th distance ties with the (k+1)-th, where the tie rule decides")
  }

  /// Oracle: the search through `sgemm` products (the portable path's, here on the pinned
  /// `Haswell` table), bit for bit in distances and indices, ties included, for 1 to 7
  /// dimensions, sizes that leave every tail of 8 and 16, and 1 or 3 threads; and AVX2 against
  /// AVX-512 for every dimension.
  func testKernelMatchesTheHaswellProductsAndEveryWidth() throws {
    guard InstructionSet.cpuBest >= .avx2 else { throw XCTSkip("the kernel needs AVX2") }
    let haswell = BLAS.coreName.lowercased() == "haswell"
    if !haswell {
      print("NearestNeighborsTests: OpenBLAS runs \(BLAS.coreName), not Haswell: only the widths are compared")
    }
    for (n, d, k, coarse) in [
      (257, 2, 10, true), (300, 4, 90 - 60, false), (181, 6, 17, true), (130, 7, 9, false), (77, 3, 76, false),
      (500, 12, 20, false),
    ] {
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

  /// Oracle: the exhaustive search (itself checked against the distances written out above),
  /// bit for bit in distances and indices, ties included: uniform points, small integers (many
  /// duplicates and ties at the k-th distance), clusters of very different scales (the pruning
  /// margin is relative to the norms), points far from the origin (the norms dwarf the
  /// distances), and every point equal; 1 to 7 dimensions, 1 or 3 threads.
  func testTreeMatchesTheExhaustiveSearch() throws {
    guard InstructionSet.cpuBest >= .avx2 else {
      throw XCTSkip("the tree needs AVX2; this CPU runs the portable path only")
    }
    var g = SeededGenerator(seed: 11, streamName: "test/knn-tree")
    func points(_ n: Int, _ d: Int, _ value: (Int) -> Float) -> Tensor {
      Tensor(shape: [n, d], scalars: (0..<(n * d)).map(value))
    }
    let cases: [(String, Tensor, Int)] = [
      ("uniform 2-D", data(n: 3000, d: 2, coarse: false, seed: 1), 10),
      ("uniform 4-D", data(n: 2500, d: 4, coarse: false, seed: 2), 90),
      ("integers 3-D", data(n: 2000, d: 3, coarse: true, seed: 3), 30),
      ("integers 1-D", data(n: 700, d: 1, coarse: true, seed: 4), 50),
      ("integers 7-D", data(n: 900, d: 7, coarse: true, seed: 5), 12),
      (
        "scales 5-D",
        points(2400, 5) { i in
          let scale: Float = [1e-3, 1, 1e3][(i / 5) % 3]
          return scale * g.nextUniform(-1, 1)
        }, 20
      ),
      ("far 3-D", points(1500, 3) { _ in 1000 + g.nextUniform(0, 0.01) }, 15),
      ("equal 4-D", points(300, 4) { i in Float(i % 4) }, 40),
    ]
    for (name, x, k) in cases {
      XCTAssertTrue(NearestNeighbors.treeApplies(to: x), name)
      for threads in [1, 3] {
        let parallel = DeterministicParallel(threads: threads)
        let exhaustive = try NearestNeighbors.search(x, k: k, parallel: parallel, method: .exhaustive)
        let tree = try NearestNeighbors.search(x, k: k, parallel: parallel, method: .tree)
        XCTAssertEqual(
          tree.distances.map(\.bitPattern), exhaustive.distances.map(\.bitPattern), "\(name), \(threads) threads")
        XCTAssertEqual(tree.indices, exhaustive.indices, "\(name), \(threads) threads")
        if tree.indices != exhaustive.indices {
          let n = x.shape[0]
          let first = (0..<n).first {
            tree.indices[($0 * k)..<($0 * k + k)] != exhaustive.indices[($0 * k)..<($0 * k + k)]
          }!
          print(
            name, "row", first, Array(tree.indices[(first * k)..<(first * k + k)]),
            Array(exhaustive.indices[(first * k)..<(first * k + k)]))
          print(
            Array(tree.distances[(first * k)..<(first * k + k)]),
            Array(exhaustive.distances[(first * k)..<(first * k + k)]))
        }
      }
    }
  }

  /// Where the tree does not apply (a NaN or infinite value, more than `kernelDimensions`
  /// dimensions, the portable path) `automatic` scans every pair (oracle: `exhaustive`, bit for
  /// bit, a NaN's distances clamped to 0 as the scan does) and `tree` is an error naming what it
  /// needs.
  func testWhereTheTreeDoesNotApplyTheSearchScans() throws {
    var withNaN = data(n: 120, d: 3, coarse: false, seed: 9).scalars
    withNaN[7 * 3 + 1] = .nan
    withNaN[50 * 3] = .infinity
    let cases: [(String, Tensor, InstructionSet)] = [
      ("NaN and infinity", Tensor(shape: [120, 3], scalars: withNaN), .selected),
      ("8 dimensions", data(n: 90, d: 8, coarse: false, seed: 10), .selected),
      ("portable", data(n: 90, d: 2, coarse: false, seed: 11), .portable),
    ]
    for (name, x, path) in cases {
      XCTAssertFalse(NearestNeighbors.treeApplies(to: x, instructionSet: path), name)
      let automatic = try NearestNeighbors.search(x, k: 6, method: .automatic, instructionSet: path)
      let exhaustive = try NearestNeighbors.search(x, k: 6, method: .exhaustive, instructionSet: path)
      XCTAssertEqual(automatic.indices, exhaustive.indices, name)
      XCTAssertEqual(automatic.distances.map(\.bitPattern), exhaustive.distances.map(\.bitPattern), name)
      XCTAssertThrowsError(try NearestNeighbors.search(x, k: 6, method: .tree, instructionSet: path), name) { error in
        XCTAssertTrue(
          "\(error)".contains("finite values in 1 to 7 dimensions on the avx2 or avx512 path"), "\(name): \(error)")
      }
    }
  }
}
