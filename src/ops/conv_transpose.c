/* conv_transpose.c - 1-D and 2-D transposed convolution (PyTorch's ConvTranspose1d/2d,
 * Keras's Conv1DTranspose/Conv2DTranspose): the adjoint of convolution.
 *
 * Input (C,H,W) -> output (F,P,Q), P = (H-1) sh - pt - pb + dh (kh-1) + 1 + opad_h (and
 * likewise Q). Weights are PyTorch's (C, F/G, kh, kw): per group, the C/G x K matrix with
 * K = F/G kh kw. The layer is the transpose of the convolution that reads an (F,P,Q) image
 * and gives (C,H,W) with the same kernel, stride, padding and dilation, so:
 *   forward:     col (K, HW) = W_g^T x_g, then col2im adds col's columns into y_g, + bias
 *   input grad:  dx_g = W_g . im2col(dy_g)          (that convolution itself)
 *   weight grad: dW_g += x_g . im2col(dy_g)^T
 * in chunks of input rows (im2col.c's chunk size). Padding: explicit (PyTorch's padding,
 * taken off both ends; a tuple of 4 gives top, bottom, left, right), 'valid' (none) or
 * Keras's 'same' (output = input x stride; then output_padding must be 0). output_padding
 * adds rows and columns at the bottom and right, and must be smaller than the stride or
 * the dilation, as in PyTorch. Threads take whole samples; each has its own weight-gradient
 * partial sum, added in thread order.
 */
#include "op.h"
#include "conv_transpose.h"
#include "im2col.h"

#include <cblas.h>
#include <string.h>

/* One axis: input n -> output *out, padding *p0 (start), *p1 (end). */
static int taxis(int n, int k, int s, int d, int mode, const int *pad, int opad, int *p0, int *p1,
                 int *out, on_error *err) {
    int ext = d * (k - 1) + 1, extra = 0;
    if (mode == ON_PAD_SAME) {
        if (opad) return on_fail(err, "output_padding must be 0 with padding 'same'");
        int total = ext - s;
        *p0 = total > 0 ? total / 2 : 0;
        *p1 = total > 0 ? total - *p0 : 0;
        extra = total < 0 ? -total : 0; /* the kernel reaches less far than the stride */
    } else if (mode == ON_PAD_EXPLICIT) {
        *p0 = pad[0];
        *p1 = pad[1];
    } else
        *p0 = *p1 = 0;
    if (opad < 0 || (opad >= s && opad >= d))
        return on_fail(err,
                       "output_padding %d must be smaller than the stride %d or the dilation %d",
                       opad, s, d);
    long o = (long)(n - 1) * s + ext - *p0 - *p1 + opad + extra;
    if (o < 1 || o > (1l << 24))
        return on_fail(err,
                       "output length %ld (input %d, stride %d, kernel %d, dilation %d, padding "
                       "%d+%d, output_padding %d) is not in 1..2^24",
                       o, n, s, k, d, *p0, *p1, opad);
    *out = (int)o;
    return 0;
}

/* See conv_transpose.h. The geometry of the convolution this layer is the transpose of: it reads
 * the output (F, P, Q) and gives the input's size (H, W). */
int on_conv_t_geom(const on_attrs *a, on_shape xs, on_geom *g, on_error *err) {
    if (xs.rank < 2) return on_fail(err, "needs a spatial input (C,L) or (C,H,W)");
    if (a->kh < 1 || a->kw < 1 || a->kh > 4096 || a->kw > 4096)
        return on_fail(err, "kernel size must be 1 to 4096, got %dx%d", a->kh, a->kw);
    if (a->sh < 1 || a->sw < 1 || a->sh > 4096 || a->sw > 4096)
        return on_fail(err, "stride must be 1 to 4096, got %dx%d", a->sh, a->sw);
    if (a->dh < 1 || a->dw < 1 || a->dh > 4096 || a->dw > 4096)
        return on_fail(err, "dilation must be 1 to 4096, got %dx%d", a->dh, a->dw);
    for (int i = 0; i < 4; i++)
        if (a->pad_mode == ON_PAD_EXPLICIT && (a->pad[i] < 0 || a->pad[i] > 65536))
            return on_fail(err, "padding must be 0 to 65536, got %d", a->pad[i]);
    *g = (on_geom){.p = xs.h, .q = xs.w, .sh = a->sh, .sw = a->sw};
    if (taxis(xs.h, a->kh, a->sh, a->dh, a->pad_mode, a->pad, a->opad[0], &g->pt, &g->pb, &g->h,
              err) ||
        taxis(xs.w, a->kw, a->sw, a->dw, a->pad_mode, a->pad + 2, a->opad[1], &g->pl, &g->pr, &g->w,
              err))
        return -1;
    return 0;
}

static int ct_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    on_geom g;
    int G = on_groups(a);
    if (a->units <= 0) return on_fail(err, "needs a positive number of filters, got %d", a->units);
    if (xs.c % G || a->units % G)
        return on_fail(err, "groups=%d must divide the input channels (%d) and the filters (%d)", G,
                       xs.c, a->units);
    if (xs.rank == 2 && a->opad[0])
        return on_fail(err, "a 1-D layer has one output_padding, got (%d,%d)", a->opad[0],
                       a->opad[1]);
    if (on_conv_t_geom(a, xs, &g, err)) return -1;
    *ys = xs;
    ys->c = a->units;
    ys->h = g.h;
    ys->w = g.w;
    return 0;
}

