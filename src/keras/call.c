/* call.c - calls: Python builtins, Input, Sequential, Model, keras.layers merge functions,
 * methods (model.add, list.append, str.format), layers applied, the file's own functions. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Calls                                                                                */

/* Bind call arguments to names: positional ones in the order of `pos`; keywords must be in
 * pos or more. Fills val[k] (NULL when not given) for each name of pos then more. */
static int bind_call(ctx *c, const char *fname, int ft, const kargs *A, const char *pos,
                     const char *more, const karg **val, int nval) {
    char all[256], key[40], sg[64], list[256];
    snprintf(all, sizeof all, "%s %s", pos, more);
    for (int i = 0; i < nval; i++) val[i] = NULL;
    int npos = 0;
    for (int i = 0; i < A->n; i++) {
        const karg *g = &A->a[i];
        int slot = -1;
        if (g->key < 0) {
            if (!kr_nth_word(pos, npos, key, sizeof key))
                return kr_fail(c, g->tok, "%s takes at most %d positional arguments (%s)", fname,
                               npos, kr_commas(pos, list, sizeof list));
            slot = npos++;
        } else {
            const tok *kt = &c->t[g->key];
            snprintf(key, sizeof key, "%.*s", kt->len > 39 ? 39 : kt->len, c->text + kt->off);
            for (int k = 0; kr_nth_word(all, k, list, sizeof list); k++)
                if (!strcmp(list, key)) slot = k;
            if (slot < 0 || kt->len > 39)
                return kr_fail(c, g->key, "%s has no argument '%s'%s (it takes: %s)", fname, key,
                               kr_suggest(key, all, NULL, sg, sizeof sg),
                               kr_commas(all, list, sizeof list));
        }
        if (slot >= nval) continue;
        if (val[slot])
            return kr_fail(c, g->key >= 0 ? g->key : g->tok, "%s got '%s' twice", fname, key);
        val[slot] = g;
    }
    (void)ft;
    return 0;
}

/* Input's dtype: float32, or integers (token ids for an Embedding, 8-bit images), which
 * ordnet holds as float32 values: exact below 2^24. */
static int input_dtype(ctx *c, const karg *g) {
    const kval *v = &g->v;
    const char *s = v->kind == V_STR ? v->s : v->kind == V_PATH ? v->s : NULL;
    if (s && strrchr(s, '.') && v->kind == V_PATH) s = strrchr(s, '.') + 1;
    if (s && kr_in_list("int32 int64 int16 int8 uint8 uint16", s, strlen(s))) return 0;
    return kr_check_dtype(c, g);
}

static int do_input(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[12];
    if (bind_call(c, "Input", ft, A, "shape batch_size name dtype sparse tensor ragged type_spec",
                  "batch_shape optional", v, 10))
        return -1;
    kinput *in = kr_cx_alloc(c, sizeof *in);
    if (!in) return kr_oom(c, ft);
    memset(in, 0, sizeof *in);
    in->tok = ft;
    in->next = c->inputs;
    c->inputs = in;
    if (v[0] && v[8]) return kr_fail(c, v[8]->key, "Input got both shape and batch_shape");
    if (v[0] && kr_read_shape(c, v[0], 0, &in->shape, &in->known)) return -1;
    if (v[8] && kr_read_shape(c, v[8], 1, &in->shape, &in->known)) return -1;
    if (!v[0] && !v[8] && !c->override)
        return kr_fail(c, ft, "Input needs shape=(...), e.g. Input(shape=(28, 28, 1))");
    if (v[2] && v[2]->v.kind != V_NONE) {
        if (v[2]->v.kind != V_STR || !v[2]->v.s[0] || strlen(v[2]->v.s) >= ON_NAME_MAX)
            return kr_arg_err(c, v[2], "Input's name", "a string of 1 to 63 characters");
        snprintf(in->name, sizeof in->name, "%s", v[2]->v.s);
    }
    if (v[3] && input_dtype(c, v[3])) return -1;
    for (int k = 4; k < 8; k++)
        if (v[k] && !kr_is_none_or(&v[k]->v, 0))
            return kr_fail(c, v[k]->tok, "this argument of Input is not supported");
    if (v[9] && !kr_is_none_or(&v[9]->v, 0))
        return kr_fail(c, v[9]->tok, "optional inputs are not supported");
    *out = kr_mk(V_TENSOR, ft);
    out->input = in;
    return 0;
}

static int do_sequential(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[3];
    if (bind_call(c, "Sequential", ft, A, "layers name", "trainable", v, 3)) return -1;
    kseq *s = kr_cx_alloc(c, sizeof *s);
    if (!s) return kr_oom(c, ft);
    s->tok = ft;
    s->last_softmax = -1;
    s->touched = ++c->serial;
    if (c->nseqs == c->scap) {
        int nc = c->scap ? 2 * c->scap : 8;
        kseq **ns = realloc(c->seqs, sizeof *ns * (size_t)nc);
        if (!ns) return kr_oom(c, ft);
        c->seqs = ns;
        c->scap = nc;
    }
    c->seqs[c->nseqs++] = s;
    int trainable = 1;
    if (v[2] && v[2]->v.kind != V_NONE &&
        kr_want_bool(c, v[2], "Sequential's trainable", &trainable))
        return -1;
    s->frozen = !trainable; /* its layers are frozen as they are added */
    if (v[0] && v[0]->v.kind != V_NONE) {
        const kval *l = &v[0]->v;
        if (l->kind != V_LIST && l->kind != V_TUPLE)
            return kr_arg_err(c, v[0], "Sequential's layers", "a list of layers");
        for (int i = 0; i < l->n; i++)
            if (kr_seq_add(c, s, &l->items[i], l->items[i].tok)) return -1;
    }
    *out = kr_mk(V_SEQ, ft);
    out->seq = s;
    return 0;
}

