/* conv_winograd.c - 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3).
 *
 * The output is cut into 2x2 tiles; tile t reads a 4x4 patch d of the padded input. With
 * U = G g G^T (4x4 per filter and channel) and V = B^T d B (4x4 per channel and tile), the
 * tile's output is A^T M A where M = sum over channels of U (.) V. Gathered by position xi
 * of the 4x4 grid, those sums are 16 matrix products
 *     M[xi] (F x T) = U[xi] (F x C) . V[xi] (C x T),     T = tiles,
 * 16 multiplications per 4 outputs instead of 36 (2.25x fewer).
 * The backward is the exact adjoint of the same steps, so it shares their 2.25x:
 *     dM = A dY A^T,   dV[xi] = U[xi]^T dM[xi],   dX += B dV B^T (tiles overlap: added),
 *     dU[xi] += dM[xi] V[xi]^T,   dW = G^T dU G.
 * B, G and A hold only 0, +-1 and +-1/2, so the rounding stays close to a direct sum
 * (test_conv compares with a direct convolution, test_golden with PyTorch).
 * Tiles go in chunks of whole tile rows, about CHUNK_TILES at a time, so that V and M stay
 * in cache for large images. Samples are split over threads as in conv_taps.c; with fewer
 * samples than threads, the threads share each sample (by channels, then by filters), and
 * the largest layers make U block by block from the weights instead of reading the saved U
 * (products_fly).
 * The transforms are vector loops over a row of tiles. The products go to gemm.c
 * (OpenBLAS's set-up per call and its buffer's lock cost as much as these small products'
 * arithmetic: the reference model's training +6-9%, inference +8-10%); dU's takes V[xi]
 * transposed in registers first, as gemm.c reads B by rows.
 */
#include "conv_winograd.h"
#include "conv_taps.h"
#include "conv_variant.h"
#include "gemm.h"

#include <cblas.h>
#include <string.h>

/* GROUP_TILES: small images (7x7, 14x14: 16 or 49 tiles) go several samples to a chunk, up
 * to this many tiles, so that each U[xi] is read once per group of samples instead of once
 * per sample (at 7x7 with 512 channels U[xi] is 1 MB, read for 16 tiles' columns: ResNet-18
 * at batch 8 takes 1.5x as long without groups), and so that a product's columns, rounded up
 * to whole vectors, waste less (the reference model's 49 tiles: 56 columns for 49, 104 for
 * 98; its inference 3% faster in groups). */
enum { CHUNK_TILES = 96, GROUP_TILES = 128, VEC = 8 };

/* Rows of tiles are short (7 for a 14x14 image), so each row's loop runs over TWv, TW
 * rounded up to a whole number of vectors: the extra tiles read memory that is there and
 * write results that the next row overwrites, or that land in the VEC floats each row of
 * V and M has past the chunk's CT tiles. Their results are never used. */
typedef struct wg {
    int F, C, h, w, pt, pl, P, Q;
    int TH, TW, TWv; /* tiles down and across, each 2x2 outputs; TWv: TW rounded up to VEC */
    int rows, CT;    /* tile rows per chunk, tiles per chunk (rows * TW * S) */
    int S;           /* samples per chunk: 1, or more where a sample is one chunk */
    int ld;          /* floats from one channel's (filter's) tiles to the next: CT + VEC */
    int Hp, Wp;      /* the padded input the tiles read: 2 TH + 2 rows of 2 TWv + 2 */
    size_t plane;    /* Hp * Wp */
} wg;

static wg wg_of(const on_attrs *a, const on_geom *g, int C, int S) {
    wg t = {.F = a->units, .C = C, .h = g->h, .w = g->w, .pt = g->pt, .pl = g->pl};
    t.P = g->p;
    t.Q = g->q;
    t.TH = (t.P + 1) / 2;
    t.TW = (t.Q + 1) / 2;
    t.TWv = (t.TW + VEC - 1) / VEC * VEC;
    t.rows = (CHUNK_TILES + t.TW - 1) / t.TW;
    if (t.rows > t.TH) t.rows = t.TH;
    t.S = S;
    t.CT = t.rows * t.TW * S;
    t.ld = t.CT + VEC;
    t.Hp = 2 * t.TH + 2;
    t.Wp = 2 * t.TWv + 2;
    t.plane = (size_t)t.Hp * t.Wp;
    return t;
}

int on_conv_wino_apply(const on_attrs *a, const on_geom *g, int channels) {
    return a->kh == 3 && a->kw == 3 && on_conv_taps_apply(a, g, channels);
}

/* Per thread: Xpad, dXpad in two parts (C planes each), V and dV (16 C ld each), M or dM
 * (16 F ld), dU (16 F C), db (F), dY grown to even sizes (F 2TH 2TW), one V[xi]
 * transposed (ld C). */
static size_t per_thread(const wg *t) {
    size_t v = 16 * (size_t)t->C * t->ld;
    return 3 * t->C * t->plane + 2 * v + 16 * (size_t)t->F * t->ld + 16 * (size_t)t->F * t->C +
           t->F + 4 * (size_t)t->F * t->TH * t->TW + (size_t)t->ld * t->C;
}

/* Samples per chunk in a forward of n samples: where one sample is one chunk, as many as
 * GROUP_TILES allows, but at most half the batch (two threads have work). It depends on the
 * shape and n only, not on the thread count, so that each sample's output does not either. */
static int group_of(const on_attrs *a, const on_geom *g, int C, int n) {
    wg t = wg_of(a, g, C, 1);
    if (t.rows < t.TH) return 1;
    int s = GROUP_TILES / (t.TH * t.TW), half = (n + 1) / 2;
    if (s > half) s = half;
    return s < 1 ? 1 : s;
}

/* The forward's block per thread with S samples a chunk: S Xpad, V, M. */
static size_t per_thread_fwd(const wg *t) {
    return (size_t)t->S * t->C * t->plane + 16 * (size_t)t->C * t->ld + 16 * (size_t)t->F * t->ld;
}

size_t on_conv_wino_tmp(const on_attrs *a, const on_geom *g, int channels, int n, int threads) {
    int S = group_of(a, g, channels, n);
    wg t = wg_of(a, g, channels, 1), ts = wg_of(a, g, channels, S);
    size_t b = per_thread(&t), bs = per_thread(&ts), f = per_thread_fwd(&ts);
    if (b < bs) b = bs; /* the backward's groups (backward_groups) */
    return (size_t)threads * (b > f ? b : f);
}

/* The node's own memory, kept between calls: U (16 F C), then the weights it was made
 * from (F C 9). */
size_t on_conv_wino_saved(const on_attrs *a, int channels) {
    return 25 * (size_t)a->units * channels;
}

typedef struct block {
    float *xp, *dxp, *dxq, *V, *dV, *M, *dU, *db, *dye, *vt;
} block;

