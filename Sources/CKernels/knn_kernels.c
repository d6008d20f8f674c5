// Exact kNN by scanning every point: a bounded max-heap per row (knn_heap.h), fed from products
// computed by sgemm (scanned with an AVX2 filter that rejects eight far points at a time) or
// from distances computed here 8 or 16 at a time; either way, groups none of which can enter
// are skipped. Every scan offers the points in increasing index, so a point at the root's
// distance comes after the root and cannot enter: the filters test d < root.
#include "knn_kernels.h"
#include "knn_heap.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

// Rows whose heaps one pass over the columns fills together (see KNN_ROWS).
#define KNN_BLOCK_ROWS 8

static inline float distance(float rowNorm, float norm, float product) {
  const float d = (rowNorm + norm) + product;
  return d >= 0.0f ? d : 0.0f;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void scan_avx2(const float *products, const float *norms, float rowNorm,
                                                      int32_t first, int32_t count, int32_t self, int32_t k, float *hd,
                                                      int32_t *hi, int32_t *size) {
  int32_t t = 0;
  // Fill the heap point by point.
  for (; t < count && *size < k; t++) {
    const int32_t j = first + t;
    if (j != self) ll_knn_offer(distance(rowNorm, norms[j], products[t]), j, k, hd, hi, size);
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
      if (j0 + b != self) ll_knn_offer(ds[b], j0 + b, k, hd, hi, size);
    }
  }
  for (; t < count; t++) {
    const int32_t j = first + t;
    if (j != self) ll_knn_offer(distance(rowNorm, norms[j], products[t]), j, k, hd, hi, size);
  }
}
#endif

// The squared distance of row x (norm rowNorm) to column j of the transposed data (d rows of
// n): the product as one fused multiply-add chain over the dimensions from +0, times −2
// (exact), which is how OpenBLAS's Haswell sgemm computes −2·x·y for d ≤ 7 (the products were
// taken from it before); then distance().
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static inline float chain_distance(const float *x, const float *columns, int64_t n,
                                                                       int32_t d, float rowNorm, const float *norms,
                                                                       int32_t j) {
  float acc = 0.0f;
  for (int32_t c = 0; c < d; c++) acc = __builtin_fmaf(x[c], columns[c * n + j], acc);
  return distance(rowNorm, norms[j], acc * -2.0f);
}

