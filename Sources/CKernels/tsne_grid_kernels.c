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

// Each point's box and Lagrange weights; P is the nodes per box (a constant in the variant
// for 3, FIt-SNE's default, so that the loop over points vectorises) or p.
static inline __attribute__((always_inline)) void point_weights(const int P, const double *y, int32_t first,
                                                                int32_t last, double lo, double boxWidth,
                                                                int32_t boxes, const double *t, const double *den,
                                                                int32_t *box, double *wx, double *wy) {
  const double top = (double)(boxes - 1);
  for (int32_t i = first; i < last; i++) {
    int32_t cell[2];
    for (int d = 0; d < 2; d++) {
      const double position = (y[2 * (int64_t)i + d] - lo) / boxWidth;
      double f = __builtin_floor(position);
      f = f >= 0.0 ? f : 0.0;  // NaN too: its weights are NaN, its box stays on the grid
      f = f <= top ? f : top;
      const int32_t index = (int32_t)f;
      const double u = position - (double)index;
      double *out = (d == 0 ? wx : wy) + (int64_t)i * P;
      for (int j = 0; j < P; j++) {
        double numerator = 1.0;
        for (int k = 0; k < P; k++)
          if (k != j) numerator *= u - t[k];
        out[j] = numerator / den[j];
      }
      cell[d] = index;
    }
    box[i] = cell[1] * boxes + cell[0];
  }
}

// One point's own term through the grid, Σ_da Cy(da) Σ_db Cx(db) K(da, db) with
// Cx(d) = Σ_{|b − b'| = d} wx_b·wx_b' (b outer, b' inner, from +0).
static inline __attribute__((always_inline)) double self_term(const int P, const double *wx, const double *wy,
                                                              const float *kernel) {
  double cx[6], cy[6];
  for (int d = 0; d < P; d++) cx[d] = cy[d] = 0.0;
  for (int a = 0; a < P; a++)
    for (int a2 = 0; a2 < P; a2++) {
      const int d = a > a2 ? a - a2 : a2 - a;
      cx[d] += wx[a] * wx[a2];
      cy[d] += wy[a] * wy[a2];
    }
  double point = 0.0;
  for (int da = 0; da < P; da++) {
    double row = 0.0;
    for (int db = 0; db < P; db++) row += cx[db] * (double)kernel[da * P + db];
    point += cy[da] * row;
  }
  return point;
}

// The points' self terms, a block at a time into a buffer (the per-point work vectorises),
// then added in point order.
static inline __attribute__((always_inline)) double self_terms(const int P, const double *wx, const double *wy,
                                                               int32_t first, int32_t last, const float *kernel) {
  double total = 0.0, terms[256];
  for (int32_t i0 = first; i0 < last; i0 += 256) {
    const int32_t count = last - i0 < 256 ? last - i0 : 256;
    for (int32_t q = 0; q < count; q++)
      terms[q] = self_term(P, wx + (int64_t)(i0 + q) * P, wy + (int64_t)(i0 + q) * P, kernel);
    for (int32_t q = 0; q < count; q++) total += terms[q];
  }
  return total;
}

// Each point's force read back from the fields (re: x, im: y) with its weights.
static inline __attribute__((always_inline)) void read_back(const int P, const int32_t *box, const double *wx,
                                                            const double *wy, int32_t first, int32_t last,
                                                            int32_t boxes, const float *re, const float *im,
                                                            int64_t ld, double scale, double *force) {
  for (int32_t i = first; i < last; i++) {
    const int32_t br = box[i] / boxes, bc = box[i] % boxes;
    double fx = 0.0, fy = 0.0;
    for (int a = 0; a < P; a++) {
      const double w = wy[(int64_t)i * P + a];
      const int64_t offset = (int64_t)(br * P + a) * ld + (int64_t)bc * P;
      double rx = 0.0, ry = 0.0;
      for (int b = 0; b < P; b++) {
        const double v = wx[(int64_t)i * P + b];
        rx += v * (double)re[offset + b];
        ry += v * (double)im[offset + b];
      }
      fx += w * rx;
      fy += w * ry;
    }
    force[2 * (int64_t)i] = fx * scale;
    force[2 * (int64_t)i + 1] = -fy * scale;
  }
}

