// Exact k-nearest-neighbour search: each row's distances into a bounded max-heap.
#ifndef LATENTLAB_KNN_KERNELS_H
#define LATENTLAB_KNN_KERNELS_H

#include <stdint.h>

/// Offers the points j in [first, first + count) except `self` to row i's max-heap of the k
/// nearest, in increasing j, with squared distances d_j = max(0, (rowNorm + norms[j]) +
/// products[j − first]) (products: −2·x_i·x_j). The heap, ordered by (distance, index), ends
/// holding the first k points by (distance, index) of all offered (see knn_heap.h); offered in
/// increasing j, a point enters a full heap only when d < the root's distance. `vectorised`
/// (AVX2 available) only skips points in groups of eight whose distances all fail that test:
/// the heap goes through the same states either way.
void latentlab_knn_scan(const float *products, const float *norms, float rowNorm, int32_t first, int32_t count,
                        int32_t self, int32_t k, float *heapDistance, int32_t *heapIndex, int32_t *size,
                        int32_t vectorised);

/// The k nearest other points of rows first ..< first + rows of `data` ([n, d] row-major, n > k)
/// into their heaps (heapDistance/heapIndex + r·k): every j ≠ i offered in increasing j, as
/// latentlab_knn_scan offers them, with squared distances d_j = max(0, (norms[i] + norms[j]) +
/// p_j), p_j −2 times one fused multiply-add chain of x_i·x_j over the dimensions in order,
/// from +0 (a NaN distance becomes 0). Groups of 8 or 16 points none of which beats the heap's
/// maximum are skipped, which leaves the same states. `columns` is the data transposed ([d,
/// n]); d ≤ 8 (a group's columns are held at once). `isa` 1 (AVX2) or 2 (AVX-512): the same
/// bits. x86-64 with AVX2 only.
void latentlab_knn_rows(const float *data, const float *columns, const float *norms, int64_t n, int32_t d,
                        int32_t first, int32_t rows, int32_t k, float *heapDistance, int32_t *heapIndex,
                        int32_t isa);

#endif
