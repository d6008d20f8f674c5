import CBLAS

/// Matrix kernels through OpenBLAS, kept single-threaded for reproducibility.
///
/// OpenBLAS's own threading splits the K dimension differently for different thread counts,
/// so `sgemm` with 2 threads differs in some bits from 1 thread (measured on this machine
/// kind: M=17, N=72, K=12250 differs in 558 of 1224 elements). LatentLab therefore keeps
/// BLAS at one thread and parallelises itself over fixed chunks (`DeterministicParallel`).
public enum BLAS {
  /// Forces OpenBLAS to one thread, once per process, before the first BLAS call.
  private static let singleThreaded: Void = {
    openblas_set_num_threads(1)
  }()

  /// Makes sure OpenBLAS runs single-threaded; every wrapper calls it, and it costs nothing
  /// after the first call.
  @inline(__always)
  public static func ensureSingleThreaded() { _ = singleThreaded }

  /// `C ← alpha · op(A) · op(B) + beta · C`, row-major, where op is the identity or transpose.
  ///
  /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the
  /// row strides of the matrices as stored (before `op`).
  @inlinable
  public static func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    ensureSingleThreaded()
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
      beta, c, blasint(ldc))
  }

  /// As `sgemm`, in double precision (used by the float64 reference paths in tests).
  @inlinable
  public static func dgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    ensureSingleThreaded()
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
      beta, c, blasint(ldc))
  }

  /// The number of threads OpenBLAS is set to use (1 once any wrapper has run).
  public static var threadCount: Int {
    ensureSingleThreaded()
    return Int(openblas_get_num_threads())
  }
}
