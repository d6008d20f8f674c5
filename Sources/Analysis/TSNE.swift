import CKernels
import Foundation
import TensorCore

/// How t-SNE approximates the repulsive half of its gradient.
public enum TSNEAlgorithm: String, Codable, CaseIterable, Sendable {
  /// Barnes-Hut: a quadtree, `O(N log N)` per iteration.
  case barnesHut = "bh"
  /// Interpolation on a grid with FFT convolutions (FIt-SNE), `O(N)` per iteration plus the
  /// grid's transforms.
  case fft
  /// FFT from `TSNEAlgorithm.fftThreshold` points up, Barnes-Hut below.
  case auto

  /// The smallest N for which `auto` picks FFT. Below, FFT saves little time and its map is
  /// the less faithful (an Intel Xeon, 2 threads, 10,000 points: 7.1–8.2 s against 7.8–9.2 s,
  /// exact KL 1.558 against 1.505, the grid's interpolation error); above, it saves much
  /// (20,000 points: 10.8 s against 17.7 s; docs/benchmarks.md).
  public static let fftThreshold = 15_000

  /// How a report names the method.
  public var words: String {
    switch self {
    case .barnesHut: return "Barnes-Hut"
    case .fft: return "FFT interpolation"
    case .auto: return "Barnes-Hut or FFT by size"
    }
  }

  /// The fewest points the FFT method takes. Its grid runs in single precision, so Z, the sum
  /// of the kernel over all pairs, comes with an error of about 10⁻⁷ of the grid's total
  /// (self terms included, about N · 360): below about a hundred points spread far apart
  /// that error reaches Z itself and the map flies apart. Barnes-Hut has no such floor.
  public static let fftMinimumPoints = 100

  /// The method `self` picks for `n` points.
  public func resolved(points n: Int) -> TSNEAlgorithm {
    switch self {
    case .auto: return n >= TSNEAlgorithm.fftThreshold ? .fft : .barnesHut
    default: return self
    }
  }
}

/// The settings of a t-SNE run, with scikit-learn's defaults.
public struct TSNEOptions: Codable, Equatable, Sendable {
  /// Barnes-Hut, FFT interpolation, or by the number of points.
  public var algorithm: TSNEAlgorithm = .auto
  /// The FFT method's grid (FIt-SNE's defaults).
  public var interpolation = TSNEInterpolationOptions()
  public var perplexity: Double = 30
  /// The Barnes-Hut accuracy criterion: a cell of width `w` at distance `d` is summarised when
  /// `w / d < theta`.
  public var theta: Double = 0.5
  public var iterations: Int = 1000
  public var earlyExaggeration: Double = 12
  public var exaggerationIterations: Int = 250
  /// nil: scikit-learn's "auto", `max(N / earlyExaggeration / 4, 50)`.
  public var learningRate: Double?
  public var threads: Int = 1

  public init() {}
}

/// The result of a t-SNE run.
public struct TSNEResult {
  /// `[N, 2]`.
  public var embedding: Tensor
  /// KL(P ‖ Q) at the end (with Q's normaliser from the method's approximation).
  public var klDivergence: Double
  /// The whole run.
  public var seconds: Double
  /// The method the run used (`auto` resolved).
  public var algorithm: TSNEAlgorithm
  /// The exact nearest-neighbour search, part of `seconds`.
  public var neighbourSeconds: Double
  /// The perplexity calibration and symmetrisation of P, part of `seconds`.
  public var affinitySeconds: Double
  /// The threads of the last iteration: `options.threads`, or more when an allowance grew.
  public var finalThreads: Int
}

