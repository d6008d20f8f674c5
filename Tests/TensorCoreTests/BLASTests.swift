import TensorCore
import TestSupport
import XCTest

final class BLASTests: XCTestCase {
  /// Oracle: a triple loop in Double over the transposed operands.
  func testSgemmTransposesAndAccumulates() {
    var g = SeededGenerator(seed: 2, streamName: "test/blas")
    let (m, n, k) = (4, 6, 5)
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      // A stored as [m, k] or, transposed, [k, m]; likewise B.
      let a = (0..<(m * k)).map { _ in g.nextUniform(-1, 1) }
      let b = (0..<(k * n)).map { _ in g.nextUniform(-1, 1) }
      let c0 = (0..<(m * n)).map { _ in g.nextUniform(-1, 1) }
      var c = c0
      let lda = ta ? m : k
      let ldb = tb ? k : n
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            BLAS.sgemm(
              transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5,
              a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
              beta: 2, c: pc.baseAddress!, ldc: n)
          }
        }
      }
      var expected = [Double](repeating: 0, count: m * n)
      for i in 0..<m {
        for j in 0..<n {
          var s = 0.0
          for p in 0..<k {
            let aip = ta ? a[p * lda + i] : a[i * lda + p]
            let bpj = tb ? b[j * ldb + p] : b[p * ldb + j]
            s += Double(aip) * Double(bpj)
          }
          expected[i * n + j] = 0.5 * s + 2 * Double(c0[i * n + j])
        }
      }
      assertClose(c.map(Double.init), expected, atol: 1e-5, rtol: 1e-5, "transposeA \(ta) transposeB \(tb)")
    }
  }

  /// One thread, and no OpenBLAS worker thread left running (an idle one spins for a while
  /// and takes a core from LatentLab's own threads), even after a product large enough that a
  /// threaded OpenBLAS would split it.
  func testBLASIsSingleThreadedWithNoWorkerThreads() {
    XCTAssertEqual(BLAS.threadCount, 1)
    XCTAssertFalse(BLAS.workerThreadsRunning, "OpenBLAS's thread server is running")
    let n = 512
    let a = [Float](repeating: 0.5, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    BLAS.sgemm(
      transposeA: false, transposeB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: a, ldb: n, beta: 0, c: &c, ldc: n)
    XCTAssertEqual(c[0], 0.25 * Float(n))
    XCTAssertFalse(BLAS.workerThreadsRunning, "OpenBLAS started its thread server again")
  }

  /// The kernel table is pinned per path, whatever OpenBLAS would pick for this CPU
  /// (`FingerprintCommandTests` checks the bits under other `OPENBLAS_CORETYPE` values).
  func testTheKernelTableIsPinnedForThePath() {
    XCTAssertEqual(BLAS.coreName, BLAS.pinnedCoreType(for: InstructionSet.selected))
    XCTAssertEqual(BLAS.pinnedCoreType(for: .avx2), "Haswell")
    XCTAssertEqual(BLAS.pinnedCoreType(for: .avx512), "Haswell")
    XCTAssertEqual(BLAS.pinnedCoreType(for: .portable), "Prescott")
  }
}
