/* conv_direct.c - stride-1 convolution with 1-3 input channels (a first layer on grey or
 * RGB images), summed directly on the padded grid of conv_taps.c.
 *
 * With so few channels, the products im2col or the taps hand to sgemm are thin (one
 * channel, 3x3: K = 9), and sgemm runs them at a third of its speed or less; the weight
 * gradient's product, 9 columns wide, is worse. Here the sums are vector loops shaped for
 * them: a block of outputs x positions stays in registers while the taps go by.
 * On the padded grid (Hp x Wp, output (p, q) at n = p Wp + q, as in conv_taps.c):
 *   forward:     Y[f][n] = sum over c, ky, kx of W[f][c][ky][kx] Xpad[c][n + ky Wp + kx]
 *   input grad:  the same sum with the kernel turned by 180 degrees and F and C swapped,
 *                dXpad[c][m] = sum over f, ky, kx of W[f][c][kh-1-ky][kw-1-kx] dYb[f][m + o],
 *                o = ky Wp + kx, dYb = dY on the padded grid moved right by
 *                B = (kh-1) Wp + kw-1, zeros around it
 *   weight grad: dW[f][c][ky][kx] = sum over n of dY[f][n] Xpad[c][n + ky Wp + kx]
 * The Wp - Q columns between rows are computed and dropped (forward) or zero (dY), as in
 * conv_taps.c. test_conv holds all three to a direct double-precision convolution.
 */
#include "conv_direct.h"
#include "conv_taps.h"
#include "gemm.h"

#include <string.h>

enum {
    NB = 24,       /* grid positions a block of the sums keeps in registers: 3 vectors by OB
                    * filters, 12 of AVX2's 16 registers (with 2 vectors, until session 37,
                    * the reference model's inference took 1.01x-1.07x the time on Zen 3) */
    OB = 4,        /* filters a block computes (F is padded to a multiple with zeros) */
    TB = 3,        /* taps a block of the weight gradient computes */
    MAX_TAPS = 121 /* kernels up to 11x11 (the tap offsets live on the stack) */
};

typedef struct dg {
    int F, Fr, C, kh, kw, K, Kr; /* Fr = F rounded up to OB, K = C kh kw, Kr = K rounded to TB */
    int P, Q, Wp, Hp, h, w, pt, pl;
    int B;         /* (kh-1) Wp + kw-1: how far a tap reaches past its position */
    int N;         /* positions computed: (P-1) Wp + Q, rounded up to NB */
    int NX;        /* input-gradient positions computed: Hp Wp rounded up to NB */
    size_t xplane; /* floats per padded input plane: the reads of N positions, B past */
    size_t yplane; /* floats per dYb plane: B zeros, then NX positions, B past */
    int Wh;        /* a phase row of the split input (split_pad): the pooled columns rounded
                      up to 16, + (kw + 1) / 2 */
    size_t splane; /* floats per phase plane: Hp Wh */
} dg;

static dg dg_of(const on_attrs *a, const on_geom *g, int C) {
    dg t = {.F = a->units, .C = C, .kh = a->kh, .kw = a->kw, .P = g->p, .Q = g->q};
    t.Fr = (t.F + OB - 1) / OB * OB;
    t.K = C * t.kh * t.kw;
    t.Kr = (t.K + TB - 1) / TB * TB;
    t.h = g->h;
    t.w = g->w;
    t.pt = g->pt;
    t.pl = g->pl;
    t.Wp = g->w + g->pl + g->pr;
    t.Hp = g->h + g->pt + g->pb;
    t.B = (t.kh - 1) * t.Wp + t.kw - 1;
    t.N = ((t.P - 1) * t.Wp + t.Q + NB - 1) / NB * NB;
    t.NX = (t.Hp * t.Wp + NB - 1) / NB * NB;
    t.xplane = (size_t)t.N + t.B;
    if (t.xplane < (size_t)t.Hp * t.Wp) t.xplane = (size_t)t.Hp * t.Wp;
    t.yplane = (size_t)t.NX + 2 * (size_t)t.B;
    t.Wh = (t.Q / 2 + 15) / 16 * 16 + (t.kw + 1) / 2;
    if (t.Wh < (t.Wp + 1) / 2) t.Wh = (t.Wp + 1) / 2;
    t.splane = (size_t)t.Hp * t.Wh;
    return t;
}

