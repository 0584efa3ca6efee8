/* conv_direct2.c - stride-2 convolution with 1-3 input channels and kernels of 5x5 or more
 * (the stem of ResNet and its kin: 7x7 / 2 on RGB images), summed directly in vector
 * registers. The forward only: the gradients go through im2col (conv.c).
 *
 * im2col's matrix for such a layer has K = 147 rows of every output pixel, copied from
 * strided columns, and its product with 64 filters is thin. Here the padded input is split
 * into its even and odd columns, two planes per channel with the rows as they are: output
 * (p, q)'s tap (ky, kx) reads padded (2p + ky, 2q + kx), which is row 2p + ky, column
 * q + kx / 2 of plane kx % 2, so 16 consecutive outputs of a row read 16 consecutive floats.
 * A block of R filters by one or two vectors of a row stays in registers while the C kh kw
 * taps go by, in that order, from 0, and the bias is added at the end: the AVX-512 kernel
 * (16 floats a vector, 8 filters by 2 vectors) and the AVX2 one (8 floats, 4 filters by 3
 * vectors) give the same bits.
 * A row's last vector starts at Q - VL, overlapping the one before: its columns are written
 * twice with the same value. A clamp after the convolution (on_call's clamp: a ReLU) is
 * applied in the stores; a residual add is left to conv.c's pass after each sample.
 */
#include "conv_direct.h"
#include "gemm.h"

#include <string.h>

enum {
    RB = 8,        /* filters a block (the weights are padded to a multiple with zeros) */
    MIN_TAPS = 25, /* kernels of 25 taps or more: MobileNet's 3x3 / 2 stem (27 taps a block's
                      sums, 32 filters) took 1.2-1.3x im2col's time, its loops' overhead */
    MAX_TAPS = 121 /* kernels up to 11x11, as conv_direct.c */
};

typedef struct d2 {
    int F, Fr, C, kh, kw, K, P, Q, h, w, pt, pl;
    int Hp, Wh;   /* a phase plane: the padded rows 2 (P - 1) + kh, columns Q + (kw - 1) / 2 */
    size_t plane; /* Hp Wh */
} d2;

static d2 d2_of(const on_attrs *a, const on_geom *g, int C) {
    d2 t = {.F = a->units, .C = C, .kh = a->kh, .kw = a->kw, .P = g->p, .Q = g->q};
    t.Fr = (t.F + RB - 1) / RB * RB;
    t.K = C * t.kh * t.kw;
    t.h = g->h;
    t.w = g->w;
    t.pt = g->pt;
    t.pl = g->pl;
    t.Hp = 2 * (t.P - 1) + t.kh;
    t.Wh = t.Q + (t.kw - 1) / 2;
    t.plane = (size_t)t.Hp * t.Wh;
    return t;
}

int on_conv_direct2_apply(const on_attrs *a, const on_geom *g, int channels) {
    return channels < 4 && a->sh == 2 && a->sw == 2 && a->dh == 1 && a->dw == 1 &&
           a->kh * a->kw >= MIN_TAPS && a->kh * a->kw <= MAX_TAPS && g->q >= 8;
}

/* The packed weights (Fr K), then each thread's two planes per channel. */
size_t on_conv_direct2_tmp(const on_attrs *a, const on_geom *g, int channels, int threads) {
    d2 t = d2_of(a, g, channels);
    return (size_t)t.Fr * t.K + (size_t)threads * 2 * t.C * t.plane;
}

/* W (F, K) -> wp: blocks of RB filters, each tap's RB weights side by side (a block's
 * weights are RB K floats; zeros for the filters after F), so that a block reads its RB
 * weights of a tap from one place. Split over the enclosing parallel region's threads by
 * blocks; ends with a barrier. */
static void pack(const float *w, const d2 *t, float *wp) {
#pragma omp for schedule(static)
    for (int b = 0; b < t->Fr / RB; b++)
        for (int o = 0; o < RB; o++) {
            int f = b * RB + o;
            for (int k = 0; k < t->K; k++)
                wp[((size_t)b * t->K + k) * RB + o] = f < t->F ? w[(size_t)f * t->K + k] : 0.0f;
        }
}

/* Padded column 2j's and 2j + 1's values of input row `in`: 0 outside it */
static inline void edge(const float *in, const d2 *t, int j, float *e, float *o) {
    int u = 2 * j - t->pl; /* the input column of padded column 2j */
    e[j] = u >= 0 && u < t->w ? in[u] : 0.0f;
    o[j] = u + 1 >= 0 && u + 1 < t->w ? in[u + 1] : 0.0f;
}

