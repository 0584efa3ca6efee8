/* conv_depthwise.c - depthwise convolution summed directly in vector registers.
 *
 * Groups = C: output channel f = c M + m (M the depth multiplier) is input channel c
 * convolved with its own kh x kw filter. An im2col matrix would be K = kh kw rows deep and
 * the product one filter wide: sgemm at a few percent of peak. Here each channel's input
 * is copied once into a zero-padded plane split by column phase (stride sw): phase r holds
 * the padded columns r, r + sw, r + 2 sw, ... so that every tap reads contiguous floats at
 * any stride and dilation:
 *   padded column q sw + kx dw = sw (q + (kx dw) / sw) + (kx dw) % sw
 * i.e. phase (kx dw) % sw, index q + (kx dw) / sw; and padded row p sh + ky dh.
 *   forward:     Y[f][p][q] = b[f] + sum over taps t of W[f][t] Xph[c][tap t's row, column]
 *                (4 rows x 16 outputs in registers while the taps go by)
 *   input grad:  dXph[c][tap t's position of (p, q)] += W[f][t] dY[f][p][q], then the
 *                phase planes are copied back, the padding dropped
 *   weight grad: dW[f][t] += sum over p, q of dY[f][p][q] Xph[c][tap t's position]
 * Threads take whole samples in the forward (each finished sample goes to the epilogue),
 * or split one sample's channels when there are fewer samples than threads; the backward
 * splits channels, so each filter's gradient is summed by one thread in sample order and
 * the result does not depend on the thread count. test_conv holds all three to a direct
 * double-precision convolution.
 */
#include "conv_depthwise.h"
#include "conv_dw_lanes.h"
#include "conv_variant.h"
#include "im2col.h"

#include <string.h>

enum { MAX_TAPS = 121 }; /* kernels up to 11x11: the tap offsets live on the stack */
enum { FLAT_Q = 16 };    /* dw_flat for stride-1 outputs up to this wide */

typedef int vi __attribute__((vector_size(32))); /* vf's lanes as masks */
typedef float v4 __attribute__((vector_size(16)));

typedef struct dwg {
    int C, M, taps, h, w, P, Q, pt, pl, sh, sw;
    int RS;               /* floats per row of a phase plane */
    size_t phase;         /* floats per phase plane: Hp rows of RS */
    size_t plane;         /* one channel: sw phase planes */
    size_t off[MAX_TAPS]; /* tap t's offset in the plane from output (0, 0) */
    int flat;             /* forward by flat runs of the plane (dw_flat), not row blocks */
    int clamp;            /* the forward's outputs clamped to [lo, hi] (on_call's clamp) */
    float lo, hi;
    ptrdiff_t roff; /* on_call's resid: its offset from y (0: none) */
} dwg;

static dwg dwg_of(const on_attrs *a, const on_geom *g, int C) {
    dwg t = {.C = C,
             .M = a->units / C,
             .taps = a->kh * a->kw,
             .h = g->h,
             .w = g->w,
             .P = g->p,
             .Q = g->q,
             .pt = g->pt,
             .pl = g->pl,
             .sh = g->sh,
             .sw = g->sw};
    /* Small stride-1 planes are summed as one run (dw_flat): rows as short as 7 to 28
     * left row blocks of one or two vectors, chains of FMAs each waiting for the last */
    t.flat = g->sh == 1 && g->sw == 1 && g->q <= FLAT_Q;
    int Hp = g->h + g->pt + g->pb, Qr = t.flat ? g->q : (g->q + 7) / 8 * 8;
    int data = (g->w - 1 + g->pl) / g->sw;            /* last index of an input column */
    int reads = Qr - 1 + (a->kw - 1) * a->dw / g->sw; /* last index a vector reads */
    t.RS = (data > reads ? data : reads) + 1;
    /* dw_flat's run ends in the last row's unused columns, rounded up to a vector: its
     * last tap reads up to (kw - 1) dw + 7 floats past the plane */
    t.phase = (size_t)Hp * t.RS + (t.flat ? (size_t)(a->kw - 1) * a->dw + 7 : 0);
    t.plane = (size_t)g->sw * t.phase;
    for (int ky = 0, k = 0; ky < a->kh; ky++)
        for (int kx = 0; kx < a->kw; kx++, k++) {
            int cx = kx * a->dw;
            t.off[k] =
                (size_t)(cx % g->sw) * t.phase + (size_t)ky * a->dh * t.RS + (size_t)(cx / g->sw);
        }
    return t;
}

