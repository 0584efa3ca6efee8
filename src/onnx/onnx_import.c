/* onnx_import.c - an ONNX graph as an ordnet model (on_onnx_load, on_onnx_parse).
 *
 * The graph is read in five passes: values (initializers, the input, Constant nodes), the
 * nodes that feed the output (others are ignored), how often each value is read, the
 * multi-node patterns (onnx_fuse.c), and finally the nodes in their (topological) file
 * order, each becoming an ordnet layer, an alias of its input (Identity, Flatten of a
 * flat tensor, a trailing Softmax) or a constant (shape arithmetic). Every failure names
 * the file, the node, its op type and what is missing.
 *
 * ONNX tensors are NCHW like ordnet's samples, so weights are copied as they are; only
 * Gemm with transB = 0 and MatMul transpose theirs into ordnet's (out, in) layout.
 */
#include "onnx_import.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const supported =
    "Conv, BatchNormalization, Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Tanh, Sigmoid, Clip, "
    "Softplus, Mish, GELU/SiLU/Mish patterns, MaxPool, AveragePool, GlobalAveragePool, "
    "GlobalMaxPool, ReduceMean (spatial), Dropout, Flatten, Reshape, Squeeze, Unsqueeze (to "
    "flatten or add/remove 1s), Gemm, MatMul, Add, Softmax (at an output), Identity, Pad "
    "(constant, reflect, edge), Resize, Upsample, Slice (spatial), Constant, Shape, Gather, "
    "Concat, Cast (shape arithmetic), Gather (an embedding table at int64/int32 token ids), "
    "ReduceMax (spatial), "
    "HardSigmoid, HardSwish (or x * HardSigmoid(x)), Softsign, Exp";

/* ----- errors ----- */

static int fail(ox_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ox_ctx *cx, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return on_fail(cx->err, "%s: %s", cx->label, msg);
}

int ox_node_fail(ox_ctx *cx, int k, const char *fmt, ...) {
    char msg[320], lab[280];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ox_node_label(cx->g->node[k], k, lab, sizeof lab);
    size_t l = strlen(lab);
    if (l && lab[l - 1] == ')') lab[l - 1] = 0; /* "node 'x' (Conv" + ", opset 13)" */
    return on_fail(cx->err, "%s: %s, opset %d): %s", cx->label, lab, cx->opset, msg);
}

/* ----- attributes ----- */

/* Every attribute of node k must be one of the space-separated names in known. */
int ox_check_attrs(ox_ctx *cx, int k, const char *known) {
    const Onnx__NodeProto *n = cx->g->node[k];
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *a = n->attribute[i]->name ? n->attribute[i]->name : "";
        size_t l = strlen(a);
        const char *p = known;
        int ok = 0;
        while (!ok && l && (p = strstr(p, a)))
            ok = (p == known || p[-1] == ' ') && (p[l] == ' ' || !p[l]), p += l;
        if (!ok)
            return ox_node_fail(cx, k, "attribute '%.60s' is not supported (known: %s)", a,
                                *known ? known : "none");
    }
    return 0;
}

int ox_attr_int(ox_ctx *cx, int k, const char *name, int64_t def, int64_t *out) {
    const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], name);
    *out = def;
    if (!a) return 0;
    if (!a->has_i) return ox_node_fail(cx, k, "attribute '%s' must be an integer", name);
    *out = a->i;
    return 0;
}

int ox_attr_float(ox_ctx *cx, int k, const char *name, float def, float *out) {
    const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], name);
    *out = def;
    if (!a) return 0;
    if (!a->has_f) return ox_node_fail(cx, k, "attribute '%s' must be a float", name);
    *out = a->f;
    return 0;
}

/* INTS attribute into out[max]; *n = -1 when absent. Values must fit an int. */
int ox_attr_ints(ox_ctx *cx, int k, const char *name, int *out, int max, int *n) {
    const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], name);
    *n = -1;
    if (!a) return 0;
    if (a->n_ints > (size_t)max)
        return ox_node_fail(cx, k, "attribute '%s' has %zu values (at most %d supported)", name,
                            a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) {
        if (a->ints[i] < -(1 << 20) || a->ints[i] > (1 << 20))
            return ox_node_fail(cx, k, "attribute '%s' holds %lld", name, (long long)a->ints[i]);
        out[i] = (int)a->ints[i];
    }
    *n = (int)a->n_ints;
    return 0;
}

int ox_attr_str(ox_ctx *cx, int k, const char *name, const char *def, char *out, size_t len) {
    const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], name);
    snprintf(out, len, "%s", def);
    if (!a) return 0;
    if (!a->has_s) return ox_node_fail(cx, k, "attribute '%s' must be a string", name);
    snprintf(out, len, "%.*s", (int)(a->s.len < len ? a->s.len : len - 1), (const char *)a->s.data);
    return 0;
}

/* ----- inputs ----- */

/* Input i of node k, which must be a computed tensor. */
int ox_in_tensor(ox_ctx *cx, int k, size_t i, ox_value **out) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int v = ox_in(cx, n, i);
    if (i >= n->n_input || !n->input[i] || !*n->input[i])
        return ox_node_fail(cx, k, "input %zu is missing", i);
    if (v < 0 || cx->v[v].kind == OX_UNSET)
        return ox_node_fail(cx, k, "input '%.100s' is not computed before this node", n->input[i]);
    if (cx->v[v].kind != OX_NODE)
        return ox_node_fail(cx, k,
                            "input '%.100s' is a constant; ordnet needs a computed tensor here",
                            n->input[i]);
    if (cx->v[v].ids && !cx->ids_ok)
        return ox_node_fail(cx, k,
                            "input '%.100s' holds integer token ids, which ordnet reads only as "
                            "the indices of a Gather from an embedding table (an initializer of "
                            "shape (vocab, dim))",
                            n->input[i]);
    if (cx->v[v].nhwc && !cx->nhwc_ok && ox_channels_last_layer(cx, k, v)) return -1;
    if (cx->v[v].split && !cx->split_ok)
        return ox_node_fail(cx, k,
                            "input '%.100s' is a Reshape of the channels into %d groups, which "
                            "ordnet reads only as a channel shuffle (Transpose(0,2,1,...) and a "
                            "Reshape back)",
                            n->input[i], cx->v[v].split);
    if (cx->v[v].padded && !cx->pad_ok)
        return ox_node_fail(cx, k,
                            "input '%.100s' comes from a Pad, which ordnet folds only into a "
                            "following Conv or AveragePool",
                            n->input[i]);
    *out = &cx->v[v];
    return 0;
}

/* Input i of node k, which must be a constant (an initializer or Constant); NULL when the
 * input is absent and optional. float_only: it must hold floats. */
int ox_in_const(ox_ctx *cx, int k, size_t i, int optional, int float_only, ox_const **out) {
    const Onnx__NodeProto *n = cx->g->node[k];
    *out = NULL;
    if (i >= n->n_input || !n->input[i] || !*n->input[i]) {
        if (optional) return 0;
        return ox_node_fail(cx, k, "input %zu is missing", i);
    }
    int v = ox_find(cx, n->input[i]);
    if (v < 0 || cx->v[v].kind != OX_CONST)
        return ox_node_fail(
            cx, k,
            "input '%.100s' must be a constant (an initializer) for ordnet to import "
            "this node",
            n->input[i]);
    if (float_only && !cx->v[v].c.f)
        return ox_node_fail(cx, k, "input '%.100s' must hold floats", n->input[i]);
    *out = &cx->v[v].c;
    return 0;
}

/* The value node k writes as output 0 (it was created in pass 1). */
ox_value *ox_out_value(ox_ctx *cx, int k) {
    return &cx->v[ox_find(cx, cx->g->node[k]->output[0])];
}

/* Outputs other than the first must be unused (Dropout's mask, MaxPool's indices, ...). */
static int only_first_output(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    for (size_t i = 1; i < n->n_output; i++) {
        int v = ox_find(cx, n->output[i]);
        if (v >= 0 && cx->v[v].uses)
            return ox_node_fail(cx, k,
                                "output %zu ('%.100s') is used; ordnet computes only the first", i,
                                n->output[i]);
    }
    return 0;
}

/* ----- making layers ----- */

/* Append op on value x, named after node name_of, as the value of node k's first output. */
int ox_emit(ox_ctx *cx, int k, int name_of, const on_op *op, const on_attrs *a, const ox_value *x,
            int orank) {
    const Onnx__NodeProto *nn = cx->g->node[name_of];
    char name[ON_NAME_MAX];
    ox_layer_name(cx->m, nn->name, nn->op_type, name, sizeof name);
    on_error e;
    int id = on_model_add_at(cx->m, x->node, op, a, name, &e);
    if (id < 0) return ox_node_fail(cx, k, "%s", e.msg);
    ox_value *o = ox_out_value(cx, k);
    o->kind = OX_NODE;
    o->node = id;
    o->orank = orank;
    o->nhwc = x->nhwc; /* readers that take a channels-last view keep it */
    o->ids = 0;        /* a layer computes floats */
    return id;
}

/* Copy n floats into parameter p of node id; the sizes were checked by the caller. */
static void set_param(ox_ctx *cx, int id, int p, const float *src, size_t n) {
    memcpy(on_tensor_ptr(cx->m, cx->m->nodes[id].t0 + p), src, sizeof(float) * n);
}

void ox_alias(ox_ctx *cx, int k, const ox_value *x, int orank) {
    ox_value *o = ox_out_value(cx, k);
    o->kind = OX_NODE;
    o->node = x->node;
    o->orank = orank;
    o->padded = x->padded; /* an Identity after a Pad still carries the padding */
    o->nhwc = x->nhwc;
    o->ids = x->ids;
    memcpy(o->pad, x->pad, sizeof o->pad);
}

on_shape ox_shape_of(const ox_ctx *cx, const ox_value *x) {
    return cx->m->nodes[x->node].ys;
}

/* A spatial tensor: ONNX rank 3 (N,C,L) or 4 (N,C,H,W) that ordnet holds as such. */
int ox_spatial(ox_ctx *cx, int k, const ox_value *x) {
    on_shape s = ox_shape_of(cx, x);
    if ((x->orank == 4 && s.rank == 3) || (x->orank == 3 && s.rank == 2)) return 0;
    return ox_node_fail(cx, k, "needs an (N,C,L) or (N,C,H,W) input; this one is %d-D%s", x->orank,
                        s.rank == 1 && x->orank > 2 ? " of 1x1 planes after global pooling" : "");
}

/* Window attributes shared by Conv, MaxPool and AveragePool: kernel, strides, pads,
 * dilations, auto_pad, for 1-D (ordnet kh = 1) and 2-D. kernel[] holds the window. */
