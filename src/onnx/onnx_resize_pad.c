/* onnx_resize_pad.c - ONNX operators that move values within each channel: Resize (opsets
 * 10-18) and Upsample (7-9) as upsample1d/2d, Pad as the padding of the Conv or
 * AveragePool reading it or as a zeropad1d/2d layer (constant, reflect, edge), and Slice
 * of the spatial axes as crop1d/2d, of the channels as channel_slice.
 *
 * Resize maps onto ordnet's upsampling only where both compute the same source positions
 * (resize.c): nearest with coordinate_transformation_mode asymmetric and nearest_mode floor
 * (nn.Upsample's nearest, and Upsample / Resize-10's only nearest), or with half_pixel and
 * a rounding nearest_mode at whole scales (the same pixels); linear with half_pixel or
 * pytorch_half_pixel (align_corners=0) or align_corners. Everything else (cubic, asymmetric
 * linear as Upsample and Resize-10 define it, tf_crop_and_resize, antialias, ...) is
 * refused naming the node, the attribute and its value.
 */
#include "onnx_import.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The float scales (or int64 sizes) constant c as the spatial factors of a rank-r tensor
 * of spatial size in[0..r-2); -1 with an error naming node k when it is not. */
static int factors(ox_ctx *cx, int k, const ox_const *c, int sizes, int r, const int *in,
                   float *f) {
    if (c->ndims != 1 || c->size != (size_t)r || (sizes ? !c->i : !c->f))
        return ox_node_fail(cx, k, "the %s must be %d %s (batch, channels, then each spatial axis)",
                            sizes ? "sizes" : "scales", r, sizes ? "integers" : "floats");
    for (int i = 0; i < r; i++) {
        double v = sizes ? (double)c->i[i] : (double)c->f[i];
        if (i < 2 && !sizes && v != 1)
            return ox_node_fail(cx, k, "scale %g on axis %d: only the spatial axes are resized", v,
                                i);
        if (i < 2) continue; /* sizes: the batch is any, the channels checked by the caller */
        int n = in[i - 2];
        if (sizes) {
            if (v < 1 || v > (1 << 24))
                return ox_node_fail(cx, k, "size %lld on axis %d", (long long)c->i[i], i);
            float s = (float)(v / n);
            while (floor((double)n * (double)s) < v) s = nextafterf(s, INFINITY);
            f[i - 2] = s;
        } else {
            if (!(v > 0) || !isfinite(v) || v > 1e6)
                return ox_node_fail(cx, k, "scale %g on axis %d must be a positive number", v, i);
            f[i - 2] = (float)v;
        }
    }
    return 0;
}

/* Is scale f a whole number? */
static int whole(float f) {
    return f >= 1 && floorf(f) == f;
}

