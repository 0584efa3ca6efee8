/* gaussian.c - Keras's GaussianNoise and GaussianDropout, active in training only:
 *   gaussian_noise(stddev):  y = x + stddev z
 *   gaussian_dropout(rate):  y = x (1 + s z), s = sqrt(rate / (1 - rate))
 * with z ~ N(0,1) drawn per element; at eval time both are the identity.
 *
 * z of element i (counted from the batch's first element, so a per-sample chain draws what
 * the whole batch would) is Box-Muller over two counter-based uniforms (key, 2i), (key, 2i+1):
 * a pure function of (node key, step, i), the same for every thread count. Gaussian
 * dropout's backward multiplies by the same factors, drawn again by the same function
 * (kept out of line, so the forward and backward loops cannot evaluate it differently).
 */
#include "op.h"

#include <math.h>
#include <string.h>

/* N(0,1) number i of the stream key */
__attribute__((noinline)) static float normal_at(uint64_t key, uint64_t i) {
    float u1 = 1.0f - on_uniform(key, 2 * i), u2 = on_uniform(key, 2 * i + 1); /* u1 in (0,1] */
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
}

static int gnoise_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->stddev >= 0 && a->stddev < INFINITY))
        return on_fail(err, "stddev must be finite and >= 0, got %g", a->stddev);
    *ys = xs;
    return 0;
}
static int gdrop_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->rate >= 0 && a->rate < 1))
        return on_fail(err, "rate must be in [0,1), got %g", a->rate);
    *ys = xs;
    return 0;
}

/* out = in * (mul ? 1 + s z : 1) + (mul ? 0 : s z) over the batch; in = x forward, dy in
 * gaussian dropout's backward. */
static void gauss_apply(const on_call *c, const float *in, float *out, int mul, float s) {
    size_t size = on_shape_size(c->xs), total = (size_t)c->n * size;
    uint64_t key = on_mix64(c->key ^ on_mix64(c->step));
    uint64_t base = (uint64_t)c->sample0 * size;
    const size_t block = 4096; /* a thread's unit of work */
    long blocks = (long)((total + block - 1) / block);
#pragma omp parallel for schedule(static) num_threads(c->threads) if (total > ON_PAR_MIN)
    for (long bi = 0; bi < blocks; bi++) {
        size_t i = (size_t)bi * block, end = i + block < total ? i + block : total;
        if (mul)
            for (; i < end; i++) out[i] = in[i] * (1.0f + s * normal_at(key, base + i));
        else
            for (; i < end; i++) out[i] = in[i] + s * normal_at(key, base + i);
    }
}

static void copy_or_not(const float *in, float *out, size_t n) {
    if (out != in) memcpy(out, in, sizeof(float) * n);
}

static void gnoise_fwd(const on_call *c) {
    if (c->train && c->a->stddev > 0)
        gauss_apply(c, c->x, c->y, 0, c->a->stddev);
    else
        copy_or_not(c->x, c->y, (size_t)c->n * on_shape_size(c->xs));
}
static void gnoise_bwd(const on_call *c) { /* dy/dx = 1 for every draw */
    if (c->dx) copy_or_not(c->dy, c->dx, (size_t)c->n * on_shape_size(c->xs));
}

static float gdrop_sd(const on_attrs *a) {
    return sqrtf(a->rate / (1.0f - a->rate));
}
static void gdrop_fwd(const on_call *c) {
    if (c->train && c->a->rate > 0)
        gauss_apply(c, c->x, c->y, 1, gdrop_sd(c->a));
    else
        copy_or_not(c->x, c->y, (size_t)c->n * on_shape_size(c->xs));
}
static void gdrop_bwd(const on_call *c) {
    if (!c->dx) return;
    if (c->train && c->a->rate > 0)
        gauss_apply(c, c->dy, c->dx, 1, gdrop_sd(c->a));
    else
        copy_or_not(c->dy, c->dx, (size_t)c->n * on_shape_size(c->xs));
}

static on_cost gauss_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 20); /* a log, a cosine and a square root per element */
}

/* For one draw: y = x + n (slope 1: non-decreasing, f(0) != 0). */
const on_op on_op_gaussian_noise = {.name = "gaussian_noise",
                                    .title = "Gaussian noise (training only)",
                                    .props = ON_PROP_ELEMENTWISE | ON_PROP_STOCHASTIC |
                                             ON_PROP_TRAIN_DIFFERS | ON_PROP_MONO_UP,
                                    .ninputs = 1,
                                    .defaults = {.stddev = 0.1f},
                                    .args = "stddev seed",
                                    .shape = gnoise_shape,
                                    .forward = gnoise_fwd,
                                    .backward = gnoise_bwd,
                                    .cost = gauss_cost};

/* For one draw: y = m x with m of either sign (linear, not monotone). */
const on_op on_op_gaussian_dropout = {.name = "gaussian_dropout",
                                      .title = "Gaussian dropout (training only)",
                                      .props = ON_PROP_ELEMENTWISE | ON_PROP_STOCHASTIC |
                                               ON_PROP_TRAIN_DIFFERS | ON_PROP_ZERO_FIXED |
                                               ON_PROP_POS_HOMOG,
                                      .ninputs = 1,
                                      .defaults = {.rate = 0.5f},
                                      .args = "rate seed",
                                      .shape = gdrop_shape,
                                      .forward = gdrop_fwd,
                                      .backward = gdrop_bwd,
                                      .cost = gauss_cost};
