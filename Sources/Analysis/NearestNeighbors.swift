import CKernels
import TensorCore

/// Exact k-nearest-neighbour search: each row's `k` nearest other rows by squared Euclidean
/// distance, the first `k` by (distance, index), so ties go to the lower index whatever order
/// the points are looked at in.
///
/// Squared distances are `max(0, (‖x‖² + ‖y‖²) − 2 x·y)` in single precision. Two methods give
/// the same neighbours and the same distance bits:
/// - **exhaustive**: every row against every other, each keeping its `k` nearest in a bounded
///   max-heap. The products come from OpenBLAS's `sgemm` for a block of rows against a tile of
///   columns; on the `avx2` and `avx512` paths with at most `kernelDimensions` dimensions (a
///   model's latent codes, a 2-D map) they come instead from `latentlab_knn_rows`, which
///   computes each distance where it scans (8 or 16 at a time, never stored) with `x·y` one
///   fused multiply-add chain over the dimensions in order: for so few dimensions exactly what
///   the pinned `Haswell` `sgemm` computes (tested bit for bit), so the result is the same
///   either way and does not rest on the OpenBLAS release there.
/// - **tree** (the `avx2` and `avx512` paths, at most `kernelDimensions` dimensions, finite
///   values): a k-d tree (leaves of `treeLeafSize` points) searched nearer box first, each
///   distance computed by that same formula; a box is skipped only when the exact distance to
///   it exceeds the heap's largest by more than the formula's rounding can reach, so no point
///   the exhaustive search would keep is missed. 60,000 codes of 4 dimensions, k = 90:
///   hundreds of distances a row instead of 60,000.
///
/// Rows are independent, so the result is the same with any thread count.
public enum NearestNeighbors {
  /// The most dimensions the distance kernel and the tree take: up to these, OpenBLAS's
  /// `Haswell` `sgemm` sums the product in one chain too (from 8 on it splits the sum, and the
  /// kernel, which streams every column for every row, would also lose to `sgemm`'s blocking).
  public static let kernelDimensions = 7

  /// The most points in a leaf of the tree.
  public static let treeLeafSize: Int32 = 64

  /// How the neighbours are found (the same result either way).
  public enum Method: String, CaseIterable, Sendable {
    /// The tree where it applies (`treeApplies`), else exhaustive.
    case automatic
    /// Every row against every other.
    case exhaustive
    /// The k-d tree; an error where it does not apply.
    case tree
  }

  /// Whether the tree can search `data` `[N, D]` on `instructionSet`: AVX2 or better, at most
  /// `kernelDimensions` dimensions, every value finite (so every box is).
  public static func treeApplies(to data: Tensor, instructionSet: InstructionSet = .selected) -> Bool {
    guard data.rank == 2, instructionSet >= .avx2, (1...kernelDimensions).contains(data.shape[1]) else { return false }
    return data.withUnsafeBufferPointer { x in x.allSatisfy { $0.isFinite } }
  }

