// Exact kNN through a k-d tree: a node is skipped only when no point in it can enter the heap
// under the exhaustive kernel's rounded distance formula, and the heap keeps the first k points
// by (distance, index) in any offering order, so the result is the exhaustive search's.
#include "knn_tree_kernels.h"

#pragma clang fp contract(off)

int64_t latentlab_knn_tree_node_capacity(int64_t n, int32_t leafSize) {
  // Median splits leave every leaf at least half full (above leafSize / 2 points) except where
  // identical points stop the splitting, which only makes fewer nodes.
  const int64_t leaves = n / (leafSize / 2 > 0 ? leafSize / 2 : 1) + 1;
  return 2 * leaves + 1;
}

typedef struct {
  const float *data;
  int32_t d, leafSize;
  int32_t *order;
  ll_knn_node *nodes;
  int32_t count;
} tree_builder;

// (coordinate, index) of point a before that of point b along dimension `dim`.
static inline int before(const float *data, int32_t d, int32_t dim, int32_t a, int32_t b) {
  const float u = data[(int64_t)a * d + dim], v = data[(int64_t)b * d + dim];
  return u < v || (u == v && a < b);
}

static inline void swap_order(int32_t *order, int64_t a, int64_t b) {
  const int32_t t = order[a];
  order[a] = order[b];
  order[b] = t;
}

// Rearranges order[lo ..< hi] so that position `nth` holds the point it would hold sorted by
// (coordinate along dim, index), with every point before it sorting before it (Hoare's select,
// the pivot the median of the first, middle and last: deterministic, as the key is a total
// order).
static void select_nth(const float *data, int32_t d, int32_t dim, int32_t *order, int64_t lo, int64_t hi, int64_t nth) {
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    // Median of three into position mid.
    if (before(data, d, dim, order[mid], order[lo])) swap_order(order, mid, lo);
    if (before(data, d, dim, order[hi - 1], order[lo])) swap_order(order, hi - 1, lo);
    if (before(data, d, dim, order[hi - 1], order[mid])) swap_order(order, hi - 1, mid);
    const int32_t pivot = order[mid];
    swap_order(order, mid, hi - 1);
    int64_t store = lo;
    for (int64_t p = lo; p < hi - 1; p++)
      if (before(data, d, dim, order[p], pivot)) swap_order(order, p, store++);
    swap_order(order, store, hi - 1);
    if (store == nth) return;
    if (nth < store)
      hi = store;
    else
      lo = store + 1;
  }
}

static int32_t build_node(tree_builder *b, const float *norms, int64_t start, int64_t end) {
  const int32_t id = b->count++;
  ll_knn_node *node = &b->nodes[id];
  const int32_t d = b->d;
  for (int32_t c = 0; c < LL_KNN_TREE_MAX_DIMENSIONS; c++) node->lo[c] = node->hi[c] = 0;
  for (int32_t c = 0; c < d; c++) node->lo[c] = node->hi[c] = b->data[(int64_t)b->order[start] * d + c];
  node->maxNorm = norms[b->order[start]];
  for (int64_t p = start + 1; p < end; p++) {
    const float *x = b->data + (int64_t)b->order[p] * d;
    for (int32_t c = 0; c < d; c++) {
      if (x[c] < node->lo[c]) node->lo[c] = x[c];
      if (x[c] > node->hi[c]) node->hi[c] = x[c];
    }
    if (norms[b->order[p]] > node->maxNorm) node->maxNorm = norms[b->order[p]];
  }
  node->start = (int32_t)start;
  node->end = (int32_t)end;
  node->left = node->right = -1;
  int32_t dim = 0;
  for (int32_t c = 1; c < d; c++)
    if (node->hi[c] - node->lo[c] > node->hi[dim] - node->lo[dim]) dim = c;
  if (end - start <= b->leafSize || !(node->hi[dim] > node->lo[dim])) return id;
  const int64_t mid = start + (end - start) / 2;
  select_nth(b->data, d, dim, b->order, start, end, mid);
  const int32_t left = build_node(b, norms, start, mid);
  const int32_t right = build_node(b, norms, mid, end);
  b->nodes[id].left = left;
  b->nodes[id].right = right;
  return id;
}

