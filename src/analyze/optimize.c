/* optimize.c - `ordnet optimize` as a library call: a model rewritten for inference into a
 * cheaper form that computes the same function, and a checker that runs two models side
 * by side. docs/OPTIMIZE.md gives the proofs of each rewrite.
 *
 * The model is copied into a small editable graph (nodes with their own copies of the
 * weights, inputs by index, a dead flag), rewritten there until no rule applies, then
 * rebuilt with on_model_new / on_model_add_at / on_model_add_sum, keeping the names of the
 * surviving layers so every tensor is copied by name. Rules, highest priority first; after
 * each applied rewrite the search starts again from the first rule:
 *
 *   0. remove layers whose output nothing reads                               exact
 *   1. remove dropout (the identity at inference) and identity layers        exact
 *   2. fold an eval BatchNorm that directly follows a conv/dense into it      rounding
 *  2b. fold an eval BatchNorm after a concatenation of convs/dense layers     rounding
 *      into each of them (its channels split by the concatenation's ranges)
 *   3. drop the second of two identical idempotent layers (relu relu)         exact
 *   4. merge two max-pools (or min-pools) that tile their inputs             exact
 *   5. a BatchNorm after conv/dense -> pools: move it before the pools when   exact, then
 *      on_commute says each swap is exact, then fold it (rule 2)              rounding
 *   6. move a pool (or a global max-pool) before the elementwise layer that   exact
 *      feeds it when on_commute says so (ON_EXACT, or ON_EXACT_CHANGE with
 *      max <-> min) and the pool shrinks the tensor
 *   7. move an elementwise layer before a nearest upsampling or a zero        exact
 *      padding that feeds it (a layer that copies values and grows the
 *      tensor) when on_commute says the swap is exact
 *
 * Only simple chains are rewritten (and 2b's concatenation, read by the BatchNorm only, of
 * layers read by it only): a layer whose output another layer also reads (a residual
 * branch, DenseNet's reused features) is never moved, folded away or merged.
 */
#include "analyze.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----- the editable graph ----- */

typedef struct xnode {
    const on_op *op; /* NULL: the input */
    on_attrs a;
    char name[ON_NAME_MAX];
    int in[ON_MAX_INPUTS], nin;
    int dead;
    on_shape ys;
    int np;
    char pname[4][2 * ON_NAME_MAX];
    float *p[4];
    size_t psz[4];
} xnode;

typedef struct xgraph {
    xnode *n;
    int nn, out;         /* out: the node the model outputs */
    int xout[64], nxout; /* its further declared outputs (on_model_set_output), 1.. */
    on_rewrite *rw;
    int max_rw, nrw;
} xgraph;

static void xg_free(xgraph *g) {
    for (int i = 0; g->n && i < g->nn; i++)
        for (int k = 0; k < g->n[i].np; k++) free(g->n[i].p[k]);
    free(g->n);
}

static on_shape xs_of(const xgraph *g, int i) {
    return g->n[g->n[i].in[0]].ys;
}

/* Recompute every live node's output shape (rewrites move layers). */
static int xg_shapes(xgraph *g, on_error *err) {
    for (int i = 1; i < g->nn; i++) {
        xnode *x = &g->n[i];
        if (x->dead) continue;
        on_error e2;
        on_shape xs[ON_MAX_INPUTS];
        for (int k = 0; k < x->nin; k++) xs[k] = g->n[x->in[k]].ys;
        if (x->nin > 1 ? x->op->shape_n(&x->a, xs, x->nin, &x->ys, &e2)
                       : x->op->shape(&x->a, xs[0], &x->ys, &e2))
            return on_fail(err, "optimize: layer '%s' no longer fits: %s", x->name, e2.msg);
    }
    return 0;
}

