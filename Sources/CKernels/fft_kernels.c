// Stockham FFT stages over LL_FFT_BATCH contiguous columns. The loops over the batch are
// plain C that the compiler vectorises at the width of each target; contraction into fused
// multiply-adds is off, so every target computes every element with the same operations.
#include "fft_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma clang fp contract(off)

#define B LL_FFT_BATCH

// Radix-2, -3, -4 and -5 butterflies with their twiddles, for one (i, q): a_j at src + j·m·s,
// outputs b_r at dst + r·s (strides in elements; each element is B floats, split re/im).
static inline __attribute__((always_inline)) void stage_radix2(const float *restrict xr, const float *restrict xi,
                                                               float *restrict yr, float *restrict yi, int64_t inStride,
                                                               int64_t outStride, float w1r, float w1i) {
  const float *a0r = xr, *a0i = xi, *a1r = xr + inStride, *a1i = xi + inStride;
  float *b0r = yr, *b0i = yi, *b1r = yr + outStride, *b1i = yi + outStride;
  for (int b = 0; b < B; b++) {
    const float sr = a0r[b] + a1r[b], si = a0i[b] + a1i[b];
    const float dr = a0r[b] - a1r[b], di = a0i[b] - a1i[b];
    b0r[b] = sr;
    b0i[b] = si;
    b1r[b] = dr * w1r - di * w1i;
    b1i[b] = dr * w1i + di * w1r;
  }
}

static inline __attribute__((always_inline)) void stage_radix3(const float *restrict xr, const float *restrict xi,
                                                               float *restrict yr, float *restrict yi, int64_t inStride,
                                                               int64_t outStride, const float *w_r, const float *w_i) {
  const float c = -0.5f, s = 0.866025403784438646763723170752936183f;
  const float w1r = w_r[0], w1i = w_i[0], w2r = w_r[1], w2i = w_i[1];
  for (int b = 0; b < B; b++) {
    const float a0r = xr[b], a0i = xi[b];
    const float a1r = xr[inStride + b], a1i = xi[inStride + b];
    const float a2r = xr[2 * inStride + b], a2i = xi[2 * inStride + b];
    const float t1r = a1r + a2r, t1i = a1i + a2i;
    const float t2r = a1r - a2r, t2i = a1i - a2i;
    const float m1r = a0r + c * t1r, m1i = a0i + c * t1i;
    // −i·s·t2
    const float nr = s * t2i, ni = -(s * t2r);
    const float b1r = m1r + nr, b1i = m1i + ni;
    const float b2r = m1r - nr, b2i = m1i - ni;
    yr[b] = a0r + t1r;
    yi[b] = a0i + t1i;
    yr[outStride + b] = b1r * w1r - b1i * w1i;
    yi[outStride + b] = b1r * w1i + b1i * w1r;
    yr[2 * outStride + b] = b2r * w2r - b2i * w2i;
    yi[2 * outStride + b] = b2r * w2i + b2i * w2r;
  }
}

static inline __attribute__((always_inline)) void stage_radix4(const float *restrict xr, const float *restrict xi,
                                                               float *restrict yr, float *restrict yi, int64_t inStride,
                                                               int64_t outStride, const float *w_r, const float *w_i) {
  const float w1r = w_r[0], w1i = w_i[0], w2r = w_r[1], w2i = w_i[1], w3r = w_r[2], w3i = w_i[2];
  for (int b = 0; b < B; b++) {
    const float a0r = xr[b], a0i = xi[b];
    const float a1r = xr[inStride + b], a1i = xi[inStride + b];
    const float a2r = xr[2 * inStride + b], a2i = xi[2 * inStride + b];
    const float a3r = xr[3 * inStride + b], a3i = xi[3 * inStride + b];
    const float t0r = a0r + a2r, t0i = a0i + a2i;
    const float t1r = a0r - a2r, t1i = a0i - a2i;
    const float t2r = a1r + a3r, t2i = a1i + a3i;
    const float t3r = a1r - a3r, t3i = a1i - a3i;
    // b1 = t1 − i·t3, b3 = t1 + i·t3
    const float b1r = t1r + t3i, b1i = t1i - t3r;
    const float b2r = t0r - t2r, b2i = t0i - t2i;
    const float b3r = t1r - t3i, b3i = t1i + t3r;
    yr[b] = t0r + t2r;
    yi[b] = t0i + t2i;
    yr[outStride + b] = b1r * w1r - b1i * w1i;
    yi[outStride + b] = b1r * w1i + b1i * w1r;
    yr[2 * outStride + b] = b2r * w2r - b2i * w2i;
    yi[2 * outStride + b] = b2r * w2i + b2i * w2r;
    yr[3 * outStride + b] = b3r * w3r - b3i * w3i;
    yi[3 * outStride + b] = b3r * w3i + b3i * w3r;
  }
}

