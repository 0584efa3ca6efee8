/* model.c - the model at the end of the code (the last one defined, with its notes), the
 * entry point on_keras_read, and on_keras_detect. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* The model                                                                            */

/* The name of node i of g in the model m: a copy of a called model's layer whose original is
 * left out takes the original's name (as Keras names the layers of a model called once),
 * if no layer of m has it yet. */
static const char *name_of(const ctx *c, const on_model *g, const char *keep, const on_model *m,
                           int i) {
    int o = i;
    while (o < c->norigin && c->origin[o] > 0) o = c->origin[o];
    if (o == i || keep[o]) return g->nodes[i].name;
    for (int k = 0; k < m->nn; k++)
        if (!strcmp(m->nodes[k].name, g->nodes[o].name)) return g->nodes[i].name;
    /* nor may a layer of g kept later have it (names are unique in g: only o had it) */
    return g->nodes[o].name;
}

/* The model: the code graph restricted to the layers that lead to node out, and to its
 * Inputs, ins[0 .. nins) in this order when a Model lists them (else those out needs, in
 * the order they were first used). One Input becomes node 0; several are packed into node 0,
 * one after another, each an input_part node. */
static on_model *extract(ctx *c, kinput *gin, kinput *const *ins, int nins, int out) {
    on_model *g = gin->g;
    const on_op *part_op = on_op_find("input_part");
    int nn = g->nn, dropped = 0, np = 0;
    char *keep = calloc((size_t)nn, 1);
    int *map = malloc(sizeof(int) * (size_t)nn), *order = malloc(sizeof(int) * (size_t)nn);
    if (!keep || !map || !order) {
        free(keep);
        free(map);
        free(order);
        kr_oom(c, 0);
        return NULL;
    }
    keep[out] = 1;
    for (int k = 0; k < nins; k++)
        if (ins[k]->g == g) keep[ins[k]->part] = 1, order[np++] = ins[k]->part;
    for (int i = out; i >= 1; i--)
        if (keep[i])
            for (int k = 0; k < g->nodes[i].nin; k++) keep[g->nodes[i].in[k]] = 1;
    /* the layers left out that the note names: those applied to the model's Inputs (the
     * layers of other Inputs belong to other models of the code) */
    char *mine = calloc((size_t)nn, 1);
    if (!mine) {
        free(keep);
        free(map);
        free(order);
        kr_oom(c, 0);
        return NULL;
    }
    for (int i = 1; i < nn; i++) {
        int listed = 0;
        for (int k = 0; k < np; k++) listed |= order[k] == i;
        if (keep[i] && g->nodes[i].op == part_op && !listed) order[np++] = i;
        mine[i] = keep[i] && g->nodes[i].op == part_op;
        for (int k = 0; g->nodes[i].op != part_op && k < g->nodes[i].nin; k++)
            mine[i] |= mine[g->nodes[i].in[k]];
        dropped += mine[i] && !keep[i] && g->nodes[i].op != part_op;
    }
    on_error e2;
    on_model *m = NULL;
    if (np == 1) {
        m = on_model_new(g->nodes[order[0]].ys, &e2);
        map[order[0]] = 0;
        const kinput *x = c->inputs; /* an unnamed Input is node 0's "input" again */
        while (x && !(x->g == g && x->part == order[0])) x = x->next;
        if (m && x && x->name[0]) memcpy(m->nodes[0].name, x->name, sizeof m->nodes[0].name);
    } else if (np > 1) {
        size_t total = 0;
        for (int k = 0; k < np; k++) total += on_shape_size(g->nodes[order[k]].ys);
        m = on_model_new((on_shape){1, (int)total, 1, 1}, &e2);
        for (int k = 0, start = 0; m && k < np; k++) {
            const on_node *nd = &g->nodes[order[k]];
            on_attrs a = nd->a;
            a.pad[0] = start;
            start += (int)on_shape_size(nd->ys);
            if ((map[order[k]] = on_model_add_at(m, 0, part_op, &a, nd->name, &e2)) < 0) {
                on_model_free(m);
                m = NULL;
            }
        }
    } else {
        snprintf(e2.msg, sizeof e2.msg, "the model's output needs no Input");
    }
    char note[512];
    size_t o = (size_t)snprintf(
        note, sizeof note, "left out %d layer%s that do%s not lead to the model's output:", dropped,
        dropped > 1 ? "s" : "", dropped > 1 ? "" : "es");
    for (int i = 1; m && i < nn; i++) {
        const on_node *nd = &g->nodes[i];
        if (!keep[i] && mine[i] && nd->op != part_op) {
            if (o + 80 < sizeof note)
                o += (size_t)snprintf(note + o, sizeof note - o, " %s", nd->name);
            continue;
        }
        if (!keep[i] || nd->op == part_op || i > out || keep[i] == 2) continue;
        int in[ON_MAX_INPUTS], owner = nd->share;
        for (int k = 0; k < nd->nin; k++) in[k] = map[nd->in[k]];
        const char *nm = name_of(c, g, keep, m, i);
        if (owner && keep[owner]) /* a shared layer; its owner left out: this one owns them */
            map[i] = on_model_add_shared(m, map[owner], in, nd->nin, nm, &e2);
        else
            map[i] = on_model_add_node(m, nd->op, &nd->a, in, nd->nin, nm, &e2);
        if (owner && !keep[owner] && map[i] >= 0) keep[owner] = 2, map[owner] = map[i];
        if (map[i] < 0) {
            on_model_free(m);
            m = NULL;
        }
    }
    free(keep);
    free(map);
    free(order);
    free(mine);
    if (!m) {
        kr_fail(c, 0, "%s", e2.msg);
        return NULL;
    }
    if (dropped) on_model_add_note(m, note);
    return m;
}

