// Adam's elementwise update with AVX2: the same IEEE operations as the portable Swift loop
// (separate multiplies and adds, correctly rounded square root and division), so the result
// is bit-identical, eight parameters at a time.
#include "optimizer_kernels.h"

#include <math.h>

static inline void update_one(const float *g, float *theta, float *m, float *v, ptrdiff_t j, float b1, float b2,
                              float eps, float wd, float stepSize, float correction2Root) {
  const float grad = g[j] + wd * theta[j];
  m[j] = b1 * m[j] + (1 - b1) * grad;
  v[j] = b2 * v[j] + (1 - b2) * grad * grad;
  const float denominator = sqrtf(v[j]) / correction2Root + eps;
  theta[j] -= stepSize * m[j] / denominator;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"))) void latentlab_adam_update(const float *g, float *theta, float *m, float *v,
                                                           ptrdiff_t count, float b1, float b2, float eps, float wd,
                                                           float stepSize, float correction2Root) {
  const __m256 vb1 = _mm256_set1_ps(b1), vb2 = _mm256_set1_ps(b2), c1 = _mm256_set1_ps(1 - b1),
               c2 = _mm256_set1_ps(1 - b2), veps = _mm256_set1_ps(eps), vwd = _mm256_set1_ps(wd),
               vstep = _mm256_set1_ps(stepSize), vroot = _mm256_set1_ps(correction2Root);
  ptrdiff_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const __m256 th = _mm256_loadu_ps(theta + j);
    const __m256 grad = _mm256_add_ps(_mm256_loadu_ps(g + j), _mm256_mul_ps(vwd, th));
    const __m256 mj = _mm256_add_ps(_mm256_mul_ps(vb1, _mm256_loadu_ps(m + j)), _mm256_mul_ps(c1, grad));
    const __m256 vj =
        _mm256_add_ps(_mm256_mul_ps(vb2, _mm256_loadu_ps(v + j)), _mm256_mul_ps(_mm256_mul_ps(c2, grad), grad));
    const __m256 denominator = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vj), vroot), veps);
    _mm256_storeu_ps(m + j, mj);
    _mm256_storeu_ps(v + j, vj);
    _mm256_storeu_ps(theta + j, _mm256_sub_ps(th, _mm256_div_ps(_mm256_mul_ps(vstep, mj), denominator)));
  }
  for (; j < count; j++) update_one(g, theta, m, v, j, b1, b2, eps, wd, stepSize, correction2Root);
}

#else

void latentlab_adam_update(const float *g, float *theta, float *m, float *v, ptrdiff_t count, float b1, float b2,
                           float eps, float wd, float stepSize, float correction2Root) {
  for (ptrdiff_t j = 0; j < count; j++) update_one(g, theta, m, v, j, b1, b2, eps, wd, stepSize, correction2Root);
}

#endif
