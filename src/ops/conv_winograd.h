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

/* r[i] lane j -> r[j] lane i: eight vectors of eight floats transposed in registers */
static inline __attribute__((always_inline)) void on_transpose8(vf r[8]) {
#define LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define HI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
    vf t0 = LO(r[0], r[1]), t1 = HI(r[0], r[1]), t2 = LO(r[2], r[3]), t3 = HI(r[2], r[3]);
    vf t4 = LO(r[4], r[5]), t5 = HI(r[4], r[5]), t6 = LO(r[6], r[7]), t7 = HI(r[6], r[7]);
#undef LO
#undef HI
#define LO(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define HI(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
    vf u0 = LO(t0, t2), u1 = HI(t0, t2), u2 = LO(t1, t3), u3 = HI(t1, t3);
    vf u4 = LO(t4, t6), u5 = HI(t4, t6), u6 = LO(t5, t7), u7 = HI(t5, t7);
#undef LO
#undef HI
#define LO(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define HI(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)
    r[0] = LO(u0, u4);
    r[1] = LO(u1, u5);
    r[2] = LO(u2, u6);
    r[3] = LO(u3, u7);
    r[4] = HI(u0, u4);
    r[5] = HI(u1, u5);
    r[6] = HI(u2, u6);
    r[7] = HI(u3, u7);
#undef LO
#undef HI
}

/* v = the first of a, b where both are numbers (a on ties: -0 before +0 stays -0), else a
 * NaN (all ones): pool.c's first_max, lane by lane (a macro: a vector argument or result
 * would change the calling convention between the clones) */
#define ON_FIRST_MAX(v, a, b)                                                                      \
    do {                                                                                           \
        vi take_ = (b) > (a), nan_ = ((a) != (a)) | ((b) != (b));                                  \
        (v) = (vf)((take_ & (vi)(b)) | (~take_ & (vi)(a)) | nan_);                                 \
    } while (0)

/* v = the max of a 2x2 window of vectors o[0..3] (row 0's two columns, row 1's) as pool.c's
 * 2x2 kernel reduces it in a pooled row of Qp windows: each row's pair, then the two rows;
 * in rows of fewer than 4 windows, where pool.c goes one window at a time (max4_pos), the
 * first largest element itself, a window's own NaN included. The same bits, NaNs too. */
#define ON_POOL4_MAX(v, o, Qp)                                                                     \
    do {                                                                                           \
        if ((Qp) < 4) {                                                                            \
            (v) = (o)[0];                                                                          \
            for (int k_ = 1; k_ < 4; k_++) {                                                       \
                vi take_ = ((o)[k_] > (v)) | (((o)[k_] != (o)[k_]) & ((v) == (v)));                \
                (v) = (vf)((take_ & (vi)(o)[k_]) | (~take_ & (vi)(v)));                            \
            }                                                                                      \
        } else {                                                                                   \
            vf top_, bottom_;                                                                      \
            ON_FIRST_MAX(top_, (o)[0], (o)[1]);                                                    \
            ON_FIRST_MAX(bottom_, (o)[2], (o)[3]);                                                 \
            ON_FIRST_MAX(v, top_, bottom_);                                                        \
        }                                                                                          \
    } while (0)

#endif