/* Depthwise, and the padded phase planes not much larger than the input and output (huge
 * padding or strides would make them so; im2col then needs less memory). */
int on_conv_dw_apply(const on_attrs *a, const on_geom *g, int channels) {
    if (channels < 2 || on_groups(a) != channels || a->kh * a->kw > MAX_TAPS) return 0;
    dwg t = dwg_of(a, g, channels);
    return t.plane <= 4 * ((size_t)g->h * g->w + (size_t)g->p * g->q) + 65536;
}

size_t on_conv_dw_tmp(const on_attrs *a, const on_geom *g, int threads) {
    int C = a->groups; /* on_conv_dw_apply: groups = channels */
    dwg t = dwg_of(a, g, C);
    size_t s = (size_t)threads * 2 * t.plane; /* the backward's, and the forward's here */
    if (on_conv_dw_lanes_apply(a, g, C)) {
        size_t l = on_conv_dw_lanes_tmp(a, g, threads);
        if (s < l) s = l;
    }
    return s;
}

/* src's n floats -> d0 (its even ones) and d1 (its odd ones), 16 at a time by two loads and
 * two shuffles (a loop the compiler left scalar: 69% of a stride-2 layer's time) */
static inline __attribute__((always_inline)) void split2(const float *src, int n, float *d0,
                                                         float *d1) {
    int j = 0;
    for (; 2 * j + 16 <= n; j += 8) {
        vf lo = VLOAD(src + 2 * j), hi = VLOAD(src + 2 * j + 8);
        VSTORE(d0 + j, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
        VSTORE(d1 + j, __builtin_shufflevector(lo, hi, 1, 3, 5, 7, 9, 11, 13, 15));
    }
    if (2 * j + 8 <= n) { /* 8 more (14- and 28-wide rows): half vectors */
        v4 lo, hi;
        memcpy(&lo, src + 2 * j, sizeof lo);
        memcpy(&hi, src + 2 * j + 4, sizeof hi);
        v4 e = __builtin_shufflevector(lo, hi, 0, 2, 4, 6),
           o = __builtin_shufflevector(lo, hi, 1, 3, 5, 7);
        memcpy(d0 + j, &e, sizeof e);
        memcpy(d1 + j, &o, sizeof o);
        j += 4;
    }
    for (int k = j; 2 * k < n; k++) d0[k] = src[2 * k];
    for (; 2 * j + 1 < n; j++) d1[j] = src[2 * j + 1];
}

/* x (h, w), one channel -> its phase planes; the padding positions stay as they are (zero) */
ON_VECTOR_CLONES static void fill(const dwg *t, const float *x, float *pl) {
    if (t->sw == 2) { /* input column ix: phase (ix + pl) % 2, index (ix + pl) / 2 */
        float *d[2];
        for (int e = 0; e < 2; e++)
            d[e] = pl + (size_t)((e + t->pl) & 1) * t->phase + (size_t)t->pt * t->RS +
                   ((e + t->pl) >> 1);
        for (int iy = 0; iy < t->h; iy++)
            split2(x + (size_t)iy * t->w, t->w, d[0] + (size_t)iy * t->RS,
                   d[1] + (size_t)iy * t->RS);
        return;
    }
    for (int r = 0; r < t->sw; r++) {
        int ix0 = ((r - t->pl) % t->sw + t->sw) % t->sw, j0 = (ix0 + t->pl) / t->sw;
        float *dst = pl + (size_t)r * t->phase + (size_t)t->pt * t->RS + j0;
        for (int iy = 0; iy < t->h; iy++, dst += t->RS) {
            const float *src = x + (size_t)iy * t->w + ix0;
            int n = ix0 < t->w ? (t->w - ix0 + t->sw - 1) / t->sw : 0;
            if (t->sw == 1)
                memcpy(dst, src, sizeof(float) * n);
            else
                for (int j = 0; j < n; j++) dst[j] = src[j * t->sw];
        }
    }
}

/* The reverse of fill: the phase planes' input positions -> dx (h, w) */
static void unfill(const dwg *t, const float *pl, float *dx) {
    for (int r = 0; r < t->sw; r++) {
        int ix0 = ((r - t->pl) % t->sw + t->sw) % t->sw, j0 = (ix0 + t->pl) / t->sw;
        const float *src = pl + (size_t)r * t->phase + (size_t)t->pt * t->RS + j0;
        for (int iy = 0; iy < t->h; iy++, src += t->RS) {
            float *dst = dx + (size_t)iy * t->w + ix0;
            int n = ix0 < t->w ? (t->w - ix0 + t->sw - 1) / t->sw : 0;
            for (int j = 0; j < n; j++) dst[j * t->sw] = src[j];
        }
    }
}

/* Output rows [p, p + R) x columns [q, q + 8 V) of y = b + the taps of w: R V vectors of
 * sums in registers, independent chains, so that the FMAs' latency overlaps (one row of one
 * vector would wait for each FMA before the next). Columns past Q are computed (the reads
 * stay in the plane, dwg_of) and not stored. */
static inline __attribute__((always_inline)) void dw_block(const dwg *t, const float *pl,
                                                           const float *w, float b, float *y, int p,
                                                           int q, int R, int V) {
    vf acc[4][2];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] = (vf){0} + b;
    const float *base = pl + (size_t)p * t->sh * t->RS + q;
    size_t rs = (size_t)t->sh * t->RS;
    for (int k = 0; k < t->taps; k++) {
        float wk = w[k];
        const float *s = base + t->off[k];
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) acc[r][v] +=
            wk * VLOAD(s + r * rs + 8 * v);
    }
    if (t->roff) /* + the residual */
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const float *rr = y + (size_t)(p + r) * t->Q + q + t->roff;
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) {
                int n = t->Q - q - 8 * v;
                if (n >= 8)
                    acc[r][v] += VLOAD(rr + 8 * v);
                else
                    for (int j = 0; j < n; j++) acc[r][v][j] += rr[8 * v + j];
            }
        }
    if (t->clamp) {
        vf lo = t->lo - (vf){0}, hi = t->hi - (vf){0};
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
            _Pragma("GCC unroll 2") for (int v = 0; v < V; v++)
                ON_VCLAMP(vf, vi, acc[r][v], lo, hi);
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
        float *yr = y + (size_t)(p + r) * t->Q + q;
        _Pragma("GCC unroll 2") for (int v = 0; v < V; v++) {
            int n = t->Q - q - 8 * v;
            if (n >= 8)
                VSTORE(yr + 8 * v, acc[r][v]);
            else
                for (int j = 0; j < n; j++) yr[8 * v + j] = acc[r][v][j];
        }
    }
}

