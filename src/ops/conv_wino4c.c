/* conv_wino4c.c - the inference forward of 3x3 stride-1 convolution on small images by
 * Winograd F(4x4, 3x3) with the channels in the vector lanes.
 *
 * conv_wino4.c puts eight tiles in a vector: a 14x14 image is 4x4 tiles, so a row of tiles
 * fills half a vector, and its 16 tiles make products 16 columns wide; it lost to F(2x2) on
 * such images. Here a vector holds eight channels of one pixel, as in NCHWc layouts: each
 * sample is first copied into blocks of eight channels (the input's (C, h, w) transposed
 * eight channels at a time, zeros around), the input transform makes V^T[xi] (tiles x C)
 * eight channels at a time, the products are M^T[xi] (tiles x F) = V^T[xi] . U^T[xi]
 * (gemm.c: rows are tiles, vectors are filters), and the output transform reads eight
 * filters of a tile as a vector and transposes them back into the filters' planes. No
 * vector lane is wasted on the tiles, whatever the image's width. The transforms are
 * conv_wino4.c's (its points, and U computed in double and rounded once), so the
 * arithmetic of an output is the same sums in the same order as there: the same bits.
 * Each sample's outputs depend on that sample alone (a product's rows are independent), so
 * grouping samples into products changes no bits either.
 */
#include "conv_wino4c.h"
#include "conv_variant.h"
#include "conv_wino4.h"
#include "conv_winograd.h"
#include "gemm.h"

#include <string.h>

/* GROUP_ROWS: tiles per product (samples grouped while whole samples fit), so that V^T and
 * M^T stay in L2. The rule: images of at most MAX_TILES tiles (16x16 outputs; larger ones
 * have tiles enough for conv_wino4.c's layout), MIN_C channels in and MIN_F filters or more
 * (with 16 channels, 13x13 -> 48, the transforms made it 1.11x slower than F(2x2)), and at
 * most MAX_FC of them multiplied, so that U^T (36 floats a kernel: 2.25x F(2x2)'s U) stays
 * in L2 (the reference model's 32 -> 64: 295 KB; ResNet's 14x14 256 -> 256 would be 9.4 MB,
 * read whole for each group of samples). Measured (one layer, 1 thread, batch 256, against
 * F(2x2)): 14x14 32 -> 64 0.89x the time, 14x14 64 -> 64 0.86x, 8x8 96 -> 64 0.65x, 7x7
 * 64 -> 32 0.60x; at batch 1 14x14 32 -> 64 0.80x (1 thread), 0.85x (2). */
enum { VEC = 8, GROUP_ROWS = 48, MAX_TILES = 16, MIN_C = 32, MIN_F = 16, MAX_FC = 8192 };
enum { MAX_F = MAX_FC / MIN_C }; /* the most filters the rule lets through */

typedef struct w4c {
    int F, C, h, w, pt, pl, P, Q;
    int TH, TW, T;  /* tiles down, across, per sample (4x4 outputs each) */
    int Cp, Fp, CB; /* channels and filters rounded up to VEC; channel blocks */
    int Hp, Wp;     /* the padded input: 4 TH + 2 rows of 4 TW + 2 pixels */
    size_t xplane;  /* floats per channel block of the padded input: Hp Wp VEC */
    int S;          /* samples per group */
    size_t vs, ms;  /* floats from V^T[xi] to V^T[xi+1], from M^T[xi] to M^T[xi+1] */
} w4c;

static w4c w4c_of(const on_attrs *a, const on_geom *g, int C) {
    w4c t = {.F = a->units, .C = C, .h = g->h, .w = g->w, .pt = g->pt, .pl = g->pl};
    t.P = g->p;
    t.Q = g->q;
    t.TH = (t.P + 3) / 4;
    t.TW = (t.Q + 3) / 4;
    t.T = t.TH * t.TW;
    t.Cp = (C + VEC - 1) / VEC * VEC;
    t.Fp = (t.F + VEC - 1) / VEC * VEC;
    t.CB = t.Cp / VEC;
    t.Hp = 4 * t.TH + 2;
    t.Wp = 4 * t.TW + 2;
    t.xplane = (size_t)t.Hp * t.Wp * VEC;
    t.S = GROUP_ROWS / t.T > 1 ? GROUP_ROWS / t.T : 1;
    t.vs = on_wino4_stride((size_t)t.S * t.T * t.Cp);
    t.ms = on_wino4_stride((size_t)t.S * t.T * t.Fp);
    return t;
}

