/* shape_ops.c - ops that move or combine values without parameters: flatten and the
 * residual add. */
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

/* The graph checks that both inputs have the same shape before calling shape(). */
static int add_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    (void)a;
    (void)err;
    *ys = xs;
    return 0;
}

static void add_fwd(const on_call *c) {
    size_t total = (size_t)c->n * on_shape_size(c->xs);
#pragma omp parallel for schedule(static) num_threads(c->threads) if (total > ON_PAR_MIN)
    for (size_t i = 0; i < total; i++) c->y[i] = c->x[i] + c->x2[i];
}

static void add_bwd(const on_call *c) {
    size_t bytes = sizeof(float) * c->n * on_shape_size(c->xs);
    if (c->dx) memcpy(c->dx, c->dy, bytes);
    if (c->dx2) memcpy(c->dx2, c->dy, bytes);
}

static on_cost add_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    on_cost k = on_cost_elementwise(xs, 1);
    k.bytes_fwd *= 1.5;
    return k;
}

const on_op on_op_add = {.name = "add",
                         .title = "residual add",
                         .ninputs = 2,
                         .shape = add_shape,
                         .forward = add_fwd,
                         .backward = add_bwd,
                         .cost = add_cost};
