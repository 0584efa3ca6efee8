/* shape_ops.c - ops that move values without parameters: flatten. */
#include "op.h"

#include <string.h>

static int flatten_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    (void)a;
    (void)err;
    *ys = (on_shape){.rank = 1, .c = (int)on_shape_size(xs), .h = 1, .w = 1};
    return 0;
}

/* Channels-first order (C,H,W), as PyTorch's nn.Flatten. */
static void flatten_fwd(const on_call *c) {
    memcpy(c->y, c->x, sizeof(float) * c->n * on_shape_size(c->xs));
}
static void flatten_bwd(const on_call *c) {
    if (c->dx) memcpy(c->dx, c->dy, sizeof(float) * c->n * on_shape_size(c->xs));
}

static on_cost copy_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 0);
}

const on_op on_op_flatten = {.name = "flatten",
                             .title = "flatten",
                             .ninputs = 1,
                             .props = ON_PROP_RESHAPE,
                             .shape = flatten_shape,
                             .forward = flatten_fwd,
                             .backward = flatten_bwd,
                             .cost = copy_cost};
