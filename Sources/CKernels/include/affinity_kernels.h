// t-SNE's perplexity calibration: a row's Gaussian weights, four at a time.
#ifndef LATENTLAB_AFFINITY_KERNELS_H
#define LATENTLAB_AFFINITY_KERNELS_H

#include <stdint.h>

/// The least `x = −d · β` the kernel computes itself: below it (and for NaN) the caller must
/// recompute w = e^x with `RepeatableMath.exp` (which scales into the subnormals there).
#define LL_AFFINITY_FAST_LIMIT (-708.0)

/// w[j] = e^(−d[j] · β) for j < count, with `RepeatableMath.exp`'s operations in its order
/// (Cody–Waite reduction by ln 2, its degree-13 Horner chain, 2^k from its bit pattern: each a
/// single IEEE-754 multiply, add or subtract, no fused multiply-add), four lanes to an AVX2
/// register: the same bits as `RepeatableMath.exp` wherever −d[j] · β ≥ LL_AFFINITY_FAST_LIMIT.
/// Elsewhere w[j] is unspecified and the caller recomputes it. Needs AVX2 (callers check
/// latentlab_avx2_fma_available() first).
void latentlab_gaussian_weights(const double *d, double beta, double *w, int32_t count);

#endif
