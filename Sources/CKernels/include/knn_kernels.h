// The scan of exact k-nearest-neighbour search: one row's distances into a bounded max-heap.
#ifndef LATENTLAB_KNN_KERNELS_H
#define LATENTLAB_KNN_KERNELS_H

#include <stdint.h>

/// Offers the points j in [first, first + count) except `self` to row i's max-heap of the k
/// nearest, in increasing j, with squared distances d_j = max(0, (rowNorm + norms[j]) +
/// products[j − first]) (products: −2·x_i·x_j). While the heap holds fewer than k it takes every
/// point (sift up, stopping at a parent ≥ d); then a point enters when d < the heap's maximum
/// (which it replaces, sifting down past children > d, the right child when it is larger than
/// the left). `vectorised` (AVX2 available) only skips points in groups of eight whose
/// distances all fail the test: the heap goes through the same states either way.
void latentlab_knn_scan(const float *products, const float *norms, float rowNorm, int32_t first, int32_t count,
                        int32_t self, int32_t k, float *heapDistance, int32_t *heapIndex, int32_t *size,
                        int32_t vectorised);

#endif