static block block_of(float *tmp, const wg *t, int th) {
    block b;
    size_t v = 16 * (size_t)t->C * t->ld;
    b.xp = tmp + per_thread(t) * th;
    b.dxp = b.xp + t->C * t->plane;
    b.dxq = b.dxp + t->C * t->plane;
    b.V = b.dxq + t->C * t->plane;
    b.dV = b.V + v;
    b.M = b.dV + v;
    b.dU = b.M + 16 * (size_t)t->F * t->ld;
    b.db = b.dU + 16 * (size_t)t->F * t->C;
    b.dye = b.db + t->F;
    b.vt = b.dye + 4 * (size_t)t->F * t->TH * t->TW;
    return b;
}

/* u[xi] = (G g G^T)[xi] for one 3x3 kernel g (T: float, or vf for eight kernels, lane by
 * lane, with the same operations in the same order: the same bits), G = [1 0 0; .5 .5 .5;
 * .5 -.5 .5; 0 0 1]; u[xi] is at u + xi * us. */
#define GGT(T, g, u, us)                                                                           \
    do {                                                                                           \
        T r_[4][3]; /* G g: rows */                                                                \
        _Pragma("GCC unroll 3") for (int j_ = 0; j_ < 3; j_++) {                                   \
            r_[0][j_] = (g)[j_];                                                                   \
            r_[1][j_] = 0.5f * ((g)[j_] + (g)[3 + j_] + (g)[6 + j_]);                              \
            r_[2][j_] = 0.5f * ((g)[j_] - (g)[3 + j_] + (g)[6 + j_]);                              \
            r_[3][j_] = (g)[6 + j_];                                                               \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (int i_ = 0; i_ < 4; i_++) { /* (G g) G^T: columns */          \
            T u0_ = r_[i_][0], u1_ = 0.5f * (r_[i_][0] + r_[i_][1] + r_[i_][2]);                   \
            T u2_ = 0.5f * (r_[i_][0] - r_[i_][1] + r_[i_][2]), u3_ = r_[i_][2];                   \
            STORE_##T((u) + (4 * i_ + 0) * (us), u0_);                                             \
            STORE_##T((u) + (4 * i_ + 1) * (us), u1_);                                             \
            STORE_##T((u) + (4 * i_ + 2) * (us), u2_);                                             \
            STORE_##T((u) + (4 * i_ + 3) * (us), u3_);                                             \
        }                                                                                          \
    } while (0)
#define STORE_float(p, v) (*(p) = (v))
#define STORE_vf(p, v) VSTORE(p, v)

/* U[xi][f][c] = (G g G^T)[xi] for each 3x3 kernel g = W[f][c], in the node's saved memory,
 * which also keeps the weights U was made from: a filter whose weights did not change since
 * the last call (inference) is not transformed again. The arena starts zeroed, and zero
 * weights give a zero U, so the memory is consistent from the start. Split over the
 * enclosing parallel region's threads by filters; ends with a barrier if wait (else the
 * caller has one before U is read). Returns U. */
static const float *weights_transform(const float *w, const wg *t, float *saved, int wait) {
    size_t fc = (size_t)t->F * t->C, k = (size_t)t->C * 9;
    float *U = saved, *seen = saved + 16 * fc;
#pragma omp for schedule(static) nowait
    for (int f = 0; f < t->F; f++) {
        if (!memcmp(seen + f * k, w + f * k, sizeof(float) * k)) continue;
        memcpy(seen + f * k, w + f * k, sizeof(float) * k);
        for (int c = 0; c < t->C; c++)
            GGT(float, w + ((size_t)f * t->C + c) * 9, U + (size_t)f * t->C + c, fc);
    }
    if (wait) {
#pragma omp barrier
    }
    return U;
}

/* On the fly (at batch 1, products_fly): U for FB filters by CB channels at a time, in a
 * thread's block (ub: 16 UB_XS floats, U^T[xi] rows of the block's filters, the xi FB CB + 16
 * floats apart, so that the 16 rows a kernel's values go to do not share an L1 set). */
enum { FB = 32, CB = 128, UB_XS = FB * CB + 16, FLY_FC = 65536 };

/* ub[xi][ci][fi] = U[xi][f0 + fi][c0 + ci] for fi < nf, ci < nc (rows nf floats apart).
 * Eight filters at a time: their taps 0-7 of a channel loaded as eight rows and transposed,
 * tap 8 gathered, then GGT on the vectors (lanes: filters). */
ON_VECTOR_CLONES static void weights_block(const float *w, int C, int f0, int nf, int c0, int nc,
                                           float *ub) {
    size_t fs = (size_t)C * 9; /* one filter's kernels to the next's */
    int fi = 0;
    for (; fi + VEC <= nf; fi += VEC)
        for (int ci = 0; ci < nc; ci++) {
            const float *g = w + ((size_t)(f0 + fi) * C + c0 + ci) * 9;
            vf k[9];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) k[i] = VLOAD(g + i * fs);
            float t8[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) t8[i] = g[i * fs + 8];
            k[8] = VLOAD(t8);
            on_transpose8(k);
            GGT(vf, k, ub + (size_t)ci * nf + fi, UB_XS);
        }
    for (; fi < nf; fi++)
        for (int ci = 0; ci < nc; ci++)
            GGT(float, w + ((size_t)(f0 + fi) * C + c0 + ci) * 9, ub + (size_t)ci * nf + fi, UB_XS);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define HAVE_WIDE 1
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
#define STORE_v16(p, v) (*(v16u *)(p) = (v))

/* weights_block with sixteen filters a vector (AVX-512): taps 0-7 of filters i and i + 8 in
 * one vector (two loads), the eight vectors transposed within their halves (on_transpose8's
 * shuffles, both halves at once) into taps 0-7 of the sixteen filters, tap 8 one by one;
 * then GGT on the vectors: the same operations lane by lane as weights_block's (the same
 * bits). ResNet's 7x7 512->512 layer at batch 1 took 0.92x the time so; with all nine taps
 * gathered (vgatherdps) 1.17x. */
__attribute__((target("arch=x86-64-v4"))) static void
weights_block16(const float *w, int C, int f0, int nf, int c0, int nc, float *ub) {
    size_t fs = (size_t)C * 9;
    for (int fi = 0; fi < nf; fi += 16)
        for (int ci = 0; ci < nc; ci++) {
            const float *g = w + ((size_t)(f0 + fi) * C + c0 + ci) * 9;
            v16 k[9], r[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                r[i] = __builtin_shufflevector(VLOAD(g + i * fs), VLOAD(g + (i + 8) * fs), 0, 1, 2,
                                               3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#define SH(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#define LO1(a, b) SH(a, b, 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29)
#define HI1(a, b) SH(a, b, 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31)
#define LO2(a, b) SH(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)
#define HI2(a, b) SH(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31)
#define LO3(a, b) SH(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27)
#define HI3(a, b) SH(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31)
            v16 t0 = LO1(r[0], r[1]), t1 = HI1(r[0], r[1]), t2 = LO1(r[2], r[3]);
            v16 t3 = HI1(r[2], r[3]), t4 = LO1(r[4], r[5]), t5 = HI1(r[4], r[5]);
            v16 t6 = LO1(r[6], r[7]), t7 = HI1(r[6], r[7]);
            v16 u0 = LO2(t0, t2), u1 = HI2(t0, t2), u2 = LO2(t1, t3), u3 = HI2(t1, t3);
            v16 u4 = LO2(t4, t6), u5 = HI2(t4, t6), u6 = LO2(t5, t7), u7 = HI2(t5, t7);
            k[0] = LO3(u0, u4);
            k[1] = LO3(u1, u5);
            k[2] = LO3(u2, u6);
            k[3] = LO3(u3, u7);
            k[4] = HI3(u0, u4);
            k[5] = HI3(u1, u5);
            k[6] = HI3(u2, u6);
            k[7] = HI3(u3, u7);
#undef SH
#undef LO1
#undef HI1
#undef LO2
#undef HI2
#undef LO3
#undef HI3
            float t8[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) t8[i] = g[i * fs + 8];
            k[8] = *(const v16u *)t8;
            GGT(v16, k, ub + (size_t)ci * nf + fi, UB_XS);
        }
}
#endif

/* U's block for filters [f0, f0 + nf), channels [c0, c0 + nc): weights_block16 where the
 * filters are whole vectors of sixteen and gemm.c takes its AVX-512 kernel (on_gemm_wide:
 * not under ON_CONV_NO_AVX512), else weights_block */
static void weights_block_any(const float *w, int C, int f0, int nf, int c0, int nc, float *ub) {
#ifdef HAVE_WIDE
    if (nf % 16 == 0 && on_gemm_wide()) {
        weights_block16(w, C, f0, nf, c0, nc, ub);
        return;
    }
#endif
    weights_block(w, C, f0, nf, c0, nc, ub);
}

/* The padded input keeps each row's even columns, then its odd ones ("split rows"): tile tx
 * reads columns 2tx .. 2tx+3, which are then E[tx], O[tx], E[tx+1], O[tx+1], so every
 * transform loop reads and writes consecutive floats. */
static int split_col(const wg *t, int q) {
    return (q & 1) * (t->TWv + 1) + (q >> 1);
}

/* x (C,H,W) -> xp (C, Hp, Wp) in split rows: the input at (pt, pl), zeros around;
 * channels [c0, c1). Input column j goes to even padded column j + pl where j has the
 * parity j0 of pl: E[k] = in[j0 + 2k], O[k] = in[1 - j0 + 2k]. Sixteen input columns at a
 * time as two vectors, split into their even and odd lanes, the lanes past the row's end
 * zeroed and stored with the eight where the split row has room for them (two scalar loops
 * were 6% of the reference model's inference at batch 256, 1.5 cycles a value); a load
 * past the row's end reads the next rows of the sample, so its last rows (or all where the
 * split rows have no room) go one value at a time. */
ON_VECTOR_CLONES static void pad(const float *x, const wg *t, int c0, int c1, float *xp) {
    int j0 = t->pl & 1, w = t->w, ne = (w - j0 + 1) / 2, no = (w + j0) / 2;
    int se = split_col(t, j0 + t->pl), so = split_col(t, 1 - j0 + t->pl);
    /* room for whole vectors from e and od: to the end of their halves of the split row */
    int ve = (se < t->TWv + 1 ? t->TWv + 1 : t->Wp) - se;
    int vo = (so < t->TWv + 1 ? t->TWv + 1 : t->Wp) - so;
    int nv = ((ne > no ? ne : no) + VEC - 1) / VEC * VEC; /* E's or O's values, whole vectors */
    int vec = nv <= ve && nv <= vo;
    vi lane = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int c = c0; c < c1; c++) {
        float *o = xp + (size_t)c * t->plane;
        const float *in = x + (size_t)c * t->h * t->w;
        memset(o, 0, sizeof(float) * t->plane);
        for (int i = 0; i < t->h; i++, in += t->w) {
            float *r = o + (size_t)(i + t->pt) * t->Wp;
            float *e = r + se, *od = r + so;
            size_t left = ((size_t)(t->C - c) * t->h - i) * t->w; /* to the sample's end */
            if (vec && left >= 2 * (size_t)nv) {
                for (int k = 0; k < nv; k += VEC) {
                    vf a = VLOAD(in + 2 * k), b = VLOAD(in + 2 * k + VEC);
                    vf ev = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
                    vf odd = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
                    vf ve8 = j0 ? odd : ev, vo8 = j0 ? ev : odd; /* E's and O's values */
                    VSTORE(e + k, (vf)((vi)ve8 & (lane < (vi){0} + (ne - k))));
                    VSTORE(od + k, (vf)((vi)vo8 & (lane < (vi){0} + (no - k))));
                }
                continue;
            }
            for (int j = j0, k = 0; j < t->w; j += 2, k++) e[k] = in[j];
            for (int j = 1 - j0, k = 0; j < t->w; j += 2, k++) od[k] = in[j];
        }
    }
}

/* V[xi][c][p] = (B^T d B)[xi] for the tiles of rows [ty0, ty1) (p counts from the chunk's
 * first tile), channels [c0, c1). B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Eight
 * tiles at a time, as vectors (a loop over them kept its 16 addresses on the stack). */
ON_VECTOR_CLONES static void input_transform(const float *xp, const wg *t, int ty0, int ty1, int c0,
                                             int c1, float *V) {
    size_t xs = (size_t)t->C * t->ld; /* from one xi to the next */
    int h = t->TWv + 1;               /* E to O within a split row */
    for (int c = c0; c < c1; c++)
        for (int ty = ty0; ty < ty1; ty++) {
            const float *a = xp + c * t->plane + (size_t)2 * ty * t->Wp;
            const float *b = a + t->Wp, *cc = b + t->Wp, *d = cc + t->Wp;
            float *v = V + (size_t)c * t->ld + (size_t)(ty - ty0) * t->TW;
            for (int tx = 0; tx < t->TWv; tx += VEC, v += VEC) {
#define COLS(r, p) /* a row's four columns: E[tx], O[tx], E[tx+1], O[tx+1] */                      \
    vf r##0 = VLOAD(p + tx), r##1 = VLOAD(p + h + tx), r##2 = VLOAD(p + tx + 1),                   \
       r##3 = VLOAD(p + h + tx + 1)
                COLS(a, a);
                COLS(b, b);
                COLS(c, cc);
                COLS(d, d);
#undef COLS
                /* down the columns: B^T d */
                vf s00 = a0 - c0, s01 = a1 - c1, s02 = a2 - c2, s03 = a3 - c3;
                vf s10 = b0 + c0, s11 = b1 + c1, s12 = b2 + c2, s13 = b3 + c3;
                vf s20 = c0 - b0, s21 = c1 - b1, s22 = c2 - b2, s23 = c3 - b3;
                vf s30 = b0 - d0, s31 = b1 - d1, s32 = b2 - d2, s33 = b3 - d3;
                /* along the rows: (B^T d) B, row i of s to positions 4i .. 4i+3 */
#define BT_ROW(i, x0, x1, x2, x3)                                                                  \
    do {                                                                                           \
        VSTORE(v + (4 * (i) + 0) * xs, (x0) - (x2));                                               \
        VSTORE(v + (4 * (i) + 1) * xs, (x1) + (x2));                                               \
        VSTORE(v + (4 * (i) + 2) * xs, (x2) - (x1));                                               \
        VSTORE(v + (4 * (i) + 3) * xs, (x1) - (x3));                                               \
    } while (0)
                BT_ROW(0, s00, s01, s02, s03);
                BT_ROW(1, s10, s11, s12, s13);
                BT_ROW(2, s20, s21, s22, s23);
                BT_ROW(3, s30, s31, s32, s33);
#undef BT_ROW
            }
        }
}

/* With a 2x2 max-pool after the convolution (on_call's pool2): eight tiles' outputs o (row
 * 0's two columns, row 1's) reduced as pool.c's 2x2 kernel reduces a window (each row's
 * pair, then the two rows; or one by one in rows of fewer than 4 windows), so the same bits,
 * NaNs included; clamped where clo, stored as pooled row ty, columns x0 .. x0 + 7 of the
 * plane yf: all eight where the plane goes on, those past the row landing at the start of
 * the next, which this thread writes after (as output_transform's rows; a 14x14 image's
 * pooled rows of 7 were each a loop of scalar stores), else the real ones only. */
static inline __attribute__((always_inline)) void
pool_store(const vf o[4], const wg *t, int ty, int x0, const vf *clo, const vf *chi, float *yf) {
    int Qp = t->Q / 2, cols = Qp - x0 < VEC ? Qp - x0 : VEC;
    if (cols <= 0) return;
    vf v;
    ON_POOL4_MAX(v, o, Qp);
    if (clo) ON_VCLAMP(vf, vi, v, *clo, *chi);
    float *yr = yf + (size_t)ty * Qp + x0;
    if (cols == VEC || yr + VEC <= yf + (size_t)(t->P / 2) * Qp) {
        VSTORE(yr, v);
        return;
    }
    float part[VEC];
    VSTORE(part, v);
    for (int k = 0; k < cols; k++) yr[k] = part[k];
}

/* y[f] = A^T M A + bias for filters [f0, f1), tile rows [ty0, ty1), dropping the outputs
 * past P or Q; then, as the layers after it would (on_call's resid and clamp), + the
 * residual at y + roff (roff not 0) and clamped to clamp = {lo, hi} (not NULL).
 * A^T = [1 1 1 0; 0 1 -1 -1]. Eight tiles at a time: their four outputs each as four
 * vectors, interleaved into two output rows of 16 columns. A row's last group stores all 16
 * where the plane goes on: the columns past Q land at the start of the next row, which
 * this thread writes after (the groups go from last to first, and the next tile row, in
 * this call or the next, comes later); at the plane's end only the real ones. */
ON_VECTOR_CLONES static void output_transform(const float *M, const wg *t, int ty0, int ty1, int f0,
                                              int f1, const float *bias, ptrdiff_t roff,
                                              const float *clamp, const on_call *pool, float *y) {
    size_t xs = (size_t)t->F * t->ld, PQ = (size_t)t->P * t->Q;
    vf clo = (vf){0} + (clamp ? clamp[0] : 0.0f), chi = (vf){0} + (clamp ? clamp[1] : 0.0f);
    if (pool) { /* a tile row that is a row of the pool's windows: below the pooled rows */
        PQ = (size_t)(t->P / 2) * (t->Q / 2);
        if (ty1 > t->P / 2) ty1 = t->P / 2;
    }
    vf plo = (vf){0} + (pool ? pool->pre_lo : 0.0f), phi = (vf){0} + (pool ? pool->pre_hi : 0.0f);
    for (int f = f0; f < f1; f++) {
        vf bb = (vf){0} + (bias ? bias[f] : 0.0f);
        vf na = (vf){0} + (pool && pool->bn_a ? pool->bn_a[f] : 0.0f),
           nb = (vf){0} + (pool && pool->bn_a ? pool->bn_b[f] : 0.0f);
        float *yf = y + (size_t)f * PQ;
        for (int ty = ty0; ty < ty1; ty++)
            for (int x0 = (t->TW - 1) / VEC * VEC; x0 >= 0; x0 -= VEC) { /* last group first */
                const float *m = M + (size_t)f * t->ld + (size_t)(ty - ty0) * t->TW + x0;
                vf s00 = VLOAD(m) + VLOAD(m + 4 * xs) + VLOAD(m + 8 * xs);
                vf s01 = VLOAD(m + 1 * xs) + VLOAD(m + 5 * xs) + VLOAD(m + 9 * xs);
                vf s02 = VLOAD(m + 2 * xs) + VLOAD(m + 6 * xs) + VLOAD(m + 10 * xs);
                vf s03 = VLOAD(m + 3 * xs) + VLOAD(m + 7 * xs) + VLOAD(m + 11 * xs);
                vf s10 = VLOAD(m + 4 * xs) - VLOAD(m + 8 * xs) - VLOAD(m + 12 * xs);
                vf s11 = VLOAD(m + 5 * xs) - VLOAD(m + 9 * xs) - VLOAD(m + 13 * xs);
                vf s12 = VLOAD(m + 6 * xs) - VLOAD(m + 10 * xs) - VLOAD(m + 14 * xs);
                vf s13 = VLOAD(m + 7 * xs) - VLOAD(m + 11 * xs) - VLOAD(m + 15 * xs);
                vf o[4] = {s00 + s01 + s02 + bb, s01 - s02 - s03 + bb, s10 + s11 + s12 + bb,
                           s11 - s12 - s13 + bb};
                if (pool) {
                    if (pool->pre_clamp) /* the layers before the pool (on_call's pre_clamp) */
                        for (int k = 0; k < 4; k++) ON_VCLAMP(vf, vi, o[k], plo, phi);
                    if (pool->bn_a) /* and bn_a, contracted as batchnorm.c's affine is */
                        for (int k = 0; k < 4; k++) o[k] = na * o[k] + nb;
                    pool_store(o, t, ty, x0, clamp ? &clo : NULL, &chi, yf);
                    continue;
                }
                int cols = t->Q - 2 * x0 < 2 * VEC ? t->Q - 2 * x0 : 2 * VEC;
                for (int i = 0; i < 2 && 2 * ty + i < t->P; i++) {
                    float *yr = yf + (size_t)(2 * ty + i) * t->Q + 2 * x0;
                    vf lo =
                        __builtin_shufflevector(o[2 * i], o[2 * i + 1], 0, 8, 1, 9, 2, 10, 3, 11);
                    vf hi =
                        __builtin_shufflevector(o[2 * i], o[2 * i + 1], 4, 12, 5, 13, 6, 14, 7, 15);
                    if (cols < 2 * VEC && yf + PQ - yr < 2 * VEC) { /* the real ones only */
                        float part[2 * VEC];
                        VSTORE(part, lo);
                        VSTORE(part + VEC, hi);
                        for (int k = 0; k < cols; k++) {
                            float v = part[k] + (roff ? yr[k + roff] : 0.0f);
                            yr[k] = clamp ? on_clamp(v, clamp[0], clamp[1]) : v;
                        }
                        continue;
                    }
                    if (roff) {
                        lo += VLOAD(yr + roff);
                        hi += VLOAD(yr + roff + VEC);
                    }
                    if (clamp) {
                        ON_VCLAMP(vf, vi, lo, clo, chi);
                        ON_VCLAMP(vf, vi, hi, clo, chi);
                    }
                    VSTORE(yr, lo);
                    VSTORE(yr + VEC, hi);
                }
            }
    }
}

/* dM[xi][f][p] = (A dY A^T)[xi] for the tiles of rows [ty0, ty1); d holds dY with even
 * sizes 2 TH x 2 TW (zeros past P, Q). Eight tiles at a time: two rows of 16 columns
 * split into even and odd ones; the last group of a row reads on into the next row
 * (junk tiles, results never used), or, at the end of d, from a copy padded with zeros. */
ON_VECTOR_CLONES static void output_adjoint(const float *d, const wg *t, int ty0, int ty1,
                                            float *dM) {
    size_t xs = (size_t)t->F * t->ld, len = 4 * (size_t)t->F * t->TH * t->TW;
    for (int f = 0; f < t->F; f++)
        for (int ty = ty0; ty < ty1; ty++)
            for (int x0 = 0; x0 < t->TW; x0 += VEC) {
                float *m = dM + (size_t)f * t->ld + (size_t)(ty - ty0) * t->TW + x0;
                size_t o0 = ((size_t)f * t->TH + ty) * 4 * t->TW + 2 * x0, o1 = o0 + 2 * t->TW;
                const float *r0 = d + o0, *r1 = d + o1;
                float tail[2][2 * VEC];
                if (o1 + 2 * VEC > len) { /* the end of d: copies of what is there */
                    for (int k = 0; k < 2 * VEC; k++) {
                        tail[0][k] = o0 + k < len ? d[o0 + k] : 0.0f;
                        tail[1][k] = o1 + k < len ? d[o1 + k] : 0.0f;
                    }
                    r0 = tail[0];
                    r1 = tail[1];
                }
                vf a0 = VLOAD(r0), a1 = VLOAD(r0 + VEC), b0 = VLOAD(r1), b1 = VLOAD(r1 + VEC);
                vf d00 = __builtin_shufflevector(a0, a1, 0, 2, 4, 6, 8, 10, 12, 14);
                vf d01 = __builtin_shufflevector(a0, a1, 1, 3, 5, 7, 9, 11, 13, 15);
                vf d10 = __builtin_shufflevector(b0, b1, 0, 2, 4, 6, 8, 10, 12, 14);
                vf d11 = __builtin_shufflevector(b0, b1, 1, 3, 5, 7, 9, 11, 13, 15);
                /* A d: rows d0, d0 + d1, d0 - d1, -d1 */
                vf s10 = d00 + d10, s11 = d01 + d11, s20 = d00 - d10, s21 = d01 - d11;
                /* (A d) A^T: each row (u, v) -> (u, u + v, u - v, -v) */
                VSTORE(m, d00);
                VSTORE(m + 1 * xs, d00 + d01);
                VSTORE(m + 2 * xs, d00 - d01);
                VSTORE(m + 3 * xs, -d01);
                VSTORE(m + 4 * xs, s10);
                VSTORE(m + 5 * xs, s10 + s11);
                VSTORE(m + 6 * xs, s10 - s11);
                VSTORE(m + 7 * xs, -s11);
                VSTORE(m + 8 * xs, s20);
                VSTORE(m + 9 * xs, s20 + s21);
                VSTORE(m + 10 * xs, s20 - s21);
                VSTORE(m + 11 * xs, -s21);
                VSTORE(m + 12 * xs, -d10);
                VSTORE(m + 13 * xs, -d10 - d11);
                VSTORE(m + 14 * xs, d11 - d10);
                VSTORE(m + 15 * xs, d11);
            }
}

/* dXpad += B dV B^T at each tile of rows [ty0, ty1) (split rows). Neighbouring tiles
 * overlap by two columns: a tile's columns E[tx], O[tx] go into dxp and E[tx+1], O[tx+1]
 * into dxq, so that each vector loop adds every float once (a second pass adding at tx+1
 * would reload what the first just stored, shifted by one: slow store forwarding); dX is
 * dxp + dxq. Eight tiles at a time, as vectors. */
ON_VECTOR_CLONES static void input_adjoint(const float *dV, const wg *t, int ty0, int ty1,
                                           float *dxp, float *dxq) {
    size_t xs = (size_t)t->C * t->ld;
    int h = t->TWv + 1;
    vi lane = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int c = 0; c < t->C; c++)
        for (int ty = ty0; ty < ty1; ty++)
            for (int x0 = 0; x0 < t->TWv; x0 += VEC) { /* eight tiles as vectors */
                const float *v = dV + (size_t)c * t->ld + (size_t)(ty - ty0) * t->TW + x0;
                vi real = lane < (vi){0} + (t->TW - x0); /* the extra tiles add zeros */
                vf o[16];                                /* B dV, row i column j at 4i + j */
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) { /* down column j */
                    vf v0 = (vf)((vi)VLOAD(v + j * xs) & real);
                    vf v1 = (vf)((vi)VLOAD(v + (4 + j) * xs) & real);
                    vf v2 = (vf)((vi)VLOAD(v + (8 + j) * xs) & real);
                    vf v3 = (vf)((vi)VLOAD(v + (12 + j) * xs) & real);
                    o[j] = v0;
                    o[4 + j] = v1 - v2 + v3;
                    o[8 + j] = v1 + v2 - v0;
                    o[12 + j] = -v3;
                }
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++) { /* (B dV) B^T along row i, added in */
                    size_t r = c * t->plane + (size_t)(2 * ty + i) * t->Wp + x0;
                    float *e = dxp + r, *od = e + h, *e1 = dxq + r + 1, *od1 = e1 + h;
                    vf s0 = o[4 * i], s1 = o[4 * i + 1], s2 = o[4 * i + 2], s3 = o[4 * i + 3];
                    VSTORE(e, VLOAD(e) + s0);
                    VSTORE(od, VLOAD(od) + s1 - s2 + s3);
                    VSTORE(e1, VLOAD(e1) + s1 + s2 - s0);
                    VSTORE(od1, VLOAD(od1) - s3);
                }
            }
}

