import CKernels
import Foundation
import TensorCore

/// The settings of FFT-accelerated interpolation (FIt-SNE's defaults).
public struct TSNEInterpolationOptions: Codable, Equatable, Sendable {
  /// Interpolation nodes per box and dimension (1 to 6), equispaced at `(j + ½) / p` of the box.
  public var pointsPerBox: Int = 3
  /// The fewest boxes along each dimension.
  public var minimumBoxes: Int = 50
  /// The widest a box may be (embedding units); more boxes are used as the map grows.
  public var maximumBoxWidth: Double = 1
  /// The most boxes along each dimension (memory: about 7 · (6 · maximumBoxes)² floats at
  /// 3 nodes per box, 252 MB at 500, plus the node charges in double): beyond, boxes widen and
  /// the interpolation coarsens, as openTSNE's `max_grid_size`. A map of 60,000 points spans
  /// about 200 units.
  public var maximumBoxes: Int = 500

  public init() {}
}

/// The repulsive half of t-SNE's gradient by polynomial interpolation on a grid and FFT
/// convolutions (G. C. Linderman et al., "Fast interpolation-based t-SNE for improved
/// visualization of single-cell RNA-seq data", Nature Methods 16, 2019), in 2-D.
///
/// The map's bounding square is cut into `B × B` boxes (B the smallest 5-smooth number with
/// `B ≥ max(minimumBoxes, span / maximumBoxWidth)`, within the caps of `boxCount`), each with
/// `p × p` nodes. Each point
/// spreads a unit charge onto its box's nodes with Lagrange weights; the node charges `W` are
/// convolved with three kernels sampled at the node offsets `Δ`: `K(Δ) = 1/(1 + |Δ|²)` and
/// `Kx(Δ) = Δx·K(Δ)²`, `Ky(Δ) = Δy·K(Δ)²`; each point reads back the `Kx`, `Ky` fields with the
/// same weights. So, up to the interpolation error,
/// - the force on point i is `Σⱼ qᵢⱼ² Z² (yᵢ − yⱼ)` before dividing by Z (as
///   `latentlab_repulsion_group` returns it), with `qᵢⱼ Z = K(yᵢ − yⱼ)`;
/// - the normaliser is `Z = Σᵢ≠ⱼ K(yᵢ − yⱼ) = Wᵀ (K ⊛ W) − Σᵢ selfᵢ`, `Wᵀ (K ⊛ W)` taken by
///   Parseval's theorem from the spectra (so `K ⊛ W` itself is never transformed back), and
///   selfᵢ each point's own term through the grid (FIt-SNE subtracts N, which leaves the self
///   terms' interpolation error in Z: larger than Z itself for a few points far apart).
///
/// FIt-SNE convolves `K²` with four charges `(1, x, y, x² + y²)` and recombines; convolving
/// the derivative-shaped kernels instead needs one charge, and nothing cancels (the
/// recombination subtracts numbers of size |y|² when the map is wide), which is what lets the
/// grid transforms run in single precision.
///
/// The transforms do only the work the symmetries leave. W is zero outside one quadrant of the
/// padded grid, so its columns past `nodes` are never transformed and only the rows
/// `0 … nodes` of its half spectrum (the rest is `Ŵ(−f) = Ŵ(f)*`). The kernels are real with
/// a parity in each axis: `R = K + i·(Kx + Ky)` is transformed along y in columns `0 … nodes`
/// only, where each part of the result is real; its rows, unfolded by parity and packed two
/// to a transform, give along x the real `M = K̂ − β − γ` (`K̂x = iγ`, `K̂y = iβ`), whose terms
/// separate by their parities over `(±fx, ±fy)`. With the transform back, that is 3.5 grid
/// passes an iteration, against 5.5 for the complex transforms of `W + iK` and `Kx + iKy`.
///
/// Determinism: each point's weights and readback depend on that point alone; each node's
/// charge sums its box's points in index order; the transforms are per column; Z's partial
/// sums are over fixed blocks of rows, added in order. The same bits with any thread count
/// and instruction set.
final class InterpolatedRepulsion {
  let options: TSNEInterpolationOptions
  private var transform: FourierTransform?
  private var grids = GridBuffers()
  /// Each point's box and weights, refilled every call (allocated once per N).
  private var weights: PointWeights?

  init(options: TSNEInterpolationOptions) {
    self.options = options
  }

  deinit { grids.release() }