int on_conv_direct_apply(const on_attrs *a, const on_geom *g, int channels) {
    return channels < 4 && a->kh * a->kw <= MAX_TAPS && on_conv_grid_fits(a, g);
}

/* Per thread: Xpad (C xplane), Y block (OB N), dYb (Fr yplane), dXpad (NX), dW (Fr Kr), db (Fr);
 * then the split input of the pooled forward (2 C splane) */
static size_t per_thread(const dg *t) {
    return (size_t)t->C * t->xplane + (size_t)OB * t->N + (size_t)t->Fr * t->yplane + t->NX +
           (size_t)t->Fr * (t->Kr + 1) + 2 * (size_t)t->C * t->splane;
}

/* Shared: the weights padded to Fr filters (Fr K), and turned for the input gradient
 * (C x Fr kh kw), then each thread's block. */
static size_t shared_size(const dg *t) {
    return 2 * (size_t)t->Fr * t->K;
}

size_t on_conv_direct_tmp(const on_attrs *a, const on_geom *g, int channels, int threads) {
    dg t = dg_of(a, g, channels);
    return shared_size(&t) + (size_t)threads * per_thread(&t);
}

/* out[o][n] = sum over inputs i < I, taps (ky, kx) of w[o][i][ky][kx] in[i][n + ky Wp + kx],
 * for OBn outputs (w's rows are ldw apart, out's ldo) and positions [n0, n1), n1 - n0 a
 * multiple of NB. The OBn x NB sums stay in registers while the taps go by. */
#define CORR(NAME, OBn)                                                                            \
    ON_VECTOR_CLONES static void NAME(const float *in, size_t plane, int I, int kh, int kw,        \
                                      int Wp, const float *w, size_t ldw, float *out, size_t ldo,  \
                                      int n0, int n1) {                                            \
        enum { V = NB / 8 };                                                                       \
        for (int n = n0; n < n1; n += NB) {                                                        \
            vf acc[OBn][V];                                                                        \
            _Pragma("GCC unroll 8") for (int o = 0; o < OBn; o++)                                  \
                _Pragma("GCC unroll 8") for (int j = 0; j < V; j++) acc[o][j] = (vf){0};           \
            const float *wk = w;                                                                   \
            for (int i = 0; i < I; i++)                                                            \
                for (int ky = 0; ky < kh; ky++)                                                    \
                    for (int kx = 0; kx < kw; kx++, wk++) {                                        \
                        const float *s = in + i * plane + (size_t)ky * Wp + kx + n;                \
                        vf x[V];                                                                   \
                        _Pragma("GCC unroll 8") for (int j = 0; j < V; j++) x[j] =                 \
                            VLOAD(s + 8 * j);                                                      \
                        _Pragma("GCC unroll 8") for (int o = 0; o < OBn; o++) {                    \
                            float wv = wk[o * ldw];                                                \
                            _Pragma("GCC unroll 8") for (int j = 0; j < V; j++) acc[o][j] +=       \
                                wv * x[j];                                                         \
                        }                                                                          \
                    }                                                                              \
            _Pragma("GCC unroll 8") for (int o = 0; o < OBn; o++)                                  \
                _Pragma("GCC unroll 8") for (int j = 0; j < V; j++)                                \
                    VSTORE(out + o * ldo + n + 8 * j, acc[o][j]);                                  \
        }                                                                                          \
    }
CORR(corr_block, OB)
CORR(corr_one, 1)

/* dw[o][t] += sum over n < N of d[o][n] in[off[t] + n], for OB filters (d's rows ldd apart,
 * dw's K apart) and TB taps: one vector of partial sums each, kept in registers. */
ON_VECTOR_CLONES static void wgrad_block(const float *d, size_t ldd, const float *in,
                                         const int *off, int N, float *dw, int K) {
    vf acc[OB][TB];
    _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)
        _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++) acc[o][t] = (vf){0};
    for (int n = 0; n < N; n += 8) {
        vf x[TB];
        _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++) x[t] = VLOAD(in + off[t] + n);
        _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++) {
            vf g = VLOAD(d + o * ldd + n);
            _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++) acc[o][t] += g * x[t];
        }
    }
    _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++)
        _Pragma("GCC unroll 8") for (int t = 0; t < TB; t++) {
        float s = 0;
        for (int j = 0; j < 8; j++) s += acc[o][t][j];
        dw[o * K + t] += s;
    }
}

