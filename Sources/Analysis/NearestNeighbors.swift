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
    let block = 256
    let blocks = (n + block - 1) / block
    data.withUnsafeBufferPointer { x in
      norms.withUnsafeBufferPointer { norm in
        indices.withUnsafeMutableBufferPointer { outIndex in
          distances.withUnsafeMutableBufferPointer { outDistance in
            let (xs, ns, oi, od) = (x.baseAddress!, norm.baseAddress!, outIndex.baseAddress!, outDistance.baseAddress!)
            parallel.forEachChunk(count: blocks, chunks: blocks) { b, _ in
              let start = b * block
              let rows = min(block, n - start)
              var products = [Float](repeating: 0, count: rows * n)
              products.withUnsafeMutableBufferPointer { p in
                BLAS.sgemm(
                  transposeA: false, transposeB: true, m: rows, n: n, k: d, alpha: -2, a: xs + start * d, lda: d,
                  b: xs, ldb: d, beta: 0, c: p.baseAddress!, ldc: n)
              }
              var heapDistance = [Float](repeating: 0, count: k)
              var heapIndex = [Int32](repeating: 0, count: k)
              for r in 0..<rows {
                let i = start + r
                var size = 0
                products.withUnsafeBufferPointer { p in
                  let row = p.baseAddress! + r * n
                  for j in 0..<n where j != i {
                    let dist = max(0, ns[i] + ns[j] + row[j])
                    if size < k {
                      // Sift up into the max-heap.
                      var c = size
                      size += 1
                      while c > 0 {
                        let parent = (c - 1) / 2
                        if heapDistance[parent] >= dist { break }
                        heapDistance[c] = heapDistance[parent]
                        heapIndex[c] = heapIndex[parent]
                        c = parent
                      }
                      heapDistance[c] = dist
                      heapIndex[c] = Int32(j)
                    } else if dist < heapDistance[0] {
                      // Replace the farthest and sift down.
                      var c = 0
                      while true {
                        let left = 2 * c + 1
                        if left >= k { break }
                        var child = left
                        if left + 1 < k && heapDistance[left + 1] > heapDistance[left] { child = left + 1 }
                        if heapDistance[child] <= dist { break }
                        heapDistance[c] = heapDistance[child]
                        heapIndex[c] = heapIndex[child]
                        c = child
                      }
                      heapDistance[c] = dist
                      heapIndex[c] = Int32(j)
                    }
                  }
                }
                // Nearest first; equal distances by index.
                let order = (0..<k).sorted {
                  heapDistance[$0] != heapDistance[$1] ? heapDistance[$0] < heapDistance[$1] : heapIndex[$0] < heapIndex[$1]
                }
                for (slot, h) in order.enumerated() {
                  oi[i * k + slot] = heapIndex[h]
                  od[i * k + slot] = heapDistance[h]
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
