/* random_contrast.c - Keras's RandomContrast: in train mode each image gets a contrast
 * factor c drawn in [1 - lower, 1 + upper] (on_attrs.range[0] = lower, range[1] = upper,
 * Keras's factor; a single f is (f, f)), and each of its channels becomes
 *
 *   y = clip(x c + (1 - c) m, lo, hi)        m = the mean of that channel of that image
 *
 * with Keras's clip to the value range [0, 255] (on_attrs.lo, hi; Keras 3's value_range;
 * value_range=None, -inf and inf, clips nothing). In eval mode it is the identity.
 *
 * Deviations from Keras, all deliberate: the factor is drawn per image (Keras 2.x's
 * tf.image.stateless_random_contrast and early Keras 3 draw one per batch, later ones per
 * image), from ordnet's stream (augment.h); the mean is summed in double; and the map is
 * written x c + (1 - c) m rather than (x - m) c + m, the same up to rounding, so that c = 1
 * gives x back bit for bit.
 *
 * The backward is the exact derivative for the drawn c: where the output was not clipped
 * (lo <= value <= hi, TF's clip_by_value passes the gradient at the bounds), g = dy, else
 * 0; then dx = c g + (1 - c) mean(g) over the channel (the mean term depends on every x).
 */
#include "augment.h"

#include <math.h>
#include <string.h>

static int contrast_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (xs.rank != 3) return on_fail(err, "needs (C,H,W) images, got a rank-%d sample", xs.rank);
    if (!(a->range[0] >= 0 && a->range[0] <= 1 && a->range[1] >= 0 && a->range[1] <= 1e6f))
        return on_fail(err,
                       "factor must be (lower, upper) with 0 <= lower <= 1 and upper >= 0, got "
                       "(%g, %g)",
                       a->range[0], a->range[1]);
    if (!(a->lo <= a->hi))
        return on_fail(err, "value_range must have lo <= hi, got (%g, %g)", a->lo, a->hi);
    *ys = xs;
    return 0;
}

/* The factor of sample s. */
static float factor_of(const on_call *c, uint64_t key, int s) {
    return aug_between(1.0f - c->a->range[0], 1.0f + c->a->range[1], aug_uniform(key, c, s, 0));
}

static float mean_of(const float *x, size_t S) {
    double t = 0;
    for (size_t j = 0; j < S; j++) t += x[j];
    return (float)(t / (double)S);
}

static void contrast_fwd(const on_call *c) {
    size_t S = (size_t)c->xs.h * c->xs.w, total = (size_t)c->n * on_shape_size(c->xs);
    if (!c->train) {
        if (c->y != c->x) memcpy(c->y, c->x, sizeof(float) * total);
        return;
    }
    uint64_t key = aug_key(c);
    float lo = c->a->lo, hi = c->a->hi;
    long rows = (long)c->n * c->xs.c;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (total > ON_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const float *x = c->x + (size_t)r * S;
        float *y = c->y + (size_t)r * S;
        float f = factor_of(c, key, (int)(r / c->xs.c)), b = (1.0f - f) * mean_of(x, S);
        for (size_t j = 0; j < S; j++) {
            float v = x[j] * f + b;
            y[j] = v < lo ? lo : v > hi ? hi : v;
        }
    }
}

static void contrast_bwd(const on_call *c) {
    if (!c->dx) return;
    size_t S = (size_t)c->xs.h * c->xs.w, total = (size_t)c->n * on_shape_size(c->xs);
    if (!c->train) {
        if (c->dx != c->dy) memcpy(c->dx, c->dy, sizeof(float) * total);
        return;
    }
    uint64_t key = aug_key(c);
    float lo = c->a->lo, hi = c->a->hi;
    long rows = (long)c->n * c->xs.c;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (total > ON_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const float *x = c->x + (size_t)r * S, *dy = c->dy + (size_t)r * S;
        float *dx = c->dx + (size_t)r * S;
        float f = factor_of(c, key, (int)(r / c->xs.c)), b = (1.0f - f) * mean_of(x, S);
        double sg = 0;
        for (size_t j = 0; j < S; j++) { /* the passed gradient, kept in dx for now */
            float v = x[j] * f + b;
            dx[j] = v >= lo && v <= hi ? dy[j] : 0.0f;
            sg += dx[j];
        }
        float k = (float)((1.0 - (double)f) * sg / (double)S);
        for (size_t j = 0; j < S; j++) dx[j] = dx[j] * f + k;
    }
}

static on_cost contrast_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 4); /* the mean, then a product, a sum and the clip */
}

/* Keras has no default factor; 0.1 is its tutorials'. */
const on_op on_op_random_contrast = {.name = "random_contrast",
                                     .title = "random contrast (training only)",
                                     .props = ON_PROP_AUGMENT,
                                     .ninputs = 1,
                                     .spatial = 3,
                                     .defaults = {.range = {0.1f, 0.1f}, .lo = 0, .hi = 255},
                                     .args = "factor seed value_range",
                                     .shape = contrast_shape,
                                     .forward = contrast_fwd,
                                     .backward = contrast_bwd,
                                     .cost = contrast_cost};