static int window(ox_ctx *cx, int k, const ox_value *x, const int *kernel, int conv, on_attrs *a) {
    int dims = x->orank - 2, strides[2] = {1, 1}, dil[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, n;
    if (ox_attr_ints(cx, k, "strides", strides, 2, &n)) return -1;
    if (n >= 0 && n != dims)
        return ox_node_fail(cx, k, "'strides' has %d values for %d-D", n, dims);
    if (ox_attr_ints(cx, k, "dilations", dil, 2, &n)) return -1;
    if (n >= 0 && n != dims)
        return ox_node_fail(cx, k, "'dilations' has %d values for %d-D", n, dims);
    if (!conv && (dil[0] != 1 || (dims == 2 && dil[1] != 1)))
        return ox_node_fail(cx, k, "pooling with dilations other than 1 is not supported");
    if (ox_attr_ints(cx, k, "pads", pads, 4, &n)) return -1;
    if (n >= 0 && n != 2 * dims)
        return ox_node_fail(cx, k, "'pads' has %d values for %d-D", n, dims);
    for (int i = 0; i < 2 * dims; i++)
        if (pads[i] < 0)
            return ox_node_fail(cx, k, "negative padding (%d) is not supported", pads[i]);
    char ap[32];
    if (ox_attr_str(cx, k, "auto_pad", "NOTSET", ap, sizeof ap)) return -1;
    if (x->padded && strcmp(ap, "NOTSET"))
        return ox_node_fail(cx, k, "auto_pad after a Pad node is not supported");
    for (int i = 0; x->padded && i < 2 * dims; i++) pads[i] += x->pad[i];
    a->pad_mode = ON_PAD_EXPLICIT;
    if (!strcmp(ap, "VALID")) {
        a->pad_mode = ON_PAD_VALID;
    } else if (!strcmp(ap, "SAME_UPPER")) {
        a->pad_mode = ON_PAD_SAME; /* ordnet's 'same' puts the odd pixel at the end, too */
    } else if (!strcmp(ap, "SAME_LOWER")) {
        on_shape s = ox_shape_of(cx, x);
        int size[2] = {dims == 2 ? s.h : s.w, s.w};
        for (int i = 0; i < dims; i++) {
            int st = strides[i] > 0 ? strides[i] : 1, out = (size[i] + st - 1) / st;
            int total = (out - 1) * st + (kernel[i] - 1) * dil[i] + 1 - size[i];
            if (total < 0) total = 0;
            pads[i] = total - total / 2; /* the odd pixel at the beginning */
            pads[dims + i] = total / 2;
        }
    } else if (strcmp(ap, "NOTSET")) {
        return ox_node_fail(cx, k, "auto_pad '%s' is not supported", ap);
    }
    if (dims == 2) {
        *a = (on_attrs){.kh = kernel[0],
                        .kw = kernel[1],
                        .sh = strides[0],
                        .sw = strides[1],
                        .dh = dil[0],
                        .dw = dil[1],
                        .pad_mode = a->pad_mode,
                        .pad = {pads[0], pads[2], pads[1], pads[3]}};
    } else {
        *a = (on_attrs){.kh = 1,
                        .kw = kernel[0],
                        .sh = 1,
                        .sw = strides[0],
                        .dh = 1,
                        .dw = dil[0],
                        .pad_mode = a->pad_mode,
                        .pad = {0, 0, pads[0], pads[1]}};
    }
    if (a->sh < 1 || a->sw < 1) return ox_node_fail(cx, k, "strides must be positive");
    return 0;
}

/* ----- the operators ----- */

/* Is node k's input the 1x1 planes that ordnet holds as (C) after global pooling? */
static int on_planes(const ox_ctx *cx, int k) {
    int v = ox_in(cx, cx->g->node[k], 0);
    if (v < 0 || cx->v[v].kind != OX_NODE || cx->v[v].padded) return 0;
    return cx->m->nodes[cx->v[v].node].ys.rank == 1 && cx->v[v].orank >= 3;
}

/* Conv on (N,C,1,1) without padding (squeeze-and-excitation blocks after a global
 * pooling): a 1x1 window over one pixel whatever the strides, so a dense layer of the
 * same weights; the result keeps its ONNX rank. */
static int op_conv_planes(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *w, *b;
    int64_t group;
    int pads[4] = {0, 0, 0, 0}, n;
    char ap[32];
    if (ox_check_attrs(cx, k, "kernel_shape strides pads dilations group auto_pad") ||
        ox_in_tensor(cx, k, 0, &x) || ox_in_const(cx, k, 1, 0, 1, &w) ||
        ox_in_const(cx, k, 2, 1, 1, &b) || ox_attr_int(cx, k, "group", 1, &group) ||
        ox_attr_ints(cx, k, "pads", pads, 4, &n) ||
        ox_attr_str(cx, k, "auto_pad", "NOTSET", ap, sizeof ap))
        return -1;
    int C = ox_shape_of(cx, x).c, one = w->ndims == x->orank && w->dims[1] == C;
    for (int i = 2; one && i < w->ndims; i++) one = w->dims[i] == 1;
    for (int i = 0; i < 4; i++) one &= pads[i] == 0;
    if (group != 1 || !one || !strncmp(ap, "SAME", 4) || w->dims[0] < 1 || w->dims[0] > (1 << 20))
        return ox_node_fail(cx, k,
                            "on the 1x1 planes of a global pooling ordnet reads only an unpadded "
                            "1x1 convolution with group=1 and %d input channels",
                            C);
    on_attrs a = on_op_find("dense")->defaults;
    a.units = (int)w->dims[0];
    a.bias = b != NULL;
    if (b && b->size != (size_t)a.units)
        return ox_node_fail(cx, k, "bias has %zu values for %d filters", b->size, a.units);
    int id = ox_emit(cx, k, k, on_op_find("dense"), &a, x, x->orank);
    if (id < 0) return -1;
    set_param(cx, id, 0, w->f, w->size); /* (F,C,1,1) is dense's (out, in) */
    if (b) set_param(cx, id, 1, b->f, b->size);
    return 0;
}

static int op_conv(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *w, *b;
    if (on_planes(cx, k)) return op_conv_planes(cx, k);
    cx->pad_ok = 1; /* zero padding before a convolution is its own padding */
    int bad = ox_check_attrs(cx, k, "kernel_shape strides pads dilations group auto_pad") ||
              ox_in_tensor(cx, k, 0, &x);
    cx->pad_ok = 0;
    if (bad || ox_spatial(cx, k, x) || ox_in_const(cx, k, 1, 0, 1, &w) ||
        ox_in_const(cx, k, 2, 1, 1, &b))
        return -1;
    int64_t group;
    if (ox_attr_int(cx, k, "group", 1, &group)) return -1;
    on_shape s = ox_shape_of(cx, x);
    if (group < 1 || s.c % group || (w->ndims > 0 && w->dims[0] % group))
        return ox_node_fail(cx, k, "group=%lld must divide the %d input channels and the filters",
                            (long long)group, s.c);
    if (w->ndims != x->orank || w->dims[1] * group != s.c)
        return ox_node_fail(cx, k,
                            "weight '%s' is %d-D with %lld input channels; the input is %d-D "
                            "with %d channels",
                            cx->g->node[k]->input[1], w->ndims,
                            (long long)(w->ndims > 1 ? w->dims[1] * group : 0), x->orank, s.c);
    int dims = x->orank - 2, kernel[2] = {(int)w->dims[2], dims == 2 ? (int)w->dims[3] : 1}, ks[2],
        n;
    if (ox_attr_ints(cx, k, "kernel_shape", ks, 2, &n)) return -1;
    if (n >= 0 && (n != dims || ks[0] != kernel[0] || (dims == 2 && ks[1] != kernel[1])))
        return ox_node_fail(cx, k, "kernel_shape does not match the weight's shape");
    if (w->dims[0] < 1 || w->dims[0] > (1 << 20) || kernel[0] < 1 || kernel[1] < 1)
        return ox_node_fail(cx, k, "weight '%s' has an empty or huge dimension",
                            cx->g->node[k]->input[1]);
    on_attrs a;
    if (window(cx, k, x, kernel, 1, &a)) return -1;
    a.units = (int)w->dims[0];
    a.bias = b != NULL;
    a.groups = (int)group;
    if (b && b->size != (size_t)a.units)
        return ox_node_fail(cx, k, "bias has %zu values for %d filters", b->size, a.units);
    int id = ox_emit(cx, k, k, on_op_find(dims == 2 ? "conv2d" : "conv1d"), &a, x, x->orank);
    if (id < 0) return -1;
    set_param(cx, id, 0, w->f, w->size);
    if (b) set_param(cx, id, 1, b->f, b->size);
    return 0;
}

/* ConvTranspose: weight (C, F/group, k...); strides, pads, dilations, output_padding, group;
 * auto_pad NOTSET, VALID or SAME_UPPER (output = input x stride). */
static int op_conv_transpose(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *w, *b;
    if (ox_check_attrs(cx, k,
                       "kernel_shape strides pads dilations group auto_pad output_padding "
                       "output_shape") ||
        ox_in_tensor(cx, k, 0, &x) || ox_spatial(cx, k, x) || ox_in_const(cx, k, 1, 0, 1, &w) ||
        ox_in_const(cx, k, 2, 1, 1, &b))
        return -1;
    if (ox_attr(cx->g->node[k], "output_shape"))
        return ox_node_fail(cx, k, "output_shape is not supported (give pads and output_padding)");
    int64_t group;
    if (ox_attr_int(cx, k, "group", 1, &group)) return -1;
    on_shape s = ox_shape_of(cx, x);
    int dims = x->orank - 2;
    if (w->ndims != x->orank || w->dims[0] != s.c)
        return ox_node_fail(cx, k,
                            "weight '%s' must be (C=%d, F/group, kernel...) for a %d-D input",
                            cx->g->node[k]->input[1], s.c, x->orank);
    if (group < 1 || s.c % group || w->dims[1] < 1 || w->dims[1] * group > (1 << 20))
        return ox_node_fail(cx, k, "group=%lld must divide the %d input channels", (long long)group,
                            s.c);
    int kernel[2] = {(int)w->dims[2], dims == 2 ? (int)w->dims[3] : 1}, v[4], n;
    int strides[2] = {1, 1}, dil[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, opad[2] = {0, 0};
    if (ox_attr_ints(cx, k, "kernel_shape", v, 2, &n)) return -1;
    if (n >= 0 && (n != dims || v[0] != kernel[0] || (dims == 2 && v[1] != kernel[1])))
        return ox_node_fail(cx, k, "kernel_shape does not match the weight's shape");
    if (ox_attr_ints(cx, k, "strides", strides, 2, &n) || (n >= 0 && n != dims) ||
        ox_attr_ints(cx, k, "dilations", dil, 2, &n) || (n >= 0 && n != dims) ||
        ox_attr_ints(cx, k, "output_padding", opad, 2, &n) || (n >= 0 && n != dims) ||
        ox_attr_ints(cx, k, "pads", pads, 4, &n) || (n >= 0 && n != 2 * dims))
        return ox_node_fail(cx, k, "strides, dilations, output_padding or pads: wrong length");
    char ap[32];
    if (ox_attr_str(cx, k, "auto_pad", "NOTSET", ap, sizeof ap)) return -1;
    on_attrs a = on_op_find(dims == 2 ? "conv2d_transpose" : "conv1d_transpose")->defaults;
    a.units = (int)(w->dims[1] * group);
    a.groups = (int)group;
    a.bias = b != NULL;
    a.pad_mode = !strcmp(ap, "VALID")        ? ON_PAD_VALID
                 : !strcmp(ap, "SAME_UPPER") ? ON_PAD_SAME
                                             : ON_PAD_EXPLICIT;
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER"))
        return ox_node_fail(cx, k, "auto_pad '%s' is not supported", ap);
    if (dims == 2) {
        a.kh = kernel[0], a.kw = kernel[1], a.sh = strides[0], a.sw = strides[1];
        a.dh = dil[0], a.dw = dil[1], a.opad[0] = opad[0], a.opad[1] = opad[1];
        a.pad[0] = pads[0], a.pad[1] = pads[2], a.pad[2] = pads[1], a.pad[3] = pads[3];
    } else {
        a.kh = 1, a.kw = kernel[0], a.sh = 1, a.sw = strides[0], a.dh = 1, a.dw = dil[0];
        a.opad[1] = opad[0], a.pad[2] = pads[0], a.pad[3] = pads[1];
    }
    if (b && b->size != (size_t)a.units)
        return ox_node_fail(cx, k, "bias has %zu values for %d filters", b->size, a.units);
    int id = ox_emit(cx, k, k, on_op_find(dims == 2 ? "conv2d_transpose" : "conv1d_transpose"), &a,
                     x, x->orank);
    if (id < 0) return -1;
    set_param(cx, id, 0, w->f, w->size);
    if (b) set_param(cx, id, 1, b->f, b->size);
    return 0;
}

static int op_batchnorm(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *p[4];
    /* opsets 7-8 have 'spatial' (1: statistics per channel), 14+ 'training_mode'; old
     * exporters still write opset 6's 'is_test' */
    if (ox_check_attrs(cx, k, "epsilon momentum training_mode spatial is_test") ||
        ox_in_tensor(cx, k, 0, &x) || only_first_output(cx, k))
        return -1;
    for (int i = 0; i < 4; i++)
        if (ox_in_const(cx, k, (size_t)i + 1, 0, 1, &p[i])) return -1;
    int64_t train, sp, test;
    float eps, mom;
    if (ox_attr_int(cx, k, "training_mode", 0, &train) || ox_attr_int(cx, k, "spatial", 1, &sp) ||
        ox_attr_int(cx, k, "is_test", 1, &test) || ox_attr_float(cx, k, "epsilon", 1e-5f, &eps) ||
        ox_attr_float(cx, k, "momentum", 0.9f, &mom))
        return -1;
    if (train || !test)
        return ox_node_fail(cx, k, "%s is not supported (ordnet imports models for inference)",
                            train ? "training_mode=1" : "is_test=0");
    /* spatial=0 normalizes each value by its own statistics: the same as per channel when
     * every channel holds one value */
    if (!sp && ox_shape_of(cx, x).rank != 1)
        return ox_node_fail(cx, k,
                            "spatial=0 (statistics per value, not per channel) is supported only "
                            "on (N,C) tensors");
    int C = ox_shape_of(cx, x).c;
    for (int i = 0; i < 4; i++)
        if (p[i]->size != (size_t)C)
            return ox_node_fail(cx, k, "input %d has %zu values for %d channels", i + 1, p[i]->size,
                                C);
    on_attrs a = on_op_find("batchnorm")->defaults;
    a.eps = eps;
    a.momentum = mom >= 0 && mom <= 1 ? 1 - mom : a.momentum; /* ONNX weighs the old value */
    int id = ox_emit(cx, k, k, on_op_find("batchnorm"), &a, x, x->orank);
    if (id < 0) return -1;
    for (int i = 0; i < 4; i++) set_param(cx, id, i, p[i]->f, (size_t)C);
    return 0;
}

/* Relu, LeakyRelu, Elu, Celu, Selu, Tanh, Sigmoid, Softplus, Mish */
static int op_activation(ox_ctx *cx, int k) {
    const char *t = cx->g->node[k]->op_type;
    static const struct {
        const char *onnx, *ordnet, *attr;
        float def;
    } map[] = {{"Relu", "relu", "", 0},       {"LeakyRelu", "leaky_relu", "alpha", 0.01f},
               {"Elu", "elu", "alpha", 1.0f}, {"Celu", "celu", "alpha", 1.0f},
               {"Selu", "selu", "", 0},       {"Tanh", "tanh", "", 0},
               {"Sigmoid", "sigmoid", "", 0}, {"Softplus", "softplus", "", 0},
               {"Mish", "mish", "", 0}};
    size_t i = 0;
    while (strcmp(map[i].onnx, t)) i++;
    const on_op *op = on_op_find(map[i].ordnet);
    on_attrs a = op->defaults;
    ox_value *x;
    cx->nhwc_ok = 1; /* elementwise alike on every channel: a channels-last view is fine */
    int no = ox_in_tensor(cx, k, 0, &x);
    cx->nhwc_ok = 0;
    if (no) return -1;
    if (!strcmp(t, "Selu")) {
        float al, ga;
        if (ox_check_attrs(cx, k, "alpha gamma") ||
            ox_attr_float(cx, k, "alpha", 1.67326319217681884765625f, &al) ||
            ox_attr_float(cx, k, "gamma", 1.05070102214813232421875f, &ga))
            return -1;
        if (fabsf(al - 1.6732632f) > 1e-6f || fabsf(ga - 1.0507010f) > 1e-6f)
            return ox_node_fail(cx, k,
                                "alpha=%g, gamma=%g: only the standard SELU constants are "
                                "supported",
                                al, ga);
    } else if (*map[i].attr) {
        if (ox_check_attrs(cx, k, map[i].attr) ||
            ox_attr_float(cx, k, map[i].attr, map[i].def, &a.alpha))
            return -1;
        if (!strcmp(t, "Celu") && a.alpha == 0) return ox_node_fail(cx, k, "alpha must not be 0");
    } else if (ox_check_attrs(cx, k, "")) {
        return -1;
    }
    return ox_emit(cx, k, k, op, &a, x, x->orank) < 0 ? -1 : 0;
}

/* HardSigmoid max(0, min(1, alpha x + beta)) (ONNX's defaults 0.2, 0.5 are Keras 2's;
 * PyTorch writes alpha 1/6), HardSwish, Softsign, Exp */
static int op_activation_round2(ox_ctx *cx, int k) {
    const char *t = cx->g->node[k]->op_type;
    int hs = !strcmp(t, "HardSigmoid");
    const on_op *op = on_op_find(hs                        ? "hard_sigmoid"
                                 : !strcmp(t, "HardSwish") ? "hard_swish"
                                 : !strcmp(t, "Softsign")  ? "softsign"
                                                           : "exponential");
    on_attrs a = op->defaults;
    ox_value *x;
    cx->nhwc_ok = 1;
    int no = ox_in_tensor(cx, k, 0, &x);
    cx->nhwc_ok = 0;
    if (no || ox_check_attrs(cx, k, hs ? "alpha beta" : "")) return -1;
    if (hs && (ox_attr_float(cx, k, "alpha", 0.2f, &a.alpha) ||
               ox_attr_float(cx, k, "beta", 0.5f, &a.offset)))
        return -1;
    return ox_emit(cx, k, k, op, &a, x, x->orank) < 0 ? -1 : 0;
}

static int op_prelu(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *s;
    if (ox_check_attrs(cx, k, "") || ox_in_tensor(cx, k, 0, &x) || ox_in_const(cx, k, 1, 0, 1, &s))
        return -1;
    int C = ox_shape_of(cx, x).c;
    float *slope = malloc(sizeof(float) * (size_t)C);
    if (!slope) return ox_node_fail(cx, k, "out of memory");
    int id = -1;
    if (ox_per_channel(s, x->orank, C, slope))
        ox_node_fail(cx, k, "the slope must be one value or one per channel (%d)", C);
    else if ((id = ox_emit(cx, k, k, on_op_find("prelu"), NULL, x, x->orank)) >= 0)
        set_param(cx, id, 0, slope, (size_t)C);
    free(slope);
    return id < 0 ? -1 : 0;
}

/* Clip(min, max): ReLU (0, inf), ReLU6 (0, 6), else hardtanh (min, max). */
static int op_clip(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *lo = NULL, *hi = NULL;
    float l = -INFINITY, h = INFINITY;
    int old = cx->opset < 11; /* opsets 6-10: the bounds are attributes */
    if (ox_check_attrs(cx, k, old ? "min max" : "") || ox_in_tensor(cx, k, 0, &x)) return -1;
    if (old ? ox_attr_float(cx, k, "min", -INFINITY, &l) ||
                  ox_attr_float(cx, k, "max", INFINITY, &h)
            : ox_in_const(cx, k, 1, 1, 1, &lo) || ox_in_const(cx, k, 2, 1, 1, &hi))
        return -1;
    if ((lo && lo->size != 1) || (hi && hi->size != 1))
        return ox_node_fail(cx, k, "min and max must be scalars");
    if (lo) l = lo->f[0];
    if (hi) h = hi->f[0];
    /* the float range (opset 6's defaults, what exporters write for "none") is no bound */
    if (l <= -FLT_MAX) l = -INFINITY;
    if (h >= FLT_MAX) h = INFINITY;
    if (!(l <= h)) return ox_node_fail(cx, k, "min %g is above max %g", l, h);
    if (l == -INFINITY && h == INFINITY) {
        ox_alias(cx, k, x, x->orank);
        return 0;
    }
    const char *name = l == 0 && h == INFINITY ? "relu" : l == 0 && h == 6 ? "relu6" : "hardtanh";
    on_attrs a = on_op_find(name)->defaults;
    a.lo = l;
    a.hi = h;
    return ox_emit(cx, k, k, on_op_find(name), &a, x, x->orank) < 0 ? -1 : 0;
}

static int op_pool(ox_ctx *cx, int k) {
    const char *t = cx->g->node[k]->op_type;
    int avg = !strcmp(t, "AveragePool");
    ox_value *x;
    cx->pad_ok = avg; /* PyTorch writes AvgPool(padding, count_include_pad) as Pad first */
    int bad = ox_check_attrs(cx, k,
                             avg ? "kernel_shape strides pads auto_pad ceil_mode count_include_pad"
                                 : "kernel_shape strides pads auto_pad ceil_mode dilations "
                                   "storage_order") ||
              ox_in_tensor(cx, k, 0, &x);
    cx->pad_ok = 0;
    if (bad || ox_spatial(cx, k, x) || only_first_output(cx, k)) return -1;
    int kernel[2] = {1, 1}, n, dims = x->orank - 2;
    if (ox_attr_ints(cx, k, "kernel_shape", kernel, 2, &n)) return -1;
    if (n != dims) return ox_node_fail(cx, k, "kernel_shape must have %d values", dims);
    int64_t ceil_mode, cip, order;
    if (ox_attr_int(cx, k, "ceil_mode", 0, &ceil_mode) ||
        ox_attr_int(cx, k, "count_include_pad", 0, &cip) ||
        ox_attr_int(cx, k, "storage_order", 0, &order))
        return -1;
    if (order) return ox_node_fail(cx, k, "storage_order=1 is not supported");
    on_attrs a;
    int own_pad = 0;
    const Onnx__AttributeProto *pa = ox_attr(cx->g->node[k], "pads");
    for (size_t i = 0; pa && i < pa->n_ints; i++) own_pad |= pa->ints[i] != 0;
    if (x->padded && own_pad && !cip)
        return ox_node_fail(cx, k,
                            "pads with count_include_pad=0 after a Pad node: the divisors "
                            "differ, ordnet cannot fold them");
    if (window(cx, k, x, kernel, 0, &a)) return -1;
    a.ceil_mode = ceil_mode != 0;
    a.count_include_pad = cip != 0 || x->padded; /* the Pad's zeros are real elements */
    char name[16];
    snprintf(name, sizeof name, "%spool%s",
             avg                   ? "avg"
             : cx->plan[k].minpool ? "min"
                                   : "max",
             dims == 2 ? "2d" : "1d");
    return ox_emit(cx, k, k, on_op_find(name), &a, x, x->orank) < 0 ? -1 : 0;
}

static int op_gap(ox_ctx *cx, int k) {
    ox_value *x;
    if (ox_check_attrs(cx, k, "") || ox_in_tensor(cx, k, 0, &x) || ox_spatial(cx, k, x)) return -1;
    return ox_emit(cx, k, k, on_op_find("global_avgpool"), NULL, x, x->orank) < 0 ? -1 : 0;
}

static int op_dropout(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *ratio, *train;
    float r;
    /* opsets 7-11: 'ratio' attribute; 12+: ratio and training_mode inputs, 'seed'; opset 6's
     * 'is_test' is still written by old exporters (inference: identity either way) */
    if (ox_check_attrs(cx, k, "seed ratio is_test") || ox_in_tensor(cx, k, 0, &x) ||
        ox_in_const(cx, k, 1, 1, 1, &ratio) || ox_in_const(cx, k, 2, 1, 0, &train) ||
        only_first_output(cx, k) || ox_attr_float(cx, k, "ratio", 0.5f, &r))
        return -1;
    if (ratio && ratio->size == 1) r = ratio->f[0];
    if (train && (train->size != 1 || (train->i ? train->i[0] != 0 : train->f[0] != 0)))
        return ox_node_fail(cx, k, "training_mode=true is not supported (inference only)");
    on_attrs a = on_op_find("dropout")->defaults;
    a.rate = r;
    return ox_emit(cx, k, k, on_op_find("dropout"), &a, x, x->orank) < 0 ? -1 : 0;
}

/* Flatten(axis=1), or an alias when the tensor is already flat for ordnet. */
static int flatten_to(ox_ctx *cx, int k, ox_value *x) {
    if (ox_shape_of(cx, x).rank == 1) {
        ox_alias(cx, k, x, 2);
        return 0;
    }
    return ox_emit(cx, k, k, on_op_find("flatten"), NULL, x, 2) < 0 ? -1 : 0;
}

static int op_flatten(ox_ctx *cx, int k) {
    ox_value *x;
    int64_t axis;
    if (ox_check_attrs(cx, k, "axis") || ox_in_tensor(cx, k, 0, &x) ||
        ox_attr_int(cx, k, "axis", 1, &axis))
        return -1;
    if (axis != 1 && axis != 1 - x->orank)
        return ox_node_fail(cx, k, "axis=%lld: only axis=1 (keep the batch) is supported",
                            (long long)axis);
    return flatten_to(cx, k, x);
}

/* The ONNX shape of a computed tensor, batch as OX_BATCH. */
int ox_onnx_dims(const ox_ctx *cx, const ox_value *x, int64_t *d) {
    on_shape s = ox_shape_of(cx, x);
    int64_t per[3] = {s.c, s.rank == 3 ? s.h : s.w, s.w};
    d[0] = OX_BATCH;
    for (int i = 1; i < x->orank; i++) d[i] = i <= s.rank ? per[i - 1] : 1;
    return x->orank;
}

/* "(N,3,1,1)" style text of ONNX dims d[0..r) (d[0] the batch) for messages. */
static void dims_str(const int64_t *d, int r, char *buf, size_t len) {
    size_t l = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < r && l < len; i++) {
        const char *sep = i ? "," : "";
        l +=
            (size_t)(d[i] == OX_BATCH ? snprintf(buf + l, len - l, "%sN", sep)
                                      : snprintf(buf + l, len - l, "%s%lld", sep, (long long)d[i]));
    }
    if (l < len) snprintf(buf + l, len - l, ")");
}

/* x as the ONNX tensor of dims d[0..r) (d[0] the batch, the same number of values): an
 * alias when ordnet's shape already is that tensor (adding or removing 1s after ordnet's
 * dimensions, as (C) <-> (N,C,1,1) around global pooling), a flatten when it is (N, all),
 * else an error saying what was asked. */
static int reshape_to(ox_ctx *cx, int k, ox_value *x, const int64_t *d, int r, const char *what) {
    on_shape s = ox_shape_of(cx, x);
    int64_t own[OX_MAX_DIMS];
    if (r >= 2 && r <= OX_MAX_DIMS && s.rank <= r - 1) {
        ox_value t = *x;
        t.orank = r;
        ox_onnx_dims(cx, &t, own);
        int same = d[0] == OX_BATCH;
        for (int i = 1; same && i < r; i++) same = own[i] == d[i];
        if (same) {
            ox_alias(cx, k, x, r);
            return 0;
        }
    }
    if (r == 2 && d[0] == OX_BATCH && d[1] == (int64_t)on_shape_size(s))
        return flatten_to(cx, k, x);
    if (r >= 2 && r <= 4 && d[0] == OX_BATCH && !x->split) { /* a reshape layer: ordnet's */
        on_attrs a = on_op_find("reshape")->defaults;        /* samples are row-major, as ONNX's */
        a.ndims = r - 1;
        for (int i = 1; i < r; i++) a.dims[i - 1] = d[i] > (1 << 28) ? -2 : (int)d[i];
        return ox_emit(cx, k, k, on_op_find("reshape"), &a, x, r) < 0 ? -1 : 0;
    }
    char want[160], have[160];
    dims_str(d, r, want, sizeof want);
    ox_onnx_dims(cx, x, own);
    dims_str(own, x->orank, have, sizeof have);
    return ox_node_fail(cx, k,
                        "%s %s to %s is not supported: only flattening to (N, -1) and adding or "
                        "removing trailing 1s",
                        what, have, want);
}

/* The axes of Squeeze / Unsqueeze / ReduceMean: the 'axes' attribute before opset
 * input_from, the optional second input from then on. *n = -1 when none are given. */
int ox_axes_of(ox_ctx *cx, int k, int input_from, int64_t *axes, int *n) {
    *n = -1;
    if (cx->opset < input_from) {
        const Onnx__AttributeProto *a = ox_attr(cx->g->node[k], "axes");
        if (!a) return 0;
        if (a->n_ints > OX_MAX_DIMS) return ox_node_fail(cx, k, "too many axes");
        for (size_t i = 0; i < a->n_ints; i++) axes[i] = a->ints[i];
        *n = (int)a->n_ints;
        return 0;
    }
    ox_const *c;
    if (ox_in_const(cx, k, 1, 1, 0, &c)) return -1;
    if (!c) return 0;
    if (!c->i || c->ndims > 1 || c->size > OX_MAX_DIMS)
        return ox_node_fail(cx, k, "the axes must be a 1-D int64 constant of at most %d values",
                            OX_MAX_DIMS);
    for (size_t i = 0; i < c->size; i++) axes[i] = c->i[i];
    *n = (int)c->size;
    return 0;
}

/* Axes against rank r as a mask; -1 when one is out of range or repeated. */
int ox_axes_mask(const int64_t *axes, int n, int r, unsigned *mask) {
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
        if (a < 0 || a >= r || (*mask & (1u << a))) return -1;
        *mask |= 1u << a;
    }
    return 0;
}