static inline __attribute__((always_inline)) void stage_radix5(const float *restrict xr, const float *restrict xi,
                                                               float *restrict yr, float *restrict yi, int64_t inStride,
                                                               int64_t outStride, const float *w_r, const float *w_i) {
  // cos and sin of 2π/5 and 4π/5.
  const float c1 = 0.309016994374947424102293417182819059f, c2 = -0.809016994374947424102293417182819059f;
  const float s1 = 0.951056516295153572116439333379382143f, s2 = 0.587785252292473129168705954639072769f;
  for (int b = 0; b < B; b++) {
    const float a0r = xr[b], a0i = xi[b];
    const float a1r = xr[inStride + b], a1i = xi[inStride + b];
    const float a2r = xr[2 * inStride + b], a2i = xi[2 * inStride + b];
    const float a3r = xr[3 * inStride + b], a3i = xi[3 * inStride + b];
    const float a4r = xr[4 * inStride + b], a4i = xi[4 * inStride + b];
    const float t1r = a1r + a4r, t1i = a1i + a4i;
    const float t2r = a2r + a3r, t2i = a2i + a3i;
    const float t3r = a1r - a4r, t3i = a1i - a4i;
    const float t4r = a2r - a3r, t4i = a2i - a3i;
    const float m1r = a0r + c1 * t1r + c2 * t2r, m1i = a0i + c1 * t1i + c2 * t2i;
    const float m2r = a0r + c2 * t1r + c1 * t2r, m2i = a0i + c2 * t1i + c1 * t2i;
    const float n1r = s1 * t3r + s2 * t4r, n1i = s1 * t3i + s2 * t4i;
    const float n2r = s2 * t3r - s1 * t4r, n2i = s2 * t3i - s1 * t4i;
    // b1 = m1 − i·n1, b4 = m1 + i·n1, b2 = m2 − i·n2, b3 = m2 + i·n2
    const float bb[4][2] = {{m1r + n1i, m1i - n1r}, {m2r + n2i, m2i - n2r}, {m2r - n2i, m2i + n2r}, {m1r - n1i, m1i + n1r}};
    yr[b] = a0r + t1r + t2r;
    yi[b] = a0i + t1i + t2i;
    for (int r = 0; r < 4; r++) {
      const float wr = w_r[r], wi = w_i[r];
      yr[(r + 1) * outStride + b] = bb[r][0] * wr - bb[r][1] * wi;
      yi[(r + 1) * outStride + b] = bb[r][0] * wi + bb[r][1] * wr;
    }
  }
}

// One radix-p butterfly and its twiddles w (p − 1 of them), by the radix.
static inline __attribute__((always_inline)) void butterfly(int p, const float *w_r, const float *w_i,
                                                            const float *xr, const float *xi, int64_t inStride,
                                                            float *yr, float *yi, int64_t outStride) {
  switch (p) {
  case 2: stage_radix2(xr, xi, yr, yi, inStride, outStride, w_r[0], w_i[0]); break;
  case 3: stage_radix3(xr, xi, yr, yi, inStride, outStride, w_r, w_i); break;
  case 4: stage_radix4(xr, xi, yr, yi, inStride, outStride, w_r, w_i); break;
  default: stage_radix5(xr, xi, yr, yi, inStride, outStride, w_r, w_i); break;
  }
}

