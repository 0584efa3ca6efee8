/* dense.c - fully connected layer: y = x W^T + b, W laid out (out, in) as in PyTorch.
 * Backward: one sgemm per pass over the whole batch; forward: one per thread on its rows,
 * or at batch 1 dot products (dense_dots). */
#include "op.h"

#include <cblas.h>

static int dense_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->units <= 0) return on_fail(err, "needs a positive number of units, got %d", a->units);
    if (xs.rank != 1) return on_fail(err, "needs a flat input (F): add flatten or global_avgpool");
    *ys = (on_shape){.rank = 1, .c = a->units, .h = 1, .w = 1};
    return 0;
}

static int dense_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)ys;
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)a->units * xs.c,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = xs.c,
                             .ndims = 2,
                             .dims = {a->units, xs.c}};
    if (!a->bias) return 1;
    out[1] = (on_param_desc){.name = "bias",
                             .size = (size_t)a->units,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = xs.c,
                             .ndims = 1,
                             .dims = {a->units}};
    return 2;
}

/* Outputs [o0, o1) of y = W x + b, one sample: each a dot product in eight vectors of
 * partial sums, then their lanes and the tail in a fixed order (the same bits however the
 * outputs are split). OpenBLAS's sgemv took 6-7 us for the reference model's 3136 -> 10, a
 * tenth of its batch-1 latency; these take 2. */
ON_VECTOR_CLONES static void dense_dots(const void *ctx, long o0, long o1) {
    const on_call *c = ctx;
    int In = c->xs.c, I64 = In / 64 * 64;
    const float *x = c->x;
    for (long o = o0; o < o1; o++) {
        const float *w = c->p[0] + (size_t)o * In;
        vf acc[8] = {{0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}};
        for (int i = 0; i < I64; i += 64)
            _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) acc[k] +=
                VLOAD(w + i + 8 * k) * VLOAD(x + i + 8 * k);
        vf v = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        float s = 0;
        for (int j = 0; j < 8; j++) s += v[j];
        for (int i = I64; i < In; i++) s += w[i] * x[i];
        c->y[o] = c->a->bias ? s + c->p[1][o] : s;
    }
}

/* Rows [i0, i1) of y = x W^T + b */
static void dense_rows(const void *ctx, long i0, long i1) {
    const on_call *c = ctx;
    int In = c->xs.c, Out = c->a->units;
    float *y = c->y + i0 * Out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(i1 - i0), Out, In, 1.0f,
                c->x + i0 * In, In, c->p[0], In, 0.0f, y, Out);
    if (c->a->bias)
        for (long i = 0; i < i1 - i0; i++)
            for (int o = 0; o < Out; o++) y[i * Out + o] += c->p[1][o];
}

/* x (N,I), W (O,I), b (O) -> y (N,O). Outside a parallel region OpenBLAS threads a product
 * itself, and for a batch's few outputs (the reference model's 256 x 3136 by 3136 x 10) its
 * two threads took 0.48 ms against one's 0.26; split by rows, each thread's product runs
 * on that thread alone (OpenBLAS's OpenMP build does not nest). */
static void dense_fwd(const on_call *c) {
    int N = c->n, In = c->xs.c, Out = c->a->units;
    if (N == 1) { /* batch-1 latency: dot products, no BLAS call; the threads split the
                     outputs where the weights are a megabyte or more (a classifier's) */
        on_parallel_range(c->threads, (size_t)In * Out >= (1 << 18), Out, dense_dots, c);
        return;
    }
    on_parallel_range(c->threads, N >= 16 * c->threads, N, dense_rows, c);
}

static void dense_bwd(const on_call *c) {
    int N = c->n, In = c->xs.c, Out = c->a->units;
    /* dW (O,I) += dy^T (O,N) . x (N,I) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Out, In, N, 1.0f, c->dy, Out, c->x, In,
                1.0f, c->dp[0], In);
    if (c->a->bias)
        for (int o = 0; o < Out; o++) {
            float s = 0;
            for (int i = 0; i < N; i++) s += c->dy[(size_t)i * Out + o];
            c->dp[1][o] += s;
        }
    /* dx (N,I) = dy (N,O) . W (O,I) */
    if (c->dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, In, Out, 1.0f, c->dy, Out,
                    c->p[0], In, 0.0f, c->dx, In);
}

static on_cost dense_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)ys;
    double mac = (double)a->units * xs.c, w = 4.0 * mac;
    return (on_cost){.flops_fwd = 2 * mac,
                     .flops_bwd = 4 * mac,
                     .bytes_fwd = w + 4.0 * (xs.c + a->units),
                     .bytes_bwd = 2 * w + 8.0 * (xs.c + a->units)};
}

const on_op on_op_dense = {.name = "dense",
                           .title = "fully connected",
                           .props = ON_PROP_LINEAR_MAP,
                           .ninputs = 1,
                           .spatial = 1,
                           .in_place = ON_IN_PLACE_UNDER,
                           .defaults = {.units = 0, .bias = 1},
                           .args = "units bias",
                           .shape = dense_shape,
                           .params = dense_params,
                           .forward = dense_fwd,
                           .backward = dense_bwd,
                           .cost = dense_cost};
