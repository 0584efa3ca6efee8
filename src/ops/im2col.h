/* im2col.h - the im2col matrix of a convolution and its adjoint (col2im), shared by
 * convolution (conv.c: forward im2col, input gradient col2im) and transposed convolution
 * (conv_transpose.c: the other way round). */
#ifndef ON_IM2COL_H
#define ON_IM2COL_H

#include "geom.h"

/* The output columns q in [q0, q1) whose input column q*sw + off is inside [0, w). */
void on_valid_cols(int off, int sw, int w, int Q, int *q0, int *q1);

/* x (C,H,W) -> col (K, (p1-p0)*Q): rows [k0, k1) of the matrix (row k = (ci * kh + ky) *
 * kw + kx) for output rows [p0, p1); g is the geometry of the convolution that reads x. */
void on_im2col(const float *x, const on_attrs *a, const on_geom *g, int k0, int k1, int p0, int p1,
               float *col);

/* The same with the matrix's rows ld floats apart (several samples side by side). */
void on_im2col_ld(const float *x, const on_attrs *a, const on_geom *g, int k0, int k1, int p0,
                  int p1, float *col, size_t ld);

/* col (c*kh*kw, (p1-p0)*Q) for output rows [p0, p1) -> ADDED into dx (c,H,W), overlapping
 * windows accumulating. */
void on_col2im(const float *col, const on_attrs *a, const on_geom *g, int c, int p0, int p1,
               float *dx);

/* The number of output rows per im2col chunk: about 256 KB of matrix (in L2 while the
 * product reads it) for K rows of the matrix and Q columns per output row, 1 to P. */
int on_im2col_chunk_rows(int K, int P, int Q);

/* Convolution groups: 0 (not set) means 1. */
static inline int on_groups(const on_attrs *a) {
    return a->groups > 1 ? a->groups : 1;
}

#endif
