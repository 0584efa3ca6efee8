/* conv_dw_lanes.c - the depthwise convolution's forward with 8 channels in a vector's lanes.
 *
 * conv_depthwise.c sums a channel's plane along its rows: on MobileNet v2's small planes
 * (14x14, 7x7) a row is one partial vector and the work around it (a padded copy per
 * channel, stores a float at a time) cost 5-15 times the multiply-adds. Here 8 channels
 * go together, one in each lane:
 *   in:   their input planes, 8 pixels at a time, transposed (8x8 in registers) into a
 *         zero-padded plane of pixels, B[Hp][Wp][8];
 *   sums: output pixel (p, q)'s 8 channels = bias + sum over taps t of Wt * B[p sh + ky dh]
 *         [q sw + kx dw], Wt the 8 filters' tap t as a vector; 8 pixels of a row at a time
 *         (independent chains), into a band of rows staged pixel by pixel;
 *   out:  the band transposed back, 8 pixels of a channel's plane a vector, plus the
 *         residual, clamped, stored.
 * Every vector is full whatever the plane's size and stride: a row's or a band's last 8
 * pixels overlap the ones before (the same values written again); only planes of fewer
 * than 8 pixels in all go one by one. The sums are conv_depthwise.c's, term for term in the same
 * order (bias, then the taps in order, then the residual, then the clamp): the same bits,
 * which test_conv checks. Filters of a depth multiplier M > 1 read input channel f / M; a
 * last group of fewer than 8 filters leaves its other lanes zero.
 */
#include "conv_dw_lanes.h"
#include "im2col.h"

#include <string.h>

enum { L = 8 };                /* filters a group: a vector's lanes */
enum { MAX_TAPS = 121 };       /* as conv_depthwise.c */
enum { BAND = 256 };           /* output pixels staged at a time (about; whole rows) */
enum { PREFETCH_MAX = 16384 }; /* floats of a group's input planes prefetched (below) */

/* The padded plane, the staged band, the filters and biases are 32-byte aligned (the
 * scratch is, and every offset in it a multiple of 8 floats): their vectors load and store
 * whole (an unaligned vector type has gcc split its loads in two, and a transpose through
 * the stack then waited on them) */
#define AL(p) (*(vf *)(p))

typedef struct lanes {
    int C, M, F, taps, kh, dh, dw, h, w, P, Q, pt, pl, sh, sw;
    int Wp;               /* pixels a row of the padded plane */
    int Hp;               /* its rows */
    int rows;             /* output rows a band */
    size_t off[MAX_TAPS]; /* tap t's offset in floats from its output pixel's base */
    int clamp;
    float lo, hi;
    ptrdiff_t roff; /* on_call's resid: its offset from y (0: none) */
} lanes;

static lanes lanes_of(const on_attrs *a, const on_geom *g, int C) {
    lanes t = {.C = C,
               .M = a->units / C,
               .F = a->units,
               .taps = a->kh * a->kw,
               .kh = a->kh,
               .dh = a->dh,
               .dw = a->dw,
               .h = g->h,
               .w = g->w,
               .P = g->p,
               .Q = g->q,
               .pt = g->pt,
               .pl = g->pl,
               .sh = g->sh,
               .sw = g->sw};
    t.Hp = g->h + g->pt + g->pb;
    t.Wp = g->w + g->pl + g->pr;
    for (int ky = 0, k = 0; ky < a->kh; ky++)
        for (int kx = 0; kx < a->kw; kx++, k++)
            t.off[k] = ((size_t)ky * a->dh * t.Wp + (size_t)kx * a->dw) * L;
    /* whole rows, about BAND pixels, a multiple of 8 pixels where whole rows make one (the
     * band's transpose then ends on a full vector, not one overlapping the one before) */
    int unit = 8;
    while (unit > 1 && (g->q * (unit / 2)) % 8 == 0) unit /= 2;
    t.rows = BAND / g->q / unit * unit;
    if (t.rows < unit) t.rows = unit;
    if (t.rows > g->p) t.rows = g->p;
    return t;
}

/* floats of one thread's scratch: the padded plane and the staged band */
static size_t lanes_floats(const lanes *t) {
    return ((size_t)t->Hp * t->Wp + (size_t)t->rows * t->Q) * L;
}

/* Depthwise (conv_depthwise.c has checked the groups), at least one full group of filters,
 * and the padded plane not much larger than its 8 channels' input and output. */
int on_conv_dw_lanes_apply(const on_attrs *a, const on_geom *g, int channels) {
    if (channels < 2 || on_groups(a) != channels || a->kh * a->kw > MAX_TAPS || a->units < L)
        return 0;
    size_t hp = (size_t)g->h + g->pt + g->pb, wp = (size_t)g->w + g->pl + g->pr;
    return hp * wp <= 4 * ((size_t)g->h * g->w + (size_t)g->p * g->q) + 8192;
}