/* Reshapes of a channel shuffle: (N,C,spatial) to (N,g,C/g,spatial) gives a channel-group
 * view of x (ox_value.split = g), and such a view back to (N,C,spatial) is x again. 1 when
 * node k is one of them (its output is set), 0 otherwise. */
static int split_view(ox_ctx *cx, int k, ox_value *x, const int64_t *d, int r) {
    int64_t own[OX_MAX_DIMS];
    int xr = ox_onnx_dims(cx, x, own), C = ox_shape_of(cx, x).c, g = x->split;
    if (g) { /* back: (N, C, spatial) */
        if (r != x->orank - 1 || d[1] != C) return 0;
        for (int i = 2; i < r; i++)
            if (d[i] != own[i]) return 0;
        ox_alias(cx, k, x, r);
        return 1;
    }
    if (r != xr + 1 || r > 5 || x->orank < 3 || ox_shape_of(cx, x).rank != x->orank - 1 ||
        d[1] < 1 || d[1] * d[2] != C)
        return 0;
    for (int i = 2; i < xr; i++)
        if (d[i + 1] != own[i]) return 0;
    ox_alias(cx, k, x, r);
    ox_out_value(cx, k)->split = (int)d[1];
    return 1;
}

static int op_reshape(ox_ctx *cx, int k) {
    ox_value *x;
    ox_const *t;
    int64_t allowzero;
    cx->split_ok = 1;
    int no = ox_check_attrs(cx, k, "allowzero") || ox_in_tensor(cx, k, 0, &x);
    cx->split_ok = 0;
    if (no || ox_in_const(cx, k, 1, 0, 0, &t) || ox_attr_int(cx, k, "allowzero", 0, &allowzero))
        return -1;
    if (!t->i || t->ndims != 1) return ox_node_fail(cx, k, "the shape must be a 1-D int64 tensor");
    int64_t d[OX_MAX_DIMS], own[OX_MAX_DIMS], per = (int64_t)on_shape_size(ox_shape_of(cx, x)),
                                              prod = 1;
    int r = ox_onnx_dims(cx, x, own), infer = -1, bad = t->size < 1 || t->size > OX_MAX_DIMS;
    for (size_t i = 0; !bad && i < t->size; i++) {
        int64_t v = t->i[i];
        if (v == 0 && !allowzero) v = (int)i < r ? own[i] : -2; /* 0 copies the input's */
        if (i == 0 && cx->batch > 0 && v == cx->batch) v = OX_BATCH;
        if (v == -1) {
            bad = infer >= 0;
            infer = (int)i;
        } else if (i > 0) {
            bad = v < 1 || v > per || prod > per / v; /* no overflow: prod <= per */
            prod *= bad ? 1 : v;
        } else {
            bad = v != OX_BATCH;
        }
        d[i] = v;
    }
    if (!bad && infer == 0) /* (-1, ...): the batch, when the others hold one sample */
        bad = prod != per, d[0] = OX_BATCH;
    else if (!bad && infer > 0)
        bad = per % prod != 0, d[infer] = per / prod;
    else if (!bad)
        bad = prod != per;
    if (bad) {
        char buf[128] = "";
        for (size_t i = 0; i < t->size && i < 8; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld", i ? "," : "",
                     (long long)t->i[i]);
        return ox_node_fail(cx, k,
                            "reshape to (%s) is not supported: the batch must stay the first "
                            "dimension (only flattening to (N, -1) and adding or removing "
                            "trailing 1s)",
                            buf);
    }
    if (split_view(cx, k, x, d, (int)t->size)) return 0;
    if (x->split) {
        char want[160];
        dims_str(d, (int)t->size, want, sizeof want);
        return ox_node_fail(cx, k, "reshaping a channel-group view to %s is not supported", want);
    }
    return reshape_to(cx, k, x, d, (int)t->size, "reshaping");
}