static int xg_load(xgraph *g, const on_model *m, on_error *err) {
    g->nn = m->nn;
    g->out = m->nn - 1;
    g->nxout = on_model_num_outputs(m) - 1;
    if (g->nxout > 64) return on_fail(err, "optimize: more than 65 outputs");
    for (int k = 0; k < g->nxout; k++) g->xout[k] = on_model_output_node(m, k + 1);
    g->n = calloc((size_t)m->nn, sizeof *g->n);
    if (!g->n) return on_fail(err, "out of memory");
    for (int i = 0; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        xnode *x = &g->n[i];
        x->op = nd->op;
        x->a = nd->a;
        memcpy(x->in, nd->in, sizeof x->in);
        x->nin = nd->nin;
        x->ys = nd->ys;
        snprintf(x->name, sizeof x->name, "%s", nd->name);
        if (nd->nt > 4)
            return on_fail(err, "optimize: layer '%s' has %d tensors", nd->name, nd->nt);
        for (int k = 0; k < nd->nt; k++) {
            const on_tensor *t = &m->tensors[nd->t0 + k];
            size_t ln = strlen(nd->name);
            const char *pn =
                !strncmp(t->name, nd->name, ln) && t->name[ln] == '.' ? t->name + ln + 1 : t->name;
            snprintf(x->pname[k], sizeof x->pname[k], "%s", pn);
            x->psz[k] = t->d.size;
            x->p[k] = malloc(sizeof(float) * (t->d.size ? t->d.size : 1));
            if (!x->p[k]) return on_fail(err, "out of memory");
            x->np = k + 1;
            memcpy(x->p[k], on_tensor_ptr((on_model *)m, nd->t0 + k), sizeof(float) * t->d.size);
        }
    }
    return 0;
}

static float *param(xnode *x, const char *name) {
    for (int k = 0; k < x->np; k++)
        if (!strcmp(x->pname[k], name)) return x->p[k];
    return NULL;
}

/* How many live nodes read node i (the model's output counts as one more reader). */
static int readers(const xgraph *g, int i) {
    int r = i == g->out;
    for (int k = 0; k < g->nxout; k++) r += i == g->xout[k];
    for (int j = i + 1; j < g->nn; j++) {
        if (g->n[j].dead) continue;
        for (int k = 0; k < g->n[j].nin; k++) r += g->n[j].in[k] == i;
    }
    return r;
}

/* Node j is a one-input layer reading i, and nothing else reads i. */
static int chain(const xgraph *g, int i, int j) {
    if (i < 1 || j <= i || g->n[i].dead || g->n[j].dead) return 0;
    return g->n[i].nin == 1 && g->n[j].nin == 1 && g->n[j].in[0] == i && readers(g, i) == 1;
}

/* Every reader of `from` reads `to` instead; node `from` dies. */
static void bypass(xgraph *g, int from, int to) {
    for (int j = from + 1; j < g->nn; j++)
        for (int k = 0; k < g->n[j].nin; k++)
            if (g->n[j].in[k] == from) g->n[j].in[k] = to;
    if (g->out == from) g->out = to;
    for (int k = 0; k < g->nxout; k++)
        if (g->xout[k] == from) g->xout[k] = to;
    g->n[from].dead = 1;
}

static on_layer_view view(const xgraph *g, int i) {
    const xnode *x = &g->n[i];
    return (on_layer_view){.op = x->op,
                           .a = x->a,
                           .xs = xs_of(g, i),
                           .p = x->np ? (const float *const *)x->p : NULL,
                           .name = x->name};
}

static void note(xgraph *g, int exact, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note(xgraph *g, int exact, const char *fmt, ...) {
    if (g->rw && g->nrw < g->max_rw) {
        on_rewrite *r = &g->rw[g->nrw];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->what, sizeof r->what, fmt, ap);
        va_end(ap);
        r->exact = exact;
    }
    g->nrw++;
}

/* Properties of node i as decided from its attributes and weights. */
static unsigned props(const xgraph *g, int i) {
    const xnode *x = &g->n[i];
    unsigned p = x->op->props;
    if (x->op->props_of && (!x->op->params || x->np))
        p = x->op->props_of(&x->a, x->np ? (const float *const *)x->p : NULL, xs_of(g, i));
    return p;
}

static int is_bn(const xnode *x) {
    return x->op == on_op_find("batchnorm");
}
static int is_linear(const xnode *x) {
    return x->op && (x->op->props & ON_PROP_LINEAR_MAP);
}
static int is_pool(const xnode *x) {
    return x->op && (x->op->props & ON_PROP_POOL);
}

/* The op of the other extreme pool (maxpool2d <-> minpool2d), or NULL. */
static const on_op *flipped_pool(const on_op *op) {
    char nm[32];
    if (!strncmp(op->name, "max", 3))
        snprintf(nm, sizeof nm, "min%s", op->name + 3);
    else if (!strncmp(op->name, "min", 3))
        snprintf(nm, sizeof nm, "max%s", op->name + 3);
    else
        return NULL;
    const on_op *f = on_op_find(nm);
    return f && f->pool_kind != op->pool_kind && f->pool_kind != ON_POOL_AVG ? f : NULL;
}