/* A tensor, or a list or tuple of one. */
static const kval *one_tensor(ctx *c, const karg *g, const char *what) {
    const kval *v = &g->v;
    char b[64];
    if ((v->kind == V_LIST || v->kind == V_TUPLE) && v->n == 1)
        v = &v->items[0];
    else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        char list[400] = "", sh[64];
        size_t o = 0;
        for (int i = 0; i < v->n && o + 100 < sizeof list; i++) {
            const kval *x = &v->items[i];
            const kinput *in = x->kind == V_TENSOR && x->node < 0 ? x->input : NULL;
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s%s%s", i ? ", " : "",
                                  in ? (in->name[0] ? in->name : "Input") : kr_kind_name(x),
                                  in ? " " : "",
                                  in ? on_keras_shape_str(in->shape, sh, sizeof sh) : "");
        }
        kr_fail(c, g->tok, "ordnet models have one %s; this model has %d: %s", what, v->n, list);
        return NULL;
    }
    if (v->kind != V_TENSOR) {
        kr_fail(c, g->tok, "the model's %s must be a layer output or an Input, got %s '%s'", what,
                kr_kind_name(v), kr_src(c, g->tok, g->end, b, sizeof b));
        return NULL;
    }
    return v;
}

static int do_model(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[6];
    char w[32];
    /* input= and output= are Keras 1's names for inputs= and outputs= */
    if (bind_call(c, "Model", ft, A, "inputs outputs name", "trainable input output", v, 6))
        return -1;
    for (int k = 0; k < 2; k++) {
        if (v[k] && v[4 + k])
            return kr_fail(c, v[4 + k]->key,
                           "Model got both %s= and Keras 1's %s=", k ? "outputs" : "inputs",
                           k ? "output" : "input");
        if (!v[k]) v[k] = v[4 + k];
    }
    if (!v[0] || !v[1])
        return kr_fail(c, ft, "Model needs inputs and outputs, e.g. Model(inputs=inp, outputs=x)");
    /* inputs=[a, b]: several Inputs, packed in this order (apply.c, kr_graph_of) */
    const kval *il = &v[0]->v;
    int nins = (il->kind == V_LIST || il->kind == V_TUPLE) && il->n > 1 ? il->n : 1;
    kinput **ins = kr_cx_alloc(c, sizeof *ins * (size_t)nins);
    if (!ins) return kr_oom(c, ft);
    for (int i = 0; i < nins && nins > 1; i++) {
        const kval *x = &il->items[i];
        if (x->kind != V_TENSOR || x->node >= 0)
            return kr_fail(c, x->tok, "the model's inputs must be Inputs, not %s",
                           x->kind == V_TENSOR ? "a layer output" : kr_kind_name(x));
        for (int k = 0; k < i; k++)
            if (ins[k] == x->input)
                return kr_fail(c, x->tok, "this Input is listed twice in the model's inputs");
        ins[i] = x->input;
        on_model *g;
        int node;
        if (kr_graph_of(c, x, &g, &node)) return -1; /* its input_part, used or not */
    }
    const kval *in = nins > 1 ? &il->items[0] : one_tensor(c, v[0], "input");
    const kval *o = in ? one_tensor(c, v[1], "output") : NULL;
    if (!o) return -1;
    if (nins == 1) ins[0] = in->input;
    if (in->node >= 0)
        return kr_fail(c, v[0]->tok,
                       "the model's inputs must be the Input itself, not a layer output");
    if (o->node < 0 || !o->input->g)
        return kr_fail(c, v[1]->tok, "the model has no layers between its input and its output");
    /* the Inputs its output needs must be listed (Keras: "graph disconnected") */
    for (int i = o->node; i > 0; i--)
        if (o->input->g->nodes[i].op == on_op_find("input_part")) {
            const kinput *x = c->inputs;
            while (x && !(x->g == o->input->g && x->part == i)) x = x->next;
            int listed = 0;
            for (int k = 0; k < nins; k++) listed |= ins[k] == x;
            if (x && !listed && kr_reaches(o->input->g, i, o->node))
                return kr_fail(c, v[0]->tok,
                               "the model's output needs the Input '%s' at %s, which is not "
                               "in its inputs",
                               o->input->g->nodes[i].name, kr_where(c, x->tok, w, sizeof w));
        }
    int trainable = 1;
    if (v[3] && v[3]->v.kind != V_NONE && kr_want_bool(c, v[3], "Model's trainable", &trainable))
        return -1;
    if (!trainable && kr_freeze_graph(c, o->input->g, o->node, 0, ft)) return -1;
    kmodel *md = kr_cx_alloc(c, sizeof *md);
    if (!md) return kr_oom(c, ft);
    memset(md, 0, sizeof *md);
    md->in = in->input;
    md->ins = ins;
    md->nins = nins;
    if (v[2] && v[2]->v.kind == V_STR) snprintf(md->name, sizeof md->name, "%s", v[2]->v.s);
    md->out = o->node;
    md->softmax = o->softmax;
    md->tok = ft;
    c->model = md;
    c->nmodels++;
    c->model_touched = ++c->serial;
    *out = kr_mk(V_MODEL, ft);
    out->model = md;
    return 0;
}

/* The functions of keras.layers that merge layer outputs, and their classes. */
static const char *const merge_names[][2] = {{"add", "Add"},
                                             {"multiply", "Multiply"},
                                             {"subtract", "Subtract"},
                                             {"average", "Average"},
                                             {"maximum", "Maximum"},
                                             {"minimum", "Minimum"},
                                             {"concatenate", "Concatenate"}};

/* keras.layers.add([a, b]), concatenate([a, b], axis=-1), ... */
static int do_merge_fn(ctx *c, int ft, const char *fn, const char *cls, const kargs *A, kval *out) {
    const karg *v[3];
    int axis = -1;
    if (bind_call(c, fn, ft, A, strcmp(cls, "Concatenate") ? "inputs" : "inputs axis", "name", v,
                  3))
        return -1;
    const karg *name = strcmp(cls, "Concatenate") ? v[1] : v[2];
    if (!v[0] || (v[0]->v.kind != V_LIST && v[0]->v.kind != V_TUPLE))
        return kr_fail(c, ft, "%s needs a list of layer outputs, e.g. %s([x, y])", fn, fn);
    if (!strcmp(cls, "Concatenate") && v[1] &&
        kr_want_int(c, v[1], "concatenate's axis", -4, 4, &axis))
        return -1;
    const char *nm = NULL;
    if (name && name->v.kind != V_NONE) {
        if (name->v.kind == V_STR && name->v.s[0] && strlen(name->v.s) < ON_NAME_MAX)
            nm = name->v.s;
        else if (name->v.kind == V_STR)
            return kr_arg_err(c, name, "the layer's name", "a string of 1 to 63 characters");
    }
    return kr_merge_tensors(c, ft, cls, nm, axis, v[0]->v.items, v[0]->v.n, out);
}

