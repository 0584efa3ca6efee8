/* onnx_export.c - an ordnet model as an ONNX file (on_onnx_save, on_onnx_encode).
 *
 * Opset 13, one ONNX node per layer where ONNX has the op; the activations ONNX lacks are
 * written as the decompositions PyTorch writes (GELU: Div Erf Add Mul Mul; SiLU: Sigmoid
 * Mul; Mish: Softplus Tanh Mul), which the importer recognizes again; min-pooling is
 * Neg MaxPool Neg. Padding is always explicit (computed from the layer's geometry), so
 * no reader has to agree with ordnet on what 'same' means. Every layer's output is the
 * value named after the layer; the graph input is "input" with a symbolic batch "N" (int64
 * token ids when embeddings read it: Gather then Transpose(0,2,1)).
 * Weights are initializers named as ordnet's tensors ("conv2d.weight"), stored as raw
 * little-endian floats pointing into the model (nothing is copied until packing).
 *
 * The protobuf structs are allocated from one pool freed at the end.
 */
#include "../io/atomic.h"
#include "../ops/conv_transpose.h"
#include "../ops/geom.h"
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ON_MAX_OUTPUTS 64

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block;

typedef struct ex {
    block *pool;
    int oom;
    Onnx__NodeProto **nodes;
    size_t nn, ncap;
    Onnx__TensorProto **inits;
    size_t ni, icap;
    const on_model *m;
    on_error *err;
    const char *outs[ON_MAX_OUTPUTS]; /* the graph outputs' names so far */
} ex;

/* Zeroed memory from the pool; NULL (and ex->oom) when out of memory. */
static void *px(ex *e, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!e->pool || e->pool->cap - e->pool->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        block *b = calloc(1, sizeof *b + cap);
        if (!b) {
            e->oom = 1;
            return NULL;
        }
        b->cap = cap;
        b->next = e->pool;
        e->pool = b;
    }
    void *p = e->pool->data + e->pool->used;
    e->pool->used += n;
    return p;
}