/// t-SNE: Barnes-Hut (L. van der Maaten, "Accelerating t-SNE using Tree-Based Algorithms",
/// JMLR 15, 2014), as scikit-learn's `TSNE(method="barnes_hut", init="pca")`, or with the
/// repulsion interpolated on a grid and convolved by FFT (`InterpolatedRepulsion`, FIt-SNE);
/// both share everything else below.
///
/// - Affinities: the 3·perplexity nearest neighbours of each point (exact search), a binary
///   search on each point's Gaussian precision until the conditional distribution's entropy is
///   `log(perplexity)` (within 1e-5, 100 steps at most), then `P = (P + Pᵀ) / ΣP`, sparse.
/// - Gradient: attraction over P's non-zeros (each row's terms summed in four interleaved
///   lanes, `latentlab_tsne_attraction`), repulsion through a quadtree with the Barnes-Hut
///   criterion (or `InterpolatedRepulsion`);
///   `∂C/∂yᵢ = 4 (exaggeration · Σⱼ pᵢⱼ qᵢⱼ Z (yᵢ − yⱼ) − Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ) / Z)`.
///   The tree is walked once for each group of 8 points consecutive in Z-order, with the
///   criterion taken from the group's bounding box (`width < θ · d`, d the distance from the
///   cell's centre of mass to the box): no point gets a coarser summary than its own walk would
///   give, and the per-point sums run four points to an AVX2 register (C, `CKernels`).
/// - Optimisation: early exaggeration 12 for 250 iterations with momentum 0.5, then momentum
///   0.8; per-coordinate gains (+0.2 when the step changes sign, ×0.8 otherwise, at least 0.01);
///   learning rate `max(N / 12 / 4, 50)`; initialisation: the first two principal components
///   scaled to standard deviation 1e-4.
/// - Determinism: no random draws; work is split into fixed chunks of points and partial sums
///   are added in chunk order, so the result is the same bits with any thread count.
public enum TSNE {
  /// Embeds the rows of `data` `[N, D]` in 2-D; `progress(iteration, KL)` every 10 iterations
  /// and after the last (KL only then: it costs a logarithm per non-zero of P). With
  /// `allowance`, each iteration runs on the threads it allows then (`options.threads` until
  /// it allows another count): a stage beside this one hands over its threads when it ends.
  /// The bits never depend on the thread count.
  public static func embed(
    _ data: Tensor, options: TSNEOptions = TSNEOptions(), allowance: ThreadAllowance? = nil,
    progress: ((Int, Double?) -> Void)? = nil
  ) throws -> TSNEResult {
    let start = Date()
    guard data.rank == 2 else { throw AnalysisError.invalidInput(what: "t-SNE input", expected: "a matrix [N, D]", found: "\(data.shape)") }
    let n = data.shape[0]
    let k = min(n - 1, Int(3 * options.perplexity + 1))
    guard n >= 4, options.perplexity > 0, Double(n - 1) >= options.perplexity else {
      throw AnalysisError.invalidInput(
        what: "t-SNE", expected: "at least 4 points and a perplexity below the number of points", found: "N = \(n), perplexity \(options.perplexity)")
    }
    guard options.theta >= 0, options.iterations >= 1, options.threads >= 1 else {
      throw AnalysisError.invalidInput(what: "t-SNE options", expected: "theta >= 0, iterations >= 1, threads >= 1", found: "\(options)")
    }
    try options.interpolation.validate()
    let algorithm = options.algorithm.resolved(points: n)
    guard algorithm != .fft || n >= TSNEAlgorithm.fftMinimumPoints else {
      throw AnalysisError.invalidInput(
        what: "t-SNE by FFT interpolation", expected: "at least \(TSNEAlgorithm.fftMinimumPoints) points (use Barnes-Hut below)",
        found: "N = \(n)")
    }
    var parallel = DeterministicParallel(threads: options.threads)
    let neighbours = try NearestNeighbors.search(data, k: k, parallel: parallel)
    let neighbourSeconds = Date().timeIntervalSince(start)
    let p = SparseAffinities(neighbours: neighbours, n: n, k: k, perplexity: options.perplexity, parallel: parallel)
    let affinitySeconds = Date().timeIntervalSince(start) - neighbourSeconds

    // Initialisation: PCA, scaled so the first coordinate has standard deviation 1e-4.
    let pca = try PCA(fitting: data, componentCount: 2)
    let initial = try pca.transform(data)
    var firstMean = 0.0
    for i in 0..<n { firstMean += Double(initial.scalars[2 * i]) }
    firstMean /= Double(n)
    var firstVariance = 0.0
    for i in 0..<n {
      let deviation = Double(initial.scalars[2 * i]) - firstMean
      firstVariance += deviation * deviation
    }
    let scale = 1e-4 / max((firstVariance / Double(n)).squareRoot(), 1e-12)
    var y = initial.scalars.map { Double($0) * scale }

    let learningRate = options.learningRate ?? max(Double(n) / options.earlyExaggeration / 4, 50)
    var update = [Double](repeating: 0, count: 2 * n)
    var gains = [Double](repeating: 1, count: 2 * n)
    var gradient = [Double](repeating: 0, count: 2 * n)
    let repulsion = TSNE.repulsion(algorithm, options: options, points: n)
    var lastKL = Double.nan
    for iteration in 0..<options.iterations {
      try Interruption.check()
      if let allowance { parallel = allowance.parallel(replacing: parallel) }
      let exaggerating = iteration < options.exaggerationIterations
      let exaggeration = exaggerating ? options.earlyExaggeration : 1
      let momentum = exaggerating ? 0.5 : 0.8
      // KL costs a logarithm per non-zero of P: only at the end.
      let wantKL = iteration == options.iterations - 1
      let kl = computeGradient(
        y: y, p: p, exaggeration: exaggeration, repulsion: repulsion, parallel: parallel, gradient: &gradient,
        wantKL: wantKL)
      // Each coordinate on its own (the same bits whatever the chunks), in parallel.
      let finite: [Bool] = gains.withUnsafeMutableBufferPointer { gb in
        update.withUnsafeMutableBufferPointer { ub in
          y.withUnsafeMutableBufferPointer { yb in
            gradient.withUnsafeBufferPointer { db in
              let (gains, update, y, gradient) = (gb.baseAddress!, ub.baseAddress!, yb.baseAddress!, db.baseAddress!)
              return parallel.mapChunks(count: 2 * n, chunks: min(64, max(1, n / 256))) { _, range in
                var finite = true
                for i in range {
                  if update[i] * gradient[i] < 0 {
                    gains[i] += 0.2
                  } else {
                    gains[i] *= 0.8
                  }
                  gains[i] = max(gains[i], 0.01)
                  update[i] = momentum * update[i] - learningRate * gains[i] * gradient[i]
                  y[i] += update[i]
                  finite = finite && y[i].isFinite
                }
                return finite
              }
            }
          }
        }
      }
      guard finite.allSatisfy({ $0 }) else {
        throw AnalysisError.diverged(what: "t-SNE (\(algorithm.words))", iteration: iteration + 1, of: options.iterations)
      }
      if wantKL { lastKL = kl }
      if wantKL || (iteration + 1) % 10 == 0 { progress?(iteration + 1, wantKL ? kl : nil) }
    }
    return TSNEResult(
      embedding: Tensor(shape: [n, 2], scalars: y.map(Float.init)), klDivergence: lastKL,
      seconds: Date().timeIntervalSince(start), algorithm: algorithm, neighbourSeconds: neighbourSeconds,
      affinitySeconds: affinitySeconds, finalThreads: parallel.threadCount)
  }