/* x (C, h, w) -> xp: channel i's padded rows [r0, r1), even columns in plane 2i, odd ones in
 * plane 2i + 1, zeros outside the input. The columns whose both phases are inside the input
 * as one loop without tests (vectors: two loads and a shuffle per phase vector). */
ON_VECTOR_CLONES static void fill(const float *x, const d2 *t, int r0, int r1, float *xp) {
    /* j in [j0, j1): 2j - pl >= 0 and 2j + 1 - pl < w */
    int j0 = (t->pl + 1) / 2, j1 = (t->w + t->pl) / 2;
    if (j1 > t->Wh) j1 = t->Wh;
    if (j0 > j1) j0 = j1;
    for (int i = 0; i < t->C; i++)
        for (int r = r0; r < r1; r++) {
            float *e = xp + 2 * i * t->plane + (size_t)r * t->Wh, *o = e + t->plane;
            int y = r - t->pt;
            if (y < 0 || y >= t->h) {
                memset(e, 0, sizeof(float) * t->Wh);
                memset(o, 0, sizeof(float) * t->Wh);
                continue;
            }
            const float *in = x + ((size_t)i * t->h + y) * t->w;
            for (int j = 0; j < j0; j++) edge(in, t, j, e, o);
#pragma omp simd
            for (int j = j0; j < j1; j++) {
                e[j] = in[2 * j - t->pl];
                o[j] = in[2 * j + 1 - t->pl];
            }
            for (int j = j1; j < t->Wh; j++) edge(in, t, j, e, o);
        }
}

/* Output row p, columns [so[v], so[v] + VL) for v < NV, of R filters (their weights of a tap
 * side by side at w, the next tap's RB floats on; of them the first `live` are real): R x NV
 * sums in registers while the taps go by. Inlined with R and NV constant. */
#define CHUNK(NAME, VT, VTU, VI, VL)                                                               \
    static inline __attribute__((always_inline)) void NAME(                                        \
        const int R, const int NV, const d2 *t, const float *xp, const float *w,                   \
        const float *bias, const float *clamp, int live, float *y, int p, const int *so) {         \
        size_t PQ = (size_t)t->P * t->Q;                                                           \
        VT acc[RB][3];                                                                             \
        _Pragma("GCC unroll 8") for (int o = 0; o < R; o++)                                        \
            _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) acc[o][v] = (VT){0};              \
        const float *wk = w;                                                                       \
        for (int i = 0; i < t->C; i++)                                                             \
            for (int ky = 0; ky < t->kh; ky++) {                                                   \
                const float *re = xp + 2 * i * t->plane + (size_t)(2 * p + ky) * t->Wh;            \
                const float *ro = re + t->plane;                      /* the odd columns */        \
                for (int kx = 0; kx < t->kw; kx += 2, wk += 2 * RB) { /* taps kx, kx + 1 */        \
                    _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {                          \
                        if (h && kx + 1 == t->kw) break;                                           \
                        const float *rk = (h ? ro : re) + (kx >> 1);                               \
                        VT xv[3];                                                                  \
                        _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) xv[v] =               \
                            *(const VTU *)(rk + so[v]);                                            \
                        _Pragma("GCC unroll 8") for (int o = 0; o < R; o++) {                      \
                            float wv = wk[h * RB + o];                                             \
                            _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) acc[o][v] +=      \
                                wv * xv[v];                                                        \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
                wk -= t->kw % 2 * RB; /* the last step went 2 past an odd kw's last tap */         \
            }                                                                                      \
        _Pragma("GCC unroll 8") for (int o = 0; o < R; o++) if (o < live) {                        \
            float *yr = y + o * PQ + (size_t)p * t->Q, b = bias ? bias[o] : 0.0f;                  \
            _Pragma("GCC unroll 3") for (int v = 0; v < NV; v++) {                                 \
                VT s = acc[o][v] + b;                                                              \
                if (clamp) {                                                                       \
                    VT lo = clamp[0] - (VT){0}, hi = clamp[1] - (VT){0};                           \
                    ON_VCLAMP(VT, VI, s, lo, hi);                                                  \
                }                                                                                  \
                *(VTU *)(yr + so[v]) = s;                                                          \
            }                                                                                      \
        }                                                                                          \
    }

/* Output rows [p0, p1) of R filters, in chunks of NVM vectors, fewer where fewer are left; a
 * row's last vector starts at Q - VL (Q >= VL) */