int on_conv_wino4c_may(const on_attrs *a, const on_geom *g, int channels) {
    if (!on_conv_wino_apply(a, g, channels)) return 0;
    w4c t = w4c_of(a, g, channels);
    return t.T <= MAX_TILES && channels >= MIN_C && t.F >= MIN_F && (size_t)t.Cp * t.Fp <= MAX_FC;
}

int on_conv_wino4c_use(const on_attrs *a, const on_geom *g, int channels, int train) {
    if (train || on_conv_variant & (ON_CONV_NO_WINO4C | ON_CONV_NO_WINO)) return 0;
    return on_conv_wino4c_may(a, g, channels);
}

/* Per thread: S samples' padded blocks, V^T (36 vs), M^T (36 ms) */
static size_t per_thread(const w4c *t) {
    return (size_t)t->S * t->CB * t->xplane + 36 * (t->vs + t->ms);
}

size_t on_conv_wino4c_tmp(const on_attrs *a, const on_geom *g, int channels, int threads) {
    w4c t = w4c_of(a, g, channels);
    return (size_t)threads * per_thread(&t);
}

/* U^T (36 Cp Fp), then the weights it was made from (F C 9) */
size_t on_conv_wino4c_saved(const on_attrs *a, int channels) {
    size_t cp = ((size_t)channels + VEC - 1) / VEC * VEC,
           fp = ((size_t)a->units + VEC - 1) / VEC * VEC;
    return 36 * cp * fp + 9 * (size_t)a->units * channels;
}

/* U^T[xi][c][f] = (G g G^T)[xi] for each kernel g = W[f][c] (conv_wino4.c's G, in double,
 * rounded once), zeros for the channels and filters past C and F (from the zeroed arena).
 * Filters whose weights did not change since the last call are skipped. Split by filters
 * over the enclosing region's threads; no barrier. */
static const float *weights_transform(const float *w, const w4c *t, float *saved) {
    size_t k = (size_t)t->C * 9;
    float *U = saved, *seen = saved + 36 * (size_t)t->Cp * t->Fp;
#pragma omp for schedule(static) nowait
    for (int f = 0; f < t->F; f++) {
        if (!memcmp(seen + f * k, w + f * k, sizeof(float) * k)) continue;
        memcpy(seen + f * k, w + f * k, sizeof(float) * k);
        for (int c = 0; c < t->C; c++) {
            float u[36];
            on_wino4_kernel(w + ((size_t)f * t->C + c) * 9, u);
            for (int xi = 0; xi < 36; xi++) U[((size_t)xi * t->Cp + c) * t->Fp + f] = u[xi];
        }
    }
    return U;
}

/* Sample x (C,h,w) -> xb (CB blocks of Hp x Wp pixels of VEC channels), at (pt, pl), zeros
 * around and in the channels past C: eight channels' rows read as eight vectors, transposed
 * in registers into eight pixels. A vector past a row's end reads the next row's floats,
 * whose pixels are not stored; within the last 8 floats of the sample, one value at a time
 * (x0: one sample of xsz floats). */
ON_VECTOR_CLONES static void pack(const float *x, size_t xsz, const w4c *t, float *xb) {
    memset(xb, 0, sizeof(float) * t->CB * t->xplane);
    for (int cb = 0; cb < t->CB; cb++)
        for (int i = 0; i < t->h; i++) {
            float *o = xb + cb * t->xplane + ((size_t)(i + t->pt) * t->Wp + t->pl) * VEC;
            for (int x0 = 0; x0 < t->w; x0 += VEC) {
                vf r[VEC];
                size_t at0 = ((size_t)cb * VEC * t->h + i) * t->w + x0, cs = (size_t)t->h * t->w;
                if ((cb + 1) * VEC <= t->C && at0 + (VEC - 1) * cs + VEC <= xsz) { /* all there */
#pragma GCC unroll 8
                    for (int k = 0; k < VEC; k++) r[k] = VLOAD(x + at0 + k * cs);
                } else
                    for (int k = 0; k < VEC; k++) {
                        int c = cb * VEC + k;
                        size_t at = ((size_t)c * t->h + i) * t->w + x0;
                        if (c >= t->C)
                            r[k] = (vf){0};
                        else if (at + VEC <= xsz)
                            r[k] = VLOAD(x + at);
                        else {
                            float part[VEC] = {0};
                            for (int j = 0; at + j < xsz && j < VEC; j++) part[j] = x[at + j];
                            r[k] = VLOAD(part);
                        }
                    }
                on_transpose8(r);
                int n = t->w - x0 < VEC ? t->w - x0 : VEC;
                for (int j = 0; j < n; j++) VSTORE(o + (size_t)(x0 + j) * VEC, r[j]);
            }
        }
}

