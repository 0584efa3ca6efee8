/* conv_wino4.c - the inference forward of 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(4x4, 3x3).
 *
 * As conv_winograd.c's F(2x2, 3x3), but the output is cut into 4x4 tiles, each read from a
 * 6x6 patch d of the padded input: U = G g G^T and V = B^T d B are 6x6, the tile's output is
 * A^T M A with M = sum over channels of U (.) V, and gathered by position xi of the 6x6 grid
 * the sums are 36 matrix products M[xi] (F x T) = U[xi] (F x C) . V[xi] (C x T) (gemm.c):
 * 36 multiplications per 16 outputs, 4x fewer than a direct sum, 1.78x fewer than F(2x2).
 * The interpolation points are 0, 1, -1, 1/2, -2 and infinity: with the usual 0, +-1, +-2
 * (Lavin and Gray 2016, as NNPACK and oneDNN use them), test_conv measured larger errors
 * (up to 2.5e-6 S against 1.7e-6 S, mostly 2.2-2.5e-6 S against 0.5-1e-6 S, where
 * S = sum |w||x|): a point and its reciprocal keep the transforms' entries near 1 (Barabasz
 * et al. 2020, "Error analysis and improving the accuracy of Winograd convolution for deep
 * neural networks"):
 *   B^T = [1 -3/2 -2 3/2 1 0; 0 -1 1/2 5/2 1 0; 0 1 -5/2 1/2 1 0; 0 -2 -1 2 1 0;
 *          0 1/2 -1 -1/2 1 0; 0 1 -3/2 -2 3/2 1]
 *   G   = [1 0 0; 1/3 1/3 1/3; -1/3 1/3 -1/3; -16/15 -8/15 -4/15; 1/15 -2/15 4/15; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 1/2 -2 0; 0 1 1 1/4 4 0; 0 1 -1 1/8 -8 1]
 * (the Toom-Cook construction: A^T's columns are the points' powers, B^T's rows the
 * products of (x - p) over the other points, G's rows the powers over those products at
 * the point). The coefficients reach 8, 5/2 and 1/15, so the rounding error is still larger
 * than F(2x2)'s (1.6e-7 S): test_conv holds it to a bound relative to sum |w||x|,
 * test_golden to PyTorch's outputs. That is why it is the inference forward only: training
 * keeps F(2x2) (whose backward is the adjoint of its forward), and F(4x4) goes where its
 * tiles are many (on_conv_wino4_use): a 7x7 image is 2x2 tiles of which 15 of 64 outputs
 * are thrown away.
 * U is computed in double and rounded once. The work is split as in conv_winograd.c: samples
 * over threads, or the threads share a sample (channels, then filters) when the batch is
 * smaller than the thread count; the order of every sum depends on the shape and the thread
 * count only, so the results are the same bits from run to run.
 */
#include "conv_wino4.h"
#include "conv_variant.h"
#include "conv_winograd.h"

#include <string.h>

/* CHUNK_TILES: tiles per chunk (whole tile rows), so that V (36 C) and M (36 F) floats per
 * tile stay near the cache: 48 tiles of 64 channels are 0.5 MB each. MIN_TILES and
 * MIN_CHANNELS: the default rule (a sample's tiles, and channels in and out), below which
 * F(2x2) keeps the shape: few tiles waste the edges and make thin products; few channels
 * leave the transforms, not the products, as most of the time. Provisional figures: see
 * bench/RESULTS.md. */
enum { CHUNK_TILES = 48, MIN_TILES = 32, MIN_CHANNELS = 16, VEC = 8 };

/* The padded input keeps each row's columns by their position mod 4 ("split rows", four
 * phases of TWv + 1 floats): tile tx reads columns 4tx .. 4tx+5, which are then phase 0-3
 * at tx and phase 0-1 at tx+1, so every transform loop reads consecutive floats. Rows of
 * tiles run over TWv, TW rounded up to whole vectors: the extra tiles' results land in the
 * next row's columns (rewritten after) or in the VEC floats past each row of V and M, and are
 * never used. */