/* x (C,h,w) -> xp (C planes of xplane): the padded image, zeros around and after it */
static void pad(const float *x, const dg *t, float *xp) {
    for (int c = 0; c < t->C; c++) {
        float *o = xp + (size_t)c * t->xplane;
        memset(o, 0, sizeof(float) * t->xplane);
        for (int r = 0; r < t->h; r++)
            memcpy(o + (size_t)(r + t->pt) * t->Wp + t->pl, x + ((size_t)c * t->h + r) * t->w,
                   sizeof(float) * t->w);
    }
}

/* W (F, K) -> wp (Fr, K), zero rows after F; and the turned weights
 * wr[c][f][ky][kx] = W[f][c][kh-1-ky][kw-1-kx], zero for f >= F. Split over the enclosing
 * parallel region's threads by filters; ends with a barrier. */
static void repack(const float *w, const dg *t, float *wp, float *wr) {
    int taps = t->kh * t->kw;
#pragma omp for schedule(static)
    for (int f = 0; f < t->Fr; f++)
        for (int c = 0; c < t->C; c++)
            for (int k = 0; k < taps; k++) {
                float v = f < t->F ? w[((size_t)f * t->C + c) * taps + k] : 0.0f;
                wp[(size_t)f * t->K + c * taps + k] = v;
                wr[((size_t)c * t->Fr + f) * taps + taps - 1 - k] = v;
            }
}

/* x (C,h,w) -> xs: the padded image split by column parity, padded column u of row r of
 * channel i at xs[(2 i + u % 2) splane + r Wh + u / 2], so that the even output columns 2j
 * read tap kx at phase kx % 2, j + kx / 2, and the odd ones at phase (kx + 1) % 2,
 * j + (kx + 1) / 2: 16 consecutive floats each. Only the image is written: the margins stay
 * as zeroed once (split_zero). */
static void split_pad(const float *x, const dg *t, float *xs) {
    for (int i = 0; i < t->C; i++)
        for (int r = 0; r < t->h; r++) {
            const float *in = x + ((size_t)i * t->h + r) * t->w;
            for (int ph = 0; ph < 2; ph++) {
                float *o = xs + (2 * (size_t)i + ph) * t->splane + (size_t)(r + t->pt) * t->Wh;
                /* o[j] = padded column 2j + ph, image column 2j + ph - pl, for j in [j0, j1) */
                int j0 = (t->pl - ph + 1) / 2, j1 = (t->w + t->pl - ph + 1) / 2;
#pragma omp simd
                for (int j = j0; j < j1; j++) o[j] = in[2 * j + ph - t->pl];
            }
        }
}

static void split_zero(const dg *t, float *xs) {
    memset(xs, 0, sizeof(float) * 2 * (size_t)t->C * t->splane);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define HAVE_WIDE 1
#include <immintrin.h>
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(64)));

/* Output row p, columns [s0, s0 + 16) and, where NV = 2, [s1, s1 + 16), of R filters (rows
 * of w K apart, R - live of them padding): R x NV sums in registers while the taps go by;
 * clamped to [clamp[0], clamp[1]] where clamp (a ReLU after it, in an inference) */
