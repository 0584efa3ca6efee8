/* layout.c - reshape and permute of a sample's dimensions (Keras Reshape and Permute,
 * PyTorch's view and permute), as a CNN needs them: a Dense(7*7*256) reshaped to an image
 * (256,7,7) in a generator, ConvNeXt's (C,H,W) -> (H,W,C) around a LayerNorm and back.
 *
 * Shapes are per sample and channels first, rank 1 to 3: (c), (c,w) stored with h = 1,
 * (c,h,w). A permuted (H,W,C) tensor is an ordinary rank-3 shape whose "channels" are H.
 * reshape: on_attrs.dims[0..ndims) is the target shape, one entry may be -1 (inferred);
 * the values keep their order in memory. permute: output dimension i is input dimension
 * perm[i] of the sample (0-based, the batch axis not counted): (1,2,0) is (C,H,W) ->
 * (H,W,C), (2,0,1) the way back; a rank-2 input uses perm[0..1].
 */
#include "op.h"

#include <string.h>

/* The sample's dimensions as an array: rank 3 (c,h,w), rank 2 (c,w), rank 1 (c). */
static int dims_of(on_shape s, int d[3]) {
    d[0] = s.c;
    d[1] = s.rank == 3 ? s.h : s.w;
    d[2] = s.w;
    return s.rank;
}

static on_shape shape_of(const int *d, int rank) {
    on_shape s = {rank, d[0], 1, 1};
    if (rank == 2) s.w = d[1];
    if (rank == 3) s.h = d[1], s.w = d[2];
    return s;
}

static int reshape_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->ndims < 1 || a->ndims > 3)
        return on_fail(err, "needs a target shape of 1 to 3 dimensions, got %d", a->ndims);
    int d[3], infer = -1;
    long known = 1;
    for (int i = 0; i < a->ndims; i++) {
        d[i] = a->dims[i];
        if (d[i] == -1 && infer < 0)
            infer = i;
        else if (d[i] < 1)
            return on_fail(err, "bad target dimension %d (positive, or one -1)", d[i]);
        else
            known *= d[i];
        if (known > (1L << 28)) return on_fail(err, "target shape too large");
    }
    long size = (long)on_shape_size(xs);
    if (infer >= 0) {
        if (size % known) goto mismatch;
        d[infer] = (int)(size / known);
        known = size;
    }
    if (known != size) goto mismatch;
    *ys = shape_of(d, a->ndims);
    return 0;
mismatch:;
    char sx[48];
    return on_fail(err, "cannot reshape %s (%ld values) to a shape of %ld values",
                   on_shape_str(xs, sx, sizeof sx), size, known);
}

/* Reshaping keeps each channel's block of memory when the channel count stays. */
static unsigned reshape_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    on_shape ys;
    unsigned props = ON_PROP_RESHAPE;
    if (!reshape_shape(a, xs, &ys, NULL) && ys.c == xs.c) props |= ON_PROP_KEEPS_CHANNELS;
    return props;
}

const on_op on_op_reshape = {.name = "reshape",
                             .title = "reshape",
                             .props = ON_PROP_RESHAPE,
                             .ninputs = 1,
                             .defaults = {.ndims = 1, .dims = {-1, 1, 1}},
                             .args = "shape",
                             .props_of = reshape_props_of,
                             .in_place = ON_IN_PLACE_VIEW,
                             .shape = reshape_shape,
                             .forward = on_copy_fwd,
                             .backward = on_copy_bwd,
                             .cost = on_copy_cost};

static int permute_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    int d[3], o[3] = {1, 1, 1}, r = dims_of(xs, d), seen = 0;
    for (int i = 0; i < r; i++) {
        int k = a->perm[i];
        if (k < 0 || k >= r || (seen >> k & 1))
            return on_fail(err,
                           "perm (%d,%d,%d) is not a permutation of the %d dimensions of a "
                           "sample",
                           a->perm[0], a->perm[1], a->perm[2], r);
        seen |= 1 << k;
        o[i] = d[k];
    }
    *ys = shape_of(o, r);
    return 0;
}

/* x (N, d0, d1, d2) -> y (N, d[perm0], d[perm1], d[perm2]); backward the inverse. */
static void permute_run(const on_call *c, int backward) {
    int d[3] = {1, 1, 1}, r = dims_of(c->xs, d), st[3] = {0, 0, 0};
    st[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--) st[i] = st[i + 1] * d[i + 1];
    int o[3] = {1, 1, 1}, s[3] = {0, 0, 0}; /* output dims, and their input strides */
    for (int i = 0; i < r; i++) o[i] = d[c->a->perm[i]], s[i] = st[c->a->perm[i]];
    size_t per = on_shape_size(c->xs);
    if (backward && !c->dx) return;
    for (int n = 0; n < c->n; n++) {
        const float *x = backward ? c->dy + n * per : c->x + n * per;
        float *y = backward ? c->dx + n * per : c->y + n * per;
        size_t k = 0;
        for (int i = 0; i < o[0]; i++)
            for (int j = 0; j < o[1]; j++)
                for (int l = 0; l < o[2]; l++, k++) {
                    size_t src = (size_t)i * s[0] + (size_t)j * s[1] + (size_t)l * s[2];
                    if (backward)
                        y[src] = x[k];
                    else
                        y[k] = x[src];
                }
    }
}

static void permute_fwd(const on_call *c) {
    permute_run(c, 0);
}
static void permute_bwd(const on_call *c) {
    permute_run(c, 1);
}

static unsigned permute_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    int r = xs.rank, moved = 0;
    for (int i = 0; i < r; i++) moved |= a->perm[i] != i;
    return ON_PROP_RESHAPE | (moved ? ON_PROP_REORDERS : 0) |
           (a->perm[0] == 0 ? ON_PROP_KEEPS_CHANNELS : 0);
}

const on_op on_op_permute = {.name = "permute",
                             .title = "permute dimensions",
                             .props = ON_PROP_RESHAPE | ON_PROP_REORDERS,
                             .ninputs = 1,
                             .defaults = {.perm = {0, 1, 2}},
                             .args = "perm",
                             .props_of = permute_props_of,
                             .shape = permute_shape,
                             .forward = permute_fwd,
                             .backward = permute_bwd,
                             .cost = on_copy_cost};
