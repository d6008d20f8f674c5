// The forward lane convolution, written once for a vector type: included by conv_kernels.c
// for AVX2 (one lane group of 8 images to a register) and for AVX-512 (two lane groups, 16
// images, in the halves of a register). Each image's lane sees the same FMAs in the same
// order in both, so the two give the same bits. The includer defines VEC, VTARGET,
// NAME(f), VZERO(), VSET1(f), VLOAD(p) (the vector at p, and gin floats on for the
// second group), VSTORE_MODE(p, v, mode, gate) (v after the ll_store_mode to p, and its second
// half gout floats on; gate is at p's place in its own array), VFMA(a, b, c) = a·b + c fused,
// VADD, VRUN (the most positions of a run computed at once: 8 or 16), and optionally VPAIR
// (two adjacent blocks of output channels at once where that changes no bit; AVX-512); this
// file undefines them at its end.

// One block of AB output channels over a whole group, P (1 or 2) output positions of a row
// at a time. R independent accumulator chains (input channel b goes to chain b mod R, the
// last nb mod R to chains 0, 1, ...) keep the FMA pipes busy when AB is small; they are
// added in a fixed order at the end.
INLINE VTARGET void NAME(conv_pixels)(const int AB, const int R, const int P, const float *x, int32_t nb,
                               const float *packed, const float *bias, float *y, ll_store_mode mode,
                               const float *gate, const ll_axis *rows,
                               const ll_axis *cols, int32_t oy, int32_t o1, int32_t o2, ptrdiff_t gin, ptrdiff_t gout) {
  const int k = rows->kernelSize;
  const ptrdiff_t inPlane = (ptrdiff_t)rows->inputCount * cols->inputCount * 8;
  const ptrdiff_t outPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  const int32_t inWidth = cols->inputCount;
  const int32_t ty0 = rows->tapStart[oy], ty1 = rows->tapStart[oy + 1];
  const int32_t tx0 = cols->tapStart[o1], tx1 = cols->tapStart[o1 + 1];
  const int32_t shift = P == 2 ? cols->tapStart[o2] - tx0 : 0;  // o2's taps, aligned with o1's
  VEC acc[2][4][MAX_BLOCK];
  for (int q = 0; q < P; q++)
    for (int r = 0; r < R; r++)
      for (int j = 0; j < AB; j++) acc[q][r][j] = VZERO();
  const ptrdiff_t wStep = (ptrdiff_t)k * k * AB;
  if (nb < 4) {
    // Few input channels (a network's first layer, the last one's input gradient): input
    // channels outside, so the inner loop runs over the taps rather than over one channel.
    // (Chain indices are compile-time constants everywhere: an index known only at run time
    // would force the accumulators out of registers.)
    for (int ib0 = 0; ib0 < nb; ib0 += R) {
      for (int r = 0; r < R; r++) {
        const int ib = ib0 + r;
        if (ib >= nb) break;
        for (int32_t ty = ty0; ty < ty1; ty++) {
          const float *xrow = x + ib * inPlane + (ptrdiff_t)rows->tapInput[ty] * inWidth * 8;
          const float *wrow = packed + ib * wStep + rows->tapKernel[ty] * k * AB;
          for (int32_t tx = tx0; tx < tx1; tx++) {
            const VEC v1 = VLOAD(xrow + cols->tapInput[tx] * 8);
            VEC v2 = v1;
            if (P == 2) v2 = VLOAD(xrow + cols->tapInput[tx + shift] * 8);
            const float *w = wrow + cols->tapKernel[tx] * AB;
            for (int j = 0; j < AB; j++) {
              const VEC wv = VSET1(w[j]);
              acc[0][r][j] = VFMA(wv, v1, acc[0][r][j]);
              if (P == 2) acc[1][r][j] = VFMA(wv, v2, acc[1][r][j]);
            }
          }
        }
      }
    }
  } else {
    // Taps outside, input channels inside: the inner loop runs B times over a fixed offset.
    for (int32_t ty = ty0; ty < ty1; ty++) {
      const float *xrow = x + (ptrdiff_t)rows->tapInput[ty] * inWidth * 8;
      const float *wrow = packed + rows->tapKernel[ty] * k * AB;
      for (int32_t tx = tx0; tx < tx1; tx++) {
        const float *x1 = xrow + cols->tapInput[tx] * 8;
        const float *x2 = P == 2 ? xrow + cols->tapInput[tx + shift] * 8 : x1;
        const float *wp = wrow + cols->tapKernel[tx] * AB;
        for (int ib0 = 0; ib0 < nb; ib0 += R) {
          for (int r = 0; r < R; r++) {  // r a constant once unrolled: see above
            const int ib = ib0 + r;
            if (R > 1 && ib >= nb) break;
            const VEC v1 = VLOAD(x1 + ib * inPlane);
            VEC v2 = v1;
            if (P == 2) v2 = VLOAD(x2 + ib * inPlane);
            const float *w = wp + ib * wStep;
            for (int j = 0; j < AB; j++) {
              const VEC wv = VSET1(w[j]);
              acc[0][r][j] = VFMA(wv, v1, acc[0][r][j]);
              if (P == 2) acc[1][r][j] = VFMA(wv, v2, acc[1][r][j]);
            }
          }
        }
      }
    }
  }
  for (int q = 0; q < P; q++) {
    const ptrdiff_t at = ((ptrdiff_t)oy * cols->outputCount + (q == 0 ? o1 : o2)) * 8;
    for (int j = 0; j < AB; j++) {
      VEC s = acc[q][0][j];
      if (R == 2) s = VADD(acc[q][0][j], acc[q][1][j]);
      if (R == 4)
        s = VADD(VADD(acc[q][0][j], acc[q][1][j]), VADD(acc[q][2][j], acc[q][3][j]));
      if (bias) s = VADD(s, VSET1(bias[j]));
      VSTORE_MODE(y + at + j * outPlane, s, mode, gate ? gate + at + j * outPlane : NULL);
    }
  }
}