size_t on_conv_dw_lanes_tmp(const on_attrs *a, const on_geom *g, int threads) {
    lanes t = lanes_of(a, g, a->groups);
    return (size_t)threads * lanes_floats(&t);
}

/* r[0..8) (row i: 8 values) -> its columns, in place: r[j] = (r0[j], r1[j], ..., r7[j]) */
static inline __attribute__((always_inline)) void transpose8(vf *r) {
    vf t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13),
       t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15),
       t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13),
       t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15),
       t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13),
       t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15),
       t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13),
       t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);
    vf s0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13),
       s1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15),
       s2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13),
       s3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15),
       s4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13),
       s5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15),
       s6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13),
       s7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = __builtin_shufflevector(s0, s4, 0, 1, 2, 3, 8, 9, 10, 11);
    r[1] = __builtin_shufflevector(s1, s5, 0, 1, 2, 3, 8, 9, 10, 11);
    r[2] = __builtin_shufflevector(s2, s6, 0, 1, 2, 3, 8, 9, 10, 11);
    r[3] = __builtin_shufflevector(s3, s7, 0, 1, 2, 3, 8, 9, 10, 11);
    r[4] = __builtin_shufflevector(s0, s4, 4, 5, 6, 7, 12, 13, 14, 15);
    r[5] = __builtin_shufflevector(s1, s5, 4, 5, 6, 7, 12, 13, 14, 15);
    r[6] = __builtin_shufflevector(s2, s6, 4, 5, 6, 7, 12, 13, 14, 15);
    r[7] = __builtin_shufflevector(s3, s7, 4, 5, 6, 7, 12, 13, 14, 15);
}

/* r[j] = 8 floats of plane xc[j] from index s; zero where j >= nf (F: nf is 8) */
static inline __attribute__((always_inline)) void load8(const float *const *xc, size_t s, int nf,
                                                        vf *r, int F) {
    _Pragma("GCC unroll 8") for (int j = 0; j < L; j++) r[j] =
        F || j < nf ? (vf)VLOAD(xc[j] + s) : (vf){0};
}

/* The pixels of the nf input planes xc into the padded plane B, 8 at a time, transposed:
 * along each row, the last 8 of a row overlapping the ones before (rewriting the same
 * values), where rows are 8 or more wide; else along the planes, across their rows. */
static inline __attribute__((always_inline)) void
fill_pixels(const lanes *t, const float *const *xc, int nf, float *B, int F) {
    int h = t->h, w = t->w, Wp = t->Wp;
    float *B0 = B + ((size_t)t->pt * Wp + t->pl) * L; /* input pixel (0, 0)'s place */
    vf r[8];
    if (w >= 8) {
        for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix += 8) {
                int x0 = ix + 8 <= w ? ix : w - 8;
                load8(xc, (size_t)iy * w + x0, nf, r, F);
                transpose8(r);
                float *d = B0 + ((size_t)iy * Wp + x0) * L;
                _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) AL(d + k * L) = r[k];
            }
        return;
    }
    size_t hw = (size_t)h * w;
    if (hw < 8) {
        for (size_t s = 0; s < hw; s++)
            for (int j = 0; j < L; j++)
                B0[((s / w) * Wp + s % w) * L + j] = F || j < nf ? xc[j][s] : 0.0f;
        return;
    }
    for (size_t s = 0; s < hw; s += 8) {
        size_t s0 = s + 8 <= hw ? s : hw - 8;
        load8(xc, s0, nf, r, F);
        transpose8(r);
        int iy = (int)(s0 / w), ix = (int)(s0 % w);
        _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) {
            AL(B0 + ((size_t)iy * Wp + ix) * L) = r[k];
            if (++ix == w) {
                ix = 0;
                iy++;
            }
        }
    }
}

/* The padded plane's border, zero: once a thread and call, the groups' fills write only
 * the pixels inside it */
static void zero_border(const lanes *t, float *B) {
    int h = t->h, w = t->w, Wp = t->Wp, pr = Wp - t->pl - w;
    memset(B, 0, sizeof(float) * L * (size_t)Wp * t->pt);
    for (int iy = 0; iy < h; iy++) {
        float *row = B + (size_t)(t->pt + iy) * Wp * L;
        memset(row, 0, sizeof(float) * L * t->pl);
        memset(row + (size_t)(t->pl + w) * L, 0, sizeof(float) * L * pr);
    }
    memset(B + (size_t)(t->pt + h) * Wp * L, 0,
           sizeof(float) * L * (size_t)Wp * (t->Hp - t->pt - h));
}

