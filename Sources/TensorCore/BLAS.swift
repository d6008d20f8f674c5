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

/// A scalar type with a BLAS matrix product: `Float` (sgemm) and `Double` (dgemm).
///
/// Layers are written once over `BLASScalar`; models run them in `Float`, gradient checks in
/// `Double`.
public protocol BLASScalar: BinaryFloatingPoint, Sendable, Codable {
  /// `C ← alpha · op(A) · op(B) + beta · C`, row-major (see `BLAS.sgemm`).
  static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
  /// e^x.
  static func exp(_ x: Self) -> Self
  /// The natural logarithm.
  static func log(_ x: Self) -> Self
}

#if canImport(Glibc)
  import Glibc
#endif

extension Float: BLASScalar {
  @inlinable
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    BLAS.sgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }
  @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
  @inlinable public static func log(_ x: Float) -> Float { logf(x) }
}

extension Double: BLASScalar {
  @inlinable
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    BLAS.dgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }
  @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
  @inlinable public static func log(_ x: Double) -> Double { Glibc.log(x) }
}