static int ct_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)ys;
    int fg = a->units / on_groups(a), k = fg * a->kh * a->kw; /* PyTorch's fan-in */
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)xs.c * k,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = k,
                             .ndims = xs.rank == 2 ? 3 : 4,
                             .dims = {xs.c, fg, xs.rank == 2 ? a->kw : a->kh, a->kw}};
    if (!a->bias) return 1;
    out[1] = (on_param_desc){.name = "bias",
                             .size = (size_t)a->units,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = k,
                             .ndims = 1,
                             .dims = {a->units}};
    return 2;
}

/* Sizes: K rows of the matrix per group, R input rows per chunk. */
typedef struct tdims {
    int G, C, F, Cg, Fg, K, R, H, W, P, Q;
} tdims;

static tdims tdims_of(const on_attrs *a, on_shape xs, const on_geom *g) {
    tdims t = {
        .G = on_groups(a), .C = xs.c, .F = a->units, .H = xs.h, .W = xs.w, .P = g->h, .Q = g->w};
    t.Cg = t.C / t.G;
    t.Fg = t.F / t.G;
    t.K = t.Fg * a->kh * a->kw;
    t.R = on_im2col_chunk_rows(t.K, t.H, t.W);
    return t;
}

/* Per thread: the matrix of one chunk (K x R W), dW partial (C K), db partial (F) */
static size_t per_thread(const tdims *t) {
    return (size_t)t->K * t->R * t->W + (size_t)t->C * t->K + t->F;
}

static size_t ct_tmp_size(const on_attrs *a, on_shape xs, on_shape ys, int n, int threads) {
    (void)ys;
    (void)n;
    on_geom g;
    if (on_conv_t_geom(a, xs, &g, NULL)) return 0;
    tdims t = tdims_of(a, xs, &g);
    return (size_t)threads * per_thread(&t);
}

static void ct_forward(const on_call *c) {
    const on_attrs *a = c->a;
    on_geom g;
    on_conv_t_geom(a, c->xs, &g, NULL);
    tdims t = tdims_of(a, c->xs, &g);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), HW = (size_t)t.H * t.W;
    size_t PQ = (size_t)t.P * t.Q;
    int taps = a->kh * a->kw;
    if (c->n < c->threads && t.Fg >= c->threads) {
        /* batch-1 latency: the threads split each group's output channels, which are whole
         * row blocks of the matrix, so their col2im writes do not overlap */
        for (int i = 0; i < c->n; i++) {
            const float *x = c->x + xsz * i;
            float *y = c->y + ysz * i;
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                int f0 = t.Fg * th / T, f1 = t.Fg * (th + 1) / T;
                float *col = c->tmp + per_thread(&t) * th;
                for (int j = 0; j < t.G; j++) {
                    float *yj = y + PQ * ((size_t)t.Fg * j + f0);
                    memset(yj, 0, sizeof(float) * PQ * (f1 - f0));
                    for (int p0 = 0; p0 < t.H; p0 += t.R) {
                        int p1 = p0 + t.R < t.H ? p0 + t.R : t.H, n = (p1 - p0) * t.W;
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (f1 - f0) * taps, n,
                                    t.Cg, 1.0f, c->p[0] + (size_t)j * t.Cg * t.K + f0 * taps, t.K,
                                    x + HW * t.Cg * j + (size_t)p0 * t.W, (int)HW, 0.0f, col, n);
                        on_col2im(col, a, &g, f1 - f0, p0, p1, yj);
                    }
                    for (int f = f0; a->bias && f < f1; f++) {
                        float b = c->p[1][t.Fg * j + f], *yr = yj + PQ * (f - f0);
#pragma omp simd
                        for (size_t q = 0; q < PQ; q++) yr[q] += b;
                    }
                }
            }
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
        return;
    }
    on_queue q;
    on_queue_init(&q, c, c->n);
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id();
        float *col = c->tmp + per_thread(&t) * th;
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            const float *x = c->x + xsz * i;
            float *y = c->y + ysz * i;
            memset(y, 0, sizeof(float) * ysz);
            for (int p0 = 0; p0 < t.H; p0 += t.R) {
                int p1 = p0 + t.R < t.H ? p0 + t.R : t.H, n = (p1 - p0) * t.W;
                for (int j = 0; j < t.G; j++) {
                    /* col (K, n) = W_g^T (K, Cg) . x_g (Cg, n) */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t.K, n, t.Cg, 1.0f,
                                c->p[0] + (size_t)j * t.Cg * t.K, t.K,
                                x + HW * t.Cg * j + (size_t)p0 * t.W, (int)HW, 0.0f, col, n);
                    on_col2im(col, a, &g, t.Fg, p0, p1, y + PQ * t.Fg * j);
                }
            }
            if (a->bias)
                for (int f = 0; f < t.F; f++) {
                    float b = c->p[1][f], *yr = y + PQ * f;
#pragma omp simd
                    for (size_t j = 0; j < PQ; j++) yr[j] += b;
                }
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

