#include "float_environment.h"

#include <xmmintrin.h>

enum { flush_to_zero = 0x8000, denormals_are_zero = 0x0040 };

void latentlab_flush_subnormals_to_zero(void) {
  unsigned int csr = _mm_getcsr();
  if ((csr & (flush_to_zero | denormals_are_zero)) != (flush_to_zero | denormals_are_zero)) {
    _mm_setcsr(csr | flush_to_zero | denormals_are_zero);
  }
}

int latentlab_subnormals_flushed(void) {
  return (_mm_getcsr() & (flush_to_zero | denormals_are_zero)) == (flush_to_zero | denormals_are_zero);
}

unsigned int latentlab_float_environment(void) { return _mm_getcsr(); }

void latentlab_restore_float_environment(unsigned int saved) { _mm_setcsr(saved); }