  /// The number of boxes along each side for a map whose bounding square has side `span`:
  /// enough for boxes at most `maximumBoxWidth` wide, at least `minimumBoxes`, at most
  /// `maximumBoxes`, rounded up to 5-smooth.
  func boxCount(span: Double) -> Int {
    let wanted = Int(min((span / options.maximumBoxWidth).rounded(.up), 1e9))
    return FourierTransform.smoothSize(atLeast: min(max(options.minimumBoxes, wanted), options.maximumBoxes))
  }

  /// The repulsive forces on the `n` points `y` (`[2N]`, x and y interleaved) into `force`
  /// (before dividing by Z); returns Z.
  func forces(y: [Double], n: Int, parallel: DeterministicParallel, into force: UnsafeMutablePointer<Double>) -> Double {
    y.withUnsafeBufferPointer { forces(y: $0.baseAddress!, n: n, parallel: parallel, into: force) }
  }

  private func forces(
    y: UnsafePointer<Double>, n: Int, parallel: DeterministicParallel, into force: UnsafeMutablePointer<Double>
  ) -> Double {
    let p = options.pointsPerBox
    // The map's extent (min and max are exact: any chunking gives the same bits).
    let extents: [(Double, Double)] = parallel.mapChunks(count: 2 * n, chunks: min(64, max(1, n / 256))) { _, range in
      var (lo, hi) = (Double.infinity, -Double.infinity)
      for i in range {
        lo = min(lo, y[i])
        hi = max(hi, y[i])
      }
      return (lo, hi)
    }
    let lo = extents.map(\.0).min()!, hi = extents.map(\.1).max()!
    let span = max(hi - lo, 1e-9)
    let boxes = boxCount(span: span)
    let boxWidth = span / Double(boxes)
    let nodes = boxes * p
    let side = 2 * nodes
    if transform?.length != side || grids.scratch.count < parallel.threadCount {
      // A new side: the plan and the grids follow (rarely: the map grows by whole boxes).
      // `side` = 2·p·B with p ≤ 6 (validated) and B 5-smooth, so the plan always exists.
      transform = try! FourierTransform(length: side)
      grids.resize(side: side, threads: parallel.threadCount)
    }
    let fft = transform!
    let g = grids

    // Each point's box and its p + p Lagrange weights; points sorted by box (stable).
    if weights?.n != n { weights = PointWeights(n: n, p: p) }
    let weights = self.weights!
    weights.fill(y: y, lo: lo, boxWidth: boxWidth, boxes: boxes, parallel: parallel)

    // Spread: W[r][c] (r along y, c along x) = Σ over the box's points in index order.
    let charges = g.charges
    parallel.forEachChunk(count: boxes, chunks: min(boxes, 64)) { _, boxRows in
      // This chunk's box rows own these rows of charges.
      (charges + boxRows.lowerBound * p * nodes).update(repeating: 0, count: boxRows.count * p * nodes)
      latentlab_tsne_spread(
        weights.order, weights.box, weights.wx, weights.wy, Int64(weights.boxStart[boxRows.lowerBound * boxes]),
        Int64(weights.boxStart[boxRows.upperBound * boxes]), Int32(boxes), Int32(p), Int32(nodes), charges)
    }

    // The node charges W as a grid (rows y, columns x; zero past `nodes` in both), its
    // columns transformed below; the columns past `wColumns` stay zero from allocation.
    let batch = FourierTransform.batch
    let wColumns = (nodes + batch - 1) / batch * batch
    parallel.forEachChunk(count: side, chunks: min(side, 64)) { _, rows in
      for r in rows {
        let re = g.wRe + r * g.stride, im = g.wIm + r * g.stride
        if r < nodes {
          let source = charges + r * nodes
          for c in 0..<nodes { re[c] = Float(source[c]) }
          for c in nodes..<wColumns { re[c] = 0 }
        } else {
          re.update(repeating: 0, count: wColumns)
        }
        im.update(repeating: 0, count: wColumns)
      }
    }
    // The kernels at the node offsets, R = K + i·(Kx + Ky), in columns 0 … nodes (K and Ky
    // are even in x, Kx odd: the other columns follow from these).
    let rColumns = (nodes + 1 + batch - 1) / batch * batch
    let h = Float(boxWidth / Double(p))
    parallel.forEachChunk(count: side, chunks: min(side, 64)) { _, rows in
      latentlab_tsne_kernel_grid(
        Int32(nodes), Int32(side), h, Int32(rows.lowerBound), Int32(rows.upperBound), Int32(rColumns), g.rRe, g.rIm,
        Int64(g.stride))
    }
    // Along y: W's columns, and R's. The transform of R is real in each part (K, Kx even in
    // y and Ky odd): U = FFT_y(K) + i·FFT_y(Ky) in the real part, V = FFT_y(Kx) in the imaginary.
    transformBlocks(fft, grids: [(g.wRe, g.wIm, wColumns / batch), (g.rRe, g.rIm, rColumns / batch)], parallel: parallel)
    // R's rows two to a transform (row r and r + side/2, unfolded to all x by parity), so that
    // the transforms along x give the real spectrum M = K̂ − β − γ of two rows at once.
    let half = side / 2
    parallel.forEachChunk(count: half, chunks: min(half, 64)) { _, rows in
      latentlab_tsne_pack_kernel_rows(
        Int32(nodes), Int32(side), Int32(rows.lowerBound), Int32(rows.upperBound), g.rRe, g.rIm, Int64(g.stride), g.pRe,
        g.pIm, Int64(g.stride))
    }
    // Along x, transposed: Ŵ[fx][fy] for fy ≤ nodes (the rest is Ŵ(−f) = Ŵ(f)*), and M[fx][r].
    transformRows(
      fft,
      [(g.wRe, g.wIm, nodes + 1, g.w2Re, g.w2Im, g.nodeStride), (g.pRe, g.pIm, half, g.mRe, g.mIm, g.halfStride)],
      parallel: parallel)

    // The product (Ŵ·(K̂x + i·K̂y))* into R's storage for the transform back (the inverse DFT
    // as the conjugate of a forward one), and Σ |Ŵ|²·K̂ for Z, over fixed blocks of rows.
    let code = FourierTransform.code(.selected)
    let productChunks = min(side, 64)
    let productWorkers = max(min(parallel.threadCount, productChunks, g.scratch.count), 1)
    let zParts: [Double] = parallel.mapChunks(count: side, chunks: productChunks) { c, rows in
      let z = latentlab_tsne_spectrum_product(
        Int32(nodes), Int32(side), Int32(rows.lowerBound), Int32(rows.upperBound), g.w2Re, g.w2Im, Int64(g.nodeStride),
        g.mRe, g.mIm, Int64(g.halfStride), g.rRe, g.rIm, Int64(g.stride), g.scratch[c % productWorkers], code)
      // The last block's columns past `side` are transformed back too: keep them zero.
      for fx in rows {
        (g.rRe + fx * g.stride + side).update(repeating: 0, count: g.stride - side)
        (g.rIm + fx * g.stride + side).update(repeating: 0, count: g.stride - side)
      }
      return z
    }
    // Each point's own term as the grid sees it, Σ L(g) K(g − g') L(g') over its box's nodes:
    // about K(0) = 1 but off by the interpolation error, which is larger than Z itself when a
    // few points lie far apart; subtracting these rather than N leaves Σᵢ≠ⱼ of interpolated
    // kernels only.
    let selfKernel = (0..<(p * p)).map { d -> Float in
      let (dx, dy) = (Float(d % p) * h, Float(d / p) * h)
      return 1 / ((1 + dx * dx) + dy * dy)  // as latentlab_tsne_kernel_grid computes it
    }
    // Σ over node pairs depends only on their offsets (da, db), so the sum factors as
    // Σ_da Cy(da) Σ_db Cx(db) K(da, db), with Cx(d) = Σ_{|b − b'| = d} wx_b·wx_b' (p² products,
    // not p⁴).
    let selfParts: [Double] = selfKernel.withUnsafeBufferPointer { kernel in
      parallel.mapChunks(count: n, chunks: min(64, max(1, n / 256))) { _, points in
        latentlab_tsne_self_terms(
          weights.wx, weights.wy, Int32(points.lowerBound), Int32(points.upperBound), Int32(p), kernel.baseAddress!, code)
      }
    }
    let scale = 1 / Double(side * side)
    let z = max(zParts.reduce(0, +) * scale - selfParts.reduce(0, +), 1e-300)

    // Back: transform T's columns (frequency along x → x), then its first `nodes` rows
    // transposed into W's storage and transformed (frequency along y → y); its first
    // nodes × nodes hold side² · (Fx − i·Fy).
    transformBlocks(fft, grids: [(g.rRe, g.rIm, g.stride / batch)], parallel: parallel)
    transformRows(fft, [(g.rRe, g.rIm, nodes, g.wRe, g.wIm, g.stride)], parallel: parallel)

    // Read back at each point with its weights.
    parallel.forEachChunk(count: n, chunks: min(64, max(1, n / 256))) { _, points in
      latentlab_tsne_read_back(
        weights.box, weights.wx, weights.wy, Int32(points.lowerBound), Int32(points.upperBound), Int32(boxes), Int32(p),
        g.wRe, g.wIm, Int64(g.stride), scale, force, code)
    }
    return z
  }

