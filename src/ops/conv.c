/* conv.c - 1-D and 2-D convolution as im2col + sgemm (OpenBLAS).
 *
 * A 1-D signal (C,L) is an image with H = 1, so conv1d is conv2d with kh = 1.
 * Weights are laid out as PyTorch's: (F, C/G, kh, kw) for G groups, which per group is the
 * F/G x K matrix that multiplies the K x (P*Q) im2col matrix of the group's C/G input
 * channels, K = C/G*kh*kw. Depthwise convolutions (G = C, F = C x multiplier) do not go
 * through im2col: conv_depthwise.c sums them directly.
 * Samples are split into one contiguous range per thread; each thread has its own
 * im2col buffer and its own weight-gradient partial sum, added in thread order, so
 * the result depends on the thread count but not on scheduling.
 */
#include "op.h"
#include "conv_depthwise.h"
#include "conv_direct.h"
#include "conv_variant.h"
#include "gemm.h"
#include "conv_taps.h"
#include "conv_winograd.h"
#include "conv_wino4.h"
#include "conv_wino4c.h"
#include "geom.h"
#include "im2col.h"

#include <cblas.h>
#include <string.h>

static int conv_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    on_geom g;
    if (a->units <= 0) return on_fail(err, "needs a positive number of filters, got %d", a->units);
    int G = on_groups(a);
    if (G > 1 && (xs.c % G || a->units % G))
        return on_fail(err, "groups=%d must divide the input channels (%d) and the filters (%d)", G,
                       xs.c, a->units);
    if (on_geom_make(a, xs, 1, &g, err)) return -1;
    *ys = xs;
    ys->c = a->units;
    ys->h = g.p;
    ys->w = g.q;
    return 0;
}

static int conv_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)ys;
    int cg = xs.c / on_groups(a), k = cg * a->kh * a->kw;
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)a->units * k,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = k,
                             .ndims = xs.rank == 2 ? 3 : 4,
                             .dims = {a->units, cg, xs.rank == 2 ? a->kw : a->kh, a->kw}};
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

/* Which kernels may run, for A/B benchmarks in one process (bench/conv_ab.c) and for tests
 * that hold every kernel to the double-precision reference: 0 (the default) lets each shape
 * take its fastest kernel; ON_CONV_NO_* bits (conv_variant.h) turn kernels off. Set it only
 * between calls. */
int on_conv_variant = 0;

/* True when the input itself is the im2col matrix (1x1, stride 1, no padding). */
static int is_pointwise(const on_attrs *a, const on_geom *g) {
    return a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 && g->pt == 0 && g->pb == 0 &&
           g->pl == 0 && g->pr == 0;
}

/* Columns a product should have at least: OpenBLAS packs the weights (F x K) for every
 * call, so a product of few columns spends its time packing (a 3x3 stride-2 conv on 14x14
 * with 512 channels, im2col in chunks of 2 output rows: 14 columns, 26 GFLOP/s). */
enum { MIN_COLS = 192 };

/* Samples go side by side only where the weights (F K floats) are this large (64 KB):
 * packing small ones costs little. */
enum { GROUP_MIN_WEIGHTS = 16384 };

/* grow: apply MIN_COLS (not with ON_CONV_NO_GROUP; scratch sizes always do) */
static int grow_products(void) {
    return !(on_conv_variant & ON_CONV_NO_GROUP);
}

/* The im2col matrix is built for a chunk of output rows at a time (on_im2col_chunk_rows):
 * a 7x7 stem on a 224x224 image would otherwise write and read a 7.4 MB matrix per image.
 * A chunk has at least MIN_COLS columns where the image has them. A 1x1 kernel's matrix
 * (strided: the input's pixels at the stride) is no larger than its input: whole, one
 * product a sample (ResNet-50's 1x1 stride-2 256->512 on 56x56 took 0.64x the time at
 * batch 1, 0.72x at batch 8; 3x3 stride-2 kernels gained nothing so at batch 1). */
static int chunk_rows(const on_attrs *a, int K, int P, int Q, int grow) {
    if (a->kh == 1 && a->kw == 1) return P;
    int r = on_im2col_chunk_rows(K, P, Q), m = (MIN_COLS + Q - 1) / Q;
    if (grow && r < m) r = m < P ? m : P;
    return r;
}

/* Samples side by side in one product (conv_forward_groups) for images of fewer than
 * MIN_COLS output pixels: at most half the batch, so that two threads have work. From the
 * shape and the batch only, not the thread count, so that the output does not depend on it. */
static int group_samples(int PQ, int n, size_t weights, int grow) {
    if (!grow || PQ >= MIN_COLS || weights < GROUP_MIN_WEIGHTS) return 1;
    int s = (MIN_COLS + PQ - 1) / PQ, half = (n + 1) / 2;
    if (s > half) s = half;
    return s < 1 ? 1 : s;
}