/* Normalization's given mean and variance into the model's state tensors, by the names the
 * nodes have (extract keeps them); from: the model the layers were applied to. */
static void write_norms(ctx *c, const on_model *from, on_model *m) {
    for (int i = 0; i < c->nnorms; i++) {
        const klayer *L = c->norms[i];
        for (int k = 0; k < L->napplied; k++) {
            if (L->am[k] != from && L->am[k] != m) continue;
            const char *nm = L->am[k]->nodes[L->an[k]].name;
            for (int v = 0; v < 2; v++) {
                char tn[ON_NAME_MAX + 16];
                snprintf(tn, sizeof tn, "%s.%s", nm, v ? "variance" : "mean");
                int t = on_model_tensor_find(m, tn);
                const float *src = v ? L->nvar : L->nmean;
                int n = v ? L->nvar_n : L->nmean_n;
                if (t < 0 || !src) continue;
                float *d = on_model_tensor_data(m, t);
                size_t sz = on_model_tensor_size(m, t);
                for (size_t j = 0; d && j < sz; j++) d[j] = src[n == 1 ? 0 : (int)j % n];
            }
        }
    }
}

/* The notes about something read at one place (its token in ctx, 0: none), in this order;
 * %s is FILE:LINE:COL. */
static const struct {
    size_t tok;
    const char *fmt;
} at_notes[] = {
    {offsetof(ctx, reshape_tok),
     "Reshape at %s: Keras's channels-last target is read as ordnet's channels-first shape, "
     "filled in ordnet's order (from a flat input: the same model up to the order of the "
     "weights before it)"},
    {offsetof(ctx, adapt_tok),
     "Normalization at %s has no mean= and variance= (Keras adapts it to data): read with mean "
     "0 and variance 1, so it changes nothing; the parameter count is Keras's"},
    {offsetof(ctx, reg_tok),
     "the regularizer at %s is not a value ordnet computes (a function or a value of the "
     "program): read without it, so training does not add it to the loss (regularizers have no "
     "parameters: the counts are Keras's)"},
    {offsetof(ctx, weights_tok),
     "weights= at %s ignored: initialized randomly (ordnet does not load the given values; the "
     "parameter counts are the same, but training starts from random values, and a frozen "
     "layer stays random)"},
    {offsetof(ctx, keras1), "Keras 1 arguments (first at %s: nb_filter, nb_row, nb_col, "
                            "border_mode, subsample, init, ...) read as Keras 2's"},
};