  /// The repulsion's approximation for `algorithm` (`fft` or `barnesHut`).
  static func repulsion(_ algorithm: TSNEAlgorithm, options: TSNEOptions, points n: Int) -> any RepulsionApproximation {
    algorithm == .fft
      ? InterpolatedRepulsion(options: options.interpolation) : BarnesHutRepulsion(points: n, theta: options.theta)
  }

  /// The gradient at `y` into `gradient`; returns KL(P‖Q) when `wantKL` (else NaN).
  static func computeGradient(
    y: [Double], p: SparseAffinities, exaggeration: Double, repulsion strategy: any RepulsionApproximation,
    parallel: DeterministicParallel, gradient: inout [Double], wantKL: Bool
  ) -> Double {
    let n = p.n
    let chunks = min(64, max(1, n / 256))
    var repulsion = [Double](repeating: 0, count: 2 * n)
    let z = repulsion.withUnsafeMutableBufferPointer { strategy.forces(y: y, n: n, parallel: parallel, into: $0.baseAddress!) }
    // Attraction over P's non-zeros (independent per point), and the KL terms.
    let klParts: [Double] = gradient.withUnsafeMutableBufferPointer { grad in
      y.withUnsafeBufferPointer { yb in
        repulsion.withUnsafeBufferPointer { rb in
          p.rowStart.withUnsafeBufferPointer { rows in
            p.columns.withUnsafeBufferPointer { cols in
              p.values.withUnsafeBufferPointer { vals in
                let (g, ys, rep, rowStart, columns, values) = (
                  grad.baseAddress!, yb.baseAddress!, rb.baseAddress!, rows.baseAddress!, cols.baseAddress!, vals.baseAddress!
                )
                // Rows differ in their neighbour counts: chunks claimed as threads finish.
                return parallel.mapChunks(count: n, chunks: chunks, schedule: .claimed) { _, range in
                  // Attraction into g (as scratch), then the gradient over it.
                  let (ax, ay) = (UnsafeMutablePointer<Double>.allocate(capacity: range.count), UnsafeMutablePointer<Double>.allocate(capacity: range.count))
                  defer {
                    ax.deallocate()
                    ay.deallocate()
                  }
                  rowStart.withMemoryRebound(to: Int64.self, capacity: n + 1) { starts in
                    latentlab_tsne_attraction(
                      starts, columns, values, ys, Int32(range.lowerBound), Int32(range.upperBound), ax - range.lowerBound,
                      ay - range.lowerBound, attractionVectorised)
                  }
                  var kl = 0.0
                  for i in range {
                    g[2 * i] = 4 * (exaggeration * ax[i - range.lowerBound] - rep[2 * i] / z)
                    g[2 * i + 1] = 4 * (exaggeration * ay[i - range.lowerBound] - rep[2 * i + 1] / z)
                    guard wantKL else { continue }
                    let (yi0, yi1) = (ys[2 * i], ys[2 * i + 1])
                    for e in rowStart[i]..<rowStart[i + 1] where values[e] > 0 {
                      let j = Int(columns[e])
                      let dx = yi0 - ys[2 * j], dy = yi1 - ys[2 * j + 1]
                      let q = 1 / (1 + (dx * dx + dy * dy))
                      kl += values[e] * RepeatableMath.log(max(values[e], 1e-12) / max(q / z, 1e-12))
                    }
                  }
                  return kl
                }
              }
            }
          }
        }
      }
    }
    return wantKL ? klParts.reduce(0, +) : .nan
  }

