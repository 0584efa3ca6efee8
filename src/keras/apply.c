/* apply.c - Keras layers applied to tensors: nodes of the functional graph or of a
 * Sequential model, with Keras's shape checks and messages. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Applying layers                                                                      */

static const char *rank_text(int rank) {
    return rank == 1   ? "a flat input (None, features)"
           : rank == 2 ? "a 1-D input (None, steps, channels)"
                       : "a 2-D input (None, height, width, channels)";
}

static int softmax_mid(ctx *c, int smtok, const klayer *L) {
    char w[32];
    return kr_fail(c, smtok,
                   "softmax in the middle of the model (%s at %s comes after it): ordnet's loss "
                   "applies softmax itself, so softmax may only end the model; remove it or use "
                   "another activation",
                   L->cname, kr_where(c, L->tok, w, sizeof w));
}

/* Keras's axis of a layer output (the batch is axis 0) as ordnet's axis of the per-sample
 * shape (channels first) of rank `rank`; -1 for the batch or out of range. */
static int keras_axis(const ctx *c, int kaxis, int rank) {
    if (kaxis < 0) kaxis += rank + 1;
    if (kaxis < 1 || kaxis > rank) return -1;
    int j = kaxis - 1; /* per-sample, in Keras's order */
    if (c->chfirst || rank == 1) return j;
    return j == rank - 1 ? 0 : j + 1; /* channels last: (h, w, c) -> (c, h, w) */
}

/* Layers read as the identity: named in one note. */
void kr_note_identity(ctx *c, const char *nm) {
    size_t o = strlen(c->ident);
    if (o + strlen(nm) + 8 < sizeof c->ident)
        snprintf(c->ident + o, sizeof c->ident - o, "%s%s", o ? ", " : "", nm);
    else if (o + 5 < sizeof c->ident && !strstr(c->ident, "..."))
        snprintf(c->ident + o, sizeof c->ident - o, ", ...");
}

/* A Normalization layer whose values model.c writes into the model's tensors at the end. */
int kr_keep_norm(ctx *c, klayer *L) {
    for (int i = 0; i < c->nnorms; i++)
        if (c->norms[i] == L) return 0;
    if (c->nnorms == c->norm_cap) {
        int nc = c->norm_cap ? 2 * c->norm_cap : 8;
        klayer **nl = kr_cx_alloc(c, sizeof *nl * (size_t)nc);
        if (!nl) return kr_oom(c, L->tok);
        if (c->nnorms) memcpy(nl, c->norms, sizeof *nl * (size_t)c->nnorms);
        c->norms = nl, c->norm_cap = nc;
    }
    c->norms[c->nnorms++] = L;
    return 0;
}

/* Remember that L made node n of m (layer.trainable = False later freezes it there; applied
 * again in m, it is tied to it). */
int kr_record(ctx *c, klayer *L, on_model *m, int n) {
    if (!L->napplied) {
        if (c->nlays == c->lcap) {
            int nc = c->lcap ? 2 * c->lcap : 64;
            klayer **nl = kr_cx_alloc(c, sizeof *nl * (size_t)nc);
            if (!nl) return kr_oom(c, L->tok);
            if (c->nlays) memcpy(nl, c->lays, sizeof *nl * (size_t)c->nlays);
            c->lays = nl, c->lcap = nc;
        }
        c->lays[c->nlays++] = L;
    }
    if (L->napplied == L->acap) {
        int nc = L->acap ? 2 * L->acap : 2;
        on_model **am = kr_cx_alloc(c, sizeof *am * (size_t)nc);
        int *an = kr_cx_alloc(c, sizeof *an * (size_t)nc);
        if (!am || !an) return kr_oom(c, L->tok);
        if (L->napplied) {
            memcpy(am, L->am, sizeof *am * (size_t)L->napplied);
            memcpy(an, L->an, sizeof *an * (size_t)L->napplied);
        }
        L->am = am, L->an = an, L->acap = nc;
    }
    L->am[L->napplied] = m, L->an[L->napplied++] = n;
    return 0;
}

/* layer.trainable = ...: the layer's attribute and the nodes it has made. */
void kr_set_trainable(klayer *L, int trainable) {
    L->a.frozen = !trainable;
    for (int i = 0; i < L->napplied; i++) L->am[i]->nodes[L->an[i]].a.frozen = !trainable;
}

