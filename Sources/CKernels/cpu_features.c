// CPUID queries for dispatch and for saying which CPU a benchmark ran on.
#include "cpu_features.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int latentlab_avx512_available(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!((c >> 27) & 1)) return 0;  // OSXSAVE
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  // XMM, YMM, opmask, ZMM 0-15 upper halves, ZMM 16-31.
  if ((lo & 0xE6) != 0xE6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  return f && dq && bw && vl;
}

void latentlab_cpu_brand(char *out) {
  unsigned regs[12];
  out[0] = 0;
  unsigned top = __get_cpuid_max(0x80000000, 0);
  if (top < 0x80000004) return;
  for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  memcpy(out, regs, 48);
  out[48] = 0;
  // Trim leading and trailing spaces.
  char *start = out;
  while (*start == ' ') start++;
  size_t n = strlen(start);
  while (n > 0 && start[n - 1] == ' ') n--;
  memmove(out, start, n);
  out[n] = 0;
}

#else
int latentlab_avx512_available(void) { return 0; }
void latentlab_cpu_brand(char *out) { out[0] = 0; }
#endif