/* Squeeze and Unsqueeze of a computed tensor (axes: attribute before opset 13, input
 * after): reshapes that only remove or insert 1s. */
static int op_squeeze(ox_ctx *cx, int k) {
    ox_value *x;
    int un = !strcmp(cx->g->node[k]->op_type, "Unsqueeze"), n;
    int64_t axes[OX_MAX_DIMS], own[OX_MAX_DIMS], d[OX_MAX_DIMS];
    if (ox_check_attrs(cx, k, cx->opset < 13 ? "axes" : "") || ox_in_tensor(cx, k, 0, &x) ||
        ox_axes_of(cx, k, 13, axes, &n))
        return -1;
    int r = ox_onnx_dims(cx, x, own), R = un ? r + (n > 0 ? n : 0) : r, out = 0;
    unsigned mask = 0;
    if ((un && n < 1) || R > OX_MAX_DIMS || (n > 0 && ox_axes_mask(axes, n, R, &mask)))
        return ox_node_fail(cx, k, "the axes are missing, out of range or repeated");
    if (!un && n < 0)
        for (int i = 1; i < r; i++) mask |= (unsigned)(own[i] == 1) << i; /* every 1 */
    if (mask & 1u)
        return ox_node_fail(cx, k, "%s the batch axis is not supported",
                            un ? "adding" : "removing");
    for (int i = 0, j = 0; i < R; i++) {
        if (!(mask & (1u << i)))
            d[out++] = own[un ? j++ : i];
        else if (un)
            d[out++] = 1;
        else if (own[i] != 1)
            return ox_node_fail(cx, k, "axis %d has size %lld, not 1", i, (long long)own[i]);
    }
    return reshape_to(cx, k, x, d, out, un ? "unsqueezing" : "squeezing");
}

/* ReduceMean / ReduceMax over every spatial axis (axes: attribute before opset 18, input
 * after): global average pooling, or a max-pool whose window is the whole plane, keeping
 * the 1s when keepdims. Also of a channels-last view ((N,L,D) from an embedding: the mean
 * or max over time), whose spatial axes are 1 to r-2. */