static on_model *finish(ctx *c) {
    char b1[64], b2[64], w[32], note[512];
    kseq *s = NULL;
    int nseq = 0;
    for (int i = 0; i < c->nseqs; i++) {
        kseq *q = c->seqs[i];
        if ((!q->nlayers && !q->has_input) || q->inlined) continue;
        nseq++;
        if (!s || q->touched > s->touched) s = q;
    }
    int raw = !c->model && c->g_in && c->g_in->g && c->g_touched > 0;
    int ncand = nseq + c->nmodels + raw;
    if (!ncand) {
        kr_fail(c, 0,
                "no model found: ordnet reads layers applied to an Input (x = Dense(10)(inp)), "
                "Sequential([...]) or model.add(...)");
        return NULL;
    }
    int use_seq =
        s && (!c->model || s->touched > c->model_touched) && (!raw || s->touched > c->g_touched);
    kinput *gin = c->model ? c->model->in : c->g_in;
    on_model *m, *from = use_seq ? s->m : gin ? gin->g : NULL; /* where the layers were applied */
    int sm, dtok, known;
    on_shape decl;
    if (use_seq) {
        if (!s->m) {
            kr_fail(
                c, s->tok,
                "this Sequential model has no input shape: start its list with "
                "keras.Input(shape=(...)), "
                "give its first layer input_shape=(...), or give the input shape to the reader");
            return NULL;
        }
        m = s->m;
        s->m = NULL;
        sm = s->last_softmax;
        decl = s->decl, known = s->decl_known, dtok = s->decl_tok;
    } else {
        int out = c->model ? c->model->out : c->g_last;
        sm = c->model ? c->model->softmax : c->g_softmax;
        decl = gin->shape, known = gin->known, dtok = gin->tok;
        if (!gin->g) {
            kr_fail(c, c->model ? c->model->tok : 0,
                    "this model's layers were taken apart (a model used twice?)");
            return NULL;
        }
        if (!(m = extract(c, gin, c->model ? c->model->ins : NULL, c->model ? c->model->nins : 0,
                          out)))
            return NULL;
    }
    if (m->nn < 2) {
        kr_fail(c, use_seq ? s->tok : 0, "the model has no layers");
        on_model_free(m);
        return NULL;
    }
    int mtok = use_seq ? s->tok : c->model ? c->model->tok : c->t[0].type == T_EOF ? 0 : dtok;
    write_norms(c, from, m);
    if (on_model_first_shared(m)) { /* shared layers or a model called twice */
        size_t o = (size_t)snprintf(note, sizeof note,
                                    "shared layers (one set of weights, counted once; training "
                                    "adds both applications' gradients):");
        for (int i = 1, k = 0; i < m->nn && o + 80 < sizeof note; i++)
            if (m->nodes[i].share)
                o += (size_t)snprintf(note + o, sizeof note - o, "%s %s uses %s's weights",
                                      k++ ? "," : "", m->nodes[i].name,
                                      m->nodes[m->nodes[i].share].name);
        on_model_add_note(m, note);
    }
    if (c->called[0]) {
        snprintf(note, sizeof note,
                 "models called as layers (%s): their layers are rows of this table, where "
                 "Keras shows each call as one row; the parameters are the same",
                 c->called);
        on_model_add_note(m, note);
    }
    if (ncand > 1) {
        snprintf(note, sizeof note,
                 "the code defines %d models; ordnet read the last one, at %s:%s", ncand, c->file,
                 kr_where(c, mtok, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (c->override) {
        on_keras_shape_str(*c->override, b1, sizeof b1);
        if (known && memcmp(&decl, c->override, sizeof decl)) {
            snprintf(note, sizeof note,
                     "input shape %s given to the reader replaces %s declared at %s:%s", b1,
                     on_keras_shape_str(decl, b2, sizeof b2), c->file,
                     kr_where(c, dtok, w, sizeof w));
            on_model_add_note(m, note);
        } else if (!known) {
            snprintf(note, sizeof note, "input shape %s given to the reader", b1);
            on_model_add_note(m, note);
        }
    }
    if (c->chfirst) {
        snprintf(note, sizeof note,
                 "channels-first code (%s at %s:%s): shapes read as (channels, height, width) and "
                 "converted to ordnet's layout; this table shows them channels last",
                 c->chfirst_guess ? "the input shape" : "its layout argument", c->file,
                 kr_where(c, c->chfirst_tok, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (c->ident[0]) {
        snprintf(note, sizeof note,
                 "read as the identity, what they compute at inference (they have no weights): "
                 "%s; ordnet does not apply them in training (no augmentation)",
                 c->ident);
        on_model_add_note(m, note);
    }
    for (size_t i = 0; i < sizeof at_notes / sizeof at_notes[0]; i++) {
        int tok = *(const int *)(const void *)((const char *)c + at_notes[i].tok);
        char at[600];
        if (!tok) continue;
        snprintf(at, sizeof at, "%s:%s", c->file, kr_where(c, tok, w, sizeof w));
        snprintf(note, sizeof note, at_notes[i].fmt, at);
        on_model_add_note(m, note);
    }
    if (sm >= 0) {
        const on_node *last = &m->nodes[m->nn - 1];
        int dense = !strcmp(last->op->name, "dense") && last->ys.rank == 1;
        if (c->classes > 0 && !dense) {
            kr_fail(c, sm,
                    "the softmax on '%s' %s cannot be folded into the loss: the model has no "
                    "classifier (a last Dense layer), so a classifier head for %d classes comes "
                    "after it and the softmax would sit in the middle; remove it or end the model "
                    "with Dense(%d, activation='softmax')",
                    last->name, on_keras_shape_str(last->ys, b1, sizeof b1), c->classes,
                    c->classes);
            on_model_free(m);
            return NULL;
        }
        snprintf(note, sizeof note,
                 "softmax at %s:%s is folded into the loss: ordnet's loss is softmax "
                 "cross-entropy, so the model outputs the logits of '%s' (softmax of them "
                 "gives Keras's probabilities)",
                 c->file, kr_where(c, sm, w, sizeof w), last->name);
        on_model_add_note(m, note);
    }
    return m;
}

/* Channels-first code: dim_ordering='th' / data_format='channels_first' anywhere, or
 * K.set_image_dim_ordering('th') / set_image_data_format('channels_first'). */
static void find_layout(ctx *c) {
    for (int i = 2; i < c->nt; i++) {
        if (c->t[i].type != T_STR) continue;
        const char *q = c->text + c->t[i].off;
        int len = c->t[i].len;
        if (len < 4 || (q[0] != '\'' && q[0] != '"')) continue;
        int th = len == 4 && !memcmp(q + 1, "th", 2),
            cf = len == 16 && !memcmp(q + 1, "channels_first", 14);
        if (!th && !cf) continue;
        if ((kr_is_op(c, i - 1, "=") &&
             (kr_is_name(c, i - 2, "dim_ordering") || kr_is_name(c, i - 2, "data_format"))) ||
            (kr_is_op(c, i - 1, "(") && (kr_is_name(c, i - 2, "set_image_dim_ordering") ||
                                         kr_is_name(c, i - 2, "set_image_data_format")))) {
            c->chfirst = 1;
            c->chfirst_tok = i;
            return;
        }
    }
}

/* A dimension written None (Keras: any size) is read as NONE_LEN, and the code is read again
 * with NONE_CHECK: the model is taken only when both have the same parameter count. */
#define NONE_LEN 256
#define NONE_CHECK 320

/* One reading of the code, None sizes read as none_len; *none: where one was read, 0 none. */
static on_model *read_once(const char *text, const char *file, const on_shape *input, int classes,
                           int none_len, on_error *err, int *none, char *where, size_t wn,
                           char *shape, size_t sn) {
    ctx c;
    memset(&c, 0, sizeof c);
    c.text = text ? text : "";
    c.file = file && *file ? file : "<text>";
    c.override = input;
    c.classes = classes;
    c.err = err;
    c.none_len = none_len;
    on_model *m = NULL;
    if (!kr_lex(&c)) {
        find_layout(&c);
        if (!kr_exec_range(&c, 0, c.nt)) m = finish(&c);
    }
    *none = c.none_tok;
    if (c.none_tok) {
        char w[32];
        snprintf(where, wn, "%s:%s", c.file, kr_where(&c, c.none_tok, w, sizeof w));
        snprintf(shape, sn, "%s", c.none_shape);
    }
    on_model_free(c.cg); /* every Input's graph */
    free(c.origin);
    for (int i = 0; i < c.nseqs; i++) on_model_free(c.seqs[i]->m);
    free(c.seqs);
    free(c.vars);
    for (int i = 0; i < c.nblocks; i++) free(c.blocks[i]);
    free(c.blocks);
    free(c.t);
    return m;
}

on_model *on_keras_read(const char *text, const char *file, const on_shape *input, int classes,
                        on_error *err) {
    int none = 0, none2 = 0;
    char where[600], shape[64], w2[600], s2[64], note[1024];
    on_model *m = read_once(text, file, input, classes, NONE_LEN, err, &none, where, sizeof where,
                            shape, sizeof shape);
    if (!m || !none) return m;
    on_error e2;
    on_model *m2 = read_once(text, file, input, classes, NONE_CHECK, &e2, &none2, w2, sizeof w2, s2,
                             sizeof s2);
    double p1 = (double)m->np + (double)m->ns, p2 = m2 ? (double)m2->np + (double)m2->ns : -1;
    on_model_free(m2);
    if (p1 != p2) {
        on_model_free(m);
        if (p2 < 0)
            on_fail(err,
                    "%s: input shape %s has a dimension None: ordnet needs fixed sizes, and "
                    "read as %d the model is not the same (%s); write the size, or give the "
                    "input shape to the reader",
                    where, shape, NONE_CHECK, e2.msg);
        else
            on_fail(err,
                    "%s: input shape %s has a dimension None: ordnet needs fixed sizes, and this "
                    "model's parameter count depends on it (%.0f with %d, %.0f with %d: a "
                    "Flatten or Dense sees it); write the size, or give the input shape to the "
                    "reader",
                    where, shape, p1, NONE_LEN, p2, NONE_CHECK);
        return NULL;
    }
    snprintf(note, sizeof note,
             "input shape %s at %s has a dimension None (any size in Keras): read as %d; the "
             "parameter count does not depend on it (the same with %d), the shapes shown do; "
             "give the input shape to the reader for another size",
             shape, where, NONE_LEN, NONE_CHECK);
    on_model_add_note(m, note);
    return m;
}

/* ------------------------------------------------------------------------------------ */
/* Telling Keras code from the compact form                                             */

int on_keras_detect(const char *text) {
    const char *s = text ? text : "";
    if (!strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    for (;;) { /* blank lines and comments before the first word */
        while (isspace((unsigned char)*s)) s++;
        if (*s != '#') break;
        while (*s && *s != '\n') s++;
    }
    if (!strncmp(s, "input", 5)) {
        const char *q = s + 5;
        while (*q == ' ' || *q == '\t') q++;
        if (*q == '(') return 0; /* the compact form starts with input(...) */
    }
    int depth = 0, line_start = 1;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (ch == '\n') {
            line_start = 1;
            continue;
        }
        if (line_start && (ch == ' ' || ch == '\t')) continue;
        if (line_start && (!strncmp(p, "import ", 7) || !strncmp(p, "from ", 5) || *p == '#'))
            return 1;
        if (line_start) { /* a Python statement keyword starts the line */
            static const char *const kw[] = {"def ",     "class ", "for ",   "while ",
                                             "if ",      "with ",  "return", "break",
                                             "continue", "@",      "try:"};
            for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
                if (!strncmp(p, kw[k], strlen(kw[k]))) return 1;
        }
        line_start = 0;
        if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if ((ch == ')' || ch == ']' || ch == '}') && depth > 0)
            depth--;
        else if (ch == '=' && depth == 0 && p[1] != '=' && p > s && !strchr("=!<>", p[-1]))
            return 1;
        else if (isupper((unsigned char)ch) &&
                 (p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            const char *q = p;
            while (isalnum((unsigned char)*q) || *q == '_') q++;
            while (*q == ' ' || *q == '\t') q++;
            if (*q == '(') return 1;
        }
    }
    return 0;
}