static inline __attribute__((always_inline)) void
chunk_wide(const int R, const int NV, const dg *t, const float *xp, const float *w,
           const float *bias, const float *clamp, int live, float *y, int p, int s0, int s1) {
    size_t PQ = (size_t)t->P * t->Q;
    v16 acc[8][2];
    _Pragma("GCC unroll 8") for (int o = 0; o < R; o++) acc[o][0] = acc[o][1] = (v16){0};
    const float *wk = w;
    for (int i = 0; i < t->C; i++)
        for (int ky = 0; ky < t->kh; ky++) {
            const float *r = xp + i * t->xplane + (size_t)(p + ky) * t->Wp;
            for (int kx = 0; kx < t->kw; kx++, wk++) {
                v16 x0 = *(const v16u *)(r + s0 + kx);
                v16 x1 = x0;
                if (NV == 2) x1 = *(const v16u *)(r + s1 + kx);
                _Pragma("GCC unroll 8") for (int o = 0; o < R; o++) {
                    float wv = wk[o * t->K];
                    acc[o][0] += wv * x0;
                    if (NV == 2) acc[o][1] += wv * x1;
                }
            }
        }
    _Pragma("GCC unroll 8") for (int o = 0; o < R; o++) if (o < live) {
        float *yr = y + o * PQ + (size_t)p * t->Q, b = bias ? bias[o] : 0.0f;
        v16 v0 = acc[o][0] + b, v1 = acc[o][1] + b;
        if (clamp) { /* on_clamp's expression, lane by lane (ON_VCLAMP) */
            v16 lo = (v16){0} + clamp[0], hi = (v16){0} + clamp[1];
            ON_VCLAMP(v16, v16i, v0, lo, hi);
            if (NV == 2) ON_VCLAMP(v16, v16i, v1, lo, hi);
        }
        *(v16u *)(yr + s0) = v0;
        if (NV == 2) *(v16u *)(yr + s1) = v1;
    }
}

/* The forward of R filters straight into y's planes, with AVX-512 vectors of 16 outputs:
 * each output row in chunks of two vectors (columns [s0, s0 + 16) and [s1, s1 + 16),
 * s1 = Q - 16 for the last pair: columns of both are written twice with the same value),
 * one vector (s0 = Q - 16) where 16 columns or fewer are left. The same sums, in the same
 * order, as corr_block, then + the bias as on_conv_grid_out: the same bits. Q >= 16. */
static inline __attribute__((always_inline)) void rows_wide(const int R, const dg *t,
                                                            const float *xp, const float *w,
                                                            const float *bias, const float *clamp,
                                                            int live, float *y) {
    for (int p = 0; p < t->P; p++)
        for (int s = 0; s < t->Q; s += 32)
            if (s + 16 < t->Q) {
                int s1 = s + 32 <= t->Q ? s + 16 : t->Q - 16;
                chunk_wide(R, 2, t, xp, w, bias, clamp, live, y, p, s, s1);
            } else
                chunk_wide(R, 1, t, xp, w, bias, clamp, live, y, p, t->Q - 16, 0);
}

/* With a 2x2 max-pool after it (on_call's pool2): pooled row pp, columns [j0, j0 + 16) of OB
 * filters (of them the first `live` real; lanes past Qp - j0 not stored). The sums of output
 * rows 2 pp and 2 pp + 1, even and odd columns apart (four vectors a filter, from the split
 * input), in chunk_wide's order, + the bias; then each 2x2 window reduced as pool.c's 2x2
 * kernel does (each row's pair, then the two rows: the same bits as the pool after the
 * plane), clamped where c->clamp. With the columns apart the pairs are lane by lane: the
 * reduction is three maxima a filter, no shuffles (the reference model's first layer
 * 1.9-1.97 ms against 2.2 with two permutes, a shuffle and two maxima per 8 windows). */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