/* model.trainable = ... on a functional model: every node of the graph that leads to its
 * output node out (nodes are made in order, so one backward pass finds them). */
int kr_freeze_graph(ctx *c, on_model *g, int out, int trainable, int at) {
    if (!g || out < 0 || out >= g->nn) return 0;
    unsigned char *on = kr_cx_alloc(c, (size_t)g->nn);
    if (!on) return kr_oom(c, at);
    memset(on, 0, (size_t)g->nn);
    on[out] = 1;
    for (int i = out; i > 0; i--) {
        if (!on[i]) continue;
        g->nodes[i].a.frozen = !trainable;
        /* its layer's other nodes too: the copies where the model was called as a layer */
        for (int l = 0; l < c->nlays; l++)
            for (int r = 0; r < c->lays[l]->napplied; r++)
                if (c->lays[l]->am[r] == g && c->lays[l]->an[r] == i)
                    kr_set_trainable(c->lays[l], trainable);
        for (int k = 0; k < g->nodes[i].nin; k++)
            if (g->nodes[i].in[k] >= 0) on[g->nodes[i].in[k]] = 1;
    }
    return 0;
}

/* Node j of layer L's nodes (a SeparableConv has two) fed by from: tied to the node it made
 * at its application `first` in m (-1: none) when that node has weights. */
static int add_tied(on_model *m, const klayer *L, int first, int j, int from, const on_attrs *a,
                    const char *nm, on_error *e2) {
    int k = first >= 0 && first + j < L->napplied && L->am[first + j] == m ? L->an[first + j] : 0;
    if (k > 0 && m->nodes[k].nt > 0) return on_model_add_shared(m, k, &from, 1, nm, e2);
    return on_model_add_at(m, from, L->op, a, nm, e2);
}

/* Append layer L to m, fed by nodes in[0..nin). *out: its output node; *sm: the token of a
 * softmax it applies (folded later if it ends the model), -1 none. */