/* The row length of a forward's im2col matrix of `cols` columns (floats apart): whole 64-byte
 * lines, an odd number of them. The product loads 16 columns of a row at a time; with rows
 * cols apart (196 floats: 784 bytes) half those loads took two lines, and gemm.c ran ResNet's
 * stride-2 products (128 x 196 x 576, 256 x 98 x 1152, 512 x 49 x 2304) 1.07x, 1.08x and
 * 1.16x faster on padded rows (one thread, Zen 3); ResNet-18 at batch 1 took 0.96x the time
 * (lib_ab, two threads, 15 rounds), ResNet-50 0.99x. An odd count keeps the rows off a
 * power-of-two stride, which put them in few of the cache's sets. */
static size_t col_ld(size_t cols) {
    return 16 * (((cols + 15) / 16) | 1);
}

/* im2col's block per thread for a batch of n, whole lines: col and dcol (K x chunk each), dW
 * partial (F*K), db partial (F); a forward's col (K x col_ld(chunk)); or, where samples go
 * side by side, col and the product (K and F rows of col_ld(S PQ)) */
static size_t im2col_block(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    size_t k = (size_t)xs.c / on_groups(a) * a->kh * a->kw, pq = (size_t)ys.h * ys.w;
    size_t cols = (size_t)chunk_rows(a, (int)k, ys.h, ys.w, 1) * ys.w;
    size_t b = 2 * k * cols + (size_t)a->units * (k + 1), fw = k * col_ld(cols);
    size_t s = (size_t)group_samples((int)pq, n, k * a->units, 1) * pq;
    size_t f = (k + a->units) * col_ld(s);
    if (b < fw) b = fw;
    if (b < f) b = f;
    return (b + 15) / 16 * 16;
}

static size_t conv_tmp_default(const on_attrs *a, on_shape xs, on_shape ys, int n, int threads);

/* im2col's blocks, or what the kernel that applies needs; with on_conv_variant set (kernels
 * may be switched between calls) the most any of them needs */
static size_t conv_tmp_size(const on_attrs *a, on_shape xs, on_shape ys, int n, int threads) {
    size_t s = conv_tmp_default(a, xs, ys, n, threads);
    if (on_conv_variant) {
        on_geom g;
        on_geom_make(a, xs, 1, &g, NULL);
        size_t i2c = (size_t)threads * im2col_block(a, xs, ys, n);
        size_t taps = on_conv_taps_apply(a, &g, xs.c) ? on_conv_taps_tmp(a, &g, xs.c, threads) : 0;
        if (s < i2c) s = i2c;
        if (s < taps) s = taps;
    }
    return s;
}

static size_t conv_tmp_default(const on_attrs *a, on_shape xs, on_shape ys, int n, int threads) {
    on_geom g;
    on_geom_make(a, xs, 1, &g, NULL);
    if (on_conv_dw_apply(a, &g, xs.c)) return on_conv_dw_tmp(a, &g, threads);
    if (on_groups(a) > 1) return (size_t)threads * im2col_block(a, xs, ys, n);
    if (on_conv_wino_apply(a, &g, xs.c)) {
        size_t w = on_conv_wino_tmp(a, &g, xs.c, n, threads);
        if (on_conv_wino4_may(a, &g, xs.c)) { /* inference's F(4x4) */
            size_t w4 = on_conv_wino4_tmp(a, &g, xs.c, threads);
            if (w < w4) w = w4;
        }
        if (on_conv_wino4c_may(a, &g, xs.c)) { /* ... with channels in the lanes */
            size_t w4 = on_conv_wino4c_tmp(a, &g, xs.c, threads);
            if (w < w4) w = w4;
        }
        return w;
    }
    if (on_conv_taps_apply(a, &g, xs.c)) return on_conv_taps_tmp(a, &g, xs.c, threads);
    if (on_conv_direct_apply(a, &g, xs.c)) return on_conv_direct_tmp(a, &g, xs.c, threads);
    size_t i2c = (size_t)threads * im2col_block(a, xs, ys, n); /* the gradients' */
    if (on_conv_direct2_apply(a, &g, xs.c)) {
        size_t d2 = on_conv_direct2_tmp(a, &g, xs.c, threads);
        return d2 > i2c ? d2 : i2c;
    }
    return i2c;
}

/* Kept between calls: the Winograd kernels' transformed weights, where they apply: F(2x2)'s,
 * then F(4x4)'s where inference may take it. */
static size_t conv_saved_size(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    (void)ys;
    (void)n;
    on_geom g;
    on_geom_make(a, xs, 1, &g, NULL);
    if (on_groups(a) > 1 || !on_conv_wino_apply(a, &g, xs.c)) return 0;
    size_t s = on_conv_wino_saved(a, xs.c);
    if (on_conv_wino4_may(a, &g, xs.c)) s += on_conv_wino4_saved(a, xs.c);
    return on_conv_wino4c_may(a, &g, xs.c) ? s + on_conv_wino4c_saved(a, xs.c) : s;
}

