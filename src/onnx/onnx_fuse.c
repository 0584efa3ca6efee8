/* onnx_fuse.c - patterns of several ONNX nodes that are one ordnet layer.
 *
 * Exporters decompose activations that ONNX (up to opset 18) lacks:
 *   GELU  x * (1 + Erf(x / sqrt 2)) * 0.5   (any order of the products; x * 0.7071 for the
 *                                            division; PyTorch: Div Erf Add Mul Mul)
 *   SiLU  x * Sigmoid(x)
 *   Mish  x * Tanh(Softplus(x))
 *   hard swish  x * HardSigmoid(x) with alpha 1/6, beta 1/2 (PyTorch below opset 14)
 *   softsign    x / (1 + Abs(x)) (PyTorch, any opset)
 * and write a dense layer as MatMul followed by Add of the bias (tf2onnx, PyTorch on
 * x @ W + b). An input normalization (x - mean) / std is Sub then Div (or Mul by 1/std).
 * Min-pooling is Neg, MaxPool, Neg (as ordnet exports it). Layer normalization below
 * opset 17 is ReduceMean Sub Pow ReduceMean Add Sqrt Div (Mul Add), as PyTorch writes it.
 * Each pattern is taken only when its inner values are read by nothing else, so removing
 * the inner nodes cannot change any other result.
 */
#include "onnx_import.h"

#include <math.h>
#include <string.h>

static const Onnx__NodeProto *producer(const ox_ctx *cx, int v, const char *op) {
    if (v < 0 || cx->v[v].producer < 0) return NULL;
    const Onnx__NodeProto *n = cx->g->node[cx->v[v].producer];
    return n->op_type && !strcmp(n->op_type, op) && n->n_output >= 1 ? n : NULL;
}

/* A value read only by the pattern being matched. */
static int inner(const ox_ctx *cx, int v) {
    return v >= 0 && cx->v[v].uses == 1 && cx->v[v].kind == OX_UNSET;
}

static int scalar(const ox_ctx *cx, int v, double *out) {
    if (v < 0 || cx->v[v].kind != OX_CONST || !cx->v[v].c.f || cx->v[v].c.size != 1) return 0;
    *out = cx->v[v].c.f[0];
    return 1;
}

static int near(double a, double b) {
    return fabs(a - b) <= 1e-6 * fabs(b);
}

/* The factors of a product: Mul nodes whose results only feed the product are opened. */
typedef struct product {
    int val[4], nval;
    int node[4], nnode;
    double k; /* the product of the constant factors */
} product;

static int open_mul(const ox_ctx *cx, int node, product *p, int depth) {
    const Onnx__NodeProto *n = cx->g->node[node];
    if (n->n_input != 2 || p->nnode == 4) return -1;
    p->node[p->nnode++] = node;
    for (int i = 0; i < 2; i++) {
        int v = ox_in(cx, n, (size_t)i);
        double c;
        if (v < 0) return -1;
        if (scalar(cx, v, &c))
            p->k *= c;
        else if (depth < 3 && inner(cx, v) && producer(cx, v, "Mul")) {
            if (open_mul(cx, cx->v[v].producer, p, depth + 1)) return -1;
        } else if (p->nval < 4)
            p->val[p->nval++] = v;
        else
            return -1;
    }
    return 0;
}

/* f(x) for the activation's factor t, or -1: Sigmoid(x); Tanh(Softplus(x));
 * Add(Erf(x / sqrt 2), 1). nodes[] receives the nodes of t. */
static int silu_x(const ox_ctx *cx, int t, int *nodes, int *nn) {
    const Onnx__NodeProto *s = inner(cx, t) ? producer(cx, t, "Sigmoid") : NULL;
    if (!s || s->n_input != 1) return -1;
    nodes[(*nn)++] = cx->v[t].producer;
    return ox_in(cx, s, 0);
}

static int mish_x(const ox_ctx *cx, int t, int *nodes, int *nn) {
    const Onnx__NodeProto *th = inner(cx, t) ? producer(cx, t, "Tanh") : NULL;
    int sp = th && th->n_input == 1 ? ox_in(cx, th, 0) : -1;
    const Onnx__NodeProto *s = inner(cx, sp) ? producer(cx, sp, "Softplus") : NULL;
    if (!s || s->n_input != 1) return -1;
    nodes[(*nn)++] = cx->v[t].producer;
    nodes[(*nn)++] = cx->v[sp].producer;
    return ox_in(cx, s, 0);
}