// One stage: input elements at x (element stride inLd floats), output at y (outLd).
static inline __attribute__((always_inline)) void run_stage(const ll_fft_stage *st, const float *twr, const float *twi,
                                                            const float *xr, const float *xi, int64_t inLd, float *yr,
                                                            float *yi, int64_t outLd) {
  const int p = st->radix, m = st->m, s = st->s;
  const int64_t inStride = (int64_t)m * s * inLd, outStride = (int64_t)s * outLd;
  for (int i = 0; i < m; i++) {
    const float *wr = twr + st->twiddleOffset + i * (p - 1), *wi = twi + st->twiddleOffset + i * (p - 1);
    for (int q = 0; q < s; q++) {
      const int64_t in = (int64_t)(q + s * i) * inLd, out = (int64_t)(q + s * p * i) * outLd;
      butterfly(p, wr, wi, xr + in, xi + in, inStride, yr + out, yi + out, outStride);
    }
  }
}

// Two consecutive stages a (radix p1, m1, s1) and b (p2, m2 = m1 / p2, s2 = s1 · p1) in one
// pass. Stage b's butterfly (q1 + s1·r1, i2) reads stage a's outputs r1 of the butterflies
// (q1, i2 + m2·j2), j2 < p2; so for each (q1, i2) those p2 butterflies of a run into a small
// buffer (t[j2][r1], in L1), then the p1 butterflies of b read it. Every value goes through
// the same operations as in two separate stages; only the buffer between them changes.
static inline __attribute__((always_inline)) void run_stage_pair(const ll_fft_stage *a, const ll_fft_stage *b,
                                                                 const float *twr, const float *twi, const float *xr,
                                                                 const float *xi, int64_t inLd, float *yr, float *yi,
                                                                 int64_t outLd) {
  const int p1 = a->radix, m1 = a->m, s1 = a->s, p2 = b->radix, m2 = b->m, s2 = b->s;
  const int64_t inStride = (int64_t)m1 * s1 * inLd, outStride = (int64_t)s2 * outLd;
  float tr[25 * B] __attribute__((aligned(64))), ti[25 * B] __attribute__((aligned(64)));
  for (int i2 = 0; i2 < m2; i2++) {
    const float *wbr = twr + b->twiddleOffset + i2 * (p2 - 1), *wbi = twi + b->twiddleOffset + i2 * (p2 - 1);
    for (int q1 = 0; q1 < s1; q1++) {
      for (int j2 = 0; j2 < p2; j2++) {
        const int i1 = i2 + m2 * j2;
        const int64_t in = (int64_t)(q1 + s1 * i1) * inLd;
        butterfly(p1, twr + a->twiddleOffset + i1 * (p1 - 1), twi + a->twiddleOffset + i1 * (p1 - 1), xr + in,
                  xi + in, inStride, tr + j2 * p1 * B, ti + j2 * p1 * B, B);
      }
      for (int r1 = 0; r1 < p1; r1++) {
        const int64_t out = (int64_t)(q1 + s1 * r1 + s2 * p2 * i2) * outLd;
        butterfly(p2, wbr, wbi, tr + r1 * B, ti + r1 * B, (int64_t)p1 * B, yr + out, yi + out, outStride);
      }
    }
  }
}

