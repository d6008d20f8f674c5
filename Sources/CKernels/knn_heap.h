// The bounded max-heap of one row's k nearest points, ordered by (distance, index): shared by
// the exhaustive scan and the tree search, so that both keep the same k points whatever order
// they offer them in.
#ifndef LATENTLAB_KNN_HEAP_H
#define LATENTLAB_KNN_HEAP_H

#include <stdint.h>

/// (d, j) after (e, i): the larger distance, or the larger index at equal distances. Distances
/// are never NaN (they are clamped to 0 before they are offered).
static inline int ll_knn_after(float d, int32_t j, float e, int32_t i) { return d > e || (d == e && j > i); }

/// Offers point j at squared distance d to the heap (hd, hi) of `*size` ≤ k entries, whose root
/// is the largest (distance, index). Below k entries every point enters (sift up); then a point
/// enters when it comes before the root, which it replaces (sift down, the larger child
/// first). The heap ends holding the k first points by (distance, index) among those offered,
/// in any offering order.
static inline void ll_knn_offer(float d, int32_t j, int32_t k, float *hd, int32_t *hi, int32_t *size) {
  if (*size < k) {
    int32_t c = (*size)++;
    while (c > 0) {
      const int32_t parent = (c - 1) / 2;
      if (!ll_knn_after(d, j, hd[parent], hi[parent])) break;
      hd[c] = hd[parent];
      hi[c] = hi[parent];
      c = parent;
    }
    hd[c] = d;
    hi[c] = j;
  } else if (ll_knn_after(hd[0], hi[0], d, j)) {
    int32_t c = 0;
    for (;;) {
      const int32_t left = 2 * c + 1;
      if (left >= k) break;
      int32_t child = left;
      if (left + 1 < k && ll_knn_after(hd[left + 1], hi[left + 1], hd[left], hi[left])) child = left + 1;
      if (!ll_knn_after(hd[child], hi[child], d, j)) break;
      hd[c] = hd[child];
      hi[c] = hi[child];
      c = child;
    }
    hd[c] = d;
    hi[c] = j;
  }
}

#endif
