/* dense.c - fully connected layer: y = x W^T + b, W laid out (out, in) as in PyTorch.
 * Forward: one sgemm per thread on its rows, or dot products (dots) at batch 1 and where
 * the outputs are few (with AVX-512, eight samples at a time by pairs(): the same bits);
 * backward: by columns of the input where the outputs are few
 * (bwd_range), else one sgemm per pass over the whole batch. */
#include "conv_variant.h"
#include "gemm.h"
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

/* Dot products where the outputs are few (DOT_OUTPUTS or fewer, as a classifier's 10):
 * OpenBLAS packed the reference model's 256 x 3136 input for a product with 10 columns,
 * 0.57 ms of its inference at batch 256 on one thread, where these take 0.41 (alone, 0.34
 * against 0.29; not bound by reading the input from memory, as it once seemed: pairs()
 * halved it); at batch 1 (any number of
 * outputs) its sgemv took 6-7 us, a tenth of the batch-1 latency, these 1.4. */
enum { DOT_OUTPUTS = 16, SB = 2, OB = 5 }; /* samples and outputs a block keeps in registers */
enum { SG = 16, KC = 512 };                /* dots_range: samples and elements at a time */
enum { FEW_SAMPLES = 16 };                 /* dense_fwd: dot products for a large layer */

/* y's output o of sample s from its eight lanes' sums v: the lanes added pairwise, then the
 * last In % 8 elements one by one, then the bias */
static inline __attribute__((always_inline)) void lanes_out(const on_call *c, long s, int o, vf v) {
    int In = c->xs.c, I8 = In / 8 * 8;
    const float *x = c->x + (size_t)s * In, *w = c->p[0] + (size_t)o * In;
    float t = ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    for (int i = I8; i < In; i++) t += w[i] * x[i];
    c->y[(size_t)s * c->a->units + o] = c->a->bias ? t + c->p[1][o] : t;
}

/* Outputs [o0, o0 + O) of samples [s0, s0 + S) of y = x W^T + b, S <= SB, O <= OB: each a dot
 * product of the input and a weight row summed in eight lanes (lane l: elements l, l + 8,
 * l + 16, ... in order), the lanes added pairwise, then the last In % 8 elements one by
 * one, then the bias. The same order for every block, so any batch and any split over
 * threads give the same bits. Inlined with S and O constant: the S O sums in registers.
 * Elements [i0, i1) of the lanes' sums only, from part (the sums so far, part[s DOT_OUTPUTS +
 * o]; zero where i0 = 0) and back to it; the rest where i1 is the last lane element. */
static inline __attribute__((always_inline)) void dots(const int S, const int O, const on_call *c,
                                                       long s0, int o0, int i0, int i1, vf *part) {
    int In = c->xs.c, I8 = In / 8 * 8;
    const float *x = c->x + (size_t)s0 * In, *w = c->p[0] + (size_t)o0 * In;
    vf acc[SB][OB];
    _Pragma("GCC unroll 2") for (int s = 0; s < S; s++)
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) acc[s][o] =
            i0 ? part[s * DOT_OUTPUTS + o] : (vf){0};
    for (int i = i0; i < i1; i += 8) {
        vf xv[SB];
        _Pragma("GCC unroll 2") for (int s = 0; s < S; s++) xv[s] = VLOAD(x + (size_t)s * In + i);
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) {
            vf wv = VLOAD(w + (size_t)o * In + i);
            _Pragma("GCC unroll 2") for (int s = 0; s < S; s++) acc[s][o] += wv * xv[s];
        }
    }
    if (i1 < I8) {
        _Pragma("GCC unroll 2") for (int s = 0; s < S; s++)
            _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) part[s * DOT_OUTPUTS + o] =
                acc[s][o];
        return;
    }
    _Pragma("GCC unroll 2") for (int s = 0; s < S; s++)
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) lanes_out(c, s0 + s, o0 + o, acc[s][o]);
}

/* Samples [s0, s1), outputs [o0, o1): blocks of SB samples by OB outputs, smaller at the
 * ends, each over elements [i0, i1) of the lanes' sums (part: the sums of samples s0.. so
 * far, DOT_OUTPUTS a sample) */
