/* conv_winograd.h - 3x3 stride-1 convolution by Winograd's F(2x2, 3x3); conv.c picks it
 * where it applies. */
#ifndef ON_CONV_WINOGRAD_H
#define ON_CONV_WINOGRAD_H

#include "geom.h"

int on_conv_wino_apply(const on_attrs *a, const on_geom *g, int channels);
/* n: the batch the model is compiled for */
size_t on_conv_wino_tmp(const on_attrs *a, const on_geom *g, int channels, int n, int threads);
size_t on_conv_wino_saved(const on_attrs *a, int channels);
void on_conv_wino_forward(const on_call *c, const on_geom *g);
/* C (m x n) = A . B (+ C if acc) for the Winograd kernels: gemm.c's on_gemm over nv >= n
 * columns (where C and B have spare ones past n), or OpenBLAS over n where on_conv_variant
 * has ON_CONV_BLAS_PRODUCTS (A/B and tests); A read as in gemm.h, with ars or acs 1. */
void on_wino_product(int m, int n, int nv, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc);
void on_conv_wino_backward(const on_call *c, const on_geom *g);

#endif
