/* conv_transpose.h - the geometry of a transposed convolution, for the ONNX writer. */
#ifndef ON_CONV_TRANSPOSE_H
#define ON_CONV_TRANSPOSE_H

#include "geom.h"

/* For input xs: g->h, g->w the output size, g->pt/pb/pl/pr the padding taken off the full
 * output (resolved for 'same'), g->p, g->q the input size. err may be NULL. */
int on_conv_t_geom(const on_attrs *a, on_shape xs, on_geom *g, on_error *err);

#endif
