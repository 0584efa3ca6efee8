/* spatial_dropout.c - spatial dropout 1-D and 2-D (Keras SpatialDropout1D/2D, PyTorch
 * Dropout1d/Dropout2d): in training, each (sample, channel) plane is kept with probability
 * q = 1 - rate and scaled by 1/q, or zeroed whole; at eval time the identity.
 *
 * Plane k = sample * C + channel (samples counted from the batch's first, so a per-sample
 * chain draws what the whole batch would) keeps when on_uniform(key, k) >= rate: a pure
 * function of (node key, step, k), the same for every thread count. The backward draws the
 * same decisions again (C hashes per sample: cheaper than keeping them).
 */
#include "op.h"

#include <string.h>

static int sdrop_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->rate >= 0 && a->rate <= 1))
        return on_fail(err, "rate must be in [0,1], got %g", a->rate);
    *ys = xs;
    return 0;
}

/* in (N,C,S) -> out (N,C,S); in = x forward, dy backward: the same planes are kept. */
static void sdrop_apply(const on_call *c, const float *in, float *out) {
    size_t plane = on_shape_size(c->xs) / (size_t)c->xs.c;
    long rows = (long)c->n * c->xs.c;
    if (!c->train || c->a->rate == 0) {
        if (out != in) memcpy(out, in, sizeof(float) * (size_t)rows * plane);
        return;
    }
    float p = c->a->rate, scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    uint64_t key = on_mix64(c->key ^ on_mix64(c->step));
    uint64_t base = (uint64_t)c->sample0 * (uint64_t)c->xs.c;
#pragma omp parallel for schedule(static)                                                          \
    num_threads(c->threads) if (rows * (long)plane > ON_PAR_MIN)
    for (long r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * plane;
        float *y = out + (size_t)r * plane;
        if (on_uniform(key, base + (uint64_t)r) >= p) {
#pragma omp simd
            for (size_t j = 0; j < plane; j++) y[j] = x[j] * scale;
        } else {
            for (size_t j = 0; j < plane; j++) y[j] = 0.0f;
        }
    }
}

static void sdrop_fwd(const on_call *c) {
    sdrop_apply(c, c->x, c->y);
}
static void sdrop_bwd(const on_call *c) {
    if (c->dx) sdrop_apply(c, c->dy, c->dx);
}

static on_cost sdrop_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 1);
}

/* For one draw: y = m_c x with m_c in {0, 1/q}, one factor per (sample, channel). */
#define SPATIAL_DROPOUT(nm, title_, rank)                                                          \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = ON_PROP_ELEMENTWISE | ON_PROP_STOCHASTIC |                  \
                                       ON_PROP_TRAIN_DIFFERS | ON_PROP_ZERO_FIXED |                \
                                       ON_PROP_POS_HOMOG | ON_PROP_MONO_UP | ON_PROP_PER_CHANNEL,  \
                              .ninputs = 1,                                                        \
                              .spatial = rank,                                                     \
                              .defaults = {.rate = 0.5f},                                          \
                              .args = "rate seed",                                                 \
                              .shape = sdrop_shape,                                                \
                              .forward = sdrop_fwd,                                                \
                              .backward = sdrop_bwd,                                               \
                              .cost = sdrop_cost};

SPATIAL_DROPOUT(spatial_dropout1d, "spatial dropout 1-D (whole channels)", 2)
SPATIAL_DROPOUT(spatial_dropout2d, "spatial dropout 2-D (whole channels)", 3)
