/* random_flip.c - Keras's RandomFlip: in train mode each image is flipped left-right and/or
 * top-bottom, each with probability 1/2 (on_attrs.mode: ON_FLIP_HORIZONTAL, _VERTICAL or
 * _BOTH, Keras's "horizontal", "vertical", "horizontal_and_vertical", the default); in eval
 * mode it is the identity. Images are (C,H,W) samples; every channel of an image flips the
 * same way.
 *
 * The draws are per image (augment.h): Keras draws per image too, from its own generator,
 * so the flips are not Keras's flips for the same seed, only the same distribution. A flip
 * is its own inverse and its own transpose, so the backward flips the gradient with the
 * same draws (drawn again, not stored).
 */
#include "augment.h"

#include <string.h>

static int flip_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (xs.rank != 3) return on_fail(err, "needs (C,H,W) images, got a rank-%d sample", xs.rank);
    if (a->mode < ON_FLIP_HORIZONTAL || a->mode > ON_FLIP_BOTH)
        return on_fail(err,
                       "mode must be horizontal, vertical or horizontal_and_vertical (%d, "
                       "%d, %d), got %d",
                       ON_FLIP_HORIZONTAL, ON_FLIP_VERTICAL, ON_FLIP_BOTH, a->mode);
    *ys = xs;
    return 0;
}

/* out = in flipped (rows when fv, columns when fh) for one (C,H,W) sample */
static void flip_one(const float *in, float *out, on_shape s, int fh, int fv) {
    int H = s.h, W = s.w;
    for (int ch = 0; ch < s.c; ch++) {
        const float *xc = in + (size_t)ch * H * W;
        float *yc = out + (size_t)ch * H * W;
        for (int i = 0; i < H; i++) {
            const float *xr = xc + (size_t)(fv ? H - 1 - i : i) * W;
            float *yr = yc + (size_t)i * W;
            if (fh)
                for (int j = 0; j < W; j++) yr[j] = xr[W - 1 - j];
            else
                memcpy(yr, xr, sizeof(float) * (size_t)W);
        }
    }
}

/* in -> out over the batch, each sample with its draw; train-mode forward and backward */
static void flip_apply(const on_call *c, const float *in, float *out) {
    size_t S = on_shape_size(c->xs);
    if (!c->train) {
        if (out != in) memcpy(out, in, sizeof(float) * S * (size_t)c->n);
        return;
    }
    uint64_t key = aug_key(c);
    int mode = c->a->mode;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (S * c->n > ON_PAR_MIN)
    for (int s = 0; s < c->n; s++) {
        int fh = (mode & ON_FLIP_HORIZONTAL) && aug_uniform(key, c, s, 0) < 0.5f;
        int fv = (mode & ON_FLIP_VERTICAL) && aug_uniform(key, c, s, 1) < 0.5f;
        flip_one(in + (size_t)s * S, out + (size_t)s * S, c->xs, fh, fv);
    }
}

static void flip_forward(const on_call *c) {
    flip_apply(c, c->x, c->y);
}
static void flip_backward(const on_call *c) {
    if (c->dx) flip_apply(c, c->dy, c->dx);
}

static on_cost flip_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 0); /* moves only (train mode; eval mode copies) */
}

const on_op on_op_random_flip = {.name = "random_flip",
                                 .title = "random flip (training only)",
                                 .props = ON_PROP_AUGMENT | ON_PROP_AUG_PERMUTES,
                                 .ninputs = 1,
                                 .spatial = 3,
                                 .defaults = {.mode = ON_FLIP_BOTH},
                                 .args = "mode seed",
                                 .shape = flip_shape,
                                 .forward = flip_forward,
                                 .backward = flip_backward,
                                 .cost = flip_cost};