static int apply(ctx *c, on_model *m, klayer *L, const int *in, int nin, int *out, int *sm) {
    const kclass *k = L->cls;
    on_error e2;
    char nm[ON_NAME_MAX], ks[64];
    *sm = -1;
    if (k->kind == K_INPUTLAYER)
        return kr_fail(c, L->tok,
                       "InputLayer can only start a Sequential model; in the functional API use "
                       "Input(shape=...)");
    if (m->nn + nin + 1 > MAX_LAYERS)
        return kr_fail(c, L->tok, "the model has more than %d layers", MAX_LAYERS);
    /* applied in m before: a shared layer, its weight nodes tied to that application's */
    int first = -1;
    for (int i = 0; i < L->napplied && first < 0; i++)
        if (L->am[i] == m) first = i;
    if (L->name[0] && first < 0)
        snprintf(nm, sizeof nm, "%s", L->name);
    else
        on_keras_unique_name(m, L->name[0] ? L->name : k->snake, nm);
    if (k->kind == K_MERGE) {
        if (nin < 2)
            return kr_fail(c, L->tok,
                           "%s needs a list of at least two layer outputs, e.g. %s()([x, y])",
                           L->cname, L->cname);
        on_attrs a = L->a;
        if (!strcmp(L->op->name, "concat")) {
            int rank = m->nodes[in[0]].ys.rank, ax = keras_axis(c, L->axis, rank);
            if (ax < 0)
                return kr_fail(c, L->tok, "Concatenate(axis=%d) on inputs of %d dimensions",
                               L->axis, rank + 1);
            a.axis = ax;
        }
        int node = on_model_add_merge(m, L->op, &a, in, nin, nm, &e2);
        if (node < 0) return kr_fail(c, L->tok, "%s", e2.msg);
        *out = node;
        return 0;
    }
    if (nin != 1) return kr_fail(c, L->tok, "%s takes one input, got a list of %d", L->cname, nin);
    on_shape xs = m->nodes[in[0]].ys;
    on_keras_shape_str(xs, ks, sizeof ks);
    if (k->rank && xs.rank != k->rank) {
        const char *hint =
            k->rank == 1   ? (xs.rank == 3 ? ": add Flatten() or GlobalAveragePooling2D() before it"
                                           : ": add Flatten() or GlobalAveragePooling1D() before it")
            : xs.rank == 1 ? ": its input is already flat"
                           : "";
        return kr_fail(c, L->tok, "layer '%s' (%s) needs %s, got %s from '%s'%s", nm, L->cname,
                       rank_text(k->rank), ks, m->nodes[in[0]].name, hint);
    }
    if (k->kind == K_BN && c->chfirst && !(L->axis == 1 || (xs.rank == 1 && L->axis == -1)))
        return kr_fail(c, L->tok,
                       "BatchNormalization(axis=%d) in channels-first code normalizes over axis %d "
                       "(%s); ordnet normalizes over the channels, axis 1 here: write "
                       "BatchNormalization(axis=1)",
                       L->axis, L->axis,
                       L->axis == -1 ? "the last one, the width" : "not the channels");
    if (k->kind == K_BN && !c->chfirst && L->axis != -1 && L->axis != xs.rank)
        return kr_fail(
            c, L->tok,
            "BatchNormalization(axis=%d) on %s normalizes over axis %d; ordnet normalizes "
            "over the channels, the last axis (axis=-1)",
            L->axis, ks, L->axis);
    if (k->kind == K_PRELU) {
        int want = xs.rank == 3 ? 6 : xs.rank == 2 ? 2 : 0, got = L->shared < 0 ? 0 : L->shared;
        const char *fix = want == 6 ? "[1, 2]" : want == 2 ? "[1]" : "None";
        if (got != want && got == 0)
            return kr_fail(
                c, L->tok,
                "PReLU on %s learns one slope per value in Keras; ordnet's PReLU learns one "
                "per channel: write PReLU(shared_axes=%s)",
                ks, fix);
        if (got != want)
            return kr_fail(
                c, L->tok,
                "PReLU on %s: shared_axes must be %s (one slope per channel, as ordnet's "
                "PReLU learns)",
                ks, fix);
    }
    if (!L->op) { /* softmax alone: no node; the tensor carries it */
        *out = in[0];
        *sm = L->softmax;
        return 0;
    }
    int from = in[0];
    on_attrs a = L->a;
    if (k->kind == K_PERMUTE) { /* Keras's axes (channels last) -> ordnet's (channels first) */
        if (L->nperm != xs.rank)
            return kr_fail(c, L->tok, "Permute of %d axes on %s, which has %d", L->nperm, ks,
                           xs.rank);
        for (int i = 0; i < 3; i++) a.perm[i] = i;
        for (int i = 0; i < L->nperm; i++)
            a.perm[keras_axis(c, i + 1, xs.rank)] = keras_axis(c, L->kperm[i], xs.rank);
    }
    if (k->kind == K_NORM) { /* given statistics: one a channel (or one for all), both */
        if (!L->nmean != !L->nvar)
            return kr_fail(c, L->tok, "Normalization needs both mean= and variance=, or neither");
        if ((L->nmean && L->nmean_n != 1 && L->nmean_n != xs.c) ||
            (L->nvar && L->nvar_n != 1 && L->nvar_n != xs.c))
            return kr_fail(c, L->tok,
                           "Normalization's mean= and variance= have %d and %d values; its "
                           "input %s has %d channels (give one value, or one a channel)",
                           L->nmean_n, L->nvar_n, ks, xs.c);
        if (!L->nmean && !c->adapt_tok) c->adapt_tok = L->tok;
        if (L->nmean && kr_keep_norm(c, L)) return -1;
    }
    if (k->kind == K_LAYERNORM) {
        a.axis = keras_axis(c, L->axis, xs.rank);
        if (a.axis < 0) return kr_fail(c, L->tok, "LayerNormalization(axis=%d) on %s", L->axis, ks);
    }
    if (k->kind == K_RESHAPE && a.ndims > 1 && !c->chfirst && !c->reshape_tok)
        c->reshape_tok = L->tok;
    if (k->kind == K_DWCONV || k->kind == K_SEPCONV) /* one group per input channel */
        a.groups = xs.c, a.units = xs.c * L->depth_mult, a.bias = k->kind == K_DWCONV && a.bias;
    if (k->kind == K_IDENTITY) kr_note_identity(c, nm);
    if (k->kind == K_SEPCONV) { /* the depthwise part, then a 1x1 convolution */
        char base[ON_NAME_MAX + 16], dn[ON_NAME_MAX];
        double total = on_keras_param_estimate(L->op, &a, xs) + (double)m->np + (double)m->ns;
        if (total > (double)ON_MAX_MODEL_PARAMS)
            return kr_fail(c, L->tok,
                           "layer '%s' (%s) on %s would bring the model to %.0f parameters; ordnet "
                           "reads models of at most %zu",
                           nm, L->cname, ks, total, (size_t)ON_MAX_MODEL_PARAMS);
        snprintf(base, sizeof base, "%s_depthwise", nm);
        on_keras_unique_name(m, base, dn);
        if ((from = add_tied(m, L, first, 0, from, &a, dn, &e2)) < 0)
            return kr_fail(c, L->tok, "%s", e2.msg);
        xs = m->nodes[from].ys;
        on_keras_shape_str(xs, ks, sizeof ks);
        a = L->op->defaults;
        a.units = L->a.units;
        a.kh = a.kw = 1;
        a.bias = L->a.bias;
        a.frozen = L->a.frozen;
        memcpy(a.reg_l1, L->a.reg_l1, sizeof a.reg_l1); /* the kernel's: the pointwise one */
        memcpy(a.reg_l2, L->a.reg_l2, sizeof a.reg_l2);
        if (kr_record(c, L, m, from)) return -1;
    }
    double total = on_keras_param_estimate(L->op, &a, xs) + (double)m->np + (double)m->ns;
    if (total > (double)ON_MAX_MODEL_PARAMS)
        return kr_fail(
            c, L->tok,
            "layer '%s' (%s) on %s would bring the model to %.0f parameters; ordnet reads "
            "models of at most %zu",
            nm, L->cname, ks, total, (size_t)ON_MAX_MODEL_PARAMS);
    on_attrs act_a = L->act_a;
    if (L->act) { /* Keras regularizes the layer's output after its activation */
        act_a.reg_l1[2] = a.reg_l1[2], act_a.reg_l2[2] = a.reg_l2[2];
        a.reg_l1[2] = a.reg_l2[2] = 0;
    }
    int node = add_tied(m, L, first, k->kind == K_SEPCONV, from, &a, nm, &e2);
    if (node < 0) return kr_fail(c, L->tok, "%s", e2.msg);
    if (kr_record(c, L, m, node)) return -1;
    if (L->act) {
        char base[ON_NAME_MAX + 20], an[ON_NAME_MAX];
        snprintf(base, sizeof base, "%s_%s", m->nodes[node].name, L->act_name);
        on_keras_unique_name(m, base, an);
        if ((node = on_model_add_at(m, node, L->act, &act_a, an, &e2)) < 0)
            return kr_fail(c, L->tok, "%s", e2.msg);
    }
    *out = node;
    *sm = L->softmax;
    return 0;
}