typedef struct wg4 {
    int F, C, h, w, pt, pl, P, Q;
    int TH, TW, TWv; /* tiles down and across, each 4x4 outputs */
    int rows, CT;    /* tile rows per chunk, tiles per chunk */
    int ld;          /* CT + VEC: from one channel's (filter's) tiles to the next */
    size_t vs, ms;   /* from V[xi] to V[xi+1], M[xi] to M[xi+1]: see xi_stride */
    int Hp, Ph, Wp;  /* padded rows 4 TH + 2; phase length TWv + 1; row length 4 Ph */
    size_t plane;    /* Hp Wp */
} wg4;

static wg4 wg4_of(const on_attrs *a, const on_geom *g, int C) {
    wg4 t = {.F = a->units, .C = C, .h = g->h, .w = g->w, .pt = g->pt, .pl = g->pl};
    t.P = g->p;
    t.Q = g->q;
    t.TH = (t.P + 3) / 4;
    t.TW = (t.Q + 3) / 4;
    t.TWv = (t.TW + VEC - 1) / VEC * VEC;
    t.rows = (CHUNK_TILES + t.TW - 1) / t.TW;
    if (t.rows > t.TH) t.rows = t.TH;
    t.CT = t.rows * t.TW;
    t.ld = t.CT + VEC;
    t.vs = on_wino4_stride((size_t)t.C * t.ld);
    t.ms = on_wino4_stride((size_t)t.F * t.ld);
    t.Hp = 4 * t.TH + 2;
    t.Ph = t.TWv + 1;
    t.Wp = 4 * t.Ph;
    t.plane = (size_t)t.Hp * t.Wp;
    return t;
}

static int rule(const on_attrs *a, const on_geom *g, int C) {
    wg4 t = wg4_of(a, g, C);
    return t.TH * t.TW >= MIN_TILES && C >= MIN_CHANNELS && t.F >= MIN_CHANNELS;
}

int on_conv_wino4_may(const on_attrs *a, const on_geom *g, int channels) {
    if (!on_conv_wino_apply(a, g, channels)) return 0;
    return on_conv_variant & ON_CONV_AB || rule(a, g, channels);
}

int on_conv_wino4_use(const on_attrs *a, const on_geom *g, int channels, int train) {
    if (train || on_conv_variant & (ON_CONV_NO_WINO4 | ON_CONV_NO_WINO)) return 0;
    if (!on_conv_wino_apply(a, g, channels)) return 0;
    return on_conv_variant & ON_CONV_WINO4_ALL || rule(a, g, channels);
}

/* Per thread: Xpad (C planes), V (36 C ld), M (36 F ld) */
static size_t per_thread(const wg4 *t) {
    return t->C * t->plane + 36 * (t->vs + t->ms);
}

size_t on_conv_wino4_tmp(const on_attrs *a, const on_geom *g, int channels, int threads) {
    wg4 t = wg4_of(a, g, channels);
    return (size_t)threads * per_thread(&t);
}

size_t on_conv_wino4_saved(const on_attrs *a, int channels) {
    return 45 * (size_t)a->units * channels;
}

/* U[xi][f][c] = (G g G^T)[xi] for each 3x3 kernel g = W[f][c], in double and rounded once,
 * in saved memory which also keeps the weights it was made from: filters whose weights did
 * not change (inference) are not transformed again. Zeroed memory is consistent (zero
 * weights, zero U). Split by filters over the enclosing region's threads as forward_sample()
 * splits them (a thread's own filters' U is then its own), no barrier. */
