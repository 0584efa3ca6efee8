/* batchnorm.c - batch normalization over channels, for (C), (C,L) and (C,H,W) samples.
 *
 * Train mode normalizes with the batch's mean and biased variance and updates the
 * running statistics as PyTorch does (unbiased variance, momentum = weight of the new
 * batch). Eval mode is the per-channel affine map a*x + b with a = gamma/sqrt(var+eps).
 * Sums are taken in double (a gradient's sum over a channel cancels: float sums lose
 * digits PyTorch keeps), one channel per loop iteration, in a fixed order: the result does
 * not depend on the thread count. The summing loops are compiled for AVX2 as well.
 */
#include "op.h"

#include <math.h>

/* The loops over one channel visit each sample's S values, a short run far from the last
 * one: too short for the hardware prefetcher to catch on before it ends. They ask for the
 * next sample's run while summing this one (on_prefetch): that halves a pass over a
 * 12.8 MB batch. */

/* Both kinds of sum below add float lanes for BLOCK values (8 terms a lane), then add the
 * lanes into double ones: nearly float speed, and the error of 8-term float sums only
 * (a whole channel summed in float misses PyTorch's double sums by 1.6e-5). */
enum { LANES = 8, BLOCK = 64 };

/* sum of x - k and of its square over S values */
ON_VECTOR_CLONES static void sums_shifted(const float *x, size_t S, float k, double *s,
                                          double *s2) {
    double ds[LANES] = {0}, ds2[LANES] = {0};
    size_t j = 0;
    for (; j + BLOCK <= S; j += BLOCK) {
        float fs[LANES] = {0}, fs2[LANES] = {0};
        for (int u = 0; u < BLOCK; u += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = x[j + u + l] - k;
                fs[l] += d;
                fs2[l] += d * d;
            }
        for (int l = 0; l < LANES; l++) {
            ds[l] += fs[l];
            ds2[l] += fs2[l];
        }
    }
    for (; j < S; j++) {
        double d = x[j] - k;
        ds[0] += d;
        ds2[0] += d * d;
    }
    for (int l = 0; l < LANES; l++) {
        *s += ds[l];
        *s2 += ds2[l];
    }
}

/* y = a x + b over S values */
ON_VECTOR_CLONES static void affine(const float *x, size_t S, float a, float b, float *y) {
#pragma omp simd
    for (size_t j = 0; j < S; j++) y[j] = a * x[j] + b;
}

/* dx = k (dy - mdy - (x - mu) inv mdyx) over S values */
ON_VECTOR_CLONES static void grad_input(const float *x, const float *dy, size_t S, float k,
                                        float mdy, float mu, float inv, float mdyx, float *dx) {
#pragma omp simd
    for (size_t j = 0; j < S; j++) dx[j] = k * (dy[j] - mdy - (x[j] - mu) * inv * mdyx);
}

/* grad_input times the derivative of the clamp below at x (on_call's dclamp), the product
 * the clamp's backward takes: the same bits as the two passes */
ON_VECTOR_CLONES static void grad_input_clamped(const float *x, const float *dy, size_t S, float k,
                                                float mdy, float mu, float inv, float mdyx,
                                                const on_call *c, float *dx) {
    float lo = c->dclamp_lo, hi = c->dclamp_hi;
    if (c->dclamp == 2) {
#pragma omp simd
        for (size_t j = 0; j < S; j++) {
            float g = k * (dy[j] - mdy - (x[j] - mu) * inv * mdyx);
            dx[j] = g * (x[j] > lo ? 1.0f : 0.0f);
        }
        return;
    }
#pragma omp simd
    for (size_t j = 0; j < S; j++) {
        float g = k * (dy[j] - mdy - (x[j] - mu) * inv * mdyx);
        dx[j] = g * ((x[j] > lo && x[j] < hi) ? 1.0f : 0.0f);
    }
}