/* ----- the rules ----- */

/* 0. A layer whose output nothing reads (a dead branch) does not change the output. */
static int rule_unused(xgraph *g) {
    for (int i = g->nn - 1; i >= 1; i--) {
        if (g->n[i].dead || readers(g, i)) continue;
        note(g, 1, "remove %s '%s' (nothing reads its output)", g->n[i].op->name, g->n[i].name);
        g->n[i].dead = 1;
        return 1;
    }
    return 0;
}

/* 1. Dropout is the identity at inference; so is an identity layer, and any layer whose
 * properties say f(x) = x for x > 0 (LEAKY) and affine (so f(x) = x everywhere). */
static int rule_identity(xgraph *g) {
    for (int i = 1; i < g->nn; i++) {
        xnode *x = &g->n[i];
        if (x->dead || x->nin != 1) continue;
        unsigned p = props(g, i);
        int drop = (x->op->props & (ON_PROP_STOCHASTIC | ON_PROP_AUGMENT)) != 0;
        int ident = (p & (ON_PROP_ELEMENTWISE | ON_PROP_LEAKY | ON_PROP_AFFINE)) ==
                        (ON_PROP_ELEMENTWISE | ON_PROP_LEAKY | ON_PROP_AFFINE) &&
                    !(p & ON_PROP_PER_CHANNEL) && !x->np;
        if (!drop && !ident) continue;
        note(g, 1, "remove %s '%s' (%s)", x->op->name, x->name,
             drop ? "the identity at inference" : "the identity");
        bypass(g, i, x->in[0]);
        return 1;
    }
    return 0;
}

/* Fold the weights of eval BatchNorm node b, its channels [off, off + F), into the
 * conv/dense node l of F output channels (whose output they normalize); the caller unlinks
 * b. */
static int fold(xgraph *g, int l, int b, int off, on_error *err, int *failed) {
    xnode *L = &g->n[l], *B = &g->n[b];
    int F = L->a.units;
    float *gamma = param(B, "weight"), *beta = param(B, "bias"), *mean = param(B, "running_mean"),
          *var = param(B, "running_var");
    float *w = param(L, "weight");
    if (!gamma || !beta || !mean || !var || !w || B->psz[0] < (size_t)(off + F)) {
        *failed = on_fail(err, "optimize: cannot fold '%s' into '%s': unexpected tensors", B->name,
                          L->name);
        return 0;
    }
    int added = 0;
    if (!L->a.bias) { /* a conv without bias gets one: its tensors follow the op's table */
        on_attrs na = L->a;
        na.bias = 1;
        on_param_desc pd[4];
        int np = L->op->params(&na, xs_of(g, l), L->ys, pd);
        int k = L->np;
        if (np != L->np + 1 || k >= 4 || pd[k].size != (size_t)F) {
            *failed = on_fail(err, "optimize: cannot give '%s' a bias", L->name);
            return 0;
        }
        float *bias = calloc((size_t)F, sizeof(float));
        if (!bias) {
            *failed = on_fail(err, "out of memory");
            return 0;
        }
        snprintf(L->pname[k], sizeof L->pname[k], "%s", pd[k].name);
        L->p[k] = bias;
        L->psz[k] = (size_t)F;
        L->np++;
        L->a = na;
        added = 1;
    }
    float *bias = param(L, "bias");
    /* Conv and dense weights are (F, ...): one block per output channel. A transposed
     * convolution's are (C, F/G, kh, kw): input channel c (of group c / (C/G)) holds a
     * block of kh kw per output channel of its group. */
    int C = xs_of(g, l).c, G = L->a.groups > 1 ? L->a.groups : 1;
    int transposed = strstr(L->op->name, "_transpose") != NULL;
    size_t per = L->psz[0] / (size_t)(transposed ? C : F);
    size_t taps = transposed ? per / (size_t)(F / G) : per;
    for (int f = 0; f < F; f++) {
        /* the same float arithmetic as eval-mode BatchNorm (batchnorm.c) */
        float a = gamma[off + f] / sqrtf(var[off + f] + B->a.eps);
        float shift = beta[off + f] - mean[off + f] * a;
        if (!transposed)
            for (size_t j = 0; j < per; j++) w[(size_t)f * per + j] *= a;
        else /* output channel f = j Fg + fo reads input channels [j Cg, (j+1) Cg) */
            for (int c = f / (F / G) * (C / G); c < (f / (F / G) + 1) * (C / G); c++)
                for (size_t k = 0; k < taps; k++)
                    w[(size_t)c * per + (size_t)(f % (F / G)) * taps + k] *= a;
        bias[f] = (float)((double)a * bias[f] + shift);
    }
    if (F == B->ys.c)
        note(g, 0, "fold %s '%s' into %s '%s'%s", B->op->name, B->name, L->op->name, L->name,
             added ? " (which gets a bias)" : "");
    else
        note(g, 0, "fold channels %d-%d of %s '%s' into %s '%s'%s", off, off + F - 1, B->op->name,
             B->name, L->op->name, L->name, added ? " (which gets a bias)" : "");
    return 1;
}

