import CKernels
import TensorCore

/// The dense layers' matrix products through LatentLab's own kernel (`latentlab_dense_product`)
/// rather than BLAS, for `Float` on the AVX2 paths: every output element is one fused
/// multiply-add chain over the reduction index in order, so the bits are the same at AVX2 and
/// AVX-512 width, on every CPU, whatever OpenBLAS is installed.
///
/// `Double` (the float64 reference paths of the tests) and the portable path keep BLAS.
package enum DenseProduct {
  /// Whether `Scalar`'s dense products run through the kernel on this path.
  @inlinable
  package static func applies<Scalar>(to _: Scalar.Type) -> Bool {
    Scalar.self == Float.self && InstructionSet.usesAVX2Kernels
  }

  /// The kernel's register width: 2 (AVX-512F) or 1 (AVX2); the bits never depend on it.
  package static let width: Int32 = InstructionSet.selected == .avx512 ? 2 : 1

  /// `C[i][j] ← C₀ + Σ_k A(i, k)·B[k][j]`, i < m, j < n, one FMA chain over k in order from
  /// C₀ = C's value (`accumulate`) or 0. A(i, k) is `a[i·rowStep + k·depthStep]`; B's rows are
  /// `ldb` apart, C's `ldc`. `width`: the register width (2 needs AVX-512F), which never
  /// changes a bit.
  @inlinable
  package static func multiply(
    _ a: UnsafeRawPointer, rowStep: Int, depthStep: Int, _ b: UnsafeRawPointer, ldb: Int,
    into c: UnsafeMutableRawPointer, ldc: Int, m: Int, n: Int, k: Int, accumulate: Bool, width: Int32 = width
  ) {
    latentlab_dense_product(
      a.assumingMemoryBound(to: Float.self), rowStep, depthStep, b.assumingMemoryBound(to: Float.self), ldb,
      c.assumingMemoryBound(to: Float.self), ldc, Int32(m), Int32(n), Int32(k), accumulate ? 1 : 0, width)
  }
}