  /// Transforms the first `blocks` column blocks of each grid (re, im, blocks), each on the
  /// thread that owns a scratch.
  private func transformBlocks(
    _ fft: FourierTransform, grids list: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int)],
    parallel: DeterministicParallel
  ) {
    let g = grids
    let jobs = list.enumerated().flatMap { grid, entry in (0..<entry.2).map { (grid, $0) } }
    let workers = max(min(parallel.threadCount, jobs.count, g.scratch.count), 1)
    // Chunk c runs on thread c % workers (DeterministicParallel's static schedule), so each
    // scratch has one user at a time; a column's result does not depend on its chunk.
    parallel.forEachChunk(count: jobs.count, chunks: jobs.count) { c, _ in
      let (grid, block) = jobs[c]
      let (re, im, _) = list[grid]
      let column = block * FourierTransform.batch
      fft.transformColumns(re: re + column, im: im + column, rowStride: g.stride, scratch: g.scratch[c % workers])
    }
  }

  /// For each (re, im, rows, dRe, dIm, dStride): the first `rows` rows of the source (row
  /// stride `stride`) transformed along the row, row r's spectrum written as column r of the
  /// destination (row stride dStride).
  private func transformRows(
    _ fft: FourierTransform,
    _ list: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<Float>, Int)],
    parallel: DeterministicParallel
  ) {
    let g = grids
    let batch = FourierTransform.batch
    let jobs = list.enumerated().flatMap { entry, item in (0..<((item.2 + batch - 1) / batch)).map { (entry, $0 * batch) } }
    let workers = max(min(parallel.threadCount, jobs.count, g.scratch.count), 1)
    parallel.forEachChunk(count: jobs.count, chunks: jobs.count) { t, _ in
      let (entry, r0) = jobs[t]
      let (re, im, rows, dRe, dIm, dStride) = list[entry]
      fft.transformRows(
        re: re + r0 * g.stride, im: im + r0 * g.stride, rowStride: g.stride, rows: min(batch, rows - r0), intoRe: dRe + r0,
        im: dIm + r0, stride: dStride, scratch: g.scratch[t % workers])
    }
  }
}