#define POINT_VARIANT(suffix, attributes)                                                                          \
  attributes static void point_weights_##suffix(const double *y, int32_t first, int32_t last, double lo,           \
                                                double boxWidth, int32_t boxes, int32_t p, const double *t,        \
                                                const double *den, int32_t *box, double *wx, double *wy) {         \
    if (p == 3)                                                                                                    \
      point_weights(3, y, first, last, lo, boxWidth, boxes, t, den, box, wx, wy);                                  \
    else                                                                                                           \
      point_weights(p, y, first, last, lo, boxWidth, boxes, t, den, box, wx, wy);                                  \
  }                                                                                                                \
  attributes static void read_back_##suffix(const int32_t *box, const double *wx, const double *wy, int32_t first,   \
                                            int32_t last, int32_t boxes, int32_t p, const float *re,              \
                                            const float *im, int64_t ld, double scale, double *force) {          \
    if (p == 3)                                                                                                    \
      read_back(3, box, wx, wy, first, last, boxes, re, im, ld, scale, force);                                     \
    else                                                                                                           \
      read_back(p, box, wx, wy, first, last, boxes, re, im, ld, scale, force);                                     \
  }                                                                                                                \
  attributes static double self_terms_##suffix(const double *wx, const double *wy, int32_t first, int32_t last,    \
                                               int32_t p, const float *kernel) {                                   \
    return p == 3 ? self_terms(3, wx, wy, first, last, kernel) : self_terms(p, wx, wy, first, last, kernel);       \
  }

POINT_VARIANT(portable, )
#if defined(__x86_64__)
POINT_VARIANT(avx2, __attribute__((target("avx2"))))
POINT_VARIANT(avx512, __attribute__((target("avx512f,avx512dq"))))
#endif

void latentlab_tsne_point_weights(const double *y, int32_t first, int32_t last, double lo, double boxWidth,
                                  int32_t boxes, int32_t p, const double *nodes, const double *denominators,
                                  int32_t *box, double *wx, double *wy, int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2) return point_weights_avx512(y, first, last, lo, boxWidth, boxes, p, nodes, denominators, box, wx, wy);
  if (isa == 1) return point_weights_avx2(y, first, last, lo, boxWidth, boxes, p, nodes, denominators, box, wx, wy);
#endif
  (void)isa;
  point_weights_portable(y, first, last, lo, boxWidth, boxes, p, nodes, denominators, box, wx, wy);
}

double latentlab_tsne_self_terms(const double *wx, const double *wy, int32_t first, int32_t last, int32_t p,
                                 const float *kernel, int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2) return self_terms_avx512(wx, wy, first, last, p, kernel);
  if (isa == 1) return self_terms_avx2(wx, wy, first, last, p, kernel);
#endif
  (void)isa;
  return self_terms_portable(wx, wy, first, last, p, kernel);
}

void latentlab_tsne_read_back(const int32_t *box, const double *wx, const double *wy, int32_t first, int32_t last,
                              int32_t boxes, int32_t p, const float *re, const float *im, int64_t ld, double scale,
                              double *force, int32_t isa) {
#if defined(__x86_64__)
  if (isa >= 2) return read_back_avx512(box, wx, wy, first, last, boxes, p, re, im, ld, scale, force);
  if (isa == 1) return read_back_avx2(box, wx, wy, first, last, boxes, p, re, im, ld, scale, force);
#endif
  (void)isa;
  read_back_portable(box, wx, wy, first, last, boxes, p, re, im, ld, scale, force);
}

void latentlab_tsne_spread(const int32_t *order, const int32_t *box, const double *wx, const double *wy,
                           int64_t positionFirst, int64_t positionLast, int32_t boxes, int32_t p, int32_t nodes,
                           double *charges) {
  for (int64_t position = positionFirst; position < positionLast; position++) {
    const int32_t i = order[position];
    const int32_t br = box[i] / boxes, bc = box[i] % boxes;
    for (int a = 0; a < p; a++) {
      const double w = wy[(int64_t)i * p + a];
      double *row = charges + (int64_t)(br * p + a) * nodes + (int64_t)bc * p;
      for (int b = 0; b < p; b++) row[b] += w * wx[(int64_t)i * p + b];
    }
  }
}