void on_wino_product(int m, int n, int nv, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc) {
    if (!(on_conv_variant & ON_CONV_BLAS_PRODUCTS))
        on_gemm(m, nv, k, a, ars, acs, b, ldb, c, ldc, acc);
    else { /* A as written (lda = ars) or A^T (lda = acs), as on_product decides */
        int as_is = acs == 1 && ars >= k;
        cblas_sgemm(CblasRowMajor, as_is ? CblasNoTrans : CblasTrans, CblasNoTrans, m, n, k, 1.0f,
                    a, (int)(as_is ? ars : acs), b, (int)ldb, acc ? 1.0f : 0.0f, c, (int)ldc);
    }
}

/* M[xi] (rows [f0, f1)) = U[xi] . V[xi] for one chunk of n tiles, over whole vectors of
 * columns: those past n are V's and M's spare ones (ld = CT + VEC), never read after */
static void products(const float *U, const float *V, const wg *t, int n, int f0, int f1, float *M) {
    if (f1 <= f0) return;
    for (int xi = 0; xi < 16; xi++)
        on_wino_product(f1 - f0, n, (n + VEC - 1) / VEC * VEC, t->C,
                        U + ((size_t)xi * t->F + f0) * t->C, t->C, 1, V + (size_t)xi * t->C * t->ld,
                        t->ld, M + ((size_t)xi * t->F + f0) * t->ld, t->ld, 0);
}

