// The elementwise passes of t-SNE's FFT interpolation around the grid transforms (FIt-SNE):
// the kernels sampled at node offsets, the packing of their real transforms, and the
// spectra's product.
#ifndef LATENTLAB_TSNE_GRID_KERNELS_H
#define LATENTLAB_TSNE_GRID_KERNELS_H

#include <stdint.h>

/// The kernels at the node offsets of a circulant grid of `side` = 2·nodes entries a side,
/// nodes `h` apart: rows [rowFirst, rowLast), columns [0, columns) of
/// R = K + i·(Kx + Ky), with K(Δ) = 1 / (1 + |Δ|²), Kx = Δx·K², Ky = Δy·K²; index t < nodes is
/// offset t·h, index t > nodes offset (t − side)·h, and index `nodes` (and every column past
/// it) holds 0. Single precision, (1 + Δx²) + Δy² in that order; every operation is one
/// IEEE-754 operation, so every instruction set gives the same bits.
void latentlab_tsne_kernel_grid(int32_t nodes, int32_t side, float h, int32_t rowFirst, int32_t rowLast,
                                int32_t columns, float *re, float *im, int64_t ld);

/// Packs the column transforms of the kernel grid (U + iV in columns 0 … nodes, U even and V
/// odd in the column index) into rows of two: for r in [rowFirst, rowLast) (r < side / 2),
/// out row r = (U_r − V_r') + i·(V_r + U_r'), r' = r + side / 2, over all `side` columns
/// (column t > nodes from column side − t: U(t) = U(side − t), V(t) = −V(side − t)). The
/// row transform of out row r then carries the real spectrum M of row r in its real part and
/// that of row r' in its imaginary part.
void latentlab_tsne_pack_kernel_rows(int32_t nodes, int32_t side, int32_t rowFirst, int32_t rowLast, const float *re,
                                     const float *im, int64_t ld, float *outRe, float *outIm, int64_t outLd);

/// The spectra's product for the frequency rows fx in [rowFirst, rowLast) (the layout is
/// [fx][fy]): from M (row fx holds M(fx, r) in mRe and M(fx, r + side/2) in mIm, r < side/2),
/// M = K̂ − β − γ, with K̂ even in both frequencies, β (from Ky) odd in fy, γ (from Kx) odd in
/// fx, separated by their parities over (±fx, ±fy); Ŵ from its rows fy ≤ nodes (wRe, wIm),
/// the rest by Ŵ(−f) = Ŵ(f)*. Writes T = (Ŵ·(K̂x + i·K̂y))* with K̂x = iγ, K̂y = iβ, for the
/// transform back as a forward transform, and returns Σ |Ŵ|²·K̂ over the rows: each term in
/// single precision, summed in double in 16 lanes (term t to lane t mod 16, lanes added in
/// order), rows in order. `scratch` holds 6 · side floats. Same bits for every `isa` (0
/// portable, 1 AVX2, 2 AVX-512).
double latentlab_tsne_spectrum_product(int32_t nodes, int32_t side, int32_t rowFirst, int32_t rowLast,
                                       const float *wRe, const float *wIm, int64_t wLd, const float *mRe,
                                       const float *mIm, int64_t mLd, float *tRe, float *tIm, int64_t tLd,
                                       float *scratch, int32_t isa);

/// Points first ..< last of y ([2N], x and y interleaved) on the grid of `boxes` boxes a side,
/// each `boxWidth` wide from `lo`: box[i] = row · boxes + column (each index ⌊(y − lo) /
/// boxWidth⌋ clamped to [0, boxes − 1]; a NaN coordinate to 0), and along each axis the p
/// Lagrange weights at the offset u within the box, w_j = Π_{k≠j} (u − nodes[k]) /
/// denominators[j] (k increasing, from 1), into wx/wy + i·p. p ≤ 6. Same bits for every `isa`.
void latentlab_tsne_point_weights(const double *y, int32_t first, int32_t last, double lo, double boxWidth,
                                  int32_t boxes, int32_t p, const double *nodes, const double *denominators,
                                  int32_t *box, double *wx, double *wy, int32_t isa);

/// Σ over points first ..< last, in order from +0, of each point's own kernel through the grid:
/// Σ_da Cy(da) · Σ_db Cx(db) · kernel[da·p + db] (both sums in order, from +0), with Cx(d) the
/// sum of wx_b·wx_b' over |b − b'| = d (b outer, b' inner, from +0), Cy likewise. p ≤ 6. Same
/// bits for every `isa`.
double latentlab_tsne_self_terms(const double *wx, const double *wy, int32_t first, int32_t last, int32_t p,
                                 const float *kernel, int32_t isa);

/// The force on points first ..< last read back from the fields re (x) and im (y) (row stride
/// ld) at their boxes' nodes with their weights: F = Σ_a wy_a · Σ_b wx_b · field[(row·p + a)·ld +
/// column·p + b] (each sum in order from +0, the floats widened), force[2i] = Fx · scale,
/// force[2i + 1] = −Fy · scale. Same bits for every `isa`.
void latentlab_tsne_read_back(const int32_t *box, const double *wx, const double *wy, int32_t first, int32_t last,
                              int32_t boxes, int32_t p, const float *re, const float *im, int64_t ld, double scale,
                              double *force, int32_t isa);

/// Adds the unit charges of the points order[positionFirst ..< positionLast] (in that order) to
/// the node charges (nodes × nodes, row-major): for each, charges[(row·p + a)·nodes + column·p +
/// b] += wy_a · wx_b, a then b in order.
void latentlab_tsne_spread(const int32_t *order, const int32_t *box, const double *wx, const double *wy,
                           int64_t positionFirst, int64_t positionLast, int32_t boxes, int32_t p, int32_t nodes,
                           double *charges);

#endif