/* sum of dy and of dy * (x - mu) * inv over S values */
ON_VECTOR_CLONES static void sums_grad(const float *x, const float *dy, size_t S, float mu,
                                       float inv, double *sdy, double *sdyx) {
    double ds[LANES] = {0}, dsx[LANES] = {0};
    size_t j = 0;
    for (; j + BLOCK <= S; j += BLOCK) {
        float fs[LANES] = {0}, fsx[LANES] = {0};
        for (int u = 0; u < BLOCK; u += LANES)
            for (int l = 0; l < LANES; l++) {
                float g = dy[j + u + l];
                fs[l] += g;
                fsx[l] += g * ((x[j + u + l] - mu) * inv);
            }
        for (int l = 0; l < LANES; l++) {
            ds[l] += fs[l];
            dsx[l] += fsx[l];
        }
    }
    for (; j < S; j++) {
        ds[0] += dy[j];
        dsx[0] += dy[j] * ((x[j] - mu) * inv);
    }
    for (int l = 0; l < LANES; l++) {
        *sdy += ds[l];
        *sdyx += dsx[l];
    }
}

static int bn_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->eps > 0)) return on_fail(err, "epsilon must be positive, got %g", a->eps);
    if (!(a->momentum >= 0 && a->momentum <= 1))
        return on_fail(err, "momentum must be in [0,1], got %g", a->momentum);
    *ys = xs;
    return 0;
}

static int bn_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)a;
    (void)ys;
    size_t c = (size_t)xs.c;
    out[0] = (on_param_desc){"weight", c, 1, {xs.c}, 1, ON_INIT_ONES, 0, 0};
    out[1] = (on_param_desc){"bias", c, 1, {xs.c}, 1, ON_INIT_ZEROS, 0, 0};
    out[2] = (on_param_desc){"running_mean", c, 1, {xs.c}, 0, ON_INIT_ZEROS, 0, 0};
    out[3] = (on_param_desc){"running_var", c, 1, {xs.c}, 0, ON_INIT_ONES, 0, 0};
    return 4;
}

/* Per-sample statistics only for channels of at least this many values: below it they
 * would take more memory than the layer's output and save no pass worth having. */
enum { STATS_MIN = 16 };

/* saved: batch mean (C) and inverse standard deviation (C), the backward's coefficients
 * (COEFS C), then each sample's statistics from bn_sample_stats (3 doubles per sample and
 * channel) where they are taken */
enum { COEFS = 6 }; /* k, mean dy, mean dy xhat, mu, inv, and one to keep doubles aligned */
static size_t bn_saved(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    (void)a;
    (void)ys;
    size_t S = on_shape_size(xs) / (size_t)xs.c;
    return (2 + COEFS) * (size_t)xs.c + (S >= STATS_MIN ? 6 * (size_t)n * xs.c : 0);
}

/* The per-sample statistics (doubles) after the means and the coefficients */
static double *sample_stats_of(const on_call *c) {
    return (double *)(c->saved + (2 + COEFS) * c->xs.c);
}

/* One sample's statistics per channel, while the producer's output is in cache: its first
 * value k, and the sums of x - k and (x - k)^2. */
static void bn_sample_stats(const on_call *c) {
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    double *st = sample_stats_of(c) + 3 * (size_t)c->sample0 * C;
    if (S < STATS_MIN) return; /* the forward sums them itself */
    for (int ch = 0; ch < C; ch++) {
        const float *x = c->x + (size_t)ch * S;
        double s = 0, s2 = 0;
        sums_shifted(x, S, x[0], &s, &s2);
        st[3 * ch] = x[0];
        st[3 * ch + 1] = s;
        st[3 * ch + 2] = s2;
    }
}

/* Channel ch's mean and variance over the batch from the samples' statistics, merged in
 * sample order (Chan, Golub and LeVeque's pairwise update, in double). */
static void merge_stats(const on_call *c, int ch, size_t S, double *mean, double *var) {
    const double *st = sample_stats_of(c);
    double mu = 0, m2 = 0, cnt = 0;
    for (int i = 0; i < c->n; i++) {
        const double *t = st + 3 * ((size_t)i * c->xs.c + ch);
        double mi = t[0] + t[1] / S, m2i = t[2] - t[1] * t[1] / S, d = mi - mu;
        mu += d * S / (cnt + S);
        m2 += m2i + d * d * cnt * S / (cnt + S);
        cnt += S;
    }
    *mean = mu;
    *var = m2 > 0 ? m2 / cnt : 0;
}