// The stages from (inRe, inIm; element stride inLd) to (outRe, outIm; outLd), two at a time
// (the last alone when their count is odd): the first pass reads the input, middle passes run
// between two scratch buffers, the last writes the output (a single pass goes through
// scratch and is copied, so input and output may be the same).
static inline __attribute__((always_inline)) void fft_stages(const ll_fft_stage *stages, int32_t count,
                                                             const float *twr, const float *twi, const float *inRe,
                                                             const float *inIm, int64_t inLd, float *outRe,
                                                             float *outIm, int64_t outLd, float *scratch) {
  int64_t n = 1;
  for (int k = 0; k < count; k++) n *= stages[k].radix;
  float *bufR[2] = {scratch, scratch + 2 * n * B}, *bufI[2] = {scratch + n * B, scratch + 3 * n * B};
  const float *xr = inRe, *xi = inIm;
  int64_t ld = inLd;
  int which = 0;
  const int passes = (count + 1) / 2;
  for (int k = 0; k < count; k += 2) {
    const int last = k + 2 >= count && passes > 1;
    float *yr = last ? outRe : bufR[which], *yi = last ? outIm : bufI[which];
    const int64_t yLd = last ? outLd : B;
    if (k + 1 < count)
      run_stage_pair(stages + k, stages + k + 1, twr, twi, xr, xi, ld, yr, yi, yLd);
    else
      run_stage(stages + k, twr, twi, xr, xi, ld, yr, yi, yLd);
    xr = yr;
    xi = yi;
    ld = yLd;
    which ^= 1;
  }
  if (passes == 1) {
    for (int64_t t = 0; t < n; t++)
      for (int b = 0; b < B; b++) {
        outRe[t * outLd + b] = xr[t * B + b];
        outIm[t * outLd + b] = xi[t * B + b];
      }
  }
}

static inline __attribute__((always_inline)) void fft_columns(const ll_fft_stage *stages, int32_t count,
                                                              const float *twr, const float *twi, float *re, float *im,
                                                              int64_t ld, float *scratch) {
  fft_stages(stages, count, twr, twi, re, im, ld, re, im, ld, scratch);
}

// tile[t · B + b] = src[b · ld + t] for b < rows, 0 for rows ≤ b < B (t < n): four by four
// with SSE shuffles (baseline x86-64; pure data movement, so no bit depends on it). Four tile
// rows at a time are written whole (every b) before the next four: the tile (n · B floats) is
// larger than L1, and writing it a few columns at a time over n rows fetched each of its
// lines from L2 once per group of columns.
static inline __attribute__((always_inline)) void transpose_rows(const float *src, int64_t ld, int32_t rows, int64_t n,
                                                                 float *tile) {
  int64_t t = 0;
#if defined(__x86_64__)
  const int32_t rows4 = rows / 4 * 4;
  for (; t + 4 <= n; t += 4) {
    float *out = tile + t * B;
    int32_t b = 0;
    for (; b < rows4; b += 4) {
      const float *r0 = src + (int64_t)b * ld + t;
      __m128 a0 = _mm_loadu_ps(r0), a1 = _mm_loadu_ps(r0 + ld), a2 = _mm_loadu_ps(r0 + 2 * ld),
             a3 = _mm_loadu_ps(r0 + 3 * ld);
      _MM_TRANSPOSE4_PS(a0, a1, a2, a3);
      _mm_storeu_ps(out + b, a0);
      _mm_storeu_ps(out + B + b, a1);
      _mm_storeu_ps(out + 2 * B + b, a2);
      _mm_storeu_ps(out + 3 * B + b, a3);
    }
    for (; b < rows; b++)
      for (int u = 0; u < 4; u++) out[u * B + b] = src[(int64_t)b * ld + t + u];
    for (; b < B; b++)
      for (int u = 0; u < 4; u++) out[u * B + b] = 0.0f;
  }
#endif
  for (; t < n; t++) {
    int32_t b = 0;
    for (; b < rows; b++) tile[t * B + b] = src[(int64_t)b * ld + t];
    for (; b < B; b++) tile[t * B + b] = 0.0f;
  }
}