/* products() with U made block by block from the weights w (weights_block) instead of read
 * from the saved U. For a large layer at batch 1 the saved U comes from memory, with the
 * weights it was made from compared to w's at each call (ResNet's 7x7 512->512: 16.8 MB, and
 * 9.4 MB twice); the blocks are made from w's 9.4 MB and read from L2. Each block's products
 * are taken transposed, M^T[xi] (n x FB) = V[xi]^T U^T[xi], so that gemm.c's rows are the
 * tiles and its vectors the filters (two vectors of 16 a step, not one vector of 16 tiles),
 * then copied into M. The same bits: each M value is one sum over the channels in order, a
 * multiply-add a step (acc: the next channel block adds on). ub: 16 UB_XS floats, then
 * 16 n FB for M^T. */
static void products_fly(const float *w, const float *V, const wg *t, int n, int f0, int f1,
                         float *ub, float *M) {
    float *mt = ub + 16 * (size_t)UB_XS;
    for (int fb = f0; fb < f1; fb += FB) {
        int nf = f1 - fb < FB ? f1 - fb : FB;
        for (int cb = 0; cb < t->C; cb += CB) {
            int nc = t->C - cb < CB ? t->C - cb : CB;
            weights_block_any(w, t->C, fb, nf, cb, nc, ub);
            for (int xi = 0; xi < 16; xi++)
                on_wino_product(n, nf, nf, nc, V + ((size_t)xi * t->C + cb) * t->ld, 1, t->ld,
                                ub + (size_t)xi * UB_XS, nf, mt + (size_t)xi * n * FB, FB, cb > 0);
        }
        for (int xi = 0; xi < 16; xi++)
            for (int fi = 0; fi < nf; fi++) {
                float *m = M + ((size_t)xi * t->F + fb + fi) * t->ld;
                const float *s = mt + (size_t)xi * n * FB + fi;
                for (int p = 0; p < n; p++) m[p] = s[(size_t)p * FB];
            }
    }
}

