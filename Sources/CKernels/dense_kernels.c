// Dense-layer products (see dense_kernels.h). Each element of C is one FMA chain over k in
// order, so vector width, blocking and the rows or columns computed together change nothing:
// a block of MR rows × NV vectors of columns keeps MR·NV accumulators in registers while k
// streams, one broadcast of A(i, k) serving NV vectors of B's row k.
#include "dense_kernels.h"
#include "even_blocks.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define TARGET512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// Block shapes, rows × vectors of columns (any shape gives the same bits): AVX-512 9 × up to 3
// (27 accumulators, 3 B vectors and one broadcast in 32 registers: each B vector loaded feeds
// 9 FMAs, where 4 × 5 fed 4 and left the products waiting on loads; measured with
// scripts/bench-dense-kernel.c on an AVX-512 Xeon, µs per product: 32 × 69 × 512 23.7–24.2 →
// 20.6, 32 × 512 × 69 21.4–21.8 → 14.9, the weight gradient's 69 × 512 × 250 (A transposed)
// 179–181 → 125–126; 4 × 5, 6 × 4, 8 × 3, 5 × 5, 6 × 3, 7 × 3, 10 × 2 and 12 × 2 tried);
// AVX2 6 × 2 (12 of 16, and a B block of 16 columns stays in L1 across a weight gradient's
// k = 250 rows, where 4 × 3 ran 1.4× slower), its rows cut as evenly as possible (32 rows as
// 6 + 6 + 5 + 5 + 5 + 5, not 5 × 6 + 2, whose 4 accumulators wait on the FMA latency: 2–3%
// on a dense layer's forward and input-gradient products; no difference at AVX-512's 9 rows).
// Measured against OpenBLAS 0.3.21's Haswell kernels (scripts/bench-dense-kernel.c).
#define MR512 9
#define NV512 3
#define CASES512 CASE512(1, 1) CASE512(1, 2) CASE512(1, 3) CASE512(2, 1) CASE512(2, 2) CASE512(2, 3) \
  CASE512(3, 1) CASE512(3, 2) CASE512(3, 3) CASE512(4, 1) CASE512(4, 2) CASE512(4, 3) CASE512(5, 1) \
  CASE512(5, 2) CASE512(5, 3) CASE512(6, 1) CASE512(6, 2) CASE512(6, 3) CASE512(7, 1) CASE512(7, 2) \
  CASE512(7, 3) CASE512(8, 1) CASE512(8, 2) CASE512(8, 3) CASE512(9, 1) CASE512(9, 2) CASE512(9, 3)
#define MR256 6
#define NV256 2
#define CASES256                                                                                  \
  CASE256(1, 1) CASE256(1, 2) CASE256(2, 1) CASE256(2, 2) CASE256(3, 1) CASE256(3, 2) CASE256(4, 1) \
  CASE256(4, 2) CASE256(5, 1) CASE256(5, 2) CASE256(6, 1) CASE256(6, 2)

// One block: MR rows × NV vectors of 16 columns, the last vector's columns masked by `last`
// when PARTIAL.
INLINE TARGET512 void block512(const int MR, const int NV, const int PARTIAL, const float *a, ptrdiff_t rowStep,
                               ptrdiff_t depthStep, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int32_t k,
                               int32_t accumulate, __mmask16 last) {
  // Masked loads and stores only for a partial last vector (PARTIAL), plain ones elsewhere.
#define LOAD512(q, p) (PARTIAL && (q) == NV - 1 ? _mm512_maskz_loadu_ps(last, p) : _mm512_loadu_ps(p))
  __m512 acc[MR512][NV512];
  for (int i = 0; i < MR; i++)
    for (int q = 0; q < NV; q++) acc[i][q] = accumulate ? LOAD512(q, c + i * ldc + 16 * q) : _mm512_setzero_ps();
  const float *ap = a, *bp = b;
  for (int32_t kk = 0; kk < k; kk++) {
    __m512 bv[NV512];
    for (int q = 0; q < NV; q++) bv[q] = LOAD512(q, bp + 16 * q);
    for (int i = 0; i < MR; i++) {
      const __m512 av = _mm512_set1_ps(ap[i * rowStep]);
      for (int q = 0; q < NV; q++) acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
    }
    ap += depthStep;
    bp += ldb;
  }
  for (int i = 0; i < MR; i++)
    for (int q = 0; q < NV; q++) {
      if (PARTIAL && q == NV - 1)
        _mm512_mask_storeu_ps(c + i * ldc + 16 * q, last, acc[i][q]);
      else
        _mm512_storeu_ps(c + i * ldc + 16 * q, acc[i][q]);
    }
#undef LOAD512
}

#define CASE512(mr, nv)                                                                              \
  case (mr) * 8 + (nv):                                                                              \
    if (partial)                                                                                     \
      block512(mr, nv, 1, ai, rowStep, depthStep, bj, ldb, cij, ldc, k, accumulate, last);           \
    else                                                                                             \
      block512(mr, nv, 0, ai, rowStep, depthStep, bj, ldb, cij, ldc, k, accumulate, last);           \
    break;