int ox_op_resize(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int up = !strcmp(n->op_type, "Upsample"), old = up || cx->opset < 11;
    const char *known = up               ? (cx->opset < 9 ? "mode scales" : "mode")
                        : cx->opset < 11 ? "mode"
                        : cx->opset < 18 ? "coordinate_transformation_mode cubic_coeff_a "
                                           "exclude_outside extrapolation_value mode nearest_mode"
                                         : "coordinate_transformation_mode cubic_coeff_a "
                                           "exclude_outside extrapolation_value mode nearest_mode "
                                           "antialias axes keep_aspect_ratio_policy";
    ox_value *x;
    char mode[32], ctm[32], nm[32], keep[32];
    int64_t anti, excl;
    if (ox_check_attrs(cx, k, known) || ox_in_tensor(cx, k, 0, &x) || ox_spatial(cx, k, x) ||
        ox_attr_str(cx, k, "mode", "nearest", mode, sizeof mode) ||
        ox_attr_str(cx, k, "coordinate_transformation_mode", old ? "asymmetric" : "half_pixel", ctm,
                    sizeof ctm) ||
        ox_attr_str(cx, k, "nearest_mode", old ? "floor" : "round_prefer_floor", nm, sizeof nm) ||
        ox_attr_str(cx, k, "keep_aspect_ratio_policy", "stretch", keep, sizeof keep) ||
        ox_attr_int(cx, k, "antialias", 0, &anti) ||
        ox_attr_int(cx, k, "exclude_outside", 0, &excl))
        return -1;
    if (ox_attr(n, "axes"))
        return ox_node_fail(cx, k, "attribute 'axes' is not supported (give every axis)");
    if (anti)
        return ox_node_fail(cx, k, "attribute 'antialias' = %lld is not supported",
                            (long long)anti);
    if (strcmp(keep, "stretch"))
        return ox_node_fail(cx, k, "attribute 'keep_aspect_ratio_policy' = '%s' is not supported",
                            keep);
    on_shape s = ox_shape_of(cx, x);
    int r = x->orank, in[2] = {s.rank == 3 ? s.h : s.w, s.w};
    float f[2] = {1, 1};
    if (up && cx->opset < 9) {
        const Onnx__AttributeProto *a = ox_attr(n, "scales");
        if (!a || a->n_floats != (size_t)r)
            return ox_node_fail(cx, k, "the 'scales' attribute must be %d floats", r);
        ox_const c = {.ndims = 1, .dims = {r}, .size = (size_t)r, .f = a->floats};
        if (factors(cx, k, &c, 0, r, in, f)) return -1;
    } else {
        ox_const *sc = NULL, *sz = NULL;
        int si = old ? 1 : 2;
        if (ox_in_const(cx, k, (size_t)si, !old, 0, &sc) ||
            (!old && ox_in_const(cx, k, 3, 1, 0, &sz)))
            return -1;
        if (sc && sc->size == 0) sc = NULL; /* an empty scales next to the sizes */
        if (!sc == !sz)
            return ox_node_fail(cx, k, "give either the scales or the sizes, as a constant");
        if (sz && (sz->size != (size_t)r || !sz->i || sz->i[1] != s.c))
            return ox_node_fail(cx, k,
                                "the sizes must be %d integers keeping the batch and the %d "
                                "channels",
                                r, s.c);
        if (factors(cx, k, sc ? sc : sz, !sc, r, in, f)) return -1;
    }
    on_attrs a = on_op_find(s.rank == 3 ? "upsample2d" : "upsample1d")->defaults;
    a.scale_h = s.rank == 3 ? f[0] : 1.0f;
    a.scale_w = s.rank == 3 ? f[1] : f[0];
    int all_whole = whole(f[0]) && whole(f[1]);
    if (!strcmp(mode, "nearest")) {
        a.mode = ON_RESIZE_NEAREST;
        int floor_ok = !strcmp(ctm, "asymmetric") && !strcmp(nm, "floor");
        int round_ok = all_whole &&
                       (!strcmp(ctm, "half_pixel") || !strcmp(ctm, "pytorch_half_pixel")) &&
                       (!strcmp(nm, "round_prefer_floor") || !strcmp(nm, "round_prefer_ceil"));
        if (!floor_ok && !round_ok)
            return ox_node_fail(cx, k,
                                "nearest with coordinate_transformation_mode '%s' and nearest_mode "
                                "'%s' is not supported (ordnet reads asymmetric with floor, as "
                                "PyTorch writes nn.Upsample, or half_pixel at whole scales)",
                                ctm, nm);
    } else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear")) {
        a.mode = ON_RESIZE_LINEAR;
        if (old)
            return ox_node_fail(cx, k,
                                "mode '%s' of %s-%d (asymmetric coordinates, not PyTorch's "
                                "bilinear) is not supported: export at opset 11 or later",
                                mode, n->op_type, cx->opset);
        if (!strcmp(ctm, "align_corners")) {
            a.align_corners = 1;
        } else if (!strcmp(ctm, "half_pixel") || !strcmp(ctm, "pytorch_half_pixel")) {
            a.align_corners = 0;
            for (int i = 0; i < s.rank - 1; i++) /* pytorch_half_pixel reads 0 for one output */
                if (!strcmp(ctm, "pytorch_half_pixel") && floor(in[i] * (double)f[i]) == 1 &&
                    in[i] > 1)
                    return ox_node_fail(cx, k,
                                        "pytorch_half_pixel to an axis of size 1 is not supported");
        } else {
            return ox_node_fail(cx, k,
                                "attribute 'coordinate_transformation_mode' = '%s' is not "
                                "supported with linear (half_pixel, pytorch_half_pixel, "
                                "align_corners)",
                                ctm);
        }
    } else {
        return ox_node_fail(cx, k, "attribute 'mode' = '%s' is not supported (nearest and linear)",
                            mode);
    }
    return ox_emit(cx, k, k, on_op_find(s.rank == 3 ? "upsample2d" : "upsample1d"), &a, x, r) < 0
               ? -1
               : 0;
}