  /// The joint probabilities P as a dense matrix `[N][N]` (for checks on small inputs).
  public static func affinities(of data: Tensor, perplexity: Double) throws -> [[Double]] {
    let n = data.shape[0]
    let k = min(n - 1, Int(3 * perplexity + 1))
    let p = SparseAffinities(
      neighbours: try NearestNeighbors.search(data, k: k), n: n, k: k, perplexity: perplexity,
      parallel: DeterministicParallel(threads: 1))
    var dense = Array(repeating: [Double](repeating: 0, count: n), count: n)
    for i in 0..<n { for e in p.rowStart[i]..<p.rowStart[i + 1] { dense[i][Int(p.columns[e])] = p.values[e] } }
    return dense
  }

  /// The gradient of KL(P‖Q) at the 2-D positions `y` (`[2N]`, x and y interleaved), for P
  /// from `data`, by `algorithm`'s approximation of the repulsion (for checks: Barnes-Hut with
  /// `theta` 0 is the exact gradient).
  public static func gradient(
    of data: Tensor, at y: [Double], perplexity: Double, theta: Double = 0.5, exaggeration: Double = 1, threads: Int = 1,
    algorithm: TSNEAlgorithm = .barnesHut, interpolation: TSNEInterpolationOptions = TSNEInterpolationOptions()
  ) throws -> [Double] {
    let n = data.shape[0]
    let k = min(n - 1, Int(3 * perplexity + 1))
    let parallel = DeterministicParallel(threads: threads)
    let p = SparseAffinities(
      neighbours: try NearestNeighbors.search(data, k: k, parallel: parallel), n: n, k: k, perplexity: perplexity,
      parallel: parallel)
    try interpolation.validate()
    var options = TSNEOptions()
    (options.theta, options.interpolation) = (theta, interpolation)
    let repulsion = TSNE.repulsion(algorithm.resolved(points: n), options: options, points: n)
    var g = [Double](repeating: 0, count: 2 * n)
    _ = computeGradient(
      y: y, p: p, exaggeration: exaggeration, repulsion: repulsion, parallel: parallel, gradient: &g, wantKL: false)
    return g
  }

