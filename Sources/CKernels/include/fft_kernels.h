// Batched complex FFTs in single precision for t-SNE's grid convolutions (FIt-SNE).
#ifndef LATENTLAB_FFT_KERNELS_H
#define LATENTLAB_FFT_KERNELS_H

#include <stdint.h>

/// How many columns one call transforms together: the innermost, contiguous dimension.
#define LL_FFT_BATCH 32

/// One stage of a self-sorting (Stockham) mixed-radix transform of length N = Π radix:
/// with n = N / (radices before this one), stride s = N / n and m = n / radix, element
/// q + s·(i + m·j) of the input (j < radix) goes through a radix-point DFT and the twiddle
/// ω_n^(i·r) into output q + s·(radix·i + r).
typedef struct ll_fft_stage {
  int32_t radix;            // 2, 3, 4 or 5
  int32_t m;                // n / radix
  int32_t s;                // N / n
  int32_t twiddleOffset;    // first of this stage's m · (radix − 1) twiddles: [i · (radix − 1) + r − 1]
} ll_fft_stage;

/// The forward DFT X[k] = Σ_t x[t] · e^(−2πi·k·t/N) along the row index of LL_FFT_BATCH
/// columns at once, in place: element t of column b is (re[t·ld + b], im[t·ld + b]).
/// `scratch` holds 6 · N · LL_FFT_BATCH floats. Each column's result depends only on that
/// column, and every operation is a single IEEE-754 add, subtract or multiply (no fused
/// multiply-add, no reassociation), so `isa` (0 portable, 1 AVX2, 2 AVX-512: the widths the
/// same loops are compiled for) never changes a bit.
void latentlab_fft_columns(const ll_fft_stage *stages, int32_t stageCount, const float *twiddleRe,
                           const float *twiddleIm, float *re, float *im, int64_t ld, float *scratch,
                           int32_t isa);

/// The same transform along the rows of a source: rows 0 .. rows − 1 (rows ≤ LL_FFT_BATCH;
/// element t of row b at src[b · srcLd + t]) are transformed, and their spectra written as
/// the LL_FFT_BATCH columns starting at dst (frequency k of row b at dst[k · dstLd + b]; the
/// columns past `rows` receive the transform of zeros). A transpose fused with the transform:
/// the transpose happens in a tile in cache. Bits as latentlab_fft_columns.
void latentlab_fft_rows(const ll_fft_stage *stages, int32_t stageCount, const float *twiddleRe, const float *twiddleIm,
                        const float *srcRe, const float *srcIm, int64_t srcLd, int32_t rows, float *dstRe,
                        float *dstIm, int64_t dstLd, float *scratch, int32_t isa);

#endif
