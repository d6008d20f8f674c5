// The matrix products of dense layers, in an order of LatentLab's own: the same bits on every
// CPU with AVX2 and FMA, at AVX2 or AVX-512 width, whichever BLAS is installed.
#ifndef LATENTLAB_DENSE_KERNELS_H
#define LATENTLAB_DENSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// C[i][j] ← C₀[i][j] + Σ_k A(i, k) · B[k][j] for i < m, j < n, as one fused multiply-add
/// chain per element over k = 0, 1, …, k − 1 in order, starting from C₀ = C's current value
/// when `accumulate`, else from 0 (so, for instance, a layer's output starts from its bias).
/// A(i, k) is a[i·rowStep + k·depthStep] (any layout: plain, or transposed), B's rows are
/// `ldb` floats apart and C's `ldc`. `isa`: 1 AVX2, 2 AVX-512F; the results never depend on it,
/// nor on how the elements are blocked. Needs AVX2 and FMA.
void latentlab_dense_product(const float *a, ptrdiff_t rowStep, ptrdiff_t depthStep, const float *b, ptrdiff_t ldb,
                             float *c, ptrdiff_t ldc, int32_t m, int32_t n, int32_t k, int32_t accumulate,
                             int32_t isa);

/// `dst[j][i] = src[i][j]` for an r × c matrix `src` (row stride c): a layer's weight
/// transposed once per pass, so that its forward product walks rows of B.
void latentlab_transpose(const float *src, int32_t r, int32_t c, float *dst);

#endif