/* Pad's amounts over all r axes of its input (begins, then ends) and its fill value: the
 * 'pads' and 'value' attributes before opset 11, the pads and constant_value inputs from
 * then on, and from opset 18 the optional axes input naming the axes the pads are for. */
static int pad_amounts(ox_ctx *cx, int k, int r, int64_t *p, double *value) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int64_t axes[OX_MAX_DIMS];
    int na = r;
    for (int i = 0; i < r; i++) axes[i] = i;
    memset(p, 0, sizeof(int64_t) * 2 * (size_t)r);
    *value = 0;
    if (cx->opset < 11) {
        const Onnx__AttributeProto *a = ox_attr(n, "pads");
        float v;
        if (ox_attr_float(cx, k, "value", 0, &v)) return -1;
        *value = v;
        if (!a || a->n_ints != (size_t)(2 * r))
            return ox_node_fail(cx, k, "the 'pads' attribute must be %d integers", 2 * r);
        memcpy(p, a->ints, sizeof(int64_t) * 2 * (size_t)r);
        return 0;
    }
    ox_const *pads, *val, *ax = NULL;
    if (ox_in_const(cx, k, 1, 0, 0, &pads) || ox_in_const(cx, k, 2, 1, 0, &val) ||
        (cx->opset >= 18 && ox_in_const(cx, k, 3, 1, 0, &ax)))
        return -1;
    if (cx->opset < 18 && n->n_input > 3 && *n->input[3])
        return ox_node_fail(cx, k, "Pad has an 'axes' input only from opset 18");
    if (val && val->size != 1) return ox_node_fail(cx, k, "the constant value must be a scalar");
    if (val) *value = val->f ? val->f[0] : (double)val->i[0];
    if (ax) {
        if (!ax->i || ax->ndims != 1 || ax->size > (size_t)r)
            return ox_node_fail(cx, k, "the axes must be at most %d integers", r);
        na = (int)ax->size;
        unsigned mask;
        if (ox_axes_mask(ax->i, na, r, &mask))
            return ox_node_fail(cx, k, "the axes are out of range or repeated");
        for (int i = 0; i < na; i++) axes[i] = ax->i[i] < 0 ? ax->i[i] + r : ax->i[i];
    }
    if (!pads->i || pads->size != (size_t)(2 * na))
        return ox_node_fail(cx, k, "pads must be %d integers", 2 * na);
    for (int i = 0; i < na; i++) {
        p[axes[i]] = pads->i[i];
        p[r + axes[i]] = pads->i[na + i];
    }
    return 0;
}

/* Is node k's only reader a Conv or AveragePool (which fold zero padding into theirs)? */
static int folds_into_reader(const ox_ctx *cx, const ox_value *o) {
    if (o->uses != 1 || o->reader < 0) return 0;
    const Onnx__NodeProto *r = cx->g->node[o->reader];
    if (!r->op_type || (strcmp(r->op_type, "Conv") && strcmp(r->op_type, "AveragePool"))) return 0;
    return r->n_input >= 1 && r->input[0] && !strcmp(r->input[0], o->name);
}

/* Pad on the spatial axes: zeros before one Conv or AveragePool are remembered on the output
 * and folded into that layer; any other Pad is a zeropad layer (constant, reflect, edge);
 * negative amounts only (a crop) are a crop layer. */