/* The pixels of the nf input planes xc[j] (the other lanes zero) into the padded plane */
ON_WIDE_CLONES static void fill_lanes(const lanes *t, const float *const *xc, int nf, float *B) {
    if (nf == L)
        fill_pixels(t, xc, nf, B, 1);
    else
        fill_pixels(t, xc, nf, B, 0);
}

/* Output pixels q .. q + V - 1 of the row whose first tap reads from base: V chains of
 * bias + the taps (w: their filters' vectors), staged at o (pixel-major). S = 1 or 2: a 3x3
 * kernel, dilation 1, stride S, its nine taps' addresses three rows' plus constants; S = 0:
 * any kernel, by t->off. */
static inline __attribute__((always_inline)) void
sums(const lanes *t, const float *base, const vf *w, int S, vf bias, int q, float *o, int V) {
    vf acc[8];
    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v] = (vf){0} + bias;
    if (S) {
        const float *r0 = base + (size_t)q * S * L;
        size_t rs = (size_t)t->Wp * L;
        _Pragma("GCC unroll 3") for (int ky = 0; ky < 3; ky++) {
            const float *r = r0 + ky * rs;
            _Pragma("GCC unroll 3") for (int kx = 0; kx < 3; kx++) {
                vf wk = w[3 * ky + kx];
                _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v] +=
                    wk * AL(r + (v * S + kx) * L);
            }
        }
    } else {
        size_t ps = (size_t)t->sw * L;
        const float *b0 = base + (size_t)q * ps;
        for (int k = 0; k < t->taps; k++) {
            vf wk = w[k];
            const float *s = b0 + t->off[k];
            _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v] += wk * AL(s + v * ps);
        }
    }
    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) AL(o + (size_t)(q + v) * L) = acc[v];
}

/* Output rows [p0, p1), pixel-major, into o: 8 pixels of a row at a time, then 4, 2, 1 */
static inline __attribute__((always_inline)) void rows(const lanes *t, const float *B, const vf *w,
                                                       int S, vf bias, int p0, int p1, float *o) {
    int Q = t->Q;
    for (int p = p0; p < p1; p++, o += (size_t)Q * L) {
        const float *base = B + (size_t)p * t->sh * t->Wp * L;
        int q = 0;
        for (; q + 8 <= Q; q += 8) sums(t, base, w, S, bias, q, o, 8);
        if (q + 4 <= Q) {
            sums(t, base, w, S, bias, q, o, 4);
            q += 4;
        }
        if (q + 2 <= Q) {
            sums(t, base, w, S, bias, q, o, 2);
            q += 2;
        }
        if (q < Q) sums(t, base, w, S, bias, q, o, 1);
    }
}

/* Output rows [p0, p1) of the group's filters (wg: tap k's 8 at wg + 8 k), pixel-major,
 * into o. A 3x3 kernel's nine filter vectors stay in registers (32 of them with AVX-512). */
ON_WIDE_CLONES static void band_sums(const lanes *t, const float *B, const float *wg,
                                     const float *bias, int p0, int p1, float *o) {
    if (t->taps == 9 && t->kh == 3 && t->dh == 1 && t->dw == 1 && t->sh == t->sw &&
        (t->sw == 1 || t->sw == 2)) {
        vf w[9];
        for (int k = 0; k < 9; k++) w[k] = AL(wg + (size_t)k * L);
        if (t->sw == 1)
            rows(t, B, w, 1, AL(bias), p0, p1, o);
        else
            rows(t, B, w, 2, AL(bias), p0, p1, o);
    } else
        rows(t, B, (const vf *)wg, 0, AL(bias), p0, p1, o);
}

/* Staged pixels s .. s + 7 -> the nf planes yc + j PQ at s: transposed back, plus the
 * residual (R), clamped (CL); F: nf is 8 */
static inline __attribute__((always_inline)) void
out8(const lanes *t, const float *o, size_t s, float *yc, size_t PQ, int nf, int R, int CL, int F) {
    vf r[8], lo = t->lo - (vf){0}, hi = t->hi - (vf){0};
    _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) r[k] = AL(o + (s + k) * L);
    transpose8(r);
    _Pragma("GCC unroll 8") for (int j = 0; j < L; j++) {
        if (F || j < nf) {
            float *y = yc + (size_t)j * PQ + s;
            vf v = r[j];
            if (R) v += VLOAD(y + t->roff);
            if (CL) ON_VCLAMP(vf, vi, v, lo, hi);
            VSTORE(y, v);
        }
    }
}

/* The staged band (n pixels, 8 lanes each) -> the nf planes yc + j PQ from pixel 0 of yc;
 * the last 8 overlapping the ones before (the same values again) */