__attribute__((noinline)) TARGET512 static void product512(const float *a, ptrdiff_t rowStep, ptrdiff_t depthStep,
                                                           const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                                           int32_t m, int32_t n, int32_t k, int32_t accumulate) {
  const int32_t vectors = (n + 15) / 16, blocks = ll_block_count(vectors, NV512);
  for (int32_t blk = 0; blk < blocks; blk++) {
    const int32_t v0 = ll_block_start(vectors, blocks, blk), nv = ll_block_start(vectors, blocks, blk + 1) - v0;
    const int32_t j0 = 16 * v0, lastColumns = n - 16 * (v0 + nv - 1);
    const int partial = lastColumns < 16;
    const __mmask16 last = (__mmask16)(partial ? (1u << lastColumns) - 1 : 0xFFFF);
    const float *bj = b + j0;
    for (int32_t i0 = 0; i0 < m; i0 += MR512) {
      const int mr = m - i0 < MR512 ? m - i0 : MR512;
      const float *ai = a + i0 * rowStep;
      float *cij = c + i0 * ldc + j0;
      switch (mr * 8 + nv) {
        CASES512
      }
    }
  }
}
#undef CASE512

// AVX2: vectors of 8 columns, at most 3 to a block (12 accumulators of the 16 registers).
INLINE TARGET __m256i column_mask(int32_t columns) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(columns), index);
}

// As block512 with vectors of 8 columns.
INLINE TARGET void block256(const int MR, const int NV, const int PARTIAL, const float *a, ptrdiff_t rowStep,
                            ptrdiff_t depthStep, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int32_t k,
                            int32_t accumulate, __m256i last) {
#define LOAD256(q, p) (PARTIAL && (q) == NV - 1 ? _mm256_maskload_ps(p, last) : _mm256_loadu_ps(p))
  __m256 acc[6][3];
  for (int i = 0; i < MR; i++)
    for (int q = 0; q < NV; q++) acc[i][q] = accumulate ? LOAD256(q, c + i * ldc + 8 * q) : _mm256_setzero_ps();
  const float *ap = a, *bp = b;
  for (int32_t kk = 0; kk < k; kk++) {
    __m256 bv[3];
    for (int q = 0; q < NV; q++) bv[q] = LOAD256(q, bp + 8 * q);
    for (int i = 0; i < MR; i++) {
      const __m256 av = _mm256_set1_ps(ap[i * rowStep]);
      for (int q = 0; q < NV; q++) acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
    }
    ap += depthStep;
    bp += ldb;
  }
  for (int i = 0; i < MR; i++)
    for (int q = 0; q < NV; q++) {
      if (PARTIAL && q == NV - 1)
        _mm256_maskstore_ps(c + i * ldc + 8 * q, last, acc[i][q]);
      else
        _mm256_storeu_ps(c + i * ldc + 8 * q, acc[i][q]);
    }
#undef LOAD256
}

#define CASE256(mr, nv)                                                                              \
  case (mr) * 8 + (nv):                                                                              \
    if (partial)                                                                                     \
      block256(mr, nv, 1, ai, rowStep, depthStep, bj, ldb, cij, ldc, k, accumulate, last);           \
    else                                                                                             \
      block256(mr, nv, 0, ai, rowStep, depthStep, bj, ldb, cij, ldc, k, accumulate, last);           \
    break;

TARGET static void product256(const float *a, ptrdiff_t rowStep, ptrdiff_t depthStep, const float *b, ptrdiff_t ldb,
                              float *c, ptrdiff_t ldc, int32_t m, int32_t n, int32_t k, int32_t accumulate) {
  const int32_t vectors = (n + 7) / 8, blocks = ll_block_count(vectors, NV256);
  for (int32_t blk = 0; blk < blocks; blk++) {
    const int32_t v0 = ll_block_start(vectors, blocks, blk), nv = ll_block_start(vectors, blocks, blk + 1) - v0;
    const int32_t j0 = 8 * v0;
    const int32_t lastColumns = n - 8 * (v0 + nv - 1);
    const int partial = lastColumns < 8;
    const __m256i last = column_mask(lastColumns);
    const float *bj = b + j0;
    const int32_t rowBlocks = ll_block_count(m, MR256);
    for (int32_t rb = 0; rb < rowBlocks; rb++) {
      const int32_t i0 = ll_block_start(m, rowBlocks, rb);
      const int mr = ll_block_start(m, rowBlocks, rb + 1) - i0;
      const float *ai = a + i0 * rowStep;
      float *cij = c + i0 * ldc + j0;
      switch (mr * 8 + nv) {
        CASES256
      }
    }
  }
}
#undef CASE256

void latentlab_dense_product(const float *a, ptrdiff_t rowStep, ptrdiff_t depthStep, const float *b, ptrdiff_t ldb,
                             float *c, ptrdiff_t ldc, int32_t m, int32_t n, int32_t k, int32_t accumulate,
                             int32_t isa) {
  if (m <= 0 || n <= 0) return;
  if (isa >= 2)
    product512(a, rowStep, depthStep, b, ldb, c, ldc, m, n, k, accumulate);
  else
    product256(a, rowStep, depthStep, b, ldb, c, ldc, m, n, k, accumulate);
}

#else
void latentlab_dense_product(const float *a, ptrdiff_t rowStep, ptrdiff_t depthStep, const float *b, ptrdiff_t ldb,
                             float *c, ptrdiff_t ldc, int32_t m, int32_t n, int32_t k, int32_t accumulate,
                             int32_t isa) {}
#endif

void latentlab_transpose(const float *src, int32_t r, int32_t c, float *dst) {
  // Blocks of 16 × 16, so that both sides stay within a few cache lines per block.
  for (int32_t i0 = 0; i0 < r; i0 += 16)
    for (int32_t j0 = 0; j0 < c; j0 += 16) {
      const int32_t i1 = i0 + 16 < r ? i0 + 16 : r, j1 = j0 + 16 < c ? j0 + 16 : c;
      for (int32_t j = j0; j < j1; j++)
        for (int32_t i = i0; i < i1; i++) dst[(ptrdiff_t)j * r + i] = src[(ptrdiff_t)i * c + j];
    }
}
