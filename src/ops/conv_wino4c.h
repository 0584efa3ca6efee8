/* conv_wino4c.h - the inference forward of 3x3 stride-1 convolutions on small images by
 * Winograd F(4x4, 3x3) with channels in the vector lanes (conv_wino4c.c). */
#ifndef ON_CONV_WINO4C_H
#define ON_CONV_WINO4C_H

#include "geom.h"

/* Whether the model must have room for it (scratch and saved memory): a Winograd shape of at
 * most 16 tiles (16x16 outputs), 32 or more channels in, 16 or more out, at most 8192 of
 * them multiplied (conv_wino4c.c's rule). */
int on_conv_wino4c_may(const on_attrs *a, const on_geom *g, int channels);
/* Whether a forward takes it: inference (train = 0) where the rule says so, unless
 * on_conv_variant has ON_CONV_NO_WINO4C or ON_CONV_NO_WINO. The choice depends on the shape
 * alone (not the batch or the threads), so a sample's outputs do not either. */
int on_conv_wino4c_use(const on_attrs *a, const on_geom *g, int channels, int train);
size_t on_conv_wino4c_tmp(const on_attrs *a, const on_geom *g, int channels, int threads);
/* Its saved memory (U^T and the weights it was made from), kept at offset in the node's */
size_t on_conv_wino4c_saved(const on_attrs *a, int channels);
void on_conv_wino4c_forward(const on_call *c, const on_geom *g, size_t offset);

#endif