/* 2. BatchNorm directly after a conv or dense layer that nothing else reads. */
static int rule_fold(xgraph *g, on_error *err, int *failed) {
    for (int b = 1; b < g->nn; b++) {
        xnode *B = &g->n[b];
        if (B->dead || !is_bn(B)) continue;
        int l = B->in[0];
        if (!is_linear(&g->n[l]) || !chain(g, l, b) || g->n[l].ys.c != B->ys.c) continue;
        if (!fold(g, l, b, 0, err, failed)) return 0;
        bypass(g, b, l);
        return 1;
    }
    return 0;
}

/* 2b. conv/dense on every input -> concat -> BatchNorm, the concatenation read by the
 * BatchNorm only and each conv by the concatenation only: the BatchNorm runs on each input
 * (its channels split by the concatenation's ranges; the whole of it on each input of a
 * concatenation along a spatial axis: merge_rules.c says exact) and folds into each conv. */
static int rule_fold_through_concat(xgraph *g, on_error *err, int *failed) {
    const on_op *cat = on_op_find("concat");
    for (int b = 1; b < g->nn; b++) {
        xnode *B = &g->n[b];
        if (B->dead || !is_bn(B)) continue;
        int k = B->in[0];
        xnode *K = &g->n[k];
        if (K->op != cat || K->dead || readers(g, k) != 1) continue;
        on_merge_view mv = {.op = K->op, .a = K->a, .name = K->name, .nin = K->nin, .ys = K->ys};
        int ok = 1;
        for (int q = 0; q < K->nin && ok; q++) {
            int l = K->in[q];
            ok = l > 0 && is_linear(&g->n[l]) && readers(g, l) == 1;
            for (int r = 0; r < q && ok; r++) ok = K->in[r] != l;
            if (ok) mv.xs[q] = g->n[l].ys;
        }
        if (!ok) continue;
        on_layer_view f = view(g, b);
        on_merge_plan plan;
        on_verdict v = on_merge_commute(&mv, &f, 1, &plan);
        if (v.kind != ON_EXACT) continue;
        for (int q = 0, off = 0; q < K->nin; q++) {
            if (!fold(g, K->in[q], b, plan.split ? off : 0, err, failed)) return 0;
            off += mv.xs[q].c;
        }
        bypass(g, b, k);
        return 1;
    }
    return 0;
}

/* 3. f f with f idempotent and both layers the same function: the second is a no-op. */
static int rule_idempotent(xgraph *g) {
    for (int j = 1; j < g->nn; j++) {
        xnode *y = &g->n[j];
        if (y->dead || y->nin != 1 || y->np) continue;
        int i = y->in[0];
        xnode *x = &g->n[i];
        if (i < 1 || x->op != y->op || x->np || !on_attrs_equal(&x->a, &y->a)) continue;
        unsigned p = props(g, j);
        if (!(p & ON_PROP_IDEMPOTENT) || !(p & ON_PROP_ELEMENTWISE)) continue;
        note(g, 1, "drop %s '%s', a repeat of the idempotent '%s'", y->op->name, y->name, x->name);
        bypass(g, j, i);
        return 1;
    }
    return 0;
}

/* Windows of pool node i tile its input exactly: stride = size, no padding, sizes divisible. */
static int tiles(const xgraph *g, int i) {
    const xnode *x = &g->n[i];
    on_shape xs = xs_of(g, i);
    on_geom ge;
    if (on_geom_make(&x->a, xs, 0, &ge, NULL)) return 0;
    return ge.sh == x->a.kh && ge.sw == x->a.kw && !(ge.pt | ge.pb | ge.pl | ge.pr) &&
           xs.h % x->a.kh == 0 && xs.w % x->a.kw == 0;
}