static int op_reduce(ox_ctx *cx, int k) {
    ox_value *x;
    int64_t keep, noop, axes[OX_MAX_DIMS];
    int n, max = !strcmp(cx->g->node[k]->op_type, "ReduceMax");
    cx->nhwc_ok = 1;
    int bad =
        ox_check_attrs(cx, k, cx->opset < 18 ? "axes keepdims" : "keepdims noop_with_empty_axes") ||
        ox_in_tensor(cx, k, 0, &x);
    cx->nhwc_ok = 0;
    if (bad || ox_axes_of(cx, k, 18, axes, &n) || ox_attr_int(cx, k, "keepdims", 1, &keep) ||
        ox_attr_int(cx, k, "noop_with_empty_axes", 0, &noop))
        return -1;
    int r = x->orank;
    unsigned mask = 0, spatial_axes = ((1u << r) - 1) & ~3u;
    if (x->nhwc) spatial_axes = ((1u << (r - 1)) - 1) & ~1u;
    if (n < 1 && noop) {
        ox_alias(cx, k, x, r);
        return 0;
    }
    if (n >= 0 && ox_axes_mask(axes, n, r, &mask))
        return ox_node_fail(cx, k, "the axes are out of range or repeated");
    if (n < 0) mask = (1u << r) - 1;
    on_shape s = ox_shape_of(cx, x);
    if (mask != spatial_axes || r < 3 || s.rank != r - 1)
        return ox_node_fail(cx, k,
                            "only the %s over every spatial axis (global %s pooling) is supported",
                            max ? "maximum" : "mean", max ? "max" : "average");
    if (!max) {
        if (ox_emit(cx, k, k, on_op_find("global_avgpool"), NULL, x, keep ? r : 2) < 0) return -1;
        ox_out_value(cx, k)->nhwc &= keep != 0; /* (N,C) either way */
        return 0;
    }
    const on_op *op = on_op_find(s.rank == 3 ? "maxpool2d" : "maxpool1d");
    on_attrs a = op->defaults;
    a.kh = a.sh = s.rank == 3 ? s.h : 1;
    a.kw = a.sw = s.w;
    a.pad_mode = ON_PAD_VALID;
    if (ox_emit(cx, k, k, op, &a, x, r) < 0) return -1;
    ox_value *o = ox_out_value(cx, k);
    if (keep) return 0;
    o->nhwc = 0; /* (N,C) either way */
    return ox_emit(cx, k, k, on_op_find("flatten"), NULL, o, 2) < 0 ? -1 : 0;
}

/* GlobalMaxPool: a max-pool whose window is the whole plane, (N,C,1,1) or (N,C,1). */
static int op_global_maxpool(ox_ctx *cx, int k) {
    ox_value *x;
    if (ox_check_attrs(cx, k, "") || ox_in_tensor(cx, k, 0, &x) || ox_spatial(cx, k, x)) return -1;
    on_shape s = ox_shape_of(cx, x);
    on_attrs a = on_op_find(s.rank == 3 ? "maxpool2d" : "maxpool1d")->defaults;
    a.kh = a.sh = s.rank == 3 ? s.h : 1;
    a.kw = a.sw = s.w;
    a.pad_mode = ON_PAD_VALID;
    return ox_emit(cx, k, k, on_op_find(s.rank == 3 ? "maxpool2d" : "maxpool1d"), &a, x, x->orank) <
                   0
               ? -1
               : 0;
}

/* Gemm (Y = alpha A B' + beta C) and MatMul (+ the Add of its bias): a dense layer. */
static int op_dense(ox_ctx *cx, int k) {
    const char *t = cx->g->node[k]->op_type;
    int gemm = !strcmp(t, "Gemm");
    ox_value *x;
    ox_const *w, *b = NULL;
    int64_t ta = 0, tb = 0;
    float alpha = 1, beta = 1;
    cx->nhwc_ok = !gemm; /* MatMul over the channels of a channels-last view: a 1x1 conv */
    int no =
        ox_check_attrs(cx, k, gemm ? "alpha beta transA transB" : "") || ox_in_tensor(cx, k, 0, &x);
    cx->nhwc_ok = 0;
    if (no || ox_in_const(cx, k, 1, 0, 1, &w)) return -1;
    if (gemm && (ox_in_const(cx, k, 2, 1, 1, &b) || ox_attr_int(cx, k, "transA", 0, &ta) ||
                 ox_attr_int(cx, k, "transB", 0, &tb) || ox_attr_float(cx, k, "alpha", 1, &alpha) ||
                 ox_attr_float(cx, k, "beta", 1, &beta)))
        return -1;
    int badd = cx->plan[k].bias;
    if (badd >= 0) {
        const Onnx__NodeProto *a = cx->g->node[badd];
        int o = ox_find(cx, cx->g->node[k]->output[0]);
        b = &cx->v[ox_in(cx, a, ox_in(cx, a, 0) == o ? 1 : 0)].c;
    }
    on_shape s = ox_shape_of(cx, x);
    if (ta) return ox_node_fail(cx, k, "transA=1 is not supported");
    int cl = x->nhwc && s.rank > 1, orank = x->nhwc ? x->orank : 2;
    if (!cl && (s.rank != 1 || orank != x->orank))
        return ox_node_fail(cx, k,
                            "needs a 2-D (N,F) input (flatten first) or a channels-last image "
                            "(Transpose(0,2,3,1)); this one is %d-D",
                            x->orank);
    if (w->ndims != 2) return ox_node_fail(cx, k, "the weight must be 2-D");
    int in = (int)(tb ? w->dims[1] : w->dims[0]), out = (int)(tb ? w->dims[0] : w->dims[1]);
    if (in != s.c)
        return ox_node_fail(cx, k, "the weight is for %d input features; the input has %d", in,
                            s.c);
    if (b && b->size != (size_t)out && b->size != 1)
        return ox_node_fail(cx, k, "the bias has %zu values for %d outputs", b->size, out);
    if (out < 1) return ox_node_fail(cx, k, "the weight has no outputs");
    const on_op *op = on_op_find(!cl ? "dense" : s.rank == 3 ? "conv2d" : "conv1d");
    on_attrs a = op->defaults;
    a.units = out;
    a.bias = b != NULL;
    if (cl) { /* 1x1, stride 1: the weight (out, in, 1, 1) is dense's (out, in) */
        a.kh = a.kw = a.sh = a.sw = a.dh = a.dw = a.groups = 1;
        a.pad_mode = ON_PAD_VALID;
    }
    int id = ox_emit(cx, k, k, op, &a, x, orank);
    if (id < 0) return -1;
    if (badd >= 0) ox_alias(cx, badd, &cx->v[ox_find(cx, cx->g->node[k]->output[0])], orank);
    float *W = on_tensor_ptr(cx->m, cx->m->nodes[id].t0);
    float *B = a.bias ? on_tensor_ptr(cx->m, cx->m->nodes[id].t0 + 1) : NULL;
    for (int o = 0; o < out; o++)
        for (int i = 0; i < in; i++)
            W[(size_t)o * in + i] =
                alpha * w->f[tb ? (size_t)o * in + i : (size_t)i * out + o]; /* to (out, in) */
    for (int o = 0; B && o < out; o++) B[o] = beta * b->f[b->size == 1 ? 0 : o];
    return 0;
}

/* A merge of computed tensors: Add/Sub/Mul/Div (two inputs), Sum/Mean/Max/Min (any
 * number), Concat along a non-batch axis. Shapes follow ordnet's merges: every input of the
 * output's shape, or a per-channel gate ((N,C,1,1) against (N,C,H,W): squeeze-and-excitation);
 * other broadcasts are refused by the graph with each input's shape. */
static int op_merge(ox_ctx *cx, int k) {
    static const char *const ops[][2] = {
        {"Add", "add"},      {"Sum", "add"},     {"Sub", "subtract"},
        {"Mul", "multiply"}, {"Div", "divide"},  {"Mean", "average"},
        {"Max", "maximum"},  {"Min", "minimum"}, {"Concat", "concat"}};
    const Onnx__NodeProto *n = cx->g->node[k];
    const char *opname = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(n->op_type, ops[i][0])) opname = ops[i][1];
    int concat = !strcmp(opname, "concat");
    int64_t axis = 0;
    if (ox_check_attrs(cx, k, concat ? "axis" : "") ||
        (concat && ox_attr_int(cx, k, "axis", 1, &axis)))
        return -1;
    int binary = !strcmp(n->op_type, "Add") || !strcmp(n->op_type, "Sub") ||
                 !strcmp(n->op_type, "Mul") || !strcmp(n->op_type, "Div");
    if (binary ? n->n_input != 2 : n->n_input < 1 || n->n_input > ON_MAX_INPUTS)
        return ox_node_fail(cx, k, "%zu inputs (%s takes %s)", n->n_input, n->op_type,
                            binary ? "2" : "1 to 64");
    int in[ON_MAX_INPUTS], orank = 0;
    ox_value *first = NULL;
    for (size_t i = 0; i < n->n_input; i++) {
        int v = ox_in(cx, n, i);
        if (v >= 0 && cx->v[v].kind == OX_CONST && binary) {
            int r = ox_op_channel_affine(cx, k);
            if (r) return r < 0 ? -1 : 0;
        }
        if (v >= 0 && cx->v[v].kind == OX_CONST)
            return ox_node_fail(cx, k,
                                "input %zu ('%.80s') is a constant: %s is supported between "
                                "computed tensors (a constant is read only as a bias after MatMul "
                                "or as the input normalization)",
                                i + 1, n->input[i], n->op_type);
        ox_value *x;
        if (ox_in_tensor(cx, k, i, &x)) return -1;
        in[i] = x->node;
        if (!first) first = x;
        if (x->orank > orank) orank = x->orank;
    }
    if (n->n_input == 1) { /* Sum/Max/... of one tensor is that tensor */
        ox_alias(cx, k, first, first->orank);
        return 0;
    }
    on_attrs a = on_op_find(opname)->defaults;
    if (concat) {
        if (axis < 0) axis += orank;
        on_shape s0 = cx->m->nodes[in[0]].ys;
        if (axis < 1 || axis >= orank || orank != s0.rank + 1)
            return ox_node_fail(cx, k,
                                "Concat along axis %lld of %d-D tensors: ordnet joins along a "
                                "non-batch axis of tensors it holds with their ONNX rank",
                                (long long)axis, orank);
        a.axis = (int)axis - 1;
    }
    char name[ON_NAME_MAX];
    ox_layer_name(cx->m, n->name, n->op_type, name, sizeof name);
    on_error e;
    int id = on_model_add_merge(cx->m, on_op_find(opname), &a, in, (int)n->n_input, name, &e);
    if (id < 0) return ox_node_fail(cx, k, "%s", e.msg);
    ox_value *o = ox_out_value(cx, k);
    o->kind = OX_NODE;
    o->node = id;
    o->orank = orank;
    return 0;
}

/* The last node: ordnet models output logits, so a Softmax there is dropped (noted). */
static int op_softmax(ox_ctx *cx, int k) {
    ox_value *x;
    int64_t axis;
    if (ox_check_attrs(cx, k, "axis") || ox_in_tensor(cx, k, 0, &x) ||
        ox_attr_int(cx, k, "axis", cx->opset >= 13 ? -1 : 1, &axis))
        return -1;
    const Onnx__GraphProto *g = cx->g;
    int is_out = 0;
    for (size_t o = 0; o < g->n_output; o++)
        is_out |= g->output[o]->name && !strcmp(g->output[o]->name, cx->g->node[k]->output[0]);
    if (!is_out || ox_out_value(cx, k)->uses != 1)
        return ox_node_fail(cx, k,
                            "Softmax is supported only as the model's output (ordnet drops it "
                            "there and outputs logits)");
    /* over the classes of (N, classes), also written (N, classes, 1, 1) after a global pooling
     * (axis 1: before opset 13 the softmax of the flattened (N, classes*1*1), from 13 over
     * axis 1 at each of the one pixel: the same) */
    if (ox_shape_of(cx, x).rank != 1 ||
        (axis != 1 && axis != 1 - x->orank && (x->orank != 2 || axis != -1)))
        return ox_node_fail(cx, k,
                            "Softmax over axis %lld of a %d-D tensor: only over the classes of "
                            "(N, classes)",
                            (long long)axis, x->orank);
    ox_alias(cx, k, x, x->orank);
    char note[400], lab[256];
    ox_node_label(cx->g->node[k], k, lab, sizeof lab);
    snprintf(note, sizeof note,
             "%s at the output dropped: the model outputs logits (ordnet run --softmax gives "
             "probabilities)",
             lab);
    on_model_add_note(cx->m, note);
    return 0;
}

