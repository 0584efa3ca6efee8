/* pad_crop.c - zero padding and cropping of 1-D signals and images (Keras ZeroPadding1D/2D
 * and Cropping1D/2D, PyTorch's nn.ZeroPad2d and slicing).
 *
 * Amounts are on_attrs.pad = top, bottom, left, right (1-D: left and right only; top and
 * bottom must be 0). Padding adds zeros around each plane; cropping removes rows and
 * columns from its borders and must leave at least one of each. Both only move values
 * within a channel (ON_PROP_COPIES); padding also adds zeros (ON_PROP_ZERO_FILL).
 */
#include "op.h"

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

/* x (N,C,H,W) -> y (N,C,H+t+b,W+l+r) */
static void pad_fwd(const on_call *c) {
    window_copy(c->y, (float *)c->x, (long)c->n * c->xs.c, c->ys.h, c->ys.w, c->xs.h, c->xs.w,
                c->a->pad[0], c->a->pad[2], 0, c->threads);
}
static void pad_bwd(const on_call *c) {
    if (!c->dx) return;
    window_copy((float *)c->dy, c->dx, (long)c->n * c->xs.c, c->ys.h, c->ys.w, c->xs.h, c->xs.w,
                c->a->pad[0], c->a->pad[2], 1, c->threads);
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

#define PADCROP(nm, title_, sp, props_, shape_, fwd, bwd, t, l)                                    \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = props_,                                                     \
                              .ninputs = 1,                                                        \
                              .spatial = sp,                                                       \
                              .defaults = {.pad_mode = ON_PAD_EXPLICIT, .pad = {t, t, l, l}},      \
                              .args = "padding",                                                   \
                              .shape = shape_,                                                     \
                              .forward = fwd,                                                      \
                              .backward = bwd,                                                     \
                              .cost = move_cost};

/* clang-format off */
PADCROP(zeropad2d, "2-D zero padding", 3, ON_PROP_COPIES | ON_PROP_SHIFTS | ON_PROP_ZERO_FILL, pad_shape, pad_fwd, pad_bwd, 1, 1)
PADCROP(zeropad1d, "1-D zero padding", 2, ON_PROP_COPIES | ON_PROP_SHIFTS | ON_PROP_ZERO_FILL, pad_shape, pad_fwd, pad_bwd, 0, 1)
PADCROP(crop2d, "2-D cropping", 3, ON_PROP_COPIES | ON_PROP_SHIFTS, crop_shape, crop_fwd, crop_bwd, 0, 0)
PADCROP(crop1d, "1-D cropping", 2, ON_PROP_COPIES | ON_PROP_SHIFTS, crop_shape, crop_fwd, crop_bwd, 0, 0)
/* clang-format on */