/* Does a forward at batch 1 make U on the fly (products_fly)? Where filters x channels >=
 * FLY_FC (U 4 MB for ResNet's 256 channels, 16 MB for 512; at 256 the layer alone took 1.1x
 * the time on the fly while weights_block made U eight filters a vector, 0.97x with sixteen:
 * ResNet-18 0.98x, ResNet-50 0.99x at batch 1 on Zen 5) and the image is one chunk of tiles
 * (each chunk would make U again). */
static int fly(const wg *t) {
    size_t fc = (size_t)t->F * t->C, ub = 16 * (UB_XS + (size_t)t->CT * FB); /* <= 16 F C */
    return fc >= FLY_FC && t->rows == t->TH && ub <= 16 * fc &&
           !(on_conv_variant & ON_CONV_SAVED_U);
}

/* One sample's output with the chunk loop; xp padded, V and M scratch. shared: the threads
 * of the enclosing region split the filters (the products and the output transform), each
 * transforming all of the input into its own V: in units of on_filter_unit() filters (whole
 * blocks of FB) handed out by q where q is not NULL (the image one chunk of tiles, two units
 * or more; on_queue: each thread its share, then the other's where it is done first: the two
 * CPUs of these machines ran at times at 0.7x of each other's speed), else each thread its
 * static share. ub: NULL, or the thread's block for U made on the fly (products_fly), not
 * read from U. */
