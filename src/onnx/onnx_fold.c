/* onnx_fold.c - nodes whose inputs are all constants are computed when the model is read.
 *
 * Exporters compute small tensors in the graph: PyTorch writes F.pad's amounts as
 * ConstantOfShape -> Concat -> Reshape -> Slice (reversed) -> Transpose -> Reshape -> Cast,
 * and x.view(...)'s shapes as Shape -> Gather -> Concat. Such nodes are evaluated here, on
 * int64 or float tensors of up to OX_MAX_DIMS dimensions, and their outputs become constants
 * that the layer readers take (a Pad's pads, a Reshape's shape). Only these operators are
 * folded: ConstantOfShape, Reshape, Transpose, Slice, Concat, Cast,
 * Squeeze, Unsqueeze, Add, Sub, Mul, Div; the other readers of constants stay in
 * onnx_import.c.
 */
#include "onnx_import.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A fold makes at most this many values, or as many as its inputs hold: exporters' shape
 * arithmetic is small, and weights are only reshaped or cast. */
#define OX_FOLD_GROW (1 << 16)

/* A new constant of dims d[0..nd) of floats or ints, zeroed; -1 when out of memory or too big. */
static int make(ox_const *c, int nd, const int64_t *d, int ints) {
    memset(c, 0, sizeof *c);
    size_t n = 1;
    for (int i = 0; i < nd; i++) {
        if (d[i] < 0 || d[i] > (1 << 24) || (d[i] && n > ((size_t)1 << 24) / (size_t)d[i]))
            return -1;
        n *= (size_t)d[i];
        c->dims[i] = d[i];
    }
    c->ndims = nd;
    c->size = n;
    if (ints)
        c->i = calloc(n ? n : 1, sizeof(int64_t));
    else
        c->f = calloc(n ? n : 1, sizeof(float));
    return c->i || c->f ? 0 : -1;
}

/* Element j of a as a double / copied to element o of c. */
static void copy_el(ox_const *c, size_t o, const ox_const *a, size_t j) {
    if (c->i)
        c->i[o] = a->i ? a->i[j] : (int64_t)a->f[j];
    else
        c->f[o] = a->f ? a->f[j] : (float)a->i[j];
}

/* Row-major strides of a's dims. */
static void strides(const ox_const *a, int64_t *s) {
    int64_t m = 1;
    for (int i = a->ndims - 1; i >= 0; i--) s[i] = m, m *= a->dims[i];
}

static const ox_const *cin(const ox_ctx *cx, const Onnx__NodeProto *n, size_t i) {
    int v = ox_in(cx, n, i);
    return v >= 0 && cx->v[v].kind == OX_CONST ? &cx->v[v].c : NULL;
}

/* An int64 list input (or NULL when absent). */
static int ints_of(const ox_const *c, int64_t *out, int *n) {
    if (!c || !c->i || c->ndims > 1 || c->size > OX_MAX_DIMS) return -1;
    memcpy(out, c->i, sizeof(int64_t) * c->size);
    *n = (int)c->size;
    return 0;
}

static int fold_reshape(const ox_const *a, const int64_t *shape, int r, int allowzero,
                        ox_const *c) {
    int64_t d[OX_MAX_DIMS] = {0}, prod = 1;
    int infer = -1;
    if (r > OX_MAX_DIMS) return -1;
    for (int i = 0; i < r; i++) {
        d[i] = shape[i] == 0 && !allowzero ? (i < a->ndims ? a->dims[i] : -2) : shape[i];
        if (d[i] == -1 && infer < 0)
            infer = i;
        else if (d[i] < 0 || d[i] > (1 << 24) || prod > (1 << 24))
            return -1;
        else
            prod *= d[i] ? d[i] : 1;
    }
    if (infer >= 0) {
        if (!prod || a->size % (size_t)prod) return -1;
        d[infer] = (int64_t)a->size / prod;
    }
    size_t n = 1;
    for (int i = 0; i < r; i++) n *= (size_t)d[i];
    if (n != a->size || make(c, r, d, a->i != NULL)) return -1;
    for (size_t j = 0; j < n; j++) copy_el(c, j, a, j);
    return 0;
}