int32_t latentlab_knn_tree_build(const float *data, const float *norms, int64_t n, int32_t d, int32_t leafSize,
                                 int32_t *order, float *columns, float *sortedNorms, ll_knn_node *nodes) {
  for (int64_t i = 0; i < n; i++) order[i] = (int32_t)i;
  tree_builder b = {data, d, leafSize < 1 ? 1 : leafSize, order, nodes, 0};
  build_node(&b, norms, 0, n);
  for (int64_t p = 0; p < n; p++) {
    for (int32_t c = 0; c < d; c++) columns[c * n + p] = data[(int64_t)order[p] * d + c];
    sortedNorms[p] = norms[order[p]];
  }
  return b.count;
}

#if defined(__x86_64__)
#include <immintrin.h>

// The lower bound of the exact squared distance from q to the node's box (double: the
// coordinates' differences and squares carry no error worth counting beside the margin).
static inline double box_bound(const ll_knn_node *node, const float *q, int32_t d) {
  double s = 0;
  for (int32_t c = 0; c < d; c++) {
    const double below = (double)node->lo[c] - (double)q[c], above = (double)q[c] - (double)node->hi[c];
    const double gap = below > 0 ? below : above > 0 ? above : 0;
    s += gap * gap;
  }
  return s;
}

// Whether no point of the node can enter a full heap whose largest distance is `largest`: every
// point's rounded distance is within 16u·(‖x_i‖² + ‖x_j‖²) + u·|s| of the exact one for d ≤ 8
// (the norms' sums, the chain and the two additions each contribute), so 32u and 2u leave room.
static inline int out_of_reach(double bound, float queryNorm, const ll_knn_node *node, float largest) {
  const double u = 0x1p-24;
  const double margin = 32 * u * ((double)queryNorm + (double)node->maxNorm) + 2 * u * (double)largest + 1e-30;
  return bound > (double)largest + margin;
}

// The heap of (distance, index) as one key each: a distance is never negative, −0 or NaN
// (clamped to +0, and (‖x_i‖² + ‖x_j‖²) is never −0), so its bits order as the distances do,
// and the key (bits << 32 | index) orders as (distance, index).
static inline uint64_t key_of(float s, int32_t j) {
  uint32_t bits;
  __builtin_memcpy(&bits, &s, 4);
  return (uint64_t)bits << 32 | (uint32_t)j;
}

static inline float distance_of(uint64_t key) {
  const uint32_t bits = (uint32_t)(key >> 32);
  float s;
  __builtin_memcpy(&s, &bits, 4);
  return s;
}

// Puts `key` in place of the root of the max-heap's first `size` keys and sifts it down.
static inline void replace_root(uint64_t *heap, int32_t size, uint64_t key) {
  int32_t c = 0;
  for (;;) {
    const int32_t left = 2 * c + 1;
    if (left >= size) break;
    const int32_t child = left + 1 < size && heap[left + 1] > heap[left] ? left + 1 : left;
    if (heap[child] < key) break;
    heap[c] = heap[child];
    c = child;
  }
  heap[c] = key;
}

// A max-heap of keys: below k every key enters; then a key enters when it is below the root.
static inline void offer_key(uint64_t key, int32_t k, uint64_t *heap, int32_t *size) {
  if (*size < k) {
    int32_t c = (*size)++;
    while (c > 0) {
      const int32_t parent = (c - 1) / 2;
      if (heap[parent] > key) break;
      heap[c] = heap[parent];
      c = parent;
    }
    heap[c] = key;
  } else if (key < heap[0]) {
    replace_root(heap, k, key);
  }
}