static void forward_sample(const on_call *c, const wg *t, const float *U, const float *xp, float *V,
                           float *M, float *ub, float *y, int shared, on_queue *q) {
    int th = shared ? on_thread_id() : 0, T = shared ? on_thread_count() : 1;
    int fu = on_filter_unit(t->F);
    const float *bias = c->a->bias ? c->p[1] : NULL, clamp[2] = {c->clamp_lo, c->clamp_hi};
    ptrdiff_t roff = c->resid ? c->resid - c->y : 0;
    for (int ty0 = 0; ty0 < t->TH; ty0 += t->rows) {
        int ty1 = ty0 + t->rows < t->TH ? ty0 + t->rows : t->TH;
        input_transform(xp, t, ty0, ty1, 0, t->C, V);
        for (int k = 0, u = 0;;) {
            int f0 = t->F * th / T, f1 = t->F * (th + 1) / T; /* the static share */
            if (q) {
                if ((u = on_queue_next(q, &k)) < 0) break;
                f0 = u * fu, f1 = f0 + fu < t->F ? f0 + fu : t->F;
            }
            if (ub)
                products_fly(c->p[0], V, t, (ty1 - ty0) * t->TW, f0, f1, ub, M);
            else
                products(U, V, t, (ty1 - ty0) * t->TW, f0, f1, M);
            output_transform(M, t, ty0, ty1, f0, f1, bias, roff, c->clamp ? clamp : NULL,
                             c->pool2 ? c : NULL, y);
            if (!q) break;
        }
    }
}