/// Each point's box, its Lagrange weights along x and y, and the points sorted by box; the
/// storage for `n` points at `p` nodes per box, refilled by `fill`.
private final class PointWeights {
  let n: Int
  let p: Int
  let box: UnsafeMutablePointer<Int32>
  let wx: UnsafeMutablePointer<Double>
  let wy: UnsafeMutablePointer<Double>
  /// Point indices by box (row-major), index order within a box.
  let order: UnsafeMutablePointer<Int32>
  /// `boxStart[b]`: the first position in `order` of box b (`boxes² + 1` entries).
  private(set) var boxStart: [Int] = []
  /// Node positions within a box, and the Lagrange denominators Π_{k≠j} (t_j − t_k).
  private let nodes: [Double]
  private let denominators: [Double]

  init(n: Int, p: Int) {
    (self.n, self.p) = (n, p)
    box = .allocate(capacity: n)
    wx = .allocate(capacity: n * p)
    wy = .allocate(capacity: n * p)
    order = .allocate(capacity: n)
    let nodes = (0..<p).map { (Double($0) + 0.5) / Double(p) }
    self.nodes = nodes
    denominators = (0..<p).map { j in (0..<p).filter { $0 != j }.reduce(1.0) { $0 * (nodes[j] - nodes[$1]) } }
  }

  deinit {
    box.deallocate()
    wx.deallocate()
    wy.deallocate()
    order.deallocate()
  }