/* Eval-mode properties from the weights: monotone iff every scale is >= 0. */
static unsigned bn_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    unsigned r = ON_PROP_ELEMENTWISE | ON_PROP_AFFINE | ON_PROP_PER_CHANNEL |
                 ON_PROP_TRAIN_DIFFERS | ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED;
    for (int c = 0; c < xs.c; c++) {
        float sc = p[0][c] / sqrtf(p[3][c] + a->eps);
        if (!(sc >= 0)) r &= ~ON_PROP_MONO_UP;
        if (p[1][c] - p[2][c] * sc != 0) r &= ~ON_PROP_ZERO_FIXED;
    }
    if (r & ON_PROP_ZERO_FIXED) r |= ON_PROP_POS_HOMOG; /* a pure scaling */
    return r;
}

/* Channel ch's batch mean and inverse deviation for the normalization, and the running
 * statistics' update (m values in the batch). */
static void set_stats(const on_call *c, int ch, double mu, double var, double m) {
    int C = c->xs.c;
    float *rmean = c->p[2], *rvar = c->p[3], *mean = c->saved, *inv = mean + C;
    double v = var * m;
    mean[ch] = (float)mu;
    inv[ch] = (float)(1.0 / sqrt(var + c->a->eps));
    float mo = c->a->momentum;
    rmean[ch] = (1 - mo) * rmean[ch] + mo * (float)mu;
    rvar[ch] = (1 - mo) * rvar[ch] + mo * (float)(m > 1 ? v / (m - 1) : var);
}

/* Inference: y = a x + b with the running statistics */
static void eval_coef(const float *gamma, const float *beta, const float *rmean, const float *rvar,
                      float eps, int ch, float *a, float *b) {
    *a = gamma[ch] / sqrtf(rvar[ch] + eps);
    *b = beta[ch] - rmean[ch] * *a;
}

void on_bn_eval_coefs(const float *const *p, float eps, int C, float *A, float *B) {
    for (int ch = 0; ch < C; ch++) eval_coef(p[0], p[1], p[2], p[3], eps, ch, A + ch, B + ch);
}

typedef struct normalize_job {
    const on_call *c;
    int i;    /* the sample */
    float *y; /* its output */
} normalize_job;

/* Channels [c0, c1) of one sample normalized: by the batch's statistics (training) or the
 * running ones (inference) */
static void normalize_channels(const void *ctx, long c0, long c1) {
    const normalize_job *j = ctx;
    const on_call *c = j->c;
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    /* saved (the batch's mean and 1/std) is NULL when the layer runs inside a convolution's
     * output loop (inference) */
    const float *gamma = c->p[0], *beta = c->p[1], *mean = c->saved, *inv = mean ? mean + C : NULL;
    for (long ch = c0; ch < c1; ch++) {
        float a, b;
        if (c->train) {
            a = gamma[ch] * inv[ch];
            b = beta[ch] - mean[ch] * a;
        } else
            eval_coef(gamma, beta, c->p[2], c->p[3], c->a->eps, (int)ch, &a, &b);
        affine(c->x + ((size_t)j->i * C + ch) * S, S, a, b, j->y + (size_t)ch * S);
    }
}

/* x (N,C,S) -> y (N,C,S), S = spatial size. Training first computes the batch statistics,
 * channel by channel; then both modes normalize sample by sample, so that the layers after
 * this one (pooling, activations, dropout) can run on each sample while it is in cache. */