static char *pstr(ex *e, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = px(e, n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Append p to a growing array of pointers. */
static int push(ex *e, void ***arr, size_t *n, size_t *cap, void *p) {
    if (!p) return -1;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        void **a = realloc(*arr, nc * sizeof *a);
        if (!a) {
            e->oom = 1;
            return -1;
        }
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = p;
    return 0;
}

/* A node op_type(inputs...) -> output, named name. */
static Onnx__NodeProto *node(ex *e, const char *op, const char *name, const char *out, int nin,
                             const char *const *in) {
    Onnx__NodeProto *n = px(e, sizeof *n);
    char **ins = px(e, sizeof(char *) * (size_t)(nin ? nin : 1));
    char **outs = px(e, sizeof(char *));
    if (!n || !ins || !outs) return NULL;
    onnx__node_proto__init(n);
    for (int i = 0; i < nin; i++) ins[i] = pstr(e, in[i]);
    outs[0] = pstr(e, out);
    n->n_input = (size_t)nin;
    n->input = ins;
    n->n_output = 1;
    n->output = outs;
    n->name = pstr(e, name);
    n->op_type = pstr(e, op);
    n->attribute = px(e, sizeof(Onnx__AttributeProto *) * 8);
    if (push(e, (void ***)&e->nodes, &e->nn, &e->ncap, n)) return NULL;
    return n;
}

static Onnx__AttributeProto *attr(ex *e, Onnx__NodeProto *n, const char *name) {
    if (!n || !n->attribute || n->n_attribute == 8) return NULL;
    Onnx__AttributeProto *a = px(e, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = pstr(e, name);
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void attr_i(ex *e, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr(e, n, name);
    if (!a) return;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

static void attr_f(ex *e, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = attr(e, n, name);
    if (!a) return;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
}

static void attr_s(ex *e, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = attr(e, n, name);
    char *d = pstr(e, v);
    if (!a || !d) return;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.len = strlen(d);
    a->s.data = (uint8_t *)d;
}

static void attr_is(ex *e, Onnx__NodeProto *n, const char *name, const int *v, int k) {
    Onnx__AttributeProto *a = attr(e, n, name);
    int64_t *d = px(e, sizeof(int64_t) * (size_t)k);
    if (!a || !d) return;
    for (int i = 0; i < k; i++) d[i] = v[i];
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = (size_t)k;
    a->ints = d;
}

/* A float initializer over data (not copied: it must outlive the packing). */
static int init(ex *e, const char *name, const float *data, int ndims, const int64_t *dims) {
    Onnx__TensorProto *t = px(e, sizeof *t);
    int64_t *d = px(e, sizeof(int64_t) * (size_t)(ndims ? ndims : 1));
    if (!t || !d) return -1;
    onnx__tensor_proto__init(t);
    size_t n = 1;
    for (int i = 0; i < ndims; i++) n *= (size_t)(d[i] = dims[i]);
    t->n_dims = (size_t)ndims;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = pstr(e, name);
    t->has_raw_data = 1; /* little-endian floats: the host order, checked by the caller */
    t->raw_data.len = n * sizeof(float);
    t->raw_data.data = (uint8_t *)data;
    return push(e, (void ***)&e->inits, &e->ni, &e->icap, t);
}

/* An int64 initializer (a Reshape's shape) over data (not copied). */
static int init_i64(ex *e, const char *name, const int64_t *data, int ndims, const int64_t *dims) {
    Onnx__TensorProto *t = px(e, sizeof *t);
    int64_t *d = px(e, sizeof(int64_t) * (size_t)(ndims ? ndims : 1));
    if (!t || !d) return -1;
    onnx__tensor_proto__init(t);
    size_t n = 1;
    for (int i = 0; i < ndims; i++) n *= (size_t)(d[i] = dims[i]);
    t->n_dims = (size_t)ndims;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->name = pstr(e, name);
    t->n_int64_data = n;
    t->int64_data = (int64_t *)data;
    return push(e, (void ***)&e->inits, &e->ni, &e->icap, t);
}

/* A scalar float initializer called name (once, however often it is asked for). */
static const char *scalar(ex *e, const char *name, float v) {
    for (size_t i = 0; i < e->ni; i++)
        if (!strcmp(e->inits[i]->name, name)) return name;
    float *d = px(e, sizeof(float));
    if (!d) return name;
    *d = v;
    init(e, name, d, 0, NULL);
    return name;
}

/* The model's tensor of node i called "<layer>.<param>" (registered as an initializer). */
static const char *param(ex *e, int i, int p) {
    const on_node *nd = &e->m->nodes[i];
    const on_tensor *t = &e->m->tensors[nd->t0 + p];
    int64_t dims[4];
    for (int k = 0; k < t->d.ndims; k++) dims[k] = t->d.dims[k];
    init(e, t->name, on_tensor_ptr((on_model *)e->m, nd->t0 + p), t->d.ndims, dims);
    return t->name;
}

/* ----- layers ----- */

/* kernel_shape, strides, pads (explicit) and dilations of a conv or pool layer. */
static int window_attrs(ex *e, Onnx__NodeProto *n, const on_node *nd, on_shape xs, int conv) {
    on_geom g;
    if (on_geom_make(&nd->a, xs, conv, &g, e->err)) return -1;
    int two = xs.rank == 3;
    int k[2] = {nd->a.kh, nd->a.kw}, s[2] = {g.sh, g.sw}, d[2] = {nd->a.dh, nd->a.dw};
    int pads[4] = {g.pt, g.pl, g.pb, g.pr};
    if (!two) {
        k[0] = nd->a.kw, s[0] = g.sw, d[0] = nd->a.dw;
        pads[0] = g.pl, pads[1] = g.pr;
    }
    attr_is(e, n, "kernel_shape", k, two ? 2 : 1);
    attr_is(e, n, "strides", s, two ? 2 : 1);
    attr_is(e, n, "pads", pads, two ? 4 : 2);
    if (conv) attr_is(e, n, "dilations", d, two ? 2 : 1);
    return 0;
}

/* A merge of nd->nin inputs xin: ONNX's variadic Sum/Mean/Max/Min, Concat, or a chain of
 * its binary Add/Mul/Sub/Div. A per-channel gate broadcasts as ONNX's rules say only when it
 * has the output's rank ((C,1,1) against (C,H,W)). */
static int merge(ex *e, int i, const char *const *xin_) {
    const on_node *nd = &e->m->nodes[i];
    const char *op = nd->op->name, *y = nd->name;
    /* a gate of lower rank, (N,C) against (N,C,H,W), gets trailing axes of size 1 first:
     * ONNX broadcasts from the right */
    const char *xin[ON_MAX_INPUTS];
    for (int k = 0; k < nd->nin; k++) {
        on_shape xs = e->m->nodes[nd->in[k]].ys;
        xin[k] = xin_[k];
        if (xs.rank == nd->ys.rank) continue;
        char un[ON_NAME_MAX + 24], axes[ON_NAME_MAX + 24];
        snprintf(un, sizeof un, "%s/unsqueeze%d", y, k);
        snprintf(axes, sizeof axes, "%s/axes%d", y, k);
        int64_t *ax = px(e, 3 * sizeof(int64_t)), na = 0;
        if (!ax) return -1;
        for (int r = xs.rank + 1; r <= nd->ys.rank; r++) ax[na++] = r;
        const char *two[2] = {xin_[k], axes};
        if (init_i64(e, axes, ax, 1, &na) || !node(e, "Unsqueeze", un, un, 2, two)) return -1;
        xin[k] = pstr(e, un);
        if (!xin[k]) return -1;
    }
    static const char *const variadic[][2] = {
        {"average", "Mean"}, {"maximum", "Max"}, {"minimum", "Min"}, {"add", "Sum"}};
    if (!strcmp(op, "add") && nd->nin == 2) /* the residual add as PyTorch writes it */
        return node(e, "Add", y, y, 2, xin) ? 0 : -1;
    for (size_t v = 0; v < sizeof variadic / sizeof variadic[0]; v++)
        if (!strcmp(op, variadic[v][0]))
            return node(e, variadic[v][1], y, y, nd->nin, xin) ? 0 : -1;
    if (!strcmp(op, "concat")) {
        Onnx__NodeProto *n = node(e, "Concat", y, y, nd->nin, xin);
        if (!n) return -1;
        int ax = nd->a.axis < 0 ? nd->a.axis + nd->ys.rank : nd->a.axis;
        attr_i(e, n, "axis", ax + 1);
        return 0;
    }
    const char *bin = !strcmp(op, "add")        ? "Add"
                      : !strcmp(op, "multiply") ? "Mul"
                      : !strcmp(op, "subtract") ? "Sub"
                      : !strcmp(op, "divide")   ? "Div"
                                                : NULL;
    if (!bin) return on_fail(e->err, "ONNX export: layer '%s' (%s) is not supported", y, op);
    /* ((x0 op x1) op x2) ...: the engine sums in this order too */
    char prev[ON_NAME_MAX + 16], cur[ON_NAME_MAX + 16];
    snprintf(prev, sizeof prev, "%s", xin[0]);
    for (int k = 1; k < nd->nin; k++) {
        if (k == nd->nin - 1)
            snprintf(cur, sizeof cur, "%s", y);
        else
            snprintf(cur, sizeof cur, "%s/t%d", y, k);
        const char *two[2] = {prev, xin[k]};
        if (!node(e, bin, cur, cur, 2, two)) return -1;
        snprintf(prev, sizeof prev, "%s", cur);
    }
    return 0;
}

static int layer(ex *e, int i, const char *const *xin) {
    const on_node *nd = &e->m->nodes[i];
    if (nd->nin > 1) return merge(e, i, xin);
    const char *x = xin[0];
    const char *op = nd->op->name, *y = nd->name;
    on_shape xs = e->m->nodes[nd->in[0]].ys;
    char t1[ON_NAME_MAX + 16], t2[ON_NAME_MAX + 16], t3[ON_NAME_MAX + 16];
    snprintf(t1, sizeof t1, "%s/t1", y);
    snprintf(t2, sizeof t2, "%s/t2", y);
    snprintf(t3, sizeof t3, "%s/t3", y);
    Onnx__NodeProto *n = NULL;
#define IS(s) (!strcmp(op, s))
#define N(type, nm, out, ...)                                                                      \
    (n = node(e, type, nm, out, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),     \
              (const char *[]){__VA_ARGS__}))
    if (IS("conv2d") || IS("conv1d")) {
        if (nd->a.bias)
            N("Conv", y, y, x, param(e, i, 0), param(e, i, 1));
        else
            N("Conv", y, y, x, param(e, i, 0));
        if (window_attrs(e, n, nd, xs, 1)) return -1;
        attr_i(e, n, "group", nd->a.groups > 1 ? nd->a.groups : 1);
    } else if (IS("conv2d_transpose") || IS("conv1d_transpose")) {
        on_geom g;
        if (on_conv_t_geom(&nd->a, xs, &g, e->err)) return -1;
        if (nd->a.bias)
            N("ConvTranspose", y, y, x, param(e, i, 0), param(e, i, 1));
        else
            N("ConvTranspose", y, y, x, param(e, i, 0));
        /* 'same' is written out: explicit pads, and output_padding for the rows and columns
         * a kernel shorter than the stride leaves */
        const on_attrs *a = &nd->a;
        int two = xs.rank == 3, full_h = (xs.h - 1) * a->sh + a->dh * (a->kh - 1) + 1;
        int full_w = (xs.w - 1) * a->sw + a->dw * (a->kw - 1) + 1;
        int k[2] = {a->kh, a->kw}, s[2] = {a->sh, a->sw}, d[2] = {a->dh, a->dw};
        int pads[4] = {g.pt, g.pl, g.pb, g.pr};
        int op[2] = {g.h - (full_h - g.pt - g.pb), g.w - (full_w - g.pl - g.pr)};
        if (!two) {
            k[0] = a->kw, s[0] = a->sw, d[0] = a->dw, op[0] = op[1];
            pads[0] = g.pl, pads[1] = g.pr;
        }
        attr_is(e, n, "kernel_shape", k, two ? 2 : 1);
        attr_is(e, n, "strides", s, two ? 2 : 1);
        attr_is(e, n, "pads", pads, two ? 4 : 2);
        attr_is(e, n, "dilations", d, two ? 2 : 1);
        attr_is(e, n, "output_padding", op, two ? 2 : 1);
        attr_i(e, n, "group", a->groups > 1 ? a->groups : 1);
    } else if (IS("dense")) {
        if (nd->a.bias)
            N("Gemm", y, y, x, param(e, i, 0), param(e, i, 1));
        else
            N("Gemm", y, y, x, param(e, i, 0));
        attr_i(e, n, "transB", 1);
    } else if (IS("batchnorm")) {
        N("BatchNormalization", y, y, x, param(e, i, 0), param(e, i, 1), param(e, i, 2),
          param(e, i, 3));
        attr_f(e, n, "epsilon", nd->a.eps);
        attr_f(e, n, "momentum", 1 - nd->a.momentum);
    } else if (IS("dropout")) {
        snprintf(t1, sizeof t1, "%s.ratio", y);
        N("Dropout", y, y, x, scalar(e, t1, nd->a.rate));
    } else if (IS("flatten")) {
        N("Flatten", y, y, x);
        attr_i(e, n, "axis", 1);
    } else if (nd->op->props & ON_PROP_POOL) {
        int mn = nd->op->pool_kind == ON_POOL_MIN, avg = nd->op->pool_kind == ON_POOL_AVG;
        if (mn) N("Neg", t1, t1, x);
        N(avg ? "AveragePool" : "MaxPool", y, mn ? t2 : y, mn ? t1 : x); /* the layer's name */
        if (window_attrs(e, n, nd, xs, 0)) return -1;
        attr_i(e, n, "ceil_mode", nd->a.ceil_mode);
        if (avg) attr_i(e, n, "count_include_pad", nd->a.count_include_pad);
        if (mn) N("Neg", t3, y, t2);
    } else if (IS("global_avgpool")) {
        N("GlobalAveragePool", y, t1, x);
        N("Flatten", t2, y, t1); /* ordnet's result is (N, C), ONNX's (N, C, 1, 1) */
        attr_i(e, n, "axis", 1);
    } else if (IS("identity")) {
        N("Identity", y, y, x);
    } else if (IS("relu") || IS("tanh") || IS("sigmoid") || IS("selu")) {
        N(IS("relu") ? "Relu" : IS("tanh") ? "Tanh" : IS("sigmoid") ? "Sigmoid" : "Selu", y, y, x);
    } else if (IS("leaky_relu") || IS("elu") || IS("celu")) {
        N(IS("leaky_relu") ? "LeakyRelu" : IS("elu") ? "Elu" : "Celu", y, y, x);
        attr_f(e, n, "alpha", nd->a.alpha);
    } else if (IS("prelu")) {
        const on_tensor *t = &e->m->tensors[nd->t0];
        int64_t dims[3] = {xs.c, 1, 1};
        if (init(e, t->name, on_tensor_ptr((on_model *)e->m, nd->t0), xs.rank, dims)) return -1;
        N("PRelu", y, y, x, t->name);
    } else if (IS("hardtanh") || IS("relu6")) {
        snprintf(t1, sizeof t1, "%s.min", y);
        snprintf(t2, sizeof t2, "%s.max", y);
        N("Clip", y, y, x, scalar(e, t1, IS("relu6") ? 0 : nd->a.lo),
          scalar(e, t2, IS("relu6") ? 6 : nd->a.hi));
    } else if (IS("softplus")) {
        if (nd->a.alpha != 1)
            return on_fail(e->err,
                           "layer '%s': softplus with beta %g has no ONNX operator "
                           "(ONNX's Softplus has beta 1)",
                           y, nd->a.alpha);
        N("Softplus", y, y, x);
    } else if (IS("gelu")) {
        N("Div", t1, t1, x, scalar(e, "ordnet.sqrt2", 1.41421356237309515f));
        N("Erf", t2, t2, t1);
        N("Add", t3, t3, t2, scalar(e, "ordnet.one", 1.0f));
        snprintf(t1, sizeof t1, "%s/t4", y);
        N("Mul", t1, t1, x, t3);
        N("Mul", y, y, t1, scalar(e, "ordnet.half", 0.5f));
    } else if (IS("silu")) {
        N("Sigmoid", t1, t1, x);
        N("Mul", y, y, x, t1);
    } else if (IS("mish")) {
        N("Softplus", t1, t1, x);
        N("Tanh", t2, t2, t1);
        N("Mul", y, y, x, t2);
    } else if (IS("hard_sigmoid")) {
        N("HardSigmoid", y, y, x);
        attr_f(e, n, "alpha", nd->a.alpha);
        attr_f(e, n, "beta", nd->a.offset);
    } else if (IS("hard_swish")) { /* HardSwish is opset 14: x * HardSigmoid(x), as PyTorch */
        N("HardSigmoid", t1, t1, x);
        attr_f(e, n, "alpha", 1.0f / 6.0f);
        N("Mul", y, y, x, t1);
    } else if (IS("softsign") || IS("exponential")) {
        N(IS("softsign") ? "Softsign" : "Exp", y, y, x);
    } else if (IS("rescaling")) {
        snprintf(t2, sizeof t2, "%s.scale", y);
        snprintf(t3, sizeof t3, "%s.offset", y);
        N("Mul", t1, t1, x, scalar(e, t2, nd->a.scale));
        N("Add", y, y, t1, scalar(e, t3, nd->a.offset));
    } else if (IS("upsample2d") || IS("upsample1d")) {
        /* Resize with the scales as PyTorch writes nn.Upsample / F.interpolate */
        float *sc = px(e, 4 * sizeof(float));
        int64_t r = xs.rank + 1;
        if (!sc) return -1;
        sc[0] = sc[1] = 1;
        sc[2] = xs.rank == 3 ? nd->a.scale_h : nd->a.scale_w;
        sc[3] = nd->a.scale_w;
        snprintf(t1, sizeof t1, "%s.scales", y);
        if (init(e, t1, sc, 1, &r)) return -1;
        N("Resize", y, y, x, "", t1);
        int lin = nd->a.mode == ON_RESIZE_LINEAR;
        attr_s(e, n, "mode", lin ? "linear" : "nearest");
        attr_s(e, n, "coordinate_transformation_mode",
               !lin                  ? "asymmetric"
               : nd->a.align_corners ? "align_corners"
                                     : "half_pixel");
        attr_s(e, n, "nearest_mode", "floor");
    } else if (IS("zeropad2d") || IS("zeropad1d") || IS("crop2d") || IS("crop1d")) {
        /* Pad (pads begin then end, per axis) or Slice (starts, ends on the spatial axes) */
        const int *p = nd->a.pad;
        int two = xs.rank == 3, crop = IS("crop2d") || IS("crop1d");
        int64_t *v = px(e, 8 * sizeof(int64_t)), n8 = two ? 8 : 6, n2 = two ? 2 : 1;
        if (!v) return -1;
        snprintf(t1, sizeof t1, "%s.pads", y);
        snprintf(t2, sizeof t2, "%s.value", y);
        if (crop) {
            int64_t *ax = v + 6, *en = v + 4, *st = v + 2;
            st[0] = two ? p[0] : p[2], st[1] = p[2];
            en[0] = two ? xs.h - p[1] : xs.w - p[3], en[1] = xs.w - p[3];
            ax[0] = 2, ax[1] = 3;
            snprintf(t1, sizeof t1, "%s.starts", y);
            snprintf(t2, sizeof t2, "%s.ends", y);
            snprintf(t3, sizeof t3, "%s.axes", y);
            if (init_i64(e, t1, st, 1, &n2) || init_i64(e, t2, en, 1, &n2) ||
                init_i64(e, t3, ax, 1, &n2))
                return -1;
            N("Slice", y, y, x, t1, t2, t3);
        } else {
            memset(v, 0, 8 * sizeof(int64_t));
            if (two)
                v[2] = p[0], v[3] = p[2], v[6] = p[1], v[7] = p[3];
            else
                v[2] = p[2], v[5] = p[3];
            if (init_i64(e, t1, v, 1, &n8)) return -1;
            N("Pad", y, y, x, t1, scalar(e, t2, nd->a.alpha));
            attr_s(e, n, "mode",
                   nd->a.mode == ON_PADFILL_REFLECT ? "reflect"
                   : nd->a.mode == ON_PADFILL_EDGE  ? "edge"
                                                    : "constant");
        }
    } else if (IS("channel_shuffle")) {
        /* Reshape (N,g,C/g,spatial) -> Transpose(0,2,1,...) -> Reshape (N,C,spatial), as
         * PyTorch writes ShuffleNet's channel_shuffle (0 in a shape copies the batch) */
        int64_t *sh = px(e, 12 * sizeof(int64_t)), r = xs.rank + 1, g = nd->a.groups;
        int perm[5] = {0, 2, 1, 3, 4};
        int64_t sp[2] = {xs.rank == 3 ? xs.h : xs.w, xs.w};
        if (!sh) return -1;
        sh[0] = 0, sh[1] = g, sh[2] = xs.c / g;
        sh[6] = 0, sh[7] = xs.c;
        for (int i = 0; i < xs.rank - 1; i++) sh[3 + i] = sp[i], sh[8 + i] = sp[i];
        int64_t r5 = r + 1;
        snprintf(t3, sizeof t3, "%s.groups_shape", y);
        if (init_i64(e, t3, sh, 1, &r5)) return -1;
        N("Reshape", t1, t1, x, t3);
        N("Transpose", y, t2, t1); /* the layer's name: the importer names the layer after it */
        attr_is(e, n, "perm", perm, (int)r5);
        snprintf(t3, sizeof t3, "%s.shape", y);
        if (init_i64(e, t3, sh + 6, 1, &r)) return -1;
        char back[ON_NAME_MAX + 16];
        snprintf(back, sizeof back, "%s/t3", y);
        N("Reshape", back, y, t2, t3);
    } else if (IS("channel_slice")) {
        int64_t *v = px(e, 3 * sizeof(int64_t)), one = 1;
        if (!v) return -1;
        v[0] = nd->a.pad[0], v[1] = nd->a.pad[0] + nd->a.units, v[2] = 1;
        snprintf(t1, sizeof t1, "%s.starts", y);
        snprintf(t2, sizeof t2, "%s.ends", y);
        snprintf(t3, sizeof t3, "%s.axes", y);
        if (init_i64(e, t1, v, 1, &one) || init_i64(e, t2, v + 1, 1, &one) ||
            init_i64(e, t3, v + 2, 1, &one))
            return -1;
        N("Slice", y, y, x, t1, t2, t3);
    } else if (IS("embedding")) {
        /* the table's rows at the int64 ids (N,L) are (N,L,D), and ordnet's output is (N,D,L):
         * Gather then Transpose(0,2,1), as PyTorch writes nn.Embedding before a Conv1d */
        static const int swap[3] = {0, 2, 1};
        if (nd->in[0] != 0)
            return on_fail(e->err,
                           "layer '%s': an embedding exports only on the model's input (ONNX's "
                           "Gather takes integer ids; ordnet computes floats)",
                           y);
        N("Gather", y, t1, param(e, i, 0), x);
        attr_i(e, n, "axis", 0);
        N("Transpose", t2, y, t1);
        attr_is(e, n, "perm", swap, 3);
    } else if (IS("permute")) {
        int perm[4] = {0, 1 + nd->a.perm[0], 1 + nd->a.perm[1], 1 + nd->a.perm[2]};
        N("Transpose", y, y, x);
        attr_is(e, n, "perm", perm, xs.rank + 1);
    } else if (IS("reshape")) {
        int64_t *sh = px(e, 4 * sizeof(int64_t)), r = nd->a.ndims + 1;
        if (!sh) return -1;
        sh[0] = 0; /* the batch, copied */
        for (int i = 0; i < nd->a.ndims; i++) sh[1 + i] = nd->a.dims[i];
        snprintf(t1, sizeof t1, "%s.shape", y);
        if (init_i64(e, t1, sh, 1, &r)) return -1;
        N("Reshape", y, y, x, t1);
    } else if (IS("layernorm")) {
        /* LayerNormalization is opset 17: written out as PyTorch below 17 writes it, over the
         * one normalized axis (ReduceMean Sub Pow ReduceMean Add Sqrt Div Mul Add), with the
         * weight and bias shaped to broadcast along that axis */
        int R = xs.rank, ax = (nd->a.axis < 0 ? R + nd->a.axis : nd->a.axis) + 1, axes[1] = {ax};
        const on_tensor *w = &e->m->tensors[nd->t0];
        int64_t dims[4] = {(int64_t)w->d.dims[0], 1, 1, 1}, nd1 = R + 1 - ax;
        char t4[ON_NAME_MAX + 16], t5[ON_NAME_MAX + 16], t6[ON_NAME_MAX + 16];
        snprintf(t4, sizeof t4, "%s/var", y);
        snprintf(t5, sizeof t5, "%s/std", y);
        snprintf(t6, sizeof t6, "%s/norm", y);
        N("ReduceMean", t1, t1, x);
        attr_is(e, n, "axes", axes, 1);
        N("Sub", t2, t2, x, t1);
        N("Pow", t3, t3, t2, scalar(e, "ordnet.two", 2.0f));
        N("ReduceMean", t4, t4, t3);
        attr_is(e, n, "axes", axes, 1);
        snprintf(t1, sizeof t1, "%s.eps", y);
        N("Add", t5, t5, t4, scalar(e, t1, nd->a.eps));
        snprintf(t4, sizeof t4, "%s/sqrt", y);
        N("Sqrt", t4, t4, t5);
        N("Div", t6, t6, t2, t4);
        for (int p = 0; p < 2; p++) {
            const on_tensor *t = &e->m->tensors[nd->t0 + p];
            if (init(e, t->name, on_tensor_ptr((on_model *)e->m, nd->t0 + p), (int)nd1, dims))
                return -1;
        }
        snprintf(t5, sizeof t5, "%s/scaled", y);
        N("Mul", t5, t5, t6, e->m->tensors[nd->t0].name);
        N("Add", y, y, t5, e->m->tensors[nd->t0 + 1].name);
    } else if (nd->op->props & ON_PROP_STOCHASTIC) { /* the noise layers: identity at inference */
        N("Identity", y, y, x);
    } else {
        return on_fail(e->err, "layer '%s': op %s has no ONNX export", y, op);
    }
#undef N
#undef IS
    return 0;
}

/* A graph input or output: float32 (N, dims[0..nd)). */
static Onnx__ValueInfoProto *value_info(ex *e, const char *name, int nd, const int64_t *dims) {
    Onnx__ValueInfoProto *v = px(e, sizeof *v);
    Onnx__TypeProto *t = px(e, sizeof *t);
    Onnx__TypeProto__Tensor *tt = px(e, sizeof *tt);
    Onnx__TensorShapeProto *sh = px(e, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dl = px(e, sizeof(void *) * (size_t)(nd + 1));
    if (!v || !t || !tt || !sh || !dl) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(t);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    int r = nd + 1;
    for (int i = 0; i < r; i++) {
        Onnx__TensorShapeProto__Dimension *dm = px(e, sizeof *dm);
        if (!dm) return NULL;
        onnx__tensor_shape_proto__dimension__init(dm);
        if (i == 0) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = pstr(e, "N");
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = dims[i - 1];
        }
        dl[i] = dm;
    }
    sh->n_dim = (size_t)r;
    sh->dim = dl;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = pstr(e, name);
    v->type = t;
    return v;
}

/* Is name a layer's (so its value in the graph) other than node i's? */
static int layer_value(const on_model *m, const char *name, int i) {
    for (int j = 0; j < m->nn; j++)
        if (j != i && !strcmp(m->nodes[j].name, name)) return 1;
    return !strcmp(name, "input") || !strncmp(name, "input.", 6);
}

/* Every node input and output called from is called to instead. */
static void rename_value(ex *e, const char *from, const char *to) {
    char *t = pstr(e, to);
    for (size_t j = 0; t && j < e->nn; j++) {
        Onnx__NodeProto *n = e->nodes[j];
        for (size_t i = 0; i < n->n_input; i++)
            if (!strcmp(n->input[i], from)) n->input[i] = t;
        for (size_t i = 0; i < n->n_output; i++)
            if (!strcmp(n->output[i], from)) n->output[i] = t;
    }
}

/* Graph output k: node i's value, under the output's own name (an Identity) and with its
 * declared dims (a Reshape, e.g. (N,C,1,1) after global pooling where ordnet holds (C))
 * when they differ from the layer's. */
static Onnx__ValueInfoProto *output(ex *e, int k) {
    const on_model *m = e->m;
    int i = on_model_output_node(m, k);
    int64_t d[ON_ARRAY_MAX_DIMS], own[3];
    int nd = on_model_output_dims(m, k, d), r = m->nodes[i].ys.rank;
    on_shape s = m->nodes[i].ys;
    own[0] = s.c, own[1] = r == 3 ? s.h : s.w, own[2] = s.w;
    const char *name = on_model_output_name(m, k), *from = i ? m->nodes[i].name : "input";
    if (layer_value(m, name, i)) name = from; /* taken: the layer's own name */
    for (int j = 0; j < k; j++)               /* two outputs of one name: the second renamed */
        if (!strcmp(e->outs[j], name)) name = NULL;
    char buf[2 * ON_NAME_MAX + 16];
    if (!name) snprintf(buf, sizeof buf, "%s.output%d", from, k), name = buf;
    int reshape = nd != r || memcmp(d, own, sizeof(int64_t) * (size_t)nd);
    if (reshape && !strcmp(name, from)) { /* the layer's value gets another name */
        char pre[2 * ON_NAME_MAX + 16];
        snprintf(pre, sizeof pre, "%s/flat", from);
        rename_value(e, from, pre);
        from = pstr(e, pre);
        if (!from) return NULL;
    }
    if (reshape) {
        char sn[4 * ON_NAME_MAX];
        snprintf(sn, sizeof sn, "%s.shape", name);
        int64_t *sv = px(e, sizeof(int64_t) * (size_t)(nd + 1)), n1 = nd + 1;
        if (!sv) return NULL;
        sv[0] = 0; /* Reshape's 0: the batch, copied */
        memcpy(sv + 1, d, sizeof(int64_t) * (size_t)nd);
        if (init_i64(e, sn, sv, 1, &n1)) return NULL;
        node(e, "Reshape", name, name, 2, (const char *[]){from, sn});
    } else if (strcmp(name, from)) {
        node(e, "Identity", name, name, 1, (const char *[]){from});
    }
    e->outs[k] = pstr(e, name);
    return value_info(e, name, nd, d);
}

/* Input normalization as Sub(mean) then Mul(1/std), as ordnet applies it. */
static const char *normalization(ex *e) {
    const float *mean, *sd;
    if (!on_model_normalization(e->m, &mean, &sd)) return "input";
    on_shape s = e->m->input;
    float *inv = px(e, sizeof(float) * (size_t)s.c);
    if (!inv) return "input";
    for (int c = 0; c < s.c; c++) inv[c] = 1.0f / sd[c];
    int64_t dims[3] = {s.c, 1, 1};
    init(e, "input.mean", mean, s.rank, dims);
    init(e, "input.inv_std", inv, s.rank, dims);
    node(e, "Sub", "normalize.sub", "input.centered", 2, (const char *[]){"input", "input.mean"});
    node(e, "Mul", "normalize.mul", "input.normalized", 2,
         (const char *[]){"input.centered", "input.inv_std"});
    return "input.normalized";
}

/* Does the model take token ids (its input read by embeddings)? Then the ONNX input is
 * int64, and no other layer may read it. 1, 0, or -1 with err. */
static int takes_ids(const on_model *m, on_error *err) {
    const on_op *emb = on_op_find("embedding");
    int ids = -1, other = -1;
    for (int i = 1; i < m->nn; i++)
        for (int k = 0; k < m->nodes[i].nin; k++)
            if (m->nodes[i].in[k] == 0) *(m->nodes[i].op == emb ? &ids : &other) = i;
    if (ids < 0) return 0;
    if (other >= 0)
        return on_fail(err,
                       "the input is token ids for embedding '%s' and values for layer '%s': "
                       "an ONNX input has one type",
                       m->nodes[ids].name, m->nodes[other].name);
    const float *mean, *sd;
    if (on_model_normalization(m, &mean, &sd))
        return on_fail(err, "the input is token ids for embedding '%s' and has a normalization",
                       m->nodes[ids].name);
    return 1;
}

int on_onnx_encode(const on_model *m, void **buf, size_t *len, on_error *err) {
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return on_fail(err, "ONNX export on a big-endian machine is not supported");
    int sh = on_model_first_shared(m);
    if (sh) /* an initializer read by two nodes is legal ONNX, but not written yet */
        return on_fail(err,
                       "ONNX export: layer '%s' shares the weights of '%s' (a layer applied "
                       "twice); exporting shared layers is not supported",
                       m->nodes[sh].name, m->nodes[m->nodes[sh].share].name);
    ex e = {.m = m, .err = err};
    int rc = -1, ids = takes_ids(m, err);
    *buf = NULL;
    *len = 0;
    if (ids < 0) return -1;
    const char *in0 = normalization(&e);
    for (int i = 1; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        const char *xin[ON_MAX_INPUTS];
        for (int k = 0; k < nd->nin; k++) xin[k] = nd->in[k] == 0 ? in0 : m->nodes[nd->in[k]].name;
        if (layer(&e, i, xin)) goto done;
    }
    if (m->nn < 2) {
        on_fail(err, "the model has no layers");
        goto done;
    }
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    Onnx__OperatorSetIdProto ops = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsp = &ops;
    int64_t din[3] = {m->input.c, m->input.rank == 3 ? m->input.h : m->input.w, m->input.w};
    Onnx__ValueInfoProto *vin = value_info(&e, "input", m->input.rank, din);
    if (vin && ids) vin->type->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    int nout = on_model_num_outputs(m);
    if (nout > ON_MAX_OUTPUTS) {
        on_fail(err, "the model has %d outputs; ONNX export writes at most %d", nout,
                ON_MAX_OUTPUTS);
        goto done;
    }
    Onnx__ValueInfoProto **vout = px(&e, sizeof(void *) * (size_t)nout);
    for (int k = 0; vout && k < nout; k++)
        if (!(vout[k] = output(&e, k))) goto done;
    if (e.oom || !vin || !vout) {
        on_fail(err, "out of memory building the ONNX model");
        goto done;
    }
    g.name = "ordnet";
    g.n_node = e.nn;
    g.node = e.nodes;
    g.n_initializer = e.ni;
    g.initializer = e.inits;
    g.n_input = 1;
    g.input = &vin;
    g.n_output = (size_t)nout;
    g.output = vout;
    ops.domain = "";
    ops.has_version = 1;
    ops.version = OX_EXPORT_OPSET;
    mp.has_ir_version = 1;
    mp.ir_version = 7;
    mp.producer_name = "ordnet";
    mp.producer_version = ORDNET_VERSION;
    mp.n_opset_import = 1;
    mp.opset_import = &opsp;
    mp.graph = &g;
    size_t n = onnx__model_proto__get_packed_size(&mp);
    if (!(*buf = malloc(n ? n : 1))) {
        on_fail(err, "out of memory for a %zu-byte ONNX file", n);
        goto done;
    }
    *len = onnx__model_proto__pack(&mp, *buf);
    rc = 0;
done:
    while (e.pool) {
        block *b = e.pool->next;
        free(e.pool);
        e.pool = b;
    }
    free(e.nodes);
    free(e.inits);
    return rc;
}

int on_onnx_save(const on_model *m, const char *path, on_error *err) {
    void *buf;
    size_t len;
    on_error e2;
    if (on_onnx_encode(m, &buf, &len, &e2)) return on_fail(err, "%s: %s", path, e2.msg);
    const void *parts[1] = {buf};
    int rc = on_write_atomic(path, parts, &len, 1, err);
    free(buf);
    return rc;
}