  /// The boxes and weights of the points `y` (`[2N]`) on the grid of `boxes` boxes a side,
  /// `boxWidth` wide, from `lo` in both coordinates (each point on its own, in parallel); then
  /// the counting sort by box.
  func fill(y: UnsafePointer<Double>, lo: Double, boxWidth: Double, boxes: Int, parallel: DeterministicParallel) {
    let (box, wx, wy, p, n) = (self.box, self.wx, self.wy, self.p, self.n)
    let code = FourierTransform.code(.selected)
    nodes.withUnsafeBufferPointer { t in
      denominators.withUnsafeBufferPointer { den in
        parallel.forEachChunk(count: n, chunks: min(64, max(1, n / 256))) { _, points in
          latentlab_tsne_point_weights(
            y, Int32(points.lowerBound), Int32(points.upperBound), lo, boxWidth, Int32(boxes), Int32(p), t.baseAddress!,
            den.baseAddress!, box, wx, wy, code)
        }
      }
    }
    var counts = [Int](repeating: 0, count: boxes * boxes + 1)
    for i in 0..<n { counts[Int(box[i]) + 1] += 1 }
    for b in 0..<(boxes * boxes) { counts[b + 1] += counts[b] }
    boxStart = counts
    var fill = counts
    for i in 0..<n {
      let b = Int(box[i])
      order[fill[b]] = Int32(i)
      fill[b] += 1
    }
  }
}

/// The split-complex grids of one side: W (the charges, later the fields read back) and R (the
/// kernels, later the product) of side × stride floats; P, R's rows packed two to one (side/2
/// rows); Ŵ's half spectrum (side rows of nodeStride) and M (side rows of halfStride); one FFT
/// scratch per thread; and the node charges (nodes × nodes doubles, nodes = side / 2).
private struct GridBuffers {
  var side = 0
  var stride = 0
  var nodeStride = 0
  var halfStride = 0
  var storage: UnsafeMutablePointer<Float>?
  var scratch: [UnsafeMutablePointer<Float>] = []
  var nodeStorage: UnsafeMutablePointer<Double>?

  var charges: UnsafeMutablePointer<Double> { nodeStorage! }

  private var full: Int { side * stride }
  var wRe: UnsafeMutablePointer<Float> { storage! }
  var wIm: UnsafeMutablePointer<Float> { storage! + full }
  var rRe: UnsafeMutablePointer<Float> { storage! + 2 * full }
  var rIm: UnsafeMutablePointer<Float> { storage! + 3 * full }
  var pRe: UnsafeMutablePointer<Float> { storage! + 4 * full }
  var pIm: UnsafeMutablePointer<Float> { storage! + 4 * full + (side / 2) * stride }
  var w2Re: UnsafeMutablePointer<Float> { storage! + 4 * full + side * stride }
  var w2Im: UnsafeMutablePointer<Float> { w2Re + side * nodeStride }
  var mRe: UnsafeMutablePointer<Float> { w2Re + 2 * side * nodeStride }
  var mIm: UnsafeMutablePointer<Float> { mRe + side * halfStride }
  private var count: Int { 5 * full + 2 * side * nodeStride + 2 * side * halfStride }

  mutating func resize(side: Int, threads: Int) {
    release()
    let batch = FourierTransform.batch
    let round = { (n: Int) in (n + batch - 1) / batch * batch }
    self.side = side
    stride = round(side)
    nodeStride = round(side / 2 + 1)
    halfStride = round(side / 2)
    // Zeroed: columns past those written (W's beyond `nodes`, every grid's past `side` in
    // the last block) are transformed too and must be zero, or at least finite.
    storage = .allocate(capacity: count)
    storage!.initialize(repeating: 0, count: count)
    nodeStorage = .allocate(capacity: (side / 2) * (side / 2))
    nodeStorage!.initialize(repeating: 0, count: (side / 2) * (side / 2))
    scratch = (0..<max(threads, 1)).map { _ in
      let s = UnsafeMutablePointer<Float>.allocate(capacity: 6 * side * batch)
      s.initialize(repeating: 0, count: 6 * side * batch)
      return s
    }
  }

  mutating func release() {
    storage?.deallocate()
    storage = nil
    nodeStorage?.deallocate()
    nodeStorage = nil
    for s in scratch { s.deallocate() }
    scratch = []
  }
}

extension TSNEInterpolationOptions {
  /// Throws unless 1 ≤ pointsPerBox ≤ 6 (so the grid's side stays 5-smooth), 1 ≤ minimumBoxes
  /// ≤ maximumBoxes and maximumBoxWidth > 0.
  func validate() throws {
    guard (1...6).contains(pointsPerBox), minimumBoxes >= 1, maximumBoxes >= minimumBoxes, maximumBoxWidth > 0 else {
      throw AnalysisError.invalidInput(
        what: "t-SNE interpolation",
        expected: "pointsPerBox 1 to 6, minimumBoxes >= 1, maximumBoxes >= minimumBoxes, maximumBoxWidth > 0",
        found: "\(pointsPerBox), \(minimumBoxes), \(maximumBoxes), \(maximumBoxWidth)")
    }
  }
}
