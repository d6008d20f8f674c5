// OpenBLAS's CBLAS interface. Debian installs cblas.h under the openblas
// include directory that pkg-config names; it also declares
// openblas_set_num_threads, which LatentLab calls once to keep BLAS
// single-threaded (see TensorCore/BLAS.swift for why).
#include <cblas.h>
