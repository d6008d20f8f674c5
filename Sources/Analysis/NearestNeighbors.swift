import CKernels
import TensorCore

/// Exact k-nearest-neighbour search: every row against every other, each row keeping its `k`
/// nearest in a bounded max-heap (ties go to the lower index).
///
/// Squared distances are `max(0, (‖x‖² + ‖y‖²) − 2 x·y)` in single precision. The products come
/// from OpenBLAS's `sgemm` for a block of rows against a tile of columns; on the `avx2` and
/// `avx512` paths with at most `kernelDimensions` dimensions (a model's latent codes, a 2-D
/// map) they come instead from `latentlab_knn_rows`, which computes each distance where it
/// scans (8 or 16 at a time, never stored) with `x·y` one fused multiply-add chain over the
/// dimensions in order: for so few dimensions exactly what the pinned `Haswell` `sgemm`
/// computes (tested bit for bit), so the result is the same either way and no longer rests on
/// the OpenBLAS release there. Rows are independent, so the result is the same with any
/// thread count.
public enum NearestNeighbors {
  /// The most dimensions the distance kernel takes: up to these, OpenBLAS's `Haswell` `sgemm`
  /// sums the product in one chain too (from 8 on it splits the sum, and the kernel, which
  /// streams every column for every row, would also lose to `sgemm`'s blocking).
  public static let kernelDimensions = 7

  /// For each row of `data` `[N, D]`: the indices and squared distances of its `k` nearest
  /// other rows, nearest first. `instructionSet` chooses the kernels (tests compare them).
  public static func search(
    _ data: Tensor, k: Int, parallel: DeterministicParallel = DeterministicParallel(threads: 1),
    instructionSet: InstructionSet = .selected
  ) throws -> (indices: [Int32], distances: [Float]) {
    guard data.rank == 2, data.shape[0] > k, k >= 1 else {
      throw AnalysisError.invalidInput(what: "nearest neighbours", expected: "a matrix with more than k = \(k) rows", found: "\(data.shape)")
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
