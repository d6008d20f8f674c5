// Adam's update, eight parameters at a time (callers check latentlab_avx2_fma_available()).
#ifndef LATENTLAB_OPTIMIZER_KERNELS_H
#define LATENTLAB_OPTIMIZER_KERNELS_H

#include <stddef.h>

/// One Adam step over `count` parameters, PyTorch's formulation with coupled L2, in exactly the
/// operation order of NN's portable loop (no fused multiply-adds), so the bits are the same:
///   grad = g + wd · θ;  m = b1 · m + (1 − b1) · grad;  v = b2 · v + ((1 − b2) · grad) · grad;
///   θ = θ − (stepSize · m) / (√v / correction2Root + eps).
void latentlab_adam_update(const float *g, float *theta, float *m, float *v, ptrdiff_t count, float b1, float b2,
                           float eps, float wd, float stepSize, float correction2Root);

#endif