int ox_op_pad(ox_ctx *cx, int k) {
    ox_value *x;
    char mode[32];
    int64_t p[2 * OX_MAX_DIMS];
    double value;
    cx->pad_ok = 1;
    int bad = ox_check_attrs(cx, k, cx->opset < 11 ? "mode pads value" : "mode") ||
              ox_in_tensor(cx, k, 0, &x);
    cx->pad_ok = 0;
    if (bad || ox_spatial(cx, k, x) || ox_attr_str(cx, k, "mode", "constant", mode, sizeof mode))
        return -1;
    int r = x->orank, dims = r - 2, any = 0, neg = 0, pos = 0;
    if (pad_amounts(cx, k, r, p, &value)) return -1;
    for (int i = 0; i < 2 * r; i++) any |= p[i] != 0, neg |= p[i]<0, pos |= p[i]> 0;
    if (!any) { /* nothing to pad, whatever the mode */
        ox_alias(cx, k, x, r);
        return 0;
    }
    int fill = !strcmp(mode, "constant")  ? ON_PADFILL_CONSTANT
               : !strcmp(mode, "reflect") ? ON_PADFILL_REFLECT
               : !strcmp(mode, "edge")    ? ON_PADFILL_EDGE
                                          : -1;
    if (fill < 0)
        return ox_node_fail(
            cx, k, "attribute 'mode' = '%s' is not supported (constant, reflect, edge)", mode);
    if (p[0] || p[1] || p[r] || p[r + 1])
        return ox_node_fail(cx, k, "padding the batch or channel axis is not supported");
    if (neg && pos)
        return ox_node_fail(cx, k,
                            "pads that both add and remove rows or columns are not "
                            "supported");
    if (!isfinite(value)) return ox_node_fail(cx, k, "the constant value %g is not finite", value);
    for (int i = 0; i < 2 * r; i++)
        if (p[i] < -65536 || p[i] > 65536)
            return ox_node_fail(cx, k, "padding must be -65536 to 65536");
    int am[4] = {0, 0, 0, 0}; /* ordnet's top, bottom, left, right */
    for (int i = 0; i < dims; i++) {
        int64_t b = neg ? -p[2 + i] : p[2 + i], e = neg ? -p[r + 2 + i] : p[r + 2 + i];
        if (b > 65536 || e > 65536) return ox_node_fail(cx, k, "padding must be -65536 to 65536");
        int at = dims == 2 ? 2 * i : 2; /* 1-D: left and right */
        am[at] = (int)b;
        am[at + 1] = (int)e;
    }
    ox_value *o = ox_out_value(cx, k);
    if (!neg && fill == ON_PADFILL_CONSTANT && value == 0 && !x->padded &&
        folds_into_reader(cx, o)) {
        ox_alias(cx, k, x, r);
        o->padded = 1;
        for (int i = 0; i < dims; i++) {
            o->pad[i] = (int)p[2 + i];
            o->pad[dims + i] = (int)p[r + 2 + i];
        }
        return 0;
    }
    const char *opn = neg         ? (dims == 2 ? "crop2d" : "crop1d")
                      : dims == 2 ? "zeropad2d"
                                  : "zeropad1d";
    on_attrs a = on_op_find(opn)->defaults;
    memcpy(a.pad, am, sizeof am);
    a.pad_mode = ON_PAD_EXPLICIT;
    if (!neg) {
        a.mode = fill;
        a.alpha = fill == ON_PADFILL_CONSTANT ? (float)value : 0.0f;
    }
    return ox_emit(cx, k, k, on_op_find(opn), &a, x, r) < 0 ? -1 : 0;
}

/* Slice of the spatial axes with step 1: a crop. starts/ends/axes/steps are attributes
 * before opset 10 and constant inputs from then on. */
