// OpenBLAS's CBLAS interface. Debian installs cblas.h under the openblas
// include directory that pkg-config names; it also declares
// openblas_set_num_threads, which LatentLab calls once to keep BLAS
// single-threaded (see TensorCore/BLAS.swift for why).
#include <cblas.h>

// OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds, as Debian's): the
// table of kernels is chosen at load time from the CPU, or from the
// OPENBLAS_CORETYPE environment variable when set. These entry points are
// exported by libopenblas but declared in no installed header: quitting and
// initialising again re-reads OPENBLAS_CORETYPE, which is how LatentLab pins
// one kernel table on every CPU (TensorCore/BLAS.swift).
void gotoblas_dynamic_init(void);
void gotoblas_dynamic_quit(void);
char *gotoblas_corename(void);