  /// Leave-one-out k-nearest-neighbour accuracy of `labels` in the 2-D `embedding`: the share of
  /// points whose k nearest other points vote (majority, ties to the smallest label) for the
  /// point's own label.
  public static func knnAccuracy(
    _ embedding: Tensor, labels: [Int32], k: Int = 10, parallel: DeterministicParallel = DeterministicParallel(threads: 1)
  ) throws -> Double {
    let (indices, _) = try NearestNeighbors.search(embedding, k: k, parallel: parallel)
    let classes = Int(labels.max() ?? 0) + 1
    var correct = 0
    for i in 0..<labels.count {
      var votes = [Int](repeating: 0, count: classes)
      for j in 0..<k { votes[Int(labels[Int(indices[i * k + j])])] += 1 }
      var best = 0
      for c in 1..<classes where votes[c] > votes[best] { best = c }
      if best == Int(labels[i]) { correct += 1 }
    }
    return Double(correct) / Double(labels.count)
  }
}

/// The repulsive half of t-SNE's gradient: `Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ)` for every point (before
/// dividing by Z), and Z.
protocol RepulsionApproximation: AnyObject {
  /// The forces on the `n` points `y` (`[2N]`) into `force` (`[2N]`); returns Z.
  func forces(y: [Double], n: Int, parallel: DeterministicParallel, into force: UnsafeMutablePointer<Double>) -> Double
}

extension InterpolatedRepulsion: RepulsionApproximation {}

/// Barnes-Hut repulsion through a quadtree rebuilt each iteration (its nodes reused).
final class BarnesHutRepulsion: RepulsionApproximation {
  let theta: Double
  private var tree: QuadTree

  init(points n: Int, theta: Double) {
    self.theta = theta
    tree = QuadTree(capacity: 2 * n + 16)
  }

  func forces(y: [Double], n: Int, parallel: DeterministicParallel, into r: UnsafeMutablePointer<Double>) -> Double {
    tree.build(y, count: n)
    let order = tree.spatialOrder(y, count: n)
    let chunks = min(64, max(1, n / 256))
    // Per point, independent; Z is summed per chunk, then in order.
    let (tree, theta) = (self.tree, self.theta)
    let zParts: [Double] = y.withUnsafeBufferPointer { yb in
      order.withUnsafeBufferPointer { ob in
        let (ys, os) = (yb.baseAddress!, ob.baseAddress!)
        return parallel.mapChunks(count: n, chunks: chunks) { _, range in
          // One traversal stack per chunk: depth is at most 62, and each level adds at most 3.
          let stack = UnsafeMutablePointer<Int32>.allocate(capacity: 256)
          defer { stack.deallocate() }
          return tree.repulsion(ys, order: os, positions: range, theta: theta, stack: stack, into: r)
        }
      }
    }
    return max(zParts.reduce(0, +), 1e-300)
  }
}

/// The symmetric joint probabilities P in compressed sparse rows.
struct SparseAffinities {
  let n: Int
  var rowStart: [Int]
  var columns: [Int32]
  var values: [Double]

