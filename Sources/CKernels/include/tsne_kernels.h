// Barnes-Hut repulsion for t-SNE, walking the quadtree once for a group of nearby points.
#ifndef LATENTLAB_TSNE_KERNELS_H
#define LATENTLAB_TSNE_KERNELS_H

#include <stdint.h>

/// A quadtree node as the traversal reads it (32 bytes: two to a cache line).
typedef struct ll_quad_node {
  double massX;          // centre of mass
  double massY;
  double widthSquared;   // (2 · half-width)², compared with θ² · d² without a square root
  int32_t count;         // points below this node
  int32_t firstChild;    // index of the first of four consecutive children (0: a leaf)
} ll_quad_node;

/// The largest group latentlab_repulsion_group takes.
#define LL_REPULSION_GROUP 8

/// For each of `k` (≤ LL_REPULSION_GROUP) points (px[i], py[i]): the repulsive force
/// Σ m q² (p − c) into fx[i], fy[i] and Σ m q into z[i] (q = 1 / (1 + |p − c|²)), over the
/// cells c of the tree at `nodes` (root 0) that the Barnes-Hut criterion lets summarise,
/// excluding each point itself (a cell at distance 0 counts one point less).
///
/// The criterion is taken for the whole group at once: a cell is summarised when
/// widthSquared < θ² · d², d the distance from its centre of mass to the group's bounding
/// box, so every point sees the cell from at least that far (never a coarser summary than
/// a walk of its own would use). Leaves are always summarised, exactly. Every sum runs in the
/// order of the walk, which depends on the tree and the group only.
/// `stack` must hold 3 · depth + 4 entries. `vectorised` (pass latentlab_avx2_fma_available())
/// selects the AVX2 group walk; 0 walks point by point in portable code (CPUs without AVX2).
void latentlab_repulsion_group(const ll_quad_node *nodes, const double *px, const double *py, int32_t k,
                               double thetaSquared, int32_t *stack, double *fx, double *fy, double *z,
                               int32_t vectorised);

/// t-SNE's attraction for the rows [first, last) of P in compressed sparse rows (rowStart,
/// columns, values; y interleaved x, y): a_i = Σ_e p_e · q_e · (y_i − y_j), q_e = 1 / (1 + |y_i − y_j|²),
/// into ax[i], ay[i]. The sum runs in four lanes (edge number t of a row goes to lane t mod 4,
/// in order), added as (l0 + l1) + (l2 + l3); every operation is a single IEEE-754 add,
/// subtract, multiply or divide, so `vectorised` (AVX2: four edges to a register) gives the
/// same bits as the portable loop.
void latentlab_tsne_attraction(const int64_t *rowStart, const int32_t *columns, const double *values,
                               const double *y, int32_t first, int32_t last, double *ax, double *ay,
                               int32_t vectorised);

#endif
