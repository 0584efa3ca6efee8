/* channel_ops.c - ops that pick or reorder whole channels: ShuffleNet's channel shuffle and
 * the channel slice of its x.chunk(2, dim=1) (ONNX Split / Slice along axis 1).
 *
 * channel_shuffle (on_attrs.groups = g, dividing the C channels): the channels seen as a
 * g x (C/g) matrix are transposed, as PyTorch's x.view(N, g, C/g, H, W).transpose(1, 2)
 * .reshape(N, C, H, W): input channel i (C/g) + j becomes output channel j g + i. It only
 * moves whole channels, so it commutes exactly with every elementwise op that treats all
 * channels alike (ON_PROP_RESHAPE | ON_PROP_REORDERS, not ON_PROP_KEEPS_CHANNELS: a
 * per-channel op must have its parameters permuted to move across it).
 *
 * channel_slice (on_attrs.pad[0] = the first channel kept, on_attrs.units = how many):
 * output channel c is input channel pad[0] + c. It drops values, so it declares no
 * property. Both work on samples of any rank (channels first).
 */
#include "op.h"

#include <string.h>

/* Values per channel of a per-sample shape. */
static size_t plane(on_shape s) {
    return on_shape_size(s) / (size_t)s.c;
}

static int shuffle_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->groups < 1 || xs.c % a->groups)
        return on_fail(err, "groups=%d must divide the %d channels", a->groups, xs.c);
    *ys = xs;
    return 0;
}

/* out[j g + i] = in[i (C/g) + j], for the channel planes of n samples; inverse: the other way. */
static void shuffle_run(const float *in, float *out, const on_call *c, int inverse) {
    int C = c->xs.c, g = c->a->groups, k = C / g;
    size_t P = plane(c->xs);
    for (int s = 0; s < c->n; s++)
        for (int i = 0; i < g; i++)
            for (int j = 0; j < k; j++) {
                size_t src = (size_t)i * k + j, dst = (size_t)j * g + i;
                if (inverse) {
                    size_t t = src;
                    src = dst;
                    dst = t;
                }
                memcpy(out + ((size_t)s * C + dst) * P, in + ((size_t)s * C + src) * P,
                       sizeof(float) * P);
            }
}

static void shuffle_fwd(const on_call *c) {
    shuffle_run(c->x, c->y, c, 0);
}
static void shuffle_bwd(const on_call *c) {
    if (c->dx) shuffle_run(c->dy, c->dx, c, 1);
}

static int slice_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->pad[0] < 0 || a->units < 1 || a->pad[0] > xs.c - a->units)
        return on_fail(err, "channels %d to %d are not among the input's %d", a->pad[0],
                       a->pad[0] + a->units - 1, xs.c);
    *ys = xs;
    ys->c = a->units;
    return 0;
}

static void slice_fwd(const on_call *c) {
    size_t P = plane(c->xs), in = (size_t)c->xs.c * P, out = (size_t)c->ys.c * P;
    for (int s = 0; s < c->n; s++)
        memcpy(c->y + s * out, c->x + s * in + (size_t)c->a->pad[0] * P, sizeof(float) * out);
}

static void slice_bwd(const on_call *c) {
    if (!c->dx) return;
    size_t P = plane(c->xs), in = (size_t)c->xs.c * P, out = (size_t)c->ys.c * P;
    memset(c->dx, 0, sizeof(float) * in * (size_t)c->n);
    for (int s = 0; s < c->n; s++)
        memcpy(c->dx + s * in + (size_t)c->a->pad[0] * P, c->dy + s * out, sizeof(float) * out);
}

static on_cost move_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    double in = (double)on_shape_size(xs), out = (double)on_shape_size(ys);
    return (on_cost){.bytes_fwd = 4 * (in + out), .bytes_bwd = 4 * (in + out)};
}

const on_op on_op_channel_shuffle = {.name = "channel_shuffle",
                                     .title = "channel shuffle (ShuffleNet)",
                                     .props = ON_PROP_RESHAPE | ON_PROP_REORDERS,
                                     .ninputs = 1,
                                     .defaults = {.groups = 1},
                                     .args = "groups",
                                     .shape = shuffle_shape,
                                     .forward = shuffle_fwd,
                                     .backward = shuffle_bwd,
                                     .cost = move_cost};

const on_op on_op_channel_slice = {.name = "channel_slice",
                                   .title = "channel slice",
                                   .ninputs = 1,
                                   .defaults = {.units = 1},
                                   .args = "start units",
                                   .shape = slice_shape,
                                   .forward = slice_fwd,
                                   .backward = slice_bwd,
                                   .cost = move_cost};