  init(neighbours: (indices: [Int32], distances: [Float]), n: Int, k: Int, perplexity: Double, parallel: DeterministicParallel) {
    self.n = n
    // Conditional probabilities p_{j|i} by binary search on each row's precision β.
    var conditional = [Double](repeating: 0, count: n * k)
    // RepeatableMath, not the C library's exp and log: glibc's choice by CPU would move the bits.
    let target = RepeatableMath.log(perplexity)
    conditional.withUnsafeMutableBufferPointer { cp in
      let c = cp.baseAddress!
      parallel.forEachChunk(count: n, chunks: min(64, max(1, n / 256))) { _, range in
        for i in range {
          var beta = 1.0, low = -Double.infinity, high = Double.infinity
          let d = neighbours.distances[(i * k)..<(i * k + k)].map(Double.init)
          for step in 0..<100 {
            var sum = 0.0, weighted = 0.0
            // The weights four at a time where the CPU has AVX2 (RepeatableMath.exp's bits),
            // the rest (far tails, NaN) by RepeatableMath.exp itself; the sums stay in order.
            if avx2Available { latentlab_gaussian_weights(d, beta, c + i * k, Int32(k)) }
            for j in 0..<k {
              let x = -d[j] * beta
              let w = avx2Available && x >= LL_AFFINITY_FAST_LIMIT ? c[i * k + j] : RepeatableMath.exp(x)
              c[i * k + j] = w
              sum += w
              weighted += d[j] * w
            }
            if sum == 0 { sum = 1e-8 }
            let entropy = RepeatableMath.log(sum) + beta * weighted / sum
            let difference = entropy - target
            // Only the last step's weights are kept: normalised once, when the search ends.
            if abs(difference) <= 1e-5 || step == 99 {
              for j in 0..<k { c[i * k + j] /= sum }
              break
            }
            if difference > 0 {
              low = beta
              beta = high == .infinity ? beta * 2 : (beta + high) / 2
            } else {
              high = beta
              beta = low == -.infinity ? beta / 2 : (beta + low) / 2
            }
          }
        }
      }
    }
    // P + Pᵀ, merged row by row: each row's entries sorted by column, duplicates added.
    var counts = [Int](repeating: 0, count: n)
    for i in 0..<n {
      counts[i] += k
      for j in 0..<k { counts[Int(neighbours.indices[i * k + j])] += 1 }
    }
    var start = [Int](repeating: 0, count: n + 1)
    for i in 0..<n { start[i + 1] = start[i] + counts[i] }
    var fill = start
    var cols = [Int32](repeating: 0, count: start[n])
    var vals = [Double](repeating: 0, count: start[n])
    for i in 0..<n {
      for j in 0..<k {
        let other = Int(neighbours.indices[i * k + j])
        let v = conditional[i * k + j]
        cols[fill[i]] = Int32(other); vals[fill[i]] = v; fill[i] += 1
        cols[fill[other]] = Int32(i); vals[fill[other]] = v; fill[other] += 1
      }
    }
    var rowStart = [0]
    var outColumns: [Int32] = []
    var outValues: [Double] = []
    outColumns.reserveCapacity(start[n])
    outValues.reserveCapacity(start[n])
    var total = 0.0
    // Each row's entries by (column, position): a total order, so any sort gives it; as
    // column · 2³² + position in one buffer, sorted without a comparison closure.
    precondition(start[n] <= Int(UInt32.max), "t-SNE: \(start[n]) affinities exceed the 2³² a sort key holds")
    var keys: [UInt64] = []
    for i in 0..<n {
      keys.removeAll(keepingCapacity: true)
      for e in start[i]..<start[i + 1] { keys.append(UInt64(UInt32(cols[e])) << 32 | UInt64(e)) }
      keys.sort()
      var previous: Int32 = -1
      for key in keys {
        let e = Int(key & 0xFFFF_FFFF)
        if cols[e] == previous {
          outValues[outValues.count - 1] += vals[e]
        } else {
          outColumns.append(cols[e])
          outValues.append(vals[e])
          previous = cols[e]
        }
        total += vals[e]
      }
      rowStart.append(outColumns.count)
    }
    let normaliser = max(total, 1e-300)
    self.rowStart = rowStart
    columns = outColumns
    values = outValues.map { $0 / normaliser }
  }
}

/// Whether the attraction runs four edges to an AVX2 register (the same bits either way).
private let attractionVectorised: Int32 = InstructionSet.usesAVX2Kernels ? 1 : 0

