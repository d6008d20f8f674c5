// LatentLab's AVX2 kernels (each function checks nothing about the CPU: callers test
// latentlab_conv_kernels_available() first).
#ifndef LATENTLAB_CKERNELS_H
#define LATENTLAB_CKERNELS_H

#include "activation_kernels.h"
#include "conv_kernels.h"
#include "tsne_kernels.h"

#endif