/* A sample's floats in y: the output's, or the pooled output's (on_call's pool2) */
static size_t out_floats(const on_call *c, const wg *t) {
    size_t planes = (size_t)t->F;
    return c->pool2 ? planes * (t->P / 2) * (t->Q / 2) : on_shape_size(c->ys);
}

/* Samples in groups of S, one chunk each: their tiles side by side in V and M (sample s's
 * from column s TH TW), one product per xi for the group. The threads take whole groups. A
 * transform's extra tiles past a sample's last row land in the next sample's columns,
 * written after it, or in the VEC columns past the chunk. */
static void forward_groups(const on_call *c, const on_geom *g, int S) {
    wg t = wg_of(c->a, g, c->xs.c, S);
    size_t xsz = on_shape_size(c->xs), ysz = out_floats(c, &t), per = per_thread_fwd(&t);
    size_t tt = (size_t)t.TH * t.TW;
    const float *bias = c->a->bias ? c->p[1] : NULL, *U = c->saved;
    const float clamp[2] = {c->clamp_lo, c->clamp_hi};
    ptrdiff_t roff = c->resid ? c->resid - c->y : 0;
    on_queue q;
    on_queue_init(&q, c, (c->n + S - 1) / S);
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id();
        float *xp = c->tmp + per * th, *V = xp + (size_t)S * t.C * t.plane;
        float *M = V + 16 * (size_t)t.C * t.ld;
        weights_transform(c->p[0], &t, c->saved, 1);
        for (int k = 0, gi; (gi = on_queue_next(&q, &k)) >= 0;) {
            int i0 = gi * S, i1 = i0 + S < c->n ? i0 + S : c->n;
            for (int i = i0; i < i1; i++) {
                float *xs = xp + (size_t)(i - i0) * t.C * t.plane;
                pad(c->x + xsz * i, &t, 0, t.C, xs);
                input_transform(xs, &t, 0, t.TH, 0, t.C, V + tt * (i - i0));
            }
            products(U, V, &t, (int)tt * (i1 - i0), 0, t.F, M);
            for (int i = i0; i < i1; i++) {
                output_transform(M + tt * (i - i0), &t, 0, t.TH, 0, t.F, bias, roff,
                                 c->clamp ? clamp : NULL, c->pool2 ? c : NULL,
                                 on_y_at(c, ysz, i, th));
                if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
            }
        }
    }
}

void on_conv_wino_forward(const on_call *c, const on_geom *g) {
    wg t = wg_of(c->a, g, c->xs.c, 1);
    size_t xsz = on_shape_size(c->xs), ysz = out_floats(c, &t);
    const float *U = c->saved;
    if (c->n < c->threads || (c->n == 1 && fly(&t))) {
        /* batch-1 latency: the threads split each sample; one thread too where U is made on
         * the fly (the batch's path read the saved U, and compared each filter's weights with
         * those it was made from: ResNet's 7x7 512 -> 512 layer on one thread took 0.80x the
         * time so, ResNet-18 at batch 1 on one thread 0.91x) */
        /* by filters, each thread padding and transforming the whole input in its own
         * scratch: split by channels, with a barrier before the products, each thread's
         * products read V half written by the other core the moment before, and where the
         * two cores share no cache (on these machines, at times) ResNet-18 took 1.06x the
         * time at batch 1 on two threads (the transform twice: 1.007x where they do). By tile
         * rows, as conv_wino4.c, each thread would read all of U (ResNet's 7x7 512->512 layer
         * 1.88x the time, 14x14 256->256 1.03x). */
        int made = fly(&t); /* else the saved U */
        for (int i = 0; i < c->n; i++) {
            /* units of filters where the image is one chunk of tiles and F more than one */
            int units = (t.F + on_filter_unit(t.F) - 1) / on_filter_unit(t.F);
            on_queue q, *uq = t.rows == t.TH && units > 1 ? &q : NULL;
            on_queue_init(&q, c, units);
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id();
                block b = block_of(c->tmp, &t, th);
                if (!i && !made) weights_transform(c->p[0], &t, c->saved, 1);
                pad(c->x + xsz * i, &t, 0, t.C, b.xp);
                forward_sample(c, &t, U, b.xp, b.V, b.M, made ? b.dU : NULL, on_y_at(c, ysz, i, 0),
                               1, uq);
            }
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
        return;
    }
    int S = on_conv_variant & ON_CONV_NO_GROUP ? 1 : group_of(c->a, g, t.C, c->n);
    if (S > 1) {
        forward_groups(c, g, S);
        return;
    }
    on_queue q;
    on_queue_init(&q, c, c->n);
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id();
        block b = block_of(c->tmp, &t, th);
        weights_transform(c->p[0], &t, c->saved, 1);
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            int next = on_queue_peek(&q, k);
            if (next >= 0) /* pad() waited on its loads from memory */
                on_prefetch(c->x + xsz * next, xsz);
            pad(c->x + xsz * i, &t, 0, t.C, b.xp);
            forward_sample(c, &t, U, b.xp, b.V, b.M, NULL, on_y_at(c, ysz, i, th), 0, NULL);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

/* vt (n x C) = v^T, v a chunk's V[xi] (C x n, rows ld apart): dU's product takes its rows
 * as B. Eight channels by eight tiles at a time, transposed in registers (the tiles past n
 * are V's spare columns: vt has rows for them, never read). */
ON_VECTOR_CLONES static void transpose(const float *v, const wg *t, int n, float *vt) {
    int C = t->C, c = 0;
    for (; c + VEC <= C; c += VEC)
        for (int p = 0; p < n; p += VEC) {
            const float *s = v + (size_t)c * t->ld + p;
            vf r[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) r[i] = VLOAD(s + i * t->ld);
            on_transpose8(r);
            float *d = vt + (size_t)p * C + c; /* row p + j is tile p + j's channels */
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) VSTORE(d + j * C, r[j]);
        }
    for (; c < C; c++)
        for (int p = 0; p < n; p++) vt[(size_t)p * C + c] = v[(size_t)c * t->ld + p];
}

/* dx (C,h,w) = dXpad, the sum of the split rows dxp and dxq, back to plain rows */
static void unsplit(const wg *t, const block *b, float *dx) {
    int j0 = t->pl & 1; /* as in pad() */
    int ke = split_col(t, j0 + t->pl), ko = split_col(t, 1 - j0 + t->pl);
    for (int ci = 0; ci < t->C; ci++)
        for (int r = 0; r < t->h; r++) {
            float *o = dx + ((size_t)ci * t->h + r) * t->w;
            size_t row = ci * t->plane + (size_t)(r + t->pt) * t->Wp;
            const float *p = b->dxp + row, *q = b->dxq + row;
            for (int j = j0, k = ke; j < t->w; j += 2, k++) o[j] = p[k] + q[k];
            for (int j = 1 - j0, k = ko; j < t->w; j += 2, k++) o[j] = p[k] + q[k];
        }
}

