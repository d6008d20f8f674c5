import CKernels
import TensorCore

/// Exact k-nearest-neighbour search by blocks of BLAS distance computations.
///
/// Squared distances `‖x‖² + ‖y‖² − 2 x·y` for a block of rows against all rows come from one
/// `sgemm`; each row keeps its `k` nearest (excluding itself) with a bounded max-heap. Rows are
/// independent, so the result is the same with any thread count; ties go to the lower index.
public enum NearestNeighbors {
  /// For each row of `data` `[N, D]`: the indices and squared distances of its `k` nearest
  /// other rows, nearest first.
  public static func search(
    _ data: Tensor, k: Int, parallel: DeterministicParallel = DeterministicParallel(threads: 1)
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
    // Blocks of rows against tiles of columns, so each product tile stays in cache while it
    // is scanned; every row still sees the columns in increasing order.
    let block = 128
    let tile = 2048
    let blocks = (n + block - 1) / block
    let vectorised: Int32 = InstructionSet.usesAVX2Kernels ? 1 : 0
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
              for r in 0..<rows {
                let i = start + r
                let (hd, hi) = (heapDistance + r * k, heapIndex + r * k)
                // Nearest first; equal distances by index.
                let order = (0..<k).sorted { hd[$0] != hd[$1] ? hd[$0] < hd[$1] : hi[$0] < hi[$1] }
                for (slot, h) in order.enumerated() {
                  oi[i * k + slot] = hi[h]
                  od[i * k + slot] = hd[h]
                }
              }
            }
          }
        }
      }
    }
    return (indices, distances)
  }
}