/* Node i of the code graph is a copy of node o (kr_inline_model). */
int kr_set_origin(ctx *c, int i, int o) {
    if (i >= c->norigin) {
        int n = i + 64;
        int *p = realloc(c->origin, sizeof *p * (size_t)n);
        if (!p) return -1;
        memset(p + c->norigin, 0, sizeof *p * (size_t)(n - c->norigin));
        c->origin = p;
        c->norigin = n;
    }
    c->origin[i] = o;
    return 0;
}

/* Does node to of g depend on node from (from <= to)? */
int kr_reaches(const on_model *g, int from, int to) {
    if (from == to) return 1;
    char *keep = calloc((size_t)to + 1, 1);
    int r = 0;
    if (!keep) return 1; /* out of memory: say yes, the caller then refuses */
    keep[to] = 1;
    for (int i = to; i > from && !r; i--)
        for (int k = 0; keep[i] && k < g->nodes[i].nin; k++) {
            keep[g->nodes[i].in[k]] = 1;
            r |= g->nodes[i].in[k] == from;
        }
    free(keep);
    return r;
}

/* The attributes of the input_part node of an Input of shape s starting at value start of
 * the packed input. */
static on_attrs part_attrs(on_shape s, int start) {
    on_attrs a = on_op_find("input_part")->defaults;
    a.ndims = s.rank;
    a.dims[0] = s.c;
    a.dims[1] = s.rank == 3 ? s.h : s.w;
    a.dims[2] = s.w;
    a.pad[0] = start;
    return a;
}

