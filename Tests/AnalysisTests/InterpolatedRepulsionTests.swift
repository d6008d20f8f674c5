import Analysis
import TensorCore
import TestSupport
import XCTest

/// The FFT-interpolated t-SNE gradient (FIt-SNE) against the exact one, and its embeddings
/// against Barnes-Hut's.
final class InterpolatedRepulsionTests: XCTestCase {
  /// `n` points in three Gaussian blobs in 10-D (unit variance, centres `separation` apart
  /// along their own axes; point i in blob i mod 3), and 2-D positions spread over about
  /// ±`spread`.
  func problem(_ n: Int, spread: Double, seed: UInt64, separation: Float = 6) -> (Tensor, [Double]) {
    var g = SeededGenerator(seed: seed, streamName: "test/fft-tsne")
    var values: [Float] = []
    for i in 0..<n { for d in 0..<10 { values.append((d == (i % 3) * 3 ? separation : 0) + Float(g.nextNormal())) } }
    let y = (0..<(2 * n)).map { _ in g.nextNormal() * spread / 2 }
    return (Tensor(shape: [n, 10], scalars: values), y)
  }

  /// The relative error ‖a − b‖ / ‖b‖.
  func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    let error = zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    return error / b.reduce(0) { $0 + $1 * $1 }.squareRoot()
  }

  /// Oracle: Barnes-Hut with θ = 0, which equals the exact O(N²) gradient (TSNETests).
  /// FIt-SNE's default grid (3 nodes per box, boxes of width ≤ 1, at least 50) must come within
  /// 2% relative where the points are dense (spread 10) and 10% where they are sparse (spread
  /// 60: neighbours a few units apart, where the kernel is steepest between nodes); openTSNE
  /// 1.0.4's FFT repulsion measured 0.9% and 8.9% on such inputs. Finer grids must come closer:
  /// boxes a quarter as wide at least 20 times (3-point interpolation's error falls as the
  /// box width cubed: 64), 5 nodes per box at least 5 times.
  func testGradientMatchesTheExactGradientAndTightensWithTheGrid() throws {
    for (spread, seed) in [(10.0, 1 as UInt64), (60, 2)] {
      let (x, y) = problem(400, spread: spread, seed: seed)
      let exact = try TSNE.gradient(of: x, at: y, perplexity: 15, theta: 0)
      var grid = TSNEInterpolationOptions()
      let coarse = relativeError(try TSNE.gradient(of: x, at: y, perplexity: 15, algorithm: .fft, interpolation: grid), exact)
      (grid.minimumBoxes, grid.maximumBoxes, grid.maximumBoxWidth) = (200, 1000, 0.25)
      let finer = relativeError(try TSNE.gradient(of: x, at: y, perplexity: 15, algorithm: .fft, interpolation: grid), exact)
      grid = TSNEInterpolationOptions()
      grid.pointsPerBox = 5
      let higherOrder = relativeError(try TSNE.gradient(of: x, at: y, perplexity: 15, algorithm: .fft, interpolation: grid), exact)
      print("spread \(spread): default \(coarse), more boxes \(finer), 5 nodes \(higherOrder)")
      XCTAssertLessThan(coarse, spread < 20 ? 0.02 : 0.1)
      XCTAssertLessThan(finer, coarse / 20)
      XCTAssertLessThan(higherOrder, coarse / 5)
    }
  }

  /// The FFT method's map is the same bits with 1 and 2 threads, and as good as Barnes-Hut's
  /// on the same 2,000 points of overlapping blobs (KL within 0.05, leave-one-out 10-NN
  /// accuracy within 0.01).
  func testEmbeddingIsTheSameWithOneOrTwoThreadsAndAsGoodAsBarnesHut() throws {
    let (x, _) = problem(2000, spread: 1, seed: 3, separation: 2.5)
    let labels = (0..<2000).map { Int32($0 % 3) }
    var options = TSNEOptions()
    options.iterations = 400
    options.algorithm = .fft
    options.threads = 1
    let one = try TSNE.embed(x, options: options)
    options.threads = 2
    let two = try TSNE.embed(x, options: options)
    XCTAssertEqual(one.algorithm, .fft)
    XCTAssertEqual(one.embedding.scalars.map(\.bitPattern), two.embedding.scalars.map(\.bitPattern))
    XCTAssertEqual(one.klDivergence.bitPattern, two.klDivergence.bitPattern)
    options.algorithm = .barnesHut
    let bh = try TSNE.embed(x, options: options)
    print("KL: FFT \(one.klDivergence), Barnes-Hut \(bh.klDivergence)")
    XCTAssertEqual(one.klDivergence, bh.klDivergence, accuracy: 0.05)
    let (fftAccuracy, bhAccuracy) = (try TSNE.knnAccuracy(one.embedding, labels: labels), try TSNE.knnAccuracy(bh.embedding, labels: labels))
    print("10-NN: FFT \(fftAccuracy), Barnes-Hut \(bhAccuracy)")
    XCTAssertGreaterThan(fftAccuracy, bhAccuracy - 0.01)
  }

  /// Below `fftMinimumPoints` the FFT method refuses, naming the floor (its single-precision
  /// Z would drown in the self terms' rounding for a few far-apart points); Barnes-Hut takes
  /// the same input.
  func testTooFewPointsForTheGridAreAnError() throws {
    let (x, _) = problem(TSNEAlgorithm.fftMinimumPoints - 1, spread: 1, seed: 6)
    var options = TSNEOptions()
    options.perplexity = 5
    options.iterations = 50
    options.algorithm = .fft
    XCTAssertThrowsError(try TSNE.embed(x, options: options)) {
      XCTAssertTrue("\($0)".contains("at least \(TSNEAlgorithm.fftMinimumPoints) points"), "\($0)")
    }
    options.algorithm = .barnesHut
    XCTAssertNoThrow(try TSNE.embed(x, options: options))
  }

  func testAutoPicksFFTFromTheThresholdAndBadGridsAreErrors() throws {
    XCTAssertEqual(TSNEAlgorithm.auto.resolved(points: TSNEAlgorithm.fftThreshold - 1), .barnesHut)
    XCTAssertEqual(TSNEAlgorithm.auto.resolved(points: TSNEAlgorithm.fftThreshold), .fft)
    XCTAssertEqual(TSNEAlgorithm.barnesHut.resolved(points: 1_000_000), .barnesHut)
    let (x, y) = problem(50, spread: 5, seed: 4)
    var grid = TSNEInterpolationOptions()
    grid.maximumBoxes = 10
    XCTAssertThrowsError(try TSNE.gradient(of: x, at: y, perplexity: 5, algorithm: .fft, interpolation: grid)) {
      XCTAssertTrue("\($0)".contains("maximumBoxes >= minimumBoxes"), "\($0)")
    }
    grid = TSNEInterpolationOptions()
    grid.pointsPerBox = 7
    XCTAssertThrowsError(try TSNE.gradient(of: x, at: y, perplexity: 5, algorithm: .fft, interpolation: grid)) {
      XCTAssertTrue("\($0)".contains("pointsPerBox 1 to 6"), "\($0)")
    }
  }
}
