// The elementwise passes of t-SNE's FFT interpolation; see tsne_grid_kernels.h. Contraction
// into fused multiply-adds is off, and no loop reassociates a sum, so the vectorised
// variants compute every element with the same operations as the portable one.
#include "tsne_grid_kernels.h"

#include <string.h>

#pragma clang fp contract(off)

void latentlab_tsne_kernel_grid(int32_t nodes, int32_t side, float h, int32_t rowFirst, int32_t rowLast,
                                int32_t columns, float *re, float *im, int64_t ld) {
  const int32_t live = columns < nodes ? columns : nodes;
  for (int32_t y = rowFirst; y < rowLast; y++) {
    float *rowRe = re + (int64_t)y * ld, *rowIm = im + (int64_t)y * ld;
    if (y == nodes) {
      memset(rowRe, 0, sizeof(float) * (size_t)columns);
      memset(rowIm, 0, sizeof(float) * (size_t)columns);
      continue;
    }
    const float dy = (float)(y < nodes ? y : y - side) * h;
    const float dy2 = dy * dy;
    for (int32_t x = 0; x < live; x++) {
      const float dx = (float)x * h;
      const float k = 1.0f / ((1.0f + dx * dx) + dy2);
      const float k2 = k * k;
      rowRe[x] = k;
      rowIm[x] = dx * k2 + dy * k2;
    }
    for (int32_t x = live; x < columns; x++) rowRe[x] = rowIm[x] = 0.0f;
  }
}

void latentlab_tsne_pack_kernel_rows(int32_t nodes, int32_t side, int32_t rowFirst, int32_t rowLast, const float *re,
                                     const float *im, int64_t ld, float *outRe, float *outIm, int64_t outLd) {
  const int32_t half = side / 2;
  for (int32_t r = rowFirst; r < rowLast; r++) {
    const float *restrict u1 = re + (int64_t)r * ld, *restrict v1 = im + (int64_t)r * ld;
    const float *restrict u2 = re + (int64_t)(r + half) * ld, *restrict v2 = im + (int64_t)(r + half) * ld;
    float *restrict oRe = outRe + (int64_t)r * outLd, *restrict oIm = outIm + (int64_t)r * outLd;
    for (int32_t x = 0; x <= nodes; x++) {
      oRe[x] = u1[x] - v2[x];
      oIm[x] = v1[x] + u2[x];
    }
    for (int32_t x = nodes + 1; x < side; x++) {
      const int32_t m = side - x;
      oRe[x] = u1[m] + v2[m];
      oIm[x] = u2[m] - v1[m];
    }
  }
}

#define LANES 16