chunk_pool(const dg *t, const float *xs, const float *w, const on_call *c, const float *bias, int f,
           int live, float *y, int pp, int j0) {
    size_t PQp = (size_t)(t->P / 2) * (t->Q / 2);
    v16 acc[OB][4]; /* row 0 even, row 0 odd, row 1 even, row 1 odd */
    _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++) acc[o][0] = acc[o][1] = acc[o][2] =
        acc[o][3] = (v16){0};
    const float *wk = w;
    for (int i = 0; i < t->C; i++)
        for (int ky = 0; ky < t->kh; ky++) {
            const float *p0 = xs + 2 * (size_t)i * t->splane + (size_t)(2 * pp + ky) * t->Wh + j0;
            const float *p1 = p0 + t->splane; /* the odd padded columns */
            for (int kx = 0; kx < t->kw; kx++, wk++) {
                const float *e = (kx & 1 ? p1 : p0) + kx / 2,
                            *d = (kx & 1 ? p0 : p1) + (kx + 1) / 2;
                v16 x0e = *(const v16u *)e, x0o = *(const v16u *)d;
                v16 x1e = *(const v16u *)(e + t->Wh), x1o = *(const v16u *)(d + t->Wh);
                _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++) {
                    float wv = wk[o * t->K];
                    acc[o][0] += wv * x0e;
                    acc[o][1] += wv * x0o;
                    acc[o][2] += wv * x1e;
                    acc[o][3] += wv * x1o;
                }
            }
        }
    const __m512 nan = _mm512_castsi512_ps(_mm512_set1_epi32(-1));
    __m512 lo = _mm512_set1_ps(c->clamp_lo), hi = _mm512_set1_ps(c->clamp_hi);
    __m512 plo = _mm512_set1_ps(c->pre_lo), phi = _mm512_set1_ps(c->pre_hi);
    int left = t->Q / 2 - j0;
    __mmask16 keep = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
    _Pragma("GCC unroll 8") for (int o = 0; o < OB; o++) if (o < live) {
        float b = bias ? bias[o] : 0.0f, *yr = y + o * PQp + (size_t)pp * (t->Q / 2) + j0;
        __m512 r[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) r[k] = (__m512)(acc[o][k] + b);
        if (c->pre_clamp) /* the layers before the pool, as their own passes compute them */
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) r[k] =
                _mm512_min_ps(phi, _mm512_max_ps(r[k], plo));
        if (c->bn_a) { /* a x + b, contracted as batchnorm.c's affine is (-ffp-contract=fast) */
            __m512 ba = _mm512_set1_ps(c->bn_a[f + o]), bb = _mm512_set1_ps(c->bn_b[f + o]);
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) r[k] =
                _mm512_fmadd_ps(ba, r[k], bb);
        }
        /* first_max(even, odd) of each row: odd > even ? odd : even, NaN where either is */
        __m512 top = _mm512_mask_mov_ps(_mm512_max_ps(r[1], r[0]),
                                        _mm512_cmp_ps_mask(r[0], r[1], _CMP_UNORD_Q), nan);
        __m512 bot = _mm512_mask_mov_ps(_mm512_max_ps(r[3], r[2]),
                                        _mm512_cmp_ps_mask(r[2], r[3], _CMP_UNORD_Q), nan);
        __m512 q = _mm512_mask_mov_ps(_mm512_max_ps(bot, top),
                                      _mm512_cmp_ps_mask(top, bot, _CMP_UNORD_Q), nan);
        if (c->clamp) /* v > lo ? v : lo (max's rule), then that > hi ? hi : that (min's) */
            q = _mm512_min_ps(hi, _mm512_max_ps(q, lo));
        _mm512_mask_storeu_ps(yr, keep, q);
    }
}

/* The pooled rows (pool2) in vectors of 16 pooled columns, OB filters at a time */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
rows_pool(const dg *t, const float *xs, const float *w, const on_call *c, const float *bias, int f,
          int live, float *y) {
    for (int pp = 0; pp < t->P / 2; pp++)
        for (int j0 = 0; j0 < t->Q / 2; j0 += 16) chunk_pool(t, xs, w, c, bias, f, live, y, pp, j0);
}

/* Filter blocks [b0, b1) of OB (blocks of 2 OB where they can) of one sample */
__attribute__((target("arch=x86-64-v4"))) static void forward_wide(const on_call *c, const dg *t,
                                                                   const float *wp, const float *xp,
                                                                   float *y, int b0, int b1) {
    if (c->pool2) { /* y: the pooled planes; xp: the split input (split_pad) */
        for (int b = b0; b < b1; b++) {
            int f = b * OB, live = t->F - f < OB ? t->F - f : OB;
            rows_pool(t, xp, wp + (size_t)f * t->K, c, c->a->bias ? c->p[1] + f : NULL, f, live,
                      y + (size_t)f * (t->P / 2) * (t->Q / 2));
        }
        return;
    }
    const float lohi[2] = {c->clamp_lo, c->clamp_hi}, *clamp = c->clamp ? lohi : NULL;
    for (int b = b0; b < b1;) {
        int R = b + 1 < b1 ? 2 * OB : OB, f = b * OB, live = t->F - f < R ? t->F - f : R;
        const float *bias = c->a->bias ? c->p[1] + f : NULL;
        float *yf = y + (size_t)f * t->P * t->Q;
        if (R == 2 * OB)
            rows_wide(2 * OB, t, xp, wp + (size_t)f * t->K, bias, clamp, live, yf);
        else
            rows_wide(OB, t, xp, wp + (size_t)f * t->K, bias, clamp, live, yf);
        b += R / OB;
    }
}
#endif

