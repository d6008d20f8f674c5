// What the CPU offers the package's kernels (CPUID, and the OS's saved register state).
#ifndef LATENTLAB_CPU_FEATURES_H
#define LATENTLAB_CPU_FEATURES_H

/// 1 when the CPU has AVX-512 F, BW, DQ and VL and the OS saves the ZMM and mask registers
/// (XCR0 bits 5-7), else 0.
int latentlab_avx512_available(void);

/// The CPU's brand string (CPUID leaves 0x80000002-4) into `out` (at least 49 bytes),
/// trimmed; empty when the CPU does not report one.
void latentlab_cpu_brand(char *out);

#endif