/* 4. Two max-pools (or min-pools) that tile: one pool over the product window. */
static int rule_merge_pools(xgraph *g) {
    for (int j = 1; j < g->nn; j++) {
        xnode *q = &g->n[j];
        if (q->dead || !is_pool(q) || q->op->pool_kind == ON_POOL_AVG) continue;
        int i = q->in[0];
        xnode *p = &g->n[i];
        if (!is_pool(p) || p->op != q->op || !chain(g, i, j) || !tiles(g, i) || !tiles(g, j))
            continue;
        on_attrs a = p->a;
        a.kh = p->a.kh * q->a.kh;
        a.kw = p->a.kw * q->a.kw;
        a.sh = a.sw = 0; /* the window size */
        a.pad_mode = ON_PAD_VALID;
        memset(a.pad, 0, sizeof a.pad);
        a.ceil_mode = 0;
        char win[32];
        if (xs_of(g, i).rank == 2)
            snprintf(win, sizeof win, "%d", a.kw);
        else
            snprintf(win, sizeof win, "%dx%d", a.kh, a.kw);
        note(g, 1, "merge %s '%s' and '%s' (tiling windows) into one pool over %s", p->op->name,
             p->name, q->name, win);
        char keep[ON_NAME_MAX];
        snprintf(keep, sizeof keep, "%s", p->name);
        bypass(g, i, p->in[0]); /* q reads what p read */
        snprintf(q->name, sizeof q->name, "%s", keep);
        q->a = a;
        return 1;
    }
    return 0;
}

/* Swap chain nodes e (first) and p (second, reading only e); the array keeps topological
 * order: p takes e's slot and reads e's input, e takes p's slot and reads p. */
static void swap_chain(xgraph *g, int e, int p) {
    int src = g->n[e].in[0];
    xnode t = g->n[e];
    g->n[e] = g->n[p];
    g->n[p] = t;
    g->n[e].in[0] = src;
    g->n[p].in[0] = e; /* readers of slot p (the output, too) now read the elementwise layer */
}

/* Is the swap of chain nodes i (first) and j (second) exact at inference with the weights?
 * 1: ON_EXACT, 2: ON_EXACT_CHANGE (max <-> min), 0: no. */
static int exact_swap(const xgraph *g, int i, int j, on_verdict *v) {
    on_layer_view a = view(g, i), b = view(g, j);
    *v = on_commute(&a, &b, 1);
    if (v->kind == ON_EXACT) return 1;
    if (v->kind == ON_EXACT_CHANGE) return 2;
    return 0;
}

static void flip(xgraph *g, int i) {
    const on_op *f = flipped_pool(g->n[i].op);
    if (f) g->n[i].op = f;
}

/* 5. conv/dense -> pool ... pool -> BatchNorm: move the BatchNorm before the pools when each
 * swap is exact (on_commute at inference, with the weights), then fold it. */
static int rule_fold_through_pools(xgraph *g, on_error *err, int *failed) {
    for (int b = 1; b < g->nn; b++) {
        xnode *B = &g->n[b];
        if (B->dead || !is_bn(B)) continue;
        /* pools[0] feeds B, pools[k-1] reads the linear layer l */
        int pools[64], k = 0, i = B->in[0], prev = b;
        while (i > 0 && k < 64 && is_pool(&g->n[i]) && chain(g, i, prev)) {
            pools[k++] = i;
            prev = i;
            i = g->n[i].in[0];
        }
        int l = i;
        if (!k || !is_linear(&g->n[l]) || !chain(g, l, prev) || g->n[l].ys.c != B->ys.c) continue;
        /* move B back one pool at a time; each step is checked where B would then stand:
         * right after pools[s], whose input B would read next */
        int flips[64], ok = 1, src = B->in[0];
        for (int s = 0; s < k && ok; s++) {
            on_verdict v;
            B->in[0] = pools[s];
            int r = exact_swap(g, pools[s], b, &v);
            ok = r == 1 || (r == 2 && flipped_pool(g->n[pools[s]].op));
            flips[s] = r == 2;
        }
        B->in[0] = src;
        if (!ok) continue;
        for (int s = 0; s < k; s++) {
            if (flips[s]) flip(g, pools[s]);
            note(g, 1, "move %s '%s' before %s '%s'%s, to fold it", B->op->name, B->name,
                 g->n[pools[s]].op->name, g->n[pools[s]].name,
                 flips[s] ? " (which becomes the other extreme pool)" : "");
        }
        /* B now directly follows l: fold it, and B's readers read the last pool */
        if (!fold(g, l, b, 0, err, failed)) return 0;
        bypass(g, b, pools[0]);
        return 1;
    }
    return 0;
}

