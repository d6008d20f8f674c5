// The heap scan of exact kNN, with an AVX2 filter that rejects eight far points at a time.
#include "knn_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

static inline float distance(float rowNorm, float norm, float product) {
  const float d = (rowNorm + norm) + product;
  return d >= 0.0f ? d : 0.0f;
}

static inline void offer(float d, int32_t j, int32_t k, float *hd, int32_t *hi, int32_t *size) {
  if (*size < k) {
    int32_t c = (*size)++;
    while (c > 0) {
      const int32_t parent = (c - 1) / 2;
      if (hd[parent] >= d) break;
      hd[c] = hd[parent];
      hi[c] = hi[parent];
      c = parent;
    }
    hd[c] = d;
    hi[c] = j;
  } else if (d < hd[0]) {
    int32_t c = 0;
    for (;;) {
      const int32_t left = 2 * c + 1;
      if (left >= k) break;
      int32_t child = left;
      if (left + 1 < k && hd[left + 1] > hd[left]) child = left + 1;
      if (hd[child] <= d) break;
      hd[c] = hd[child];
      hi[c] = hi[child];
      c = child;
    }
    hd[c] = d;
    hi[c] = j;
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void scan_avx2(const float *products, const float *norms, float rowNorm,
                                                      int32_t first, int32_t count, int32_t self, int32_t k, float *hd,
                                                      int32_t *hi, int32_t *size) {
  int32_t t = 0;
  // Fill the heap point by point.
  for (; t < count && *size < k; t++) {
    const int32_t j = first + t;
    if (j != self) offer(distance(rowNorm, norms[j], products[t]), j, k, hd, hi, size);
  }
  const __m256 zero = _mm256_setzero_ps(), n0 = _mm256_set1_ps(rowNorm);
  for (; t + 8 <= count; t += 8) {
    const int32_t j0 = first + t;
    __m256 d = _mm256_add_ps(_mm256_add_ps(n0, _mm256_loadu_ps(norms + j0)), _mm256_loadu_ps(products + t));
    d = _mm256_max_ps(zero, d);  // d ≥ 0 ? d : 0, as distance() (vmaxps returns d when both are zero)
    int mask = _mm256_movemask_ps(_mm256_cmp_ps(d, _mm256_set1_ps(hd[0]), _CMP_LT_OQ));
    if (!mask) continue;
    float ds[8];
    _mm256_storeu_ps(ds, d);
    while (mask) {
      const int b = __builtin_ctz(mask);
      mask &= mask - 1;
      if (j0 + b != self) offer(ds[b], j0 + b, k, hd, hi, size);
    }
  }
  for (; t < count; t++) {
    const int32_t j = first + t;
    if (j != self) offer(distance(rowNorm, norms[j], products[t]), j, k, hd, hi, size);
  }
}
#endif

void latentlab_knn_scan(const float *products, const float *norms, float rowNorm, int32_t first, int32_t count,
                        int32_t self, int32_t k, float *heapDistance, int32_t *heapIndex, int32_t *size,
                        int32_t vectorised) {
#if defined(__x86_64__)
  if (vectorised) {
    scan_avx2(products, norms, rowNorm, first, count, self, k, heapDistance, heapIndex, size);
    return;
  }
#endif
  (void)vectorised;
  for (int32_t t = 0; t < count; t++) {
    const int32_t j = first + t;
    if (j != self) offer(distance(rowNorm, norms[j], products[t]), j, k, heapDistance, heapIndex, size);
  }
}
