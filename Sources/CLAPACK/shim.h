// LAPACK routines LatentLab uses, declared by hand: Debian's libopenblas-dev
// ships LAPACK inside libopenblas but no lapacke.h, and the Fortran entry
// points are all we need. Arguments follow the Fortran convention: every
// scalar by pointer, matrices column-major.
#ifndef LATENTLAB_CLAPACK_SHIM_H
#define LATENTLAB_CLAPACK_SHIM_H

/// Eigenvalues and (optionally) eigenvectors of a real symmetric matrix,
/// divide and conquer (single precision).
void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a,
             const int *lda, float *w, float *work, const int *lwork,
             int *iwork, const int *liwork, int *info);

/// As ssyevd_, double precision.
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a,
             const int *lda, double *w, double *work, const int *lwork,
             int *iwork, const int *liwork, int *info);

#endif
