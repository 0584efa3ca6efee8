/* conv_taps.h - stride-1 convolution as one product per kernel tap over a padded copy of
 * the input (no im2col matrix); conv.c picks it where it applies. */
#ifndef ON_CONV_TAPS_H
#define ON_CONV_TAPS_H

#include "geom.h"

/* A stride-1, dilation-1 kernel of more than one tap whose output covers the whole padded
 * input: the padded-grid kernels (taps, Winograd, direct) apply. */
int on_conv_grid_fits(const on_attrs *a, const on_geom *g);
/* One filter's output from its padded grid (rows Wp apart, valid columns [0, Q)): y = the
 * valid columns + bias, P rows of Q. */
static inline void on_conv_grid_out(const float *grid, int Wp, int P, int Q, float bias, float *y) {
    for (int p = 0; p < P; p++) {
        const float *src = grid + (size_t)p * Wp;
        float *dst = y + (size_t)p * Q;
#pragma omp simd
        for (int q = 0; q < Q; q++) dst[q] = src[q] + bias;
    }
}
int on_conv_taps_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_taps_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
void on_conv_taps_forward(const on_call *c, const on_geom *g);
void on_conv_taps_backward(const on_call *c, const on_geom *g);

#endif
