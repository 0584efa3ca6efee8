/* conv_wino4.h - the inference forward of 3x3 stride-1 convolutions by Winograd's
 * F(4x4, 3x3); conv.c picks it where on_conv_wino4_use says so, F(2x2, 3x3)
 * (conv_winograd.h) or im2col elsewhere and in training. */
#ifndef ON_CONV_WINO4_H
#define ON_CONV_WINO4_H

#include "geom.h"

/* Whether the forward of n samples takes F(4x4): inference only (train = 0), a Winograd
 * shape (on_conv_wino_apply) with enough tiles and channels, unless on_conv_variant turns
 * it off (ON_CONV_NO_WINO4, ON_CONV_NO_WINO) or on for every Winograd shape
 * (ON_CONV_WINO4_ALL, which needs the model compiled with ON_CONV_AB). */
int on_conv_wino4_use(const on_attrs *a, const on_geom *g, int channels, int train);
/* Whether the compiled model must have room for it (scratch and saved memory): where the
 * default rule picks it, or for every Winograd shape while ON_CONV_AB is set. */
int on_conv_wino4_may(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_wino4_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
/* Its saved memory (U and the weights it was made from), kept after F(2x2)'s (offset). */
size_t on_conv_wino4_saved(const on_attrs *a, int channels);
void on_conv_wino4_forward(const on_call *c, const on_geom *g, size_t offset);

/* The 36 blocks V[xi] (C ld floats) or M[xi] (F ld) are written (read) together, 8 floats
 * from each: with C ld a multiple of 1024 floats (64 channels, ld 64) all 36 streams fall in
 * the same few L1 sets and evict each other (48-tile chunks at 56x56 were 25% slower than 32
 * or 96). An odd number of 64-byte lines apart, they spread over all sets. */
static inline size_t on_wino4_stride(size_t n) {
    n = (n + 15) / 16 * 16;
    return n / 16 % 2 ? n : n + 16;
}

/* u[xi] = (G g G^T)[xi] for one 3x3 kernel g, in double and rounded once (conv_wino4.c's
 * points); conv_wino4c.c makes its U^T by it too. */
void on_wino4_kernel(const float *g, float u[36]);

/* The transforms' steps on vectors (vf, op.h), shared with conv_wino4c.c so that both give
 * the same bits: */
/* B^T (the points above) applied to six vectors d0..d5 (one column or row of patches), into o[0..5]
 */
#define ON_WINO4_BT6(o, d0, d1, d2, d3, d4, d5)                                                    \
    do {                                                                                           \
        vf e_ = (d3) - (d1), f_ = (d4) - (d2);                                                     \
        (o)[0] = ((d0) - (d2)) + f_ + 1.5f * e_;                                                   \
        (o)[1] = f_ + e_ + 1.5f * ((d2) + (d3));                                                   \
        (o)[2] = f_ - e_ + 1.5f * ((d3) - (d2));                                                   \
        (o)[3] = f_ + 2.0f * e_;                                                                   \
        (o)[4] = f_ - 0.5f * e_;                                                                   \
        (o)[5] = ((d5) - (d3)) - e_ + 1.5f * f_;                                                   \
    } while (0)

/* A^T applied to six vectors m0..m5, into o[0..3] */
#define ON_WINO4_AT6(o, m0, m1, m2, m3, m4, m5)                                                    \
    do {                                                                                           \
        __typeof__((m1) + (m2)) a_ = (m1) + (m2), b_ = (m1) - (m2);                                \
        (o)[0] = (m0) + a_ + ((m3) + (m4));                                                        \
        (o)[1] = b_ + (0.5f * (m3)-2.0f * (m4));                                                   \
        (o)[2] = a_ + (0.25f * (m3) + 4.0f * (m4));                                                \
        (o)[3] = b_ + (0.125f * (m3)-8.0f * (m4)) + (m5);                                          \
    } while (0)

#endif