static int fold_transpose(const ox_const *a, const int64_t *perm, int np, ox_const *c) {
    int r = a->ndims;
    int64_t p[OX_MAX_DIMS] = {0}, d[OX_MAX_DIMS] = {0}, sa[OX_MAX_DIMS], idx[OX_MAX_DIMS] = {0};
    unsigned seen = 0;
    for (int i = 0; i < r; i++) {
        p[i] = np < 0 ? r - 1 - i : perm[i];
        if ((np >= 0 && np != r) || p[i] < 0 || p[i] >= r || (seen & (1u << p[i]))) return -1;
        seen |= 1u << p[i];
        d[i] = a->dims[p[i]];
    }
    if (make(c, r, d, a->i != NULL)) return -1;
    strides(a, sa);
    for (size_t o = 0; o < c->size; o++) {
        size_t j = 0;
        for (int i = 0; i < r; i++) j += (size_t)(idx[i] * sa[p[i]]);
        copy_el(c, o, a, j);
        for (int i = r - 1; i >= 0 && ++idx[i] == d[i]; i--) idx[i] = 0;
    }
    return 0;
}

static int fold_slice(const ox_const *a, const int64_t *st, const int64_t *en, const int64_t *ax,
                      const int64_t *sp, int n, ox_const *c) {
    int r = a->ndims;
    int64_t b[OX_MAX_DIMS], step[OX_MAX_DIMS], d[OX_MAX_DIMS], sa[OX_MAX_DIMS],
        idx[OX_MAX_DIMS] = {0};
    for (int i = 0; i < r; i++) b[i] = 0, step[i] = 1, d[i] = a->dims[i];
    for (int i = 0; i < n; i++) {
        int64_t x = ax ? (ax[i] < 0 ? ax[i] + r : ax[i]) : i, len;
        if (x < 0 || x >= r) return -1;
        len = a->dims[x];
        int64_t s = sp ? sp[i] : 1, lo = st[i] < 0 ? st[i] + len : st[i],
                hi = en[i] < 0 ? en[i] + len : en[i];
        if (s == 0) return -1;
        if (s > len + 1) s = len + 1; /* one element at most either way: the same slice */
        if (s < -len - 1) s = -len - 1;
        if (s > 0) {
            lo = lo < 0 ? 0 : lo > len ? len : lo;
            hi = hi < 0 ? 0 : hi > len ? len : hi;
            d[x] = hi > lo ? (hi - lo + s - 1) / s : 0;
        } else { /* backwards from lo down to hi (exclusive), as ONNX clamps them */
            lo = lo < 0 ? 0 : lo > len - 1 ? len - 1 : lo;
            hi = hi < -1 ? -1 : hi > len - 1 ? len - 1 : hi;
            d[x] = len > 0 && lo > hi ? (lo - hi - s - 1) / -s : 0; /* an empty axis stays empty */
        }
        b[x] = lo;
        step[x] = s;
    }
    if (make(c, r, d, a->i != NULL)) return -1;
    strides(a, sa);
    for (size_t o = 0; o < c->size; o++) {
        size_t j = 0;
        for (int i = 0; i < r; i++) j += (size_t)((b[i] + idx[i] * step[i]) * sa[i]);
        copy_el(c, o, a, j);
        for (int i = r - 1; i >= 0 && ++idx[i] == d[i]; i--) idx[i] = 0;
    }
    return 0;
}

static int fold_concat(const ox_ctx *cx, const Onnx__NodeProto *n, int64_t axis, ox_const *c) {
    const ox_const *a0 = cin(cx, n, 0);
    int r = a0->ndims, ints = a0->i != NULL;
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return -1;
    int64_t d[OX_MAX_DIMS];
    memcpy(d, a0->dims, sizeof d);
    d[axis] = 0;
    for (size_t k = 0; k < n->n_input; k++) {
        const ox_const *a = cin(cx, n, k);
        if (!a || a->ndims != r || (a->i != NULL) != ints) return -1;
        for (int i = 0; i < r; i++)
            if (i != axis && a->dims[i] != a0->dims[i]) return -1;
        d[axis] += a->dims[axis];
    }
    if (make(c, r, d, ints)) return -1;
    size_t outer = 1, o = 0;
    for (int i = 0; i < axis; i++) outer *= (size_t)d[i];
    for (size_t q = 0; q < outer; q++)
        for (size_t k = 0; k < n->n_input; k++) {
            const ox_const *a = cin(cx, n, k);
            size_t run = outer ? a->size / outer : 0;
            for (size_t j = 0; j < run; j++) copy_el(c, o++, a, q * run + j);
        }
    return 0;
}