void on_wino4_kernel(const float *g, float u[36]) {
    static const double G[6][3] = {{1, 0, 0},
                                   {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                   {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                   {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                   {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                   {0, 0, 1}};
    double r[6][3]; /* G g */
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            r[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
    for (int i = 0; i < 6; i++) /* (G g) G^T */
        for (int j = 0; j < 6; j++)
            u[6 * i + j] = (float)(r[i][0] * G[j][0] + r[i][1] * G[j][1] + r[i][2] * G[j][2]);
}

static const float *weights_transform(const float *w, const wg4 *t, float *saved) {
    size_t fc = (size_t)t->F * t->C, k = (size_t)t->C * 9;
    float *U = saved, *seen = saved + 36 * fc;
    int th = on_thread_id(), T = on_thread_count(); /* the filters products() takes */
    for (int f = t->F * th / T; f < t->F * (th + 1) / T; f++) {
        if (!memcmp(seen + f * k, w + f * k, sizeof(float) * k)) continue;
        memcpy(seen + f * k, w + f * k, sizeof(float) * k);
        for (int c = 0; c < t->C; c++) {
            float u[36];
            on_wino4_kernel(w + ((size_t)f * t->C + c) * 9, u);
            for (int xi = 0; xi < 36; xi++) U[xi * fc + (size_t)f * t->C + c] = u[xi];
        }
    }
    return U;
}

/* x (C,H,W) -> xp (C, Hp, Wp) in split rows, the input at (pt, pl), zeros around; channels
 * [c0, c1), padded rows [r0, r1) (those of tile rows ty0 .. ty1 - 1: 4 ty0 .. 4 ty1 + 1).
 * Input column j goes to phase (j + pl) % 4 at (j + pl) / 4: 32 columns at a time are split
 * four ways by shuffles (a scalar loop was 8% of a 56x56 layer's time), the rest one by one. */
ON_VECTOR_CLONES static void pad(const float *x, const wg4 *t, int c0, int c1, int r0, int r1,
                                 float *xp) {
    int w32 = t->w / 32 * 32, i0 = r0 - t->pt > 0 ? r0 - t->pt : 0;
    int i1 = r1 - t->pt < t->h ? r1 - t->pt : t->h;
    /* the last columns by the same shuffles, from a copy padded with zeros to 32, where the
     * zeros written past them stay inside each phase (where the padding is zeros anyway) */
    int tail = w32 < t->w && (t->pl + 3) / 4 + w32 / 4 + 8 <= t->Ph;
    float last[32] = {0};
    for (int c = c0; c < c1; c++) {
        float *o = xp + (size_t)c * t->plane;
        const float *in = x + ((size_t)c * t->h + i0) * t->w;
        memset(o + (size_t)r0 * t->Wp, 0, sizeof(float) * (size_t)(r1 - r0) * t->Wp);
        for (int i = i0; i < i1; i++, in += t->w) {
            float *r = o + (size_t)(i + t->pt) * t->Wp, *e[4];
            for (int k = 0; k < 4; k++) /* where input columns k, k + 4, ... go */
                e[k] = r + (k + t->pl) % 4 * t->Ph + (k + t->pl) / 4;
            for (int j = 0; j < w32 + 32 * tail; j += 32) {
                const float *src = in + j;
                if (j == w32) { /* the last w - w32 columns, zeros after them */
                    memcpy(last, in + j, sizeof(float) * (t->w - w32));
                    src = last;
                }
                vf a = VLOAD(src), b = VLOAD(src + 8), cc = VLOAD(src + 16);
                vf d = VLOAD(src + 24);
                vf ab0 = __builtin_shufflevector(a, b, 0, 4, 8, 12, 1, 5, 9, 13);
                vf ab1 = __builtin_shufflevector(a, b, 2, 6, 10, 14, 3, 7, 11, 15);
                vf cd0 = __builtin_shufflevector(cc, d, 0, 4, 8, 12, 1, 5, 9, 13);
                vf cd1 = __builtin_shufflevector(cc, d, 2, 6, 10, 14, 3, 7, 11, 15);
                VSTORE(e[0] + j / 4, __builtin_shufflevector(ab0, cd0, 0, 1, 2, 3, 8, 9, 10, 11));
                VSTORE(e[1] + j / 4, __builtin_shufflevector(ab0, cd0, 4, 5, 6, 7, 12, 13, 14, 15));
                VSTORE(e[2] + j / 4, __builtin_shufflevector(ab1, cd1, 0, 1, 2, 3, 8, 9, 10, 11));
                VSTORE(e[3] + j / 4, __builtin_shufflevector(ab1, cd1, 4, 5, 6, 7, 12, 13, 14, 15));
            }
            for (int j = w32; j < t->w && !tail; j++) e[j % 4][j / 4] = in[j];
        }
    }
}

/* V[xi][c][p] = (B^T d B)[xi] for the tiles of rows [ty0, ty1) (p counts from the chunk's
 * first tile), channels [c0, c1); eight tiles at a time, as vectors. */
ON_VECTOR_CLONES static void input_transform(const float *xp, const wg4 *t, int ty0, int ty1,
                                             int c0, int c1, float *V) {
    size_t xs = t->vs; /* from one xi to the next */
    int h = t->Ph;
    for (int c = c0; c < c1; c++)
        for (int ty = ty0; ty < ty1; ty++) {
            const float *base = xp + c * t->plane + (size_t)4 * ty * t->Wp;
            float *v = V + (size_t)c * t->ld + (size_t)(ty - ty0) * t->TW;
            for (int tx = 0; tx < t->TWv; tx += VEC, v += VEC) {
                vf s[6][6]; /* d B: row i, column j */
                for (int i = 0; i < 6; i++) {
                    const float *p = base + (size_t)i * t->Wp + tx;
                    ON_WINO4_BT6(s[i], VLOAD(p), VLOAD(p + h), VLOAD(p + 2 * h), VLOAD(p + 3 * h),
                                 VLOAD(p + 1), VLOAD(p + h + 1));
                }
                for (int j = 0; j < 6; j++) { /* B^T (d B), down column j */
                    vf o[6];
                    ON_WINO4_BT6(o, s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j]);
                    for (int i = 0; i < 6; i++) VSTORE(v + (6 * i + j) * xs, o[i]);
                }
            }
        }
}

/* y[f] = A^T M A + bias for filters [f0, f1), tile rows [ty0, ty1), dropping the outputs
 * past P or Q; then, as the ReLU after it would (on_call's clamp), clamped to clamp =
 * {lo, hi} (not NULL). Eight tiles at a time; each output row's four vectors (column 4tx + j
 * in vector j) interleaved into 32 consecutive floats. */
ON_VECTOR_CLONES static void output_transform(const float *M, const wg4 *t, int ty0, int ty1,
                                              int f0, int f1, const float *bias, const float *clamp,
                                              float *y) {
    size_t xs = t->ms, PQ = (size_t)t->P * t->Q;
    vf lo = (vf){0} + (clamp ? clamp[0] : 0.0f), hi = (vf){0} + (clamp ? clamp[1] : 0.0f);
    for (int f = f0; f < f1; f++) {
        vf bb = (vf){0} + (bias ? bias[f] : 0.0f);
        float *yf = y + (size_t)f * PQ;
        for (int ty = ty0; ty < ty1; ty++)
            for (int x0 = 0; x0 < t->TW; x0 += VEC) {
                const float *m = M + (size_t)f * t->ld + (size_t)(ty - ty0) * t->TW + x0;
                vf s[4][6]; /* A^T M: row i, column j */
                for (int j = 0; j < 6; j++) {
                    vf o[4];
                    ON_WINO4_AT6(o, VLOAD(m + j * xs), VLOAD(m + (6 + j) * xs),
                                 VLOAD(m + (12 + j) * xs), VLOAD(m + (18 + j) * xs),
                                 VLOAD(m + (24 + j) * xs), VLOAD(m + (30 + j) * xs));
                    for (int i = 0; i < 4; i++) s[i][j] = o[i];
                }
                int cols = t->Q - 4 * x0 < 4 * VEC ? t->Q - 4 * x0 : 4 * VEC;
                for (int i = 0; i < 4 && 4 * ty + i < t->P; i++) {
                    vf o[4];
                    ON_WINO4_AT6(o, s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5]);
                    o[0] += bb;
                    o[1] += bb;
                    o[2] += bb;
                    o[3] += bb;
                    /* lane k of o[0..3] -> floats 4k .. 4k+3 */
                    vf l01 = __builtin_shufflevector(o[0], o[1], 0, 8, 1, 9, 2, 10, 3, 11);
                    vf h01 = __builtin_shufflevector(o[0], o[1], 4, 12, 5, 13, 6, 14, 7, 15);
                    vf l23 = __builtin_shufflevector(o[2], o[3], 0, 8, 1, 9, 2, 10, 3, 11);
                    vf h23 = __builtin_shufflevector(o[2], o[3], 4, 12, 5, 13, 6, 14, 7, 15);
                    float *yr = yf + (size_t)(4 * ty + i) * t->Q + 4 * x0;
                    vf q[4] = {__builtin_shufflevector(l01, l23, 0, 1, 8, 9, 2, 3, 10, 11),
                               __builtin_shufflevector(l01, l23, 4, 5, 12, 13, 6, 7, 14, 15),
                               __builtin_shufflevector(h01, h23, 0, 1, 8, 9, 2, 3, 10, 11),
                               __builtin_shufflevector(h01, h23, 4, 5, 12, 13, 6, 7, 14, 15)};
                    if (clamp)
                        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)
                            ON_VCLAMP(vf, vi, q[k], lo, hi);
                    /* whole vectors, then the floats of a part one (a call to memcpy for
                     * the row's last 24 or 28 was 8% of a 28x28 layer's time) */
                    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                        if (VEC * (k + 1) <= cols)
                            VSTORE(yr + k * VEC, q[k]);
                        else
                            for (int l = 0; l < cols - VEC * k; l++) yr[k * VEC + l] = q[k][l];
                    }
                }
            }
    }
}

/* M[xi] (rows [f0, f1)) = U[xi] . V[xi] for one chunk of n tiles */
static void products(const float *U, const float *V, const wg4 *t, int n, int f0, int f1,
                     float *M) {
    if (f1 <= f0) return;
    for (int xi = 0; xi < 36; xi++) /* over whole vectors of columns, as F(2x2)'s products */
        on_wino_product(f1 - f0, n, (n + VEC - 1) / VEC * VEC, t->C,
                        U + ((size_t)xi * t->F + f0) * t->C, t->C, 1, V + xi * t->vs, t->ld,
                        M + xi * t->ms + (size_t)f0 * t->ld, t->ld, 0);
}

/* How the threads of the enclosing region share a sample in forward_sample() */
enum { ALONE, SHARED, OWN_V };

/* Tile rows [r0, r1) of one sample's output with the chunk loop; xp padded, V and M scratch.
 * SHARED: the threads split the sample (channels, then filters); U is complete after the
 * first barrier. OWN_V: each thread transforms all the channels into its own V and takes its
 * filters (no barrier). */
static void forward_sample(const on_call *c, const wg4 *t, const float *U, const float *xp,
                           float *V, float *M, float *y, int split, int r0, int r1) {
    int shared = split == SHARED, th = split ? on_thread_id() : 0,
        T = split ? on_thread_count() : 1;
    int c0 = shared ? t->C * th / T : 0, c1 = shared ? t->C * (th + 1) / T : t->C;
    int f0 = t->F * th / T, f1 = t->F * (th + 1) / T;
    const float *bias = c->a->bias ? c->p[1] : NULL, clamp[2] = {c->clamp_lo, c->clamp_hi};
    for (int ty0 = r0; ty0 < r1; ty0 += t->rows) {
        int ty1 = ty0 + t->rows < r1 ? ty0 + t->rows : r1;
        if (shared && ty0 > 0) { /* V is about to change: everyone is done with it */
#pragma omp barrier
        }
        input_transform(xp, t, ty0, ty1, c0, c1, V); /* the channels this thread padded */
        if (shared) {                                /* V and U complete */
#pragma omp barrier
        }
        products(U, V, t, (ty1 - ty0) * t->TW, f0, f1, M);
        output_transform(M, t, ty0, ty1, f0, f1, bias, c->clamp ? clamp : NULL, y);
    }
}

/* Batch 1: the threads split the sample by tile rows, each with its own scratch, where each
 * gets one; not by channels (the input transform) and filters (the products), as before:
 * then each thread's products read all of V, half of it written by the other core the moment
 * before, and each chunk's transform wrote lines the other core had just read. ResNet's
 * 56x56 64->64 layer ran no faster on two threads than on one so; by rows it takes 0.57x
 * the time, 28x28 128->128 0.89x, though each thread reads all of U (36 F C floats). */
static int by_rows(const wg4 *t, int threads) {
    return t->TH >= threads && !(on_conv_variant & ON_CONV_SHARE_FILTERS);
}

/* Batch 1 where the tile rows do not split evenly (28x28: 7 rows, 3 and 4 a thread): each
 * thread pads and transforms the whole sample into its own scratch and takes half the
 * filters (the products, the output transform, the filters' U); twice the input transform,
 * but each thread reads half of U (2.4 MB at 128 -> 128, from memory in a network), and no
 * thread waits for the other. */
static int own_v(const wg4 *t, int threads) {
    return t->TH % threads && !(on_conv_variant & (ON_CONV_SHARE_FILTERS | ON_CONV_WINO4_ROWS));
}

void on_conv_wino4_forward(const on_call *c, const on_geom *g, size_t offset) {
    wg4 t = wg4_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), per = per_thread(&t);
    float *saved = c->saved + offset;
    const float *U = saved;
    if (c->n < c->threads) { /* batch-1 latency: the threads split each sample */
        int rows = by_rows(&t, c->threads), own = own_v(&t, c->threads);
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                if (!i) weights_transform(c->p[0], &t, saved);
                if (own) { /* the filters' U is this thread's own: no barrier */
                    float *xp = c->tmp + per * th, *V = xp + (size_t)t.C * t.plane;
                    pad(c->x + xsz * i, &t, 0, t.C, 0, t.Hp, xp);
                    forward_sample(c, &t, U, xp, V, V + 36 * t.vs, c->y + ysz * i, OWN_V, 0, t.TH);
                } else if (rows) { /* each thread its own tile rows, in its own scratch */
                    float *xp = c->tmp + per * th, *V = xp + (size_t)t.C * t.plane;
                    int r0 = t.TH * th / T, r1 = t.TH * (th + 1) / T;
                    pad(c->x + xsz * i, &t, 0, t.C, 4 * r0, 4 * r1 + 2, xp);
                    if (!i) { /* U complete */
#pragma omp barrier
                    }
                    forward_sample(c, &t, U, xp, V, V + 36 * t.vs, c->y + ysz * i, ALONE, r0, r1);
                } else {
                    float *xp = c->tmp, *V = xp + (size_t)t.C * t.plane;
                    pad(c->x + xsz * i, &t, t.C * th / T, t.C * (th + 1) / T, 0, t.Hp, xp);
                    forward_sample(c, &t, U, xp, V, V + 36 * t.vs, c->y + ysz * i, SHARED, 0, t.TH);
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
        float *xp = c->tmp + per * th, *V = xp + (size_t)t.C * t.plane;
        float *M = V + 36 * t.vs;
        weights_transform(c->p[0], &t, saved);
#pragma omp barrier
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            int next = on_queue_peek(&q, k);
            if (next >= 0) on_prefetch(c->x + xsz * next, xsz);
            pad(c->x + xsz * i, &t, 0, t.C, 0, t.Hp, xp);
            forward_sample(c, &t, U, xp, V, M, c->y + ysz * i, ALONE, 0, t.TH);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}
