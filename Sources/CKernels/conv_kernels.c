// Direct convolution kernels over lane tensors (see conv_kernels.h for the layout and the
// contracts). Each output register holds one element of eight images; the inner loops
// broadcast one weight and FMA it with one eight-image vector, so a block of up to 12 output
// channels stays in registers while the input channels and taps stream past.
//
// Determinism: every sum runs in an order fixed by the shapes alone (never by the thread
// count or by data), so the Swift side's fixed chunks give the same bits with any threads.
#include "conv_kernels.h"
#include "even_blocks.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define MAX_BLOCK 6
#define TARGET __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

int latentlab_avx2_fma_available(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!(fma && osxsave && avx)) return 0;
  // The OS must save the YMM state (XCR0 bits 1 and 2).
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b >> 5) & 1;  // AVX2
}

// Output channels are cut into blocks of at most MAX_BLOCK (two positions of MAX_BLOCK
// accumulators fill 12 of the 16 AVX2 registers), as even as possible: 8 channels run as
// 4 + 4 rather than 6 + 2 (ll_block_count and ll_block_start, even_blocks.h).

void latentlab_pack_conv_weight(const float *w, ptrdiff_t strideA, ptrdiff_t strideB, int32_t a, int32_t b,
                                int32_t k, float *packed) {
  const int blocks = ll_block_count(a, MAX_BLOCK);
  float *out = packed;
  for (int blk = 0; blk < blocks; blk++) {
    const int a0 = ll_block_start(a, blocks, blk), ab = ll_block_start(a, blocks, blk + 1) - a0;
    for (int ib = 0; ib < b; ib++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
          for (int j = 0; j < ab; j++) *out++ = w[(a0 + j) * strideA + ib * strideB + ky * k + kx];
  }
}

// A sum as ll_store_mode stores it: the compare and mask of latentlab_relu_forward (on the
// sum) or latentlab_relu_backward (on the gate), so the bits are theirs.
INLINE TARGET __m256 store_mode_avx2(__m256 v, ll_store_mode mode, const float *gate) {
  if (mode == LL_STORE_SUM) return v;
  const __m256 test = mode == LL_STORE_RELU ? v : _mm256_loadu_ps(gate);
  return _mm256_and_ps(v, _mm256_cmp_ps(test, _mm256_setzero_ps(), _CMP_NLE_UQ));
}

// The taps of output row oy at output column `first` (a run's first position, see
// ll_axis.wide*), in (tap row, tap column) order: each tap's input offset (floats) within one
// input channel's plane, and its kernel index ky·k + kx; returns their count (at most
// LL_MAX_KERNEL²). The kernels that walk a run's taps as one flat list, the same for every
// input channel and channel block, fill it once per run.
INLINE int ll_run_taps(const ll_axis *rows, const ll_axis *cols, int32_t oy, int32_t first, ptrdiff_t *offset,
                       int32_t *kernel) {
  const int32_t k = rows->kernelSize, inWidth = cols->inputCount;
  int taps = 0;
  for (int32_t ty = rows->tapStart[oy]; ty < rows->tapStart[oy + 1]; ty++)
    for (int32_t tx = cols->tapStart[first]; tx < cols->tapStart[first + 1]; tx++) {
      offset[taps] = ((ptrdiff_t)rows->tapInput[ty] * inWidth + cols->tapInput[tx]) * 8;
      kernel[taps++] = rows->tapKernel[ty] * k + cols->tapKernel[tx];
    }
  return taps;
}

// The forward convolution (lane_conv_forward.h) at two widths. AVX-512 takes two lane groups
// to a register: the halves are loaded from, and stored to, the two groups' places.
#define VEC __m256
#define VTARGET TARGET
#define NAME(f) f##_avx2
#define VZERO() _mm256_setzero_ps()
#define VSET1(f) _mm256_set1_ps(f)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE_MODE(p, v, mode, gate) _mm256_storeu_ps(p, store_mode_avx2(v, mode, gate))
#define VRUN 8
#define VFMA _mm256_fmadd_ps
#define VADD _mm256_add_ps
#include "lane_conv_forward.h"

#define TARGET512 __attribute__((target("avx512f,avx2,fma")))
INLINE TARGET512 __m512 load_pair(const float *p, ptrdiff_t second) {
  const __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(p)));
  return _mm512_castpd_ps(_mm512_insertf64x4(low, _mm256_castps_pd(_mm256_loadu_ps(p + second)), 1));
}
INLINE TARGET512 void store_pair(float *p, ptrdiff_t second, __m512 v) {
  _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
  _mm256_storeu_ps(p + second, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
#define VEC __m512
#define VTARGET TARGET512
#define NAME(f) f##_avx512
#define VZERO() _mm512_setzero_ps()
#define VSET1(f) _mm512_set1_ps(f)
// As store_mode_avx2 for two lane groups (the gate's second half gout floats on, as y's).
INLINE TARGET512 __m512 store_mode_avx512(__m512 v, ll_store_mode mode, const float *gate, ptrdiff_t gout) {
  if (mode == LL_STORE_SUM) return v;
  const __m512 test = mode == LL_STORE_RELU ? v : load_pair(gate, gout);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(test, _mm512_setzero_ps(), _CMP_NLE_UQ), v);
}
// Two adjacent blocks of output channels (AB0 + AB1, up to 12) on AVX-512, at once: two
// positions at a time (up to 24 of the 32 registers), so each input load (two halves and an
// insert at this width) serves both blocks' channels rather than one block's. Each output's
// accumulator gets what conv_pixels gives it, from zero, then the bias: the same bits. That
// holds when both blocks sum in one chain in conv_pixels' taps-outside order: blocks of 4 to 6
// (R = 1) over 4 or more input channels; or one input channel (a first layer's forward pass,
// the last layer's input gradient), where chains past the first stay +0 and adding them
// changes nothing (an accumulator that starts at +0 never becomes −0), for blocks of 3 to 6.
// The packed weights are the two blocks' (latentlab_pack_conv_weight), one after the other.
INLINE TARGET512 void pair_pixels_avx512(const int AB0, const int AB1, const int P, const int ONE, const float *x,
                                         int32_t inputs, const float *packed, const float *bias, float *y,
                                         ll_store_mode mode, const float *gate, const ll_axis *rows,
                                         const ll_axis *cols, int32_t oy, int32_t o1, int32_t o2, ptrdiff_t gin,
                                         ptrdiff_t gout) {
  // ONE: a single input channel, known at compile time (the channel loop then vanishes).
  const int32_t nb = ONE ? 1 : inputs;
  const int A = AB0 + AB1, k = rows->kernelSize;
  const ptrdiff_t wStep0 = (ptrdiff_t)k * k * AB0, wStep1 = (ptrdiff_t)k * k * AB1;
  const float *packed1 = packed + (ptrdiff_t)nb * wStep0;
  const ptrdiff_t inPlane = (ptrdiff_t)rows->inputCount * cols->inputCount * 8;
  const ptrdiff_t outPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  const int32_t inWidth = cols->inputCount;
  const int32_t ty0 = rows->tapStart[oy], ty1 = rows->tapStart[oy + 1];
  const int32_t tx0 = cols->tapStart[o1], tx1 = cols->tapStart[o1 + 1];
  const int32_t shift = P == 2 ? cols->tapStart[o2] - tx0 : 0;
  __m512 acc[2][2 * MAX_BLOCK];
  for (int q = 0; q < P; q++)
    for (int j = 0; j < A; j++) acc[q][j] = _mm512_setzero_ps();
  for (int32_t ty = ty0; ty < ty1; ty++) {
    const float *xrow = x + (ptrdiff_t)rows->tapInput[ty] * inWidth * 8;
    const float *wrow0 = packed + rows->tapKernel[ty] * k * AB0, *wrow1 = packed1 + rows->tapKernel[ty] * k * AB1;
    for (int32_t tx = tx0; tx < tx1; tx++) {
      const float *x1 = xrow + cols->tapInput[tx] * 8;
      const float *x2 = P == 2 ? xrow + cols->tapInput[tx + shift] * 8 : x1;
      const float *w0 = wrow0 + cols->tapKernel[tx] * AB0, *w1 = wrow1 + cols->tapKernel[tx] * AB1;
      for (int32_t ib = 0; ib < nb; ib++) {
        const __m512 v1 = load_pair(x1 + ib * inPlane, gin);
        __m512 v2 = v1;
        if (P == 2) v2 = load_pair(x2 + ib * inPlane, gin);
        const float *wb0 = w0 + ib * wStep0, *wb1 = w1 + ib * wStep1;
        for (int j = 0; j < A; j++) {
          const __m512 wv = _mm512_set1_ps(j < AB0 ? wb0[j] : wb1[j - AB0]);
          acc[0][j] = _mm512_fmadd_ps(wv, v1, acc[0][j]);
          if (P == 2) acc[1][j] = _mm512_fmadd_ps(wv, v2, acc[1][j]);
        }
      }
    }
  }
  for (int q = 0; q < P; q++) {
    const ptrdiff_t at = ((ptrdiff_t)oy * cols->outputCount + (q == 0 ? o1 : o2)) * 8;
    for (int j = 0; j < A; j++) {
      __m512 s = acc[q][j];
      if (bias) s = _mm512_add_ps(s, _mm512_set1_ps(bias[j]));
      const ptrdiff_t place = at + j * outPlane;
      store_pair(y + place, gout, store_mode_avx512(s, mode, gate ? gate + place : NULL, gout));
    }
  }
}

// pair_pixels_avx512 for blocks of ab0 and ab1 at one or two positions: 4 to 6 each over any
// number of inputs, and blocks of 3 over one input only (the only place lane_conv_unit pairs them).
INLINE TARGET512 void pair_pixels_dispatch_avx512(int ab0, int ab1, const float *x, int32_t nb, const float *packed,
                                                  const float *bias, float *y, ll_store_mode mode, const float *gate,
                                                  const ll_axis *rows, const ll_axis *cols, int32_t oy, int32_t o1,
                                                  int32_t o2, ptrdiff_t gin, ptrdiff_t gout) {
#define PAIR_ONE(m, n)                                                                                           \
  if (o2 >= 0)                                                                                                   \
    pair_pixels_avx512(m, n, 2, 1, x, 1, packed, bias, y, mode, gate, rows, cols, oy, o1, o2, gin, gout);        \
  else                                                                                                           \
    pair_pixels_avx512(m, n, 1, 1, x, 1, packed, bias, y, mode, gate, rows, cols, oy, o1, -1, gin, gout);
#define PAIR_ONE_CASE(m, n) \
  case (m) * 8 + (n):       \
    PAIR_ONE(m, n)          \
    break;
#define PAIR_CASE(m, n)                                                                                          \
  case (m) * 8 + (n):                                                                                            \
    if (nb == 1) {                                                                                               \
      PAIR_ONE(m, n)                                                                                             \
    } else if (o2 >= 0) {                                                                                        \
      pair_pixels_avx512(m, n, 2, 0, x, nb, packed, bias, y, mode, gate, rows, cols, oy, o1, o2, gin, gout);     \
    } else {                                                                                                     \
      pair_pixels_avx512(m, n, 1, 0, x, nb, packed, bias, y, mode, gate, rows, cols, oy, o1, -1, gin, gout);     \
    }                                                                                                            \
    break;
  switch (ab0 * 8 + ab1) {
    PAIR_ONE_CASE(3, 3) PAIR_ONE_CASE(3, 4) PAIR_ONE_CASE(3, 5) PAIR_ONE_CASE(3, 6) PAIR_ONE_CASE(4, 3)
    PAIR_ONE_CASE(5, 3) PAIR_ONE_CASE(6, 3)
    PAIR_CASE(4, 4) PAIR_CASE(4, 5) PAIR_CASE(4, 6) PAIR_CASE(5, 4) PAIR_CASE(5, 5) PAIR_CASE(5, 6)
    PAIR_CASE(6, 4) PAIR_CASE(6, 5) PAIR_CASE(6, 6)
  }
#undef PAIR_CASE
#undef PAIR_ONE_CASE
#undef PAIR_ONE
}
#define VPAIR pair_pixels_dispatch_avx512
#define VLOAD(p) load_pair((p), gin)
#define VSTORE_MODE(p, v, mode, gate) store_pair((p), gout, store_mode_avx512(v, mode, gate, gout))
#define VRUN 16
#define VFMA _mm512_fmadd_ps
#define VADD _mm512_add_ps
#include "lane_conv_forward.h"

// One output channel at AVX-512 where each run reads inputs one position apart (a stride-2
// transposed convolution's phases): one lane group at a time, two adjacent positions of a run
// in the halves of a register, so each FMA takes one 16-float load where conv_runs_avx512
// takes two halves and an insert. Each output gets conv_wide's FMAs in its order (input
// channel, tap row, tap column) from zero, then the bias and the store mode: the same bits.
// H registers hold the run's Q positions (Q odd: the last high half reads zeros, unstored);
// a run has at most LL_MAX_RUN = 16 positions (LaneAxis), so one call takes a whole run.
INLINE TARGET512 void run_halves512(const int H, const float *x, int32_t nb, const float *packed, const float *bias,
                                   float *y, ll_store_mode mode, const float *gate, const ll_axis *rows,
                                   const ll_axis *cols, int32_t oy, int32_t run, int32_t Q) {
  const int k = rows->kernelSize;
  const ptrdiff_t inPlane = (ptrdiff_t)rows->inputCount * cols->inputCount * 8;
  const int32_t first = cols->wideFirst[run];
  const __mmask16 last = (Q & 1) ? 0x00FF : 0xFFFF;
  // The run's taps once (shifted by each input channel's plane and its k·k weights).
  ptrdiff_t offset[LL_MAX_KERNEL * LL_MAX_KERNEL];
  int32_t kernel[LL_MAX_KERNEL * LL_MAX_KERNEL];
  const int taps = ll_run_taps(rows, cols, oy, first, offset, kernel);
  __m512 acc[8];
  for (int h = 0; h < H; h++) acc[h] = _mm512_setzero_ps();
  for (int ib = 0; ib < nb; ib++) {
    const float *xb = x + ib * inPlane, *wb = packed + (ptrdiff_t)ib * k * k;
    for (int t = 0; t < taps; t++) {
      const float *xp = xb + offset[t];
      const __m512 w = _mm512_set1_ps(wb[kernel[t]]);
      for (int h = 0; h < H - 1; h++) acc[h] = _mm512_fmadd_ps(w, _mm512_loadu_ps(xp + 16 * h), acc[h]);
      acc[H - 1] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(last, xp + 16 * (H - 1)), acc[H - 1]);
    }
  }
  const ptrdiff_t step = (ptrdiff_t)cols->wideStep[run] * 8;
  const ptrdiff_t at = ((ptrdiff_t)oy * cols->outputCount + first) * 8;
  for (int h = 0; h < H; h++) {
    __m512 s = acc[h];
    if (bias) s = _mm512_add_ps(s, _mm512_set1_ps(bias[0]));
    const ptrdiff_t low = at + 2 * h * step, high = low + step;
    _mm256_storeu_ps(y + low, store_mode_avx2(_mm512_castps512_ps256(s), mode, gate ? gate + low : NULL));
    if (2 * h + 1 < Q)
      _mm256_storeu_ps(y + high, store_mode_avx2(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)), mode,
                                                 gate ? gate + high : NULL));
  }
}

