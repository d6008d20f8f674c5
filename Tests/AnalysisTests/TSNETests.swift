import Analysis
import TensorCore
import TestSupport
import XCTest

final class TSNETests: XCTestCase {
  /// Three Gaussian blobs in 10-D.
  func blobs(_ n: Int, seed: UInt64) -> (Tensor, [Int32]) {
    var g = SeededGenerator(seed: seed, streamName: "test/tsne")
    var values: [Float] = []
    var labels: [Int32] = []
    for i in 0..<n {
      let c = i % 3
      labels.append(Int32(c))
      for d in 0..<10 { values.append(Float(d == c * 3 ? 6 : 0) + Float(g.nextNormal())) }
    }
    return (Tensor(shape: [n, 10], scalars: values), labels)
  }

  /// Oracle: the exact t-SNE gradient `4 Σⱼ (pᵢⱼ − qᵢⱼ) (1 + ‖yᵢ − yⱼ‖²)⁻¹ (yᵢ − yⱼ)`, computed
  /// here in O(N²) from the same P. With θ = 0 Barnes-Hut must equal it (tolerance 1e-9
  /// relative); with θ = 0.5 it must stay close (5% of the gradient's norm).
  func testBarnesHutGradientMatchesTheExactGradient() throws {
    let (x, _) = blobs(60, seed: 1)
    let p = try TSNE.affinities(of: x, perplexity: 10)
    var g = SeededGenerator(seed: 2, streamName: "test/tsne-y")
    let y = (0..<120).map { _ in g.nextNormal() * 3 }
    var z = 0.0
    for i in 0..<60 { for j in 0..<60 where i != j { z += 1 / (1 + pow(y[2 * i] - y[2 * j], 2) + pow(y[2 * i + 1] - y[2 * j + 1], 2)) } }
    var exact = [Double](repeating: 0, count: 120)
    for i in 0..<60 {
      for j in 0..<60 where i != j {
        let (dx, dy) = (y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1])
        let w = 1 / (1 + dx * dx + dy * dy)
        exact[2 * i] += 4 * (p[i][j] - w / z) * w * dx
        exact[2 * i + 1] += 4 * (p[i][j] - w / z) * w * dy
      }
    }
    XCTAssertEqual(p.joined().reduce(0, +), 1, accuracy: 1e-12)
    XCTAssertEqual(p[3][7], p[7][3], "P is symmetric")
    let bh0 = try TSNE.gradient(of: x, at: y, perplexity: 10, theta: 0)
    assertClose(bh0, exact, atol: 1e-12, rtol: 1e-9)
    let bh = try TSNE.gradient(of: x, at: y, perplexity: 10, theta: 0.5)
    let norm = exact.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let error = zip(bh, exact).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    XCTAssertLessThan(error, 0.05 * norm)
    XCTAssertNotEqual(bh, bh0, "θ = 0.5 does summarise cells")
  }

  /// Affinities of data where 40 of 60 points share one spot (a collapsed code): those rows'
  /// neighbours are all at distance 0, so no precision reaches the perplexity, and the other
  /// rows' neighbours are mostly tied. Oracle: each
  /// row's conditional probabilities by a binary search on the precision written here from
  /// scikit-learn's `_binary_search_perplexity` (β from 1, doubled or halved until bracketed,
  /// then bisected; 100 steps at most, tolerance 1e-5 on the entropy), over the neighbours the
  /// exact search returns, then (P + Pᵀ) / ΣP; tolerance 1e-15 absolute (probabilities ≤ 1).
  func testAffinitiesOfDuplicatePointsMatchTheBinarySearch() throws {
    var g = SeededGenerator(seed: 4, streamName: "test/tsne-duplicates")
    let spot = (0..<3).map { _ in Float(g.nextNormal()) }
    let values = (0..<60).flatMap { i in i % 3 == 0 ? (0..<3).map { _ in Float(g.nextNormal()) * 2 } : spot }
    let x = Tensor(shape: [60, 3], scalars: values)
    let perplexity = 5.0, k = 16
    let p = try TSNE.affinities(of: x, perplexity: perplexity)
    let (indices, distances) = try NearestNeighbors.search(x, k: k)
    var conditional = Array(repeating: [Double](repeating: 0, count: 60), count: 60)
    for i in 0..<60 {
      let d = (0..<k).map { Double(distances[i * k + $0]) }
      var (beta, low, high) = (1.0, -Double.infinity, Double.infinity)
      var w = [Double](repeating: 0, count: k)
      for step in 0..<100 {
        w = d.map { exp(-$0 * beta) }
        var sum = w.reduce(0, +)
        if sum == 0 { sum = 1e-8 }
        let entropy = log(sum) + beta * zip(d, w).reduce(0) { $0 + $1.0 * $1.1 } / sum
        w = w.map { $0 / sum }
        let difference = entropy - log(perplexity)
        if abs(difference) <= 1e-5 || step == 99 { break }
        if difference > 0 {
          low = beta
          beta = high == .infinity ? beta * 2 : (beta + high) / 2
        } else {
          high = beta
          beta = low == -.infinity ? beta / 2 : (beta + low) / 2
        }
      }
      for j in 0..<k { conditional[i][Int(indices[i * k + j])] = w[j] }
    }
    XCTAssertEqual(distances[0..<k].filter { $0 == 0 }.count, 0, "point 0 is not on the spot")
    XCTAssertEqual(distances[k..<(2 * k)].filter { $0 == 0 }.count, k, "point 1 is, with k others")
    var total = 0.0
    for i in 0..<60 { for j in 0..<60 { total += conditional[i][j] + conditional[j][i] } }
    for i in 0..<60 {
      for j in 0..<60 {
        XCTAssertEqual(p[i][j], (conditional[i][j] + conditional[j][i]) / total, accuracy: 1e-15, "P[\(i)][\(j)]")
      }
    }
  }

  func testEmbeddingSeparatesClustersAndIsTheSameWithOneOrTwoThreads() throws {
    let (x, labels) = blobs(300, seed: 3)
    var options = TSNEOptions()
    options.perplexity = 20
    options.iterations = 300
    options.threads = 1
    let one = try TSNE.embed(x, options: options)
    options.threads = 2
    let two = try TSNE.embed(x, options: options)
    XCTAssertEqual(one.embedding.scalars.map(\.bitPattern), two.embedding.scalars.map(\.bitPattern))
    XCTAssertEqual(one.klDivergence, two.klDivergence)
    XCTAssertTrue(one.klDivergence.isFinite && one.klDivergence > 0)
    XCTAssertGreaterThan(try TSNE.knnAccuracy(one.embedding, labels: labels, k: 10), 0.95)
  }

  /// A t-SNE whose thread allowance grows mid-run (1 → 3 threads at iteration 100, as when the
  /// stage beside it ends) gives the bits of one on one thread throughout, by Barnes-Hut and by
  /// FFT interpolation (whose grids are resized for the new threads).
  func testThreadsHandedOverMidRunChangeNoBit() throws {
    let (x, _) = blobs(300, seed: 4)
    for algorithm in [TSNEAlgorithm.barnesHut, .fft] {
      var options = TSNEOptions()
      options.algorithm = algorithm
      options.perplexity = 20
      options.iterations = 300
      options.threads = 1
      let fixed = try TSNE.embed(x, options: options)
      let allowance = ThreadAllowance(1)
      var raisedAt: Int?
      let handed = try TSNE.embed(x, options: options, allowance: allowance) { iteration, _ in
        if iteration == 100 {
          allowance.add(2)
          raisedAt = iteration
        }
      }
      XCTAssertEqual(raisedAt, 100, "\(algorithm): the allowance grew mid-run")
      XCTAssertEqual(fixed.finalThreads, 1)
      XCTAssertEqual(handed.finalThreads, 3, "\(algorithm): the last iterations ran on the threads handed over")
      XCTAssertEqual(
        fixed.embedding.scalars.map(\.bitPattern), handed.embedding.scalars.map(\.bitPattern), "\(algorithm): the map")
      XCTAssertEqual(fixed.klDivergence.bitPattern, handed.klDivergence.bitPattern, "\(algorithm): KL")
    }
  }

  func testBadInputsAreErrors() {
    XCTAssertThrowsError(try TSNE.embed(Tensor.zeros([3, 2]))) { XCTAssertTrue("\($0)".contains("at least 4 points"), "\($0)") }
    var options = TSNEOptions()
    options.perplexity = 50
    XCTAssertThrowsError(try TSNE.embed(Tensor.zeros([20, 2]), options: options)) { XCTAssertTrue("\($0)".contains("perplexity"), "\($0)") }
  }
}