/* Add / Sub / Mul / Div of two constants of one shape or one of them a single value (the
 * channel count divided by the groups of a shuffle). Integers divide as C does (ONNX's
 * integer Div truncates); a batch size that is not known yet (OX_BATCH) is not folded. */
static int fold_arith(const char *t, const ox_const *a, const ox_const *b, ox_const *c) {
    const ox_const *big = a->size >= b->size ? a : b;
    if ((!a->i) != (!b->i) || (a->size != b->size && a->size != 1 && b->size != 1)) return -1;
    for (size_t j = 0; a->i && j < a->size; j++)
        if (a->i[j] == OX_BATCH) return -1;
    for (size_t j = 0; b->i && j < b->size; j++)
        if (b->i[j] == OX_BATCH) return -1;
    if (make(c, big->ndims, big->dims, a->i != NULL)) return -1;
    for (size_t j = 0; j < c->size; j++) {
        size_t ja = a->size == 1 ? 0 : j, jb = b->size == 1 ? 0 : j;
        if (c->i) {
            int64_t x = a->i[ja], y = b->i[jb], z = 0;
            int over = *t == 'A'   ? __builtin_add_overflow(x, y, &z)
                       : *t == 'S' ? __builtin_sub_overflow(x, y, &z)
                       : *t == 'M' ? __builtin_mul_overflow(x, y, &z)
                                   : y == 0 || (x == INT64_MIN && y == -1);
            if (over) {
                ox_const_free(c);
                return -1;
            }
            c->i[j] = *t == 'D' ? x / y : z;
        } else {
            float x = a->f[ja], y = b->f[jb];
            c->f[j] = *t == 'A' ? x + y : *t == 'S' ? x - y : *t == 'M' ? x * y : x / y;
        }
    }
    return 0;
}