// Whether every run of `cols` reads inputs one position apart (or is one position long).
static int runs_read_adjacent_inputs(const ll_axis *cols) {
  for (int32_t run = 0; run < cols->wideCount; run++)
    if (cols->wideLength[run] > 1 && cols->wideDelta[run] != 1) return 0;
  return 1;
}

// conv_runs for one lane group by run_halves512, a whole run (at most 16 positions) a call.
_Static_assert(LL_MAX_RUN <= 16, "run_halves512 holds a run in at most 8 registers");
TARGET512 static void conv_runs_halves512(const float *x, int32_t b, const float *packed, const float *bias, float *y,
                                          ll_store_mode mode, const float *gate, const ll_axis *rows,
                                          const ll_axis *cols) {
  for (int32_t oy = 0; oy < rows->outputCount; oy++)
    for (int32_t run = 0; run < cols->wideCount; run++) {
      const int32_t q = cols->wideLength[run];
      switch ((q + 1) / 2) {
#define HALVES(h)                                                                          \
  case h:                                                                                  \
    run_halves512(h, x, b, packed, bias, y, mode, gate, rows, cols, oy, run, q);           \
    break;
        HALVES(1) HALVES(2) HALVES(3) HALVES(4) HALVES(5) HALVES(6) HALVES(7) HALVES(8)
#undef HALVES
      }
    }
}