static inline __attribute__((always_inline)) void blocks(const on_call *c, long s0, long s1, int o0,
                                                         int o1, int i0, int i1, vf *part) {
    for (long s = s0; s < s1; s += SB)
        for (int o = o0; o < o1; o += OB) {
            int two = s + 1 < s1, left = o1 - o;
            vf *pt = part ? part + (s - s0) * DOT_OUTPUTS + (o - o0) : NULL;
            switch (left < OB ? left : OB) {
#define DOTS_CASE(K)                                                                               \
    case K:                                                                                        \
        if (two)                                                                                   \
            dots(2, K, c, s, o, i0, i1, pt);                                                       \
        else                                                                                       \
            dots(1, K, c, s, o, i0, i1, pt);                                                       \
        break
                DOTS_CASE(1);
                DOTS_CASE(2);
                DOTS_CASE(3);
                DOTS_CASE(4);
                DOTS_CASE(5);
#undef DOTS_CASE
            }
        }
}

/* Samples [s0, s1), outputs [o0, o1). A layer's few outputs (DOT_OUTPUTS or fewer): SG
 * samples at a time, their sums over KC elements at a time, so that the weights' KC columns
 * (the reference model's 10 x 512: 20 KB) stay in L1 while the group's samples (16 x 3136:
 * 200 KB, in L2) pass. Over the whole row at once, the 10 x 3136 weights came from L2 for
 * each block of two samples, and the layer ran at 37 GFLOP/s (425 us of the reference
 * model's 8.7 ms inference at batch 256 on one thread). The whole model, one thread,
 * bench/lib_ab.sh: 0.972x-0.991x the time with groups of 16; 1.003x with 32, 1.02x with 64
 * (the group's rows fall out of L2), 0.993x-1.000x with 8. Many outputs (a classifier's at
 * batch 1): the outputs' blocks outside, so that each block's OB weight rows are read by
 * all the samples while they are in cache. */
ON_VECTOR_CLONES static void dots_range(const on_call *c, long s0, long s1, int o0, int o1) {
    int I8 = c->xs.c / 8 * 8;
    if (o1 - o0 > DOT_OUTPUTS) {
        for (int o = o0; o < o1; o += OB)
            blocks(c, s0, s1, o, o + OB < o1 ? o + OB : o1, 0, I8, NULL);
        return;
    }
    vf part[SG * DOT_OUTPUTS];
    for (long g = s0; g < s1; g += SG)
        for (int i0 = 0;;) {
            int i1 = I8 - i0 > KC ? i0 + KC : I8;
            blocks(c, g, g + SG < s1 ? g + SG : s1, o0, o1, i0, i1, part);
            if ((i0 = i1) == I8) break;
        }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define DENSE_WIDE 1
#include <immintrin.h>

enum { PAIRS = 4 }; /* pairs(): pairs of samples a block */

/* Samples [s, s + 2 PAIRS), outputs [o0, o0 + O) (O <= OB), elements [i0, i1) of the lanes'
 * sums, from part and back to it (as dots()): with AVX-512, two samples' eight lanes in one
 * vector (sample s + 2 p in the low half, s + 2 p + 1 in the high), each weight's eight
 * elements in both halves, so that each half sums its lanes as dots() does, one multiply-add
 * an element in the same order: the same bits, for half the multiply-add instructions and
 * the weights read once for eight samples (dots(): for two). */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
pairs(const int O, const on_call *c, long s, int o0, int i0, int i1, vf *part) {
    int In = c->xs.c;
    const float *x = c->x + (size_t)s * In, *w = c->p[0] + (size_t)o0 * In;
    __m512 acc[PAIRS][OB];
    _Pragma("GCC unroll 4") for (int p = 0; p < PAIRS; p++)
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) acc[p][o] =
            i0 ? _mm512_insertf32x8(_mm512_castps256_ps512((__m256)part[2 * p * DOT_OUTPUTS + o]),
                                    (__m256)part[(2 * p + 1) * DOT_OUTPUTS + o], 1)
               : _mm512_setzero_ps();
    for (int i = i0; i < i1; i += 8) {
        __m512 xv[PAIRS];
        _Pragma("GCC unroll 4") for (int p = 0; p < PAIRS; p++) xv[p] =
            _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(x + (size_t)2 * p * In + i)),
                               _mm256_loadu_ps(x + (size_t)(2 * p + 1) * In + i), 1);
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) {
            __m512 wv = _mm512_broadcast_f32x8(_mm256_loadu_ps(w + (size_t)o * In + i));
            _Pragma("GCC unroll 4") for (int p = 0; p < PAIRS; p++) acc[p][o] =
                _mm512_fmadd_ps(wv, xv[p], acc[p][o]);
        }
    }
    _Pragma("GCC unroll 4") for (int p = 0; p < PAIRS; p++)
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) {
        part[2 * p * DOT_OUTPUTS + o] = (vf)_mm512_castps512_ps256(acc[p][o]);
        part[(2 * p + 1) * DOT_OUTPUTS + o] = (vf)_mm512_extractf32x8_ps(acc[p][o], 1);
    }
}

