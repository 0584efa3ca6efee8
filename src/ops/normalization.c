/* normalization.c - Keras's Normalization layer with given statistics, over the channels:
 *
 *   y = (x - mean_c) / max(sqrt(variance_c), eps)       (invert: y = mean_c + x * that)
 *
 * the same in train and eval mode (Keras's layer never updates its statistics in fit()).
 * mean, variance and count are state tensors (not trainable, 2C+1 floats as Keras's
 * adapted layer holds); a model reader sets them through the tensors "<layer>.mean" and
 * "<layer>.variance" (on_model_tensor_find + on_model_tensor_data), before or after
 * compiling. count is kept only so that the parameter count matches Keras's summary; the
 * forward does not read it. eps is Keras's backend.epsilon(), 1e-7: a zero variance gives
 * y = (x - mean) * 1e7, as in Keras, not a division by zero.
 *
 * Keras's axis=-1 (the default) is the channel axis of a channels-last tensor, which is
 * ordnet's channel axis c of (c), (c,l) and (c,h,w) samples; other axes are the model
 * reader's to refuse. The division is done as Keras does it (not as a product with a
 * reciprocal), so that outputs agree with Keras's to the last bit where its float32 does.
 */
#include "op.h"

#include <math.h>
#include <string.h>

static int norm_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->eps > 0 && a->eps < 1)) return on_fail(err, "eps must be in (0,1), got %g", a->eps);
    if (a->mode != 0 && a->mode != 1) return on_fail(err, "invert must be 0 or 1, got %d", a->mode);
    *ys = xs;
    return 0;
}

static int norm_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)a;
    (void)ys;
    size_t c = (size_t)xs.c;
    out[0] = (on_param_desc){"mean", c, 1, {xs.c}, 0, ON_INIT_ZEROS, 0, 0};
    out[1] = (on_param_desc){"variance", c, 1, {xs.c}, 0, ON_INIT_ONES, 0, 0};
    out[2] = (on_param_desc){"count", 1, 1, {1}, 0, ON_INIT_ZEROS, 0, 0};
    return 3;
}

/* Keras's divisor max(sqrt(variance), eps); a NaN variance stays NaN (fmaxf would drop it) */
static float divisor(float var, float eps) {
    float s = sqrtf(var);
    return s < eps ? eps : s;
}

static void norm_forward(const on_call *c) {
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    const float *mean = c->p[0], *var = c->p[1];
    long rows = (long)c->n * C;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (rows * S > ON_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        int ch = (int)(r % C);
        float m = mean[ch], d = divisor(var[ch], c->a->eps);
        const float *x = c->x + (size_t)r * S;
        float *y = c->y + (size_t)r * S;
        if (c->a->mode)
            for (size_t j = 0; j < S; j++) y[j] = m + x[j] * d;
        else
            for (size_t j = 0; j < S; j++) y[j] = (x[j] - m) / d;
    }
}

/* dy/dx = 1/d (invert: d) per channel; the statistics are not trained */
static void norm_backward(const on_call *c) {
    if (!c->dx) return;
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    long rows = (long)c->n * C;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (rows * S > ON_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        float d = divisor(c->p[1][r % C], c->a->eps);
        const float *dy = c->dy + (size_t)r * S;
        float *dx = c->dx + (size_t)r * S;
        if (c->a->mode)
            for (size_t j = 0; j < S; j++) dx[j] = dy[j] * d;
        else
            for (size_t j = 0; j < S; j++) dx[j] = dy[j] / d;
    }
}

static on_cost norm_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 2);
}

/* A per-channel affine map with a positive slope (1/d or d, d >= eps > 0): non-decreasing
 * for every value of the statistics. Whether it fixes 0 depends on the means, which the
 * analyzer is not told (it stays an affine map, not a linear one). */
const on_op on_op_normalization = {.name = "normalization",
                                   .title = "normalization (given mean and variance)",
                                   .props = ON_PROP_ELEMENTWISE | ON_PROP_AFFINE |
                                            ON_PROP_PER_CHANNEL | ON_PROP_MONO_UP,
                                   .ninputs = 1,
                                   .defaults = {.eps = 1e-7f},
                                   .args = "invert",
                                   .shape = norm_shape,
                                   .params = norm_params,
                                   .forward = norm_forward,
                                   .backward = norm_backward,
                                   .cost = norm_cost};