static int op_identity(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int v = ox_in(cx, n, 0);
    if (ox_check_attrs(cx, k, "")) return -1;
    if (v < 0 || cx->v[v].kind == OX_UNSET)
        return ox_node_fail(cx, k, "input '%.100s' is not computed before this node",
                            n->n_input ? n->input[0] : "");
    ox_value *o = ox_out_value(cx, k);
    if (cx->v[v].kind == OX_CONST) {
        ox_const c = cx->v[v].c;
        size_t bytes = (c.f ? sizeof(float) : sizeof(int64_t)) * (c.size ? c.size : 1);
        void *d = malloc(bytes);
        if (!d) return ox_node_fail(cx, k, "out of memory");
        memcpy(d, c.f ? (void *)c.f : (void *)c.i, bytes);
        c.f = c.f ? d : NULL;
        c.i = c.i ? d : NULL;
        o->kind = OX_CONST;
        o->c = c;
        return 0;
    }
    ox_alias(cx, k, &cx->v[v], cx->v[v].orank);
    return 0;
}

/* Input normalization (x - mean) / std at the graph input (onnx_fuse.c found it). */
static int op_normalize(ox_ctx *cx, int k) {
    const Onnx__NodeProto *d = cx->g->node[k];
    const Onnx__NodeProto *s = cx->g->node[cx->v[cx->input].reader];
    int C = cx->m->input.c, orank = cx->v[cx->input].orank;
    if (cx->v[cx->input].ids)
        return ox_node_fail(cx, k, "the input holds integer token ids, not values to normalize");
    float *ms = malloc(sizeof(float) * 2 * (size_t)C);
    if (!ms) return ox_node_fail(cx, k, "out of memory");
    int bad = ox_per_channel(&cx->v[ox_in(cx, s, 1)].c, orank, C, ms) ||
              ox_per_channel(&cx->v[ox_in(cx, d, 1)].c, orank, C, ms + C);
    int mul = !strcmp(d->op_type, "Mul");
    for (int c = 0; !bad && c < C; c++) {
        if (mul) ms[C + c] = 1.0f / ms[C + c];
        bad = !(ms[C + c] > 0) || !isfinite(ms[C + c]) || !isfinite(ms[c]);
    }
    if (bad) {
        free(ms);
        return ox_node_fail(cx, k,
                            "the input normalization needs one mean and one positive std "
                            "per channel");
    }
    on_model_set_normalization(cx->m, ms, ms + C);
    free(ms);
    ox_alias(cx, k, &cx->v[cx->input], orank);
    on_model_add_note(cx->m, "input normalization (x - mean) / std read from the graph's first "
                             "nodes (applied as for an ordnet checkpoint)");
    return 0;
}

/* ----- shape arithmetic on constants (x.view(x.size(0), -1) exports as
 * Shape -> Gather -> Unsqueeze -> Concat -> Reshape) ----- */

static int set_const(ox_ctx *cx, int k, ox_const *c) {
    ox_value *o = ox_out_value(cx, k);
    o->kind = OX_CONST;
    o->c = *c;
    return 0;
}

static int int_const(ox_ctx *cx, int k, size_t n, int ndims, ox_const *c) {
    memset(c, 0, sizeof *c);
    c->ndims = ndims;
    c->dims[0] = (int64_t)n;
    c->size = ndims ? n : 1;
    if (!(c->i = malloc(sizeof(int64_t) * (c->size ? c->size : 1))))
        return ox_node_fail(cx, k, "out of memory");
    return 0;
}

static int op_shape(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int v = ox_in(cx, n, 0);
    int64_t start, end, d[OX_MAX_DIMS];
    if (ox_check_attrs(cx, k, "start end") || ox_attr_int(cx, k, "start", 0, &start) ||
        ox_attr_int(cx, k, "end", OX_MAX_DIMS, &end))
        return -1;
    if (v < 0 || cx->v[v].kind == OX_UNSET) return ox_node_fail(cx, k, "its input is not computed");
    if (cx->v[v].nhwc || cx->v[v].split)
        return ox_node_fail(cx, k,
                            "the shape of a transposed or regrouped tensor is not supported");
    int r;
    if (cx->v[v].kind == OX_NODE)
        r = ox_onnx_dims(cx, &cx->v[v], d);
    else {
        r = cx->v[v].c.ndims;
        memcpy(d, cx->v[v].c.dims, sizeof d);
    }
    if (start < 0) start += r;
    if (end < 0) end += r;
    if (start < 0) start = 0;
    if (end > r) end = r;
    if (end < start) end = start;
    ox_const c;
    if (int_const(cx, k, (size_t)(end - start), 1, &c)) return -1;
    for (int64_t i = start; i < end; i++) c.i[i - start] = d[i];
    return set_const(cx, k, &c);
}

/* Gather(axis 0) of the rows of a (vocab, dim) initializer at computed token ids (N,L):
 * nn.Embedding, an embedding layer. ONNX's (N,L,dim) is a channels-last view of ordnet's
 * (dim, L), which the Transpose(0,2,1) that PyTorch writes before a Conv1d ends in place. */
static int gather_embedding(ox_ctx *cx, int k) {
    ox_const *w;
    ox_value *x;
    int64_t axis;
    cx->ids_ok = 1;
    int bad = ox_check_attrs(cx, k, "axis") || ox_in_tensor(cx, k, 1, &x);
    cx->ids_ok = 0;
    if (bad || ox_attr_int(cx, k, "axis", 0, &axis)) return -1;
    int dv = ox_in(cx, cx->g->node[k], 0);
    if (!x->ids)
        return ox_node_fail(cx, k, "the indices are a computed float tensor, not token ids");
    if (dv < 0 || cx->v[dv].kind != OX_CONST)
        return ox_node_fail(cx, k,
                            "gathering from a computed tensor is not supported (only the rows of "
                            "an embedding table: an initializer of shape (vocab, dim))");
    w = &cx->v[dv].c;
    if (!w->f || w->ndims != 2 || (axis != 0 && axis != -2) || w->dims[0] < 1 || w->dims[1] < 1 ||
        w->dims[0] > (1 << 28) || w->dims[1] > (1 << 28))
        return ox_node_fail(cx, k,
                            "only axis 0 of a float table of shape (vocab, dim) is supported "
                            "(an embedding); this is axis %lld of a %d-D %s tensor",
                            (long long)axis, w->ndims, w->f ? "float" : "integer");
    if (x->orank != 2 || ox_shape_of(cx, x).rank != 1)
        return ox_node_fail(cx, k, "the token ids must be (N,L)");
    on_attrs a = on_op_find("embedding")->defaults;
    a.vocab = (int)w->dims[0];
    a.units = (int)w->dims[1];
    int id = ox_emit(cx, k, k, on_op_find("embedding"), &a, x, 3);
    if (id < 0) return -1;
    set_param(cx, id, 0, w->f, w->size);
    ox_out_value(cx, k)->nhwc = 1;
    return 0;
}

static int op_gather(ox_ctx *cx, int k) {
    ox_const *data, *idx;
    int64_t axis;
    int iv = ox_in(cx, cx->g->node[k], 1);
    if (iv >= 0 && cx->v[iv].kind == OX_NODE) return gather_embedding(cx, k);
    if (ox_check_attrs(cx, k, "axis") || ox_in_const(cx, k, 0, 0, 0, &data) ||
        ox_in_const(cx, k, 1, 0, 0, &idx) || ox_attr_int(cx, k, "axis", 0, &axis))
        return -1;
    if (!data->i || !idx->i || data->ndims != 1 || idx->ndims > 1 || axis != 0)
        return ox_node_fail(cx, k, "only indexing a 1-D integer constant (a shape) is supported");
    ox_const c;
    if (int_const(cx, k, idx->size, idx->ndims, &c)) return -1;
    for (size_t i = 0; i < idx->size; i++) {
        int64_t j = idx->i[i] < 0 ? idx->i[i] + (int64_t)data->size : idx->i[i];
        if (j < 0 || j >= (int64_t)data->size) {
            ox_const_free(&c);
            return ox_node_fail(cx, k, "index %lld is out of range", (long long)idx->i[i]);
        }
        c.i[i] = data->i[j];
    }
    return set_const(cx, k, &c);
}

/* Unsqueeze of a scalar to [1], and Squeeze of [1] to a scalar, on integer constants. */
static int op_unsqueeze_const(ox_ctx *cx, int k, ox_const *data) {
    if (!data->i || data->ndims > 1 || data->size != 1)
        return ox_node_fail(cx, k,
                            "only (un)squeezing a one-element integer constant is supported");
    int un = !strcmp(cx->g->node[k]->op_type, "Unsqueeze");
    ox_const c;
    if (int_const(cx, k, 1, un, &c)) return -1;
    c.i[0] = data->i[0];
    return set_const(cx, k, &c);
}

static int op_concat(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    for (size_t i = 0; i < n->n_input; i++) { /* computed tensors: a concatenation layer */
        int v = ox_in(cx, n, i);
        if (v >= 0 && cx->v[v].kind == OX_NODE) return op_merge(cx, k);
    }
    int64_t axis;
    if (ox_check_attrs(cx, k, "axis") || ox_attr_int(cx, k, "axis", 0, &axis)) return -1;
    size_t total = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        ox_const *c;
        if (ox_in_const(cx, k, i, 0, 0, &c)) return -1;
        if (!c->i || c->ndims != 1 || (axis != 0 && axis != -1))
            return ox_node_fail(cx, k, "only joining 1-D integer constants (shapes) is supported");
        if (c->size > 64 || total > 64) return ox_node_fail(cx, k, "too many values");
        total += c->size;
    }
    ox_const c;
    if (int_const(cx, k, total, 1, &c)) return -1;
    total = 0;
    for (size_t i = 0; i < n->n_input; i++) {
        const ox_const *s = &cx->v[ox_in(cx, n, i)].c;
        memcpy(c.i + total, s->i, sizeof(int64_t) * s->size);
        total += s->size;
    }
    return set_const(cx, k, &c);
}

/* Cast of a computed tensor: token ids to int64 / int32 stay ids, ids to float are the
 * floats ordnet holds them as, and floats to float are themselves; both are aliases. */
static int cast_computed(ox_ctx *cx, int k) {
    ox_value *x;
    int64_t to;
    cx->ids_ok = 1;
    int bad = ox_check_attrs(cx, k, "to saturate") || ox_in_tensor(cx, k, 0, &x) ||
              ox_attr_int(cx, k, "to", 0, &to);
    cx->ids_ok = 0;
    if (bad) return -1;
    int to_int =
        to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    int to_float = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (!(x->ids ? to_int || to_float : to_float))
        return ox_node_fail(cx, k,
                            "casting a computed %s tensor to type %lld is not supported (only "
                            "token ids to int64, int32 or float, and floats to float)",
                            x->ids ? "integer" : "float", (long long)to);
    ox_alias(cx, k, x, x->orank);
    ox_out_value(cx, k)->ids = x->ids && to_int;
    return 0;
}

