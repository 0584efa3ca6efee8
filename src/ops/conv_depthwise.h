/* conv_depthwise.h - depthwise convolution (groups = input channels, each channel its own
 * kh x kw filters, F = C x multiplier), summed directly in vector registers for any
 * kernel, stride, padding and dilation; conv.c picks it where it applies. */
#ifndef ON_CONV_DEPTHWISE_H
#define ON_CONV_DEPTHWISE_H

#include "geom.h"

int on_conv_dw_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_dw_tmp(const on_attrs *a, const on_geom *g, int threads);
void on_conv_dw_forward(const on_call *c, const on_geom *g);
void on_conv_dw_backward(const on_call *c, const on_geom *g);

#endif
