// SHA-256 block compression with the x86 SHA extensions: sha256rnds2 does two rounds,
// sha256msg1/sha256msg2 extend the message schedule. The state lives in two registers as
// ABEF and CDGH, the layout sha256rnds2 expects. Round constants are FIPS 180-4's K.
// Checked by the Datasets tests against the FIPS 180-4 / NIST vectors and against the
// portable Swift implementation on random messages.
#include "CSHA256.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int latentlab_sha256_hardware_available(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int sha = (b >> 29) & 1;
  return ssse3 && sse41 && sha;
}

__attribute__((target("sha,sse4.1,ssse3")))
void latentlab_sha256_hardware_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) {
  const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
  __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);
  tmp = _mm_shuffle_epi32(tmp, 0xB1);              /* CDAB */
  state1 = _mm_shuffle_epi32(state1, 0x1B);        /* EFGH */
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8); /* ABEF */
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);     /* CDGH */
  __m128i msg[4], m;
  while (blocks--) {
    const __m128i abef = state0, cdgh = state1;
    /* rounds 0-3 */
    msg[0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), mask);
    m = _mm_add_epi32(msg[0], _mm_set_epi64x(0xe9b5dba5b5c0fbcfULL, 0x71374491428a2f98ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    /* rounds 4-7 */
    msg[1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), mask);
    m = _mm_add_epi32(msg[1], _mm_set_epi64x(0xab1c5ed5923f82a4ULL, 0x59f111f13956c25bULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[0] = _mm_sha256msg1_epu32(msg[0], msg[1]);
    /* rounds 8-11 */
    msg[2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), mask);
    m = _mm_add_epi32(msg[2], _mm_set_epi64x(0x550c7dc3243185beULL, 0x12835b01d807aa98ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[1] = _mm_sha256msg1_epu32(msg[1], msg[2]);
    /* rounds 12-15 */
    msg[3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), mask);
    m = _mm_add_epi32(msg[3], _mm_set_epi64x(0xc19bf1749bdc06a7ULL, 0x80deb1fe72be5d74ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[3], msg[2], 4);
    msg[0] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[0], tmp), msg[3]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[2] = _mm_sha256msg1_epu32(msg[2], msg[3]);
    /* rounds 16-19 */
    m = _mm_add_epi32(msg[0], _mm_set_epi64x(0x240ca1cc0fc19dc6ULL, 0xefbe4786e49b69c1ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[0], msg[3], 4);
    msg[1] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[1], tmp), msg[0]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[3] = _mm_sha256msg1_epu32(msg[3], msg[0]);
    /* rounds 20-23 */
    m = _mm_add_epi32(msg[1], _mm_set_epi64x(0x76f988da5cb0a9dcULL, 0x4a7484aa2de92c6fULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[1], msg[0], 4);
    msg[2] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[2], tmp), msg[1]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[0] = _mm_sha256msg1_epu32(msg[0], msg[1]);
    /* rounds 24-27 */
    m = _mm_add_epi32(msg[2], _mm_set_epi64x(0xbf597fc7b00327c8ULL, 0xa831c66d983e5152ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[2], msg[1], 4);
    msg[3] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[3], tmp), msg[2]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[1] = _mm_sha256msg1_epu32(msg[1], msg[2]);
    /* rounds 28-31 */
    m = _mm_add_epi32(msg[3], _mm_set_epi64x(0x1429296706ca6351ULL, 0xd5a79147c6e00bf3ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[3], msg[2], 4);
    msg[0] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[0], tmp), msg[3]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[2] = _mm_sha256msg1_epu32(msg[2], msg[3]);
    /* rounds 32-35 */
    m = _mm_add_epi32(msg[0], _mm_set_epi64x(0x53380d134d2c6dfcULL, 0x2e1b213827b70a85ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[0], msg[3], 4);
    msg[1] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[1], tmp), msg[0]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[3] = _mm_sha256msg1_epu32(msg[3], msg[0]);
    /* rounds 36-39 */
    m = _mm_add_epi32(msg[1], _mm_set_epi64x(0x92722c8581c2c92eULL, 0x766a0abb650a7354ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[1], msg[0], 4);
    msg[2] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[2], tmp), msg[1]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[0] = _mm_sha256msg1_epu32(msg[0], msg[1]);
    /* rounds 40-43 */
    m = _mm_add_epi32(msg[2], _mm_set_epi64x(0xc76c51a3c24b8b70ULL, 0xa81a664ba2bfe8a1ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[2], msg[1], 4);
    msg[3] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[3], tmp), msg[2]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[1] = _mm_sha256msg1_epu32(msg[1], msg[2]);
    /* rounds 44-47 */
    m = _mm_add_epi32(msg[3], _mm_set_epi64x(0x106aa070f40e3585ULL, 0xd6990624d192e819ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[3], msg[2], 4);
    msg[0] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[0], tmp), msg[3]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[2] = _mm_sha256msg1_epu32(msg[2], msg[3]);
    /* rounds 48-51 */
    m = _mm_add_epi32(msg[0], _mm_set_epi64x(0x34b0bcb52748774cULL, 0x1e376c0819a4c116ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[0], msg[3], 4);
    msg[1] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[1], tmp), msg[0]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    msg[3] = _mm_sha256msg1_epu32(msg[3], msg[0]);
    /* rounds 52-55 */
    m = _mm_add_epi32(msg[1], _mm_set_epi64x(0x682e6ff35b9cca4fULL, 0x4ed8aa4a391c0cb3ULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[1], msg[0], 4);
    msg[2] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[2], tmp), msg[1]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    /* rounds 56-59 */
    m = _mm_add_epi32(msg[2], _mm_set_epi64x(0x8cc7020884c87814ULL, 0x78a5636f748f82eeULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    tmp = _mm_alignr_epi8(msg[2], msg[1], 4);
    msg[3] = _mm_sha256msg2_epu32(_mm_add_epi32(msg[3], tmp), msg[2]);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    /* rounds 60-63 */
    m = _mm_add_epi32(msg[3], _mm_set_epi64x(0xc67178f2bef9a3f7ULL, 0xa4506ceb90befffaULL));
    state1 = _mm_sha256rnds2_epu32(state1, state0, m);
    m = _mm_shuffle_epi32(m, 0x0E);
    state0 = _mm_sha256rnds2_epu32(state0, state1, m);
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
    data += 64;
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);       /* FEBA */
  state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
  state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* DCBA */
  state1 = _mm_alignr_epi8(state1, tmp, 8);    /* HGFE */
  _mm_storeu_si128((__m128i *)&state[0], state0);
  _mm_storeu_si128((__m128i *)&state[4], state1);
}

#else

int latentlab_sha256_hardware_available(void) { return 0; }
void latentlab_sha256_hardware_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) {
  (void)state; (void)data; (void)blocks;
}

#endif
