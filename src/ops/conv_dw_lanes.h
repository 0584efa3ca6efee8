/* conv_dw_lanes.h - the depthwise convolution's forward with 8 channels in a vector's lanes
 * (conv_depthwise.c takes it where it applies, unless ON_CONV_NO_DW_LANES). */
#ifndef ON_CONV_DW_LANES_H
#define ON_CONV_DW_LANES_H

#include "geom.h"

int on_conv_dw_lanes_apply(const on_attrs *a, const on_geom *g, int channels);
size_t on_conv_dw_lanes_tmp(const on_attrs *a, const on_geom *g, int threads);
void on_conv_dw_lanes_forward(const on_call *c, const on_geom *g);

#endif
