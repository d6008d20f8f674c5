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

// OpenBLAS's thread server. Debian's pthread build starts its worker threads when the library
// loads, and an idle worker spins (sched_yield) for OpenBLAS's thread timeout before it
// sleeps: measured, one spinning worker took a core for up to ~0.2 s after each LatentLab
// process started, against the process's own threads. LatentLab keeps BLAS at one thread, so
// it stops the server once configured. Looked up at run time, because the serial build
// (libopenblas0-serial) has no server: there both calls do nothing.
#include <dlfcn.h>

// Stops OpenBLAS's worker threads (its `blas_thread_shutdown_`); 0 when they were stopped,
// -1 when this OpenBLAS has no thread server. With one thread set, no later call starts them.
static inline int latentlab_openblas_stop_threads(void) {
  int (*shutdown)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "blas_thread_shutdown_");
  return shutdown ? shutdown() : -1;
}

// 1 while OpenBLAS's thread server runs (its `blas_server_avail`), else 0.
static inline int latentlab_openblas_threads_running(void) {
  const int *available = (const int *)dlsym(RTLD_DEFAULT, "blas_server_avail");
  return available ? *available : 0;
}
