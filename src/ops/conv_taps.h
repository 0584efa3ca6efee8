/* conv_taps.h - stride-1 convolution as one product per kernel tap over a padded copy of
 * the input (no im2col matrix); conv.c picks it where it applies. */
#ifndef ON_CONV_TAPS_H
#define ON_CONV_TAPS_H

#include "geom.h"

int on_conv_taps_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_taps_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
void on_conv_taps_forward(const on_call *c, const on_geom *g);
void on_conv_taps_backward(const on_call *c, const on_geom *g);

#endif
