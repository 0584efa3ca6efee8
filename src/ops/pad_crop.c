/* pad_crop.c - padding and cropping of 1-D signals and images (Keras ZeroPadding1D/2D
 * and Cropping1D/2D, PyTorch's nn.ZeroPad2d, F.pad's modes, ONNX Pad, and slicing).
 *
 * Amounts are on_attrs.pad = top, bottom, left, right (1-D: left and right only; top and
 * bottom must be 0). Padding fills a border around each plane as on_attrs.mode says
 * (ON_PADFILL_*): with a constant (on_attrs.alpha; 0, the default, is zero padding), with
 * the reflection of the plane without its edge (each amount below the axis's size, as
 * PyTorch requires), or with the edge value repeated. Cropping removes rows and columns
 * from its borders and must leave at least one of each. Both only move values within a
 * channel (ON_PROP_COPIES); zero padding also adds zeros (ON_PROP_ZERO_FILL). The other
 * fills declare no property (props_of): a constant border is not a copy, and a
 * reflected or repeated border copies some values more often than others, which the
 * rules for copying layers do not expect.
 *
 * The backward of a reflected or repeated border is the adjoint of the forward: each
 * output's gradient is added to the input position it was copied from.
 */
#include "op.h"

#include <math.h>
#include <string.h>

static int amounts(const on_attrs *a, on_shape xs, on_error *err) {
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0 || a->pad[i] > (1 << 20))
            return on_fail(err, "amounts (%d,%d,%d,%d) must be in [0, 2^20]", a->pad[0], a->pad[1],
                           a->pad[2], a->pad[3]);
    if (xs.rank != 3 && (a->pad[0] || a->pad[1]))
        return on_fail(err, "a 1-D input has no top or bottom to change (amounts %d,%d)", a->pad[0],
                       a->pad[1]);
    return 0;
}

static int pad_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (amounts(a, xs, err)) return -1;
    if (a->mode != ON_PADFILL_CONSTANT && a->mode != ON_PADFILL_REFLECT &&
        a->mode != ON_PADFILL_EDGE)
        return on_fail(err, "unknown mode %d (constant, reflect or edge)", a->mode);
    if (a->mode == ON_PADFILL_CONSTANT && !isfinite(a->alpha))
        return on_fail(err, "the padding value %g is not finite", a->alpha);
    int h = xs.rank == 3 ? xs.h : 1;
    if (a->mode == ON_PADFILL_REFLECT &&
        (a->pad[0] >= h || a->pad[1] >= h || a->pad[2] >= xs.w || a->pad[3] >= xs.w))
        return on_fail(err,
                       "reflect padding (%d,%d,%d,%d) must be smaller than the %dx%d plane on "
                       "each side",
                       a->pad[0], a->pad[1], a->pad[2], a->pad[3], h, xs.w);
    *ys = xs;
    ys->h += a->pad[0] + a->pad[1];
    ys->w += a->pad[2] + a->pad[3];
    return 0;
}

static int crop_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (amounts(a, xs, err)) return -1;
    *ys = xs;
    ys->h -= a->pad[0] + a->pad[1];
    ys->w -= a->pad[2] + a->pad[3];
    if (ys->h < 1 || ys->w < 1)
        return on_fail(err, "cropping (%d,%d,%d,%d) leaves nothing of a %dx%d plane", a->pad[0],
                       a->pad[1], a->pad[2], a->pad[3], xs.h, xs.w);
    return 0;
}

/* Copy the window of the big plane at (top, left) of the small plane's size, each way:
 * big -> small (to_small) or small -> big (the rest of big is set to 0). */
static void window_copy(float *big, float *small, long planes, int BH, int BW, int SH, int SW,
                        int top, int left, int to_small, int threads) {
    size_t bhw = (size_t)BH * BW, shw = (size_t)SH * SW;
#pragma omp parallel for schedule(static) num_threads(threads) if (planes * bhw > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        float *b = big + pl * bhw, *s = small + pl * shw;
        if (!to_small) memset(b, 0, sizeof(float) * bhw);
        for (int i = 0; i < SH; i++) {
            float *br = b + (size_t)(i + top) * BW + left, *sr = s + (size_t)i * SW;
            if (to_small)
                memcpy(sr, br, sizeof(float) * SW);
            else
                memcpy(br, sr, sizeof(float) * SW);
        }
    }
}

/* Where padded index i (the input's index i - before) reads along an axis of n values:
 * -1 for the constant border. */
static int source(int mode, int i, int n) {
    if (i >= 0 && i < n) return i;
    if (mode == ON_PADFILL_EDGE) return i < 0 ? 0 : n - 1;
    if (mode == ON_PADFILL_REFLECT) return i < 0 ? -i : 2 * (n - 1) - i; /* amounts < n */
    return -1;
}