// One frequency row: the four M rows it needs and Ŵ over the whole row laid out contiguously
// in scratch first (reversed copies for −fy), so the main loop runs over plain arrays.
static inline __attribute__((always_inline)) double spectrum_row(int32_t nodes, int32_t side, int32_t fx,
                                                                 const float *wRe, const float *wIm, int64_t wLd,
                                                                 const float *mRe, const float *mIm, int64_t mLd,
                                                                 float *tRe, float *tIm, int64_t tLd, float *scratch) {
  const int32_t half = side / 2, fx2 = (side - fx) % side;
  float *restrict a = scratch, *restrict b = scratch + side, *restrict ar = scratch + 2 * side;
  float *restrict br = scratch + 3 * side, *restrict wr = scratch + 4 * side, *restrict wi = scratch + 5 * side;
  const float *m1Re = mRe + (int64_t)fx * mLd, *m1Im = mIm + (int64_t)fx * mLd;
  const float *m2Re = mRe + (int64_t)fx2 * mLd, *m2Im = mIm + (int64_t)fx2 * mLd;
  memcpy(a, m1Re, sizeof(float) * (size_t)half);
  memcpy(a + half, m1Im, sizeof(float) * (size_t)half);
  memcpy(b, m2Re, sizeof(float) * (size_t)half);
  memcpy(b + half, m2Im, sizeof(float) * (size_t)half);
  ar[0] = a[0];
  br[0] = b[0];
  for (int32_t f = 1; f < side; f++) {
    ar[f] = a[side - f];
    br[f] = b[side - f];
  }
  const float *w1Re = wRe + (int64_t)fx * wLd, *w1Im = wIm + (int64_t)fx * wLd;
  const float *w2Re = wRe + (int64_t)fx2 * wLd, *w2Im = wIm + (int64_t)fx2 * wLd;
  memcpy(wr, w1Re, sizeof(float) * (size_t)(nodes + 1));
  memcpy(wi, w1Im, sizeof(float) * (size_t)(nodes + 1));
  for (int32_t f = nodes + 1; f < side; f++) {
    wr[f] = w2Re[side - f];
    wi[f] = -w2Im[side - f];
  }
  float *restrict oRe = tRe + (int64_t)fx * tLd, *restrict oIm = tIm + (int64_t)fx * tLd;
  double lanes[LANES] = {0};
  int32_t f = 0;
  for (; f + LANES <= side; f += LANES) {
    for (int l = 0; l < LANES; l++) {
      const float m1 = a[f + l], m2 = b[f + l], m3 = ar[f + l], m4 = br[f + l];
      const float s12 = m1 + m2, s34 = m3 + m4;
      const float kh = (s12 + s34) * 0.25f;
      const float beta = (s12 - s34) * 0.25f;   // −β
      const float gamma = (m1 - m2) * 0.5f;     // −γ
      const float x = wr[f + l], y = wi[f + l];
      oRe[f + l] = x * beta + y * gamma;
      oIm[f + l] = x * gamma - y * beta;
      lanes[l] += (double)((x * x + y * y) * kh);
    }
  }
  double tail = 0;
  for (; f < side; f++) {
    const float m1 = a[f], m2 = b[f], m3 = ar[f], m4 = br[f];
    const float s12 = m1 + m2, s34 = m3 + m4;
    const float kh = (s12 + s34) * 0.25f;
    const float beta = (s12 - s34) * 0.25f;
    const float gamma = (m1 - m2) * 0.5f;
    const float x = wr[f], y = wi[f];
    oRe[f] = x * beta + y * gamma;
    oIm[f] = x * gamma - y * beta;
    tail += (double)((x * x + y * y) * kh);
  }
  double total = 0;
  for (int l = 0; l < LANES; l++) total += lanes[l];
  return total + tail;
}

#define SPECTRUM_VARIANT(suffix, attributes)                                                                        \
  attributes static double spectrum_rows_##suffix(int32_t nodes, int32_t side, int32_t rowFirst, int32_t rowLast,  \
                                                  const float *wRe, const float *wIm, int64_t wLd, const float *mRe, \
                                                  const float *mIm, int64_t mLd, float *tRe, float *tIm,            \
                                                  int64_t tLd, float *scratch) {                                    \
    double total = 0;                                                                                               \
    for (int32_t fx = rowFirst; fx < rowLast; fx++)                                                                 \
      total += spectrum_row(nodes, side, fx, wRe, wIm, wLd, mRe, mIm, mLd, tRe, tIm, tLd, scratch);                 \
    return total;                                                                                                   \
  }

SPECTRUM_VARIANT(portable, )
#if defined(__x86_64__)
SPECTRUM_VARIANT(avx2, __attribute__((target("avx2"))))
SPECTRUM_VARIANT(avx512, __attribute__((target("avx512f"))))
#endif

double latentlab_tsne_spectrum_product(int32_t nodes, int32_t side, int32_t rowFirst, int32_t rowLast,
                                       const float *wRe, const float *wIm, int64_t wLd, const float *mRe,
                                       const float *mIm, int64_t mLd, float *tRe, float *tIm, int64_t tLd,
                                       float *scratch, int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2)
    return spectrum_rows_avx512(nodes, side, rowFirst, rowLast, wRe, wIm, wLd, mRe, mIm, mLd, tRe, tIm, tLd, scratch);
  if (isa == 1)
    return spectrum_rows_avx2(nodes, side, rowFirst, rowLast, wRe, wIm, wLd, mRe, mIm, mLd, tRe, tIm, tLd, scratch);
#endif
  (void)isa;
  return spectrum_rows_portable(nodes, side, rowFirst, rowLast, wRe, wIm, wLd, mRe, mIm, mLd, tRe, tIm, tLd, scratch);
}
