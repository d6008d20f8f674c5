// Direct convolution kernels over "lane" tensors: eight images side by side, the image index
// innermost, so that one AVX2 register holds the same element of eight images and every
// convolution, whatever its stride, padding or channel count, is a run of broadcast-weight
// times eight-image-vector FMAs. Used by NN's Conv2d and ConvTranspose2d for Float.
//
// Lane layout: a batch of n images of `size` scalars each becomes ceil(n / 8) groups of
// `size` x 8 scalars, element q of image 8g + l at (g * size + q) * 8 + l; missing images of
// the last group are zeros.
//
// Both convolution directions are the same gather, described per spatial axis by tap lists:
// output position o of an axis reads the input positions tapInput[t] with kernel indices
// tapKernel[t] for t in tapStart[o] ..< tapStart[o + 1]. For Conv2d's forward pass,
// i = o * stride - padding + kk; for its input gradient (and ConvTranspose2d's forward pass),
// o = i * stride - padding + kk read the other way round. The same axis is also listed per
// kernel index (pairStart/pairOutput/pairInput), which the weight gradient walks.
#ifndef LATENTLAB_CONV_KERNELS_H
#define LATENTLAB_CONV_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Images per lane group.
#define LL_LANES 8
/// The largest kernel size the weight gradient takes (its per-tap partials live on the stack).
#define LL_MAX_KERNEL 7

/// The longest run of output positions (ll_axis.wide*) a single output channel computes at once.
#define LL_MAX_RUN 16

/// The taps of one spatial axis of a convolution (see the header comment).
typedef struct ll_axis {
  int32_t outputCount;
  int32_t inputCount;
  int32_t kernelSize;
  const int32_t *tapStart;    // [outputCount + 1]
  const int32_t *tapKernel;   // [tapStart[outputCount]]
  const int32_t *tapInput;    // [tapStart[outputCount]]
  const int32_t *pairStart;   // [kernelSize + 1]
  const int32_t *pairOutput;  // [pairStart[kernelSize]]
  const int32_t *pairInput;   // [pairStart[kernelSize]]
  // Output positions computed two at a time: block b is blockFirst[b] and blockSecond[b]
  // (-1 for a lone position). Two positions pair up when they read the same kernel indices
  // in the same order, so one weight broadcast serves both.
  int32_t blockCount;
  const int32_t *blockFirst;
  const int32_t *blockSecond;
  // Runs of up to LL_MAX_RUN output positions wideFirst[r] + q · wideStep[r] (q <
  // wideLength[r]) that read the same kernel indices, tap by tap, at inputs shifted by
  // q · wideDelta[r]: a single output channel computes a run at once (AVX-512: up to 16
  // accumulators; AVX2: 8 at a time).
  int32_t wideCount;
  const int32_t *wideFirst;
  const int32_t *wideLength;
  const int32_t *wideStep;
  const int32_t *wideDelta;
} ll_axis;

/// 1 when this CPU has AVX2 and FMA, which the kernels of CKernels need (the t-SNE kernel
/// takes the answer as an argument and has a portable path).
int latentlab_avx2_fma_available(void);

/// Packs the weight W(a, b, ky, kx) = w[a * strideA + b * strideB + ky * k + kx] for the
/// gather below: blocks of output channels, each [B][k][k][block]. `packed` holds A·B·k·k.
void latentlab_pack_conv_weight(const float *w, ptrdiff_t strideA, ptrdiff_t strideB, int32_t a, int32_t b,
                                int32_t k, float *packed);

/// What a lane convolution does to each sum before storing it.
typedef enum {
  /// Stores the sum s.
  LL_STORE_SUM = 0,
  /// Stores ReLU(s) as latentlab_relu_forward computes it (s <= 0 ? +0 : s; NaN stays).
  LL_STORE_RELU = 1,
  /// Stores s where the gate (same layout as y) is > 0 or NaN, +0 elsewhere: ReLU's
  /// backward pass as latentlab_relu_backward computes it, the gate being ReLU's output.
  LL_STORE_GATED = 2,
} ll_store_mode;

/// y[g][a][oy][ox][l] = bias[a] + Σ_b Σ_(ky,iy) Σ_(kx,ix) W(a, b, ky, kx) · x[g][b][iy][ix][l]
/// over `groups` lane groups; x is [groups][B][rows.inputCount][cols.inputCount][8], y is
/// [groups][A][rows.outputCount][cols.outputCount][8]; `bias` may be NULL (zero).
/// `packed` comes from latentlab_pack_conv_weight with the same A, B and k. `isa` 2 runs two
/// lane groups to an AVX-512 register (a CPU with AVX-512F only), 1 one group to an AVX2
/// register; every lane gets the same fused multiply-adds in the same order either way, so
/// the bits are the same. `mode` applies ReLU or its backward mask (`gate`, laid out as y,
/// may be NULL otherwise) to each sum as it is stored: the same bits as the convolution
/// followed by latentlab_relu_forward or latentlab_relu_backward, without their pass over y.
void latentlab_lane_conv(const float *x, int32_t groups, int32_t b, const float *packed, const float *bias,
                         float *y, int32_t a, const ll_axis *rows, const ll_axis *cols, ll_store_mode mode,
                         const float *gate, int32_t isa);

/// dW(a, b, ky, kx) = Σ_g Σ_(oy,iy) Σ_(ox,ix) Σ_l dy[g][a][oy][ox][l] · x[g][b][iy][ix][l],
/// written (not added) to dw[a * strideA + b * strideB + ky * k + kx]. The sum runs in a
/// fixed order: lanes accumulate separately and are added last, lane 0 to 7. `isa` 2 (AVX-512F
/// and VL) sums two input channels in the halves of one register, and a lone input channel's
/// kernel rows of one column together (sharing each dy load), each sum in the order `isa` 1
/// (AVX2) sums it: the same bits.
void latentlab_lane_conv_weight_gradient(const float *dy, const float *x, int32_t groups, int32_t a, int32_t b,
                                         float *dw, ptrdiff_t strideA, ptrdiff_t strideB,
                                         const ll_axis *rows, const ll_axis *cols, int32_t isa);

/// db[a] = Σ_g Σ_p Σ_l dy[g][a][p][l] for dy [groups][A][plane][8] (written, not added).
void latentlab_lane_bias_gradient(const float *dy, int32_t groups, int32_t a, int32_t plane, float *db);

/// NCHW images (image i at src + i * size) to lane groups (dst holds ceil(n/8)·size·8).
void latentlab_to_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst);

/// Lane groups back to `images` NCHW images.
void latentlab_from_lanes(const float *src, int32_t images, ptrdiff_t size, float *dst);

/// Zeroes lanes `valid`…7 of each of `positions` lane vectors at `lanes` (the padding lanes of a
/// partial lane group), leaving lanes 0…`valid`−1 as they are.
void latentlab_zero_padding_lanes(float *lanes, ptrdiff_t positions, int32_t valid);

#endif