/* Padding by a mode other than zeros: forward y[o] = x[source] (or the constant), backward
 * dx[source] += dy[o]. */
static void fill_run(const on_call *c, int backward) {
    const on_attrs *a = c->a;
    int H = c->xs.h, W = c->xs.w, P = c->ys.h, Q = c->ys.w;
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)H * W, pq = (size_t)P * Q;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (planes * pq > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        if (backward) memset(c->dx + pl * hw, 0, sizeof(float) * hw);
        for (int p = 0; p < P; p++) {
            int r = source(a->mode, p - a->pad[0], H);
            for (int q = 0; q < Q; q++) {
                int s = source(a->mode, q - a->pad[2], W);
                size_t o = pl * pq + (size_t)p * Q + q;
                if (r < 0 || s < 0) {
                    if (!backward) c->y[o] = a->alpha;
                } else if (backward) {
                    c->dx[pl * hw + (size_t)r * W + s] += c->dy[o];
                } else {
                    c->y[o] = c->x[pl * hw + (size_t)r * W + s];
                }
            }
        }
    }
}

static int zero_fill(const on_attrs *a) {
    return a->mode == ON_PADFILL_CONSTANT && a->alpha == 0;
}

/* x (N,C,H,W) -> y (N,C,H+t+b,W+l+r) */
static void pad_fwd(const on_call *c) {
    if (!zero_fill(c->a)) {
        fill_run(c, 0);
        return;
    }
    window_copy(c->y, (float *)c->x, (long)c->n * c->xs.c, c->ys.h, c->ys.w, c->xs.h, c->xs.w,
                c->a->pad[0], c->a->pad[2], 0, c->threads);
}
static void pad_bwd(const on_call *c) {
    if (!c->dx) return;
    if (c->a->mode != ON_PADFILL_CONSTANT) { /* a constant border has no gradient */
        fill_run(c, 1);
        return;
    }
    window_copy((float *)c->dy, c->dx, (long)c->n * c->xs.c, c->ys.h, c->ys.w, c->xs.h, c->xs.w,
                c->a->pad[0], c->a->pad[2], 1, c->threads);
}

static unsigned pad_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    return zero_fill(a) ? ON_PROP_COPIES | ON_PROP_SHIFTS | ON_PROP_ZERO_FILL : 0;
}
/* x (N,C,H,W) -> y (N,C,H-t-b,W-l-r) */
static void crop_fwd(const on_call *c) {
    window_copy((float *)c->x, c->y, (long)c->n * c->xs.c, c->xs.h, c->xs.w, c->ys.h, c->ys.w,
                c->a->pad[0], c->a->pad[2], 1, c->threads);
}
static void crop_bwd(const on_call *c) {
    if (!c->dx) return;
    window_copy(c->dx, (float *)c->dy, (long)c->n * c->xs.c, c->xs.h, c->xs.w, c->ys.h, c->ys.w,
                c->a->pad[0], c->a->pad[2], 0, c->threads);
}

static on_cost move_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    double in = (double)on_shape_size(xs), out = (double)on_shape_size(ys);
    return (on_cost){.bytes_fwd = 4 * (in + out), .bytes_bwd = 4 * (in + out)};
}

#define PADCROP(nm, title_, sp, props_, shape_, fwd, bwd, t, l, args_, props_of_)                  \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = props_,                                                     \
                              .ninputs = 1,                                                        \
                              .spatial = sp,                                                       \
                              .defaults = {.pad_mode = ON_PAD_EXPLICIT, .pad = {t, t, l, l}},      \
                              .args = args_,                                                       \
                              .props_of = props_of_,                                               \
                              .shape = shape_,                                                     \
                              .forward = fwd,                                                      \
                              .backward = bwd,                                                     \
                              .cost = move_cost};

/* clang-format off */
PADCROP(zeropad2d, "2-D padding (zeros, constant, reflect, edge)", 3, ON_PROP_COPIES | ON_PROP_SHIFTS | ON_PROP_ZERO_FILL, pad_shape, pad_fwd, pad_bwd, 1, 1, "padding mode value", pad_props_of)
PADCROP(zeropad1d, "1-D padding (zeros, constant, reflect, edge)", 2, ON_PROP_COPIES | ON_PROP_SHIFTS | ON_PROP_ZERO_FILL, pad_shape, pad_fwd, pad_bwd, 0, 1, "padding mode value", pad_props_of)
PADCROP(crop2d, "2-D cropping", 3, ON_PROP_COPIES | ON_PROP_SHIFTS, crop_shape, crop_fwd, crop_bwd, 0, 0, "padding", NULL)
PADCROP(crop1d, "1-D cropping", 2, ON_PROP_COPIES | ON_PROP_SHIFTS, crop_shape, crop_fwd, crop_bwd, 0, 0, "padding", NULL)
/* clang-format on */