static int is_layer_module(const char *path, size_t plen) {
    if (!plen) return 1;
    const char *last = path;
    for (size_t i = 0; i < plen; i++)
        if (path[i] == '.') last = path + i + 1;
    return kr_in_list(kr_layer_modules, last, (size_t)(path + plen - last));
}

/* The items of a list, tuple or range (ranges are made into lists here: they are at most
 * MAX_ITER long). NULL and an error when v is not one. */
const kval *kr_items_of(ctx *c, const kval *v, int at, int *n) {
    char b[64];
    if (v->kind == V_LIST || v->kind == V_TUPLE) {
        *n = v->n;
        return v->items ? v->items : v;
    }
    if (v->kind == V_RANGE) {
        long long len =
            v->r2 > 0 ? (v->r1 - v->r0 + v->r2 - 1) / v->r2 : (v->r0 - v->r1 - v->r2 - 1) / -v->r2;
        if (len < 0) len = 0;
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(len ? len : 1));
        if (!it) {
            kr_oom(c, at);
            return NULL;
        }
        for (long long k = 0; k < len; k++) {
            it[k] = kr_mk(V_NUM, v->tok);
            it[k].num = (double)(v->r0 + k * v->r2);
            it[k].is_int = 1;
        }
        *n = (int)len;
        return it;
    }
    if (v->kind == V_STR) { /* the characters */
        int len = (int)strlen(v->s);
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(len ? len : 1));
        char *chars = kr_cx_alloc(c, 2 * (size_t)len + 1);
        if (!it || !chars) {
            kr_oom(c, at);
            return NULL;
        }
        for (int k = 0; k < len; k++) {
            chars[2 * k] = v->s[k];
            it[k] = kr_mk(V_STR, v->tok);
            it[k].s = chars + 2 * k;
        }
        *n = len;
        return it;
    }
    if (v->kind == V_OPAQUE || v->kind == V_PATH)
        kr_fail(c, at,
                "'%s' is not a value ordnet computes (data, files, the command line): ordnet reads "
                "loops over known lists and ranges; write the items",
                kr_src(c, v->tok, v->end, b, sizeof b));
    else
        kr_fail(c, at, "%s cannot be iterated", kr_kind_name(v));
    return NULL;
}

/* Python's builtins that model code uses: range, len, str, int, float, abs, round, min, max,
 * sum, list, tuple, enumerate, zip. 1: nm is none of them. */