// One input channel into several output channels at AVX2 width (a network's first layer, the
// last one's input gradient), one lane group: for each output row and run (ll_axis.wide*:
// positions with the same taps at inputs a constant delta apart), S output channels × Q
// positions in S·Q accumulators (2 × 6 = 12 of the 16 registers, beside the S weights and the
// input vector), the run's taps walked as one flat list. Each output gets what conv_pixels'
// single-channel path gives it, the taps in (tap row, tap column) order from +0 in one chain,
// then the bias and the store mode: the same bits; per tap, S broadcasts and Q loads feed
// S·Q FMAs, where conv_pixels' two positions of a block of 4 take 6 loads for 8.
INLINE TARGET void one_input_piece(const int S, const int Q, const float *x, const float *const *wp,
                                   const ptrdiff_t *ws, const float *bias, float *y, ll_store_mode mode, const float *gate,
                                   const ptrdiff_t *offset, const int32_t *kernel, int taps, ptrdiff_t delta,
                                   ptrdiff_t at, ptrdiff_t step, ptrdiff_t outPlane) {
  __m256 acc[8][2];  // S·Q ≤ 12: 2 × 6 or 1 × 8
  for (int q = 0; q < Q; q++)
    for (int j = 0; j < S; j++) acc[q][j] = _mm256_setzero_ps();
  for (int t = 0; t < taps; t++) {
    const float *xp = x + offset[t];
    __m256 wv[2];
    for (int j = 0; j < S; j++) wv[j] = _mm256_set1_ps(wp[j][kernel[t] * ws[j]]);
    for (int q = 0; q < Q; q++) {
      const __m256 v = _mm256_loadu_ps(xp + q * delta);
      for (int j = 0; j < S; j++) acc[q][j] = _mm256_fmadd_ps(wv[j], v, acc[q][j]);
    }
  }
  for (int q = 0; q < Q; q++)
    for (int j = 0; j < S; j++) {
      __m256 v = acc[q][j];
      if (bias) v = _mm256_add_ps(v, _mm256_set1_ps(bias[j]));
      const ptrdiff_t place = at + q * step + j * outPlane;
      _mm256_storeu_ps(y + place, store_mode_avx2(v, mode, gate ? gate + place : NULL));
    }
}