/// Whether this CPU runs the AVX2 group walk (checked once).
private let avx2Available = InstructionSet.usesAVX2Kernels

/// A node of the quadtree as the traversal reads it: the C kernel's `ll_quad_node` (centre
/// of mass, squared width, count, first child; 32 bytes, two to a cache line).
typealias QuadNode = ll_quad_node

extension ll_quad_node {
  /// An empty node of width `sqrt(widthSquared)`.
  init(widthSquared: Double) {
    self.init(massX: 0, massY: 0, widthSquared: widthSquared, count: 0, firstChild: 0)
  }
}

/// What only the build needs: the square's centre and half-width, and a leaf's point.
struct QuadCell {
  var centreX = 0.0
  var centreY = 0.0
  var half = 0.0
  /// The point a leaf holds (−1: none).
  var point: Int32 = -1
}

/// A point quadtree over the 2-D embedding, rebuilt each iteration in one preallocated array
/// of nodes (no allocation per iteration once it has grown).
struct QuadTree {
  var nodes: [QuadNode]
  var cells: [QuadCell]
  var used = 0

  init(capacity: Int) {
    nodes = [QuadNode](repeating: QuadNode(widthSquared: 0), count: max(capacity, 16))
    cells = [QuadCell](repeating: QuadCell(), count: max(capacity, 16))
  }

  mutating func build(_ y: [Double], count n: Int) {
    var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
    for i in 0..<n {
      minX = min(minX, y[2 * i]); maxX = max(maxX, y[2 * i])
      minY = min(minY, y[2 * i + 1]); maxY = max(maxY, y[2 * i + 1])
    }
    let h = max(maxX - minX, maxY - minY) / 2 * (1 + 1e-5) + 1e-12
    // The worst case needs ~4 nodes per split; grow before building so the build itself
    // never reallocates under the unsafe pointer.
    while true {
      let ok = y.withUnsafeBufferPointer { points in
        nodes.withUnsafeMutableBufferPointer { hot in
          cells.withUnsafeMutableBufferPointer { cold in
            QuadTree.fill(
              hot, cold, used: &used, points: points.baseAddress!, n: n, centre: ((minX + maxX) / 2, (minY + maxY) / 2),
              half: h)
          }
        }
      }
      if ok { return }
      nodes += [QuadNode](repeating: QuadNode(widthSquared: 0), count: nodes.count)
      cells += [QuadCell](repeating: QuadCell(), count: cells.count)
    }
  }

  /// Builds into `nodes` and `cells`; false when they run out (the caller grows them and retries).
  private static func fill(
    _ hot: UnsafeMutableBufferPointer<QuadNode>, _ cold: UnsafeMutableBufferPointer<QuadCell>, used: inout Int,
    points: UnsafePointer<Double>, n: Int, centre: (Double, Double), half: Double
  ) -> Bool {
    let capacity = hot.count
    let node0 = hot.baseAddress!
    let cell0 = cold.baseAddress!
    used = 1
    node0[0] = QuadNode(widthSquared: 4 * half * half)
    cell0[0] = QuadCell(centreX: centre.0, centreY: centre.1, half: half)
    for i in 0..<n {
      let (x, y) = (points[2 * i], points[2 * i + 1])
      var node = 0
      var depth = 0
      while true {
        let c = Double(node0[node].count)
        node0[node].massX = (node0[node].massX * c + x) / (c + 1)
        node0[node].massY = (node0[node].massY * c + y) / (c + 1)
        node0[node].count += 1
        if node0[node].firstChild == 0 {
          if cell0[node].point < 0 && node0[node].count == 1 {
            cell0[node].point = Int32(i)
            break
          }
          let other = Int(cell0[node].point)
          if other >= 0 && ((points[2 * other] == x && points[2 * other + 1] == y) || depth > 60) {
            break  // coincident points stay together in this leaf, counted in `count`
          }
          guard used + 4 <= capacity else { return false }
          let h = cell0[node].half / 2
          let first = used
          for q in 0..<4 {
            node0[first + q] = QuadNode(widthSquared: 4 * h * h)
            cell0[first + q] = QuadCell(
              centreX: cell0[node].centreX + (q & 1 == 0 ? -h : h), centreY: cell0[node].centreY + (q & 2 == 0 ? -h : h), half: h)
          }
          used += 4
          node0[node].firstChild = Int32(first)
          if other >= 0 {
            cell0[node].point = -1
            let (ox, oy) = (points[2 * other], points[2 * other + 1])
            let child = first + (ox > cell0[node].centreX ? 1 : 0) + (oy > cell0[node].centreY ? 2 : 0)
            // The old point (and any points coincident with it) move down to its child.
            node0[child].massX = ox
            node0[child].massY = oy
            node0[child].count = node0[node].count - 1
            cell0[child].point = Int32(other)
          }
        }
        node = Int(node0[node].firstChild) + (x > cell0[node].centreX ? 1 : 0) + (y > cell0[node].centreY ? 2 : 0)
        depth += 1
      }
    }
    return true
  }