static int call_builtin(ctx *c, int *p, const char *nm, int ft, kval *out) {
    static const char *const names =
        "range len str int float abs round min max sum list tuple enumerate zip";
    if (!kr_in_list(names, nm, strlen(nm))) return 1;
    kargs A;
    int open = *p;
    if (kr_parse_args(c, p, &A)) return -1;
    for (int i = 0; i < A.n; i++)
        if (A.a[i].key >= 0 && strcmp(nm, "enumerate"))
            return kr_fail(c, A.a[i].key, "%s() takes no keyword arguments here", nm);
    const kval *x = A.n ? &A.a[0].v : NULL;
    int at = A.n ? A.a[0].tok : open;
    *out = kr_mk(V_OPAQUE, ft);
    out->end = *p;
    for (int i = 0; i < A.n; i++) /* a value ordnet does not compute: so is the result */
        if (A.a[i].v.kind == V_OPAQUE || A.a[i].v.kind == V_PATH) return 0;
    if (!strcmp(nm, "range")) {
        long long r[3] = {0, 0, 1};
        if (A.n < 1 || A.n > 3) return kr_fail(c, open, "range() takes 1 to 3 arguments");
        for (int i = 0; i < A.n; i++) {
            const kval *a = &A.a[i].v;
            if (!kr_num_like(a) || !a->is_int || fabs(a->num) > 1e15)
                return kr_fail(c, A.a[i].tok, "range() takes integers, got %s", kr_kind_name(a));
            r[A.n == 1 ? 1 : i] = (long long)a->num;
        }
        if (!r[2]) return kr_fail(c, A.a[2].tok, "range() step must not be zero");
        long long len =
            r[2] > 0 ? (r[1] - r[0] + r[2] - 1) / r[2] : (r[0] - r[1] - r[2] - 1) / -r[2];
        if (len > MAX_ITER)
            return kr_fail(c, ft,
                           "range() of %lld items: ordnet's reader runs loops of at most %d "
                           "iterations (model code needs far fewer)",
                           len, MAX_ITER);
        *out = kr_mk(V_RANGE, ft);
        out->r0 = r[0], out->r1 = r[1], out->r2 = r[2];
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "len")) {
        if (A.n != 1) return kr_fail(c, open, "len() takes one argument");
        int n;
        if (x->kind == V_STR)
            n = (int)strlen(x->s);
        else if (x->kind == V_LIST || x->kind == V_TUPLE || x->kind == V_RANGE) {
            if (!kr_items_of(c, x, at, &n)) return -1;
        } else
            return kr_fail(c, at, "len() of %s", kr_kind_name(x));
        *out = kr_num_val(n, 1, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "str")) {
        sbuf s = {0};
        kr_sb_put(&s, "", 0);
        if (x) kr_sb_value_str(&s, x, 0);
        return kr_sb_value(c, &s, ft, *p, out);
    }
    if (!strcmp(nm, "int") || !strcmp(nm, "float") || !strcmp(nm, "abs") || !strcmp(nm, "round")) {
        double d = 0;
        if (A.n < 1 || A.n > 2 || (A.n == 2 && strcmp(nm, "round")))
            return kr_fail(c, open, "%s() takes one argument", nm);
        if (x->kind == V_STR) {
            char *e;
            d = strtod(x->s, &e);
            if (e == x->s || *e) return kr_fail(c, at, "%s() of the string '%.40s'", nm, x->s);
        } else if (kr_num_like(x))
            d = x->num;
        else
            return kr_fail(c, at, "%s() of %s", nm, kr_kind_name(x));
        int is_int = !strcmp(nm, "int") || (!strcmp(nm, "abs") && x->is_int) ||
                     (!strcmp(nm, "round") && A.n == 1);
        if (!strcmp(nm, "int")) d = trunc(d);
        if (!strcmp(nm, "abs")) d = fabs(d);
        if (!strcmp(nm, "round") && A.n == 1) d = nearbyint(d);
        if (!strcmp(nm, "round") && A.n == 2) {
            double k = pow(10, A.a[1].v.num);
            d = nearbyint(d * k) / k;
        }
        *out = kr_num_val(d, is_int, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "min") || !strcmp(nm, "max") || !strcmp(nm, "sum")) {
        const kval *it = NULL;
        int n = 0;
        kval *tmp = NULL;
        if (A.n == 1) {
            if (!(it = kr_items_of(c, x, at, &n))) return -1;
        } else {
            if (!(tmp = kr_cx_alloc(c, sizeof *tmp * (size_t)(A.n + 1)))) return kr_oom(c, ft);
            for (int i = 0; i < A.n; i++) tmp[i] = A.a[i].v;
            it = tmp, n = A.n;
        }
        if (!n && strcmp(nm, "sum")) return kr_fail(c, open, "%s() of an empty list", nm);
        double d = 0;
        int is_int = 1;
        for (int i = 0; i < n; i++) {
            if (!kr_num_like(&it[i])) {
                if (it[i].kind == V_OPAQUE || it[i].kind == V_PATH) return 0;
                return kr_fail(c, open, "%s() of %s", nm, kr_kind_name(&it[i]));
            }
            double v = it[i].num;
            is_int = is_int && it[i].is_int;
            d = !strcmp(nm, "sum")   ? d + v
                : i == 0             ? v
                : !strcmp(nm, "min") ? fmin(d, v)
                                     : fmax(d, v);
        }
        *out = kr_num_val(d, is_int, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "list") || !strcmp(nm, "tuple")) {
        const kval *it = NULL;
        int n = 0;
        if (A.n > 1) return kr_fail(c, open, "%s() takes at most one argument", nm);
        if (A.n && !(it = kr_items_of(c, x, at, &n))) return -1;
        if (kr_make_seq(c, nm[0] == 'l' ? V_LIST : V_TUPLE, it, n, ft, out)) return -1;
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "enumerate")) {
        const kval *it;
        int n, start = 0;
        if (A.n < 1 || A.n > 2 || A.a[0].key >= 0)
            return kr_fail(c, open, "enumerate() takes a list");
        if (A.n == 2) {
            if (!kr_num_like(&A.a[1].v) || !A.a[1].v.is_int || fabs(A.a[1].v.num) > 1e9)
                return kr_fail(c, A.a[1].tok, "enumerate()'s start must be an integer");
            start = (int)A.a[1].v.num;
        }
        if (!(it = kr_items_of(c, x, at, &n))) return -1;
        kval *pairs = kr_cx_alloc(c, sizeof *pairs * (size_t)(n ? n : 1));
        if (!pairs) return kr_oom(c, ft);
        for (int i = 0; i < n; i++) {
            kval two[2] = {kr_num_val(start + i, 1, ft), it[i]};
            if (kr_make_seq(c, V_TUPLE, two, 2, ft, &pairs[i])) return -1;
        }
        if (kr_make_seq(c, V_LIST, pairs, n, ft, out)) return -1;
        out->end = *p;
        return 0;
    }
    /* zip */
    const kval *its[8];
    int ns[8], n = -1;
    if (A.n < 1 || A.n > 8) return kr_fail(c, open, "zip() takes 1 to 8 lists");
    for (int k = 0; k < A.n; k++) {
        if (!(its[k] = kr_items_of(c, &A.a[k].v, A.a[k].tok, &ns[k]))) return -1;
        if (n < 0 || ns[k] < n) n = ns[k];
    }
    kval *rows = kr_cx_alloc(c, sizeof *rows * (size_t)(n ? n : 1));
    if (!rows) return kr_oom(c, ft);
    for (int i = 0; i < n; i++) {
        kval row[8];
        for (int k = 0; k < A.n; k++) row[k] = its[k][i];
        if (kr_make_seq(c, V_TUPLE, row, A.n, ft, &rows[i])) return -1;
    }
    if (kr_make_seq(c, V_LIST, rows, n, ft, out)) return -1;
    out->end = *p;
    return 0;
}

/* regularizers.l2(0.01), l1(...), l1_l2(l1=..., l2=...), L1 / L2 / L1L2 (Keras 3), l1l2 and
 * activity_l1 / activity_l2 / activity_l1l2 (Keras 1): a V_REG value. l1 and l2 default to
 * 0.01 in every Keras; l1_l2 / L1L2 default to 0.01 in Keras 2 but 0 in Keras 3, so both
 * factors must be written there. */
static int regularizer(ctx *c, int *p, const char *nm, int ft, kval *out) {
    const char *n = !strncmp(nm, "activity_", 9) ? nm + 9 : nm;
    int both = !strcmp(n, "l1_l2") || !strcmp(n, "L1L2") || !strcmp(n, "l1l2");
    int one = !strcmp(n, "l1") || !strcmp(n, "l2") || !strcmp(n, "L1") || !strcmp(n, "L2");
    kargs A;
    const karg *v[3];
    double f[2] = {0, 0};
    char what[64];
    if (!both && !one)
        return kr_fail(c, ft,
                       "regularizers.%s is not supported (ordnet reads l1, l2, l1_l2 and Keras "
                       "1's l1l2)",
                       nm);
    if (kr_parse_args(c, p, &A)) return -1;
    if (both && bind_call(c, nm, ft, &A, "l1 l2", "", v, 2)) return -1;
    if (one && bind_call(c, nm, ft, &A, n[1] == '1' ? "l1" : "l2", "l", v, 2)) return -1;
    if (both && !strcmp(n, "l1l2")) f[0] = f[1] = 0.01; /* Keras 1's defaults */
    if (both && strcmp(n, "l1l2") && (!v[0] || !v[1]))
        return kr_fail(c, ft,
                       "%s needs both l1= and l2=: Keras 2 and Keras 3 give the one left out "
                       "different values (0.01 and 0)",
                       nm);
    for (int i = 0; i < 2; i++) {
        const karg *g = one ? (v[0] ? v[0] : v[1]) : v[i];
        int slot = one ? n[1] - '1' : i;
        if (one && i) break;
        if (one && !g) f[slot] = 0.01;
        if (!g) continue;
        snprintf(what, sizeof what, "%s's factor", nm);
        if (g->v.kind == V_OPAQUE || g->v.kind == V_PATH) { /* data, command line, ... */
            *out = kr_mk(V_OPAQUE, ft);
            out->end = *p;
            return 0;
        }
        if (kr_want_num(c, g, what, 0, 1e30, 0, &f[slot])) return -1;
    }
    *out = kr_mk(V_REG, ft);
    out->num = f[0];
    out->num2 = f[1];
    out->end = *p;
    return 0;
}