TARGET static void one_input_runs_avx2(const float *x, const float *packed, const float *bias, float *y,
                                       ll_store_mode mode, const float *gate, int32_t a, const ll_axis *rows,
                                       const ll_axis *cols) {
  const int32_t k = rows->kernelSize, blocks = ll_block_count(a, MAX_BLOCK);
  const ptrdiff_t outPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  // Channel c's weight at kernel position p is weight[c][p · stride[c]], as the packing lays
  // out its blocks (one input channel: a block of ab channels is k·k·ab floats, position-major),
  // so that channels pair across blocks (a = 10 is five pairs, not two blocks of 2 + 2 + 1).
  const float *weight[a];
  ptrdiff_t stride[a];
  for (int blk = 0; blk < blocks; blk++) {
    const int a0 = ll_block_start(a, blocks, blk), ab = ll_block_start(a, blocks, blk + 1) - a0;
    for (int j = 0; j < ab; j++) {
      weight[a0 + j] = packed + (ptrdiff_t)a0 * k * k + j;
      stride[a0 + j] = ab;
    }
  }
  for (int32_t oy = 0; oy < rows->outputCount; oy++)
    for (int32_t run = 0; run < cols->wideCount; run++) {
      const int32_t first = cols->wideFirst[run], length = cols->wideLength[run];
      const ptrdiff_t delta = (ptrdiff_t)cols->wideDelta[run] * 8, step = (ptrdiff_t)cols->wideStep[run] * 8;
      ptrdiff_t offset[LL_MAX_KERNEL * LL_MAX_KERNEL];
      int32_t kernel[LL_MAX_KERNEL * LL_MAX_KERNEL];
      const int taps = ll_run_taps(rows, cols, oy, first, offset, kernel);
      const ptrdiff_t at0 = ((ptrdiff_t)oy * cols->outputCount + first) * 8;
      for (int32_t c = 0; c < a; c += 2) {
        const int S = a - c >= 2 ? 2 : 1, most = S == 2 ? 6 : 8;
        const float *bs = bias ? bias + c : NULL;
        float *yb = y + (ptrdiff_t)c * outPlane;
        const float *gb = gate ? gate + (ptrdiff_t)c * outPlane : NULL;
        // The run in pieces of at most `most` positions, as even as possible.
        const int32_t pieces = (length + most - 1) / most;
        int32_t from = 0;
        for (int32_t piece = 0; piece < pieces; piece++) {
          const int32_t q = length / pieces + (piece < length % pieces ? 1 : 0);
          const float *xs = x + from * delta;
          const ptrdiff_t at = at0 + from * step;
#define ONE_PIECE(s, n)                                                                                            \
  case (s) * 16 + (n):                                                                                             \
    one_input_piece(s, n, xs, weight + c, stride + c, bs, yb, mode, gb, offset, kernel, taps, delta, at, step, outPlane); \
    break;
          switch (S * 16 + q) {
            ONE_PIECE(2, 1) ONE_PIECE(2, 2) ONE_PIECE(2, 3) ONE_PIECE(2, 4) ONE_PIECE(2, 5) ONE_PIECE(2, 6)
            ONE_PIECE(1, 1) ONE_PIECE(1, 2) ONE_PIECE(1, 3) ONE_PIECE(1, 4) ONE_PIECE(1, 5) ONE_PIECE(1, 6)
            ONE_PIECE(1, 7) ONE_PIECE(1, 8)
          }
#undef ONE_PIECE
          from += q;
        }
      }
    }
}

void latentlab_lane_conv(const float *x, int32_t groups, int32_t b, const float *packed, const float *bias, float *y,
                         int32_t a, const ll_axis *rows, const ll_axis *cols, ll_store_mode mode, const float *gate,
                         int32_t isa) {
  const ptrdiff_t inGroup = (ptrdiff_t)b * rows->inputCount * cols->inputCount * 8;
  const ptrdiff_t outGroup = (ptrdiff_t)a * rows->outputCount * cols->outputCount * 8;
  if (mode != LL_STORE_GATED) gate = NULL;
  int32_t g = 0;
  if (isa == 1 && b == 1 && a >= 2) {
    for (; g < groups; g++)
      one_input_runs_avx2(x + g * inGroup, packed, bias, y + g * outGroup, mode, gate ? gate + g * outGroup : NULL, a,
                          rows, cols);
    return;
  }
  if (isa >= 2 && a == 1 && runs_read_adjacent_inputs(cols)) {
    for (; g < groups; g++)
      conv_runs_halves512(x + g * inGroup, b, packed, bias, y + g * outGroup, mode, gate ? gate + g * outGroup : NULL,
                          rows, cols);
    return;
  }
  if (isa >= 2)
    for (; g + 1 < groups; g += 2) {
      const float *gg = gate ? gate + g * outGroup : NULL;
      lane_conv_unit_avx512(x + g * inGroup, b, packed, bias, y + g * outGroup, mode, gg, a, rows, cols, inGroup,
                            outGroup);
    }
  for (; g < groups; g++)
    lane_conv_unit_avx2(x + g * inGroup, b, packed, bias, y + g * outGroup, mode, gate ? gate + g * outGroup : NULL, a,
                        rows, cols, inGroup, outGroup);
}