static inline __attribute__((always_inline)) void out_band(const lanes *t, const float *o, size_t n,
                                                           float *yc, size_t PQ, int nf, int R,
                                                           int CL, int F) {
    for (size_t s = 0; s < n; s += 8) out8(t, o, s + 8 <= n ? s : n - 8, yc, PQ, nf, R, CL, F);
}

/* The same, n >= 8, by what it adds and clamps; fewer pixels one by one */
ON_WIDE_CLONES static void band_out(const lanes *t, const float *o, size_t n, float *yc, size_t PQ,
                                    int nf) {
    int R = t->roff != 0, CL = t->clamp;
    if (n < 8) {
        for (size_t s = 0; s < n; s++)
            for (int j = 0; j < nf; j++) {
                float *y = yc + (size_t)j * PQ + s, v = o[s * L + j];
                if (R) v += y[t->roff];
                *y = CL ? on_clamp(v, t->lo, t->hi) : v;
            }
    } else if (nf < L)
        out_band(t, o, n, yc, PQ, nf, R, CL, 0);
    else if (R && CL)
        out_band(t, o, n, yc, PQ, L, 1, 1, 1);
    else if (R)
        out_band(t, o, n, yc, PQ, L, 1, 0, 1);
    else if (CL)
        out_band(t, o, n, yc, PQ, L, 0, 1, 1);
    else
        out_band(t, o, n, yc, PQ, L, 0, 0, 1);
}

/* Filter groups [g0, g1) of sample i, with scratch tmp (lanes_floats) */
static void groups(const on_call *c, const lanes *t, int i, int g0, int g1, float *tmp) {
    size_t hw = (size_t)t->h * t->w, PQ = (size_t)t->P * t->Q;
    const float *x = c->x + on_shape_size(c->xs) * i;
    float *y = c->y + on_shape_size(c->ys) * i;
    float *B = tmp, *o = tmp + (size_t)t->Hp * t->Wp * L;
    for (int gi = g0; gi < g1; gi++) {
        int f0 = gi * L, nf = t->F - f0 < L ? t->F - f0 : L;
        const float *xc[L];
        float wg[MAX_TAPS * L] __attribute__((aligned(32))), bias[L] __attribute__((aligned(32)));
        for (int j = 0; j < L; j++) { /* filter f0 + j's taps -> lane j of wg's vectors */
            int f = f0 + j < t->F ? f0 + j : t->F - 1, k = 0;
            const float *wf = c->p[0] + (size_t)f * t->taps;
            xc[j] = x + hw * (size_t)(f / t->M);
            bias[j] = j < nf && c->a->bias ? c->p[1][f] : 0.0f;
            if (j < nf)
                for (; k < t->taps; k++) wg[k * L + j] = wf[k];
            for (; k < t->taps; k++) wg[k * L + j] = 0.0f;
        }
        /* the next group's input planes, where they are few lines: read 8 at once, a
         * 14x14 plane's 13 lines each, they were too short for the hardware to see a
         * stream (MobileNet v2's 14x14 layers took 1.3x the time of the old kernel's plane
         * by plane read) */
        if (gi + 1 < g1 && hw * L <= PREFETCH_MAX) {
            int fn = (gi + 1) * L, cn = fn / t->M, ce = (fn + L - 1) / t->M + 1;
            if (ce > t->C) ce = t->C;
            on_prefetch(x + hw * cn, hw * (size_t)(ce - cn));
        }
        fill_lanes(t, xc, nf, B);
        for (int p0 = 0; p0 < t->P; p0 += t->rows) {
            int p1 = p0 + t->rows < t->P ? p0 + t->rows : t->P;
            band_sums(t, B, wg, bias, p0, p1, o);
            band_out(t, o, (size_t)(p1 - p0) * t->Q, y + PQ * f0 + (size_t)p0 * t->Q, PQ, nf);
        }
    }
}

void on_conv_dw_lanes_forward(const on_call *c, const on_geom *g) {
    lanes t = lanes_of(c->a, g, c->xs.c);
    t.clamp = c->clamp;
    t.lo = c->clamp_lo;
    t.hi = c->clamp_hi;
    t.roff = c->resid ? c->resid - c->y : 0;
    int G = (t.F + L - 1) / L;
    size_t per = lanes_floats(&t);
    if (c->n < c->threads) { /* batch-1 latency: the threads split each sample's groups */
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                zero_border(&t, c->tmp + per * th);
                groups(c, &t, i, G * th / T, G * (th + 1) / T, c->tmp + per * th);
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
        zero_border(&t, c->tmp + per * th);
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            groups(c, &t, i, 0, G, c->tmp + per * th);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}