/* dots_range's few outputs (DOT_OUTPUTS or fewer) where the CPU has AVX-512: the same groups
 * and chunks, each group's samples eight at a time by pairs(), the rest by blocks(), then
 * each sum finished as dots() finishes it. The reference model's dense layer (256 x 3136
 * -> 10 at batch 256) took 155-187 us against dots_range's 303-356 on one thread, the whole
 * model 0.957x the time (bench/lib_ab.sh), 0.983x on two threads. */
__attribute__((target("arch=x86-64-v4"))) static void wide_range(const on_call *c, long s0, long s1,
                                                                 int o0, int o1) {
    int I8 = c->xs.c / 8 * 8;
    vf part[SG * DOT_OUTPUTS];
    for (long g = s0; g < s1; g += SG) {
        long g1 = g + SG < s1 ? g + SG : s1, s8 = g + (g1 - g) / (2 * PAIRS) * (2 * PAIRS);
        for (int i0 = 0;;) {
            int i1 = I8 - i0 > KC ? i0 + KC : I8;
            for (long s = g; s < s8; s += 2 * PAIRS)
                for (int o = o0; o < o1; o += OB) {
                    vf *pt = part + (s - g) * DOT_OUTPUTS + (o - o0);
                    switch (o1 - o < OB ? o1 - o : OB) {
#define PAIRS_CASE(K)                                                                              \
    case K:                                                                                        \
        pairs(K, c, s, o, i0, i1, pt);                                                             \
        break
                        PAIRS_CASE(1);
                        PAIRS_CASE(2);
                        PAIRS_CASE(3);
                        PAIRS_CASE(4);
                        PAIRS_CASE(5);
#undef PAIRS_CASE
                    }
                }
            if (s8 < g1) /* finishes its sums itself at the last chunk */
                blocks(c, s8, g1, o0, o1, i0, i1, part + (s8 - g) * DOT_OUTPUTS);
            if ((i0 = i1) == I8) break;
        }
        for (long s = g; s < s8; s++)
            for (int o = o0; o < o1; o++) lanes_out(c, s, o, part[(s - g) * DOT_OUTPUTS + o - o0]);
    }
}
#endif

static void dots_samples(const void *ctx, long s0, long s1) {
    const on_call *c = ctx;
#ifdef DENSE_WIDE
    if (on_gemm_wide() && c->a->units <= DOT_OUTPUTS) {
        wide_range(c, s0, s1, 0, c->a->units);
        return;
    }
#endif
    dots_range(c, s0, s1, 0, c->a->units);
}

static void dots_outputs(const void *ctx, long o0, long o1) {
    const on_call *c = ctx;
    dots_range(c, 0, c->n, (int)o0, (int)o1);
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
    if (N == 1) /* batch-1 latency: the threads split the outputs where the weights are a
                   megabyte or more (a classifier's) */
        on_parallel_range(c->threads, (size_t)In * Out >= (1 << 18), Out, dots_outputs, c);
    else if (Out <= DOT_OUTPUTS)
        on_parallel_range(c->threads, N >= 16 * c->threads, N, dots_samples, c);
    else if (N <= FEW_SAMPLES && (size_t)In * Out >= (1 << 18))
        /* a classifier's megabytes of weights at a small batch: the threads split the
         * outputs, each weight read once for all the samples, where one thread's sgemm ran
         * it (MobileNet v2's 1280 -> 1000 at batch 8 alone: 26 us an image, sgemm 43). The
         * batch alone decides, not the threads: the same bits at any thread count. */
        on_parallel_range(c->threads, 1, Out, dots_outputs, c);
    else
        on_parallel_range(c->threads, N >= 16 * c->threads, N, dense_rows, c);
}

/* The backward where the outputs are few (DOT_OUTPUTS or fewer), by columns of the input,
 * sixteen (two vectors) a block, the threads splitting the blocks. Columns [i, i + 16) of
 * dW's outputs [o0, o0 + O), O <= OB: each sums over the samples in order (the 2 O sums in
 * registers), then is added to dW. */