/* y (P, Q) = b + the taps of w over the phase planes pl: blocks of 4 rows x 16 columns,
 * then the edges */
ON_VECTOR_CLONES static void dw_out(const dwg *t, const float *pl, const float *w, float b,
                                    float *y) {
    int P = t->P, Q = t->Q, P4 = P / 4 * 4;
    for (int p = 0; p < P; p += 4) {
        int q = 0;
        if (p < P4) {
            for (; q + 16 <= Q; q += 16) dw_block(t, pl, w, b, y, p, q, 4, 2);
            for (; q < Q; q += 8) dw_block(t, pl, w, b, y, p, q, 4, 1);
        } else
            for (int r = p; r < P; r++) {
                for (q = 0; q + 16 <= Q; q += 16) dw_block(t, pl, w, b, y, r, q, 1, 2);
                for (; q < Q; q += 8) dw_block(t, pl, w, b, y, r, q, 1, 1);
            }
    }
}

/* acc[0, V) = b + the taps of w over the plane's flat run from index i (stride 1: output
 * (p, q) is flat index p RS + q, its tap k at that index + off[k]) */
static inline __attribute__((always_inline)) void
flat_block(const dwg *t, const float *pl, const float *w, float b, float *out, size_t i, int V) {
    vf acc[8];
    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v] = (vf){0} + b;
    for (int k = 0; k < t->taps; k++) {
        float wk = w[k];
        const float *s = pl + t->off[k] + i;
        _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) acc[v] += wk * VLOAD(s + 8 * v);
    }
    _Pragma("GCC unroll 8") for (int v = 0; v < V; v++) VSTORE(out + i + 8 * v, acc[v]);
}

