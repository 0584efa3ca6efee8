/* onnx_layout.c - ONNX operators about the layout of channels.
 *
 * ShuffleNet: Transpose of a channel-group view (Reshape (N,C,H,W) -> (N,g,C/g,H,W),
 * Transpose(0,2,1,3,4), Reshape back; onnx_import.c's op_reshape makes and ends the view)
 * is a channel_shuffle layer, Split along the channels (x.chunk(2, dim=1)) channel_slice
 * layers.
 *
 * ConvNeXt: Transpose(0,2,3,1) makes a channels-last view (ox_value.nhwc) of a tensor that
 * ordnet keeps channels first; LayerNorm over its last axis is ordnet's layernorm over the
 * channels, MatMul a 1x1 convolution, elementwise ops stay elementwise, and
 * Transpose(0,3,1,2) ends the view: the block runs on ordnet's own layout, exactly. A reader
 * that does not take the view gets it as a permute layer. The layer scale (Mul by a (C,1,1)
 * constant) and other per-channel constants are a depthwise 1x1 convolution.
 */
#include "onnx_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is perm[0..n) the list want[0..n)? */
static int is_perm(const int *perm, int n, const int *want, int wn) {
    if (n != wn) return 0;
    for (int i = 0; i < n; i++)
        if (perm[i] != want[i]) return 0;
    return 1;
}

/* Transpose: the channel shuffle of a channel-group view; channels last (0,2,3,1) / (0,2,1)
 * as a view that the readers taking one (LayerNorm, MatMul, elementwise ops, the Transpose
 * back) read in place and others get as a permute layer; any other permutation of the
 * sample's axes as a permute layer. */
int ox_op_transpose(ox_ctx *cx, int k) {
    ox_value *x;
    int perm[OX_MAX_DIMS], n;
    cx->split_ok = cx->nhwc_ok = 1;
    int bad = ox_check_attrs(cx, k, "perm") || ox_in_tensor(cx, k, 0, &x);
    cx->split_ok = cx->nhwc_ok = 0;
    if (bad || ox_attr_ints(cx, k, "perm", perm, OX_MAX_DIMS, &n)) return -1;
    int r = x->orank, ident = n == r, shuffle = x->split > 0 && n == r && r >= 4;
    on_shape s = ox_shape_of(cx, x);
    for (int i = 0; i < n && i < r; i++) {
        ident &= perm[i] == i;
        shuffle &= perm[i] == (i == 1 ? 2 : i == 2 ? 1 : i);
    }
    static const int last4[4] = {0, 2, 3, 1}, first4[4] = {0, 3, 1, 2}, swap3[3] = {0, 2, 1};
    int to_last = r == 4 ? is_perm(perm, n, last4, 4) : r == 3 && is_perm(perm, n, swap3, 3);
    int to_first = r == 4 ? is_perm(perm, n, first4, 4) : r == 3 && is_perm(perm, n, swap3, 3);
    ox_value *o = ox_out_value(cx, k);
    if (n == r && ident) {
        ox_alias(cx, k, x, r);
        o->split = x->split;
        return 0;
    }
    if (shuffle) {
        on_attrs a = on_op_find("channel_shuffle")->defaults;
        a.groups = x->split;
        if (ox_emit(cx, k, k, on_op_find("channel_shuffle"), &a, x, r) < 0) return -1;
        o->split = s.c / x->split;
        return 0;
    }
    int held = !x->split && (s.rank == r - 1 || s.rank == 1); /* ordnet holds its ONNX layout */
    if (held && x->nhwc && to_first) {
        ox_alias(cx, k, x, r);
        o->nhwc = 0;
        return 0;
    }
    if (held && !x->nhwc && to_last) {
        ox_alias(cx, k, x, r);
        o->nhwc = 1;
        return 0;
    }
    if (held && !x->nhwc && n == r && perm[0] == 0 && s.rank == r - 1) {
        on_attrs a = on_op_find("permute")->defaults;
        for (int i = 0; i < 3; i++) a.perm[i] = i < r - 1 ? perm[i + 1] - 1 : i;
        return ox_emit(cx, k, k, on_op_find("permute"), &a, x, r) < 0 ? -1 : 0;
    }
    char p[64] = "";
    for (int i = 0; i < n && strlen(p) < 50; i++)
        snprintf(p + strlen(p), sizeof p - strlen(p), "%s%d", i ? "," : "", perm[i]);
    return ox_node_fail(cx, k,
                        "perm (%s) of a %d-D tensor is not supported (ordnet reads permutations "
                        "that keep the batch first, and the channel shuffle Reshape -> "
                        "Transpose(0,2,1,...) -> Reshape)",
                        p, r);
}