// The pairs of kernel column kx: their count, and the steps (floats) between consecutive
// outputs and inputs. They are an arithmetic progression (for a gather and for a scatter), so
// the column walk advances two pointers instead of reading the pair tables.
INLINE int32_t column_pairs(const ll_axis *cols, int32_t kx, ptrdiff_t *outStep, ptrdiff_t *inStep) {
  const int32_t px0 = cols->pairStart[kx], pn = cols->pairStart[kx + 1] - px0;
  *outStep = pn > 1 ? (ptrdiff_t)(cols->pairOutput[px0 + 1] - cols->pairOutput[px0]) * 8 : 0;
  *inStep = pn > 1 ? (ptrdiff_t)(cols->pairInput[px0 + 1] - cols->pairInput[px0]) * 8 : 0;
  return pn;
}

// Adds to `partial` (BB x AB vectors) the products of a block of AB channels of dy with BB
// (1 or 2) channels of x at one kernel position, over every (output, input) pair of that
// position in one group. R chains over the column pairs keep the FMA pipes busy when AB is
// small; the chains are added in a fixed order.
INLINE TARGET void weight_gradient_tap(const int AB, const int BB, const int R, const float *dy0, const float *x0,
                                       int32_t groups, ptrdiff_t dyGroup, ptrdiff_t xGroup, ptrdiff_t dyPlane,
                                       ptrdiff_t xPlane, int32_t ky, int32_t kx, __m256 *partial,
                                       const ll_axis *rows, const ll_axis *cols) {
  const int32_t py0 = rows->pairStart[ky], py1 = rows->pairStart[ky + 1];
  const int32_t px0 = cols->pairStart[kx];
  const int32_t outWidth = cols->outputCount, inWidth = cols->inputCount;
  __m256 acc[2][4][MAX_BLOCK];
  for (int q = 0; q < BB; q++)
    for (int r = 0; r < R; r++)
      for (int j = 0; j < AB; j++) acc[q][r][j] = _mm256_setzero_ps();
  ptrdiff_t outStep, inStep;
  const int32_t pn = column_pairs(cols, kx, &outStep, &inStep);
  if (pn <= 0) return;
  for (int32_t g = 0; g < groups; g++) {
  const float *dyg = dy0 + g * dyGroup, *xg = x0 + g * xGroup;
  for (int32_t py = py0; py < py1; py++) {
    const float *xp = xg + ((ptrdiff_t)rows->pairInput[py] * inWidth + cols->pairInput[px0]) * 8;
    const float *d = dyg + ((ptrdiff_t)rows->pairOutput[py] * outWidth + cols->pairOutput[px0]) * 8;
    for (int32_t t0 = 0; t0 < pn; t0 += R) {
      for (int r = 0; r < R; r++) {  // r a constant once unrolled: the chains stay in registers
        if (R > 1 && t0 + r >= pn) break;
        const __m256 x1 = _mm256_loadu_ps(xp);
        __m256 x2 = x1;
        if (BB == 2) x2 = _mm256_loadu_ps(xp + xPlane);
        for (int j = 0; j < AB; j++) {
          const __m256 dv = _mm256_loadu_ps(d + j * dyPlane);
          acc[0][r][j] = _mm256_fmadd_ps(dv, x1, acc[0][r][j]);
          if (BB == 2) acc[1][r][j] = _mm256_fmadd_ps(dv, x2, acc[1][r][j]);
        }
        xp += inStep;
        d += outStep;
      }
    }
  }
  }
  for (int q = 0; q < BB; q++)
    for (int j = 0; j < AB; j++) {
      __m256 s = acc[q][0][j];
      if (R == 2) s = _mm256_add_ps(acc[q][0][j], acc[q][1][j]);
      if (R == 4)
        s = _mm256_add_ps(_mm256_add_ps(acc[q][0][j], acc[q][1][j]), _mm256_add_ps(acc[q][2][j], acc[q][3][j]));
      partial[q * MAX_BLOCK + j] = _mm256_add_ps(partial[q * MAX_BLOCK + j], s);
    }
}

// The same sums for NP (1 or 2) pairs of x channels at AVX-512 width: each pair's two channels'
// chains in the halves of one register (x's two planes loaded into the halves, each dy vector
// broadcast to both by the load), so every half gets the FMAs the AVX2 tap gives that channel,
// in the same order: the same bits with half the FMAs. Two pairs share each dy load (ten loads
// for twelve FMAs at AB = 6, where one pair takes eight for six).
INLINE TARGET512 void weight_gradient_tap_pairs512(const int NP, const int AB, const int R, const float *dy0,
                                                   const float *x0, int32_t groups, ptrdiff_t dyGroup,
                                                   ptrdiff_t xGroup, ptrdiff_t dyPlane, ptrdiff_t xPlane, int32_t ky,
                                                   int32_t kx, __m256 *partial, const ll_axis *rows,
                                                   const ll_axis *cols) {
  const int32_t py0 = rows->pairStart[ky], py1 = rows->pairStart[ky + 1];
  const int32_t px0 = cols->pairStart[kx];
  const int32_t outWidth = cols->outputCount, inWidth = cols->inputCount;
  __m512 acc[2][4][MAX_BLOCK];
  for (int p = 0; p < NP; p++)
    for (int r = 0; r < R; r++)
      for (int j = 0; j < AB; j++) acc[p][r][j] = _mm512_setzero_ps();
  ptrdiff_t outStep, inStep;
  const int32_t pn = column_pairs(cols, kx, &outStep, &inStep);
  if (pn <= 0) return;
  for (int32_t g = 0; g < groups; g++) {
    const float *dyg = dy0 + g * dyGroup, *xg = x0 + g * xGroup;
    for (int32_t py = py0; py < py1; py++) {
      const float *xp = xg + ((ptrdiff_t)rows->pairInput[py] * inWidth + cols->pairInput[px0]) * 8;
      const float *d = dyg + ((ptrdiff_t)rows->pairOutput[py] * outWidth + cols->pairOutput[px0]) * 8;
      for (int32_t t0 = 0; t0 < pn; t0 += R) {
        for (int r = 0; r < R; r++) {
          if (R > 1 && t0 + r >= pn) break;
          const __m512 xv0 = load_pair(xp, xPlane);
          __m512 xv1 = xv0;
          if (NP == 2) xv1 = load_pair(xp + 2 * xPlane, xPlane);
          for (int j = 0; j < AB; j++) {
            const __m512 dv = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(d + j * dyPlane))));
            acc[0][r][j] = _mm512_fmadd_ps(dv, xv0, acc[0][r][j]);
            if (NP == 2) acc[1][r][j] = _mm512_fmadd_ps(dv, xv1, acc[1][r][j]);
          }
          xp += inStep;
          d += outStep;
        }
      }
    }
  }
  for (int p = 0; p < NP; p++)
    for (int j = 0; j < AB; j++) {
      __m512 s = acc[p][0][j];
      if (R == 2) s = _mm512_add_ps(acc[p][0][j], acc[p][1][j]);
      if (R == 4)
        s = _mm512_add_ps(_mm512_add_ps(acc[p][0][j], acc[p][1][j]), _mm512_add_ps(acc[p][2][j], acc[p][3][j]));
      const __m256 low = _mm512_castps512_ps256(s);
      const __m256 high = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
      partial[2 * p * MAX_BLOCK + j] = _mm256_add_ps(partial[2 * p * MAX_BLOCK + j], low);
      partial[(2 * p + 1) * MAX_BLOCK + j] = _mm256_add_ps(partial[(2 * p + 1) * MAX_BLOCK + j], high);
    }
}