  /// For each row of `data` `[N, D]`: the indices and squared distances of its `k` nearest
  /// other rows, nearest first (equal distances by index). `method` and `instructionSet` choose
  /// how (the same result every way; tests compare them).
  public static func search(
    _ data: Tensor, k: Int, parallel: DeterministicParallel = DeterministicParallel(threads: 1),
    method: Method = .automatic, instructionSet: InstructionSet = .selected
  ) throws -> (indices: [Int32], distances: [Float]) {
    guard data.rank == 2, data.shape[0] > k, k >= 1 else {
      throw AnalysisError.invalidInput(what: "nearest neighbours", expected: "a matrix with more than k = \(k) rows", found: "\(data.shape)")
    }
    let useTree = method != .exhaustive && treeApplies(to: data, instructionSet: instructionSet)
    if method == .tree && !useTree {
      throw AnalysisError.invalidInput(
        what: "nearest neighbours by tree",
        expected: "finite values in 1 to \(kernelDimensions) dimensions on the avx2 or avx512 path",
        found: "\(data.shape) on \(instructionSet.rawValue)")
    }
    let (n, d) = data.shape2
    var norms = [Float](repeating: 0, count: n)
    data.withUnsafeBufferPointer { x in
      for i in 0..<n {
        var s: Float = 0
        for j in 0..<d { s += x[i * d + j] * x[i * d + j] }
        norms[i] = s
      }
    }
    var indices = [Int32](repeating: 0, count: n * k)
    var distances = [Float](repeating: 0, count: n * k)
    if useTree {
      searchByTree(data, norms: norms, k: k, parallel: parallel, indices: &indices, distances: &distances)
      return (indices, distances)
    }
    if instructionSet >= .avx2 && d <= kernelDimensions {
      searchByKernel(data, norms: norms, k: k, parallel: parallel, isa: instructionSet == .avx512 ? 2 : 1,
                     indices: &indices, distances: &distances)
      return (indices, distances)
    }
    // Blocks of rows against tiles of columns, so each product tile stays in cache while it
    // is scanned; every row still sees the columns in increasing order.
    let block = 128
    let tile = 2048
    let blocks = (n + block - 1) / block
    let vectorised: Int32 = instructionSet >= .avx2 ? 1 : 0
    data.withUnsafeBufferPointer { x in
      norms.withUnsafeBufferPointer { norm in
        indices.withUnsafeMutableBufferPointer { outIndex in
          distances.withUnsafeMutableBufferPointer { outDistance in
            let (xs, ns, oi, od) = (x.baseAddress!, norm.baseAddress!, outIndex.baseAddress!, outDistance.baseAddress!)
            parallel.forEachChunk(count: blocks, chunks: blocks) { b, _ in
              let start = b * block
              let rows = min(block, n - start)
              let products = UnsafeMutablePointer<Float>.allocate(capacity: rows * tile)
              let heapDistance = UnsafeMutablePointer<Float>.allocate(capacity: rows * k)
              let heapIndex = UnsafeMutablePointer<Int32>.allocate(capacity: rows * k)
              var sizes = [Int32](repeating: 0, count: rows)
              defer {
                products.deallocate()
                heapDistance.deallocate()
                heapIndex.deallocate()
              }
              var first = 0
              while first < n {
                let columns = min(tile, n - first)
                BLAS.sgemm(
                  transposeA: false, transposeB: true, m: rows, n: columns, k: d, alpha: -2, a: xs + start * d, lda: d,
                  b: xs + first * d, ldb: d, beta: 0, c: products, ldc: columns)
                for r in 0..<rows {
                  latentlab_knn_scan(
                    products + r * columns, ns, ns[start + r], Int32(first), Int32(columns), Int32(start + r), Int32(k),
                    heapDistance + r * k, heapIndex + r * k, &sizes[r], vectorised)
                }
                first += columns
              }
              sortHeaps(rows: rows, k: k, heapDistance: heapDistance, heapIndex: heapIndex, into: oi + start * k, od + start * k)
            }
          }
        }
      }
    }
    return (indices, distances)
  }