/* y (P, Q) = b + the taps of w, a small stride-1 plane: the P rows of RS (the outputs and
 * the RS - Q columns between them, whose sums are not used) as one run of sums, 8 vectors
 * of independent chains at a time, into out; then row by row into y with the residual and
 * clamp. A row's last vector may store past its end into the next row, which its own
 * stores then overwrite; only the plane's last floats take the scalar loop. */
ON_VECTOR_CLONES static void dw_flat(const dwg *t, const float *pl, const float *w, float b,
                                     float *out, float *y) {
    size_t n = (size_t)t->P * t->RS, i = 0;
    for (; i + 64 < n; i += 64) flat_block(t, pl, w, b, out, i, 8);
    switch ((n - i + 7) / 8) { /* the rest, 1 to 64 floats, as one block (7x7: 63) */
    case 8:
        flat_block(t, pl, w, b, out, i, 8);
        break;
    case 7:
        flat_block(t, pl, w, b, out, i, 7);
        break;
    case 6:
        flat_block(t, pl, w, b, out, i, 6);
        break;
    case 5:
        flat_block(t, pl, w, b, out, i, 5);
        break;
    case 4:
        flat_block(t, pl, w, b, out, i, 4);
        break;
    case 3:
        flat_block(t, pl, w, b, out, i, 3);
        break;
    case 2:
        flat_block(t, pl, w, b, out, i, 2);
        break;
    case 1:
        flat_block(t, pl, w, b, out, i, 1);
        break;
    }
    size_t PQ = (size_t)t->P * t->Q;
    vf lo = t->lo - (vf){0}, hi = t->hi - (vf){0};
    for (int p = 0; p < t->P; p++) {
        const float *o = out + (size_t)p * t->RS;
        size_t r = (size_t)p * t->Q;
        int q = 0;
        for (; q < t->Q && r + q + 8 <= PQ; q += 8) {
            vf v = VLOAD(o + q);
            if (t->roff) v += VLOAD(y + r + q + t->roff);
            if (t->clamp) ON_VCLAMP(vf, vi, v, lo, hi);
            VSTORE(y + r + q, v);
        }
        for (; q < t->Q; q++) {
            float v = o[q];
            if (t->roff) v += y[r + q + t->roff];
            y[r + q] = t->clamp ? on_clamp(v, t->lo, t->hi) : v;
        }
    }
}

/* dpl (phase planes) += the taps of w spread from dy (P, Q); tap by tap along a row, so
 * that the overlapping stores of neighbouring taps are a row apart, not back to back */
ON_VECTOR_CLONES static void dw_dx(const dwg *t, const float *dy, const float *w, float *dpl) {
    int Q = t->Q, Qv = Q / 8 * 8;
    for (int p = 0; p < t->P; p++) {
        float *base = dpl + (size_t)p * t->sh * t->RS;
        const float *d = dy + (size_t)p * Q;
        for (int k = 0; k < t->taps; k++) {
            float *s = base + t->off[k], wk = w[k];
            for (int q = 0; q < Qv; q += 8) VSTORE(s + q, VLOAD(s + q) + wk * VLOAD(d + q));
            for (int q = Qv; q < Q; q++) s[q] += wk * d[q];
        }
    }
}