// The taps for each (NP, AB, R) the cases use, as functions of their own: compiled for
// AVX-512, called from the AVX2 driver only when the CPU has it.
#define WG_PAIRS512(np, n, r)                                                                               \
  __attribute__((noinline)) TARGET512 static void wg_pairs512_##np##_##n##_##r(                             \
      const float *dy0, const float *x0, int32_t groups, ptrdiff_t dyGroup, ptrdiff_t xGroup,               \
      ptrdiff_t dyPlane, ptrdiff_t xPlane, int32_t ky, int32_t kx, __m256 *partial, const ll_axis *rows,    \
      const ll_axis *cols) {                                                                                \
    weight_gradient_tap_pairs512(np, n, r, dy0, x0, groups, dyGroup, xGroup, dyPlane, xPlane, ky, kx,       \
                                 partial, rows, cols);                                                      \
  }
WG_PAIRS512(1, 1, 4)
WG_PAIRS512(1, 2, 2)
WG_PAIRS512(1, 3, 2)
WG_PAIRS512(1, 4, 1)
WG_PAIRS512(1, 5, 1)
WG_PAIRS512(1, 6, 1)
WG_PAIRS512(2, 1, 4)
WG_PAIRS512(2, 2, 2)
WG_PAIRS512(2, 3, 2)
WG_PAIRS512(2, 4, 1)
WG_PAIRS512(2, 5, 1)
WG_PAIRS512(2, 6, 1)
#undef WG_PAIRS512

// A lone x channel (BB = 1) at AB = 4-6 dy channels (one chain each, R = 1), for every kernel
// row ky < k ≤ 3 of one column kx at once: each output row's dy vectors, loaded once, serve the
// taps (ky, kx) that row has (the AVX2 tap loads them once per tap, five loads for four FMAs at
// AB = 4). Each tap's chain sees its (group, output row, output column) triples in the order the
// AVX2 tap gives them, groups, then its rows (pairs by ascending output row), then the column
// pairs, so its sum, and what it adds to that tap's partial, have the same bits. AVX-512VL for
// the registers (up to 18 chains, six dy vectors and the x vector).
#define TARGET512VL __attribute__((target("avx512f,avx512vl,avx2,fma")))
INLINE TARGET512VL void weight_gradient_column_lone(const int AB, const int32_t k, const float *dy0, const float *x0,
                                                     int32_t groups, ptrdiff_t dyGroup, ptrdiff_t xGroup,
                                                     ptrdiff_t dyPlane, int32_t kx, __m256 (*partials)[4 * MAX_BLOCK],
                                                     const ll_axis *rows, const ll_axis *cols) {
  const int32_t px0 = cols->pairStart[kx];
  const int32_t outWidth = cols->outputCount, inWidth = cols->inputCount;
  ptrdiff_t outStep, inStep;
  const int32_t pn = column_pairs(cols, kx, &outStep, &inStep);
  if (pn <= 0) return;
  __m256 acc[3][MAX_BLOCK];
  for (int ky = 0; ky < 3; ky++)
    for (int j = 0; j < AB; j++) acc[ky][j] = _mm256_setzero_ps();
  for (int32_t g = 0; g < groups; g++) {
    const float *dyg = dy0 + g * dyGroup, *xg = x0 + g * xGroup;
    for (int32_t oy = 0; oy < rows->outputCount; oy++) {
      // The input row of each tap ky this output row has (−1: none).
      int32_t input[3] = {-1, -1, -1};
      for (int32_t t = rows->tapStart[oy]; t < rows->tapStart[oy + 1]; t++) input[rows->tapKernel[t]] = rows->tapInput[t];
      if (input[0] < 0 && input[1] < 0 && input[2] < 0) continue;
      const float *d = dyg + ((ptrdiff_t)oy * outWidth + cols->pairOutput[px0]) * 8;
      const float *xp[3];
      for (int ky = 0; ky < 3; ky++)
        xp[ky] = xg + ((ptrdiff_t)(input[ky] < 0 ? 0 : input[ky]) * inWidth + cols->pairInput[px0]) * 8;
      const int has0 = input[0] >= 0, has1 = input[1] >= 0, has2 = input[2] >= 0;
      for (int32_t t = 0; t < pn; t++) {
        __m256 dv[MAX_BLOCK];
        for (int j = 0; j < AB; j++) dv[j] = _mm256_loadu_ps(d + j * dyPlane);
        if (has0) {
          const __m256 xv = _mm256_loadu_ps(xp[0]);
          for (int j = 0; j < AB; j++) acc[0][j] = _mm256_fmadd_ps(dv[j], xv, acc[0][j]);
        }
        if (has1) {
          const __m256 xv = _mm256_loadu_ps(xp[1]);
          for (int j = 0; j < AB; j++) acc[1][j] = _mm256_fmadd_ps(dv[j], xv, acc[1][j]);
        }
        if (has2) {
          const __m256 xv = _mm256_loadu_ps(xp[2]);
          for (int j = 0; j < AB; j++) acc[2][j] = _mm256_fmadd_ps(dv[j], xv, acc[2][j]);
        }
        d += outStep;
        for (int ky = 0; ky < 3; ky++) xp[ky] += inStep;
      }
    }
  }
  // As the AVX2 tap: every tap of this column adds its chains to its partial (a tap with no
  // rows adds +0, which changes nothing).
  for (int32_t ky = 0; ky < k; ky++)
    for (int j = 0; j < AB; j++) partials[ky * k + kx][j] = _mm256_add_ps(partials[ky * k + kx][j], acc[ky][j]);
}