/* Does the forward take the AVX-512 kernels (forward_wide)? With a 2x2 max-pool after it
 * (pool2) they need an even width. */
static int takes_wide(const on_call *c, const dg *t) {
    return t->Q >= 16 && (!c->pool2 || t->Q % 2 == 0) && on_gemm_wide();
}

#define EVEN8(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD8(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define PICK8(t, a, b) ((vf)(((t) & (vi)(a)) | (~(t) & (vi)(b)))) /* t ? a : b, by lanes */

/* Filter o's pooled rows for pool_grid, with what runs before and after the pool constant
 * (PRE: a clamp, BN: BatchNorm's a x + b, CLAMP: a clamp after it) in each inlined copy. A
 * window's maximum is pool.c's 2x2 kernel's (first_max of each row's pair, then of the two
 * rows: the first largest, -0 before +0 where it comes first), all ones (a NaN) where any of
 * its four values is a NaN, as first_max's three steps would give. */
static inline __attribute__((always_inline)) void pool_planes(const int PRE, const int BN,
                                                              const int CLAMP, const on_call *c,
                                                              const dg *t, const float *yb, int f,
                                                              int live, float *y) {
    int Pp = t->P / 2, Qp = t->Q / 2;
    vf plo = (vf){0} + c->pre_lo, phi = (vf){0} + c->pre_hi;
    vf lo = (vf){0} + c->clamp_lo, hi = (vf){0} + c->clamp_hi;
    for (int o = 0; o < live; o++) {
        const float *g = yb + (size_t)o * t->N;
        vf b = (vf){0} + (c->a->bias ? c->p[1][f + o] : 0.0f), ba = b, bb = b;
        if (BN) ba = (vf){0} + c->bn_a[f + o], bb = (vf){0} + c->bn_b[f + o];
        float *yo = y + (size_t)(f + o) * Pp * Qp;
        for (int pp = 0; pp < Pp; pp++) {
            const float *r0 = g + (size_t)2 * pp * t->Wp, *r1 = r0 + t->Wp;
            for (int e = 0, j = 0; j < Qp; j = e + 8) {
                e = j + 8 <= Qp ? j : Qp - 8;
                vf a0 = VLOAD(r0 + 2 * e), a1 = VLOAD(r0 + 2 * e + 8);
                vf b0 = VLOAD(r1 + 2 * e), b1 = VLOAD(r1 + 2 * e + 8);
                vf v0 = EVEN8(a0, a1) + b, v1 = ODD8(a0, a1) + b;
                vf v2 = EVEN8(b0, b1) + b, v3 = ODD8(b0, b1) + b;
                if (PRE) {
                    ON_VCLAMP(vf, vi, v0, plo, phi);
                    ON_VCLAMP(vf, vi, v1, plo, phi);
                    ON_VCLAMP(vf, vi, v2, plo, phi);
                    ON_VCLAMP(vf, vi, v3, plo, phi);
                }
                if (BN) {
                    v0 = ba * v0 + bb;
                    v1 = ba * v1 + bb;
                    v2 = ba * v2 + bb;
                    v3 = ba * v3 + bb;
                }
                vi nan = (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3);
                vf top = PICK8(v1 > v0, v1, v0), bottom = PICK8(v3 > v2, v3, v2);
                vf m = (vf)((vi)PICK8(bottom > top, bottom, top) | nan);
                if (CLAMP) ON_VCLAMP(vf, vi, m, lo, hi);
                VSTORE(yo + (size_t)pp * Qp + e, m);
            }
        }
    }
}

/* With a 2x2 max-pool after it (pool2), where the AVX-512 kernels do not run: the pooled
 * planes of filters f .. f + live - 1 from their sums on the grid (yb, corr_block's, in L1),
 * eight windows at a time (the last eight again, Q >= 16): each value + the bias as
 * on_conv_grid_out, the layers before the pool as their own passes (a clamp, BatchNorm's
 * a x + b: chunk_pool's), the window's maximum as pool.c's 2x2 kernel takes it, then the
 * clamp: the same bits as the plane written out and pooled by a pass of its own, neither of
 * which happens. */