/* dw[k] += sum over p, q of dy (P, Q) times tap k's input; *db += sum of dy */
ON_VECTOR_CLONES static void dw_dw(const dwg *t, const float *dy, const float *pl, float *dw,
                                   float *db) {
    int Q = t->Q, Qv = Q / 8 * 8;
    for (int k = -1; k < t->taps; k++) { /* k = -1: the bias */
        vf acc = (vf){0};
        float s = 0;
        for (int p = 0; p < t->P; p++) {
            const float *d = dy + (size_t)p * Q;
            const float *x = k < 0 ? NULL : pl + (size_t)p * t->sh * t->RS + t->off[k];
            if (k < 0) {
                for (int q = 0; q < Qv; q += 8) acc += VLOAD(d + q);
                for (int q = Qv; q < Q; q++) s += d[q];
            } else {
                for (int q = 0; q < Qv; q += 8) acc += VLOAD(d + q) * VLOAD(x + q);
                for (int q = Qv; q < Q; q++) s += d[q] * x[q];
            }
        }
        for (int j = 0; j < 8; j++) s += acc[j];
        if (k < 0) {
            if (db) *db += s;
        } else
            dw[k] += s;
    }
}

/* Channels [c0, c1) of sample i: phase planes, then each of their M filters */
static void forward_channels(const on_call *c, const dwg *t, int i, int c0, int c1, float *pl) {
    size_t hw = (size_t)t->h * t->w, PQ = (size_t)t->P * t->Q;
    const float *x = c->x + on_shape_size(c->xs) * i;
    float *y = c->y + on_shape_size(c->ys) * i;
    for (int ch = c0; ch < c1; ch++) {
        fill(t, x + hw * ch, pl);
        for (int m = 0; m < t->M; m++) {
            int f = ch * t->M + m;
            const float *w = c->p[0] + (size_t)f * t->taps;
            float b = c->a->bias ? c->p[1][f] : 0.0f;
            if (t->flat) /* the second plane (the backward's) holds the sums */
                dw_flat(t, pl, w, b, pl + t->plane, y + PQ * f);
            else
                dw_out(t, pl, w, b, y + PQ * f);
        }
    }
}

void on_conv_dw_forward(const on_call *c, const on_geom *g) {
    if (!(on_conv_variant & ON_CONV_NO_DW_LANES) && on_conv_dw_lanes_apply(c->a, g, c->xs.c)) {
        on_conv_dw_lanes_forward(c, g);
        return;
    }
    dwg t = dwg_of(c->a, g, c->xs.c);
    t.clamp = c->clamp;
    t.lo = c->clamp_lo;
    t.hi = c->clamp_hi;
    t.roff = c->resid ? c->resid - c->y : 0;
    if (c->n < c->threads) { /* batch-1 latency: the threads split each sample's channels */
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                float *pl = c->tmp + 2 * t.plane * th;
                memset(pl, 0, sizeof(float) * t.plane);
                forward_channels(c, &t, i, t.C * th / T, t.C * (th + 1) / T, pl);
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
        float *pl = c->tmp + 2 * t.plane * th;
        memset(pl, 0, sizeof(float) * t.plane);
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            forward_channels(c, &t, i, 0, t.C, pl);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

void on_conv_dw_backward(const on_call *c, const on_geom *g) {
    dwg t = dwg_of(c->a, g, c->xs.c);
    size_t hw = (size_t)t.h * t.w, PQ = (size_t)t.P * t.Q;
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys);
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id(), T = on_thread_count();
        float *pl = c->tmp + 2 * t.plane * th, *dpl = pl + t.plane;
        memset(pl, 0, sizeof(float) * t.plane);
        for (int ch = t.C * th / T; ch < t.C * (th + 1) / T; ch++)
            for (int i = 0; i < c->n; i++) {
                fill(&t, c->x + xsz * i + hw * ch, pl);
                if (c->dx) memset(dpl, 0, sizeof(float) * t.plane);
                for (int m = 0; m < t.M; m++) {
                    int f = ch * t.M + m;
                    const float *dy = c->dy + ysz * i + PQ * f;
                    dw_dw(&t, dy, pl, c->dp[0] + (size_t)f * t.taps,
                          c->a->bias ? c->dp[1] + f : NULL);
                    if (c->dx) dw_dx(&t, dy, c->p[0] + (size_t)f * t.taps, dpl);
                }
                if (c->dx) unfill(&t, dpl, c->dx + xsz * i + hw * ch);
            }
    }
}