static int call_path(ctx *c, int *p, const kval *f, kval *out) {
    const char *path = f->s, *dot = strrchr(path, '.'), *nm = dot ? dot + 1 : path;
    size_t plen = dot ? (size_t)(dot - path) : 0;
    int ft = f->last, layerish = is_layer_module(path, plen);
    kargs A;
    if (plen == 0 && f->unbound) {
        int r = call_builtin(c, p, nm, ft, out);
        if (r != 1) return r;
    }
    const kclass *k = kr_find_class(nm);
    int mf = -1;
    for (int i = 0; i < (int)(sizeof merge_names / sizeof merge_names[0]) && layerish; i++)
        if (!strcmp(nm, merge_names[i][0])) mf = i;
    if (!strcmp(nm, "Input") || !strcmp(nm, "Sequential") || !strcmp(nm, "Model") ||
        !strcmp(nm, "Functional") || mf >= 0 || k) {
        if (kr_parse_args(c, p, &A)) return -1;
        if (!strcmp(nm, "Input")) return do_input(c, ft, &A, out);
        if (!strcmp(nm, "Sequential")) return do_sequential(c, ft, &A, out);
        if (mf >= 0) return do_merge_fn(c, ft, nm, merge_names[mf][1], &A, out);
        if (!k) return do_model(c, ft, &A, out);
        return kr_do_layer(c, k, ft, &A, out);
    }
    if (plen >= 12 && !strncmp(path + plen - 12, "regularizers", 12) &&
        (plen == 12 || path[plen - 13] == '.'))
        return regularizer(c, p, nm, ft, out);
    if (!strcmp(nm, "image_data_format") || !strcmp(nm, "image_dim_ordering")) {
        /* keras.backend's layout: Keras's default unless the code sets channels first */
        if (kr_parse_args(c, p, &A)) return -1;
        *out = kr_mk(V_STR, ft);
        out->s = nm[6] == 'd' && nm[7] == 'a' ? (c->chfirst ? "channels_first" : "channels_last")
                                              : (c->chfirst ? "th" : "tf");
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "merge") && layerish) { /* Keras 1: merge([a, b], mode='sum') */
        const karg *v[4];
        if (kr_parse_args(c, p, &A) ||
            bind_call(c, "merge", ft, &A, "inputs mode concat_axis dot_axes",
                      "output_shape output_mask arguments name node_indices tensor_indices", v, 4))
            return -1;
        const char *mode = v[1] && v[1]->v.kind == V_STR ? v[1]->v.s : v[1] ? "?" : "sum";
        if (!v[0] || (v[0]->v.kind != V_LIST && v[0]->v.kind != V_TUPLE))
            return kr_fail(c, ft,
                           "merge needs a list of layer outputs, e.g. merge([x, y], mode='sum')");
        static const char *const modes[][2] = {{"sum", "Add"},
                                               {"mul", "Multiply"},
                                               {"ave", "Average"},
                                               {"max", "Maximum"},
                                               {"concat", "Concatenate"}};
        int axis = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(mode, modes[i][0])) {
                if (i == 4 && v[2] && kr_want_int(c, v[2], "merge's concat_axis", -4, 4, &axis))
                    return -1;
                return kr_merge_tensors(c, ft, modes[i][1], NULL, axis, v[0]->v.items, v[0]->v.n,
                                        out);
            }
        return kr_fail(c, v[1] ? v[1]->tok : ft,
                       "merge(mode='%s') is not supported (ordnet has sum, mul, ave, max, concat)",
                       mode);
    }
    if (kr_in_list(kr_merge_fns, nm, strlen(nm)) && layerish)
        return kr_fail(
            c, ft,
            "%s is not supported: ordnet joins layer outputs only by adding them, Add()([a, b])",
            nm);
    if (plen >= 2 && !strncmp(path + plen - 2, "nn", 2) && (plen == 2 || path[plen - 3] == '.') &&
        isupper((unsigned char)nm[0]))
        return kr_fail(
            c, ft, "'nn.%s' looks like PyTorch: ordnet reads Keras code or its compact form", nm);
    if (!strcmp(nm, "Lambda") && layerish)
        return kr_fail(c, ft,
                       "Lambda layers run any Python function: ordnet cannot know what this one "
                       "computes; replace it by Keras layers (Rescaling for x / 255, Cropping2D, "
                       "Reshape, ...) or leave it out and give the input shape to the reader");
    if (isupper((unsigned char)nm[0]) && layerish &&
        !(plen == 0 && kr_in_list(kr_other_classes, nm, strlen(nm)))) {
        char all[4096], sg[64], list[2048];
        size_t o = 0, l = 0;
        for (int i = 0; i < kr_nclasses; i++) {
            if (o < sizeof all)
                o += (size_t)snprintf(all + o, sizeof all - o, "%s %s ", kr_classes[i].name,
                                      kr_classes[i].alias ? kr_classes[i].alias : "");
            if ((i == 0 || kr_classes[i].rank != kr_classes[i - 1].rank ||
                 strcmp(kr_classes[i].op ? kr_classes[i].op : kr_classes[i].name,
                        kr_classes[i - 1].op ? kr_classes[i - 1].op : kr_classes[i - 1].name)) &&
                l < sizeof list)
                l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "",
                                      kr_classes[i].name);
        }
        if (o < sizeof all) snprintf(all + o, sizeof all - o, "Input Sequential Model");
        return kr_fail(c, ft, "unknown layer '%s'%s (supported: Input, %s)", nm,
                       kr_suggest(nm, all, NULL, sg, sizeof sg), list);
    }
    *p = kr_skip_group(c, *p);
    *out = kr_mk(V_OPAQUE, f->tok);
    out->end = *p;
    return 0;
}

