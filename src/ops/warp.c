/* warp.c - see warp.h. The coordinate arithmetic follows TensorFlow's kernel step by step
 * (float products and sums in its order, its integer casts), so that the pixels sampled
 * are TF's, not merely close to them. */
#include "warp.h"

#include <math.h>
#include <string.h>

static float clamp_to(float c, int len) {
    float hi = (float)(len - 1);
    return c < 0 ? 0 : c > hi ? hi : c;
}

/* TF's MapCoordinate: an input coordinate outside [0, len-1] mapped back by the fill mode */
static float map_coord(float c, int len, int fill) {
    long long n = len;
    switch (fill) {
    case ON_FILL_REFLECT: /* [abcd] -> [dcba|abcd|dcba] */
        if (c < 0) {
            if (len <= 1) {
                c = 0;
            } else {
                long long sz2 = 2 * n;
                if (c < sz2) c = (float)(sz2 * (long long)(-c / (float)sz2)) + c;
                c = c < (float)-n ? c + (float)sz2 : -c - 1;
            }
        } else if (c > (float)(n - 1)) {
            if (len <= 1) {
                c = 0;
            } else {
                long long sz2 = 2 * n;
                c -= (float)(sz2 * (long long)(c / (float)sz2));
                if (c >= (float)n) c = (float)sz2 - c - 1;
            }
        }
        return clamp_to(c, len);
    case ON_FILL_WRAP: /* [abcd] -> [abcd|abcd|abcd], as TF computes it */
        if (c < 0) {
            if (len <= 1) {
                c = 0;
            } else {
                long long sz = n - 1;
                c += (float)(n * ((long long)(-c / (float)sz) + 1));
            }
        } else if (c > (float)(n - 1)) {
            if (len <= 1) {
                c = 0;
            } else {
                long long sz = n - 1;
                c -= (float)(n * (long long)(c / (float)sz));
            }
        }
        return clamp_to(c, len);
    case ON_FILL_NEAREST:
        return clamp_to(c, len);
    default: /* constant: unchanged; reads outside the image give the fill value */
        return c;
    }
}

/* The input neighbours of one output pixel and their weights: k of them (1 nearest, 4
 * bilinear), index -1 for a read outside the image (the fill value). */
typedef struct taps {
    int k;
    long idx[4];
    float w[4];
} taps;

/* index of (row r, column q) of an H x W image, or -1 outside; r and q are whole floats of
 * any size (|c| stays below 2^24 for the maps random_affine.c draws; checked anyway) */
static long at(float r, float q, int H, int W) {
    if (!(r >= 0 && r < (float)H && q >= 0 && q < (float)W)) return -1;
    return (long)r * W + (long)q;
}

static void taps_of(const on_warp *w, int H, int W, int oy, int ox, taps *t) {
    const float *m = w->t;
    float fx = (float)ox, fy = (float)oy;
    float ix = m[0] * fx + m[1] * fy + m[2], iy = m[3] * fx + m[4] * fy + m[5];
    if (!(fabsf(ix) < 1e9f && fabsf(iy) < 1e9f)) { /* no image is that large: all outside */
        t->k = 1;
        t->idx[0] = -1;
        t->w[0] = 1;
        return;
    }
    float x = map_coord(ix, W, w->fill), y = map_coord(iy, H, w->fill);
    if (w->interp == ON_RESIZE_NEAREST) {
        t->k = 1;
        t->idx[0] = at(roundf(y), roundf(x), H, W);
        t->w[0] = 1;
        return;
    }
    float y0 = floorf(y), x0 = floorf(x), y1 = y0 + 1, x1 = x0 + 1;
    t->k = 4;
    t->idx[0] = at(y0, x0, H, W);
    t->idx[1] = at(y0, x1, H, W);
    t->idx[2] = at(y1, x0, H, W);
    t->idx[3] = at(y1, x1, H, W);
    /* TF: (y1 - y) ((x1 - x) f00 + (x - x0) f01) + (y - y0) ((x1 - x) f10 + (x - x0) f11);
     * the forward keeps that order, these products are for the backward */
    t->w[0] = x1 - x;
    t->w[1] = x - x0;
    t->w[2] = y1 - y;
    t->w[3] = y - y0;
}

void on_warp_forward(const on_warp *w, on_shape s, const float *x, float *y) {
    int H = s.h, W = s.w;
    size_t HW = (size_t)H * W;
    float k = w->fill_value;
    for (int oy = 0; oy < H; oy++)
        for (int ox = 0; ox < W; ox++) {
            taps t;
            taps_of(w, H, W, oy, ox, &t);
            size_t o = (size_t)oy * W + ox;
            if (t.k == 1) {
                for (int ch = 0; ch < s.c; ch++)
                    y[ch * HW + o] = t.idx[0] >= 0 ? x[ch * HW + (size_t)t.idx[0]] : k;
                continue;
            }
            for (int ch = 0; ch < s.c; ch++) {
                const float *xc = x + ch * HW;
                float f[4];
                for (int j = 0; j < 4; j++) f[j] = t.idx[j] >= 0 ? xc[t.idx[j]] : k;
                float top = t.w[0] * f[0] + t.w[1] * f[1], bot = t.w[0] * f[2] + t.w[1] * f[3];
                y[ch * HW + o] = t.w[2] * top + t.w[3] * bot;
            }
        }
}

void on_warp_backward(const on_warp *w, on_shape s, const float *dy, float *dx) {
    int H = s.h, W = s.w;
    size_t HW = (size_t)H * W;
    memset(dx, 0, sizeof(float) * HW * (size_t)s.c);
    for (int oy = 0; oy < H; oy++)
        for (int ox = 0; ox < W; ox++) {
            taps t;
            taps_of(w, H, W, oy, ox, &t);
            size_t o = (size_t)oy * W + ox;
            float wt[4] = {1, 0, 0, 0};
            if (t.k == 4) {
                wt[0] = t.w[2] * t.w[0];
                wt[1] = t.w[2] * t.w[1];
                wt[2] = t.w[3] * t.w[0];
                wt[3] = t.w[3] * t.w[1];
            }
            for (int j = 0; j < t.k; j++) {
                if (t.idx[j] < 0) continue; /* the fill value: no input, no gradient */
                for (int ch = 0; ch < s.c; ch++)
                    dx[ch * HW + (size_t)t.idx[j]] += wt[j] * dy[ch * HW + o];
            }
        }
}