/* Rows [f0, f1) of n values, rows PQ apart, plus the residual (c->resid) and clamped
 * (c->clamp: on_clamp, the ReLU, ReLU6 or hardtanh after the convolution) */
ON_WIDE_CLONES static void clamp_block(const on_call *c, float *y, int f0, int f1, int n, int PQ) {
    float lo = c->clamp_lo, hi = c->clamp_hi;
    ptrdiff_t roff = c->resid ? c->resid - c->y : 0; /* another tensor: never within a vector */
    vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
    for (int f = f0; f < f1; f++) {
        float *yr = y + (size_t)f * PQ;
        int j = 0;
        /* in vectors, written out (the compiler left both loops scalar): the same sums and
         * on_clamp's expression lane by lane */
        for (; j + 8 <= n; j += 8) {
            vf v = VLOAD(yr + j);
            if (roff) v += VLOAD(yr + j + roff);
            if (c->clamp) ON_VCLAMP(vf, vi, v, vlo, vhi);
            VSTORE(yr + j, v);
        }
        for (; j < n; j++) {
            float v = roff ? yr[j] + yr[j + roff] : yr[j];
            yr[j] = c->clamp ? on_clamp(v, lo, hi) : v;
        }
    }
}

/* y[f0, f1) = W[f0, f1) . col + b for the n = (p1-p0)*Q columns from output row p0, plus
 * the residual and clamped where c->resid, c->clamp; y's rows are PQ apart */
static void conv_rows(const on_call *c, int f0, int f1, int K, int p0, int n, int PQ,
                      const float *col, int ldb, float *y) {
    if (f1 <= f0) return;
    float *yc = y + (size_t)p0 * c->ys.w;
    const float *w = c->p[0] + (size_t)f0 * K, clamp[2] = {c->clamp_lo, c->clamp_hi};
    /* the bias first, then y += W col, then the residual and the clamp (in registers where
     * gemm.c's AVX-512 kernel runs, else y set to the bias): sgemm with beta = 0 would
     * clear y in a pass of its own, and adding the bias after would be another */
    if (c->a->bias || c->clamp || c->resid)
        on_product_bias(f1 - f0, n, K, w, K, 1, col, ldb, c->a->bias ? c->p[1] + f0 : NULL,
                        c->resid ? c->resid - c->y : 0, c->clamp ? clamp : NULL,
                        yc + (size_t)f0 * PQ, PQ);
    else
        on_product(f1 - f0, n, K, w, K, 1, col, ldb, yc + (size_t)f0 * PQ, PQ, 0);
}

typedef struct clamp_job {
    const on_call *c;
    float *y;
} clamp_job;

static void clamp_planes(const void *ctx, long f0, long f1) {
    const clamp_job *j = ctx;
    int PQ = j->c->ys.h * j->c->ys.w;
    clamp_block(j->c, j->y, (int)f0, (int)f1, PQ, PQ);
}

/* Kernels that do not add the residual and clamp in their stores (the taps, direct): their
 * call with each finished sample so finished before the epilogue sees it;
 * by the call's threads where the sample was theirs together (called outside a parallel
 * region: batch 1). */
static void clamp_sample(void *ctx, int s) {
    const on_call *c = ctx;
    clamp_job j = {c, c->y + on_shape_size(c->ys) * s};
    int threads = on_in_region() ? 1 : c->threads;
    on_parallel_range(threads, on_shape_size(c->ys) > ON_PAR_MIN, c->ys.c, clamp_planes, &j);
    if (c->epilogue) c->epilogue(c->epilogue_ctx, s);
}

static const on_call *clamp_after(const on_call *c, on_call *cc) {
    if (!c->clamp && !c->resid) return c;
    *cc = *c;
    cc->clamp = 0;
    cc->resid = NULL;
    cc->epilogue = clamp_sample;
    cc->epilogue_ctx = (void *)c;
    return cc;
}

/* A 1x1 convolution at batch 1 whose input is larger than its weights (more output pixels
 * than filters: ResNet's 56x56 and 28x28 stages, MobileNet's pointwise layers before 14x14)
 * is split by output rows, each thread multiplying all the filters by its rows of the
 * input; split by filters, each thread read all of the input (3.2 MB at 256 channels of
 * 56x56), half of it from the other core: ResNet-50 took 1.05x the time at batch 1 on two
 * threads, MobileNet v2 1.14x. (The other kernels at batch 1 split by chunks of rows where
 * the image has two a thread.) */
static int pw_by_rows(int F, int PQ, int P, int T) {
    return PQ > F && P >= T && !(on_conv_variant & ON_CONV_PW_BY_FILTERS);
}

