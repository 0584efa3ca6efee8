/* conv_taps.c - stride-1 convolution without an im2col matrix.
 *
 * Pad the input plane once to Hp x Wp. Output pixel (p, q) reads the padded input at
 * (p + ky, q + kx), so on the padded grid, where output (p, q) sits at p*Wp + q, tap
 * (ky, kx) is the whole padded input shifted by ky*Wp + kx: a plain C x N matrix with
 * rows Hp*Wp apart. The convolution is then kh*kw products
 *     Y (F x N) += W_tap (F x C) . Xpad[:, off : off + N],   N = (P-1)*Wp + Q,
 * whose Wp - Q extra columns per row are computed and dropped. The products are as fast
 * as im2col's one big product, and the 9x larger im2col matrix is never written.
 * The backward is the same shifts: dW_tap += dY . Xpad_shifted^T and
 * dXpad_shifted += W_tap^T . dY, with the extra columns of dY set to zero.
 * Weights are repacked per call to (tap, F, C) order; the repacking is F*K floats.
 */
#include "conv_taps.h"
#include "gemm.h"

#include <cblas.h>
#include <string.h>

enum { TAPS_MIN_CHANNELS = 4 }; /* below this the products are too thin: conv_direct.c */

typedef struct taps {
    int F, C, K, taps, kw, Wp, HW, N, P, Q;
} taps;

static taps taps_of(const on_attrs *a, const on_geom *g, int C) {
    taps t = {.F = a->units, .C = C, .taps = a->kh * a->kw, .kw = a->kw, .P = g->p, .Q = g->q};
    t.K = C * t.taps;
    t.Wp = g->w + g->pl + g->pr;
    t.HW = (g->h + g->pt + g->pb) * t.Wp;
    t.N = (g->p - 1) * t.Wp + g->q;
    return t;
}

int on_conv_grid_fits(const on_attrs *a, const on_geom *g) {
    return a->sh == 1 && a->sw == 1 && a->dh == 1 && a->dw == 1 && a->kh * a->kw > 1 &&
           g->p == g->h + g->pt + g->pb - a->kh + 1 && g->q == g->w + g->pl + g->pr - a->kw + 1;
}

int on_conv_taps_apply(const on_attrs *a, const on_geom *g, int channels) {
    return channels >= TAPS_MIN_CHANNELS && on_conv_grid_fits(a, g);
}

/* Per thread: Xpad (C*HW), Y or dY on the padded grid (F*N), dXpad (C*HW), dW (K*F), db (F). */
static size_t per_thread(const taps *t) {
    return 2 * (size_t)t->C * t->HW + (size_t)t->F * t->N + (size_t)t->F * (t->K + 1);
}

/* The repacked weights (F*K) come first, then each thread's block. */
size_t on_conv_taps_tmp(const on_attrs *a, const on_geom *g, int channels, int threads) {
    taps t = taps_of(a, g, channels);
    return (size_t)t.F * t.K + (size_t)threads * per_thread(&t);
}

/* W (F, C, tap) -> wt (tap, F, C), split over the threads of the enclosing parallel region
 * by filters; writes run along C. */
static void repack(const float *w, const taps *t, float *wt) {
#pragma omp for schedule(static)
    for (int f = 0; f < t->F; f++)
        for (int k = 0; k < t->taps; k++) {
            float *o = wt + ((size_t)k * t->F + f) * t->C;
            const float *in = w + (size_t)f * t->C * t->taps + k;
            for (int ci = 0; ci < t->C; ci++) o[ci] = in[(size_t)ci * t->taps];
        }
}

/* x (C,H,W) -> xp (C, Hp*Wp) with zeros around, channels [c0, c1) */
static void pad(const float *x, const on_geom *g, const taps *t, int c0, int c1, float *xp) {
    for (int ci = c0; ci < c1; ci++) {
        float *o = xp + (size_t)ci * t->HW;
        const float *in = x + (size_t)ci * g->h * g->w;
        memset(o, 0, sizeof(float) * (size_t)g->pt * t->Wp);
        o += (size_t)g->pt * t->Wp;
        for (int i = 0; i < g->h; i++, o += t->Wp, in += g->w) {
            for (int j = 0; j < g->pl; j++) o[j] = 0.0f;
            memcpy(o + g->pl, in, sizeof(float) * g->w);
            for (int j = g->pl + g->w; j < t->Wp; j++) o[j] = 0.0f;
        }
        memset(o, 0, sizeof(float) * (size_t)g->pb * t->Wp);
    }
}

static size_t tap_offset(const taps *t, int k) {
    return (size_t)(k / t->kw) * t->Wp + k % t->kw;
}

/* Filters [f0, f1) of one sample: ye = sum over taps, then y = the valid columns + bias. */
static void forward_rows(const on_call *c, const taps *t, const float *wt, const float *xp,
                         float *ye, float *y, int f0, int f1) {
    if (f1 <= f0) return;
    for (int k = 0; k < t->taps; k++)
        on_product(f1 - f0, t->N, t->C, wt + ((size_t)k * t->F + f0) * t->C, t->C, 1,
                   xp + tap_offset(t, k), t->HW, ye + (size_t)f0 * t->N, t->N, k > 0);
    for (int f = f0; f < f1; f++)
        on_conv_grid_out(ye + (size_t)f * t->N, t->Wp, t->P, t->Q, c->a->bias ? c->p[1][f] : 0.0f,
                         y + (size_t)f * t->P * t->Q);
}