int ox_channels_last_layer(ox_ctx *cx, int k, int v) {
    ox_value *x = &cx->v[v];
    on_shape s = ox_shape_of(cx, x);
    if (s.rank < 2)
        return ox_node_fail(cx, k,
                            "input '%.100s' is a channels-last view of pooled planes, which ordnet "
                            "reads only in LayerNorm, MatMul, elementwise ops and the Transpose "
                            "back",
                            x->name);
    on_attrs a = on_op_find("permute")->defaults;
    a.perm[0] = 1, a.perm[1] = s.rank == 3 ? 2 : 0, a.perm[2] = s.rank == 3 ? 0 : 2;
    const Onnx__NodeProto *t = x->producer >= 0 ? cx->g->node[x->producer] : cx->g->node[k];
    char name[ON_NAME_MAX];
    ox_layer_name(cx->m, t->name, t->op_type, name, sizeof name);
    on_error e;
    int id = on_model_add_at(cx->m, x->node, on_op_find("permute"), &a, name, &e);
    if (id < 0) return ox_node_fail(cx, k, "%s", e.msg);
    x->node = id; /* the value now is this layer's output, in ONNX's order */
    x->nhwc = 0;
    return 0;
}

/* Does constant c hold one value per channel along ONNX axis `at` of a rank-r tensor (or
 * one value)? Its dims are right-aligned against the tensor's. out[C] receives them. */
static int along(const ox_const *c, int r, int at, int C, float *out) {
    if (!c->f || (c->size != 1 && c->size != (size_t)C) || c->ndims > r) return -1;
    for (int i = 0; i < c->ndims; i++) {
        int pos = r - c->ndims + i;
        if (c->dims[i] != 1 && (pos != at || c->dims[i] != C)) return -1;
    }
    for (int i = 0; i < C; i++) out[i] = c->f[c->size == 1 ? 0 : i];
    return 0;
}