// Rows r0 .. r0 + rows − 1 (rows ≤ B) of the source, transposed into a tile (zeros past
// `rows`), transformed, and written as the B destination columns starting at dst.
static inline __attribute__((always_inline)) void fft_rows(const ll_fft_stage *stages, int32_t count, const float *twr,
                                                           const float *twi, const float *srcRe, const float *srcIm,
                                                           int64_t srcLd, int32_t rows, float *dstRe, float *dstIm,
                                                           int64_t dstLd, float *scratch) {
  int64_t n = 1;
  for (int k = 0; k < count; k++) n *= stages[k].radix;
  float *tileR = scratch + 4 * n * B, *tileI = scratch + 5 * n * B;
  // The destination's lines, asked for (for writing) before the transposes and the first
  // passes: the last pass writes them in the transform's scattered order, which the hardware
  // prefetchers do not follow. Measured within one t-SNE run, calls alternating: 4–8% off
  // this function. No value changes.
  for (int64_t k = 0; k < n; k++)
    for (int u = 0; u < B; u += 16) {
      __builtin_prefetch(dstRe + k * dstLd + u, 1, 3);
      __builtin_prefetch(dstIm + k * dstLd + u, 1, 3);
    }
  transpose_rows(srcRe, srcLd, rows, n, tileR);
  transpose_rows(srcIm, srcLd, rows, n, tileI);
  fft_stages(stages, count, twr, twi, tileR, tileI, B, dstRe, dstIm, dstLd, scratch);
}

#define FFT_VARIANTS(suffix, attributes)                                                                          \
  attributes static void fft_columns_##suffix(const ll_fft_stage *stages, int32_t count, const float *twr,         \
                                              const float *twi, float *re, float *im, int64_t ld, float *scratch) { \
    fft_columns(stages, count, twr, twi, re, im, ld, scratch);                                                      \
  }                                                                                                                 \
  attributes static void fft_rows_##suffix(const ll_fft_stage *stages, int32_t count, const float *twr,            \
                                           const float *twi, const float *srcRe, const float *srcIm, int64_t srcLd, \
                                           int32_t rows, float *dstRe, float *dstIm, int64_t dstLd,                 \
                                           float *scratch) {                                                        \
    fft_rows(stages, count, twr, twi, srcRe, srcIm, srcLd, rows, dstRe, dstIm, dstLd, scratch);                     \
  }

// The same loops compiled three times; the compiler vectorises each at its target's width.
FFT_VARIANTS(portable, )
#if defined(__x86_64__)
FFT_VARIANTS(avx2, __attribute__((target("avx2"))))
FFT_VARIANTS(avx512, __attribute__((target("avx512f"))))
#endif

void latentlab_fft_rows(const ll_fft_stage *stages, int32_t stageCount, const float *twiddleRe, const float *twiddleIm,
                        const float *srcRe, const float *srcIm, int64_t srcLd, int32_t rows, float *dstRe,
                        float *dstIm, int64_t dstLd, float *scratch, int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2) {
    fft_rows_avx512(stages, stageCount, twiddleRe, twiddleIm, srcRe, srcIm, srcLd, rows, dstRe, dstIm, dstLd, scratch);
    return;
  }
  if (isa == 1) {
    fft_rows_avx2(stages, stageCount, twiddleRe, twiddleIm, srcRe, srcIm, srcLd, rows, dstRe, dstIm, dstLd, scratch);
    return;
  }
#endif
  (void)isa;
  fft_rows_portable(stages, stageCount, twiddleRe, twiddleIm, srcRe, srcIm, srcLd, rows, dstRe, dstIm, dstLd, scratch);
}

void latentlab_fft_columns(const ll_fft_stage *stages, int32_t stageCount, const float *twiddleRe,
                           const float *twiddleIm, float *re, float *im, int64_t ld, float *scratch,
                           int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2) {
    fft_columns_avx512(stages, stageCount, twiddleRe, twiddleIm, re, im, ld, scratch);
    return;
  }
  if (isa == 1) {
    fft_columns_avx2(stages, stageCount, twiddleRe, twiddleIm, re, im, ld, scratch);
    return;
  }
#endif
  (void)isa;
  fft_columns_portable(stages, stageCount, twiddleRe, twiddleIm, re, im, ld, scratch);
}