// AB output channels over Q consecutive positions of a run (see ll_axis.wide*) starting at
// its position `from`: Q × AB accumulators, the AB weights of a tap loaded once and used for
// all Q positions. Used for a single output channel (a decoder's last layer), where the pair
// kernel above would spend more time on its loops than on FMAs. (Blocks of 3 channels × 4
// positions for a first layer's single input channel measured slower than the pair kernel.)
INLINE VTARGET void NAME(conv_wide)(const int AB, const int Q, const int UNIT, const float *x, int32_t nb,
                             const float *packed, const float *bias, float *y, ll_store_mode mode,
                             const float *gate, const ll_axis *rows,
                             const ll_axis *cols, int32_t oy, int32_t run, int32_t from, ptrdiff_t gin, ptrdiff_t gout) {
  const int k = rows->kernelSize;
  const ptrdiff_t inPlane = (ptrdiff_t)rows->inputCount * cols->inputCount * 8;
  const ptrdiff_t outPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  const int32_t first = cols->wideFirst[run];
  // UNIT: the run's positions read inputs one position apart (delta 1, a stride-2
  // transposed convolution's phases), so the shifts are constants the loads fold in.
  const ptrdiff_t delta = UNIT ? 8 : (ptrdiff_t)cols->wideDelta[run] * 8;
  // Q <= length (the caller's piece): position q reads from + q; with UNIT its offset q * 8 is
  // a constant of the load.
  const ptrdiff_t base = from * delta;
  // The taps as one flat list (ll_run_taps), the same for every input channel, instead of
  // two nested loops of 1 or 2 iterations (a transposed convolution's phases) whose exits vary
  // from row to row: a quarter off a decoder's last layer at AVX2. In the multi-channel
  // kernels the list cost more than it saved (conv_pixels keeps its nested loops).
  ptrdiff_t offset[LL_MAX_KERNEL * LL_MAX_KERNEL];
  int32_t kernel[LL_MAX_KERNEL * LL_MAX_KERNEL];
  const int taps = ll_run_taps(rows, cols, oy, first, offset, kernel);
  VEC acc[LL_MAX_RUN][MAX_BLOCK];
  for (int q = 0; q < Q; q++)
    for (int j = 0; j < AB; j++) acc[q][j] = VZERO();
  for (int ib = 0; ib < nb; ib++) {
    const float *xb = x + ib * inPlane + base, *wb = packed + (ptrdiff_t)ib * k * k * AB;
    for (int t = 0; t < taps; t++) {
      const float *xp = xb + offset[t];
      const float *wp = wb + kernel[t] * AB;
      VEC w[MAX_BLOCK];
      for (int j = 0; j < AB; j++) w[j] = VSET1(wp[j]);
      for (int q = 0; q < Q; q++) {
        const VEC v = VLOAD(xp + q * delta);
        for (int j = 0; j < AB; j++) acc[q][j] = VFMA(w[j], v, acc[q][j]);
      }
    }
  }
  const ptrdiff_t step = (ptrdiff_t)cols->wideStep[run] * 8;
  const ptrdiff_t at = ((ptrdiff_t)oy * cols->outputCount + first) * 8 + from * step;
  for (int q = 0; q < Q; q++)
    for (int j = 0; j < AB; j++) {
      VEC s = acc[q][j];
      if (bias) s = VADD(s, VSET1(bias[j]));
      const ptrdiff_t place = at + q * step + j * outPlane;
      VSTORE_MODE(y + place, s, mode, gate ? gate + place : NULL);
    }
}