int ox_op_layernorm(ox_ctx *cx, int k) {
    const ox_plan *p = &cx->plan[k];
    const Onnx__NodeProto *n = cx->g->node[k];
    int xv, wv = -1, bv = -1;
    int64_t axis = -1;
    float eps = 1e-5f;
    if (p->ln) {
        xv = p->ln_x, axis = p->ln_axis, eps = p->ln_eps, wv = p->ln_w, bv = p->ln_b;
    } else { /* LayerNormalization (opset 17): over the axes from 'axis' to the last */
        if (ox_check_attrs(cx, k, "axis epsilon stash_type") ||
            ox_attr_int(cx, k, "axis", -1, &axis) || ox_attr_float(cx, k, "epsilon", 1e-5f, &eps))
            return -1;
        for (size_t i = 1; i < n->n_output; i++) {
            int o = ox_find(cx, n->output[i]);
            if (o >= 0 && cx->v[o].uses)
                return ox_node_fail(cx, k, "output %zu (the mean or 1/std) is used", i);
        }
        xv = ox_in(cx, n, 0), wv = ox_in(cx, n, 1), bv = ox_in(cx, n, 2);
        if (wv < 0 || cx->v[wv].kind != OX_CONST || (bv >= 0 && cx->v[bv].kind != OX_CONST))
            return ox_node_fail(cx, k, "the scale and bias must be constants");
    }
    if (xv < 0 || cx->v[xv].kind != OX_NODE || cx->v[xv].split || cx->v[xv].padded || cx->v[xv].ids)
        return ox_node_fail(cx, k,
                            "the input of this layer normalization is not a computed "
                            "tensor ordnet holds");
    ox_value *x = &cx->v[xv];
    on_shape s = ox_shape_of(cx, x);
    int r = x->orank, lnaxis, L;
    if (axis < 0) axis += r;
    if (x->nhwc && axis == r - 1) {
        lnaxis = 0, L = s.c; /* the channels of the node */
    } else if (!x->nhwc && s.rank == r - 1 && axis == r - 1) {
        lnaxis = s.rank == 1 ? 0 : -1, L = s.rank == 1 ? s.c : s.w;
    } else if (!x->nhwc && s.rank == r - 1 && axis == 1 && p->ln) {
        lnaxis = 0, L = s.c; /* the mean over the channels alone (ordnet's channels-first LN) */
    } else {
        return ox_node_fail(cx, k,
                            "normalizing axis %lld of a %d-D tensor is not supported (ordnet "
                            "normalizes the last axis, or the channels)",
                            (long long)axis, r);
    }
    on_attrs a = on_op_find("layernorm")->defaults;
    a.axis = lnaxis;
    a.eps = eps;
    float *wb = malloc(sizeof(float) * 2 * (size_t)L);
    if (!wb) return ox_node_fail(cx, k, "out of memory");
    for (int i = 0; i < L; i++) wb[i] = 1, wb[L + i] = 0;
    int at = x->nhwc ? r - 1 : (int)axis;
    if ((wv >= 0 && along(&cx->v[wv].c, r, at, L, wb)) ||
        (bv >= 0 && along(&cx->v[bv].c, r, at, L, wb + L))) {
        free(wb);
        return ox_node_fail(cx, k,
                            "the weight and bias must hold one value per position of the "
                            "normalized axis (%d)",
                            L);
    }
    int id = ox_emit(cx, k, k, on_op_find("layernorm"), &a, x, r);
    if (id >= 0) {
        memcpy(on_tensor_ptr(cx->m, cx->m->nodes[id].t0), wb, sizeof(float) * (size_t)L);
        memcpy(on_tensor_ptr(cx->m, cx->m->nodes[id].t0 + 1), wb + L, sizeof(float) * (size_t)L);
    }
    free(wb);
    return id < 0 ? -1 : 0;
}

int ox_op_channel_affine(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    const char *t = n->op_type;
    int c0 = ox_in(cx, n, 0), c1 = ox_in(cx, n, 1);
    if (n->n_input != 2 || c0 < 0 || c1 < 0) return 0;
    int ci = cx->v[c0].kind == OX_CONST ? 0 : 1, xi = 1 - ci, cv = ci ? c1 : c0;
    int xvi = ci ? c0 : c1;
    if (cx->v[cv].kind != OX_CONST || cx->v[xvi].kind != OX_NODE) return 0;
    if (ci == 0 && (!strcmp(t, "Div") || !strcmp(t, "Sub")) && strcmp(t, "Sub")) return 0;
    if (ci == 0 && !strcmp(t, "Div")) return 0;
    ox_value *x;
    cx->nhwc_ok = 1;
    int no = ox_in_tensor(cx, k, (size_t)xi, &x);
    cx->nhwc_ok = 0;
    if (no) return -1;
    on_shape s = ox_shape_of(cx, x);
    int C = s.c, r = x->orank;
    if (s.rank < 2 || (!x->nhwc && s.rank != r - 1)) return 0;
    float *w = malloc(sizeof(float) * 2 * (size_t)C);
    if (!w) return ox_node_fail(cx, k, "out of memory");
    float *b = w + C;
    if (along(&cx->v[cv].c, r, x->nhwc ? r - 1 : 1, C, b)) {
        free(w);
        return 0;
    }
    int bias = 1;
    for (int i = 0; i < C; i++) {
        float v = b[i];
        if (!strcmp(t, "Mul"))
            w[i] = v, b[i] = 0, bias = 0;
        else if (!strcmp(t, "Add"))
            w[i] = 1;
        else if (!strcmp(t, "Sub"))
            w[i] = ci ? 1 : -1, b[i] = ci ? -v : v;
        else /* x / c as x * (1/c): within an ulp */
            w[i] = 1 / v, b[i] = 0, bias = 0;
    }
    const on_op *op = on_op_find(s.rank == 3 ? "conv2d" : "conv1d");
    on_attrs a = op->defaults;
    a.units = a.groups = C;
    a.kh = a.kw = a.sh = a.sw = a.dh = a.dw = 1;
    a.pad_mode = ON_PAD_VALID;
    a.bias = bias;
    int id = ox_emit(cx, k, k, op, &a, x, r);
    if (id >= 0) {
        memcpy(on_tensor_ptr(cx->m, cx->m->nodes[id].t0), w, sizeof(float) * (size_t)C);
        if (bias)
            memcpy(on_tensor_ptr(cx->m, cx->m->nodes[id].t0 + 1), b, sizeof(float) * (size_t)C);
    }
    free(w);
    return id < 0 ? -1 : 1;
}

