#include <zlib.h>

// inflateInit2 is a macro in zlib.h; Swift cannot call it.
static inline int latentlab_inflateInit2(z_streamp strm, int windowBits) {
  return inflateInit2(strm, windowBits);
}
// deflateInit2 is a macro too (used by the PNG writer).
static inline int latentlab_deflateInit2(z_streamp strm, int level, int method,
                                         int windowBits, int memLevel,
                                         int strategy) {
  return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
