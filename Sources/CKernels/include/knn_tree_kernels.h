// Exact k-nearest-neighbour search through a k-d tree, for few dimensions (a model's latent
// codes, a 2-D map): the same neighbours and distance bits as the exhaustive scan of
// knn_kernels.h, with a small part of its distances.
#ifndef LATENTLAB_KNN_TREE_KERNELS_H
#define LATENTLAB_KNN_TREE_KERNELS_H

#include <stdint.h>

/// The most dimensions the tree takes.
#define LL_KNN_TREE_MAX_DIMENSIONS 8

/// One node of the tree: the points at positions start ..< end of the tree's order, their
/// bounding box, their largest squared norm, and its children (−1 for a leaf).
typedef struct {
  float lo[LL_KNN_TREE_MAX_DIMENSIONS], hi[LL_KNN_TREE_MAX_DIMENSIONS];
  float maxNorm;
  int32_t start, end, left, right;
} ll_knn_node;

/// The most nodes a tree of n points with leaves of at most `leafSize` points can have.
int64_t latentlab_knn_tree_node_capacity(int64_t n, int32_t leafSize);

/// Builds the tree of the n rows of `data` ([n, d] row-major, every value finite, d ≤ 8):
/// each node's points split at their median along the box's widest dimension (the lowest such
/// dimension), by (coordinate, index) so the tree does not depend on anything but the data; a
/// node of at most `leafSize` points, or of identical points, is a leaf. Writes the points'
/// order (`order`, n), their coordinates and squared norms in that order (`columns` [d, n],
/// `sortedNorms` n, from `norms`) and the nodes (`nodes`, node 0 the root); returns the node
/// count.
int32_t latentlab_knn_tree_build(const float *data, const float *norms, int64_t n, int32_t d, int32_t leafSize,
                                 int32_t *order, float *columns, float *sortedNorms, ll_knn_node *nodes);

/// The k nearest other points of the points at tree positions first ..< first + count, each
/// written to its row (indices/distances + order[p]·k, nearest first, equal distances by
/// index; n > k; `heap` k scratch entries), with the squared distance of the exhaustive kernel
/// (latentlab_knn_rows): max(0, (‖x_i‖² + ‖x_j‖²) + (−2)·c), c one fused multiply-add chain of
/// x_i·x_j over the dimensions in order from +0, 8 points at a time. The k kept are the first
/// by (distance, index), as the exhaustive scan keeps, so the result is the same: a node is
/// skipped only when the lower bound of the exact squared distance to its box exceeds the
/// heap's largest distance by more than the formula's rounding can reach (32u·(‖x_i‖² + the
/// node's largest norm) + 2u·that distance + 1e-30, u = 2⁻²⁴). x86-64 with AVX2 and FMA.
void latentlab_knn_tree_query(const ll_knn_node *nodes, const int32_t *order, const float *columns,
                              const float *sortedNorms, int64_t n, int32_t d, int32_t k, int64_t first, int64_t count,
                              uint64_t *heap, int32_t *indices, float *distances);

#endif
