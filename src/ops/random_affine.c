/* random_affine.c - Keras's RandomTranslation, RandomRotation and RandomZoom: in train mode
 * each image is resampled through an affine map of positions drawn for it (warp.h: TF's
 * sampler, bilinear or nearest, fill modes reflect (Keras's default), wrap, nearest,
 * constant with on_attrs.offset as the fill value); in eval mode they are the identity.
 *
 * The factors are Keras's, as [lo, hi] pairs in on_attrs.range (the readers turn Keras's
 * single f into [-f, f]):
 *   random_translation  range[0..1] height, range[2..3] width, fractions of the size in
 *                       [-1, 1]: the image moves by u H rows and v W columns (positive:
 *                       down and right), u, v drawn in the ranges; output (x, y) reads the
 *                       input at (x - v W, y - u H);
 *   random_rotation     range[0..1] fractions of a turn: angle a drawn in [lo, hi] 2 pi,
 *                       positive counter-clockwise, about the image center (Keras's
 *                       get_rotation_matrix);
 *   random_zoom         range[0..1] height, range[2..3] width (used when on_attrs.mode is 1,
 *                       Keras's width_factor; mode 0, Keras's None, zooms the width by the
 *                       height's draw): zoom z = 1 + f drawn per axis, output (x, y) reads
 *                       the input at (z_x (x - cx) + cx, z_y (y - cy) + cy) about the center
 *                       (cx, cy): positive factors zoom out, as in Keras.
 * The maps are computed in float as Keras computes them (its float32 tensors), so for one
 * draw the sampled positions are Keras's. The draws themselves (augment.h) are per image
 * from ordnet's seeded stream, not TensorFlow's generator: the same distribution, not the
 * same numbers for a seed.
 *
 * The backward is the adjoint of the map the forward applied (the draws made again from
 * the same step): each output's gradient goes back to the pixels it read, with the same
 * weights; what came from the fill value has no input and takes no gradient. Gradients do
 * not flow to the draws (Keras's neither).
 */
#include "augment.h"
#include "warp.h"

#include <math.h>
#include <string.h>

enum { TRANSLATE, ROTATE, ZOOM };

static int check_range(const float *r, float lo, float hi, const char *what, on_error *err) {
    if (!(r[0] >= lo && r[1] <= hi && r[0] <= r[1]))
        return on_fail(err, "%s must be a range (lo, hi) with %g <= lo <= hi <= %g, got (%g, %g)",
                       what, lo, hi, r[0], r[1]);
    return 0;
}

static int affine_shape(int kind, const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (xs.rank != 3) return on_fail(err, "needs (C,H,W) images, got a rank-%d sample", xs.rank);
    if (a->fill < ON_FILL_REFLECT || a->fill > ON_FILL_NEAREST)
        return on_fail(err, "fill_mode must be reflect, wrap, constant or nearest, got %d",
                       a->fill);
    if (a->interp != ON_RESIZE_NEAREST && a->interp != ON_RESIZE_LINEAR)
        return on_fail(err, "interpolation must be nearest or bilinear, got %d", a->interp);
    if (!isfinite(a->offset)) return on_fail(err, "fill_value must be finite, got %g", a->offset);
    int bad = 0;
    if (kind == TRANSLATE)
        bad = check_range(a->range, -1, 1, "height_factor", err) ||
              check_range(a->range + 2, -1, 1, "width_factor", err);
    else if (kind == ROTATE) /* Keras takes any factor; a million turns is plenty */
        bad = check_range(a->range, -1e6f, 1e6f, "factor", err);
    else
        bad = check_range(a->range, -1, 1, "height_factor", err) ||
              (a->mode != 0 && a->mode != 1
                   ? on_fail(err, "mode must be 0 (width as height) or 1, got %d", a->mode)
                   : a->mode && check_range(a->range + 2, -1, 1000, "width_factor", err));
    if (bad) return -1;
    *ys = xs;
    return 0;
}
static int translate_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    return affine_shape(TRANSLATE, a, xs, ys, err);
}
static int rotate_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    return affine_shape(ROTATE, a, xs, ys, err);
}
static int zoom_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    return affine_shape(ZOOM, a, xs, ys, err);
}