static int call_method(ctx *c, int *p, const kval *m, kval *out) {
    const kval *obj = &m->items[0];
    int ft = m->tok;
    kargs A;
    if (obj->kind == V_SEQ && (!strcmp(m->s, "add") || !strcmp(m->s, "build"))) {
        const karg *v[1];
        kseq *s = obj->seq;
        if (kr_parse_args(c, p, &A)) return -1;
        if (!strcmp(m->s, "add")) {
            if (bind_call(c, "add", ft, &A, "layer", "", v, 1)) return -1;
            if (!v[0]) return kr_fail(c, ft, "add needs a layer, e.g. model.add(Dense(10))");
            if (kr_seq_add(c, s, &v[0]->v, v[0]->tok)) return -1;
        } else {
            if (bind_call(c, "build", ft, &A, "input_shape", "", v, 1)) return -1;
            if (v[0] && !s->m) {
                on_shape sh;
                int known;
                if (kr_read_shape(c, v[0], 1, &sh, &known) ||
                    kr_seq_start(c, s, sh, known, v[0]->tok))
                    return -1;
            }
        }
        *out = kr_mk(V_NONE, ft);
        return 0;
    }
    if (obj->kind == V_LIST && (!strcmp(m->s, "append") || !strcmp(m->s, "extend"))) {
        const karg *v[1];
        if (kr_parse_args(c, p, &A) || bind_call(c, m->s, ft, &A, "object", "", v, 1)) return -1;
        if (!v[0]) return kr_fail(c, ft, "%s() needs an argument", m->s);
        var *x = obj->var >= 0 ? kr_lookup(c, obj->var) : NULL;
        *out = kr_mk(V_NONE, ft);
        if (!x) return 0; /* a list no variable holds: nothing to keep */
        const kval *add = &v[0]->v;
        int nadd = 1;
        if (m->s[0] == 'e' && !(add = kr_items_of(c, &v[0]->v, v[0]->tok, &nadd))) return -1;
        if ((long)obj->n + nadd > MAX_ITEMS)
            return kr_fail(c, ft, "a list of more than %d items", MAX_ITEMS);
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(obj->n + nadd + 1));
        if (!it) return kr_oom(c, ft);
        if (obj->n) memcpy(it, obj->items, sizeof *it * (size_t)obj->n);
        if (nadd) memcpy(it + obj->n, add, sizeof *it * (size_t)nadd);
        x->v = *obj;
        x->v.items = it;
        x->v.n = obj->n + nadd;
        return 0;
    }
    if (obj->kind == V_STR && !strcmp(m->s, "format")) {
        if (kr_parse_args(c, p, &A)) return -1;
        const char *f = obj->s;
        int auto_i = 0;
        sbuf s = {0};
        kr_sb_put(&s, "", 0);
        for (size_t i = 0; f[i] && !s.bad;) {
            if ((f[i] == '{' || f[i] == '}') && f[i + 1] == f[i]) {
                kr_sb_put(&s, f + i, 1);
                i += 2;
                continue;
            }
            if (f[i] != '{') {
                kr_sb_put(&s, f + i++, 1);
                continue;
            }
            size_t j = i + 1, colon = 0;
            while (f[j] && f[j] != '}') {
                if (f[j] == ':' && !colon) colon = j;
                j++;
            }
            if (!f[j]) {
                s.bad = 1;
                break;
            }
            size_t ne = colon ? colon : j, nl = ne - i - 1;
            const kval *val = NULL;
            if (!nl) {
                int k = auto_i++, pos = 0;
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key < 0 && pos++ == k) val = &A.a[a].v;
            } else if (isdigit((unsigned char)f[i + 1])) {
                int k = atoi(f + i + 1), pos = 0;
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key < 0 && pos++ == k) val = &A.a[a].v;
            } else
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key >= 0 && (size_t)c->t[A.a[a].key].len == nl &&
                        !memcmp(c->text + c->t[A.a[a].key].off, f + i + 1, nl))
                        val = &A.a[a].v;
            if (!val) {
                s.bad = 1;
                break;
            }
            if (colon)
                kr_sb_format(&s, val, f + colon + 1, j - colon - 1);
            else
                kr_sb_value_str(&s, val, 0);
            i = j + 1;
        }
        return kr_sb_value(c, &s, ft, *p, out);
    }
    if (obj->kind == V_STR && (!strcmp(m->s, "upper") || !strcmp(m->s, "lower"))) {
        if (kr_parse_args(c, p, &A)) return -1;
        sbuf s = {0};
        kr_sb_str(&s, obj->s);
        for (size_t i = 0; s.b && i < s.n; i++)
            s.b[i] = (char)(m->s[0] == 'u' ? toupper((unsigned char)s.b[i])
                                           : tolower((unsigned char)s.b[i]));
        return kr_sb_value(c, &s, ft, *p, out);
    }
    if (obj->kind == V_LIST &&
        kr_in_list("pop insert remove reverse sort clear", m->s, strlen(m->s)))
        return kr_fail(c, ft, "list.%s() is not supported: write the list as it ends up", m->s);
    if (!strcmp(m->s, "pop") && obj->kind != V_LIST)
        return kr_fail(c, ft, "model.pop() is not supported: remove the layer from the code");
    if (obj->kind == V_MODEL && !strcmp(m->s, "add"))
        return kr_fail(c, ft, "add() is for Sequential models; this is a functional Model");
    *p = kr_skip_group(c, *p);
    *out = kr_mk(V_OPAQUE, ft);
    out->end = *p;
    return 0;
}

