/* shape_ops.c - ops that move values without parameters: flatten, and the copy it shares
 * with reshape (layout.c). */
#include "op.h"

#include <string.h>

static int flatten_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    (void)a;
    (void)err;
    *ys = (on_shape){.rank = 1, .c = (int)on_shape_size(xs), .h = 1, .w = 1};
    return 0;
}

/* Channels-first order (C,H,W), as PyTorch's nn.Flatten: the values as they are, so
 * flatten (and reshape, layout.c) is a view of its input (ON_IN_PLACE_VIEW) wherever
 * graph.c can make it one, and copies only where it cannot. */
void on_copy_fwd(const on_call *c) {
    if (c->y != c->x) memcpy(c->y, c->x, sizeof(float) * c->n * on_shape_size(c->xs));
}
void on_copy_bwd(const on_call *c) {
    if (c->dx && c->dx != c->dy) memcpy(c->dx, c->dy, sizeof(float) * c->n * on_shape_size(c->xs));
}

on_cost on_copy_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 0);
}

const on_op on_op_flatten = {.name = "flatten",
                             .title = "flatten",
                             .ninputs = 1,
                             .props = ON_PROP_RESHAPE,
                             .in_place = ON_IN_PLACE_VIEW,
                             .shape = flatten_shape,
                             .forward = on_copy_fwd,
                             .backward = on_copy_bwd,
                             .cost = on_copy_cost};