int ox_op_slice(ox_ctx *cx, int k) {
    ox_value *x;
    int64_t st[OX_MAX_DIMS], en[OX_MAX_DIMS], ax[OX_MAX_DIMS], sp[OX_MAX_DIMS];
    int n = -1, r;
    if (ox_check_attrs(cx, k, cx->opset < 10 ? "starts ends axes" : "") ||
        ox_in_tensor(cx, k, 0, &x))
        return -1;
    r = x->orank;
    for (int i = 0; i < OX_MAX_DIMS; i++) ax[i] = i, sp[i] = 1;
    if (cx->opset < 10) {
        const char *names[3] = {"starts", "ends", "axes"};
        int64_t *dst[3] = {st, en, ax};
        for (int j = 0; j < 3; j++) {
            const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], names[j]);
            if (!a) {
                if (j < 2) return ox_node_fail(cx, k, "attribute '%s' is missing", names[j]);
                continue;
            }
            if (a->n_ints > OX_MAX_DIMS || (n >= 0 && (int)a->n_ints != n))
                return ox_node_fail(cx, k, "'%s' has %zu values", names[j], a->n_ints);
            n = (int)a->n_ints;
            if (a->n_ints) memcpy(dst[j], a->ints, sizeof(int64_t) * a->n_ints);
        }
    } else {
        ox_const *c[4];
        int64_t *dst[4] = {st, en, ax, sp};
        for (int j = 0; j < 4; j++) {
            if (ox_in_const(cx, k, (size_t)j + 1, j >= 2, 0, &c[j])) return -1;
            if (!c[j]) continue;
            if (!c[j]->i || c[j]->ndims != 1 || c[j]->size > OX_MAX_DIMS ||
                (n >= 0 && (int)c[j]->size != n))
                return ox_node_fail(cx, k,
                                    "starts, ends, axes and steps must be 1-D integer "
                                    "constants of one length");
            n = (int)c[j]->size;
            memcpy(dst[j], c[j]->i, sizeof(int64_t) * c[j]->size);
        }
    }
    int64_t d[OX_MAX_DIMS];
    ox_onnx_dims(cx, x, d);
    int am[4] = {0, 0, 0, 0}, seen = 0, ch0 = -1, ch1 = -1;
    for (int i = 0; i < n; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + r : ax[i];
        if (a < 0 || a >= r || (seen & (1 << a)))
            return ox_node_fail(cx, k, "axis %lld is out of range or repeated", (long long)ax[i]);
        seen |= 1 << a;
        if (sp[i] != 1) return ox_node_fail(cx, k, "steps other than 1 are not supported");
        if (a == 1 && ox_shape_of(cx, x).rank == r - 1) { /* channels: a channel_slice */
            int64_t len = d[1], b = st[i] < 0 ? st[i] + len : st[i];
            int64_t e = en[i] < 0 ? en[i] + len : en[i];
            b = b < 0 ? 0 : b > len ? len : b;
            e = e > len ? len : e;
            if (e <= b) return ox_node_fail(cx, k, "the slice of the channels is empty");
            ch0 = (int)b;
            ch1 = (int)e;
            continue;
        }
        if (a < 2 || ox_spatial(cx, k, x))
            return ox_node_fail(cx, k,
                                "slicing axis %lld is not supported (only the spatial axes of "
                                "(N,C,L) or (N,C,H,W): a crop)",
                                (long long)a);
        int64_t len = d[a], b = st[i] < 0 ? st[i] + len : st[i],
                e = en[i] < 0 ? en[i] + len : en[i];
        if (b < 0) b = 0;
        if (b > len) b = len;
        if (e > len) e = len;
        if (e <= b) return ox_node_fail(cx, k, "the slice of axis %lld is empty", (long long)a);
        int at = r == 4 ? 2 * ((int)a - 2) : 2;
        am[at] = (int)b;
        am[at + 1] = (int)(len - e);
    }
    if (ch0 >= 0 && (seen & ~2)) /* channels and a spatial axis at once */
        return ox_node_fail(cx, k,
                            "slicing the channels and a spatial axis in one Slice is not "
                            "supported");
    if (ch0 >= 0 && ch1 - ch0 < (int)d[1]) {
        on_attrs a = on_op_find("channel_slice")->defaults;
        a.pad[0] = ch0;
        a.units = ch1 - ch0;
        return ox_emit(cx, k, k, on_op_find("channel_slice"), &a, x, r) < 0 ? -1 : 0;
    }
    const char *opn = r == 4 ? "crop2d" : "crop1d";
    on_attrs a = on_op_find(opn)->defaults;
    memcpy(a.pad, am, sizeof am);
    if (!am[0] && !am[1] && !am[2] && !am[3]) {
        ox_alias(cx, k, x, r);
        return 0;
    }
    return ox_emit(cx, k, k, on_op_find(opn), &a, x, r) < 0 ? -1 : 0;
}