/* V^T[xi][r][c] = (B^T d B)[xi] for the tiles r (from r0, in sample s's block xb) of one
 * sample, eight channels a vector */
ON_WIDE_CLONES static void input_transform(const float *xb, const w4c *t, int r0, float *V) {
    for (int ty = 0; ty < t->TH; ty++)
        for (int tx = 0; tx < t->TW; tx++) {
            float *v = V + (size_t)(r0 + ty * t->TW + tx) * t->Cp;
            for (int cb = 0; cb < t->CB; cb++) {
                const float *b = xb + cb * t->xplane + ((size_t)4 * ty * t->Wp + 4 * tx) * VEC;
                vf s[6][6]; /* d B: row i, column j */
                for (int i = 0; i < 6; i++) {
                    const float *p = b + (size_t)i * t->Wp * VEC;
                    ON_WINO4_BT6(s[i], VLOAD(p), VLOAD(p + VEC), VLOAD(p + 2 * VEC),
                                 VLOAD(p + 3 * VEC), VLOAD(p + 4 * VEC), VLOAD(p + 5 * VEC));
                }
                for (int j = 0; j < 6; j++) { /* B^T (d B), down column j */
                    vf o[6];
                    ON_WINO4_BT6(o, s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j]);
                    for (int i = 0; i < 6; i++) VSTORE(v + (6 * i + j) * t->vs + cb * VEC, o[i]);
                }
            }
        }
}

/* vectors of sixteen floats (and their compare masks) for output_transform's two blocks of
 * eight filters at a time */
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int vi16 __attribute__((vector_size(64)));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef float v2u __attribute__((vector_size(8), aligned(4), may_alias));

/* Lanes [l, l + 4) of vector v, columns [0, cols) of them, to yr (a macro: a vector
 * argument or a pointer to one would keep the transposed rows on the stack) */
#define STORE_ROW(v, l, cols, yr)                                                                  \
    do {                                                                                           \
        if ((cols) == 4)                                                                           \
            *(v4u *)(yr) = (l) ? __builtin_shufflevector(v, v, 4, 5, 6, 7)                         \
                               : __builtin_shufflevector(v, v, 0, 1, 2, 3);                        \
        else if ((cols) == 2)                                                                      \
            *(v2u *)(yr) =                                                                         \
                (l) ? __builtin_shufflevector(v, v, 4, 5) : __builtin_shufflevector(v, v, 0, 1);   \
        else                                                                                       \
            for (int j_ = 0; j_ < (cols); j_++) (yr)[j_] = (v)[(l) + j_];                          \
    } while (0)

/* Lanes [l, l + 2) of v, the first pc (1 or 2) of them, to yr: a pooled row's two windows */
#define STORE_PAIR(v, l, pc, yr)                                                                   \
    do {                                                                                           \
        if ((pc) == 2)                                                                             \
            *(v2u *)(yr) =                                                                         \
                (l) ? __builtin_shufflevector(v, v, 2, 3) : __builtin_shufflevector(v, v, 0, 1);   \
        else                                                                                       \
            (yr)[0] = (v)[l];                                                                      \
    } while (0)

/* Sixteen floats from p; or (not pair) eight, then zeros: the last block of eight filters
 * (a macro: a function returning a vector of sixteen would change the clones' ABI) */
#define LOAD16(p, pair)                                                                            \
    ((pair) ? (v16) * (const v16u *)(p)                                                            \
            : (v16)__builtin_shufflevector(VLOAD(p), (vf){0}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,    \
                                           11, 12, 13, 14, 15))

/* Lanes [8 h, 8 h + 8) of a vector of sixteen */
#define HALF(v, h)                                                                                 \
    ((h) ? __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)                             \
         : __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7))