// One output channel: each run in pieces of at most VRUN positions (VRUN accumulators: 8 of
// AVX2's 16 registers (clang spills with 12 or 14), 16 of AVX-512's 32), Q = the piece's length.
VTARGET static void NAME(conv_runs)(const float *x, int32_t b, const float *packed, const float *bias, float *y,
                                   ll_store_mode mode, const float *gate, const ll_axis *rows, const ll_axis *cols,
                                   ptrdiff_t gin, ptrdiff_t gout) {
  for (int32_t oy = 0; oy < rows->outputCount; oy++)
    for (int32_t run = 0; run < cols->wideCount; run++)
      for (int32_t from = 0; from < cols->wideLength[run]; from += VRUN) {
        const int32_t piece = cols->wideLength[run] - from < VRUN ? cols->wideLength[run] - from : VRUN;
        switch (piece) {
#define RUN1(q)                                                                                          \
  case q:                                                                                                \
    if (cols->wideDelta[run] == 1)                                                                       \
      NAME(conv_wide)(1, q, 1, x, b, packed, bias, y, mode, gate, rows, cols, oy, run, from, gin, gout); \
    else                                                                                                 \
      NAME(conv_wide)(1, q, 0, x, b, packed, bias, y, mode, gate, rows, cols, oy, run, from, gin, gout); \
    break;
          RUN1(1) RUN1(2) RUN1(3) RUN1(4) RUN1(5) RUN1(6) RUN1(7) RUN1(8)
#if VRUN > 8
          RUN1(9) RUN1(10) RUN1(11) RUN1(12) RUN1(13) RUN1(14) RUN1(15) RUN1(16)
#endif
#undef RUN1
        }
      }
}

#define CONV_CASE(n, r)                                                                          \
  case n:                                                                                        \
    if (o2 >= 0)                                                                                 \
      NAME(conv_pixels)(n, r, 2, xg, b, pk, bs, yb, mode, gb, rows, cols, oy, o1, o2, gin, gout);                           \
    else                                                                                         \
      NAME(conv_pixels)(n, r, 1, xg, b, pk, bs, yb, mode, gb, rows, cols, oy, o1, -1, gin, gout);                           \
    break;

// One unit of lane groups (one for AVX2, two for AVX-512: gin floats apart in x, gout in y). Loop
// order: for each output position pair, every block of output channels, so that the few
// input rows a position reads stay in L1 while all output channels use them.
VTARGET static void NAME(lane_conv_unit)(const float *xg, int32_t b, const float *packed, const float *bias, float *yg,
                                         ll_store_mode mode, const float *gateg, int32_t a, const ll_axis *rows,
                                         const ll_axis *cols, ptrdiff_t gin, ptrdiff_t gout) {
  const int k = rows->kernelSize, blocks = ll_block_count(a, MAX_BLOCK);
  const ptrdiff_t outPlane = (ptrdiff_t)rows->outputCount * cols->outputCount * 8;
  if (a == 1) {
    NAME(conv_runs)(xg, b, packed, bias, yg, mode, gateg, rows, cols, gin, gout);
    return;
  }
  for (int32_t oy = 0; oy < rows->outputCount; oy++)
    for (int32_t pb = 0; pb < cols->blockCount; pb++) {
      const int32_t o1 = cols->blockFirst[pb], o2 = cols->blockSecond[pb];
      for (int blk = 0; blk < blocks; blk++) {
        const int a0 = ll_block_start(a, blocks, blk), ab = ll_block_start(a, blocks, blk + 1) - a0;
        const float *pk = packed + (ptrdiff_t)a0 * b * k * k;
        const float *bs = bias ? bias + a0 : NULL;
        float *yb = yg + (ptrdiff_t)a0 * outPlane;
        const float *gb = gateg ? gateg + (ptrdiff_t)a0 * outPlane : NULL;
#ifdef VPAIR
        // Two blocks at once where each output's chain stays what it is here: blocks of 4 or
        // more over 4 or more inputs (R = 1), or of 3 or more over one input (see VPAIR's kernel).
        const int least = b == 1 ? 3 : b >= 4 ? 4 : MAX_BLOCK + 1;
        if (ab >= least && blk + 1 < blocks) {
          const int ab1 = ll_block_start(a, blocks, blk + 2) - ll_block_start(a, blocks, blk + 1);
          if (ab1 >= least) {
            VPAIR(ab, ab1, xg, b, pk, bs, yb, mode, gb, rows, cols, oy, o1, o2, gin, gout);
            blk++;
            continue;
          }
        }
#endif
        switch (ab) {
          CONV_CASE(1, 4) CONV_CASE(2, 2) CONV_CASE(3, 2)
          CONV_CASE(4, 1) CONV_CASE(5, 1) CONV_CASE(6, 1)
        }
      }
    }
}

#undef CONV_CASE

#undef VEC
#undef VTARGET
#undef NAME
#undef VZERO
#undef VSET1
#undef VLOAD
#undef VSTORE_MODE
#undef VRUN
#undef VPAIR
#undef VFMA
#undef VADD