  /// The points in the order of a Z-order (Morton) curve over the tree's square: neighbours in
  /// this order walk nearly the same nodes, so the traversal stays in cache.
  func spatialOrder(_ y: [Double], count n: Int) -> [Int32] {
    let (cx, cy, h) = (cells[0].centreX, cells[0].centreY, cells[0].half)
    var keyed = [(UInt64, Int32)]()
    keyed.reserveCapacity(n)
    for i in 0..<n {
      let qx = UInt64(max(0, min(65535, ((y[2 * i] - cx + h) / (2 * h) * 65536).rounded(.down))))
      let qy = UInt64(max(0, min(65535, ((y[2 * i + 1] - cy + h) / (2 * h) * 65536).rounded(.down))))
      var code: UInt64 = 0
      for b in 0..<16 { code |= ((qx >> UInt64(b)) & 1) << UInt64(2 * b) | ((qy >> UInt64(b)) & 1) << UInt64(2 * b + 1) }
      keyed.append((code << 32 | UInt64(i), Int32(i)))
    }
    keyed.sort { $0.0 < $1.0 }
    return keyed.map(\.1)
  }

  /// The repulsive forces `Σ q² (y − yⱼ)` (q = 1/(1 + d²), before dividing by Z) on the
  /// points `order[positions]` of `y`, and their contributions `Σ q` to Z, walking the tree
  /// once per group of `LL_REPULSION_GROUP` consecutive positions (see
  /// `latentlab_repulsion_group` for the group criterion). Returns the sum of the
  /// contributions, in position order. `stack` must hold at least `3 · depth + 4` entries.
  func repulsion(
    _ y: UnsafePointer<Double>, order: UnsafePointer<Int32>, positions: Range<Int>, theta: Double,
    stack: UnsafeMutablePointer<Int32>, into force: UnsafeMutablePointer<Double>
  ) -> Double {
    let group = Int(LL_REPULSION_GROUP)
    var z = 0.0
    // Five group-sized scratch arrays on the stack: nothing is allocated per call.
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 5 * group) { scratch in
      let (px, py, fx, fy, zs) = (
        scratch.baseAddress!, scratch.baseAddress! + group, scratch.baseAddress! + 2 * group,
        scratch.baseAddress! + 3 * group, scratch.baseAddress! + 4 * group
      )
      nodes.withUnsafeBufferPointer { buffer in
        var start = positions.lowerBound
        while start < positions.upperBound {
          let k = min(group, positions.upperBound - start)
          for j in 0..<k {
            let i = Int(order[start + j])
            px[j] = y[2 * i]
            py[j] = y[2 * i + 1]
          }
          latentlab_repulsion_group(
            buffer.baseAddress!, px, py, Int32(k), theta * theta, stack, fx, fy, zs, avx2Available ? 1 : 0)
          for j in 0..<k {
            let i = Int(order[start + j])
            force[2 * i] = fx[j]
            force[2 * i + 1] = fy[j]
            z += zs[j]
          }
          start += k
        }
      }
    }
    return z
  }
}