/* 6. elementwise e -> pool p, p the only reader of e: move p before e when exact and the
 * pool shrinks the tensor (e then runs on fewer values). */
static int rule_pool_first(xgraph *g) {
    for (int j = 1; j < g->nn; j++) {
        xnode *p = &g->n[j];
        if (p->dead || !(is_pool(p) || (p->op->props & ON_PROP_GLOBAL))) continue;
        int i = p->in[0];
        xnode *e = &g->n[i];
        if (i < 1 || !chain(g, i, j) || is_pool(e) || is_linear(e)) continue;
        on_shape es = xs_of(g, i);
        if (e->ys.rank != es.rank || e->ys.c != es.c || e->ys.h != es.h || e->ys.w != es.w)
            continue;
        if (on_shape_size(p->ys) >= on_shape_size(xs_of(g, j))) continue;
        on_verdict v;
        int r = exact_swap(g, i, j, &v);
        if (!r || (r == 2 && !flipped_pool(p->op))) continue;
        note(g, 1, "move %s '%s' before %s '%s'%s", p->op->name, p->name, e->op->name, e->name,
             r == 2 ? " as the other extreme pool" : "");
        if (r == 2) flip(g, j);
        swap_chain(g, i, j);
        return 1;
    }
    return 0;
}

/* 7. a layer m that copies values and grows the tensor (nearest upsampling, zero padding)
 * -> elementwise e, e the only reader of m: move e before m when exact (e then runs on
 * fewer values). */
static int rule_elementwise_first(xgraph *g) {
    for (int j = 1; j < g->nn; j++) {
        xnode *e = &g->n[j];
        int i = e->in[0];
        if (e->dead || i < 1 || e->op->ninputs != 1 || !chain(g, i, j)) continue;
        xnode *m = &g->n[i];
        on_shape ms = xs_of(g, i), es = xs_of(g, j);
        if (!(props(g, i) & ON_PROP_COPIES) || on_shape_size(m->ys) <= on_shape_size(ms) ||
            !(props(g, j) & ON_PROP_ELEMENTWISE) || e->ys.rank != es.rank || e->ys.c != es.c ||
            e->ys.h != es.h || e->ys.w != es.w)
            continue;
        on_verdict v;
        if (exact_swap(g, i, j, &v) != 1) continue;
        note(g, 1, "move %s '%s' before %s '%s'", e->op->name, e->name, m->op->name, m->name);
        swap_chain(g, i, j);
        return 1;
    }
    return 0;
}

/* ----- building the result ----- */

