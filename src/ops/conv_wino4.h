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

#endif