static int op_cast(ox_ctx *cx, int k) {
    ox_const *data;
    int64_t to;
    int v = ox_in(cx, cx->g->node[k], 0);
    if (v >= 0 && cx->v[v].kind == OX_NODE) return cast_computed(cx, k);
    if (ox_check_attrs(cx, k, "to saturate") || ox_in_const(cx, k, 0, 0, 0, &data) ||
        ox_attr_int(cx, k, "to", 0, &to))
        return -1;
    if (!data->i || to != ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        return ox_node_fail(cx, k, "only casting integer constants to int64 is supported");
    ox_const c = *data;
    if (!(c.i = malloc(sizeof(int64_t) * (c.size ? c.size : 1))))
        return ox_node_fail(cx, k, "out of memory");
    memcpy(c.i, data->i, sizeof(int64_t) * c.size);
    return set_const(cx, k, &c);
}

static int op_unsqueeze(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    int v = ox_in(cx, n, 0);
    if (ox_check_attrs(cx, k, cx->opset < 13 ? "axes" : "")) return -1;
    if (v >= 0 && cx->v[v].kind == OX_CONST) return op_unsqueeze_const(cx, k, &cx->v[v].c);
    return op_squeeze(cx, k);
}

/* ----- the passes ----- */

typedef int (*op_fn)(ox_ctx *, int);
static const struct {
    const char *name;
    op_fn fn;
} ops[] = {
    {"Conv", op_conv},
    {"ConvTranspose", op_conv_transpose},
    {"BatchNormalization", op_batchnorm},
    {"Relu", op_activation},
    {"LeakyRelu", op_activation},
    {"Elu", op_activation},
    {"Celu", op_activation},
    {"Selu", op_activation},
    {"Tanh", op_activation},
    {"Sigmoid", op_activation},
    {"Softplus", op_activation},
    {"Mish", op_activation},
    {"PRelu", op_prelu},
    {"Clip", op_clip},
    {"MaxPool", op_pool},
    {"AveragePool", op_pool},
    {"GlobalAveragePool", op_gap},
    {"GlobalMaxPool", op_global_maxpool},
    {"ReduceMean", op_reduce},
    {"ReduceMax", op_reduce},
    {"Dropout", op_dropout},
    {"Flatten", op_flatten},
    {"Reshape", op_reshape},
    {"Pad", ox_op_pad},
    {"Resize", ox_op_resize},
    {"Upsample", ox_op_resize},
    {"Slice", ox_op_slice},
    {"Split", ox_op_split},
    {"Transpose", ox_op_transpose},
    {"LayerNormalization", ox_op_layernorm},
    {"Squeeze", op_unsqueeze},
    {"Unsqueeze", op_unsqueeze},
    {"Gemm", op_dense},
    {"MatMul", op_dense},
    {"Add", op_merge},
    {"Sub", op_merge},
    {"Mul", op_merge},
    {"Div", op_merge},
    {"Sum", op_merge},
    {"Mean", op_merge},
    {"Max", op_merge},
    {"Min", op_merge},
    {"Softmax", op_softmax},
    {"Identity", op_identity},
    {"Shape", op_shape},
    {"Gather", op_gather},
    {"Concat", op_concat},
    {"Cast", op_cast},
    {"HardSigmoid", op_activation_round2},
    {"HardSwish", op_activation_round2},
    {"Softsign", op_activation_round2},
    {"Exp", op_activation_round2},
};

/* Operators of exactly one input: a computed second one would feed a layer that nothing
 * reads, which an export would not write (found by fuzzing). */
static const char *const unary = " Relu LeakyRelu Elu Celu Selu Tanh Sigmoid Softplus Mish "
                                 "HardSigmoid HardSwish Softsign Exp Identity Flatten "
                                 "GlobalAveragePool GlobalMaxPool Transpose Shape Softmax "
                                 "Cast ";

static int opset_of(ox_ctx *cx, const Onnx__ModelProto *mp) {
    cx->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx"))
            cx->opset = o->has_version ? (int)(o->version > 1000 ? 1000 : o->version) : 1;
    }
    if (cx->opset < 0) return fail(cx, "the model imports no version of the standard ONNX opset");
    if (cx->opset < OX_MIN_OPSET || cx->opset > OX_MAX_OPSET)
        return fail(cx,
                    "opset %d is not supported (ordnet reads opsets %d to %d; convert the "
                    "model with onnx.version_converter)",
                    cx->opset, OX_MIN_OPSET, OX_MAX_OPSET);
    return 0;
}

/* The feed called name, or -1. */
static int feed_of(const ox_ctx *cx, const char *name) {
    for (int i = 0; name && i < cx->nfeeds; i++)
        if (cx->feeds[i].name && !strcmp(cx->feeds[i].name, name)) return i;
    return -1;
}

/* A copy of a fed array as the constant of value v. */
static int feed_const(ox_ctx *cx, int v, const on_array *a) {
    ox_const *c = &cx->v[v].c;
    if (a->ndim < 0 || a->ndim > OX_MAX_DIMS || (a->size && !a->data))
        return fail(cx, "input '%.100s': the given array has %d dimensions (at most %d)",
                    cx->v[v].name, a->ndim, OX_MAX_DIMS);
    c->ndims = a->ndim;
    memcpy(c->dims, a->dims, sizeof(int64_t) * (size_t)a->ndim);
    c->size = a->size;
    if (!(c->f = malloc(sizeof(float) * (a->size ? a->size : 1)))) return fail(cx, "out of memory");
    if (a->size) memcpy(c->f, a->data, sizeof(float) * a->size);
    cx->v[v].kind = OX_CONST;
    return 0;
}

/* The graph inputs that no initializer gives: the first one not fed is the data (or the
 * first of them, when all are fed); the others must be fed and become constants. */
static int graph_inputs(ox_ctx *cx) {
    Onnx__GraphProto *g = cx->g;
    int data = -1, first = -1;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name;
        if (ox_find(cx, name) >= 0) continue; /* an initializer listed as input (IR < 4) */
        if (first < 0) first = (int)i;
        if (feed_of(cx, name) < 0 && data < 0) data = (int)i;
    }
    if (first < 0) return fail(cx, "the graph has no input without an initializer");
    if (data < 0) data = first;
    cx->data_feed = feed_of(cx, g->input[data]->name);
    for (int i = 0; cx->data_feed < 0 && i < cx->nfeeds; i++) /* an unnamed feed: the data */
        if (!cx->feeds[i].name || !*cx->feeds[i].name) cx->data_feed = i;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name;
        if (ox_find(cx, name) >= 0 && (int)i != data) continue;
        int v = ox_values_add(&cx->vt, name, -1), f = feed_of(cx, name);
        if (v < 0) return fail(cx, "input %zu has no name, or its name is used twice", i);
        if ((int)i == data) {
            cx->input = v;
        } else if (f < 0) {
            return fail(cx,
                        "input '%.100s' has no initializer and is not the data input "
                        "('%.100s'): give it a value (ordnet run --input %.100s=FILE.npy)",
                        name, g->input[data]->name, name);
        } else if (feed_const(cx, v, cx->feeds[f].value)) {
            return -1;
        }
    }
    return 0;
}

/* Constant's value: 'value' (a tensor), or since opset 12 value_float(s) / value_int(s). */
static int constant_value(ox_ctx *cx, const Onnx__NodeProto *nd, const char *lab, ox_const *c) {
    const Onnx__AttributeProto *a = nd->n_attribute == 1 ? nd->attribute[0] : NULL;
    const char *an = a && a->name ? a->name : "";
    if (a && !strcmp(an, "value") && a->t) {
        if (!ox_tensor(a->t, c, lab, cx->err)) return 0;
        char m[sizeof cx->err->msg];
        snprintf(m, sizeof m, "%s", cx->err->msg);
        return fail(cx, "%s", m);
    }
    int fl = a && (!strcmp(an, "value_float") || !strcmp(an, "value_floats"));
    int in = a && (!strcmp(an, "value_int") || !strcmp(an, "value_ints"));
    if (!fl && !in)
        return fail(cx,
                    "%s: only the attributes 'value', 'value_float(s)' and 'value_int(s)' are "
                    "supported",
                    lab);
    int one = !strcmp(an, "value_float") || !strcmp(an, "value_int");
    size_t n = one ? 1 : fl ? a->n_floats : a->n_ints;
    if (n > (1u << 24)) return fail(cx, "%s: too many values", lab);
    *c = (ox_const){.ndims = one ? 0 : 1, .dims = {(int64_t)n}, .size = n};
    if (fl ? !(c->f = malloc(sizeof(float) * (n ? n : 1)))
           : !(c->i = malloc(sizeof(int64_t) * (n ? n : 1))))
        return fail(cx, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (fl)
            c->f[i] = one ? a->f : a->floats[i];
        else
            c->i[i] = one ? a->i : a->ints[i];
    return 0;
}

/* Pass 1: initializers, the inputs and every node output become values; Constants get
 * their value now, so that the patterns can look at them. */
static int make_values(ox_ctx *cx) {
    Onnx__GraphProto *g = cx->g;
    size_t n = g->n_initializer + g->n_input;
    for (size_t k = 0; k < g->n_node; k++) n += g->node[k]->n_output;
    if (n > (1u << 24)) return fail(cx, "too many values (%zu)", n);
    if (ox_values_init(&cx->vt, n)) return fail(cx, "out of memory");
    cx->v = cx->vt.v;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        int v = ox_values_add(&cx->vt, t->name, -1);
        char what[200];
        snprintf(what, sizeof what, "initializer '%.150s'", t->name ? t->name : "");
        if (v < 0) return fail(cx, "%s: %s", what, v == -1 ? "the name is used twice" : "no name");
        int f = feed_of(cx, t->name);
        if (f >= 0) { /* a given value replaces the initializer (the input's default) */
            if (feed_const(cx, v, cx->feeds[f].value)) return -1;
            continue;
        }
        if (ox_tensor(t, &cx->v[v].c, what, cx->err)) {
            char m[sizeof cx->err->msg];
            snprintf(m, sizeof m, "%s", cx->err->msg);
            return fail(cx, "%s", m);
        }
        cx->v[v].kind = OX_CONST;
    }
    cx->input = -1;
    if (graph_inputs(cx)) return -1;
    for (size_t k = 0; k < g->n_node; k++) {
        const Onnx__NodeProto *nd = g->node[k];
        char lab[280];
        ox_node_label(nd, (int)k, lab, sizeof lab);
        if (!nd->op_type) return fail(cx, "%s has no op type", lab);
        if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx"))
            return fail(cx, "%s is from the domain '%.60s', which ordnet does not support", lab,
                        nd->domain);
        if (!nd->n_output) return fail(cx, "%s has no output", lab);
        for (size_t o = 0; o < nd->n_output; o++) {
            if (!nd->output[o] || !*nd->output[o]) continue; /* an unused optional output */
            if (ox_values_add(&cx->vt, nd->output[o], (int)k) < 0)
                return fail(cx, "%s writes '%.100s', which is already defined", lab, nd->output[o]);
        }
        if (!nd->output[0] || !*nd->output[0]) return fail(cx, "%s has no first output", lab);
        if (strcmp(nd->op_type, "Constant")) continue;
        ox_value *v = &cx->v[ox_find(cx, nd->output[0])];
        if (constant_value(cx, nd, lab, &v->c)) return -1;
        v->kind = OX_CONST;
    }
    return 0;
}

/* The data input's shape: (N,F), (N,C,L) or (N,C,H,W) of float32. Dimensions the file
 * leaves open are taken from the data given for it (ordnet run --input), when there is. */
static int input_shape(ox_ctx *cx, on_shape *s) {
    const Onnx__ValueInfoProto *vi = NULL;
    for (size_t i = 0; i < cx->g->n_input; i++)
        if (cx->g->input[i]->name && !strcmp(cx->g->input[i]->name, cx->v[cx->input].name))
            vi = cx->g->input[i];
    const char *nm = cx->v[cx->input].name;
    const on_array *fed = cx->data_feed >= 0 ? cx->feeds[cx->data_feed].value : NULL;
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type ||
        !t->tensor_type->shape)
        return fail(cx, "input '%.100s' is not a tensor of known shape", nm);
    int et = t->tensor_type->elem_type;
    int ids =
        et == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || et == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && !ids)
        return fail(cx, "input '%.100s' is not float32 (or int64 / int32 token ids)", nm);
    const Onnx__TensorShapeProto *sh = t->tensor_type->shape;
    int r = (int)sh->n_dim, d[4] = {0, 1, 1, 1};
    if (ids && r != 2)
        return fail(cx, "input '%.100s' holds integers and is %d-D; ordnet takes token ids (N,L)",
                    nm, r);
    if (r < 2 || r > 4)
        return fail(cx, "input '%.100s' is %d-D; ordnet takes (N,F), (N,C,L) or (N,C,H,W)", nm, r);
    cx->v[cx->input].ids = ids; /* held as floats (ordnet's embedding reads whole floats) */
    for (int i = 0; i < r; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
        int known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (i == 0) {
            cx->batch = known && dm->dim_value > 0 ? dm->dim_value : 0;
            continue;
        }
        int64_t v = known ? dm->dim_value : fed && fed->ndim == r ? fed->dims[i] : 0;
        if (v < 1 || v > (1 << 24))
            return fail(cx, "input '%.100s': dimension %d must be a fixed positive size%s", nm, i,
                        known ? "" : " (or given by the data: ordnet run --input)");
        d[i] = (int)v;
    }
    *s = r == 2   ? (on_shape){1, d[1], 1, 1}
         : r == 3 ? (on_shape){2, d[1], 1, d[2]}
                  : (on_shape){3, d[1], d[2], d[3]};
    cx->v[cx->input].orank = r;
    return 0;
}

