// RepeatableMath.exp over a row of distances, vectorised. Every constant and every operation
// is RepeatableMath.exp's, in its order, so each lane's result has its bits: the tests compare
// the two over the calibration's whole argument range.
#include "affinity_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang fp contract(off)

__attribute__((target("avx2"))) static inline __m256d exp_lanes(__m256d x) {
  const __m256d k = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(0x1.71547652b82fep+0)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256d r = _mm256_sub_pd(_mm256_sub_pd(x, _mm256_mul_pd(k, _mm256_set1_pd(0x1.62e42fee00000p-1))),
                                  _mm256_mul_pd(k, _mm256_set1_pd(0x1.a39ef35793c76p-33)));
  // 1/n! from n = 13 down, each the correctly rounded quotient (as Swift's 1.0 / n! literal
  // folds it).
  static const double inverseFactorials[14] = {
      1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
      1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
  __m256d p = _mm256_set1_pd(inverseFactorials[0]);
  for (int i = 1; i < 14; i++) p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(inverseFactorials[i]));
  // 2^k from its bit pattern: (k + 1023) << 52 (valid for k ≥ −1021, which the limit keeps).
  const __m256i exponent = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k));
  const __m256i bits = _mm256_slli_epi64(_mm256_add_epi64(exponent, _mm256_set1_epi64x(1023)), 52);
  return _mm256_mul_pd(p, _mm256_castsi256_pd(bits));
}

__attribute__((target("avx2"))) void latentlab_gaussian_weights(const double *d, double beta, double *w,
                                                                int32_t count) {
  const __m256d betas = _mm256_set1_pd(beta);
  const __m256d signBit = _mm256_set1_pd(-0.0);
  int32_t j = 0;
  for (; j + 4 <= count; j += 4) {
    // −d · β as Swift computes it: the negation (exact) first, then the product.
    const __m256d x = _mm256_mul_pd(_mm256_xor_pd(_mm256_loadu_pd(d + j), signBit), betas);
    _mm256_storeu_pd(w + j, exp_lanes(x));
  }
  if (j < count) {
    double in[4] = {0, 0, 0, 0}, out[4];
    for (int32_t i = j; i < count; i++) in[i - j] = d[i];
    latentlab_gaussian_weights(in, beta, out, 4);
    for (int32_t i = j; i < count; i++) w[i] = out[i - j];
  }
}

#else

void latentlab_gaussian_weights(const double *d, double beta, double *w, int32_t count) {
  (void)d, (void)beta, (void)w, (void)count;  // only called where AVX2 is available
}

#endif