/* A sample split by filters whose matrix (K x PQ: a 1x1 convolution's input, or im2col's
 * one chunk) is larger than half of L2 (ResNet-50's 1024 channels on 14x14: 800 KB): each
 * thread its static share of the filters in one product, not units from on_queue. Each
 * unit's product read all of the matrix from L3 again: the 1x1 1024 -> 256 and 1024 -> 512
 * layers on 14x14 alone took 0.920x and 0.953x the time so, the 3x3 stride-2 128 -> 256 and
 * 256 -> 256 on 28x28 0.949x and 0.961x (conv_ab, batch 1, two threads), even on CPUs that
 * ran at 0.87x of each other's speed that day; with the 1x1 layers, ResNet-50 at batch 1
 * 0.968x-0.988x (lib_ab, three runs), then with the 3x3 too ResNet-18 0.963x and 0.965x,
 * ResNet-50 0.971x-1.017x (four runs); with half of L2's floats (so also the 1x1 2048 -> 512
 * layers on 7x7) 1.004x. Where gemm.c's kernel runs the products only, whose bits do not
 * depend on the rows a product takes (OpenBLAS's may): the same bits as the units and as
 * one thread. */
enum { WHOLE_FLOATS = 131072 };
static int whole_shares(int K, int PQ) {
    return (size_t)K * PQ > WHOLE_FLOATS && on_gemm_wide() &&
           !(on_conv_variant & ON_CONV_BLAS_PRODUCTS);
}

/* Fewer samples than threads (batch-1 latency): the threads share each sample. An image
 * of at least two chunks of output rows a thread (ResNet's 7x7 stem at 224x224: 14 chunks)
 * is split by chunks, each thread building its own chunks' im2col matrix and multiplying
 * all the filters; a smaller one by filters, each thread building the whole matrix in its
 * own block (a 1x1 convolution by rows where pw_by_rows says). Split by filters with the
 * matrix built together (by rows of it, a barrier before the product), the stem ran 1.25x
 * faster on two threads than on one; and where the two cores share no cache (on these
 * machines, at times), each product read half its matrix from the other core: ResNet-18's
 * stride-2 layers so made the whole model 1.06x slower at batch 1 (built twice: the same
 * time where the cores share a cache). Split by filters (one chunk), the filters go in units
 * (on_filter_unit()) handed out by on_queue: each thread its share, then units of the other's
 * where it is done first. The two CPUs of these machines ran at times at 0.7x of each
 * other's speed, and even shares left the fast one waiting: ResNet's 3x3 stride-2 256 -> 512
 * on 14x14 took 0.90x the time so at such a time, ResNet-50 at batch 1 0.96x, ResNet-18
 * 0.95x-0.98x (with conv_winograd.c's units); where they ran alike, 1.00x. */
static void conv_forward_shared(const on_call *c, const on_geom *g, int pw) {
    const on_attrs *a = c->a;
    int F = a->units, C = c->xs.c, K = C * a->kh * a->kw, PQ = g->p * g->q, T = c->threads;
    int R = pw ? g->p : chunk_rows(a, K, g->p, g->q, grow_products()), chunks = (g->p + R - 1) / R;
    int by_chunks = !pw && chunks >= 2 * T, by_rows = pw && pw_by_rows(F, PQ, g->p, T);
    int fu = on_filter_unit(F), units = (F + fu - 1) / fu;
    int whole = whole_shares(K, PQ);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys);
    size_t per = im2col_block(a, c->xs, c->ys, c->n);
    for (int i = 0; i < c->n; i++) {
        const float *x = c->x + xsz * i;
        float *y = c->y + ysz * i;
        on_queue q; /* by filters: units of fu filters, taken as on_queue hands them out */
        on_queue_init(&q, c, units);
#pragma omp parallel num_threads(c->threads)
        {
            int t = on_thread_id(), Tt = on_thread_count();
            float *col = c->tmp + per * t;
            if (by_rows) { /* each thread its rows of the input, all the filters */
                int p0 = g->p * t / Tt, p1 = g->p * (t + 1) / Tt;
                conv_rows(c, 0, F, K, p0, (p1 - p0) * g->q, PQ, x + (size_t)p0 * g->q, PQ, y);
            } else if (by_chunks) /* each thread its chunks of rows, all the filters */
                for (int k = chunks * t / Tt; k < chunks * (t + 1) / Tt; k++) {
                    int p0 = k * R, p1 = p0 + R < g->p ? p0 + R : g->p, n = (p1 - p0) * g->q;
                    on_im2col_ld(x, a, g, 0, K, p0, p1, col, col_ld(n));
                    conv_rows(c, 0, F, K, p0, n, PQ, col, (int)col_ld(n), y);
                }
            else
                for (int k = 0; k < chunks; k++) { /* the whole matrix in each thread's block */
                    int p0 = k * R, p1 = p0 + R < g->p ? p0 + R : g->p, n = (p1 - p0) * g->q;
                    /* a 1x1 input whose rows are not whole lines apart (14x14, 7x7) copied into
                     * rows that are, as im2col's: ResNet-50's 1x1 products there took
                     * 0.84x-0.92x the time so, the copy included (one thread's share, its
                     * weights and input from memory); MobileNet v2 at batch 1 0.906x-0.940x,
                     * ResNet-50 0.955x-1.026x, no gain (lib_ab, 11-25 rounds, three runs) */
                    int copy = pw && PQ % 16, ld = pw && !copy ? PQ : (int)col_ld(n);
                    if (copy)
                        for (int r = 0; r < K; r++)
                            memcpy(col + (size_t)r * ld, x + (size_t)r * PQ, sizeof(float) * PQ);
                    else if (!pw)
                        on_im2col_ld(x, a, g, 0, K, p0, p1, col, (size_t)ld);
                    const float *b = pw && !copy ? x : col;
                    if (chunks > 1 || units == 1 || whole) /* each thread its static share */
                        conv_rows(c, F * t / Tt, F * (t + 1) / Tt, K, p0, n, PQ, b, ld, y);
                    else
                        for (int j = 0, u; (u = on_queue_next(&q, &j)) >= 0;) {
                            int f1 = (u + 1) * fu < F ? (u + 1) * fu : F;
                            conv_rows(c, u * fu, f1, K, p0, n, PQ, b, ld, y);
                        }
                }
        }
        if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
    }
}