/* The functional graph of tensor t and its node there. Every Input's layers are nodes of one
 * graph, ctx.cg, whose node 0 holds the Inputs packed one after another; each Input is an
 * input_part node of it, made the first time a layer is applied to it (the model at the end
 * is extracted from cg: with one Input, that Input is its node 0 again). */
int kr_graph_of(ctx *c, const kval *t, on_model **g, int *node) {
    char w[32];
    kinput *in = t->input;
    if (!in->g) {
        on_error e2;
        on_shape s = c->override ? *c->override : in->shape;
        if (!c->override && !in->known)
            return kr_fail(c, in->tok, "the shape of this Input is not known");
        const kinput *other = c->inputs;
        while (other && !other->g) other = other->next;
        if (c->override && other)
            return kr_fail(c, in->tok,
                           "a second Input (another at %s): the input shape given to the "
                           "reader would replace both; give it to code with one Input",
                           kr_where(c, other->tok, w, sizeof w));
        size_t size = on_shape_size(s);
        int start = 0;
        if (!c->cg) {
            if (!(c->cg = on_model_new((on_shape){1, (int)size, 1, 1}, &e2)))
                return kr_fail(c, in->tok, "%s", e2.msg);
            /* node 0 keeps the name "input": an unnamed Input is input_1, ... */
        } else { /* node 0 grows by this Input (no layer reads past its part) */
            start = c->cg->input.c;
            if ((size_t)start + size > (1u << 28))
                return kr_fail(c, in->tok, "the model's Inputs hold more than 2^28 values");
            c->cg->input.c += (int)size;
            c->cg->nodes[0].ys = c->cg->input;
        }
        if (c->cg->nn + 1 > MAX_LAYERS)
            return kr_fail(c, in->tok, "the model has more than %d layers", MAX_LAYERS);
        char nm[ON_NAME_MAX];
        on_attrs a = part_attrs(s, start);
        on_keras_unique_name(c->cg, in->name[0] ? in->name : "input", nm);
        in->part = on_model_add_at(c->cg, 0, on_op_find("input_part"), &a, nm, &e2);
        if (in->part < 0) return kr_fail(c, in->tok, "%s", e2.msg);
        in->g = c->cg;
        c->ngraphs++;
    }
    *g = in->g;
    *node = t->node >= 0 ? t->node : in->part;
    return 0;
}

/* x.shape of a layer output: Keras's tuple, the batch as None, channels last (first in
 * channels-first code). */
int kr_tensor_shape(ctx *c, kval *v, int at) {
    on_shape sh;
    if (v->node >= 0 && v->input && v->input->g)
        sh = v->input->g->nodes[v->node].ys;
    else if (v->input && (c->override || v->input->known))
        sh = c->override ? *c->override : v->input->shape;
    else
        return kr_fail(c, at, "the shape of this Input is not known");
    int d[4] = {0}, n = 1;
    if (sh.rank == 1)
        d[n++] = sh.c;
    else if (sh.rank == 2 && c->chfirst)
        d[n++] = sh.c, d[n++] = sh.w;
    else if (sh.rank == 2)
        d[n++] = sh.w, d[n++] = sh.c;
    else if (c->chfirst)
        d[n++] = sh.c, d[n++] = sh.h, d[n++] = sh.w;
    else
        d[n++] = sh.h, d[n++] = sh.w, d[n++] = sh.c;
    kval it[4];
    it[0] = kr_mk(V_NONE, at);
    for (int k = 1; k < n; k++) it[k] = kr_num_val(d[k], 1, at);
    int tok0 = v->tok;
    if (kr_make_seq(c, V_TUPLE, it, n, at, v)) return -1;
    v->tok = tok0;
    v->end = at + 1;
    return 0;
}