  /// The search by `latentlab_knn_rows` over blocks of rows, against the data transposed.
  static func searchByKernel(
    _ data: Tensor, norms: [Float], k: Int, parallel: DeterministicParallel, isa: Int32, indices: inout [Int32],
    distances: inout [Float]
  ) {
    let (n, d) = data.shape2
    var columns = [Float](repeating: 0, count: n * d)
    data.withUnsafeBufferPointer { x in
      for i in 0..<n { for c in 0..<d { columns[c * n + i] = x[i * d + c] } }
    }
    let block = 128
    let blocks = (n + block - 1) / block
    data.withUnsafeBufferPointer { x in
      columns.withUnsafeBufferPointer { columns in
        norms.withUnsafeBufferPointer { norm in
          indices.withUnsafeMutableBufferPointer { outIndex in
            distances.withUnsafeMutableBufferPointer { outDistance in
              let (xs, cs, ns) = (x.baseAddress!, columns.baseAddress!, norm.baseAddress!)
              let (oi, od) = (outIndex.baseAddress!, outDistance.baseAddress!)
              parallel.forEachChunk(count: blocks, chunks: blocks) { b, _ in
                let start = b * block
                let rows = min(block, n - start)
                let heapDistance = UnsafeMutablePointer<Float>.allocate(capacity: rows * k)
                let heapIndex = UnsafeMutablePointer<Int32>.allocate(capacity: rows * k)
                defer {
                  heapDistance.deallocate()
                  heapIndex.deallocate()
                }
                latentlab_knn_rows(xs, cs, ns, Int64(n), Int32(d), Int32(start), Int32(rows), Int32(k), heapDistance, heapIndex, isa)
                sortHeaps(rows: rows, k: k, heapDistance: heapDistance, heapIndex: heapIndex, into: oi + start * k, od + start * k)
              }
            }
          }
        }
      }
    }
  }

  /// The search through the k-d tree: built once, then each row searched (in the tree's order,
  /// so neighbouring rows share the boxes they read) and written sorted.
  static func searchByTree(
    _ data: Tensor, norms: [Float], k: Int, parallel: DeterministicParallel, indices: inout [Int32],
    distances: inout [Float]
  ) {
    let (n, d) = data.shape2
    let capacity = Int(latentlab_knn_tree_node_capacity(Int64(n), treeLeafSize))
    var nodes = [ll_knn_node](repeating: ll_knn_node(), count: capacity)
    var order = [Int32](repeating: 0, count: n)
    var columns = [Float](repeating: 0, count: n * d)
    var sortedNorms = [Float](repeating: 0, count: n)
    data.withUnsafeBufferPointer { x in
      _ = latentlab_knn_tree_build(
        x.baseAddress!, norms, Int64(n), Int32(d), treeLeafSize, &order, &columns, &sortedNorms, &nodes)
    }
    // Rows cost unevenly (a row among many equal points reads them all): chunks are claimed.
    let chunks = max(1, min(256, n / 64))
    nodes.withUnsafeBufferPointer { nodes in
      order.withUnsafeBufferPointer { order in
        columns.withUnsafeBufferPointer { columns in
          sortedNorms.withUnsafeBufferPointer { sortedNorms in
            indices.withUnsafeMutableBufferPointer { outIndex in
              distances.withUnsafeMutableBufferPointer { outDistance in
                let (nd, od) = (nodes.baseAddress!, order.baseAddress!)
                let (cd, nsd) = (columns.baseAddress!, sortedNorms.baseAddress!)
                let (oi, odist) = (outIndex.baseAddress!, outDistance.baseAddress!)
                parallel.forEachChunk(count: n, chunks: chunks, schedule: .claimed) { _, positions in
                  let heap = UnsafeMutablePointer<UInt64>.allocate(capacity: k)
                  defer { heap.deallocate() }
                  latentlab_knn_tree_query(
                    nd, od, cd, nsd, Int64(n), Int32(d), Int32(k), Int64(positions.lowerBound), Int64(positions.count), heap,
                    oi, odist)
                }
              }
            }
          }
        }
      }
    }
  }

  /// Each row's full heap (k entries), nearest first and equal distances by index, into
  /// `indices`/`distances` (row r at r·k).
  static func sortHeaps(
    rows: Int, k: Int, heapDistance: UnsafePointer<Float>, heapIndex: UnsafePointer<Int32>,
    into indices: UnsafeMutablePointer<Int32>, _ distances: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let (hd, hi) = (heapDistance + r * k, heapIndex + r * k)
      let order = (0..<k).sorted { hd[$0] != hd[$1] ? hd[$0] < hd[$1] : hi[$0] < hi[$1] }
      for (slot, h) in order.enumerated() {
        indices[r * k + slot] = hi[h]
        distances[r * k + slot] = hd[h]
      }
    }
  }
}
