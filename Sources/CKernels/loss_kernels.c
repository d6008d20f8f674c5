// The squared-error sum (see loss_kernels.h). One running double sum waits an addition's
// latency per element; eight interleaved partials keep eight additions in flight.
#include "loss_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

static double squared_error_portable(const float *p, const float *t, ptrdiff_t count, float g, float *gradient) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (ptrdiff_t i = 0; i < count; i++) {
    const float d = p[i] - t[i];
    gradient[i] = g * d;
    s[i & 7] = s[i & 7] + (double)d * (double)d;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

#if defined(__x86_64__)
// Partials 0–3 in one register and 4–7 in the other: the portable loop's sums, eight at a time.
__attribute__((target("avx2"))) static double squared_error_avx2(const float *p, const float *t, ptrdiff_t count,
                                                                 float g, float *gradient) {
  const __m256 gv = _mm256_set1_ps(g);
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  ptrdiff_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(t + i));
    _mm256_storeu_ps(gradient + i, _mm256_mul_ps(gv, d));
    const __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(d)), d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
    low = _mm256_add_pd(low, _mm256_mul_pd(d0, d0));
    high = _mm256_add_pd(high, _mm256_mul_pd(d1, d1));
  }
  double s[8];
  _mm256_storeu_pd(s, low);
  _mm256_storeu_pd(s + 4, high);
  // The tail (fewer than 8) into partials 0, 1, … as the portable loop does (i is a multiple of 8).
  for (ptrdiff_t k = 0; i + k < count; k++) {
    const float d = p[i + k] - t[i + k];
    gradient[i + k] = g * d;
    s[k] = s[k] + (double)d * (double)d;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}
#endif

double latentlab_squared_error_sum(const float *p, const float *t, ptrdiff_t count, float g, float *gradient,
                                   int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 1) return squared_error_avx2(p, t, count, g, gradient);
#endif
  (void)isa;
  return squared_error_portable(p, t, count, g, gradient);
}