/* Functional application: layer L on tensors ins[0..nin). */
int kr_apply_fn(ctx *c, klayer *L, const kval *ins, int nin, kval *out) {
    return kr_apply_fn2(c, L, ins, nin, out, 0);
}

/* again: L belongs to a Sequential model applied here as a layer. */
int kr_apply_fn2(ctx *c, klayer *L, const kval *ins, int nin, kval *out, int again) {
    char b[64], w[32];
    (void)again;
    if (nin < 1)
        return kr_fail(c, L->tok, "%s is applied to an empty list: it needs a layer output",
                       L->cname);
    int *nodes = kr_cx_alloc(c, sizeof(int) * (size_t)nin);
    on_model *g = NULL;
    if (!nodes) return kr_oom(c, L->tok);
    for (int i = 0; i < nin; i++) {
        const kval *t = &ins[i];
        if (t->kind != V_TENSOR)
            return kr_fail(c, L->tok, "%s is applied to %s '%s' (from %s), not to a layer output",
                           L->cname, kr_kind_name(t), kr_src(c, t->tok, t->end, b, sizeof b),
                           kr_where(c, t->tok, w, sizeof w));
        if (t->softmax >= 0) return softmax_mid(c, t->softmax, L);
        if (kr_graph_of(c, t, &g, &nodes[i])) return -1;
    }
    L->used = 1;
    int o, sm;
    if (apply(c, g, L, nodes, nin, &o, &sm)) return -1;
    kinput *gin = ins[0].input; /* out may be ins */
    *out = kr_mk(V_TENSOR, L->tok);
    out->node = o;
    out->softmax = sm;
    out->input = c->g_in = gin;
    c->g_last = o;
    c->g_softmax = sm;
    c->g_touched = ++c->serial;
    return 0;
}

int kr_merge_tensors(ctx *c, int tok, const char *cls, const char *name, int axis, const kval *ins,
                     int n, kval *out) {
    klayer *L = kr_cx_alloc(c, sizeof *L);
    if (!L) return kr_oom(c, tok);
    L->cls = kr_find_class(cls);
    L->op = on_op_find(L->cls->op);
    L->a = L->op->defaults;
    L->tok = tok;
    L->softmax = -1;
    L->axis = axis;
    if (name) snprintf(L->name, sizeof L->name, "%s", name);
    return kr_apply_fn(c, L, ins, n, out);
}

/* ------------------------------------------------------------------------------------ */
/* Sequential                                                                           */

static int seq_apply(ctx *c, kseq *s, klayer *L) {
    if (s->last_softmax >= 0) return softmax_mid(c, s->last_softmax, L);
    int in = s->m->nn - 1, o, sm;
    if (apply(c, s->m, L, &in, 1, &o, &sm)) return -1;
    s->last_softmax = sm;
    return 0;
}

int kr_seq_start(ctx *c, kseq *s, on_shape decl, int known, int tok) {
    on_error e2;
    if (!c->override && !known) return kr_fail(c, tok, "the input shape is not known");
    s->decl = decl;
    s->decl_known = known;
    s->decl_tok = tok;
    if (!(s->m = on_model_new(c->override ? *c->override : decl, &e2)))
        return kr_fail(c, tok, "%s", e2.msg);
    if (s->in_name[0]) snprintf(s->m->nodes[0].name, ON_NAME_MAX, "%s", s->in_name);
    for (int i = 0; i < s->npend; i++)
        if (seq_apply(c, s, s->pend[i])) return -1;
    s->npend = 0;
    return 0;
}