/* Split along axis 1 of a computed tensor: one channel_slice layer per output (the sizes
 * from the 'split' attribute before opset 13, the input from then on, else equal parts). */
int ox_op_split(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    ox_value *x;
    int64_t axis, num;
    int sizes[64], ns = -1;
    if (ox_check_attrs(cx, k, cx->opset < 13 ? "axis split" : "axis num_outputs") ||
        ox_in_tensor(cx, k, 0, &x) || ox_attr_int(cx, k, "axis", 0, &axis) ||
        ox_attr_int(cx, k, "num_outputs", (int64_t)n->n_output, &num))
        return -1;
    if (n->n_output < 1 || n->n_output > 64)
        return ox_node_fail(cx, k, "%zu outputs (1 to 64 supported)", n->n_output);
    if (axis < 0) axis += x->orank;
    on_shape s = ox_shape_of(cx, x);
    if (axis != 1 || s.rank != x->orank - 1)
        return ox_node_fail(cx, k, "splitting axis %lld is not supported (only the channels)",
                            (long long)axis);
    if (cx->opset < 13) {
        if (ox_attr_ints(cx, k, "split", sizes, 64, &ns)) return -1;
    } else {
        ox_const *c;
        if (ox_in_const(cx, k, 1, 1, 0, &c)) return -1;
        if (c && (!c->i || c->size > 64))
            return ox_node_fail(cx, k, "the split sizes must be at most 64 integers");
        for (size_t i = 0; c && i < c->size; i++)
            sizes[i] = c->i[i] < 0 || c->i[i] > s.c ? -1 : (int)c->i[i];
        ns = c ? (int)c->size : -1;
    }
    int no = (int)n->n_output, at = 0;
    if (ns < 0) { /* equal parts, the last one smaller (opset 18) */
        int part = (s.c + no - 1) / no;
        for (int i = 0; i < no; i++) sizes[i] = i < no - 1 ? part : s.c - part * (no - 1);
        ns = no;
    }
    if (ns != no) return ox_node_fail(cx, k, "%d split sizes for %d outputs", ns, no);
    for (int i = 0; i < no; i++) at += sizes[i] < 0 ? s.c + 1 : sizes[i];
    if (at != s.c)
        return ox_node_fail(cx, k, "the split sizes add up to %d, not the %d channels", at, s.c);
    at = 0;
    for (int i = 0; i < no; i++) {
        int v = ox_find(cx, n->output[i]);
        on_attrs a = on_op_find("channel_slice")->defaults;
        a.pad[0] = at;
        a.units = sizes[i];
        at += sizes[i];
        if (v < 0 || !cx->v[v].uses) continue; /* an unused output */
        char name[ON_NAME_MAX];
        ox_layer_name(cx->m, n->name, n->op_type, name, sizeof name);
        on_error e;
        int id = on_model_add_at(cx->m, x->node, on_op_find("channel_slice"), &a, name, &e);
        if (id < 0) return ox_node_fail(cx, k, "output %d: %s", i, e.msg);
        cx->v[v].kind = OX_NODE;
        cx->v[v].node = id;
        cx->v[v].orank = x->orank;
    }
    return 0;
}