#define ROWS(NAME, CHUNK_FN, VL, NVM)                                                              \
    static inline __attribute__((always_inline)) void NAME(                                        \
        const int R, const d2 *t, const float *xp, const float *w, const float *bias,              \
        const float *clamp, int live, float *y, int p0, int p1) {                                  \
        for (int p = p0; p < p1; p++)                                                              \
            for (int s = 0; s < t->Q; s += (NVM) * (VL)) {                                         \
                int so[3], left = (t->Q - s + (VL)-1) / (VL); /* vectors */                        \
                for (int v = 0; v < 3; v++)                                                        \
                    so[v] = s + v * (VL) < t->Q - (VL) ? s + v * (VL) : t->Q - (VL);               \
                if ((NVM) >= 3 && left >= 3)                                                       \
                    CHUNK_FN(R, 3, t, xp, w, bias, clamp, live, y, p, so);                         \
                else if (left >= 2)                                                                \
                    CHUNK_FN(R, 2, t, xp, w, bias, clamp, live, y, p, so);                         \
                else                                                                               \
                    CHUNK_FN(R, 1, t, xp, w, bias, clamp, live, y, p, so);                         \
            }                                                                                      \
    }

CHUNK(chunk8, vf, vfu, vi, 8)
ROWS(rows8, chunk8, 8, 3)

/* Every filter of one sample, output rows [p0, p1), in blocks of 4 filters by 3 vectors: the
 * AVX2 clone's sixteen registers hold the 12 sums, the 3 input vectors and a weight. With
 * 4 x 2 sums (until session 37) ResNet's stem took 1.04x-1.12x im2col's time at batch 1 on
 * Zen 3 in eight of nine runs (0.93x in one), with 4 x 3 0.87x-1.07x (conv_ab, 7 rounds a
 * run); at batch 8 1.03x-1.08x against 0.87x-0.97x. */
ON_VECTOR_CLONES static void blocks8(const on_call *c, const d2 *t, const float *wp,
                                     const float *xp, float *y, int p0, int p1) {
    const float cl[2] = {c->clamp_lo, c->clamp_hi}, *clamp = c->clamp ? cl : NULL;
    for (int f = 0; f < t->F; f += RB / 2) {
        int live = t->F - f < RB / 2 ? t->F - f : RB / 2;
        rows8(RB / 2, t, xp, wp + (size_t)f / RB * RB * t->K + f % RB,
              c->a->bias ? c->p[1] + f : NULL, clamp, live, y + (size_t)f * t->P * t->Q, p0, p1);
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define HAVE_WIDE 1
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64)));
CHUNK(chunk16, v16, v16u, v16i, 16)
ROWS(rows16, chunk16, 16, 2)

__attribute__((target("arch=x86-64-v4"))) static void blocks16(const on_call *c, const d2 *t,
                                                               const float *wp, const float *xp,
                                                               float *y, int p0, int p1) {
    const float cl[2] = {c->clamp_lo, c->clamp_hi}, *clamp = c->clamp ? cl : NULL;
    for (int b = 0; b < t->Fr / RB; b++) {
        int f = b * RB, live = t->F - f < RB ? t->F - f : RB;
        rows16(RB, t, xp, wp + (size_t)f * t->K, c->a->bias ? c->p[1] + f : NULL, clamp, live,
               y + (size_t)f * t->P * t->Q, p0, p1);
    }
}
#endif

/* Every filter, output rows [p0, p1) */
static void blocks(const on_call *c, const d2 *t, const float *wp, const float *xp, float *y,
                   int p0, int p1) {
#ifdef HAVE_WIDE
    if (t->Q >= 16 && on_gemm_wide()) {
        blocks16(c, t, wp, xp, y, p0, p1);
        return;
    }
#endif
    blocks8(c, t, wp, xp, y, p0, p1);
}

void on_conv_direct2_forward(const on_call *c, const on_geom *g) {
    d2 t = d2_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), per = 2 * t.C * t.plane;
    float *wp = c->tmp, *planes = c->tmp + (size_t)t.Fr * t.K;
    if (c->n < c->threads) {
        /* batch-1 latency: the threads split the output rows, each filling only the padded
         * rows its outputs read into its own planes: no barrier, no lines from the other
         * core's cache. Split by filters (the planes filled together, then read whole by
         * each) ResNet's stem took 1.28x the time (conv_ab, batch 1, two threads: 1.41 ms
         * against 1.10; im2col 1.23). */
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                int p0 = t.P * th / T, p1 = t.P * (th + 1) / T;
                if (!i) pack(c->p[0], &t, wp); /* ends with a barrier */
                if (p1 > p0) {
                    float *xp = planes + per * th;
                    fill(c->x + xsz * i, &t, 2 * p0, 2 * (p1 - 1) + t.kh, xp);
                    blocks(c, &t, wp, xp, c->y + ysz * i, p0, p1);
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
        float *xp = planes + per * th;
        pack(c->p[0], &t, wp); /* ends with a barrier */
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            fill(c->x + xsz * i, &t, 0, t.Hp, xp);
            blocks(c, &t, wp, xp, c->y + ysz * i, 0, t.P);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}
