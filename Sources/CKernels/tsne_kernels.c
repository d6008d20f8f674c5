// Barnes-Hut repulsion over a group of points: one walk of the tree serves up to eight
// points in Z-order, which share almost every decision; the per-point arithmetic then runs
// four points to an AVX2 register. See tsne_kernels.h for the contract.
#include "tsne_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static void repulsion_group_avx2(const ll_quad_node *nodes, const double *px,
                                                                    const double *py, int32_t k, double thetaSquared,
                                                                    int32_t *stack, double *fx, double *fy, double *z) {
  // Pad the group to eight with copies of its first point; their results are dropped.
  double gx[LL_REPULSION_GROUP], gy[LL_REPULSION_GROUP];
  double minX = px[0], maxX = px[0], minY = py[0], maxY = py[0];
  for (int i = 0; i < LL_REPULSION_GROUP; i++) {
    gx[i] = i < k ? px[i] : px[0];
    gy[i] = i < k ? py[i] : py[0];
    minX = gx[i] < minX ? gx[i] : minX;
    maxX = gx[i] > maxX ? gx[i] : maxX;
    minY = gy[i] < minY ? gy[i] : minY;
    maxY = gy[i] > maxY ? gy[i] : maxY;
  }
  const __m256d x0 = _mm256_loadu_pd(gx), x1 = _mm256_loadu_pd(gx + 4);
  const __m256d y0 = _mm256_loadu_pd(gy), y1 = _mm256_loadu_pd(gy + 4);
  const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
  __m256d fx0 = zero, fx1 = zero, fy0 = zero, fy1 = zero, z0 = zero, z1 = zero;
  int top = 1;
  stack[0] = 0;
  while (top > 0) {
    const ll_quad_node *node = nodes + stack[--top];
    const double mx = node->massX, my = node->massY;
    const double ddx = mx < minX ? minX - mx : (mx > maxX ? mx - maxX : 0.0);
    const double ddy = my < minY ? minY - my : (my > maxY ? my - maxY : 0.0);
    const int32_t first = node->firstChild;
    if (first == 0 || node->widthSquared < thetaSquared * (ddx * ddx + ddy * ddy)) {
      const __m256d cx = _mm256_set1_pd(mx), cy = _mm256_set1_pd(my), m = _mm256_set1_pd((double)node->count);
      // Four points at a time: d² , q = 1/(1 + d²), m' = m − [d² = 0], then the sums.
      const __m256d dx0 = _mm256_sub_pd(x0, cx), dy0 = _mm256_sub_pd(y0, cy);
      const __m256d dx1 = _mm256_sub_pd(x1, cx), dy1 = _mm256_sub_pd(y1, cy);
      const __m256d d20 = _mm256_fmadd_pd(dy0, dy0, _mm256_mul_pd(dx0, dx0));
      const __m256d d21 = _mm256_fmadd_pd(dy1, dy1, _mm256_mul_pd(dx1, dx1));
      const __m256d q0 = _mm256_div_pd(one, _mm256_add_pd(one, d20));
      const __m256d q1 = _mm256_div_pd(one, _mm256_add_pd(one, d21));
      const __m256d m0 = _mm256_sub_pd(m, _mm256_and_pd(_mm256_cmp_pd(d20, zero, _CMP_EQ_OQ), one));
      const __m256d m1 = _mm256_sub_pd(m, _mm256_and_pd(_mm256_cmp_pd(d21, zero, _CMP_EQ_OQ), one));
      const __m256d mq0 = _mm256_mul_pd(m0, q0), mq1 = _mm256_mul_pd(m1, q1);
      z0 = _mm256_add_pd(z0, mq0);
      z1 = _mm256_add_pd(z1, mq1);
      const __m256d w0 = _mm256_mul_pd(mq0, q0), w1 = _mm256_mul_pd(mq1, q1);
      fx0 = _mm256_fmadd_pd(w0, dx0, fx0);
      fx1 = _mm256_fmadd_pd(w1, dx1, fx1);
      fy0 = _mm256_fmadd_pd(w0, dy0, fy0);
      fy1 = _mm256_fmadd_pd(w1, dy1, fy1);
    } else {
      for (int32_t c = 0; c < 4; c++)
        if (nodes[first + c].count > 0) stack[top++] = first + c;
    }
  }
  double ox[LL_REPULSION_GROUP], oy[LL_REPULSION_GROUP], oz[LL_REPULSION_GROUP];
  _mm256_storeu_pd(ox, fx0);
  _mm256_storeu_pd(ox + 4, fx1);
  _mm256_storeu_pd(oy, fy0);
  _mm256_storeu_pd(oy + 4, fy1);
  _mm256_storeu_pd(oz, z0);
  _mm256_storeu_pd(oz + 4, z1);
  for (int i = 0; i < k; i++) {
    fx[i] = ox[i];
    fy[i] = oy[i];
    z[i] = oz[i];
  }
}

#endif