/* A tile's filters [fb, fb + 8) (not pair) or [fb, fb + 16) (pair): A^T M A (+ the bias,
 * the pool's pre-clamp and BatchNorm, or the clamp) in vectors of type VT, each half (HALFV)
 * then pooled, transposed and stored as a block of eight (output_transform's arguments; mt:
 * the tile's row of M^T, yt: its outputs; pair constant in each call). tile_block takes
 * vectors of sixteen (on a CPU with 512-bit units half the instructions of blocks of eight),
 * tile_block8 vectors of eight (where a vector of sixteen is two AVX2 registers); the same
 * arithmetic lane by lane. */
#define TILE_BLOCK(NAME, VT, VTI, LOADV, HALFV)                                                    \
    static inline __attribute__((always_inline)) void NAME(                                        \
        const int pair, const w4c *t, const float *mt, int fb, const float(*bf)[MAX_F],            \
        const float *clamp, const on_call *pool, int rows, int cols, int prow, int pcol,           \
        size_t PQ, float *yt) {                                                                    \
        int Qp = t->Q / 2;                                                                         \
        vf lo = (vf){0} + (clamp ? clamp[0] : 0.0f), hi = (vf){0} + (clamp ? clamp[1] : 0.0f);     \
        VT lov = (VT){0} + (clamp ? clamp[0] : 0.0f), hiv = (VT){0} + (clamp ? clamp[1] : 0.0f);   \
        VT plo = (VT){0} + (pool ? pool->pre_lo : 0.0f),                                           \
           phi = (VT){0} + (pool ? pool->pre_hi : 0.0f);                                           \
        const float *m = mt + fb;                                                                  \
        VT bb = LOADV(bf[0] + fb, pair);                                                           \
        VT s[4][6]; /* A^T M: row i, column j */                                                   \
        for (int j = 0; j < 6; j++) {                                                              \
            VT o[4];                                                                               \
            ON_WINO4_AT6(o, LOADV(m + j * t->ms, pair), LOADV(m + (6 + j) * t->ms, pair),          \
                         LOADV(m + (12 + j) * t->ms, pair), LOADV(m + (18 + j) * t->ms, pair),     \
                         LOADV(m + (24 + j) * t->ms, pair), LOADV(m + (30 + j) * t->ms, pair));    \
            for (int i = 0; i < 4; i++) s[i][j] = o[i];                                            \
        }                                                                                          \
        if (pool) {                                                                                \
            if (prow <= 0 || pcol <= 0) return;                                                    \
            VT o[4][4], na = LOADV(bf[1] + fb, pair), nb = LOADV(bf[2] + fb, pair);                \
            for (int i = 0; i < 4; i++) {                                                          \
                ON_WINO4_AT6(o[i], s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5]);          \
                for (int j = 0; j < 4; j++) {                                                      \
                    o[i][j] += bb;                                                                 \
                    if (pool->pre_clamp) ON_VCLAMP(VT, VTI, o[i][j], plo, phi);                    \
                    if (pool->bn_a) o[i][j] = na * o[i][j] + nb; /* batchnorm.c's */               \
                }                                                                                  \
            }                                                                                      \
            for (int h = 0; h <= pair; h++) {                                                      \
                int nf = t->F - fb - h * VEC < VEC ? t->F - fb - h * VEC : VEC;                    \
                vf r[VEC] = {{0}};                                                                 \
                for (int w = 0; w < 4; w++) { /* window (w / 2, w % 2) */                          \
                    int i = 2 * (w / 2), j = 2 * (w % 2);                                          \
                    vf win[4] = {HALFV(o[i][j], h), HALFV(o[i][j + 1], h), HALFV(o[i + 1][j], h),  \
                                 HALFV(o[i + 1][j + 1], h)};                                       \
                    ON_POOL4_MAX(r[w], win, Qp);                                                   \
                    if (clamp) ON_VCLAMP(vf, vi, r[w], lo, hi);                                    \
                }                                                                                  \
                on_transpose8(r); /* filter k: its windows (0,0), (0,1), (1,0), (1,1) */           \
                _Pragma("GCC unroll 8") for (int k = 0; k < VEC; k++) {                            \
                    if (k >= nf) break;                                                            \
                    float *yr = yt + (fb + h * VEC + k) * PQ;                                      \
                    STORE_PAIR(r[k], 0, pcol, yr);                                                 \
                    if (prow > 1) STORE_PAIR(r[k], 2, pcol, yr + Qp);                              \
                }                                                                                  \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        for (int i = 0; i < rows; i += 2) { /* rows i and i + 1 of the filters */                  \
            VT rv[VEC];                                                                            \
            ON_WINO4_AT6(rv, s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5]);                \
            ON_WINO4_AT6(rv + 4, s[i + 1][0], s[i + 1][1], s[i + 1][2], s[i + 1][3], s[i + 1][4],  \
                         s[i + 1][5]);                                                             \
            for (int j = 0; j < VEC; j++) {                                                        \
                rv[j] += bb;                                                                       \
                if (clamp) ON_VCLAMP(VT, VTI, rv[j], lov, hiv);                                    \
            }                                                                                      \
            for (int h = 0; h <= pair; h++) {                                                      \
                int nf = t->F - fb - h * VEC < VEC ? t->F - fb - h * VEC : VEC;                    \
                vf r[VEC];                                                                         \
                for (int j = 0; j < VEC; j++) r[j] = HALFV(rv[j], h);                              \
                on_transpose8(r);                                                                  \
                _Pragma("GCC unroll 8") for (int k = 0; k < VEC; k++) {                            \
                    if (k >= nf) break;                                                            \
                    float *yr = yt + (fb + h * VEC + k) * PQ + (size_t)i * t->Q;                   \
                    STORE_ROW(r[k], 0, cols, yr);                                                  \
                    if (i + 1 < rows) STORE_ROW(r[k], 4, cols, yr + t->Q);                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* tile_block, and the same in AVX2 vectors of eight (tile_block8: a block of eight filters,
 * pair 0) for a CPU without AVX-512, where a vector of sixteen is two registers and
 * tile_block's 24 sums of them took 48 of its sixteen (24% of the reference model's time on
 * one thread on Zen 3): the same arithmetic lane by lane, the same bits. There the reference
 * model at batch 256 took 0.818x-0.836x the time so on one thread, 0.853x-0.892x on two. */
#define LOAD8(p, pair) VLOAD(p)
#define WHOLE(v, h) (v)
TILE_BLOCK(tile_block, v16, vi16, LOAD16, HALF)
TILE_BLOCK(tile_block8, vf, vi, LOAD8, WHOLE)

/* y (F,P,Q) of one sample = A^T M A + bias, filter blocks [fb0, fb1) (multiples of VEC),
 * from its tiles r0 .. r0 + T - 1 of M^T, eight filters a vector (sixteen in the sums of
 * two blocks at a time); then, as the layers after it would, with pool (on_call's pool2)
 * its pre-clamp, BatchNorm and the 2x2 max-pool (y then pooled, (F, P/2, Q/2)), and the
 * clamp {lo, hi} where clamp is not NULL.
 * Each tile's outputs of eight filters are transposed into rows of four (pooled: two), the
 * outputs past P and Q dropped. Tile by tile, each tile's filters in turn: its 36 rows of
 * M^T are read whole. */
ON_WIDE_CLONES static void output_transform(const float *M, const w4c *t, int r0, int fb0, int fb1,
                                            const float *bias, const float *clamp,
                                            const on_call *pool, float *y) {
    int Pp = t->P / 2, Qp = t->Q / 2;
    size_t PQ = pool ? (size_t)Pp * Qp : (size_t)t->P * t->Q;
    float bf[3][MAX_F] = {{0}};      /* bias, bn_a, bn_b; zeros past F */
    const int wide = on_gemm_wide(); /* else tile_block8 */
    for (int f = 0; f < t->F; f++) {
        bf[0][f] = bias ? bias[f] : 0.0f;
        bf[1][f] = pool && pool->bn_a ? pool->bn_a[f] : 0.0f;
        bf[2][f] = pool && pool->bn_a ? pool->bn_b[f] : 0.0f;
    }
    for (int ty = 0; ty < t->TH; ty++)
        for (int tx = 0; tx < t->TW; tx++) {
            int rows = t->P - 4 * ty < 4 ? t->P - 4 * ty : 4;
            int cols = t->Q - 4 * tx < 4 ? t->Q - 4 * tx : 4;
            int prow = Pp - 2 * ty < 2 ? Pp - 2 * ty : 2, pcol = Qp - 2 * tx < 2 ? Qp - 2 * tx : 2;
            const float *mt = M + (size_t)(r0 + ty * t->TW + tx) * t->Fp;
            float *yt =
                pool ? y + (size_t)2 * ty * Qp + 2 * tx : y + (size_t)4 * ty * t->Q + 4 * tx;
            /* two blocks of eight filters at a time (the reference model at batch 256 took
             * 0.954x-0.990x the time so on 1 thread, 0.946x on 2); the last of an odd count
             * alone, in the low lanes */
            int fb = fb0;
            for (; !wide && fb < fb1; fb += VEC)
                tile_block8(0, t, mt, fb, (const float(*)[MAX_F])bf, clamp, pool, rows, cols, prow,
                            pcol, PQ, yt);
            for (; fb + 2 * VEC <= fb1; fb += 2 * VEC)
                tile_block(1, t, mt, fb, (const float(*)[MAX_F])bf, clamp, pool, rows, cols, prow,
                           pcol, PQ, yt);
            if (fb < fb1)
                tile_block(0, t, mt, fb, (const float(*)[MAX_F])bf, clamp, pool, rows, cols, prow,
                           pcol, PQ, yt);
        }
}

/* One group of samples [i0, i1) through V^T and M^T, filter blocks [fb0, fb1) */
static void forward_group(const on_call *c, const w4c *t, const float *U, float *xb, float *V,
                          float *M, int i0, int i1, int fb0, int fb1) {
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys);
    const float *bias = c->a->bias ? c->p[1] : NULL, clamp[2] = {c->clamp_lo, c->clamp_hi};
    if (c->pool2) ysz = (size_t)t->F * (t->P / 2) * (t->Q / 2);
    for (int i = i0; i < i1; i++) {
        float *xs = xb + (size_t)(i - i0) * t->CB * t->xplane;
        pack(c->x + xsz * i, xsz, t, xs);
        input_transform(xs, t, (i - i0) * t->T, V);
    }
    for (int xi = 0; xi < 36; xi++)
        on_wino_product((i1 - i0) * t->T, fb1 - fb0, fb1 - fb0, t->Cp, V + xi * t->vs, t->Cp, 1,
                        U + (size_t)xi * t->Cp * t->Fp + fb0, t->Fp, M + xi * t->ms + fb0, t->Fp,
                        0);
    for (int i = i0; i < i1; i++)
        output_transform(M, t, (i - i0) * t->T, fb0, fb1, bias, c->clamp ? clamp : NULL,
                         c->pool2 ? c : NULL, c->y + ysz * i);
}

void on_conv_wino4c_forward(const on_call *c, const on_geom *g, size_t offset) {
    w4c t = w4c_of(c->a, g, c->xs.c);
    size_t per = per_thread(&t);
    float *saved = c->saved + offset;
    const float *U = saved;
    if (c->n < c->threads) { /* batch-1 latency: the threads split the filters, each packing
                              * and transforming the sample into its own scratch (no barrier
                              * between the transform and the products); each output value is
                              * the same sums as on one thread */
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count(), nb = t.Fp / VEC;
                float *xb = c->tmp + per * th, *V = xb + (size_t)t.S * t.CB * t.xplane;
                if (!i) {
                    weights_transform(c->p[0], &t, saved);
#pragma omp barrier
                }
                forward_group(c, &t, U, xb, V, V + 36 * t.vs, i, i + 1, VEC * (nb * th / T),
                              VEC * (nb * (th + 1) / T));
            }
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
        return;
    }
    int groups = (c->n + t.S - 1) / t.S;
    size_t xsz = on_shape_size(c->xs);
    on_queue q;
    on_queue_init(&q, c, groups);
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id();
        float *xb = c->tmp + per * th, *V = xb + (size_t)t.S * t.CB * t.xplane;
        weights_transform(c->p[0], &t, saved);
#pragma omp barrier
        for (int k = 0, gi; (gi = on_queue_next(&q, &k)) >= 0;) {
            int i0 = gi * t.S, i1 = i0 + t.S < c->n ? i0 + t.S : c->n, next = on_queue_peek(&q, k);
            if (next >= 0) { /* the next group's input toward the cache meanwhile: pack()
                              * waited on its loads (29% of its profile on the first), the
                              * layer before having written the whole batch; the reference
                              * model at batch 256 took 0.93-0.955x the time so on 1 thread,
                              * 0.983x on 2 */
                int n0 = next * t.S, n1 = n0 + t.S < c->n ? n0 + t.S : c->n;
                on_prefetch(c->x + xsz * n0, xsz * (n1 - n0));
            }
            forward_group(c, &t, U, xb, V, V + 36 * t.vs, i0, i1, 0, t.Fp);
            for (int i = i0; i < i1 && c->epilogue; i++) c->epilogue(c->epilogue_ctx, i);
        }
    }
}
