/* geom.c - see geom.h. */
#include "geom.h"

/* Output size along one axis; pads are resolved first for 'same'. */
static int axis(int n, int k, int s, int d, int mode, const int *pad_in, int ceil_mode, int *p0,
                int *p1, int *out) {
    int ext = d * (k - 1) + 1;
    if (mode == ON_PAD_SAME) {
        int o = (n + s - 1) / s;
        int total = (o - 1) * s + ext - n;
        if (total < 0) total = 0;
        *p0 = total / 2;
        *p1 = total - *p0;
    } else if (mode == ON_PAD_EXPLICIT) {
        *p0 = pad_in[0];
        *p1 = pad_in[1];
    } else {
        *p0 = *p1 = 0;
    }
    int span = n + *p0 + *p1 - ext;
    if (span < 0) return -1;
    int o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= n + *p0) o--;
    *out = o;
    return 0;
}

int on_geom_make(const on_attrs *a, on_shape xs, int conv, on_geom *g, on_error *err) {
    if (xs.rank < 2) return on_fail(err, "needs a spatial input (C,L) or (C,H,W)");
    *g = (on_geom){.h = xs.h, .w = xs.w};
    g->sh = a->sh > 0 ? a->sh : (conv ? 0 : a->kh);
    g->sw = a->sw > 0 ? a->sw : (conv ? 0 : a->kw);
    int dh = conv ? a->dh : 1, dw = conv ? a->dw : 1;
    if (a->kh < 1 || a->kw < 1 || a->kh > 4096 || a->kw > 4096)
        return on_fail(err, "window size must be 1 to 4096, got %dx%d", a->kh, a->kw);
    if (a->sh > 4096 || a->sw > 4096 || a->dh > 4096 || a->dw > 4096)
        return on_fail(err, "stride and dilation must be at most 4096");
    for (int i = 0; i < 4; i++)
        if (a->pad_mode == ON_PAD_EXPLICIT && a->pad[i] > 65536)
            return on_fail(err, "padding must be at most 65536, got %d", a->pad[i]);
    if (g->sh < 1 || g->sw < 1)
        return on_fail(err, "stride must be positive, got %dx%d", a->sh, a->sw);
    if (dh < 1 || dw < 1) return on_fail(err, "dilation must be positive, got %dx%d", dh, dw);
    for (int i = 0; i < 4; i++)
        if (a->pad_mode == ON_PAD_EXPLICIT && a->pad[i] < 0)
            return on_fail(err, "padding must not be negative, got %d", a->pad[i]);
    int ceil_mode = conv ? 0 : a->ceil_mode;
    if (axis(g->h, a->kh, g->sh, dh, a->pad_mode, a->pad, ceil_mode, &g->pt, &g->pb, &g->p) ||
        axis(g->w, a->kw, g->sw, dw, a->pad_mode, a->pad + 2, ceil_mode, &g->pl, &g->pr, &g->q))
        return on_fail(err, "window %dx%d (dilation %dx%d) is larger than the padded input %dx%d",
                       a->kh, a->kw, dh, dw, g->h + g->pt + g->pb, g->w + g->pl + g->pr);
    if (!conv && (g->pt >= a->kh || g->pb >= a->kh || g->pl >= a->kw || g->pr >= a->kw))
        return on_fail(err, "pooling padding (%d,%d,%d,%d) must be smaller than the window %dx%d",
                       g->pt, g->pb, g->pl, g->pr, a->kh, a->kw);
    return 0;
}
