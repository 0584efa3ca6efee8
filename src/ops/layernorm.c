/* layernorm.c - layer normalization over one axis of the sample (PyTorch's nn.LayerNorm(n)
 * over the last axis, Keras LayerNormalization(axis=-1), ConvNeXt's channels-first form).
 *
 * on_attrs.axis picks the axis among the sample's dimensions, channels first: -1 (the
 * default) the last one, w of (c,h,w) and of (c,w), c of a flat (c); 0 the channels (a
 * channels-first LayerNorm at each position). Every run of L values along that axis
 * (the others fixed) becomes y = (x - mean) / sqrt(var + eps) * weight + bias, with the
 * biased variance, weight and bias of size L (ones and zeros at first). Normalizing over
 * several trailing axes at once (nn.LayerNorm((H,W))) is not offered. Train and eval are
 * the same computation; the mean and 1/std of each run are kept for the backward.
 */
#include "op.h"

#include <math.h>
#include <string.h>

/* The normalized run: L values spaced S apart, outer runs of L*S values, S at a time. */
typedef struct runs {
    int L, S, outer;
} runs;

static int runs_of(const on_attrs *a, on_shape xs, runs *r) {
    int d[3] = {xs.c, xs.rank == 3 ? xs.h : xs.w, xs.w},
        k = a->axis < 0 ? xs.rank + a->axis : a->axis;
    if (k < 0 || k >= xs.rank) return -1;
    r->L = d[k];
    r->S = 1;
    r->outer = 1;
    for (int i = k + 1; i < xs.rank; i++) r->S *= d[i];
    for (int i = 0; i < k; i++) r->outer *= d[i];
    return 0;
}

static int ln_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    runs r;
    if (runs_of(a, xs, &r))
        return on_fail(err, "axis %d is not an axis of a rank-%d sample (-1: the last)", a->axis,
                       xs.rank);
    if (!(a->eps > 0)) return on_fail(err, "eps must be positive, got %g", a->eps);
    *ys = xs;
    return 0;
}

static int ln_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)ys;
    runs r;
    runs_of(a, xs, &r);
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)r.L,
                             .trainable = 1,
                             .init = ON_INIT_ONES,
                             .ndims = 1,
                             .dims = {r.L}};
    out[1] = (on_param_desc){.name = "bias",
                             .size = (size_t)r.L,
                             .trainable = 1,
                             .init = ON_INIT_ZEROS,
                             .ndims = 1,
                             .dims = {r.L}};
    return 2;
}

/* A mean and a 1/std per run. */
static size_t ln_saved(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    (void)ys;
    runs r;
    runs_of(a, xs, &r);
    return 2 * (size_t)n * r.outer * r.S;
}

/* x (N, outer, L, S) -> y the same */
static void ln_fwd(const on_call *c) {
    runs r;
    runs_of(c->a, c->xs, &r);
    long groups = (long)c->n * r.outer;
    size_t block = (size_t)r.L * r.S;
    float *saved = c->saved + 2 * (size_t)c->sample0 * r.outer * r.S;
    const float *w = c->p[0], *b = c->p[1];
#pragma omp parallel for schedule(static) num_threads(c->threads) if (groups * block > ON_PAR_MIN)
    for (long g = 0; g < groups; g++)
        for (int s = 0; s < r.S; s++) {
            const float *x = c->x + g * block + s;
            float *y = c->y + g * block + s;
            double sum = 0, sq = 0;
            for (int l = 0; l < r.L; l++) sum += x[(size_t)l * r.S];
            double mean = sum / r.L;
            for (int l = 0; l < r.L; l++) {
                double d = x[(size_t)l * r.S] - mean;
                sq += d * d;
            }
            float mu = (float)mean, rstd = (float)(1.0 / sqrt(sq / r.L + c->a->eps));
            for (int l = 0; l < r.L; l++)
                y[(size_t)l * r.S] = (x[(size_t)l * r.S] - mu) * rstd * w[l] + b[l];
            saved[2 * ((size_t)g * r.S + s)] = mu;
            saved[2 * ((size_t)g * r.S + s) + 1] = rstd;
        }
}

/* dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy * weight; dweight += dy xhat,
 * dbias += dy. Serial over runs: the parameter gradients add in a fixed order. */
static void ln_bwd(const on_call *c) {
    runs r;
    runs_of(c->a, c->xs, &r);
    long groups = (long)c->n * r.outer;
    size_t block = (size_t)r.L * r.S;
    const float *w = c->p[0];
    for (long g = 0; g < groups; g++)
        for (int s = 0; s < r.S; s++) {
            const float *x = c->x + g * block + s, *dy = c->dy + g * block + s;
            float mu = c->saved[2 * ((size_t)g * r.S + s)];
            float rstd = c->saved[2 * ((size_t)g * r.S + s) + 1];
            double mg = 0, mgx = 0;
            for (int l = 0; l < r.L; l++) {
                size_t o = (size_t)l * r.S;
                float xh = (x[o] - mu) * rstd, gl = dy[o] * w[l];
                mg += gl;
                mgx += (double)gl * xh;
                c->dp[0][l] += dy[o] * xh;
                c->dp[1][l] += dy[o];
            }
            mg /= r.L;
            mgx /= r.L;
            if (!c->dx) continue;
            float *dx = c->dx + g * block + s;
            for (int l = 0; l < r.L; l++) {
                size_t o = (size_t)l * r.S;
                float xh = (x[o] - mu) * rstd;
                dx[o] = (float)(rstd * (dy[o] * w[l] - mg - xh * mgx));
            }
        }
}

static on_cost ln_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 8);
}

const on_op on_op_layernorm = {.name = "layernorm",
                               .title = "layer normalization",
                               .ninputs = 1,
                               .defaults = {.axis = -1, .eps = 1e-5f},
                               .args = "axis eps",
                               .shape = ln_shape,
                               .params = ln_params,
                               .saved_size = ln_saved,
                               .forward = ln_fwd,
                               .backward = ln_bwd,
                               .cost = ln_cost};