#define WG_COLUMN_LONE(n)                                                                                    \
  __attribute__((noinline)) TARGET512VL static void wg_column_lone_##n(                                     \
      int32_t k, const float *dy0, const float *x0, int32_t groups, ptrdiff_t dyGroup, ptrdiff_t xGroup,    \
      ptrdiff_t dyPlane, int32_t kx, __m256 (*partials)[4 * MAX_BLOCK], const ll_axis *rows,                \
      const ll_axis *cols) {                                                                                 \
    weight_gradient_column_lone(n, k, dy0, x0, groups, dyGroup, xGroup, dyPlane, kx, partials, rows, cols); \
  }
WG_COLUMN_LONE(4)
WG_COLUMN_LONE(5)
WG_COLUMN_LONE(6)
#undef WG_COLUMN_LONE

#define WG_CASE(n, r)                                                                                          \
  case n:                                                                                                      \
    if (bb == 4)                                                                                               \
      wg_pairs512_2_##n##_##r(dyg, xg, pass, dyGroup, xGroup, dyPlane, xPlane, ky, kx, partial, rows, cols);   \
    else if (bb == 2 && isa >= 2)                                                                              \
      wg_pairs512_1_##n##_##r(dyg, xg, pass, dyGroup, xGroup, dyPlane, xPlane, ky, kx, partial, rows, cols);   \
    else if (bb == 2)                                                                                          \
      weight_gradient_tap(n, 2, r, dyg, xg, pass, dyGroup, xGroup, dyPlane, xPlane, ky, kx, partial, rows, cols); \
    else                                                                                                       \
      weight_gradient_tap(n, 1, r, dyg, xg, pass, dyGroup, xGroup, dyPlane, xPlane, ky, kx, partial, rows, cols); \
    break;