// The heaps of R rows (r ≤ R of them used) over every j ≠ self in increasing j, the rows side
// by side so that each group of W columns, loaded once, serves all of them (one row at a
// time streamed the whole transposed data, ~1 MB, from L2 per row). Each row: its first
// points one by one until its heap holds k; then, from the first j where every row's heap is
// full, W at a time (8 or 16), each group's distances computed together (the same operations
// per element as chain_distance) and offered in order where any beats that heap's maximum;
// the last points one by one. A point a group skips would have been refused one by one (a
// full heap's maximum only falls), so each heap goes through the states of its row alone.
#define KNN_ROWS(NAME, TGT, VEC, W, ZERO, SET1, LOAD, FMA, MUL, ADD, NONNEGATIVE, LTMASK)                        \
  TGT static void NAME(const float *x, int32_t first, int32_t r, const float *columns, const float *norms,       \
                       int64_t n, int32_t d, int32_t k, float *hd, int32_t *hi) {                                \
    int32_t size[KNN_BLOCK_ROWS], j[KNN_BLOCK_ROWS];                                                             \
    int64_t start = 0;                                                                                           \
    for (int32_t q = 0; q < r; q++) {                                                                            \
      const int32_t self = first + q;                                                                            \
      size[q] = 0;                                                                                               \
      for (j[q] = 0; j[q] < n && size[q] < k; j[q]++)                                                            \
        if (j[q] != self)                                                                                        \
          ll_knn_offer(chain_distance(x + q * d, columns, n, d, norms[self], norms, j[q]), j[q], k, hd + q * k,  \
                hi + q * k, &size[q]);                                                                           \
      if (j[q] > start) start = j[q];                                                                            \
    }                                                                                                            \
    for (int32_t q = 0; q < r; q++) {                                                                            \
      const int32_t self = first + q;                                                                            \
      for (int64_t t = j[q]; t < start; t++)                                                                     \
        if (t != self)                                                                                           \
          ll_knn_offer(chain_distance(x + q * d, columns, n, d, norms[self], norms, (int32_t)t), (int32_t)t, k,  \
                hd + q * k, hi + q * k, &size[q]);                                                               \
    }                                                                                                            \
    const VEC minusTwo = SET1(-2.0f);                                                                            \
    int64_t t = start;                                                                                           \
    for (; t + W <= n; t += W) {                                                                                 \
      VEC col[8];                                                                                                \
      for (int32_t c = 0; c < d; c++) col[c] = LOAD(columns + c * n + t);                                        \
      const VEC norm = LOAD(norms + t);                                                                          \
      for (int32_t q = 0; q < r; q++) {                                                                          \
        const float *xq = x + q * d;                                                                             \
        VEC acc = ZERO();                                                                                        \
        for (int32_t c = 0; c < d; c++) acc = FMA(SET1(xq[c]), col[c], acc);                                     \
        VEC dv = ADD(ADD(SET1(norms[first + q]), norm), MUL(acc, minusTwo));                                     \
        dv = NONNEGATIVE(dv);                                                                                    \
        uint32_t mask = LTMASK(dv, SET1(hd[q * k]));                                                             \
        if (!mask) continue;                                                                                     \
        float ds[W];                                                                                             \
        STORE_##W(ds, dv);                                                                                       \
        while (mask) {                                                                                           \
          const int b = __builtin_ctz(mask);                                                                     \
          mask &= mask - 1;                                                                                      \
          if (t + b != first + q) ll_knn_offer(ds[b], (int32_t)(t + b), k, hd + q * k, hi + q * k, &size[q]);    \
        }                                                                                                        \
      }                                                                                                          \
    }                                                                                                            \
    for (int32_t q = 0; q < r; q++) {                                                                            \
      const int32_t self = first + q;                                                                            \
      for (int64_t u = t; u < n; u++)                                                                            \
        if (u != self)                                                                                           \
          ll_knn_offer(chain_distance(x + q * d, columns, n, d, norms[self], norms, (int32_t)u), (int32_t)u, k,  \
                hd + q * k, hi + q * k, &size[q]);                                                               \
    }                                                                                                            \
  }

#define STORE_8(p, v) _mm256_storeu_ps(p, v)
#define STORE_16(p, v) _mm512_storeu_ps(p, v)
#define LT8(a, b) (uint32_t) _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LT_OQ))
#define LT16(a, b) (uint32_t) _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)
// d ≥ 0 ? d : 0, lane by lane (an ordered compare: NaN → 0 and −0 stays −0, as in distance()).
#define NONNEGATIVE8(v) _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ))
#define NONNEGATIVE16(v) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GE_OQ), v)
KNN_ROWS(knn_rows_avx2, __attribute__((target("avx2,fma"))), __m256, 8, _mm256_setzero_ps, _mm256_set1_ps,
         _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps, NONNEGATIVE8, LT8)
KNN_ROWS(knn_rows_avx512, __attribute__((target("avx512f,avx2,fma"))), __m512, 16, _mm512_setzero_ps,
         _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps, NONNEGATIVE16, LT16)
#undef KNN_ROWS
#endif

void latentlab_knn_rows(const float *data, const float *columns, const float *norms, int64_t n, int32_t d,
                        int32_t first, int32_t rows, int32_t k, float *heapDistance, int32_t *heapIndex,
                        int32_t isa) {
#if defined(__x86_64__)
  for (int32_t r = 0; r < rows; r += KNN_BLOCK_ROWS) {
    const int32_t i = first + r, count = rows - r < KNN_BLOCK_ROWS ? rows - r : KNN_BLOCK_ROWS;
    if (isa >= 2)
      knn_rows_avx512(data + (int64_t)i * d, i, count, columns, norms, n, d, k, heapDistance + (int64_t)r * k,
                      heapIndex + (int64_t)r * k);
    else
      knn_rows_avx2(data + (int64_t)i * d, i, count, columns, norms, n, d, k, heapDistance + (int64_t)r * k,
                    heapIndex + (int64_t)r * k);
  }
#else
  (void)data, (void)columns, (void)norms, (void)n, (void)d, (void)first, (void)rows, (void)k, (void)heapDistance,
      (void)heapIndex, (void)isa;
#endif
}

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
    if (j != self) ll_knn_offer(distance(rowNorm, norms[j], products[t]), j, k, heapDistance, heapIndex, size);
  }
}