static int seq_add_layer(ctx *c, kseq *s, klayer *L, int at);
int kr_seq_add(ctx *c, kseq *s, const kval *it, int at) {
    char b[64];
    s->touched = ++c->serial;
    const kinput *in = it->kind == V_TENSOR && it->node < 0 ? it->input : NULL;
    klayer *IL = it->kind == V_LAYER && it->layer->cls->kind == K_INPUTLAYER ? it->layer : NULL;
    if (in || IL) {
        if (s->nlayers || s->m || s->has_input)
            return kr_fail(c, at, "an Input can only be the first item of a Sequential model");
        s->has_input = 1;
        if (in) {
            snprintf(s->in_name, sizeof s->in_name, "%s", in->name);
            return kr_seq_start(c, s, in->shape, in->known, in->tok);
        }
        snprintf(s->in_name, sizeof s->in_name, "%s", IL->name);
        if (!IL->has_input && !c->override)
            return kr_fail(
                c, IL->tok,
                "InputLayer needs input_shape=(...), e.g. InputLayer(input_shape=(28, 28, 1))");
        return kr_seq_start(c, s, IL->input, IL->input_known,
                            IL->has_input ? IL->input_tok : IL->tok);
    }
    if (it->kind == V_TENSOR)
        return kr_fail(
            c, at,
            "a Sequential model takes layers, and '%s' is a layer output: write the layer "
            "itself, e.g. Dense(10) rather than Dense(10)(x)",
            kr_src(c, it->tok, it->end, b, sizeof b));
    if (it->kind == V_SEQ) { /* its layers, in order */
        kseq *q = it->seq;
        if (q == s) return kr_fail(c, at, "a Sequential model cannot contain itself");
        q->inlined = 1; /* listed twice in s: apply() ties its layers the second time */
        if (!s->m && !s->nlayers && !s->has_input && q->m && !q->nall)
            return kr_seq_start(c, s, q->decl, q->decl_known, q->decl_tok);
        if (!s->m && !s->nlayers && !s->has_input && q->m &&
            kr_seq_start(c, s, q->decl, q->decl_known, q->decl_tok))
            return -1;
        for (int k = 0; k < q->nall; k++)
            if (seq_add_layer(c, s, q->all[k], at)) return -1;
        return 0;
    }
    if (it->kind == V_MODEL) { /* its layers, as when it is called on a tensor */
        kmodel *md = it->model;
        if (s->last_softmax >= 0)
            return kr_fail(c, s->last_softmax,
                           "softmax in the middle of the model (a Model comes after it): "
                           "ordnet's loss applies softmax itself, so softmax may only end the "
                           "model");
        if (!s->m && !s->nlayers && !s->has_input && md->in->g &&
            kr_seq_start(c, s, md->in->shape, md->in->known, md->in->tok))
            return -1;
        if (!s->m)
            return kr_fail(c, at,
                           "a functional Model in a Sequential model whose input shape is not "
                           "known yet: start the list with keras.Input(shape=(...))");
        int y;
        if (kr_inline_model(c, md, s->m, s->m->nn - 1, at, &y)) return -1;
        s->nlayers++;
        s->last_softmax = md->softmax;
        return 0;
    }
    if (it->kind != V_LAYER)
        return kr_fail(c, at, "a Sequential model takes layers, got %s '%s'", kr_kind_name(it),
                       kr_src(c, it->tok, it->end, b, sizeof b));
    klayer *L = it->layer;
    L->used = 1; /* listed twice in s: apply() ties the second node to the first */
    return seq_add_layer(c, s, L, at);
}

/* Layer L, the next of Sequential s. */
static int seq_add_layer(ctx *c, kseq *s, klayer *L, int at) {
    if (s->nall == s->acap) {
        int nc = s->acap ? 2 * s->acap : 16;
        klayer **na = kr_cx_alloc(c, sizeof *na * (size_t)nc);
        if (!na) return kr_oom(c, at);
        if (s->nall) memcpy(na, s->all, sizeof *na * (size_t)s->nall);
        s->all = na;
        s->acap = nc;
    }
    s->all[s->nall++] = L;
    if (s->frozen) kr_set_trainable(L, 0);
    if (!s->m && !s->nlayers && !s->has_input && (L->has_input || c->override) &&
        kr_seq_start(c, s, L->input, L->has_input && L->input_known,
                     L->has_input ? L->input_tok : L->tok))
        return -1;
    s->nlayers++;
    if (s->m) return seq_apply(c, s, L);
    if (s->npend == s->pcap) {
        int nc = s->pcap ? 2 * s->pcap : 16;
        klayer **np = kr_cx_alloc(c, sizeof *np * (size_t)nc);
        if (!np) return kr_oom(c, at);
        if (s->npend) memcpy(np, s->pend, sizeof *np * (size_t)s->npend);
        s->pend = np;
        s->pcap = nc;
    }
    s->pend[s->npend++] = L;
    return 0;
}