static int hswish_x(const ox_ctx *cx, int t, int *nodes, int *nn) {
    const Onnx__NodeProto *h = inner(cx, t) ? producer(cx, t, "HardSigmoid") : NULL;
    if (!h || h->n_input != 1) return -1;
    const Onnx__AttributeProto *al = ox_attr(h, "alpha"), *be = ox_attr(h, "beta");
    double alpha = al && al->has_f ? al->f : 0.2, beta = be && be->has_f ? be->f : 0.5;
    if (!near(alpha, 1.0 / 6.0) || !near(beta, 0.5)) return -1;
    nodes[(*nn)++] = cx->v[t].producer;
    return ox_in(cx, h, 0);
}

static int gelu_x(const ox_ctx *cx, int t, int *nodes, int *nn) {
    const Onnx__NodeProto *a = inner(cx, t) ? producer(cx, t, "Add") : NULL;
    if (!a || a->n_input != 2) return -1;
    double one;
    int e = ox_in(cx, a, 0);
    if (scalar(cx, e, &one))
        e = ox_in(cx, a, 1);
    else if (!scalar(cx, ox_in(cx, a, 1), &one))
        return -1;
    const Onnx__NodeProto *erf = inner(cx, e) ? producer(cx, e, "Erf") : NULL;
    int d = erf && erf->n_input == 1 ? ox_in(cx, erf, 0) : -1;
    if (!near(one, 1.0) || !inner(cx, d)) return -1;
    const Onnx__NodeProto *div = producer(cx, d, "Div"), *mul = producer(cx, d, "Mul");
    double c;
    int x = -1;
    if (div && div->n_input == 2 && scalar(cx, ox_in(cx, div, 1), &c) && near(c, sqrt(2.0)))
        x = ox_in(cx, div, 0);
    else if (mul && mul->n_input == 2) {
        int i = scalar(cx, ox_in(cx, mul, 1), &c) ? 0 : 1;
        if (scalar(cx, ox_in(cx, mul, 1 - (size_t)i), &c) && near(c, sqrt(0.5)))
            x = ox_in(cx, mul, (size_t)i);
    }
    if (x < 0) return -1;
    nodes[(*nn)++] = cx->v[t].producer;
    nodes[(*nn)++] = cx->v[e].producer;
    nodes[(*nn)++] = cx->v[d].producer;
    return x;
}

static void match_activation(ox_ctx *cx, int root) {
    product p = {.k = 1.0};
    if (open_mul(cx, root, &p, 0) || p.nval != 2) return;
    static const struct {
        const char *op;
        double k;
        int (*x_of)(const ox_ctx *, int, int *, int *);
    } pats[] = {{"silu", 1.0, silu_x},
                {"mish", 1.0, mish_x},
                {"gelu", 0.5, gelu_x},
                {"hard_swish", 1.0, hswish_x}};
    for (size_t k = 0; k < sizeof pats / sizeof pats[0]; k++) {
        if (!near(p.k, pats[k].k)) continue;
        for (int i = 0; i < 2; i++) {
            int nodes[4], nn = 0;
            int x = pats[k].x_of(cx, p.val[1 - i], nodes, &nn);
            if (x < 0 || x != p.val[i]) continue;
            for (int j = 0; j < nn; j++) cx->plan[nodes[j]].skip = 1;
            for (int j = 1; j < p.nnode; j++) cx->plan[p.node[j]].skip = 1;
            cx->plan[root].fuse = on_op_find(pats[k].op);
            cx->plan[root].x = x;
            return;
        }
    }
}

/* Div(x, Add(Abs(x), 1)) (the Add's operands in either order): softsign. */
static void match_softsign(ox_ctx *cx, int root) {
    const Onnx__NodeProto *d = cx->g->node[root];
    if (d->n_input != 2) return;
    int x = ox_in(cx, d, 0), s = ox_in(cx, d, 1);
    const Onnx__NodeProto *a = inner(cx, s) ? producer(cx, s, "Add") : NULL;
    if (!a || a->n_input != 2 || x < 0) return;
    double one;
    int b = ox_in(cx, a, 0);
    if (scalar(cx, b, &one))
        b = ox_in(cx, a, 1);
    else if (!scalar(cx, ox_in(cx, a, 1), &one))
        return;
    const Onnx__NodeProto *abs = inner(cx, b) ? producer(cx, b, "Abs") : NULL;
    if (!near(one, 1.0) || !abs || abs->n_input != 1 || ox_in(cx, abs, 0) != x) return;
    cx->plan[cx->v[s].producer].skip = 1;
    cx->plan[cx->v[b].producer].skip = 1;
    cx->plan[root].fuse = on_op_find("softsign");
    cx->plan[root].x = x;
}

