// The dense layers' product kernel (Sources/CKernels/dense_kernels.c) against OpenBLAS (pinned
// to Haswell, what the dense layers ran before), shape by shape, and its two widths bit for bit.
// Build: clang -O2 scripts/bench-dense-kernel.c Sources/CKernels/dense_kernels.c \
//   -ISources/CKernels/include -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lm
// Run: OPENBLAS_CORETYPE=Haswell ./a.out
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <cblas.h>
#include "dense_kernels.h"
static double now(){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
int main(){
  openblas_set_num_threads(1);
  int shapes[][4] = {{0,32,69,512},{1,32,512,69},{2,69,512,250},{0,32,6,69},{0,32,69,6},{1,32,69,6},{2,6,69,250}};
  for (int s=0;s<7;s++){
    int kind=shapes[s][0], m=shapes[s][1], n=shapes[s][2], k=shapes[s][3];
    float *A=malloc(4*m*k+64), *B=malloc(4*k*n+64), *C1=malloc(4*m*n), *C2=malloc(4*m*n), *C3=malloc(4*m*n), *BT=malloc(4*k*n);
    for(int i=0;i<m*k;i++)A[i]=rand()/(float)RAND_MAX-.5f;
    for(int i=0;i<k*n;i++)B[i]=rand()/(float)RAND_MAX-.5f;
    // kind 0: forward NT: C = A(m×k) · W^T, W is n×k  -> B holds W (n×k); ours uses BT = W^T (k×n)
    // kind 1: NN: C = A(m×k) · B(k×n)
    // kind 2: TN: C = A^T · B, A is k×m
    int reps = 2000; double t0,t1,t2; 
    for (int round=0; round<2; round++){
    t0=now();
    for(int r=0;r<reps;r++){
      if(kind==0) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,A,k,B,k,0,C1,n);
      if(kind==1) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,m,n,k,1,A,k,B,n,0,C1,n);
      if(kind==2) cblas_sgemm(CblasRowMajor,CblasTrans,CblasNoTrans,m,n,k,1,A,m,B,n,0,C1,n);
    }
    t1=now();
    for(int isa=2; isa>=1; isa--){
    double ta=now();
    for(int r=0;r<reps;r++){
      float *C = isa==2?C2:C3;
      if(kind==0){ if(r%8==0) latentlab_transpose(B,n,k,BT); latentlab_dense_product(A,k,1,BT,n,C,n,m,n,k,0,isa);}
      if(kind==1) latentlab_dense_product(A,k,1,B,n,C,n,m,n,k,0,isa);
      if(kind==2) latentlab_dense_product(A,1,m,B,n,C,n,m,n,k,0,isa);
    }
    double tb=now();
    if (round==1) printf("kind %d m=%d n=%d k=%d: openblas %.2f us, ours isa%d %.2f us\n",kind,m,n,k,(t1-t0)/reps*1e6,isa,(tb-ta)/reps*1e6);
    }}
    int same=0, close=0; for(int i=0;i<m*n;i++){ same += memcmp(&C2[i],&C3[i],4)==0; close += fabsf(C1[i]-C2[i]) < 1e-4f*(1+fabsf(C1[i]));}
    printf("   avx512==avx2 %d/%d, close to blas %d\n", same, m*n, close);
  }
}
