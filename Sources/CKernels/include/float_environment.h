// The floating-point environment of a computing thread.
#ifndef LATENTLAB_FLOAT_ENVIRONMENT_H
#define LATENTLAB_FLOAT_ENVIRONMENT_H

/// Sets flush-to-zero (MXCSR bit 15: subnormal results become 0) and denormals-are-zero (bit
/// 6: subnormal inputs read as 0) for the calling thread's SSE/AVX arithmetic. Subnormals take
/// microcode assists on Intel cores (measured: a collapsing search trial 11-16x slower); with
/// both modes set the same operations give the same bits on every x86-64 CPU.
void latentlab_flush_subnormals_to_zero(void);

/// Whether both modes are set on the calling thread.
int latentlab_subnormals_flushed(void);

/// The calling thread's SSE/AVX control and status register (MXCSR), to be handed back to
/// latentlab_restore_float_environment.
unsigned int latentlab_float_environment(void);

/// Sets the calling thread's MXCSR to `saved` (a value latentlab_float_environment returned):
/// a thread borrowed from someone else's pool leaves as it came.
void latentlab_restore_float_environment(unsigned int saved);

#endif