static void bn_forward(const on_call *c) {
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    double m = (double)c->n * S;
    double *sy = c->train ? c->sync_buf : NULL; /* synchronized over processes: their sums */
    if (c->train) {
#pragma omp parallel for schedule(static) num_threads(c->threads) if (m * C > ON_PAR_MIN)
        for (int ch = 0; ch < C; ch++) {
            double mu, var;
            if (c->stats_ready && S >= STATS_MIN) {
                merge_stats(c, ch, S, &mu, &var);
            } else {
                /* one pass: sums of x and x^2 around the first value (shifted, so the
                 * difference of squares does not cancel for data far from 0) */
                double s = 0, s2 = 0, k = c->x[(size_t)ch * S];
                for (int i = 0; i < c->n; i++) {
                    const float *x = c->x + ((size_t)i * C + ch) * S;
                    if (i + 1 < c->n) on_prefetch(x + (size_t)C * S, S);
                    sums_shifted(x, S, (float)k, &s, &s2);
                }
                mu = k + s / m;
                var = s2 / m - (s / m) * (s / m);
                if (var < 0) var = 0;
            }
            if (sy) { /* count, sum and sum of squares, summed over the processes below */
                sy[3 * ch] = m;
                sy[3 * ch + 1] = m * mu;
                sy[3 * ch + 2] = m * (var + mu * mu);
                continue;
            }
            set_stats(c, ch, mu, var, m);
        }
        if (sy) {
            c->sync(c->sync_ctx, sy, 3 * (size_t)C);
            for (int ch = 0; ch < C; ch++) {
                double M = sy[3 * ch], mu = sy[3 * ch + 1] / M, var = sy[3 * ch + 2] / M - mu * mu;
                set_stats(c, ch, mu, var > 0 ? var : 0, M);
            }
        }
    }
    if (c->n < c->threads && !on_in_region() && m * C > ON_PAR_MIN) {
        /* batch-1 latency: the threads share each sample's channels (by samples, one thread
         * did all of a model's BatchNorm layers as written, unfolded, at batch 1) */
        for (int i = 0; i < c->n; i++) {
            normalize_job j = {c, i, on_y_at(c, C * S, i, 0)};
            on_parallel_range(c->threads, 1, C, normalize_channels, &j);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
        return;
    }
#pragma omp parallel for schedule(static) num_threads(c->threads) if (m * C > ON_PAR_MIN)
    for (int i = 0; i < c->n; i++) {
        normalize_job j = {c, i, on_y_at(c, C * S, i, on_thread_id())};
        normalize_channels(&j, 0, C);
        if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
    }
}

/* One sample's sums of dy and dy * xhat per channel (2 doubles per sample and channel in
 * the per-sample statistics' place: the forward is done with them), while the gradient is
 * in cache: graph.c calls it from the backward's per-sample chain (the pooling, activation
 * and dropout after this layer), with c->x, c->dy and c->sample0 set to one sample. */
static void bn_sample_grad_stats(const on_call *c) {
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    if (S < STATS_MIN) return; /* the backward sums them itself */
    double *st = sample_stats_of(c) + 2 * (size_t)c->sample0 * C;
    for (int ch = 0; ch < C; ch++) {
        size_t o = (size_t)ch * S;
        st[2 * ch] = st[2 * ch + 1] = 0;
        sums_grad(c->x + o, c->dy + o, S, c->saved[ch], c->saved[C + ch], &st[2 * ch],
                  &st[2 * ch + 1]);
    }
}

/* The backward's first part, on the whole batch: the parameters' gradients and, per
 * channel, the coefficients of dx = k (dy - mdy - (x - mu) inv mdyx) in saved. */
static void bn_backward_coefs(const on_call *c) {
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    double m = (double)c->n * S;
    const double *st = sample_stats_of(c);
    int ready = c->train && c->stats_ready && S >= STATS_MIN;
    float *k = c->saved + 2 * C, *mdy = k + C, *mdyx = mdy + C, *mu = mdyx + C, *inv = mu + C;
    /* Synchronized statistics: the means of dy and dy * xhat are over every process's
     * values. Each process's dy is the gradient of its own mean loss, n / n_r times the
     * whole batch's, so the sums are weighted by the processes' counts m_r:
     * mean = sum_r m_r * s_r / (m * M) in this process's units (M = sum_r m_r). */
    double *sy = c->train && c->dx ? c->sync_buf : NULL;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (m * C > ON_PAR_MIN)
    for (int ch = 0; ch < C; ch++) {
        if (c->train) {
            mu[ch] = c->saved[ch];
            inv[ch] = c->saved[C + ch];
        } else {
            mu[ch] = c->p[2][ch];
            inv[ch] = 1.0f / sqrtf(c->p[3][ch] + c->a->eps);
        }
        /* each sample's sums, then their sum in sample order: the same bits whether the
         * per-sample sums came from the chain (ready) or are taken here */
        double sdy = 0, sdyx = 0;
        for (int i = 0; i < c->n; i++) {
            size_t o = ((size_t)i * C + ch) * S;
            double a = 0, b = 0;
            if (ready) {
                a = st[2 * ((size_t)i * C + ch)];
                b = st[2 * ((size_t)i * C + ch) + 1];
            } else {
                if (i + 1 < c->n) {
                    on_prefetch(c->x + o + (size_t)C * S, S);
                    on_prefetch(c->dy + o + (size_t)C * S, S);
                }
                sums_grad(c->x + o, c->dy + o, S, mu[ch], inv[ch], &a, &b);
            }
            sdy += a;
            sdyx += b;
        }
        c->dp[0][ch] += (float)sdyx;
        c->dp[1][ch] += (float)sdy;
        k[ch] = c->p[0][ch] * inv[ch];
        mdy[ch] = c->train ? (float)(sdy / m) : 0;
        mdyx[ch] = c->train ? (float)(sdyx / m) : 0;
        if (sy) {
            sy[3 * ch] = m;
            sy[3 * ch + 1] = m * sdy;
            sy[3 * ch + 2] = m * sdyx;
        }
    }
    if (!c->dx || !sy) return;
    c->sync(c->sync_ctx, sy, 3 * (size_t)C);
    for (int ch = 0; ch < C; ch++) {
        double mM = m * sy[3 * ch];
        mdy[ch] = (float)(sy[3 * ch + 1] / mM);
        mdyx[ch] = (float)(sy[3 * ch + 2] / mM);
    }
}

/* dx over runs [r0, r1) of S values (run r: sample r / C's channel r % C) */
static void grad_runs(const void *ctx, long r0, long r1) {
    const on_call *c = ctx;
    int C = c->xs.c;
    size_t S = on_shape_size(c->xs) / (size_t)C;
    const float *k = c->saved + 2 * C, *mdy = k + C, *mdyx = mdy + C, *mu = mdyx + C, *inv = mu + C;
    for (long r = r0; r < r1; r++) {
        int ch = (int)(r % C);
        size_t o = (size_t)r * S;
        if (c->dclamp)
            grad_input_clamped(c->x + o, c->dy + o, S, k[ch], mdy[ch], mu[ch], inv[ch], mdyx[ch], c,
                               c->dx + o);
        else
            grad_input(c->x + o, c->dy + o, S, k[ch], mdy[ch], mu[ch], inv[ch], mdyx[ch],
                       c->dx + o);
    }
}

/* The second part (after bn_backward_coefs, or in it: c->coefs_ready): dx of the call's
 * samples from their x and dy alone, each value as in one pass over the batch; sample by
 * sample, channel by channel: one sequential pass over x, dy and dx. */
static void bn_backward(const on_call *c) {
    if (!c->coefs_ready) bn_backward_coefs(c);
    if (!c->dx) return;
    size_t total = (size_t)c->n * on_shape_size(c->xs);
    on_parallel_range(c->threads, total > ON_PAR_MIN, (long)c->n * c->xs.c, grad_runs, c);
}

static int bn_y_slots(const on_attrs *a, on_shape xs) {
    (void)a;
    (void)xs;
    return 1;
}

static on_cost bn_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    on_cost k = on_cost_elementwise(xs, 2);
    k.flops_fwd += 3.0 * on_shape_size(xs); /* batch statistics in train mode */
    k.flops_bwd *= 3;
    return k;
}

const on_op on_op_batchnorm = {.name = "batchnorm",
                               .title = "batch normalization",
                               .props = ON_PROP_PER_CHANNEL | ON_PROP_TRAIN_DIFFERS |
                                        ON_PROP_PARAM_DEPENDENT,
                               .ninputs = 1,
                               .defaults = {.eps = 1e-5f, .momentum = 0.1f},
                               .args = "eps momentum",
                               .props_of = bn_props_of,
                               .shape = bn_shape,
                               .params = bn_params,
                               .saved_size = bn_saved,
                               .per_sample_epilogue = 1,
                               .y_slots = bn_y_slots,
                               .fuses = ON_FUSES_DCLAMP,
                               .in_place = ON_IN_PLACE_UNDER | ON_IN_PLACE_GRAD,
                               .sample_stats = bn_sample_stats,
                               .sample_grad_stats = bn_sample_grad_stats,
                               .backward_coefs = bn_backward_coefs,
                               .forward = bn_forward,
                               .backward = bn_backward,
                               .cost = bn_cost};