static on_model *xg_build(xgraph *g, const on_model *m, on_error *err) {
    int *map = malloc(sizeof(int) * (size_t)g->nn);
    char *reach = calloc((size_t)g->nn, 1);
    on_model *r = NULL;
    if (!map || !reach) {
        on_fail(err, "out of memory");
        goto done;
    }
    reach[g->out] = 1;
    for (int k = 0; k < g->nxout; k++) reach[g->xout[k]] = 1;
    for (int i = g->nn - 1; i >= 1; i--)
        if (reach[i] && !g->n[i].dead)
            for (int k = 0; k < g->n[i].nin; k++) reach[g->n[i].in[k]] = 1;
    if (!(r = on_model_new(m->input, err))) goto done;
    map[0] = 0;
    for (int i = 1; i < g->nn; i++) {
        xnode *x = &g->n[i];
        map[i] = -1;
        if (x->dead || !reach[i]) continue;
        on_error e2;
        int in[ON_MAX_INPUTS];
        for (int k = 0; k < x->nin; k++) in[k] = map[x->in[k]];
        int id = on_model_add_node(r, x->op, &x->a, in, x->nin, x->name, &e2);
        if (id < 0) {
            on_fail(err, "optimize: rebuilding '%s': %s", x->name, e2.msg);
            goto fail;
        }
        map[i] = id;
    }
    /* tensors by name: "<layer>.<param>" */
    for (int t = 0; t < r->nt; t++) {
        const on_tensor *tt = &r->tensors[t];
        const on_node *nd = &r->nodes[tt->node];
        const char *pn = tt->name + strlen(nd->name) + 1;
        xnode *src = NULL;
        for (int i = 1; i < g->nn && !src; i++)
            if (!g->n[i].dead && !strcmp(g->n[i].name, nd->name)) src = &g->n[i];
        float *d = NULL;
        size_t sz = 0;
        for (int k = 0; src && k < src->np && !d; k++)
            if (!strcmp(src->pname[k], pn)) d = src->p[k], sz = src->psz[k];
        if (!d || sz != tt->d.size) {
            on_fail(err, "optimize: tensor '%s' has no source of its size", tt->name);
            goto fail;
        }
        memcpy(on_tensor_ptr(r, t), d, sizeof(float) * sz);
    }
    /* the first output stays the last layer, the declared ones keep their names and dims */
    if (map[g->out] != r->nn - 1) {
        on_error e2;
        if (on_model_add_at(r, map[g->out], on_op_find("identity"), NULL, NULL, &e2) < 0) {
            on_fail(err, "optimize: the output: %s", e2.msg);
            goto fail;
        }
    }
    for (int k = 0; m->nout && k <= g->nxout; k++) {
        int64_t dims[ON_ARRAY_MAX_DIMS];
        int nd = on_model_output_dims(m, k, dims);
        if (on_model_set_output(r, k, k ? map[g->xout[k - 1]] : 0, on_model_output_name(m, k), nd,
                                dims, err))
            goto fail;
    }
    const float *mean, *std;
    if (on_model_normalization(m, &mean, &std)) on_model_set_normalization(r, mean, std);
    if (m->notes) {
        char *dup = strdup(m->notes);
        if (dup) {
            size_t n = strlen(dup);
            if (n && dup[n - 1] == '\n') dup[n - 1] = 0;
            if (*dup) on_model_add_note(r, dup);
            free(dup);
        }
    }
    r->seed = m->seed;
    goto done;
fail:
    on_model_free(r);
    r = NULL;
done:
    free(map);
    free(reach);
    return r;
}

on_model *on_optimize(const on_model *m, on_rewrite *rw, int max_rw, int *nrw, on_error *err) {
    if (nrw) *nrw = 0;
    if (!m) {
        on_fail(err, "optimize: no model");
        return NULL;
    }
    int sh = on_model_first_shared(m);
    if (sh) { /* folding a BatchNorm into a tied conv would change the other application too */
        on_fail(err,
                "optimize: layer '%s' shares the weights of '%s' (a layer applied twice); "
                "optimize does not rewrite models with shared layers",
                m->nodes[sh].name, m->nodes[m->nodes[sh].share].name);
        return NULL;
    }
    xgraph g = {.rw = rw, .max_rw = rw ? (max_rw > 0 ? max_rw : 0) : 0};
    on_model *r = NULL;
    int failed = 0;
    if (xg_load(&g, m, err)) goto done;
    for (int iter = 0;; iter++) {
        if (iter > 100000) {
            on_fail(err, "optimize: the rewrites do not terminate (a bug)");
            goto done;
        }
        if (xg_shapes(&g, err)) goto done;
        int applied = rule_unused(&g) || rule_identity(&g) || rule_fold(&g, err, &failed) ||
                      (!failed && rule_fold_through_concat(&g, err, &failed)) ||
                      (!failed && rule_idempotent(&g)) || (!failed && rule_merge_pools(&g)) ||
                      (!failed && rule_fold_through_pools(&g, err, &failed)) ||
                      (!failed && rule_pool_first(&g)) || (!failed && rule_elementwise_first(&g));
        if (failed) goto done;
        if (!applied) break;
    }
    r = xg_build(&g, m, err);
    if (r && nrw) *nrw = g.nrw < g.max_rw ? g.nrw : g.max_rw;
done:
    xg_free(&g);
    return r;
}

/* ----- checking: run two models side by side ----- */

/* x (n samples) normalized by m's statistics into out. */
static void normalize(const on_model *m, const float *x, int n, float *out) {
    const float *mean, *std;
    size_t S = on_shape_size(m->input), plane = S / (size_t)m->input.c;
    if (!on_model_normalization(m, &mean, &std)) {
        memcpy(out, x, sizeof(float) * S * (size_t)n);
        return;
    }
    for (size_t i = 0; i < (size_t)n * S; i++) {
        int c = (int)((i % S) / plane);
        out[i] = (x[i] - mean[c]) / std[c];
    }
}

