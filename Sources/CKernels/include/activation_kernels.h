// Elementwise activations for Float tensors, vectorised with AVX2 (callers check
// latentlab_avx2_fma_available() first). Each element's result depends on that element
// alone, so any split of the work over threads gives the same bits.
#ifndef LATENTLAB_ACTIVATION_KERNELS_H
#define LATENTLAB_ACTIVATION_KERNELS_H

#include <stddef.h>

/// y[i] = x[i] <= 0 ? 0 : x[i] (NaN passes through, as PyTorch's relu).
void latentlab_relu_forward(const float *x, float *y, ptrdiff_t count);

/// dx[i] = y[i] <= 0 ? 0 : dy[i], where y is the forward output.
void latentlab_relu_backward(const float *y, const float *dy, float *dx, ptrdiff_t count);

/// y[i] = 1 / (1 + e^-x[i]), through e^-|x| so that nothing overflows: a Cephes-style
/// polynomial exponential (relative error below 2e-7 on [-87, 0]), exact IEEE division;
/// NaN gives NaN (a diverging run must still see it in the loss).
void latentlab_sigmoid_forward(const float *x, float *y, ptrdiff_t count);

/// dx[i] = (dy[i] · y[i]) · (1 − y[i]), y the forward output, each operation rounded on its own
/// (no fused multiply-add): the bits of the reference `Sigmoid.backward`. dx may be dy.
void latentlab_sigmoid_backward(const float *y, const float *dy, float *dx, ptrdiff_t count);

#endif
