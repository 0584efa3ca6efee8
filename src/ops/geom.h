/* geom.h - the sliding-window geometry shared by convolution and pooling:
 * padding resolution ('valid', Keras 'same', explicit), output size (floor or ceil, as
 * PyTorch computes it) and validation with messages that name the offending numbers. */
#ifndef ON_GEOM_H
#define ON_GEOM_H

#include "op.h"

typedef struct on_geom {
    int h, w;           /* input size */
    int p, q;           /* output size */
    int sh, sw;         /* effective stride (pooling: 0 means the window size) */
    int pt, pb, pl, pr; /* padding top, bottom, left, right */
} on_geom;

/* Fill g for a window op on input xs; conv = 1 for convolution (dilation applies,
 * stride must be given), 0 for pooling. err may be NULL when the shape was checked. */
int on_geom_make(const on_attrs *a, on_shape xs, int conv, on_geom *g, on_error *err);

#endif