#define VB 32

int on_verify_models(on_model *a, on_model *b, const on_dataset *data, int n, on_verify *out,
                     on_error *err) {
    char s1[48], s2[48];
    if (!out) return on_fail(err, "verify: no result to fill");
    *out = (on_verify){0, 0, 1, 0};
    if (!a || !b) return on_fail(err, "verify: no model");
    if (!on_shape_equal(a->input, b->input))
        return on_fail(err, "verify: input shapes differ: %s and %s",
                       on_shape_str(a->input, s1, sizeof s1),
                       on_shape_str(b->input, s2, sizeof s2));
    if (!on_shape_equal(on_model_output_shape(a), on_model_output_shape(b)))
        return on_fail(err, "verify: output shapes differ: %s and %s",
                       on_shape_str(on_model_output_shape(a), s1, sizeof s1),
                       on_shape_str(on_model_output_shape(b), s2, sizeof s2));
    if (data && n > 0 && !on_shape_equal(data->shape, a->input))
        return on_fail(err, "verify: the data's samples are %s, the models take %s",
                       on_shape_str(data->shape, s1, sizeof s1),
                       on_shape_str(a->input, s2, sizeof s2));
    int nd = data && n > 0 ? (n < data->n ? n : data->n) : 0;
    int ba = a->batch, bb = b->batch;
    if (on_model_compile(a, VB, err) || on_model_compile(b, VB, err)) return -1;
    size_t S = on_shape_size(a->input), O = on_shape_size(on_model_output_shape(a));
    float *x = malloc(sizeof(float) * S * VB), *xa = malloc(sizeof(float) * S * VB),
          *xb = malloc(sizeof(float) * S * VB);
    int rc = 0;
    if (!x || !xa || !xb) {
        rc = on_fail(err, "out of memory");
        goto done;
    }
    /* batch 0: random inputs uniform in [-3,3); batch 1: a coarse grid (multiples of 0.5 in
     * [-2,2]: many ties and exact zeros); then the data, normalized by each model */
    uint64_t seed = 12345;
    for (int bi = 0;; bi++) {
        int cnt = VB;
        const float *in_a = x, *in_b = x;
        if (bi < 2) {
            for (size_t i = 0; i < S * VB; i++) {
                double u = on_lcg_uniform(&seed);
                x[i] = bi == 0 ? (float)(6 * u - 3) : (float)((int)(9 * u) - 4) * 0.5f;
            }
        } else {
            int off = (bi - 2) * VB;
            if (off >= nd) break;
            if (nd - off < cnt) cnt = nd - off;
            normalize(a, data->x + (size_t)off * S, cnt, xa);
            normalize(b, data->x + (size_t)off * S, cnt, xb);
            in_a = xa;
            in_b = xb;
        }
        if (on_model_forward(a, in_a, cnt, 0) || on_model_forward(b, in_b, cnt, 0)) {
            rc = on_fail(err, "verify: forward failed");
            goto done;
        }
        const float *ya = on_model_output(a), *yb = on_model_output(b);
        for (int s = 0; s < cnt; s++) {
            double dmax = 0, scale = 0;
            for (size_t k = 0; k < O; k++) {
                float p = ya[s * O + k], q = yb[s * O + k];
                if (memcmp(&p, &q, sizeof p)) out->bit_identical = 0;
                double d = isnan(p) || isnan(q) ? (isnan(p) && isnan(q) ? 0 : INFINITY)
                                                : fabs((double)p - q);
                if (d > dmax) dmax = d;
                if (fabs(p) > scale) scale = fabs(p);
                if (fabs(q) > scale) scale = fabs(q);
            }
            double rel = dmax == 0 ? 0 : scale > 0 ? dmax / scale : INFINITY;
            if (dmax > out->max_abs) out->max_abs = dmax;
            if (rel > out->max_rel) out->max_rel = rel;
            out->samples++;
        }
    }
done:
    free(x);
    free(xa);
    free(xb);
    /* leave each model compiled as it was (when it was) */
    on_error e2;
    if (ba > 0 && ba != VB) on_model_compile(a, ba, &e2);
    if (bb > 0 && bb != VB) on_model_compile(b, bb, &e2);
    return rc;
}