/* y (F planes of PQ) = the product's rows (m apart) + the bias, plus the residual, clamped:
 * conv_forward_groups's copy out, in vectors (the compiler left the loop with the clamp
 * scalar: MobileNet v2's 7x7 pointwise layers with their ReLU6 took 1.7x the time of those
 * without). v = in + b, then + r, then on_clamp's expression, lane by lane. */
ON_WIDE_CLONES static void group_out(const on_call *c, const float *in, size_t m, int PQ,
                                     float *y) {
    ptrdiff_t roff = c->resid ? c->resid - c->y : 0; /* another tensor: never within a vector */
    float lo = c->clamp_lo, hi = c->clamp_hi;
    vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
    for (int f = 0; f < c->a->units; f++) {
        const float *src = in + f * m;
        float b = c->a->bias ? c->p[1][f] : 0.0f, *out = y + (size_t)f * PQ;
        int j = 0;
        for (; j + 8 <= PQ; j += 8) {
            vf v = VLOAD(src + j) + b;
            if (roff) v += VLOAD(out + j + roff);
            if (c->clamp) ON_VCLAMP(vf, vi, v, vlo, vhi);
            VSTORE(out + j, v);
        }
        for (; j < PQ; j++) {
            float v = src[j] + b;
            if (roff) v += out[j + roff];
            out[j] = c->clamp ? on_clamp(v, lo, hi) : v;
        }
    }
}

/* Small images, G = 1: S samples' im2col matrices side by side in col (K rows of ld >= S PQ;
 * the input itself for 1x1), one product into yt (F rows of ld), copied out to each sample's
 * planes with the bias. The threads take whole groups of samples. */
static void conv_forward_groups(const on_call *c, const on_geom *g, int pw, int S) {
    const on_attrs *a = c->a;
    int F = a->units, K = c->xs.c * a->kh * a->kw, PQ = g->p * g->q;
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), ld = col_ld((size_t)S * PQ);
    size_t per = im2col_block(a, c->xs, c->ys, c->n);
    int groups = (c->n + S - 1) / S;
    on_queue q;
    on_queue_init(&q, c, groups);
#pragma omp parallel num_threads(c->threads)
    {
        int t = on_thread_id();
        float *col = c->tmp + per * t, *yt = col + (size_t)K * ld;
        for (int k = 0, gi; (gi = on_queue_next(&q, &k)) >= 0;) {
            int i0 = gi * S, i1 = i0 + S < c->n ? i0 + S : c->n;
            size_t m = (size_t)(i1 - i0) * PQ;
            for (int i = i0; i < i1; i++) {
                const float *x = c->x + xsz * i;
                float *cs = col + (size_t)(i - i0) * PQ;
                if (pw)
                    for (int k = 0; k < K; k++)
                        memcpy(cs + k * ld, x + (size_t)k * PQ, sizeof(float) * PQ);
                else
                    on_im2col_ld(x, a, g, 0, K, 0, g->p, cs, ld);
            }
            on_product(F, (int)m, K, c->p[0], K, 1, col, (ptrdiff_t)ld, yt, (ptrdiff_t)ld, 0);
            for (int i = i0; i < i1; i++) {
                group_out(c, yt + (size_t)(i - i0) * PQ, ld, PQ, c->y + ysz * i);
                if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
            }
        }
    }
}