/* The gradients of samples [i0, i1) of the call: dU and db into the thread's block, dX into
 * c->dx (if any). Where a sample is one chunk (t->S > 1), the group's tiles lie side by side
 * in V, dM and dV (sample i's from column (i - i0) TH TW, as in forward_groups) and each xi
 * takes one product for the group: columns rounded up to whole vectors once, not per sample
 * (49 tiles: 56 columns, 98: 104), and dU's sums run over the group's tiles in sample order,
 * the same multiply-adds in the same order as sample by sample: the same bits. Otherwise
 * one sample in chunks of tile rows. */
static void backward_group(const on_call *c, const wg *t, const float *U, const block *b, int i0,
                           int i1) {
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), tt = (size_t)t->TH * t->TW;
    /* dy_ready's sample, read in every chunk: a sample of several chunks is a group of one */
    const float *ready = NULL;
    for (int ty0 = 0; ty0 < t->TH; ty0 += t->rows) {
        int ty1 = ty0 + t->rows < t->TH ? ty0 + t->rows : t->TH;
        int n = (ty1 - ty0) * t->TW * (i1 - i0);
        for (int i = i0; i < i1; i++) {
            if (c->dy_ready && ty0 == 0) ready = c->dy_ready(c->dy_ctx, i);
            const float *dy = ready ? ready : c->dy + ysz * i, *d = dy;
            size_t o = tt * (i - i0);
            if (ty0 == 0) { /* the sample's first chunk: its padded input, db */
                if (i + 1 < c->n) {
                    on_prefetch(c->x + xsz * (i + 1), xsz);
                    if (!c->dy_ready) on_prefetch(c->dy + ysz * (i + 1), ysz);
                }
                pad(c->x + xsz * i, t, 0, t->C, b->xp);
                /* db in double: a float sum of a 300-wide image's dY missed the direct sum
                 * by 3e-6 with 4-float lanes */
                for (int f = 0; f < t->F; f++) {
                    double s = 0;
                    const float *df = dy + (size_t)f * t->P * t->Q;
#pragma omp simd reduction(+ : s)
                    for (int j = 0; j < t->P * t->Q; j++) s += df[j];
                    b->db[f] += (float)s;
                }
            }
            if (t->P % 2 || t->Q % 2) { /* dY with even sizes: zeros after odd P or Q */
                if (ty0 == 0) {
                    memset(b->dye, 0, sizeof(float) * 4 * t->F * t->TH * t->TW);
                    for (int f = 0; f < t->F; f++)
                        for (int p = 0; p < t->P; p++)
                            memcpy(b->dye + ((size_t)f * 2 * t->TH + p) * 2 * t->TW,
                                   dy + ((size_t)f * t->P + p) * t->Q, sizeof(float) * t->Q);
                }
                d = b->dye;
            }
            input_transform(b->xp, t, ty0, ty1, 0, t->C, b->V + o);
            output_adjoint(d, t, ty0, ty1, b->M + o);
        }
        for (int xi = 0; xi < 16; xi++) {
            const float *dM = b->M + (size_t)xi * t->F * t->ld;
            /* dU[xi] (F,C) += dM[xi] (F,n) . V[xi]^T (n,C) */
            transpose(b->V + (size_t)xi * t->C * t->ld, t, n, b->vt);
            on_wino_product(t->F, t->C, t->C, n, dM, t->ld, 1, b->vt, t->C,
                            b->dU + (size_t)xi * t->F * t->C, t->C, 1);
            if (c->dx) /* dV[xi] (C,n) = U[xi]^T (C,F) . dM[xi] (F,n), as in products() */
                on_wino_product(t->C, n, (n + VEC - 1) / VEC * VEC, t->F,
                                U + (size_t)xi * t->F * t->C, 1, t->C, dM, t->ld,
                                b->dV + (size_t)xi * t->C * t->ld, t->ld, 0);
        }
        for (int i = i0; i < i1 && c->dx; i++) {
            if (ty0 == 0) memset(b->dxp, 0, sizeof(float) * 2 * t->C * t->plane); /* and dxq */
            input_adjoint(b->dV + tt * (i - i0), t, ty0, ty1, b->dxp, b->dxq);
            if (ty1 == t->TH) unsplit(t, b, c->dx + xsz * i);
        }
    }
}

/* Samples per group in the backward (backward_group): as the forward's, unless turned off */
static int backward_groups(const on_attrs *a, const on_geom *g, int C, int n) {
    return on_conv_variant & ON_CONV_NO_GROUP ? 1 : group_of(a, g, C, n);
}

void on_conv_wino_backward(const on_call *c, const on_geom *g) {
    int S = backward_groups(c->a, g, c->xs.c, c->n);
    wg t = wg_of(c->a, g, c->xs.c, S);
    size_t fc = (size_t)t.F * t.C;
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id(), T = on_thread_count();
        block b = block_of(c->tmp, &t, th);
        const float *U = weights_transform(c->p[0], &t, c->saved, 1);
        memset(b.dU, 0, sizeof(float) * (16 * fc + t.F));
        for (int i = c->n * th / T, i1 = c->n * (th + 1) / T; i < i1; i += S) {
            backward_group(c, &t, U, &b, i, i + S < i1 ? i + S : i1);
        }
#pragma omp barrier
        /* sum the threads' dU in thread order, then dW = G^T dU G into W's (F, C, 3, 3) */
#pragma omp for schedule(static)
        for (int f = 0; f < t.F; f++) {
            for (int ci = 0; ci < t.C; ci++) {
                float u[4][4];
                for (int xi = 0; xi < 16; xi++) {
                    float s = 0;
                    for (int k = 0; k < T; k++)
                        s += block_of(c->tmp, &t, k).dU[xi * fc + (size_t)f * t.C + ci];
                    u[xi / 4][xi % 4] = s;
                }
                float r[3][4]; /* G^T u, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1] */
                for (int j = 0; j < 4; j++) {
                    r[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
                    r[1][j] = 0.5f * (u[1][j] - u[2][j]);
                    r[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
                }
                float *dw = c->dp[0] + ((size_t)f * t.C + ci) * 9;
                for (int i = 0; i < 3; i++) { /* (G^T u) G */
                    dw[3 * i + 0] += r[i][0] + 0.5f * (r[i][1] + r[i][2]);
                    dw[3 * i + 1] += 0.5f * (r[i][1] - r[i][2]);
                    dw[3 * i + 2] += 0.5f * (r[i][1] + r[i][2]) + r[i][3];
                }
            }
            if (c->a->bias) {
                float s = 0;
                for (int k = 0; k < T; k++) s += block_of(c->tmp, &t, k).db[f];
                c->dp[1][f] += s;
            }
        }
    }
}
