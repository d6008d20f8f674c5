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
  /// The most boxes along each dimension (memory: about 9 · (6 · maximumBoxes)² floats at
  /// 3 nodes per box, 324 MB at 500): beyond, boxes widen and the interpolation coarsens, as
  /// openTSNE's `max_grid_size`. A map of 60,000 points spans about 200 units.
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
/// grid transforms run in single precision. The real and imaginary parts carry two real
/// transforms each: `FFT(W + iK)` and `FFT(Kx + iKy)` forward, one transform back.
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
    var lo = Double.infinity, hi = -Double.infinity
    for i in 0..<(2 * n) {
      lo = min(lo, y[i])
      hi = max(hi, y[i])
    }
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
    weights.fill(y: y, lo: lo, boxWidth: boxWidth, boxes: boxes)

    // Spread: W[r][c] (r along y, c along x) = Σ over the box's points in index order.
    let charges = g.charges
    charges.update(repeating: 0, count: nodes * nodes)
    parallel.forEachChunk(count: boxes, chunks: min(boxes, 64)) { _, boxRows in
      for position in weights.boxStart[boxRows.lowerBound * boxes]..<weights.boxStart[boxRows.upperBound * boxes] {
        let i = Int(weights.order[position])
        let box = Int(weights.box[i])
        let (br, bc) = (box / boxes, box % boxes)
        for a in 0..<p {
          let wy = weights.wy[i * p + a]
          let row = charges + (br * p + a) * nodes + bc * p
          for b in 0..<p { row[b] += wy * weights.wx[i * p + b] }
        }
      }
    }

    // The kernels at node offsets (a·h, b·h), a, b < nodes: K is even in both, Kx odd in x,
    // Ky odd in y, so one quadrant gives the whole circulant (entries at index k < nodes are
    // offset k, above `nodes` offset k − side; index `nodes` is unused and holds 0).
    let h = boxWidth / Double(p)
    let quadrant = g.quadrant
    parallel.forEachChunk(count: nodes, chunks: min(nodes, 64)) { _, rows in
      for a in rows {
        let dy = Double(a) * h
        for b in 0..<nodes {
          let dx = Double(b) * h
          quadrant[a * nodes + b] = 1 / (1 + dx * dx + dy * dy)
        }
      }
    }
    // A = W + i·K and B = Kx + i·Ky.
    parallel.forEachChunk(count: side, chunks: min(side, 64)) { _, rows in
      for r in rows {
        let aRe = g.aRe + r * g.stride, aIm = g.aIm + r * g.stride
        let bRe = g.bRe + r * g.stride, bIm = g.bIm + r * g.stride
        if r == nodes {
          for c in 0..<side { (aRe[c], aIm[c], bRe[c], bIm[c]) = (0, 0, 0, 0) }
          continue
        }
        let dyIndex = r < nodes ? r : side - r
        let dy = Double(r < nodes ? r : r - side) * h
        let kRow = quadrant + dyIndex * nodes
        let wRow = charges + r * nodes
        for c in 0..<side {
          if c == nodes {
            (aRe[c], aIm[c], bRe[c], bIm[c]) = (0, 0, 0, 0)
            continue
          }
          let k = kRow[c < nodes ? c : side - c]
          let dx = Double(c < nodes ? c : c - side) * h
          let k2 = k * k
          aRe[c] = r < nodes && c < nodes ? Float(wRow[c]) : 0
          aIm[c] = Float(k)
          bRe[c] = Float(dx * k2)
          bIm[c] = Float(dy * k2)
        }
      }
    }
    let blocks = g.stride / FourierTransform.batch
    transformBlocks(fft, grids: [(g.aRe, g.aIm), (g.bRe, g.bIm)], blocks: 0..<blocks, parallel: parallel)
    transformRows(fft, [(g.aRe, g.aIm, g.tRe, g.tIm), (g.bRe, g.bIm, g.sRe, g.sIm)], rows: side, parallel: parallel)

    // Separate Ŵ and K̂ from F = FFT(W + iK) (W, K real: Ŵ(k) = (F(k) + F(−k)*)/2,
    // K̂(k) = (F(k) − F(−k)*)/2i, real as K is even), sum Ŵ·Ŵ*·K̂ for Z, and leave
    // (Ŵ·S)* in T for the transform back (the inverse DFT as the conjugate of a forward one).
    let halfRows = side / 2 + 1
    let zBlocks = min(halfRows, 64)
    let zParts: [Double] = parallel.mapChunks(count: halfRows, chunks: zBlocks) { _, rows in
      var z = 0.0
      for a in rows {
        let a2 = (side - a) % side
        let fr = g.tRe + a * g.stride, fi = g.tIm + a * g.stride
        let gr = g.tRe + a2 * g.stride, gi = g.tIm + a2 * g.stride
        let sr = g.sRe + a * g.stride, si = g.sIm + a * g.stride
        let s2r = g.sRe + a2 * g.stride, s2i = g.sIm + a2 * g.stride
        for b in 0..<side {
          let b2 = (side - b) % side
          if a == a2 && b > b2 { continue }  // a self-paired row: each pair once
          let (f1r, f1i, f2r, f2i) = (fr[b], fi[b], gr[b2], gi[b2])
          let wr = (f1r + f2r) * 0.5, wi = (f1i - f2i) * 0.5
          let kh = (f1i + f2i) * 0.5
          let power = Double(wr) * Double(wr) + Double(wi) * Double(wi)
          // (Ŵ·S)* at k, and at −k with Ŵ(−k) = Ŵ(k)*.
          let (s1r, s1i, s2rv, s2iv) = (sr[b], si[b], s2r[b2], s2i[b2])
          fr[b] = wr * s1r - wi * s1i
          fi[b] = -(wr * s1i + wi * s1r)
          if a != a2 || b != b2 {
            gr[b2] = wr * s2rv + wi * s2iv
            gi[b2] = -(wr * s2iv - wi * s2rv)
            z += 2 * power * Double(kh)
          } else {
            z += power * Double(kh)
          }
        }
      }
      return z
    }
    // Each point's own term as the grid sees it, Σ L(g) K(g − g') L(g') over its box's nodes:
    // about K(0) = 1 but off by the interpolation error, which is larger than Z itself when a
    // few points lie far apart; subtracting these rather than N leaves Σᵢ≠ⱼ of interpolated
    // kernels only.
    let selfKernel = (0..<(p * p)).map { d in Float(1 / (1 + pow(Double(d % p) * h, 2) + pow(Double(d / p) * h, 2))) }
    let selfParts: [Double] = selfKernel.withUnsafeBufferPointer { kernel in
      parallel.mapChunks(count: n, chunks: min(64, max(1, n / 256))) { _, points in
        var total = 0.0
        for i in points {
          let (wx, wy) = (weights.wx + i * p, weights.wy + i * p)
          for a in 0..<p {
            for a2 in 0..<p {
              var row = 0.0
              for b in 0..<p {
                for b2 in 0..<p { row += wx[b] * wx[b2] * Double(kernel[abs(a - a2) * p + abs(b - b2)]) }
              }
              total += wy[a] * wy[a2] * row
            }
          }
        }
        return total
      }
    }
    let scale = 1 / Double(side * side)
    let z = max(zParts.reduce(0, +) * scale - selfParts.reduce(0, +), 1e-300)

    // Back: transform T's columns (frequency along x → x), then its first `nodes` rows
    // transposed into A and transformed (frequency along y → y); A's first nodes × nodes
    // hold side² · (Fx − i·Fy).
    transformBlocks(fft, grids: [(g.tRe, g.tIm)], blocks: 0..<blocks, parallel: parallel)
    transformRows(fft, [(g.tRe, g.tIm, g.aRe, g.aIm)], rows: nodes, parallel: parallel)

    // Read back at each point with its weights, in a fixed order.
    parallel.forEachChunk(count: n, chunks: min(64, max(1, n / 256))) { _, points in
      for i in points {
        let box = Int(weights.box[i])
        let (br, bc) = (box / boxes, box % boxes)
        var fx = 0.0, fy = 0.0
        for a in 0..<p {
          let wy = weights.wy[i * p + a]
          let offset = (br * p + a) * g.stride + bc * p
          var rx = 0.0, ry = 0.0
          for b in 0..<p {
            let wx = weights.wx[i * p + b]
            rx += wx * Double(g.aRe[offset + b])
            ry += wx * Double(g.aIm[offset + b])
          }
          fx += wy * rx
          fy += wy * ry
        }
        force[2 * i] = fx * scale
        force[2 * i + 1] = -fy * scale
      }
    }
    return z
  }

  /// Transforms the column blocks `blocks` of each grid (re, im), each on the thread that
  /// owns a scratch.
  private func transformBlocks(
    _ fft: FourierTransform, grids list: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)], blocks: Range<Int>,
    parallel: DeterministicParallel
  ) {
    let g = grids
    let count = list.count * blocks.count
    let workers = min(parallel.threadCount, count, g.scratch.count)
    // Chunk c runs on thread c % workers (DeterministicParallel's static schedule), so each
    // scratch has one user at a time; a column's result does not depend on its chunk.
    parallel.forEachChunk(count: count, chunks: count) { c, _ in
      let (re, im) = list[c / blocks.count]
      let column = (blocks.lowerBound + c % blocks.count) * FourierTransform.batch
      fft.transformColumns(re: re + column, im: im + column, rowStride: g.stride, scratch: g.scratch[c % max(workers, 1)])
    }
  }

  /// For each (re, im, dRe, dIm): the first `rows` rows of the source transformed along the
  /// row, each row's spectrum written as column r of the destination.
  private func transformRows(
    _ fft: FourierTransform,
    _ list: [(UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)],
    rows: Int, parallel: DeterministicParallel
  ) {
    let g = grids
    let batch = FourierTransform.batch
    let tiles = (rows + batch - 1) / batch
    let count = tiles * list.count
    let workers = min(parallel.threadCount, count, g.scratch.count)
    parallel.forEachChunk(count: count, chunks: count) { t, _ in
      let (re, im, dRe, dIm) = list[t / tiles]
      let r0 = (t % tiles) * batch
      fft.transformRows(
        re: re + r0 * g.stride, im: im + r0 * g.stride, rowStride: g.stride, rows: min(batch, rows - r0), intoRe: dRe + r0,
        im: dIm + r0, stride: g.stride, scratch: g.scratch[t % max(workers, 1)])
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
  /// `boxWidth` wide, from `lo` in both coordinates; then the counting sort by box.
  func fill(y: UnsafePointer<Double>, lo: Double, boxWidth: Double, boxes: Int) {
    let (box, wx, wy, p) = (self.box, self.wx, self.wy, self.p)
    var counts = [Int](repeating: 0, count: boxes * boxes + 1)
    nodes.withUnsafeBufferPointer { t in
      denominators.withUnsafeBufferPointer { den in
        for i in 0..<n {
          var cellX = 0, cellY = 0
          for d in 0..<2 {
            let position = (y[2 * i + d] - lo) / boxWidth
            let index = min(max(Int(position.rounded(.down)), 0), boxes - 1)
            let u = position - Double(index)
            let out = d == 0 ? wx + i * p : wy + i * p
            for j in 0..<p {
              var numerator = 1.0
              for k in 0..<p where k != j { numerator *= u - t[k] }
              out[j] = numerator / den[j]
            }
            if d == 0 { cellX = index } else { cellY = index }
          }
          let b = cellY * boxes + cellX
          box[i] = Int32(b)
          counts[b + 1] += 1
        }
      }
    }
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

/// Four split-complex grids (A, B, T, S) of side × stride floats, one FFT scratch per thread,
/// and the node charges and the kernel's quadrant (nodes × nodes doubles each, nodes = side / 2).
private struct GridBuffers {
  var side = 0
  var stride = 0
  var storage: UnsafeMutablePointer<Float>?
  var scratch: [UnsafeMutablePointer<Float>] = []
  var nodeStorage: UnsafeMutablePointer<Double>?

  var charges: UnsafeMutablePointer<Double> { nodeStorage! }
  var quadrant: UnsafeMutablePointer<Double> { nodeStorage! + (side / 2) * (side / 2) }

  var aRe: UnsafeMutablePointer<Float> { storage! }
  var aIm: UnsafeMutablePointer<Float> { storage! + side * stride }
  var tRe: UnsafeMutablePointer<Float> { storage! + 2 * side * stride }
  var tIm: UnsafeMutablePointer<Float> { storage! + 3 * side * stride }
  var sRe: UnsafeMutablePointer<Float> { storage! + 4 * side * stride }
  var sIm: UnsafeMutablePointer<Float> { storage! + 5 * side * stride }
  var bRe: UnsafeMutablePointer<Float> { storage! + 6 * side * stride }
  var bIm: UnsafeMutablePointer<Float> { storage! + 7 * side * stride }

  mutating func resize(side: Int, threads: Int) {
    release()
    self.side = side
    stride = (side + FourierTransform.batch - 1) / FourierTransform.batch * FourierTransform.batch
    // Zeroed: the columns past `side` in the last block are transformed too and must be finite.
    storage = .allocate(capacity: 8 * side * stride)
    storage!.initialize(repeating: 0, count: 8 * side * stride)
    nodeStorage = .allocate(capacity: 2 * (side / 2) * (side / 2))
    nodeStorage!.initialize(repeating: 0, count: 2 * (side / 2) * (side / 2))
    scratch = (0..<max(threads, 1)).map { _ in
      let s = UnsafeMutablePointer<Float>.allocate(capacity: 6 * side * FourierTransform.batch)
      s.initialize(repeating: 0, count: 6 * side * FourierTransform.batch)
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
