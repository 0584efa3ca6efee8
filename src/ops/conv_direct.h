/* conv_direct.h - convolution with 1-3 input channels, summed directly in vector registers
 * (no sgemm): at stride 1 (conv_direct.c), and the forward at stride 2 (conv_direct2.c);
 * conv.c picks them where they apply. */
#ifndef ON_CONV_DIRECT_H
#define ON_CONV_DIRECT_H

#include "geom.h"

int on_conv_direct_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_direct_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
/* Can the forward take a 2x2 max-pool after it into its stores (on_call's pool2, then the
 * clamp in them too)? On widths of 16 or more: by the AVX-512 kernel where it runs and the
 * width is even, else from the sums on the grid (conv_direct.c's pool_grid). */
int on_conv_direct_pools(const on_attrs *a, const on_geom *g, int channels);
void on_conv_direct_forward(const on_call *c, const on_geom *g);
void on_conv_direct_backward(const on_call *c, const on_geom *g);

int on_conv_direct2_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_direct2_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
void on_conv_direct2_forward(const on_call *c, const on_geom *g);

#endif