/* Passes 2 and 3: the nodes feeding the outputs, and how often each value is read. */
static int liveness(ox_ctx *cx) {
    Onnx__GraphProto *g = cx->g;
    char *need = calloc((size_t)cx->vt.nv + 1, 1);
    if (!need) return fail(cx, "out of memory");
    for (size_t o = 0; o < g->n_output; o++) {
        int v = ox_find(cx, g->output[o]->name);
        need[v] = 1;
        cx->v[v].uses++;
    }
    for (int k = (int)g->n_node - 1; k >= 0; k--) {
        const Onnx__NodeProto *n = g->node[k];
        for (size_t o = 0; o < n->n_output && !cx->plan[k].live; o++) {
            int v = ox_find(cx, n->output[o]);
            if (v >= 0 && need[v] && cx->v[v].producer == k) cx->plan[k].live = 1;
        }
        if (!cx->plan[k].live) continue;
        for (size_t i = 0; i < n->n_input; i++) {
            int v = ox_find(cx, n->input[i]);
            if (v >= 0) {
                need[v] = 1;
                cx->v[v].uses++;
                cx->v[v].reader = k;
            } else if (n->input[i] && *n->input[i]) {
                char lab[280];
                ox_node_label(n, k, lab, sizeof lab);
                free(need);
                return fail(cx, "%s reads '%.100s', which nothing defines", lab, n->input[i]);
            }
        }
    }
    free(need);
    return 0;
}

static int run_nodes(ox_ctx *cx) {
    Onnx__GraphProto *g = cx->g;
    for (int k = 0; k < (int)g->n_node; k++) {
        const Onnx__NodeProto *n = g->node[k];
        const ox_plan *p = &cx->plan[k];
        if (!p->live || p->skip || !strcmp(n->op_type, "Constant")) continue;
        /* inputs are computed before use: ONNX lists nodes in topological order */
        for (size_t i = 0; i < n->n_input; i++) {
            int v = ox_find(cx, n->input[i]);
            if (v >= 0 && cx->v[v].kind == OX_UNSET && !p->fuse && !p->normalize && !p->ln)
                return ox_node_fail(cx, k,
                                    "input '%.100s' is computed after this node (the nodes "
                                    "are not in topological order)",
                                    n->input[i]);
        }
        if (p->fuse) {
            ox_value *x = &cx->v[p->x];
            if (x->kind != OX_NODE || x->ids)
                return ox_node_fail(
                    cx, k, "the input of this %s is not a computed %s", p->fuse->name,
                    x->kind == OX_NODE ? "float tensor (it holds token ids)" : "tensor");
            if (ox_emit(cx, k, k, p->fuse, NULL, x, x->orank) < 0) return -1;
            continue;
        }
        if (p->ln) {
            if (ox_op_layernorm(cx, k)) return -1;
            continue;
        }
        if (p->normalize) {
            if (op_normalize(cx, k)) return -1;
            continue;
        }
        if (p->pass) { /* a Neg of min-pooling's Neg, MaxPool, Neg */
            ox_value *x;
            if (ox_check_attrs(cx, k, "") || ox_in_tensor(cx, k, 0, &x)) return -1;
            ox_alias(cx, k, x, x->orank);
            continue;
        }
        int folded = ox_fold(cx, k); /* every input a constant: computed now */
        if (folded < 0) return -1;
        if (folded) continue;
        char t[72];
        snprintf(t, sizeof t, " %.60s ", n->op_type);
        for (size_t j = 1; j < n->n_input && strstr(unary, t); j++) {
            int v = ox_find(cx, n->input[j]); /* a computed tensor no layer would read */
            if (v >= 0 && cx->v[v].kind == OX_NODE)
                return ox_node_fail(cx, k, "%zu inputs (%s takes 1)", n->n_input, n->op_type);
        }
        size_t i = 0;
        while (i < sizeof ops / sizeof ops[0] && strcmp(ops[i].name, n->op_type)) i++;
        if (i == sizeof ops / sizeof ops[0])
            return ox_node_fail(cx, k, "operator %.60s is not supported (ordnet reads: %s)",
                                n->op_type, supported);
        if (ops[i].fn(cx, k)) return -1;
    }
    return 0;
}

/* The graph's outputs: the first is the model's last node (an identity is appended when
 * it is an earlier one, or the input: a model must have a layer); the others are declared
 * (on_model_set_output). Each keeps its ONNX name and dimensions: those the file declares
 * when they hold as many values, else those its ONNX rank gives ordnet's shape. */
static int make_outputs(ox_ctx *cx) {
    const Onnx__GraphProto *g = cx->g;
    on_error e;
    int first = ox_find(cx, g->output[0]->name);
    if (cx->v[first].node != cx->m->nn - 1 || cx->m->nn == 1) {
        int taken = 0; /* a layer called "output" already: ordnet names the identity */
        for (int i = 0; i < cx->m->nn; i++) taken |= !strcmp(cx->m->nodes[i].name, "output");
        if (on_model_add_at(cx->m, cx->v[first].node, on_op_find("identity"), NULL,
                            taken ? NULL : "output", &e) < 0)
            return fail(cx, "%s", e.msg);
        cx->v[first].node = cx->m->nn - 1;
    }
    for (size_t k = 0; k < g->n_output; k++) {
        const ox_value *x = &cx->v[ox_find(cx, g->output[k]->name)];
        int64_t d[OX_MAX_DIMS], own[OX_MAX_DIMS];
        int r = ox_onnx_dims(cx, x, own), nd = r;
        memcpy(d, own, sizeof d);
        const Onnx__TypeProto *t = g->output[k]->type;
        const Onnx__TensorShapeProto *sh =
            t && t->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && t->tensor_type
                ? t->tensor_type->shape
                : NULL;
        /* declared dims are taken only as ordnet's shape with 1s added or removed after it
         * (what the ONNX rank tracking may not know, e.g. a model that ends in Unsqueeze
         * of an unknown rank): a file's wrong declaration must not reorder values */
        if (sh && sh->n_dim >= 2 && sh->n_dim <= OX_MAX_DIMS &&
            ox_shape_of(cx, x).rank <= (int)sh->n_dim - 1) {
            ox_value t = *x;
            t.orank = (int)sh->n_dim;
            ox_onnx_dims(cx, &t, d);
            int same = 1;
            for (size_t i = 1; i < sh->n_dim; i++) {
                const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
                same &= dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                        dm->dim_value == d[i];
            }
            if (same)
                nd = (int)sh->n_dim;
            else
                memcpy(d, own, sizeof d);
        }
        if (on_model_set_output(cx->m, (int)k, x->node, g->output[k]->name, nd - 1, d + 1, &e))
            return fail(cx, "output '%.100s': %s", g->output[k]->name, e.msg);
    }
    if (g->n_output > 1) {
        char note[400];
        int l = snprintf(note, sizeof note, "%zu outputs:", g->n_output);
        for (size_t k = 0; k < g->n_output && l > 0 && l < (int)sizeof note; k++)
            l += snprintf(note + l, sizeof note - (size_t)l, "%s '%.60s' (layer '%s')",
                          k ? "," : "", g->output[k]->name,
                          on_model_node_name(cx->m, on_model_output_node(cx->m, (int)k)));
        on_model_add_note(cx->m, note);
    }
    return 0;
}

on_model *on_onnx_parse_feeds(const void *buf, size_t len, const char *label,
                              const on_onnx_feed *feeds, int nfeeds, int *data_feed,
                              on_error *err) {
    if (data_feed) *data_feed = -1;
    Onnx__ModelProto *mp = ox_unpack(buf, len, label, err);
    if (!mp) return NULL;
    ox_ctx cx = {.label = label, .err = err, .g = mp->graph, .feeds = feeds, .nfeeds = nfeeds};
    Onnx__GraphProto *g = mp->graph;
    on_shape in;
    int ok = 0;
    if (opset_of(&cx, mp) || make_values(&cx) || input_shape(&cx, &in)) goto done;
    if (mp->n_functions) {
        fail(&cx, "model-local functions are not supported");
        goto done;
    }
    if (!g->n_output || g->n_output > 64) {
        fail(&cx, "the graph has %zu outputs (ordnet reads 1 to 64)", g->n_output);
        goto done;
    }
    for (size_t o = 0; o < g->n_output; o++)
        if (ox_find(&cx, g->output[o]->name) < 0) {
            fail(&cx, "the output '%.100s' is not computed by any node",
                 g->output[o]->name ? g->output[o]->name : "");
            goto done;
        }
    if (!(cx.plan = calloc(g->n_node + 1, sizeof *cx.plan))) {
        fail(&cx, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < g->n_node; k++) cx.plan[k].bias = -1;
    if (liveness(&cx)) goto done;
    ox_find_patterns(&cx);
    on_error e;
    if (!(cx.m = on_model_new(in, &e))) {
        fail(&cx, "input '%.100s': %s", cx.v[cx.input].name, e.msg);
        goto done;
    }
    cx.v[cx.input].kind = OX_NODE;
    cx.v[cx.input].node = 0;
    if (run_nodes(&cx)) goto done;
    for (size_t o = 0; o < g->n_output; o++) {
        const ox_value *x = &cx.v[ox_find(&cx, g->output[o]->name)];
        if (x->kind != OX_NODE || x->ids) {
            fail(&cx, "the output '%.100s' is %s, not computed from the input", x->name,
                 x->ids ? "the integer token ids" : "a constant");
            goto done;
        }
    }
    if (make_outputs(&cx)) goto done;
    if (data_feed) *data_feed = cx.data_feed;
    ok = 1;
done:
    ox_values_free(&cx.vt);
    free(cx.plan);
    onnx__model_proto__free_unpacked(mp, NULL);
    if (!ok) {
        on_model_free(cx.m);
        return NULL;
    }
    return cx.m;
}

on_model *on_onnx_parse(const void *buf, size_t len, const char *label, on_error *err) {
    return on_onnx_parse_feeds(buf, len, label, NULL, 0, NULL, err);
}

on_model *on_onnx_load_feeds(const char *path, const on_onnx_feed *feeds, int nfeeds,
                             int *data_feed, on_error *err) {
    if (data_feed) *data_feed = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        on_fail(err, "%s: cannot open it", path);
        return NULL;
    }
    long len = -1;
    if (!fseek(f, 0, SEEK_END)) len = ftell(f);
    if (len < 0 || len > (long)INT32_MAX || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        on_fail(err, "%s: cannot read it (ONNX files are at most 2 GiB)", path);
        return NULL;
    }
    void *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        on_fail(err, "%s: read error", path);
        return NULL;
    }
    fclose(f);
    on_model *m = on_onnx_parse_feeds(buf, (size_t)len, path, feeds, nfeeds, data_feed, err);
    free(buf);
    return m;
}

on_model *on_onnx_load(const char *path, on_error *err) {
    return on_onnx_load_feeds(path, NULL, 0, NULL, err);
}
