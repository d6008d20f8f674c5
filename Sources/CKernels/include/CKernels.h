// LatentLab's AVX2 kernels. The convolution and activation kernels check nothing about the
// CPU: callers test latentlab_avx2_fma_available() first and pass it to the t-SNE kernel.
#ifndef LATENTLAB_CKERNELS_H
#define LATENTLAB_CKERNELS_H

#include "activation_kernels.h"
#include "cpu_features.h"
#include "float_environment.h"
#include "conv_kernels.h"
#include "optimizer_kernels.h"
#include "tsne_kernels.h"
#include "fft_kernels.h"
#include "knn_kernels.h"
#include "knn_tree_kernels.h"
#include "tsne_grid_kernels.h"
#include "dense_kernels.h"
#include "loss_kernels.h"
#include "affinity_kernels.h"

#endif