ON_VECTOR_CLONES static void pool_grid(const on_call *c, const dg *t, const float *yb, int f,
                                       int live, float *y) {
    /* case k: pool_planes with PRE, BN and CLAMP the bits of k */
#define POOL_CASE(k)                                                                               \
    case k:                                                                                        \
        pool_planes((k)&1, (k) >> 1 & 1, (k) >> 2, c, t, yb, f, live, y);                          \
        break;
    switch ((c->pre_clamp ? 1 : 0) | (c->bn_a ? 2 : 0) | (c->clamp ? 4 : 0)) {
        POOL_CASE(0)
        POOL_CASE(1)
        POOL_CASE(2)
        POOL_CASE(3)
        POOL_CASE(4)
        POOL_CASE(5)
        POOL_CASE(6)
        POOL_CASE(7)
    }
#undef POOL_CASE
}

/* Filter blocks [b0, b1) of one sample: the sums, then the valid columns + bias into y (or
 * the pooled planes: pool_grid). */
static void forward_blocks(const on_call *c, const dg *t, const float *wp, const float *xp,
                           float *yb, float *y, int b0, int b1) {
#ifdef HAVE_WIDE
    if (takes_wide(c, t)) {
        forward_wide(c, t, wp, xp, y, b0, b1);
        return;
    }
#endif
    size_t PQ = (size_t)t->P * t->Q;
    for (int b = b0; b < b1; b++) {
        corr_block(xp, t->xplane, t->C, t->kh, t->kw, t->Wp, wp + (size_t)b * OB * t->K, t->K, yb,
                   t->N, 0, t->N);
        if (c->pool2) {
            pool_grid(c, t, yb, b * OB, t->F - b * OB < OB ? t->F - b * OB : OB, y);
            continue;
        }
        for (int f = b * OB; f < (b + 1) * OB && f < t->F; f++) {
            float *yf = y + f * PQ;
            on_conv_grid_out(yb + (size_t)(f - b * OB) * t->N, t->Wp, t->P, t->Q,
                             c->a->bias ? c->p[1][f] : 0.0f, yf);
            for (size_t j = 0; c->clamp && j < PQ; j++)
                yf[j] = on_clamp(yf[j], c->clamp_lo, c->clamp_hi);
        }
    }
}

int on_conv_direct_pools(const on_attrs *a, const on_geom *g, int channels) {
    return on_conv_direct_apply(a, g, channels) && g->q >= 16;
}