/* The kernels a forward may take */
typedef enum {
    K_IM2COL, /* im2col + products (1x1 without the copy), in conv.c */
    K_DW,     /* depthwise: conv_depthwise.c */
    K_WINO4,  /* Winograd F(4x4): conv_wino4.c (inference) */
    K_WINO4C, /* F(4x4), channels in the lanes: conv_wino4c.c (inference, small images) */
    K_WINO,   /* Winograd F(2x2): conv_winograd.c */
    K_TAPS,   /* tap by tap: conv_taps.c */
    K_DIRECT, /* 1-3 channels, stride 1: conv_direct.c */
    K_DIRECT2 /* 1-3 channels, stride 2: conv_direct2.c */
} conv_kernel;

/* Which kernel the forward takes for this layer (train: a training forward), as
 * on_conv_variant allows; conv_fuses_pool asks it too, so that what inference fuses into the
 * kernel's stores follows the kernel that runs */
static conv_kernel kernel_of(const on_attrs *a, const on_geom *g, int C, int train) {
    if (on_conv_dw_apply(a, g, C)) return K_DW;
    if (on_groups(a) != 1) return K_IM2COL;
    if (on_conv_wino4c_use(a, g, C, train)) return K_WINO4C;
    if (on_conv_wino4_use(a, g, C, train)) return K_WINO4;
    if (!(on_conv_variant & ON_CONV_NO_WINO) && on_conv_wino_apply(a, g, C)) return K_WINO;
    if (!(on_conv_variant & ON_CONV_NO_TAPS) && on_conv_taps_apply(a, g, C)) return K_TAPS;
    if (on_conv_direct_apply(a, g, C)) return K_DIRECT;
    if (on_conv_direct2_apply(a, g, C) && !(on_conv_variant & ON_CONV_NO_DIRECT2)) return K_DIRECT2;
    return K_IM2COL;
}

/* x (N,C,H,W), W (F,K), b (F) -> y (N,F,P,Q); with G groups, group j's F/G filters read
 * its C/G channels only */