static int call_layer(ctx *c, int *p, const kval *lv, kval *out) {
    kargs A;
    const karg *v[3];
    klayer *L = lv->layer;
    if (kr_parse_args(c, p, &A)) return -1;
    if (bind_call(c, L->cname, L->tok, &A, "inputs", "training mask", v, 3)) return -1;
    if (!v[0])
        return kr_fail(c, A.open, "%s(...) is called without an input, e.g. %s(...)(x)", L->cname,
                       L->cname);
    const kval *in = &v[0]->v;
    if (in->kind == V_LIST || in->kind == V_TUPLE) {
        if (in->n == 1 && L->cls->kind != K_MERGE) return kr_apply_fn(c, L, in->items, 1, out);
        return kr_apply_fn(c, L, in->items, in->n, out);
    }
    return kr_apply_fn(c, L, in, 1, out);
}

/* A Sequential model applied to a layer output, as a layer: its layers are applied in turn
 * (once: a second use would share its weights). */
static int call_seq(ctx *c, int *p, kseq *s, kval *out) {
    kargs A;
    const karg *v[3];
    int open = *p;
    if (kr_parse_args(c, p, &A) ||
        bind_call(c, "Sequential", open, &A, "inputs", "training mask", v, 3))
        return -1;
    if (!v[0]) return kr_fail(c, open, "a Sequential model is called without an input");
    const kval *in = &v[0]->v;
    if ((in->kind == V_LIST || in->kind == V_TUPLE) && in->n == 1) in = &in->items[0];
    if (in->kind != V_TENSOR)
        return kr_fail(c, v[0]->tok, "a Sequential model is applied to %s, not to a layer output",
                       kr_kind_name(in));
    /* called again in the same graph: apply() ties its layers to the first call's */
    s->inlined = 1;
    kval cur = *in;
    for (int k = 0; k < s->nall; k++)
        if (kr_apply_fn2(c, s->all[k], &cur, 1, &cur, 1)) return -1;
    *out = cur;
    return 0;
}

/* A functional model called on a tensor: its layers (those that lead to its output) are
 * applied there again, as nodes of the tensor's graph (Keras shows the model as one row; the
 * parameters are the same). Called a second time in the same graph, or in its own graph,
 * its layers are shared: the new nodes are tied to the first ones (one set of weights). */
static int call_model(ctx *c, int *p, kmodel *md, kval *out) {
    kargs A;
    const karg *v[3];
    int open = *p;
    char b[64];
    if (kr_parse_args(c, p, &A) || bind_call(c, "Model", open, &A, "inputs", "training mask", v, 3))
        return -1;
    if (!v[0]) return kr_fail(c, open, "a Model is called without an input");
    const kval *in = &v[0]->v;
    if ((in->kind == V_LIST || in->kind == V_TUPLE) && in->n == 1) in = &in->items[0];
    if (in->kind != V_TENSOR)
        return kr_fail(c, v[0]->tok, "a Model is applied to %s '%s', not to a layer output",
                       kr_kind_name(in), kr_src(c, v[0]->tok, v[0]->end, b, sizeof b));
    if (in->softmax >= 0)
        return kr_fail(c, in->softmax,
                       "softmax in the middle of the model (the Model called at %s comes after "
                       "it): ordnet's loss applies softmax itself, so softmax may only end the "
                       "model",
                       kr_where(c, open, b, sizeof b));
    on_model *g;
    int x0, y;
    if (kr_graph_of(c, in, &g, &x0) || kr_inline_model(c, md, g, x0, open, &y)) return -1;
    kinput *gin = in->input; /* out may be the argument */
    *out = kr_mk(V_TENSOR, open);
    out->node = y;
    out->softmax = md->softmax;
    out->input = c->g_in = gin;
    c->g_last = out->node;
    c->g_softmax = md->softmax;
    c->g_touched = ++c->serial;
    return 0;
}

/* The layers of model md that lead to its output, applied again in graph g from its node x0
 * (call_model, and a Model listed in a Sequential model); *y: the node of its output. */