static void ct_backward(const on_call *c) {
    const on_attrs *a = c->a;
    on_geom g;
    on_conv_t_geom(a, c->xs, &g, NULL);
    tdims t = tdims_of(a, c->xs, &g);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), HW = (size_t)t.H * t.W;
    size_t PQ = (size_t)t.P * t.Q, per = per_thread(&t), wsz = (size_t)t.C * t.K;
    size_t cn = (size_t)t.K * t.R * t.W;
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id(), T = on_thread_count();
        float *col = c->tmp + per * th, *dw = col + cn, *db = dw + wsz;
        memset(dw, 0, sizeof(float) * (wsz + t.F));
        for (int i = c->n * th / T; i < c->n * (th + 1) / T; i++) {
            const float *x = c->x + xsz * i, *dy = c->dy + ysz * i;
            float *dx = c->dx ? c->dx + xsz * i : NULL;
            for (int p0 = 0; p0 < t.H; p0 += t.R) {
                int p1 = p0 + t.R < t.H ? p0 + t.R : t.H, n = (p1 - p0) * t.W;
                for (int j = 0; j < t.G; j++) {
                    const float *wj = c->p[0] + (size_t)j * t.Cg * t.K;
                    const float *xj = x + HW * t.Cg * j + (size_t)p0 * t.W;
                    on_im2col(dy + PQ * t.Fg * j, a, &g, 0, t.K, p0, p1, col);
                    /* dW_g (Cg, K) += x_g (Cg, n) . col^T (n, K) */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t.Cg, t.K, n, 1.0f, xj,
                                (int)HW, col, n, 1.0f, dw + (size_t)j * t.Cg * t.K, t.K);
                    /* dx_g (Cg, n) = W_g (Cg, K) . col (K, n) */
                    if (dx)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t.Cg, n, t.K, 1.0f,
                                    wj, t.K, col, n, 0.0f, dx + HW * t.Cg * j + (size_t)p0 * t.W,
                                    (int)HW);
                }
            }
            if (a->bias)
                for (int f = 0; f < t.F; f++) { /* the output planes are large: in double */
                    double s = 0;
                    const float *d = dy + PQ * f;
#pragma omp simd reduction(+ : s)
                    for (size_t j = 0; j < PQ; j++) s += d[j];
                    db[f] += (float)s;
                }
        }
#pragma omp barrier
        /* reduce the per-thread partial sums in thread order; split the work by rows */
#pragma omp for schedule(static)
        for (size_t j = 0; j < wsz + t.F; j++) {
            float s = 0;
            for (int u = 0; u < T; u++) s += (c->tmp + per * u + cn)[j];
            if (j < wsz)
                c->dp[0][j] += s;
            else if (a->bias)
                c->dp[1][j - wsz] += s;
        }
    }
}

static on_cost ct_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    double k = (double)a->units / on_groups(a) * a->kh * a->kw, in = (double)on_shape_size(xs);
    double out = (double)on_shape_size(ys), mac = in * k, wbytes = 4.0 * xs.c * k;
    double io = 4.0 * (in + out);
    return (on_cost){.flops_fwd = 2 * mac + (a->bias ? out : 0),
                     .flops_bwd = 4 * mac + (a->bias ? out : 0),
                     .bytes_fwd = io + wbytes,
                     .bytes_bwd = 2 * io + 2 * wbytes};
}

#define CT_ARGS "filters kernel stride padding output_padding dilation bias groups"
#define CT_DEFAULTS(kh_)                                                                           \
    {                                                                                              \
        .units = 0, .kh = kh_, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1,                        \
        .pad_mode = ON_PAD_VALID, .bias = 1, .groups = 1                                           \
    }

const on_op on_op_conv2d_transpose = {.name = "conv2d_transpose",
                                      .title = "2-D transposed convolution",
                                      .props = ON_PROP_LINEAR_MAP,
                                      .ninputs = 1,
                                      .spatial = 3,
                                      .per_sample_epilogue = 1,
                                      .defaults = CT_DEFAULTS(3),
                                      .args = CT_ARGS,
                                      .shape = ct_shape,
                                      .params = ct_params,
                                      .tmp_size = ct_tmp_size,
                                      .forward = ct_forward,
                                      .backward = ct_backward,
                                      .cost = ct_cost};

const on_op on_op_conv1d_transpose = {.name = "conv1d_transpose",
                                      .title = "1-D transposed convolution",
                                      .props = ON_PROP_LINEAR_MAP,
                                      .ninputs = 1,
                                      .spatial = 2,
                                      .per_sample_epilogue = 1,
                                      .defaults = CT_DEFAULTS(1),
                                      .args = CT_ARGS,
                                      .shape = ct_shape,
                                      .params = ct_params,
                                      .tmp_size = ct_tmp_size,
                                      .forward = ct_forward,
                                      .backward = ct_backward,
                                      .cost = ct_cost};