void on_conv_direct_forward(const on_call *c, const on_geom *g) {
    dg t = dg_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), per = per_thread(&t);
    size_t ysz = c->pool2 ? (size_t)t.F * (t.P / 2) * (t.Q / 2) : on_shape_size(c->ys);
    float *wp = c->tmp, *wr = wp + (size_t)t.Fr * t.K, *blocks = c->tmp + shared_size(&t);
    int nb = t.Fr / OB;
    /* the pooled forward of the AVX-512 kernels reads the input split by column parity
     * (split_pad), at the end of the thread's block */
    size_t split = per - 2 * (size_t)t.C * t.splane;
    int splits = c->pool2 && takes_wide(c, &t);
    if (c->n < c->threads) { /* batch-1 latency: the threads split each sample's filters */
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                float *xp = blocks, *yb = blocks + per * th + (size_t)t.C * t.xplane;
                if (!i) repack(c->p[0], &t, wp, wr); /* ends with a barrier */
                if (splits) { /* each thread its own: no wait, no lines from the other's cache */
                    xp = blocks + per * th + split;
                    if (!i) split_zero(&t, xp);
                    split_pad(c->x + xsz * i, &t, xp);
                } else {
#pragma omp single
                    pad(c->x + xsz * i, &t, xp); /* ends with a barrier */
                }
                forward_blocks(c, &t, wp, xp, yb, on_y_at(c, ysz, i, 0), nb * th / T,
                               nb * (th + 1) / T);
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
        float *xp = blocks + per * th, *yb = xp + (size_t)t.C * t.xplane;
        repack(c->p[0], &t, wp, wr); /* ends with a barrier */
        if (splits) {
            xp += split;
            split_zero(&t, xp);
        }
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            if (splits)
                split_pad(c->x + xsz * i, &t, xp);
            else
                pad(c->x + xsz * i, &t, xp);
            forward_blocks(c, &t, wp, xp, yb, on_y_at(c, ysz, i, th), 0, nb);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

/* dy (F,P,Q) -> dyb (Fr planes of yplane): dY on the padded grid from B on, zeros
 * elsewhere (filters after F stay zero from the call's start); adds each filter's sum to db. */
static void place_dy(const float *dy, const dg *t, float *dyb, float *db) {
    for (int f = 0; f < t->F; f++) {
        float *o = dyb + (size_t)f * t->yplane + t->B;
        double s = 0; /* a bias gradient's terms cancel: float sums lose its last digits */
        for (int p = 0; p < t->P; p++) {
            const float *d = dy + ((size_t)f * t->P + p) * t->Q;
            float *r = o + (size_t)p * t->Wp;
#pragma omp simd reduction(+ : s)
            for (int q = 0; q < t->Q; q++) {
                r[q] = d[q];
                s += d[q];
            }
        }
        db[f] += (float)s;
    }
}

void on_conv_direct_backward(const on_call *c, const on_geom *g) {
    dg t = dg_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), per = per_thread(&t);
    float *wp = c->tmp, *wr = wp + (size_t)t.Fr * t.K, *blocks = c->tmp + shared_size(&t);
    int taps = t.kh * t.kw, off[MAX_TAPS * 3 + TB];
    for (int k = 0; k < t.Kr; k++) /* tap k of the flattened (c, ky, kx); past K: unused */
        off[k] = k < t.K ? (int)((k / taps) * t.xplane) + (k % taps / t.kw) * t.Wp + k % t.kw : 0;
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id(), T = on_thread_count();
        float *xp = blocks + per * th, *dyb = xp + (size_t)t.C * t.xplane + (size_t)OB * t.N;
        float *dxp = dyb + (size_t)t.Fr * t.yplane, *dw = dxp + t.NX;
        float *db = dw + (size_t)t.Fr * t.Kr;
        repack(c->p[0], &t, wp, wr); /* ends with a barrier */
        /* the gaps between dY's rows, its margins and the padded filters stay zero */
        memset(dyb, 0, sizeof(float) * (size_t)t.Fr * t.yplane);
        memset(dw, 0, sizeof(float) * (size_t)t.Fr * (t.Kr + 1));
        for (int i = c->n * th / T; i < c->n * (th + 1) / T; i++) {
            pad(c->x + xsz * i, &t, xp);
            place_dy(c->dy_ready ? c->dy_ready(c->dy_ctx, i) : c->dy + ysz * i, &t, dyb, db);
            for (int b = 0; b < t.Fr; b += OB)
                for (int k = 0; k < t.Kr; k += TB)
                    wgrad_block(dyb + (size_t)b * t.yplane + t.B, t.yplane, xp, off + k, t.N,
                                dw + (size_t)b * t.Kr + k, t.Kr);
            if (!c->dx) continue;
            float *dx = c->dx + xsz * i;
            for (int ci = 0; ci < t.C; ci++) {
                corr_one(dyb, t.yplane, t.Fr, t.kh, t.kw, t.Wp, wr + (size_t)ci * t.Fr * taps, 0,
                         dxp, 0, 0, t.NX);
                for (int r = 0; r < t.h; r++)
                    memcpy(dx + ((size_t)ci * t.h + r) * t.w,
                           dxp + (size_t)(r + t.pt) * t.Wp + t.pl, sizeof(float) * t.w);
            }
        }
#pragma omp barrier
        /* sum the per-thread partials in thread order */
#pragma omp for schedule(static)
        for (int f = 0; f < t.F; f++) {
            for (int k = 0; k < t.K; k++) {
                float s = 0;
                for (int u = 0; u < T; u++)
                    s += (blocks + per * u + (dw - xp))[(size_t)f * t.Kr + k];
                c->dp[0][(size_t)f * t.K + k] += s;
            }
            if (c->a->bias) {
                float s = 0;
                for (int u = 0; u < T; u++) s += (blocks + per * u + (db - xp))[f];
                c->dp[1][f] += s;
            }
        }
    }
}