// Point by point, each with its own walk: CPUs without AVX2 (other bits than the group walk,
// so results agree across machines only to rounding).
static void repulsion_group_portable(const ll_quad_node *nodes, const double *px, const double *py, int32_t k,
                                     double thetaSquared, int32_t *stack, double *fx, double *fy, double *z) {
  for (int i = 0; i < k; i++) {
    double sx = 0, sy = 0, sz = 0;
    int top = 1;
    stack[0] = 0;
    while (top > 0) {
      const ll_quad_node *node = nodes + stack[--top];
      const double dx = px[i] - node->massX, dy = py[i] - node->massY, d2 = dx * dx + dy * dy;
      if (node->firstChild == 0 || node->widthSquared < thetaSquared * d2) {
        const double q = 1.0 / (1.0 + d2), m = node->count - (d2 == 0 ? 1 : 0), mq = m * q;
        sz += mq;
        sx += mq * q * dx;
        sy += mq * q * dy;
      } else {
        for (int32_t c = 0; c < 4; c++)
          if (nodes[node->firstChild + c].count > 0) stack[top++] = node->firstChild + c;
      }
    }
    fx[i] = sx;
    fy[i] = sy;
    z[i] = sz;
  }
}

void latentlab_repulsion_group(const ll_quad_node *nodes, const double *px, const double *py, int32_t k,
                               double thetaSquared, int32_t *stack, double *fx, double *fy, double *z,
                               int32_t vectorised) {
#if defined(__x86_64__)
  if (vectorised) {
    repulsion_group_avx2(nodes, px, py, k, thetaSquared, stack, fx, fy, z);
    return;
  }
#endif
  repulsion_group_portable(nodes, px, py, k, thetaSquared, stack, fx, fy, z);
}

// The attraction: four lanes of partial sums per row, the same in both versions.
#pragma clang fp contract(off)

// Edges [e, end) of row i added into the lanes sx, sy, edge number t of the row into lane
// t mod 4 (`lane` is the first edge's), one edge at a time.
static inline void attraction_edges(const int32_t *columns, const double *values, const double *y, int32_t i,
                                    int64_t e, int64_t end, int lane, double *sx, double *sy) {
  for (; e < end; e++, lane = (lane + 1) & 3) {
    const int32_t j = columns[e];
    const double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
    const double q = 1.0 / (1.0 + (dx * dx + dy * dy));
    const double pq = values[e] * q;
    sx[lane] = sx[lane] + pq * dx;
    sy[lane] = sy[lane] + pq * dy;
  }
}

static void attraction_portable(const int64_t *rowStart, const int32_t *columns, const double *values, const double *y,
                                int32_t first, int32_t last, double *ax, double *ay) {
  for (int32_t i = first; i < last; i++) {
    double sx[4] = {0, 0, 0, 0}, sy[4] = {0, 0, 0, 0};
    attraction_edges(columns, values, y, i, rowStart[i], rowStart[i + 1], 0, sx, sy);
    ax[i] = (sx[0] + sx[1]) + (sx[2] + sx[3]);
    ay[i] = (sy[0] + sy[1]) + (sy[2] + sy[3]);
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void attraction_avx2(const int64_t *rowStart, const int32_t *columns,
                                                            const double *values, const double *y, int32_t first,
                                                            int32_t last, double *ax, double *ay) {
  const __m256d one = _mm256_set1_pd(1.0);
  for (int32_t i = first; i < last; i++) {
    const __m256d yi0 = _mm256_set1_pd(y[2 * i]), yi1 = _mm256_set1_pd(y[2 * i + 1]);
    __m256d sx = _mm256_setzero_pd(), sy = _mm256_setzero_pd();
    int64_t e = rowStart[i];
    const int64_t end = rowStart[i + 1];
    for (; e + 4 <= end; e += 4) {
      // The four neighbours' (x, y) pairs, one 16-byte load each, regrouped into x's and y's
      // (10% faster than two gathers on a Xeon: the same values either way).
      const double *p0 = y + 2 * (int64_t)columns[e], *p1 = y + 2 * (int64_t)columns[e + 1];
      const double *p2 = y + 2 * (int64_t)columns[e + 2], *p3 = y + 2 * (int64_t)columns[e + 3];
      const __m256d a = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p0)), _mm_loadu_pd(p2), 1);
      const __m256d b = _mm256_insertf128_pd(_mm256_castpd128_pd256(_mm_loadu_pd(p1)), _mm_loadu_pd(p3), 1);
      const __m256d dx = _mm256_sub_pd(yi0, _mm256_unpacklo_pd(a, b));
      const __m256d dy = _mm256_sub_pd(yi1, _mm256_unpackhi_pd(a, b));
      const __m256d d2 = _mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy));
      const __m256d q = _mm256_div_pd(one, _mm256_add_pd(one, d2));
      const __m256d pq = _mm256_mul_pd(_mm256_loadu_pd(values + e), q);
      sx = _mm256_add_pd(sx, _mm256_mul_pd(pq, dx));
      sy = _mm256_add_pd(sy, _mm256_mul_pd(pq, dy));
    }
    double lx[4], ly[4];
    _mm256_storeu_pd(lx, sx);
    _mm256_storeu_pd(ly, sy);
    // The tail (fewer than four edges) from lane 0, as the portable loop.
    attraction_edges(columns, values, y, i, e, end, 0, lx, ly);
    ax[i] = (lx[0] + lx[1]) + (lx[2] + lx[3]);
    ay[i] = (ly[0] + ly[1]) + (ly[2] + ly[3]);
  }
}
#endif

void latentlab_tsne_attraction(const int64_t *rowStart, const int32_t *columns, const double *values,
                               const double *y, int32_t first, int32_t last, double *ax, double *ay,
                               int32_t vectorised) {
#if defined(__x86_64__)
  if (vectorised) {
    attraction_avx2(rowStart, columns, values, y, first, last, ax, ay);
    return;
  }
#endif
  (void)vectorised;
  attraction_portable(rowStart, columns, values, y, first, last, ax, ay);
}