int kr_inline_model(ctx *c, kmodel *md, on_model *g, int x0, int open, int *y) {
    on_model *src = md->in->g;
    int n = md->out + 1, x_src = md->in->part; /* the model's Input in src */
    if (!src || md->out < 1 || md->out >= src->nn)
        return kr_fail(c, open, "this Model has no layers (it was already taken apart)");
    if (md->nins > 1)
        return kr_fail(c, open,
                       "this Model has %d inputs: ordnet calls models of one input as layers",
                       md->nins);
    on_shape want = src->nodes[x_src].ys, got = g->nodes[x0].ys;
    if (memcmp(&want, &got, sizeof want)) {
        char s1[64], s2[64];
        return kr_fail(c, open, "this Model takes %s, and is called on %s",
                       on_keras_shape_str(want, s1, sizeof s1),
                       on_keras_shape_str(got, s2, sizeof s2));
    }
    char *keep = kr_cx_alloc(c, (size_t)n);
    int *map = kr_cx_alloc(c, sizeof(int) * (size_t)n);
    if (!keep || !map) return kr_oom(c, open);
    memset(keep, 0, (size_t)n);
    memset(map, 0, sizeof(int) * (size_t)n);
    keep[n - 1] = 1;
    for (int i = n - 1; i > x_src; i--)
        for (int k = 0; keep[i] && k < src->nodes[i].nin; k++) keep[src->nodes[i].in[k]] = 1;
    for (int i = 0; i < x_src; i++)
        if (keep[i])
            return kr_fail(c, open,
                           "this Model's output needs an Input other than its own ('%s'): "
                           "ordnet calls models of one input as layers",
                           src->nodes[x_src].name);
    /* whose weights the new nodes use: the first call's nodes in this graph, the model's own
     * in its own graph, none elsewhere (a copy of the layers with their own weights is then
     * the only one in the model: the same count) */
    const int *tie = md->rg == g ? md->rmap : src == g ? NULL : map;
    int tie_n = md->rg == g ? md->rn : n;
    /* the Keras layer that made each node (applied in g too: the new node is tied to it,
     * whichever came first), and which of its nodes it is (a SeparableConv makes two) */
    klayer **lay = kr_cx_alloc(c, sizeof *lay * (size_t)n);
    int *part = kr_cx_alloc(c, sizeof(int) * (size_t)n);
    if (!lay || !part) return kr_oom(c, open);
    memset(lay, 0, sizeof *lay * (size_t)n);
    for (int l = 0; l < c->nlays; l++) {
        klayer *L = c->lays[l];
        for (int r = 0; r < L->napplied; r++)
            if (L->am[r] == src && L->an[r] > 0 && L->an[r] < n)
                lay[L->an[r]] = L, part[L->an[r]] = L->cls->kind == K_SEPCONV ? r % 2 : 0;
    }
    map[x_src] = x0;
    for (int i = x_src + 1; i < n; i++) {
        if (!keep[i]) continue;
        if (g->nn + 1 > MAX_LAYERS)
            return kr_fail(c, open, "the model has more than %d layers", MAX_LAYERS);
        const on_node nd = src->nodes[i]; /* a copy: adding to g may move src's nodes */
        int ins[ON_MAX_INPUTS], owner = nd.share ? nd.share : i;
        char nm[ON_NAME_MAX];
        on_error e2;
        for (int k = 0; k < nd.nin; k++) ins[k] = map[nd.in[k]];
        on_keras_unique_name(g, nd.name, nm);
        int k = tie == NULL ? owner : tie != map && owner < tie_n ? tie[owner] : 0;
        if (tie == map && nd.share && keep[owner]) k = map[owner];
        klayer *L = lay[i];
        for (int r = 0; L && r + part[i] < L->napplied; r++)
            if (L->am[r] == g && L->am[r + part[i]] == g) {
                k = L->an[r + part[i]];
                break;
            }
        if (k > 0 && g->nodes[k].nt > 0)
            map[i] = on_model_add_shared(g, k, ins, nd.nin, nm, &e2);
        else
            map[i] = on_model_add_node(g, nd.op, &nd.a, ins, nd.nin, nm, &e2);
        if (map[i] < 0) return kr_fail(c, open, "%s", e2.msg);
        if (L && kr_record(c, L, g, map[i])) return -1;
        if (g == c->cg && kr_set_origin(c, map[i], i)) return kr_oom(c, open);
        if (tie == map && nd.share && !keep[owner]) /* its owner is left out: it owns them */
            keep[owner] = 1, map[owner] = map[i];
    }
    if (!md->rg && src != g) md->rg = g, md->rmap = map, md->rn = n;
    size_t o = strlen(c->called);
    const char *mn = md->name[0] ? md->name : "model";
    if (!strstr(c->called, mn) && o + strlen(mn) + 8 < sizeof c->called)
        snprintf(c->called + o, sizeof c->called - o, "%s%s", o ? ", " : "", mn);
    *y = map[n - 1];
    return 0;
}

static int call_func(ctx *c, int *p, const kval *f, kval *out) {
    kfunc *fn = f->fn;
    int open = *p;
    char nm[48], b[48];
    kargs A;
    kr_ttext(c, fn->name_tok, nm, sizeof nm);
    if (kr_parse_args(c, p, &A)) return -1;
    if (c->calls >= MAX_CALLS)
        return kr_fail(c, open, "calls of %s() nested deeper than %d (recursion?)", nm, MAX_CALLS);
    int np = fn->nparams;
    kval *vals = kr_cx_alloc(c, sizeof *vals * (size_t)(np + 1));
    int *set = kr_cx_alloc(c, sizeof *set * (size_t)(np + 1));
    if (!vals || !set) return kr_oom(c, open);
    int npos = 0;
    for (int i = 0; i < A.n; i++) {
        const karg *g = &A.a[i];
        int slot = -1;
        if (g->key < 0) {
            if (npos >= np) return kr_fail(c, g->tok, "%s() takes %d arguments, got more", nm, np);
            slot = npos++;
        } else {
            for (int k = 0; k < np; k++)
                if (c->t[fn->ptok[k]].len == c->t[g->key].len &&
                    !memcmp(c->text + c->t[fn->ptok[k]].off, c->text + c->t[g->key].off,
                            (size_t)c->t[g->key].len))
                    slot = k;
            if (slot < 0)
                return kr_fail(c, g->key, "%s() has no parameter '%s'", nm,
                               kr_ttext(c, g->key, b, sizeof b));
        }
        if (set[slot])
            return kr_fail(c, g->tok, "%s() got '%s' twice", nm,
                           kr_ttext(c, fn->ptok[slot], b, sizeof b));
        set[slot] = 1;
        vals[slot] = g->v;
    }
    for (int k = 0; k < np; k++)
        if (!set[k]) {
            if (!fn->has_default[k])
                return kr_fail(c, open, "%s() is missing the argument '%s'", nm,
                               kr_ttext(c, fn->ptok[k], b, sizeof b));
            vals[k] = fn->defaults[k];
        }
    c->base[++c->calls] = c->nvars;
    int r = 0, loops = c->loops;
    c->loops = 0; /* break and continue do not leave the function */
    for (int k = 0; k < np && !r; k++) r = kr_bind(c, fn->ptok[k], &vals[k]);
    if (!r) r = kr_exec_range(c, fn->body, fn->body_end);
    *out = c->returning ? c->ret : kr_mk(V_NONE, open);
    c->returning = 0;
    c->loops = loops;
    c->nvars = c->base[c->calls--];
    return r;
}

int kr_e_call(ctx *c, int *p, kval *f, kval *out) {
    int open = *p;
    char b[64];
    switch (f->kind) {
    case V_OPAQUE:
        *p = kr_skip_group(c, open);
        *out = kr_mk(V_OPAQUE, f->tok);
        out->end = *p;
        return 0;
    case V_PATH:
        return call_path(c, p, f, out);
    case V_METHOD:
        return call_method(c, p, f, out);
    case V_LAYER:
        return call_layer(c, p, f, out);
    case V_FUNC:
        return call_func(c, p, f, out);
    case V_SEQ:
        return call_seq(c, p, f->seq, out);
    case V_MODEL:
        return call_model(c, p, f->model, out);
    default:
        return kr_fail(c, open, "%s is not callable: '%s'", kr_kind_name(f),
                       kr_src(c, f->tok, open, b, sizeof b));
    }
}