// The leaf's points start ..< end against q: distances 8 at a time (per lane the operations of
// the exhaustive kernel's chain_distance), those at most the root's offered in position order.
__attribute__((target("avx2,fma"))) static void scan_leaf(const float *q, float queryNorm, int32_t self,
                                                           const int32_t *order, const float *columns,
                                                           const float *sortedNorms, int64_t n, int32_t d,
                                                           int32_t start, int32_t end, int32_t k, uint64_t *heap,
                                                           int32_t *size) {
  const __m256 minusTwo = _mm256_set1_ps(-2.0f), zero = _mm256_setzero_ps(), rowNorm = _mm256_set1_ps(queryNorm);
  __m256 qc[LL_KNN_TREE_MAX_DIMENSIONS];
  for (int32_t c = 0; c < d; c++) qc[c] = _mm256_set1_ps(q[c]);
  int32_t p = start;
  for (; p + 8 <= end; p += 8) {
    __m256 acc = zero;
    for (int32_t c = 0; c < d; c++) acc = _mm256_fmadd_ps(qc[c], _mm256_loadu_ps(columns + c * n + p), acc);
    __m256 s = _mm256_add_ps(_mm256_add_ps(rowNorm, _mm256_loadu_ps(sortedNorms + p)), _mm256_mul_ps(acc, minusTwo));
    s = _mm256_and_ps(s, _mm256_cmp_ps(s, zero, _CMP_GE_OQ));
    uint32_t mask = 0xFF;
    if (*size == k) mask = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(distance_of(heap[0])), _CMP_LE_OQ));
    if (!mask) continue;
    float ds[8];
    _mm256_storeu_ps(ds, s);
    while (mask) {
      const int b = __builtin_ctz(mask);
      mask &= mask - 1;
      const int32_t j = order[p + b];
      if (j != self) offer_key(key_of(ds[b], j), k, heap, size);
    }
  }
  for (; p < end; p++) {
    const int32_t j = order[p];
    if (j == self) continue;
    float acc = 0.0f;
    for (int32_t c = 0; c < d; c++) acc = __builtin_fmaf(q[c], columns[c * n + p], acc);
    float s = (queryNorm + sortedNorms[p]) + acc * -2.0f;
    s = s >= 0.0f ? s : 0.0f;
    if (*size < k || s <= distance_of(heap[0])) offer_key(key_of(s, j), k, heap, size);
  }
}

__attribute__((target("avx2,fma"))) static void query_point(const ll_knn_node *nodes, const int32_t *order,
                                                             const float *columns, const float *sortedNorms, int64_t n,
                                                             int32_t d, int32_t k, int64_t position, uint64_t *heap,
                                                             int32_t *outIndex, float *outDistance) {
  float q[LL_KNN_TREE_MAX_DIMENSIONS];
  for (int32_t c = 0; c < d; c++) q[c] = columns[c * n + position];
  const float queryNorm = sortedNorms[position];
  const int32_t self = order[position];
  int32_t size = 0;
  // Depth-first, the nearer child first; each entry with its box's bound, tested again when
  // popped (the heap's largest distance only falls). Depth ≤ 32 (median splits, n < 2³¹).
  int32_t stack[128];
  double bounds[128];
  int top = 0;
  stack[top] = 0;
  bounds[top++] = 0;
  while (top > 0) {
    top--;
    const ll_knn_node *node = &nodes[stack[top]];
    if (size == k && out_of_reach(bounds[top], queryNorm, node, distance_of(heap[0]))) continue;
    if (node->left < 0) {
      scan_leaf(q, queryNorm, self, order, columns, sortedNorms, n, d, node->start, node->end, k, heap, &size);
      continue;
    }
    const ll_knn_node *left = &nodes[node->left], *right = &nodes[node->right];
    const double lb = box_bound(left, q, d), rb = box_bound(right, q, d);
    // Push the farther first so the nearer is searched first.
    const int leftFirst = lb <= rb;
    const int32_t far = leftFirst ? node->right : node->left, near = leftFirst ? node->left : node->right;
    const double farBound = leftFirst ? rb : lb, nearBound = leftFirst ? lb : rb;
    if (!(size == k && out_of_reach(farBound, queryNorm, &nodes[far], distance_of(heap[0])))) {
      stack[top] = far;
      bounds[top++] = farBound;
    }
    if (!(size == k && out_of_reach(nearBound, queryNorm, &nodes[near], distance_of(heap[0])))) {
      stack[top] = near;
      bounds[top++] = nearBound;
    }
  }
  // Nearest first: pop the largest into the last free slot.
  for (int32_t slot = k - 1; slot >= 0; slot--) {
    const uint64_t largest = heap[0];
    outIndex[slot] = (int32_t)(uint32_t)largest;
    outDistance[slot] = distance_of(largest);
    if (slot > 0) replace_root(heap, slot, heap[slot]);
  }
}
#endif

void latentlab_knn_tree_query(const ll_knn_node *nodes, const int32_t *order, const float *columns,
                              const float *sortedNorms, int64_t n, int32_t d, int32_t k, int64_t first, int64_t count,
                              uint64_t *heap, int32_t *indices, float *distances) {
#if defined(__x86_64__)
  for (int64_t p = first; p < first + count; p++) {
    const int64_t row = order[p];
    query_point(nodes, order, columns, sortedNorms, n, d, k, p, heap, indices + row * k, distances + row * k);
  }
#else
  (void)nodes, (void)order, (void)columns, (void)sortedNorms, (void)n, (void)d, (void)k, (void)first,
      (void)count, (void)heap, (void)indices, (void)distances;
#endif
}