void on_conv_taps_forward(const on_call *c, const on_geom *g) {
    taps t = taps_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), per = per_thread(&t);
    float *wt = c->tmp, *blocks = c->tmp + (size_t)t.F * t.K;
    int share = c->n < c->threads; /* batch-1 latency: the threads split each sample */
    if (share) { /* one parallel region per sample; its layers after it run on all threads */
        float *xp = blocks, *ye = xp + 2 * (size_t)t.C * t.HW;
        for (int i = 0; i < c->n; i++) {
#pragma omp parallel num_threads(c->threads)
            {
                int th = on_thread_id(), T = on_thread_count();
                if (!i) repack(c->p[0], &t, wt); /* ends with a barrier */
                pad(c->x + xsz * i, g, &t, t.C * th / T, t.C * (th + 1) / T, xp);
#pragma omp barrier
                forward_rows(c, &t, wt, xp, ye, c->y + ysz * i, t.F * th / T, t.F * (th + 1) / T);
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
        float *xp = blocks + per * th, *ye = xp + 2 * (size_t)t.C * t.HW;
        repack(c->p[0], &t, wt); /* ends with a barrier */
        for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) {
            pad(c->x + xsz * i, g, &t, 0, t.C, xp);
            forward_rows(c, &t, wt, xp, ye, c->y + ysz * i, 0, t.F);
            if (c->epilogue) c->epilogue(c->epilogue_ctx, i);
        }
    }
}

void on_conv_taps_backward(const on_call *c, const on_geom *g) {
    taps t = taps_of(c->a, g, c->xs.c);
    size_t xsz = on_shape_size(c->xs), ysz = on_shape_size(c->ys), per = per_thread(&t);
    size_t dwoff = 2 * (size_t)t.C * t.HW + (size_t)t.F * t.N; /* dW within a block */
    float *wt = c->tmp, *blocks = c->tmp + (size_t)t.F * t.K;
#pragma omp parallel num_threads(c->threads)
    {
        int th = on_thread_id(), T = on_thread_count();
        float *xp = blocks + per * th, *dxp = xp + (size_t)t.C * t.HW;
        float *dye = dxp + (size_t)t.C * t.HW, *dwt = blocks + per * th + dwoff;
        float *db = dwt + (size_t)t.F * t.K;
        repack(c->p[0], &t, wt); /* ends with a barrier */
        memset(dwt, 0, sizeof(float) * (size_t)t.F * (t.K + 1));
        for (int i = c->n * th / T; i < c->n * (th + 1) / T; i++) {
            const float *dy = c->dy + ysz * i;
            pad(c->x + xsz * i, g, &t, 0, t.C, xp);
            /* dY on the padded grid, zero in the dropped columns */
            for (int f = 0; f < t.F; f++) {
                float *o = dye + (size_t)f * t.N, s = 0;
                for (int p = 0; p < t.P; p++) {
                    const float *d = dy + ((size_t)f * t.P + p) * t.Q;
                    float *r = o + (size_t)p * t.Wp;
#pragma omp simd reduction(+ : s)
                    for (int q = 0; q < t.Q; q++) {
                        r[q] = d[q];
                        s += d[q];
                    }
                    for (int q = t.Q; q < t.Wp && (size_t)p * t.Wp + q < (size_t)t.N; q++)
                        r[q] = 0.0f;
                }
                db[f] += s;
            }
            for (int k = 0; k < t.taps; k++) /* dW_tap (F,C) += dY (F,N) . Xpad_tap^T (N,C) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t.F, t.C, t.N, 1.0f, dye, t.N,
                            xp + tap_offset(&t, k), t.HW, 1.0f, dwt + (size_t)k * t.F * t.C, t.C);
            if (!c->dx) continue;
            memset(dxp, 0, sizeof(float) * (size_t)t.C * t.HW);
            for (int k = 0; k < t.taps; k++) /* dXpad_tap (C,N) += W_tap^T (C,F) . dY (F,N) */
                on_product(t.C, t.N, t.F, wt + (size_t)k * t.F * t.C, 1, t.C, dye, t.N,
                           dxp + tap_offset(&t, k), t.HW, 1);
            float *dx = c->dx + xsz * i;
            for (int ci = 0; ci < t.C; ci++)
                for (int r = 0; r < g->h; r++)
                    memcpy(dx + ((size_t)ci * g->h + r) * g->w,
                           dxp + (size_t)ci * t.HW + (size_t)(r + g->pt) * t.Wp + g->pl,
                           sizeof(float) * g->w);
        }
#pragma omp barrier
        /* sum the per-thread partials in thread order into W's (F, C, tap) layout */
#pragma omp for schedule(static)
        for (int f = 0; f < t.F; f++) {
            for (int ci = 0; ci < t.C; ci++)
                for (int k = 0; k < t.taps; k++) {
                    float s = 0;
                    for (int u = 0; u < T; u++)
                        s += blocks[per * u + dwoff + ((size_t)k * t.F + f) * t.C + ci];
                    c->dp[0][((size_t)f * t.C + ci) * t.taps + k] += s;
                }
            if (c->a->bias) {
                float s = 0;
                for (int u = 0; u < T; u++) s += blocks[per * u + dwoff + (size_t)t.F * t.K + f];
                c->dp[1][f] += s;
            }
        }
    }
}
