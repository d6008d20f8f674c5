// The squared error of Float predictions, summed in double in one fixed order on every path.
#ifndef LATENTLAB_LOSS_KERNELS_H
#define LATENTLAB_LOSS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Σ (p[i] − t[i])² over `count` elements in double, writing gradient[i] = g · (p[i] − t[i])
/// (float). Element i goes into partial sum i mod 8, each partial in element order; the result
/// is ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). A float difference's square is exact
/// in double, so only these additions round: the same bits on the portable path (isa 0) and
/// the AVX2 one (isa ≥ 1); `MSELoss.squaredErrorSum` keeps the same order for Double.
double latentlab_squared_error_sum(const float *p, const float *t, ptrdiff_t count, float g, float *gradient,
                                   int32_t isa);

#endif
