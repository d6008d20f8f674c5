// SHA-256 compression with the x86 SHA extensions (SHA-NI), for the data integrity check.
#ifndef LATENTLAB_CSHA256_H
#define LATENTLAB_CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SHA extensions (and the SSSE3/SSE4.1 the kernel also uses).
int latentlab_sha256_hardware_available(void);

/// Compresses `blocks` 64-byte blocks of `data` into the eight-word `state`
/// (FIPS 180-4 order a..h). Call only when latentlab_sha256_hardware_available() is 1.
void latentlab_sha256_hardware_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
