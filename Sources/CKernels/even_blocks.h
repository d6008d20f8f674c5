// Cutting n items into blocks of at most `most`, as even as possible (8 as 4 + 4 rather than
// 6 + 2; 5 as 3 + 2): shared by the kernels that block channels or columns for registers.
#ifndef LATENTLAB_EVEN_BLOCKS_H
#define LATENTLAB_EVEN_BLOCKS_H

#include <stdint.h>

/// The number of blocks: ⌈n / most⌉.
static inline int32_t ll_block_count(int32_t n, int32_t most) { return (n + most - 1) / most; }

/// The first item of block i of `blocks` (block i + 1's start minus this is its size).
static inline int32_t ll_block_start(int32_t n, int32_t blocks, int32_t i) {
  const int32_t base = n / blocks, extra = n % blocks;
  return i * base + (i < extra ? i : extra);
}

#endif