int ox_fold(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    const char *t = n->op_type;
    static const char *const ops[] = {
        "ConstantOfShape", "Reshape",   "Transpose", "Slice", "Concat", "Cast",
        "Squeeze",         "Unsqueeze", "Add",       "Sub",   "Mul",    "Div"};
    size_t which = 0;
    while (which < sizeof ops / sizeof ops[0] && strcmp(ops[which], t)) which++;
    if (which == sizeof ops / sizeof ops[0] || !n->n_input || n->n_output != 1) return 0;
    for (size_t i = 0; i < n->n_input; i++) /* every given input a constant */
        if (n->input[i] && *n->input[i] && !cin(cx, n, i)) return 0;
    const ox_const *a = cin(cx, n, 0);
    if (!a) return 0;
    ox_const c;
    int64_t l1[OX_MAX_DIMS], l2[OX_MAX_DIMS], l3[OX_MAX_DIMS], l4[OX_MAX_DIMS];
    int n1 = -1, n2 = -1, n3 = -1, n4 = -1, bad = -1;
    const Onnx__AttributeProto *at;
    if (!strcmp(t, "ConstantOfShape")) {
        const Onnx__AttributeProto *v = ox_attr(n, "value");
        ox_const val = {0};
        if (ints_of(a, l1, &n1)) return 0;
        if (v && (!v->t || ox_tensor(v->t, &val, "value", cx->err) || val.size != 1)) {
            ox_const_free(&val);
            return 0;
        }
        bad = make(&c, n1, l1, val.i != NULL);
        for (size_t j = 0; !bad && j < c.size; j++)
            if (c.i)
                c.i[j] = val.i[0];
            else
                c.f[j] = val.f ? val.f[0] : 0;
        ox_const_free(&val);
    } else if (!strcmp(t, "Reshape")) {
        const Onnx__AttributeProto *az = ox_attr(n, "allowzero");
        if (ints_of(cin(cx, n, 1), l1, &n1)) return 0;
        bad = fold_reshape(a, l1, n1, az && az->i, &c);
    } else if (!strcmp(t, "Transpose")) {
        at = ox_attr(n, "perm");
        if (at && at->n_ints <= OX_MAX_DIMS) {
            if (at->n_ints) memcpy(l1, at->ints, sizeof(int64_t) * at->n_ints);
            n1 = (int)at->n_ints;
        } else if (at) {
            return 0;
        }
        bad = fold_transpose(a, l1, n1, &c);
    } else if (!strcmp(t, "Slice")) {
        if (cx->opset < 10) {
            const char *nm[3] = {"starts", "ends", "axes"};
            int64_t *dst[3] = {l1, l2, l3};
            int *cnt[3] = {&n1, &n2, &n3};
            for (int j = 0; j < 3; j++) {
                at = ox_attr(n, nm[j]);
                if (!at) continue;
                if (at->n_ints > OX_MAX_DIMS) return 0;
                if (at->n_ints) memcpy(dst[j], at->ints, sizeof(int64_t) * at->n_ints);
                *cnt[j] = (int)at->n_ints;
            }
        } else if (ints_of(cin(cx, n, 1), l1, &n1) || ints_of(cin(cx, n, 2), l2, &n2) ||
                   (cin(cx, n, 3) && ints_of(cin(cx, n, 3), l3, &n3)) ||
                   (cin(cx, n, 4) && ints_of(cin(cx, n, 4), l4, &n4))) {
            return 0;
        }
        if (n1 < 0 || n2 != n1 || (n3 >= 0 && n3 != n1) || (n4 >= 0 && n4 != n1)) return 0;
        bad = fold_slice(a, l1, l2, n3 >= 0 ? l3 : NULL, n4 >= 0 ? l4 : NULL, n1, &c);
    } else if (!strcmp(t, "Concat")) {
        at = ox_attr(n, "axis");
        if (!at) return 0;
        bad = fold_concat(cx, n, at->i, &c);
    } else if (!strcmp(t, "Cast")) {
        at = ox_attr(n, "to");
        if (!at) return 0;
        int ints = at->i == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
                   at->i == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
        if (!ints && at->i != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return 0;
        for (size_t j = 0; ints && a->f && j < a->size; j++)
            if (!(fabsf(a->f[j]) < 9e18f)) return 0; /* no int64 holds it: not folded */
        bad = make(&c, a->ndims, a->dims, ints);
        for (size_t j = 0; !bad && j < a->size; j++) copy_el(&c, j, a, j);
    } else if (!strcmp(t, "Add") || !strcmp(t, "Sub") || !strcmp(t, "Mul") || !strcmp(t, "Div")) {
        if (n->n_input != 2 || !cin(cx, n, 1)) return 0;
        bad = fold_arith(t, a, cin(cx, n, 1), &c);
    } else { /* Squeeze / Unsqueeze: a reshape */
        int un = !strcmp(t, "Unsqueeze");
        if (ox_axes_of(cx, k, 13, l1, &n1)) return -1;
        int r = a->ndims + (un ? n1 : 0), o = 0;
        unsigned mask = 0;
        if (r > OX_MAX_DIMS || (un && n1 < 1) || (n1 > 0 && ox_axes_mask(l1, n1, r, &mask)))
            return 0;
        for (int i = 0, j = 0; i < r; i++) {
            if (un)
                l2[o++] = mask & (1u << i) ? 1 : a->dims[j++];
            else if (n1 < 0 ? a->dims[i] != 1 : !(mask & (1u << i)))
                l2[o++] = a->dims[i];
            else if (a->dims[i] != 1)
                return 0;
        }
        bad = fold_reshape(a, l2, o, 1, &c);
    }
    if (bad) return 0; /* not foldable here: the operator's own reader decides */
    size_t held = 0;   /* what the inputs hold, each value once */
    for (size_t i = 0; i < n->n_input; i++) {
        int again = 0;
        for (size_t j = 0; j < i; j++) again |= !strcmp(n->input[i], n->input[j]);
        held += !again && cin(cx, n, i) ? cin(cx, n, i)->size : 0;
    }
    if (c.size > OX_FOLD_GROW && c.size > held) { /* found by fuzzing: a chain of folds */
        size_t sz = c.size; /* from a ConstantOfShape of 2^24 values took seconds */
        ox_const_free(&c);
        return ox_node_fail(cx, k,
                            "computing this constant makes %zu values from %zu: more than "
                            "shape arithmetic needs (at most %d, or as many as its inputs hold)",
                            sz, held, OX_FOLD_GROW);
    }
    ox_value *out = ox_out_value(cx, k);
    out->kind = OX_CONST;
    out->c = c;
    return 1;
}