/* MatMul whose only reader is Add(result, constant): the Add is its bias. */
static void match_matmul_add(ox_ctx *cx, int mm) {
    const Onnx__NodeProto *n = cx->g->node[mm];
    if (n->n_output != 1) return;
    int o = ox_find(cx, n->output[0]);
    if (o < 0 || !inner(cx, o) || cx->v[o].reader < 0) return;
    int add = cx->v[o].reader;
    const Onnx__NodeProto *a = cx->g->node[add];
    if (!a->op_type || strcmp(a->op_type, "Add") || a->n_input != 2) return;
    int other = ox_in(cx, a, ox_in(cx, a, 0) == o ? 1 : 0);
    if (other < 0 || cx->v[other].kind != OX_CONST || !cx->v[other].c.f) return;
    cx->plan[mm].bias = add;
    cx->plan[add].skip = 1;
}

/* The graph input read only by Sub(input, mean), read only by Div(., std) or Mul(., 1/std). */
static void match_normalize(ox_ctx *cx) {
    int in = cx->input;
    if (cx->v[in].uses != 1 || cx->v[in].reader < 0) return;
    int sub = cx->v[in].reader;
    const Onnx__NodeProto *s = cx->g->node[sub];
    if (!s->op_type || strcmp(s->op_type, "Sub") || s->n_input != 2 || s->n_output != 1 ||
        ox_in(cx, s, 0) != in)
        return;
    int mean = ox_in(cx, s, 1), o = ox_find(cx, s->output[0]);
    if (mean < 0 || cx->v[mean].kind != OX_CONST || o < 0 || !inner(cx, o) || cx->v[o].reader < 0)
        return;
    const Onnx__NodeProto *d = cx->g->node[cx->v[o].reader];
    if (!d->op_type || (strcmp(d->op_type, "Div") && strcmp(d->op_type, "Mul")) ||
        d->n_input != 2 || ox_in(cx, d, 0) != o)
        return;
    int sd = ox_in(cx, d, 1);
    if (sd < 0 || cx->v[sd].kind != OX_CONST) return;
    cx->plan[sub].skip = 1;
    cx->plan[cx->v[o].reader].normalize = 1;
}

/* Neg(MaxPool(Neg(x))), ordnet's export of min-pooling: min over the window is exactly
 * -max(-x) (and the padding, -inf for MaxPool, is +inf for the min). */
static void match_minpool(ox_ctx *cx, int neg2) {
    const Onnx__NodeProto *n = cx->g->node[neg2];
    int p = n->n_input == 1 ? ox_in(cx, n, 0) : -1;
    const Onnx__NodeProto *mp = inner(cx, p) ? producer(cx, p, "MaxPool") : NULL;
    if (!mp || mp->n_input != 1 || mp->n_output != 1) return;
    int q = ox_in(cx, mp, 0);
    const Onnx__NodeProto *neg1 = inner(cx, q) ? producer(cx, q, "Neg") : NULL;
    if (!neg1 || neg1->n_input != 1) return;
    cx->plan[neg2].pass = 1;
    cx->plan[cx->v[p].producer].minpool = 1;
    cx->plan[cx->v[q].producer].pass = 1;
}

/* The single axis of ReduceMean node n (keepdims 1): the 'axes' attribute, or from opset 18
 * the constant second input; 0 when it is not one axis. */
static int one_axis(const ox_ctx *cx, const Onnx__NodeProto *n, int64_t *axis) {
    const Onnx__AttributeProto *a = ox_attr(n, "axes"), *kd = ox_attr(n, "keepdims");
    if (kd && kd->i != 1) return 0;
    if (a) {
        if (a->n_ints != 1) return 0;
        *axis = a->ints[0];
        return 1;
    }
    int v = ox_in(cx, n, 1);
    if (v < 0 || cx->v[v].kind != OX_CONST || !cx->v[v].c.i || cx->v[v].c.size != 1) return 0;
    *axis = cx->v[v].c.i[0];
    return 1;
}

/* A constant of floats (a LayerNorm weight or bias), or the Identity of one (PyTorch writes
 * equal initializers once and the others as Identity nodes, which run before the layer). */
static int float_const(const ox_ctx *cx, int v) {
    for (int depth = 0; v >= 0 && depth < 4; depth++) {
        if (cx->v[v].kind == OX_CONST) return cx->v[v].c.f != NULL;
        const Onnx__NodeProto *id = producer(cx, v, "Identity");
        if (!id || id->n_input != 1 || cx->v[v].producer > cx->v[v].reader) return 0;
        v = ox_in(cx, id, 0);
    }
    return 0;
}

/* Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub(..), 2)), eps))) over one axis,
 * then Mul(., weight) and Add(., bias) when they follow: one layernorm. The Sub is read by
 * the Pow and the Div only; every other inner value by the pattern only. */
static void match_layernorm(ox_ctx *cx, int div) {
    const Onnx__NodeProto *dv = cx->g->node[div];
    if (dv->n_input != 2 || dv->n_output != 1) return;
    int d = ox_in(cx, dv, 0), sq = ox_in(cx, dv, 1);
    const Onnx__NodeProto *sub = producer(cx, d, "Sub");
    const Onnx__NodeProto *sqrt = inner(cx, sq) ? producer(cx, sq, "Sqrt") : NULL;
    if (!sub || !sqrt || sub->n_input != 2 || cx->v[d].uses != 2 || cx->v[d].kind != OX_UNSET)
        return;
    int x = ox_in(cx, sub, 0), mean = ox_in(cx, sub, 1), a = ox_in(cx, sqrt, 0);
    const Onnx__NodeProto *rm1 = inner(cx, mean) ? producer(cx, mean, "ReduceMean") : NULL;
    const Onnx__NodeProto *add = inner(cx, a) ? producer(cx, a, "Add") : NULL;
    if (!rm1 || !add || ox_in(cx, rm1, 0) != x || add->n_input != 2) return;
    double eps, two;
    int var = ox_in(cx, add, 0);
    if (!scalar(cx, ox_in(cx, add, 1), &eps) || !(eps > 0)) return;
    const Onnx__NodeProto *rm2 = inner(cx, var) ? producer(cx, var, "ReduceMean") : NULL;
    int pw = rm2 ? ox_in(cx, rm2, 0) : -1;
    const Onnx__NodeProto *pow = inner(cx, pw) ? producer(cx, pw, "Pow") : NULL;
    int64_t ax1, ax2;
    if (!pow || pow->n_input != 2 || ox_in(cx, pow, 0) != d ||
        !scalar(cx, ox_in(cx, pow, 1), &two) || two != 2 || !one_axis(cx, rm1, &ax1) ||
        !one_axis(cx, rm2, &ax2) || ax1 != ax2)
        return;
    int nodes[6] = {cx->v[d].producer,   cx->v[mean].producer, cx->v[pw].producer,
                    cx->v[var].producer, cx->v[a].producer,    cx->v[sq].producer};
    int root = div, w = -1, b = -1, o = ox_find(cx, dv->output[0]);
    /* the affine part: Mul by a constant, then Add of a constant (either operand order) */
    for (int step = 0; step < 2 && o >= 0 && inner(cx, o) && cx->v[o].reader >= 0; step++) {
        const Onnx__NodeProto *r = cx->g->node[cx->v[o].reader];
        if (!r->op_type || strcmp(r->op_type, step ? "Add" : "Mul") || r->n_input != 2 ||
            r->n_output != 1)
            break;
        int c = ox_in(cx, r, ox_in(cx, r, 0) == o ? 1 : 0);
        if (!float_const(cx, c)) break;
        if (step)
            b = c;
        else
            w = c;
        cx->plan[root].skip = 1;
        root = cx->v[o].reader;
        o = ox_find(cx, r->output[0]);
        if (!step && w < 0) break;
    }
    for (int i = 0; i < 6; i++) cx->plan[nodes[i]].skip = 1;
    cx->plan[root].skip = 0;
    cx->plan[root].ln = 1;
    cx->plan[root].ln_x = x;
    cx->plan[root].ln_axis = (int)(ax1 < -64 || ax1 > 64 ? 64 : ax1);
    cx->plan[root].ln_eps = (float)eps;
    cx->plan[root].ln_w = w;
    cx->plan[root].ln_b = b;
}

void ox_find_patterns(ox_ctx *cx) {
    match_normalize(cx);
    /* roots are visited last first, so a product nested in a larger one is not taken alone */
    for (int k = (int)cx->g->n_node - 1; k >= 0; k--) {
        const Onnx__NodeProto *n = cx->g->node[k];
        if (!cx->plan[k].live || cx->plan[k].skip || !n->op_type) continue;
        if (!strcmp(n->op_type, "Mul")) match_activation(cx, k);
        if (!strcmp(n->op_type, "MatMul")) match_matmul_add(cx, k);
        if (!strcmp(n->op_type, "Div")) match_softsign(cx, k);
        if (!strcmp(n->op_type, "Div") && !cx->plan[k].fuse) match_layernorm(cx, k);
        if (!strcmp(n->op_type, "Neg")) match_minpool(cx, k);
    }
}
