import CBLAS
import CKernels
import Glibc

/// Matrix kernels through OpenBLAS, pinned to one kernel table and one thread, so that every
/// product has the same bits on every x86-64 CPU with AVX2 and with any thread count.
///
/// Kernel table: OpenBLAS picks its kernels by CPU at load time, and they sum in different
/// orders (measured: `sgemm` 32×69×512 gives other bits under `OPENBLAS_CORETYPE=SkylakeX` or
/// `Cooperlake` than under `Haswell` or `Zen`, which share their kernels; this OpenBLAS
/// 0.3.21 does not know this machine's Xeon at all and falls back to `Prescott`'s SSE3
/// kernels). LatentLab pins one table per `InstructionSet` path before the first call, on
/// every CPU, whatever `OPENBLAS_CORETYPE` says: `Haswell` (AVX2 + FMA) for the AVX2 paths,
/// `Prescott` (SSE3) for the portable one.
///
/// Threads: OpenBLAS's own threading splits the K dimension differently for different
/// thread counts (M=17, N=72, K=12250 differs in 558 of 1224 elements between 1 and 2
/// threads), so BLAS runs at one thread and LatentLab parallelises itself over fixed chunks
/// (`DeterministicParallel`). The worker threads OpenBLAS starts when it loads are stopped
/// too: idle, they spin for a while before sleeping, taking a core from LatentLab's threads.
public enum BLAS {
  /// The kernel table each path pins: OpenBLAS's names for its AVX2 + FMA kernels and for
  /// its SSE3 kernels, which every x86-64 CPU runs.
  public static func pinnedCoreType(for path: InstructionSet) -> String {
    path >= .avx2 ? "Haswell" : "Prescott"
  }

  /// Pins the kernel table and one thread, once per process, before the first BLAS call.
  private static let configured: Void = {
    let previous = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
    setenv("OPENBLAS_CORETYPE", pinnedCoreType(for: InstructionSet.selected), 1)
    gotoblas_dynamic_quit()
    gotoblas_dynamic_init()
    if let previous { setenv("OPENBLAS_CORETYPE", previous, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
    openblas_set_num_threads(1)
    // Its worker threads, started at load, would spin for a while before sleeping: stopped.
    _ = latentlab_openblas_stop_threads()
  }()

  /// Makes sure OpenBLAS runs its pinned kernels on one thread; every wrapper (and every
  /// direct LAPACK caller) calls it, and it costs nothing after the first call. The first
  /// call sets and restores `OPENBLAS_CORETYPE`, so it belongs on a thread that sets a
  /// computation up (`DeterministicParallel.init`, the CLI's start), not inside a parallel
  /// region where another thread might read the environment.
  @inline(__always)
  public static func ensureConfigured() { _ = configured }

  /// The kernel table OpenBLAS runs once configured.
  public static var coreName: String {
    ensureConfigured()
    return String(cString: gotoblas_corename())
  }

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
    ensureConfigured()
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
    ensureConfigured()
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
      beta, c, blasint(ldc))
  }

  /// The number of threads OpenBLAS is set to use (1 once any wrapper has run).
  public static var threadCount: Int {
    ensureConfigured()
    return Int(openblas_get_num_threads())
  }

  /// Whether OpenBLAS's worker threads are running (false once configured: stopped, or this
  /// OpenBLAS is the serial build, which has none).
  public static var workerThreadsRunning: Bool {
    ensureConfigured()
    return latentlab_openblas_threads_running() == 1
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
  /// e^x, by `RepeatableMath` (the same bits whatever the C library and CPU).
  static func exp(_ x: Self) -> Self
  /// The natural logarithm, by `RepeatableMath`.
  static func log(_ x: Self) -> Self
}

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
  @inlinable public static func exp(_ x: Float) -> Float { RepeatableMath.expf(x) }
  @inlinable public static func log(_ x: Float) -> Float { RepeatableMath.logf(x) }
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
  @inlinable public static func exp(_ x: Double) -> Double { RepeatableMath.exp(x) }
  @inlinable public static func log(_ x: Double) -> Double { RepeatableMath.log(x) }
}