// Transposes the 8x8 block whose rows start at r[0..7] (each 8 floats) into out[0..63].
INLINE TARGET void transpose8(const __m256 r0, const __m256 r1, const __m256 r2, const __m256 r3,
                              const __m256 r4, const __m256 r5, const __m256 r6, const __m256 r7, float *out) {
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(out + 0, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(out + 32, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(out + 40, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(out + 48, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(out + 56, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// dst[t] = ((((0 + v[t][0]) + v[t][1]) + …) + v[t][7]) for t < count, where v[t] is
// `partials[t][index]`: each tap's lanes added one by one in lane order. Eight taps at a time
// are transposed so that their eight chains run side by side in one register (the same
// additions in the same order per weight) and land in eight consecutive weights with one store.
INLINE TARGET void lane_sums_to_taps(__m256 (*partials)[4 * MAX_BLOCK], int index, int count, float *dst) {
  int t = 0;
  for (; t + 8 <= count; t += 8) {
    float rows[64];
    transpose8(partials[t][index], partials[t + 1][index], partials[t + 2][index], partials[t + 3][index],
               partials[t + 4][index], partials[t + 5][index], partials[t + 6][index], partials[t + 7][index], rows);
    __m256 total = _mm256_setzero_ps();
    for (int l = 0; l < 8; l++) total = _mm256_add_ps(total, _mm256_loadu_ps(rows + 8 * l));
    _mm256_storeu_ps(dst + t, total);
  }
  for (; t < count; t++) {
    float lanes[8];
    _mm256_storeu_ps(lanes, partials[t][index]);
    float total = 0;
    for (int l = 0; l < 8; l++) total += lanes[l];
    dst[t] = total;
  }
}

// Loop order: for each block of dy channels and pair of x channels (two pairs at a time on
// AVX-512), a pass of groups at a time, every kernel position; the pass's planes of those
// channels stay in L1 across the k·k kernel positions, and small planes share one partial
// update across several groups. The passes are cut as for one pair at every width (two pairs
// are two pairs' sums side by side), so the partials, and the bits, are the same.
TARGET void latentlab_lane_conv_weight_gradient(const float *dy, const float *x, int32_t groups, int32_t a,
                                                int32_t b, float *dw, ptrdiff_t strideA, ptrdiff_t strideB,
                                                const ll_axis *rows, const ll_axis *cols, int32_t isa) {
  const int k = rows->kernelSize, blocks = ll_block_count(a, MAX_BLOCK);
  const ptrdiff_t dyPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  const ptrdiff_t xPlane = (ptrdiff_t)rows->inputCount * cols->inputCount * 8;
  const ptrdiff_t dyGroup = dyPlane * a, xGroup = xPlane * b;
  __m256 partials[LL_MAX_KERNEL * LL_MAX_KERNEL][4 * MAX_BLOCK];
  for (int blk = 0; blk < blocks; blk++) {
    const int a0 = ll_block_start(a, blocks, blk), ab = ll_block_start(a, blocks, blk + 1) - a0;
    int bb;
    for (int ib = 0; ib < b; ib += bb) {
      bb = isa >= 2 && b - ib >= 4 ? 4 : b - ib >= 2 ? 2 : 1;
      for (int t = 0; t < k * k; t++)
        for (int q = 0; q < bb * MAX_BLOCK; q++) partials[t][q] = _mm256_setzero_ps();
      // Groups per pass: as many as keep this block's planes (AB of dy, one pair of x)
      // within 24 KB of L1 across the k·k kernel positions; at least one.
      const ptrdiff_t blockBytes = (ab * dyPlane + (bb < 2 ? bb : 2) * xPlane) * (ptrdiff_t)sizeof(float);
      const int32_t perPass = blockBytes > 0 && 24576 / blockBytes > 1 ? (int32_t)(24576 / blockBytes) : 1;
      for (int g = 0; g < groups; g += perPass) {
        const int32_t pass = groups - g < perPass ? groups - g : perPass;
        const float *dyg = dy + g * dyGroup + a0 * dyPlane, *xg = x + g * xGroup + ib * xPlane;
        if (isa >= 2 && bb == 1 && ab >= 4 && k <= 3) {
          for (int32_t kx = 0; kx < k; kx++) {
            if (ab == 4) wg_column_lone_4(k, dyg, xg, pass, dyGroup, xGroup, dyPlane, kx, partials, rows, cols);
            if (ab == 5) wg_column_lone_5(k, dyg, xg, pass, dyGroup, xGroup, dyPlane, kx, partials, rows, cols);
            if (ab == 6) wg_column_lone_6(k, dyg, xg, pass, dyGroup, xGroup, dyPlane, kx, partials, rows, cols);
          }
          continue;
        }
        for (int32_t ky = 0; ky < k; ky++)
          for (int32_t kx = 0; kx < k; kx++) {
            __m256 *partial = partials[ky * k + kx];
            switch (ab) {
              WG_CASE(1, 4) WG_CASE(2, 2) WG_CASE(3, 2)
              WG_CASE(4, 1) WG_CASE(5, 1) WG_CASE(6, 1)
            }
          }
      }
      float *dwb = dw + a0 * strideA + ib * strideB;
      // A weight's taps are consecutive in dw (stride 1 in t).
      for (int q = 0; q < bb; q++)
        for (int j = 0; j < ab; j++)
          lane_sums_to_taps(partials, q * MAX_BLOCK + j, k * k, dwb + j * strideA + q * strideB);
    }
  }
}

TARGET void latentlab_lane_bias_gradient(const float *dy, int32_t groups, int32_t a, int32_t plane, float *db) {
  for (int j = 0; j < a; j++) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int g = 0; g < groups; g++) {
      const float *d = dy + ((ptrdiff_t)g * a + j) * plane * 8;
      int p = 0;
      for (; p + 4 <= plane; p += 4)
        for (int r = 0; r < 4; r++) acc[r] = _mm256_add_ps(acc[r], _mm256_loadu_ps(d + (p + r) * 8));
      for (; p < plane; p++) acc[0] = _mm256_add_ps(acc[0], _mm256_loadu_ps(d + p * 8));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    float total = 0;
    for (int l = 0; l < 8; l++) total += lanes[l];
    db[j] = total;
  }
}

TARGET void latentlab_to_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst) {
  const int groups = (images + 7) / 8;
  for (int g = 0; g < groups; g++) {
    const int n = images - g * 8 < 8 ? images - g * 8 : 8;
    const float *s = src + (ptrdiff_t)g * 8 * size;
    float *d = dst + (ptrdiff_t)g * size * 8;
    ptrdiff_t q = 0;
    if (n == 8) {
      for (; q + 8 <= size; q += 8)
        transpose8(_mm256_loadu_ps(s + q), _mm256_loadu_ps(s + size + q), _mm256_loadu_ps(s + 2 * size + q),
                   _mm256_loadu_ps(s + 3 * size + q), _mm256_loadu_ps(s + 4 * size + q),
                   _mm256_loadu_ps(s + 5 * size + q), _mm256_loadu_ps(s + 6 * size + q),
                   _mm256_loadu_ps(s + 7 * size + q), d + q * 8);
    }
    for (; q < size; q++)
      for (int l = 0; l < 8; l++) d[q * 8 + l] = l < n ? s[l * size + q] : 0.0f;
  }
}

TARGET void latentlab_zero_padding_lanes(float *lanes, ptrdiff_t positions, int32_t valid) {
  // A load, a blend and a store per position, where a memset of 8 − valid floats per position
  // was a call (and a masked store is microcoded on AMD's cores).
  const __m256 keep = _mm256_castsi256_ps(
      _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  for (ptrdiff_t q = 0; q < positions; q++)
    _mm256_storeu_ps(lanes + q * 8, _mm256_and_ps(_mm256_loadu_ps(lanes + q * 8), keep));
}

TARGET void latentlab_from_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst) {
  const int groups = (images + 7) / 8;
  for (int g = 0; g < groups; g++) {
    const int n = images - g * 8 < 8 ? images - g * 8 : 8;
    const float *s = src + (ptrdiff_t)g * size * 8;
    float *d = dst + (ptrdiff_t)g * 8 * size;
    ptrdiff_t q = 0;
    if (n == 8) {
      float block[64];
      for (; q + 8 <= size; q += 8) {
        const float *b = s + q * 8;
        transpose8(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8), _mm256_loadu_ps(b + 16), _mm256_loadu_ps(b + 24),
                   _mm256_loadu_ps(b + 32), _mm256_loadu_ps(b + 40), _mm256_loadu_ps(b + 48),
                   _mm256_loadu_ps(b + 56), block);
        for (int l = 0; l < 8; l++) memcpy(d + l * size + q, block + l * 8, 8 * sizeof(float));
      }
    }
    for (; q < size; q++)
      for (int l = 0; l < n; l++) d[l * size + q] = s[q * 8 + l];
  }
}

#else  // not x86-64: the Swift side keeps its im2col + GEMM path.

int latentlab_avx2_fma_available(void) { return 0; }
void latentlab_pack_conv_weight(const float *w, ptrdiff_t sa, ptrdiff_t sb, int32_t a, int32_t b, int32_t k,
                                float *packed) {}
void latentlab_lane_conv(const float *x, int32_t groups, int32_t b, const float *packed, const float *bias, float *y,
                         int32_t a, const ll_axis *rows, const ll_axis *cols, ll_store_mode mode, const float *gate,
                         int32_t isa) {}
void latentlab_lane_conv_weight_gradient(const float *dy, const float *x, int32_t groups, int32_t a, int32_t b,
                                         float *dw, ptrdiff_t sa, ptrdiff_t sb, const ll_axis *rows,
                                         const ll_axis *cols, int32_t isa) {}
void latentlab_lane_bias_gradient(const float *dy, int32_t groups, int32_t a, int32_t plane, float *db) {}
void latentlab_to_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst) {}
void latentlab_from_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst) {}
void latentlab_zero_padding_lanes(float *lanes, ptrdiff_t positions, int32_t valid) {}

#endif