static inline __attribute__((always_inline)) void wgrad_cols(const int O, const on_call *c, int o0,
                                                             int i) {
    int In = c->xs.c, Out = c->a->units;
    vf acc[OB][2];
    _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) acc[o][0] = acc[o][1] = (vf){0};
    for (int n = 0; n < c->n; n++) {
        const float *xr = c->x + (size_t)n * In + i, *g = c->dy + (size_t)n * Out + o0;
        vf x0 = VLOAD(xr), x1 = VLOAD(xr + 8);
        _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) {
            acc[o][0] += g[o] * x0;
            acc[o][1] += g[o] * x1;
        }
    }
    _Pragma("GCC unroll 5") for (int o = 0; o < O; o++) {
        float *d = c->dp[0] + (size_t)(o0 + o) * In + i;
        VSTORE(d, VLOAD(d) + acc[o][0]);
        VSTORE(d + 8, VLOAD(d + 8) + acc[o][1]);
    }
}

/* Column blocks [b0, b1) of dW += dy^T x and dx = dy W: dW as wgrad_cols, dx's columns of
 * two samples at a time summed over the outputs in order; the last In % 16 columns one by
 * one, in the same orders. The same order for any split: the same bits at any thread
 * count. (One sample's sum over the outputs at a time is a chain of dependent
 * multiply-adds: so, at batch 128 on one thread, the layer was slower than OpenBLAS.) */
ON_VECTOR_CLONES static void bwd_range(const on_call *c, long b0, long b1) {
    int N = c->n, In = c->xs.c, Out = c->a->units;
    const float *w = c->p[0], *dy = c->dy;
    for (long b = b0; b < b1; b++) {
        int i = (int)b * 16;
        if (i + 16 > In) { /* the last In % 16 columns */
            for (int j = i; j < In; j++) {
                for (int o = 0; o < Out; o++) {
                    float s = 0;
                    for (int n = 0; n < N; n++)
                        s += dy[(size_t)n * Out + o] * c->x[(size_t)n * In + j];
                    c->dp[0][(size_t)o * In + j] += s;
                }
                for (int n = 0; c->dx && n < N; n++) {
                    float s = 0;
                    for (int o = 0; o < Out; o++)
                        s += dy[(size_t)n * Out + o] * w[(size_t)o * In + j];
                    c->dx[(size_t)n * In + j] = s;
                }
            }
            continue;
        }
        for (int o = 0; o < Out; o += OB) switch (Out - o < OB ? Out - o : OB) {
#define WGRAD_CASE(K)                                                                              \
    case K:                                                                                        \
        wgrad_cols(K, c, o, i);                                                                    \
        break
                WGRAD_CASE(1);
                WGRAD_CASE(2);
                WGRAD_CASE(3);
                WGRAD_CASE(4);
                WGRAD_CASE(5);
#undef WGRAD_CASE
            }
        if (!c->dx) continue;
        for (int n = 0; n < N; n += 2) {
            int two = n + 1 < N; /* the last sample of an odd batch: its own sums twice */
            const float *g0 = dy + (size_t)n * Out, *g1 = two ? g0 + Out : g0;
            vf s00 = {0}, s01 = {0}, s10 = {0}, s11 = {0};
            for (int o = 0; o < Out; o++) {
                vf w0 = VLOAD(w + (size_t)o * In + i), w1 = VLOAD(w + (size_t)o * In + i + 8);
                s00 += g0[o] * w0;
                s01 += g0[o] * w1;
                s10 += g1[o] * w0;
                s11 += g1[o] * w1;
            }
            float *d = c->dx + (size_t)n * In + i;
            VSTORE(d, s00);
            VSTORE(d + 8, s01);
            if (two) {
                VSTORE(d + In, s10);
                VSTORE(d + In + 8, s11);
            }
        }
    }
}

static void bwd_blocks(const void *ctx, long b0, long b1) {
    bwd_range(ctx, b0, b1);
}

/* OpenBLAS's two calls outside a parallel region threaded themselves: the reference
 * model's training step took 1.014x the time of bwd_range's at batch 32 on 2 threads,
 * 1.005x-1.009x at batch 128 (on_conv_variant's ON_CONV_NO_DENSE_COLS, steps interleaved) */
static void dense_bwd(const on_call *c) {
    int N = c->n, In = c->xs.c, Out = c->a->units;
    if (c->a->bias)
        for (int o = 0; o < Out; o++) {
            float s = 0;
            for (int i = 0; i < N; i++) s += c->dy[(size_t)i * Out + o];
            c->dp[1][o] += s;
        }
    if (Out <= DOT_OUTPUTS && !(on_conv_variant & ON_CONV_NO_DENSE_COLS)) {
        on_parallel_range(c->threads, (size_t)N * In >= ((size_t)1 << 15), (In + 15) / 16,
                          bwd_blocks, c);
        return;
    }
    /* dW (O,I) += dy^T (O,N) . x (N,I) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Out, In, N, 1.0f, c->dy, Out, c->x, In,
                1.0f, c->dp[0], In);
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