/* The map of one image from its draws u0, u1 in [0,1), as Keras builds it. */
static void draw_map(int kind, const on_attrs *a, on_shape s, float u0, float u1, on_warp *w) {
    float H = (float)s.h, W = (float)s.w, *t = w->t;
    w->fill = a->fill;
    w->interp = a->interp;
    w->fill_value = a->offset;
    if (kind == TRANSLATE) { /* get_translation_matrix: [1, 0, -dx, 0, 1, -dy] */
        float dy = aug_between(a->range[0], a->range[1], u0) * H;
        float dx = aug_between(a->range[2], a->range[3], u1) * W;
        t[0] = 1, t[1] = 0, t[2] = -dx, t[3] = 0, t[4] = 1, t[5] = -dy;
    } else if (kind == ROTATE) { /* get_rotation_matrix */
        const double turn = 2.0 * 3.14159265358979323846;
        float lo = (float)(a->range[0] * turn), hi = (float)(a->range[1] * turn);
        float ang = aug_between(lo, hi, u0), c = cosf(ang), sn = sinf(ang);
        t[0] = c, t[1] = -sn, t[3] = sn, t[4] = c;
        t[2] = ((W - 1) - (c * (W - 1) - sn * (H - 1))) / 2.0f;
        t[5] = ((H - 1) - (sn * (W - 1) + c * (H - 1))) / 2.0f;
    } else { /* get_zoom_matrix */
        float zy = aug_between(1.0f + a->range[0], 1.0f + a->range[1], u0);
        float zx = a->mode ? aug_between(1.0f + a->range[2], 1.0f + a->range[3], u1) : zy;
        t[0] = zx, t[1] = 0, t[2] = ((W - 1.0f) / 2.0f) * (1.0f - zx);
        t[3] = 0, t[4] = zy, t[5] = ((H - 1.0f) / 2.0f) * (1.0f - zy);
    }
}

/* in -> out over the batch (the forward, or with backward the adjoint on gradients) */
static void affine_apply(int kind, const on_call *c, const float *in, float *out, int backward) {
    size_t S = on_shape_size(c->xs);
    if (!c->train) {
        if (out != in) memcpy(out, in, sizeof(float) * S * (size_t)c->n);
        return;
    }
    uint64_t key = aug_key(c);
#pragma omp parallel for schedule(static) num_threads(c->threads) if (S * c->n > ON_PAR_MIN / 8)
    for (int s = 0; s < c->n; s++) {
        on_warp w;
        draw_map(kind, c->a, c->xs, aug_uniform(key, c, s, 0), aug_uniform(key, c, s, 1), &w);
        if (backward)
            on_warp_backward(&w, c->xs, in + (size_t)s * S, out + (size_t)s * S);
        else
            on_warp_forward(&w, c->xs, in + (size_t)s * S, out + (size_t)s * S);
    }
}

static void translate_fwd(const on_call *c) {
    affine_apply(TRANSLATE, c, c->x, c->y, 0);
}
static void translate_bwd(const on_call *c) {
    if (c->dx) affine_apply(TRANSLATE, c, c->dy, c->dx, 1);
}
static void rotate_fwd(const on_call *c) {
    affine_apply(ROTATE, c, c->x, c->y, 0);
}
static void rotate_bwd(const on_call *c) {
    if (c->dx) affine_apply(ROTATE, c, c->dy, c->dx, 1);
}
static void zoom_fwd(const on_call *c) {
    affine_apply(ZOOM, c, c->x, c->y, 0);
}
static void zoom_bwd(const on_call *c) {
    if (c->dx) affine_apply(ZOOM, c, c->dy, c->dx, 1);
}

static on_cost affine_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)ys;
    /* train mode: a map per pixel, then 4 reads and 6 flops per value (bilinear) */
    return on_cost_elementwise(xs, a->interp == ON_RESIZE_NEAREST ? 1 : 8);
}

#define AFFINE_DEFAULTS .fill = ON_FILL_REFLECT, .interp = ON_RESIZE_LINEAR
#define AFFINE_ARGS "fill_mode interpolation seed fill_value"

/* Keras has no default factors; these are its tutorials' (RandomTranslation(0.1, 0.1),
 * RandomRotation(0.1), RandomZoom(0.1)). */
const on_op on_op_random_translation = {
    .name = "random_translation",
    .title = "random translation (training only)",
    .props = ON_PROP_AUGMENT | ON_PROP_AUG_RESAMPLES,
    .ninputs = 1,
    .spatial = 3,
    .defaults = {.range = {-0.1f, 0.1f, -0.1f, 0.1f}, AFFINE_DEFAULTS},
    .args = "height_factor width_factor " AFFINE_ARGS,
    .shape = translate_shape,
    .forward = translate_fwd,
    .backward = translate_bwd,
    .cost = affine_cost};

const on_op on_op_random_rotation = {.name = "random_rotation",
                                     .title = "random rotation (training only)",
                                     .props = ON_PROP_AUGMENT | ON_PROP_AUG_RESAMPLES,
                                     .ninputs = 1,
                                     .spatial = 3,
                                     .defaults = {.range = {-0.1f, 0.1f}, AFFINE_DEFAULTS},
                                     .args = "factor " AFFINE_ARGS,
                                     .shape = rotate_shape,
                                     .forward = rotate_fwd,
                                     .backward = rotate_bwd,
                                     .cost = affine_cost};

const on_op on_op_random_zoom = {.name = "random_zoom",
                                 .title = "random zoom (training only)",
                                 .props = ON_PROP_AUGMENT | ON_PROP_AUG_RESAMPLES,
                                 .ninputs = 1,
                                 .spatial = 3,
                                 .defaults = {.range = {-0.1f, 0.1f}, AFFINE_DEFAULTS},
                                 .args = "height_factor width_factor " AFFINE_ARGS,
                                 .shape = zoom_shape,
                                 .forward = zoom_fwd,
                                 .backward = zoom_bwd,
                                 .cost = affine_cost};