static void conv_forward(const on_call *c) {
    const on_attrs *a = c->a;
    on_geom g;
    on_geom_make(a, c->xs, 1, &g, NULL);
    int G = on_groups(a), F = a->units, C = c->xs.c, Fg = F / G, Cg = C / G;
    int K = Cg * a->kh * a->kw, PQ = g.p * g.q;
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), xg = (size_t)Cg * g.h * g.w;
    size_t per = im2col_block(a, c->xs, c->ys, c->n);
    int pw = is_pointwise(a, &g), R = pw ? g.p : chunk_rows(a, K, g.p, g.q, grow_products());
    on_call cc;
    switch (kernel_of(a, &g, C, c->train)) {
    case K_DW:
        on_conv_dw_forward(c, &g);
        return;
    case K_WINO4: /* F(2x2)'s memory, then F(4x4)'s */
        /* it clamps in its stores; a residual add it leaves to a pass after each sample: read
         * in the transform's order (short runs of many planes), the residual, computed a
         * few layers before, made ResNet-18's 56x56 layers 1.2x slower (c->resid: never) */
        on_conv_wino4_forward(c->resid ? clamp_after(c, &cc) : c, &g, on_conv_wino_saved(a, C));
        return;
    case K_WINO4C: { /* after F(2x2)'s and F(4x4)'s memory; a residual add as for F(4x4) */
        size_t off = on_conv_wino_saved(a, C);
        if (on_conv_wino4_may(a, &g, C)) off += on_conv_wino4_saved(a, C);
        on_conv_wino4c_forward(c->resid ? clamp_after(c, &cc) : c, &g, off);
        return;
    }
    case K_WINO:
        on_conv_wino_forward(c, &g); /* adds and clamps itself */
        return;
    case K_TAPS:
        on_conv_taps_forward(clamp_after(c, &cc), &g);
        return;
    case K_DIRECT: /* clamps itself */
        on_conv_direct_forward(c->resid ? clamp_after(c, &cc) : c, &g);
        return;
    case K_DIRECT2:
        on_conv_direct2_forward(c->resid ? clamp_after(c, &cc) : c, &g); /* clamps itself */
        return;
    case K_IM2COL:
        break;
    }
    if (G == 1 && c->n < c->threads && F >= 2 * c->threads) {
        conv_forward_shared(c, &g, pw);
        return;
    }
    int S =
        G == 1 && c->n >= c->threads ? group_samples(PQ, c->n, (size_t)F * K, grow_products()) : 1;
    if (S > 1) {
        conv_forward_groups(c, &g, pw, S);
        return;
    }
    if (G >= c->threads && c->n < c->threads) { /* batch-1 latency: the threads split groups */
        for (int i = 0; i < c->n; i++) {
            const float *x = c->x + xsz * i;
            float *y = c->y + ysz * i;
#pragma omp parallel num_threads(c->threads)
            {
                int t = on_thread_id(), T = on_thread_count();
                float *col = c->tmp + per * t;
                for (int j = G * t / T; j < G * (t + 1) / T; j++)
                    for (int p0 = 0; p0 < g.p; p0 += R) {
                        int p1 = p0 + R < g.p ? p0 + R : g.p, n = (p1 - p0) * g.q;
                        int ld = pw ? n : (int)col_ld(n);
                        if (!pw) on_im2col_ld(x + xg * j, a, &g, 0, K, p0, p1, col, (size_t)ld);
                        conv_rows(c, Fg * j, Fg * (j + 1), K, p0, n, PQ, pw ? x + xg * j : col, ld,
                                  y);
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
        int t = on_thread_id();
        float *col = c->tmp + per * t;
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            const float *x = c->x + xsz * i;
            float *y = c->y + ysz * i;
            for (int p0 = 0; p0 < g.p; p0 += R) {
                int p1 = p0 + R < g.p ? p0 + R : g.p, n = (p1 - p0) * g.q;
                int ld = pw ? n : (int)col_ld(n);
                for (int j = 0; j < G; j++) {
                    if (!pw) on_im2col_ld(x + xg * j, a, &g, 0, K, p0, p1, col, (size_t)ld);
                    conv_rows(c, Fg * j, Fg * (j + 1), K, p0, n, PQ, pw ? x + xg * j : col, ld, y);
                }
            }
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

static void conv_backward(const on_call *c) {
    const on_attrs *a = c->a;
    on_geom g;
    on_geom_make(a, c->xs, 1, &g, NULL);
    int G = on_groups(a), F = a->units, C = c->xs.c, Fg = F / G, Cg = C / G;
    int K = Cg * a->kh * a->kw, PQ = g.p * g.q;
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), xg = (size_t)Cg * g.h * g.w;
    size_t per = im2col_block(a, c->xs, c->ys, c->n);
    int pw = is_pointwise(a, &g), R = pw ? g.p : chunk_rows(a, K, g.p, g.q, grow_products());
    int T = c->threads;
    if (on_conv_dw_apply(a, &g, C)) {
        on_conv_dw_backward(c, &g);
        return;
    }
    if (G == 1 && on_conv_wino_apply(a, &g, C)) {
        on_conv_wino_backward(c, &g);
        return;
    }
    if (G == 1 && on_conv_taps_apply(a, &g, C)) {
        on_conv_taps_backward(c, &g);
        return;
    }
    if (G == 1 && on_conv_direct_apply(a, &g, C)) {
        on_conv_direct_backward(c, &g);
        return;
    }
#pragma omp parallel num_threads(T)
    {
        int t = on_thread_id(), TT = on_thread_count();
        size_t cn = (size_t)K * R * g.q; /* one chunk's matrix */
        float *col = c->tmp + per * t, *dcol = col + cn;
        float *dw = dcol + cn, *db = dw + (size_t)F * K;
        memset(dw, 0, sizeof(float) * (size_t)F * (K + 1));
        for (int i = c->n * t / TT; i < c->n * (t + 1) / TT; i++) {
            const float *x = c->x + xsz * i, *dy = c->dy + ysz * i;
            float *dx = c->dx ? c->dx + xsz * i : NULL;
            if (dx && !pw) memset(dx, 0, sizeof(float) * xsz);
            for (int p0 = 0; p0 < g.p; p0 += R)
                for (int j = 0; j < G; j++) {
                    int p1 = p0 + R < g.p ? p0 + R : g.p, n = (p1 - p0) * g.q;
                    /* the chunk's columns of the group's dy */
                    const float *d = dy + (size_t)Fg * j * PQ + (size_t)p0 * g.q;
                    const float *xj = x + xg * j, *wj = c->p[0] + (size_t)Fg * j * K;
                    if (!pw) on_im2col(xj, a, &g, 0, K, p0, p1, col);
                    /* dW (Fg,K) += dy (Fg,n) . col^T (n,K) */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Fg, K, n, 1.0f, d, PQ,
                                pw ? xj : col, n, 1.0f, dw + (size_t)Fg * j * K, K);
                    if (!dx) continue;
                    /* dcol (K,n) = W^T (K,Fg) . dy (Fg,n) */
                    on_product(K, n, Fg, wj, 1, K, d, PQ, pw ? dx + xg * j : dcol, n, 0);
                    if (!pw) on_col2im(dcol, a, &g, Cg, p0, p1, dx + xg * j);
                }
            if (a->bias)
                for (int f = 0; f < F; f++) {
                    float s = 0;
                    const float *d = dy + (size_t)f * PQ;
#pragma omp simd reduction(+ : s)
                    for (int j = 0; j < PQ; j++) s += d[j];
                    db[f] += s;
                }
        }
#pragma omp barrier
        /* reduce the per-thread partial sums in thread order; split the work by rows */
#pragma omp for schedule(static)
        for (int j = 0; j < F * (K + 1); j++) {
            float s = 0;
            for (int u = 0; u < TT; u++) s += (c->tmp + per * u + 2 * (size_t)K * R * g.q)[j];
            if (j < F * K)
                c->dp[0][j] += s;
            else if (a->bias)
                c->dp[1][j - F * K] += s;
        }
    }
}

static on_cost conv_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    double k = (double)xs.c / on_groups(a) * a->kh * a->kw, out = (double)on_shape_size(ys);
    double mac = out * k, wbytes = 4.0 * a->units * k;
    double io = 4.0 * (on_shape_size(xs) + out);
    return (on_cost){.flops_fwd = 2 * mac + (a->bias ? out : 0),
                     .flops_bwd = 4 * mac + (a->bias ? out : 0),
                     .bytes_fwd = io + wbytes,
                     .bytes_bwd = 2 * io + 2 * wbytes};
}

#define CONV_ARGS "filters kernel stride padding dilation bias groups"
#define CONV_DEFAULTS(kh_)                                                                         \
    {                                                                                              \
        .units = 0, .kh = kh_, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1,                        \
        .pad_mode = ON_PAD_VALID, .bias = 1, .groups = 1                                           \
    }

/* Inference takes a 2x2 max-pool after it into its stores where it runs by Winograd F(2x2)
 * (each 2x2 output tile is one window of the pool: conv_winograd.c), by F(4x4) with channels
 * in the lanes (each 4x4 tile four windows: conv_wino4c.c) or by conv_direct.c (its AVX-512
 * kernel two output rows at a time, else from a block of filters' sums on the grid). */
static int conv_fuses_pool(const on_attrs *a, on_shape xs) {
    on_geom g;
    if (on_geom_make(a, xs, 1, &g, NULL)) return 0;
    conv_kernel k = kernel_of(a, &g, xs.c, 0);
    return k == K_WINO || k == K_WINO4C || (k == K_DIRECT && on_conv_direct_pools(a, &g, xs.c));
}

/* The training forward's Winograd and direct kernels write each sample where on_y_at says */
static int conv_y_slots(const on_attrs *a, on_shape xs) {
    on_geom g;
    if (on_geom_make(a, xs, 1, &g, NULL)) return 0;
    conv_kernel k = kernel_of(a, &g, xs.c, 1);
    return k == K_WINO || k == K_DIRECT;
}

/* The backward's Winograd and direct kernels take dy sample by sample (on_call's dy_ready),
 * as conv_backward picks them */
static int conv_dy_chain(const on_attrs *a, on_shape xs) {
    on_geom g;
    if (on_geom_make(a, xs, 1, &g, NULL) || on_groups(a) != 1 || on_conv_dw_apply(a, &g, xs.c))
        return 0;
    if (on_conv_wino_apply(a, &g, xs.c)) return 1;
    return !on_conv_taps_apply(a, &g, xs.c) && on_conv_direct_apply(a, &g, xs.c);
}

const on_op on_op_conv2d = {.name = "conv2d",
                            .title = "2-D convolution",
                            .props = ON_PROP_LINEAR_MAP,
                            .ninputs = 1,
                            .spatial = 3,
                            .per_sample_epilogue = 1,
                            .fuses = ON_FUSES_CLAMP | ON_FUSES_RESID,
                            .in_place = ON_IN_PLACE_UNDER,
                            .fuses_pool = conv_fuses_pool,
                            .dy_chain = conv_dy_chain,
                            .y_slots = conv_y_slots,
                            .defaults = CONV_DEFAULTS(3),
                            .args = CONV_ARGS,
                            .shape = conv_shape,
                            .params = conv_params,
                            .saved_size = conv_saved_size,
                            .tmp_size = conv_tmp_size,
                            .forward = conv_forward,
                            .backward = conv_backward,
                            .cost = conv_cost};

const on_op on_op_conv1d = {.name = "conv1d",
                            .title = "1-D convolution",
                            .props = ON_PROP_LINEAR_MAP,
                            .ninputs = 1,
                            .spatial = 2,
                            .per_sample_epilogue = 1,
                            .fuses = ON_FUSES_CLAMP | ON_FUSES_RESID,
                            .in_place = ON_IN_PLACE_UNDER,
                            .defaults = CONV_DEFAULTS(1),
                            .args = CONV_ARGS,
                            .shape = conv_shape,
                            .params = conv_params,
                            .saved_size = conv_saved_size,
                            .tmp_size = conv_tmp_size,
                            .forward = conv_forward,
                            .backward = conv_backward,
                            .cost = conv_cost};
