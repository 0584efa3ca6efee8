/* input_part.c - one Input of a model with several (a Keras Model(inputs=[left, right])).
 *
 * The graph has one input, node 0; a model with several Inputs packs them into it, one
 * after another in the order of the Model's inputs list, each flat. Each Input is then an
 * input_part node fed by node 0: it copies its values, from on_attrs.pad[0] ("start"), into
 * its own shape, on_attrs.dims[0..ndims) ("shape", channels first as reshape's; (-1): the
 * rest of the packed sample, flat). Backward adds nothing twice: each part owns its own
 * slice of the input's gradient, and the rest of that gradient is zero (parts never
 * overlap, and the slices no part reads get no gradient).
 */
#include "op.h"

#include <string.h>

static on_shape part_of(const on_attrs *a, long rest) {
    on_shape s = {a->ndims, a->dims[0], 1, 1};
    if (a->ndims == 1 && a->dims[0] == -1) s.c = (int)rest;
    if (a->ndims == 2) s.w = a->dims[1];
    if (a->ndims == 3) s.h = a->dims[1], s.w = a->dims[2];
    return s;
}

static int part_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    long size = (long)on_shape_size(xs), start = a->pad[0];
    if (a->ndims < 1 || a->ndims > 3)
        return on_fail(err, "needs a shape of 1 to 3 dimensions, got %d", a->ndims);
    if (start < 0 || start >= size)
        return on_fail(err, "start %ld is outside the packed input of %ld values", start, size);
    int whole = a->ndims == 1 && a->dims[0] == -1;
    long n = 1;
    for (int i = 0; !whole && i < a->ndims; i++) {
        if (a->dims[i] < 1 || a->dims[i] > (1 << 28))
            return on_fail(err, "bad dimension %d in its shape", a->dims[i]);
        n *= a->dims[i];
        if (n > (1L << 28)) return on_fail(err, "its shape is too large");
    }
    if (!whole && start + n > size)
        return on_fail(err, "values %ld..%ld are outside the packed input of %ld values", start,
                       start + n - 1, size);
    *ys = part_of(a, size - start);
    return 0;
}

static void part_fwd(const on_call *c) {
    size_t in = on_shape_size(c->xs), out = on_shape_size(c->ys), s0 = (size_t)c->a->pad[0];
    for (int n = 0; n < c->n; n++)
        memcpy(c->y + (size_t)n * out, c->x + (size_t)n * in + s0, sizeof(float) * out);
}

/* dx is overwritten: zero outside this part's slice. With several parts the graph adds
 * their gradients into node 0's (dx_add), so each part writes its whole sample. */
static void part_bwd(const on_call *c) {
    if (!c->dx) return;
    size_t in = on_shape_size(c->xs), out = on_shape_size(c->ys), s0 = (size_t)c->a->pad[0];
    memset(c->dx, 0, sizeof(float) * in * (size_t)c->n);
    for (int n = 0; n < c->n; n++)
        memcpy(c->dx + (size_t)n * in + s0, c->dy + (size_t)n * out, sizeof(float) * out);
}

static on_cost part_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)xs;
    return on_cost_elementwise(ys, 0);
}

const on_op on_op_input_part = {.name = "input_part",
                                .title = "one Input of several",
                                .ninputs = 1,
                                .defaults = {.ndims = 1, .dims = {-1, 1, 1}},
                                .args = "shape start",
                                .shape = part_shape,
                                .forward = part_fwd,
                                .backward = part_bwd,
                                .cost = part_cost};
