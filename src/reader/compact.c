/* compact.c - the compact one-line model form:
 *
 *     input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) | flatten dense(10)
 *
 * Layers are separated by spaces; '|' is only a visual separator. A layer is an op name
 * (or an alias below) with optional arguments: positional in the order the op declares,
 * or key=value; tuples are written (3,5). input(...) takes the Keras (channels-last)
 * shape. conv, maxpool, avgpool, minpool pick the 1-D or 2-D op from the input rank.
 * `activation=NAME` on conv and dense appends that activation. Errors give the column.
 */
#include "../graph.h"
#include "args.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* unformatted, so that appending does not reflow the lines above (branches merge) */
// clang-format off
static const char *const aliases[][2] = {
    {"bn", "batchnorm"}, {"batch_norm", "batchnorm"}, {"lrelu", "leaky_relu"},
    {"swish", "silu"},   {"linear", "identity"},      {"gap", "global_avgpool"},
    {"fc", "dense"},     {"linear_layer", "dense"},
    {"hardsigmoid", "hard_sigmoid"}, {"hardswish", "hard_swish"}, {"exp", "exponential"},
};
// clang-format on

/* Ops that exist as 1-D and 2-D: the name without the suffix picks by input rank. */
static const char *const by_rank[] = {"conv", "maxpool", "minpool", "avgpool", "spatial_dropout"};

typedef struct lexer {
    const char *s;
    int pos;
} lexer;

static void skip_ws(lexer *lx) {
    while (lx->s[lx->pos] && (isspace((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '|'))
        lx->pos++;
}

static int fail_at(on_error *err, const lexer *lx, int col, const char *fmt, const char *what) {
    char m[400];
    snprintf(m, sizeof m, fmt, what);
    (void)lx;
    return on_fail(err, "spec:1:%d: %s", col + 1, m);
}

static int word(lexer *lx, char *out, size_t len) {
    size_t n = 0;
    while (isalnum((unsigned char)lx->s[lx->pos]) || lx->s[lx->pos] == '_' ||
           lx->s[lx->pos] == '.' || lx->s[lx->pos] == '-' || lx->s[lx->pos] == '+') {
        if (n + 1 < len) out[n++] = lx->s[lx->pos];
        lx->pos++;
    }
    out[n] = 0;
    return (int)n;
}

/* value := number | ident | '(' number {',' number} ')' */
static int value(lexer *lx, on_value *v, on_error *err) {
    while (lx->s[lx->pos] == ' ') lx->pos++;
    int col = lx->pos;
    memset(v, 0, sizeof *v);
    if (lx->s[lx->pos] == '(') {
        lx->pos++;
        v->kind = ON_V_TUPLE;
        for (;;) {
            char w[32];
            while (lx->s[lx->pos] == ' ') lx->pos++;
            if (lx->s[lx->pos] == ')' && v->n > 0) break;
            int c0 = lx->pos;
            if (!word(lx, w, sizeof w))
                return fail_at(err, lx, c0, "expected a number in %s", "tuple");
            char *end;
            double d = strtod(w, &end);
            if (*end) return fail_at(err, lx, c0, "'%s' is not a number", w);
            if (v->n == 4) return fail_at(err, lx, c0, "%s: more than 4 numbers", "tuple");
            v->num[v->n++] = d;
            while (lx->s[lx->pos] == ' ') lx->pos++;
            if (lx->s[lx->pos] == ',')
                lx->pos++;
            else if (lx->s[lx->pos] != ')')
                return fail_at(err, lx, lx->pos, "expected ',' or ')' in %s", "tuple");
        }
        lx->pos++;
        return 0;
    }
    char w[32];
    if (!word(lx, w, sizeof w)) return fail_at(err, lx, col, "expected a value%s", "");
    char *end;
    double d = strtod(w, &end);
    if (!*end) {
        v->kind = ON_V_NUM;
        v->num[0] = d;
    } else {
        v->kind = ON_V_IDENT;
        snprintf(v->ident, sizeof v->ident, "%s", w);
    }
    return 0;
}

const on_op *on_spec_resolve(const char *name, on_shape cur) {
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(name, aliases[i][0])) name = aliases[i][1];
    for (size_t i = 0; i < sizeof by_rank / sizeof by_rank[0]; i++)
        if (!strcmp(name, by_rank[i])) {
            char full[32];
            snprintf(full, sizeof full, "%s%s", name, cur.rank == 2 ? "1d" : "2d");
            return on_op_find(full);
        }
    return on_op_find(name);
}

static int known_list(char *buf, size_t len) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < on_nops && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", on_ops[i]->name);
    return 0;
}

/* input(d1[,d2[,d3]]) channels last -> on_shape */
static int parse_input(lexer *lx, on_shape *s, on_error *err) {
    on_value v;
    int col = lx->pos;
    if (value(lx, &v, err)) return -1;
    if (v.kind == ON_V_NUM) v.kind = ON_V_TUPLE, v.n = 1;
    int d[3] = {0};
    for (int i = 0; i < v.n && i < 3; i++) {
        if (!(v.num[i] >= 1 && v.num[i] <= 1e6) || v.num[i] != floor(v.num[i]))
            return fail_at(err, lx, col, "input dimensions must be positive integers%s", "");
        d[i] = (int)v.num[i];
    }
    if (v.kind != ON_V_TUPLE || v.n > 3)
        return fail_at(err, lx, col, "input takes 1 to 3 dimensions, channels last: %s",
                       "input(28,28,1)");
    if (v.n == 1)
        *s = (on_shape){1, d[0], 1, 1};
    else if (v.n == 2)
        *s = (on_shape){2, d[1], 1, d[0]};
    else
        *s = (on_shape){3, d[2], d[0], d[1]};
    return 0;
}

static int find_node(const on_model *m, const char *name) {
    for (int i = m->nn - 1; i >= 0; i--)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

/* One layer: name [ '(' args ')' ]. Appends it (and an activation= layer) to m.
 * Besides the op's own arguments: from=NAME feeds the layer from an earlier layer instead
 * of the previous one; add(NAME) sums the previous layer (or from=) and layer NAME;
 * name=NAME names the layer; share=NAME makes it use layer NAME's parameters (weight tying:
 * one set, counted once; its other arguments must be NAME's). */
static int layer(on_model *m, lexer *lx, on_error *err) {
    char name[48];
    int col = lx->pos;
    if (!word(lx, name, sizeof name))
        return fail_at(err, lx, col, "expected a layer name, found '%.20s'", lx->s + lx->pos);
    int from = m->nn - 1, others[ON_MAX_INPUTS], nother = 0, npos = 0, share = 0;
    char lname[ON_NAME_MAX] = "";
    const on_op *op = on_spec_resolve(name, m->nodes[from].ys);
    if (!op) {
        char known[1024];
        known_list(known, sizeof known);
        char msg[1200];
        snprintf(msg, sizeof msg, "unknown layer '%s' (supported: %s)", name, known);
        return on_fail(err, "spec:1:%d: %s", col + 1, msg);
    }
    on_attrs a = op->defaults;
    const on_op *act = NULL;
    int merge = op->ninputs == ON_NINPUTS_ANY;
    if (lx->s[lx->pos] == '(') {
        lx->pos++;
        for (int i = 0;; i++) {
            while (lx->s[lx->pos] == ' ') lx->pos++;
            if (lx->s[lx->pos] == ')') {
                lx->pos++;
                break;
            }
            int c0 = lx->pos;
            char key[32] = "", pbuf[32];
            on_value v;
            int save = lx->pos;
            if (word(lx, key, sizeof key) && lx->s[lx->pos] == '=') {
                lx->pos++;
            } else {
                lx->pos = save;
                key[0] = 0;
            }
            if (value(lx, &v, err)) return -1;
            int is_from = !strcmp(key, "from");
            if (!strcmp(key, "share")) {
                share = v.kind == ON_V_IDENT ? find_node(m, v.ident) : -1;
                if (share < 1 || m->nodes[share].op != op || !m->nodes[share].nt)
                    return on_fail(err,
                                   "spec:1:%d: share=: no earlier %s layer with weights "
                                   "is called '%s'",
                                   c0 + 1, op->name, v.kind == ON_V_IDENT ? v.ident : "(a number)");
            } else if (!strcmp(key, "name")) {
                if (v.kind != ON_V_IDENT) return fail_at(err, lx, c0, "name must be a word%s", "");
                snprintf(lname, sizeof lname, "%s", v.ident);
            } else if (is_from || (merge && !*key && v.kind == ON_V_IDENT)) {
                int node = v.kind == ON_V_IDENT ? find_node(m, v.ident) : -1;
                if (node < 0)
                    return fail_at(err, lx, c0, "no earlier layer is called '%s'",
                                   v.kind == ON_V_IDENT ? v.ident : "(a number)");
                if (is_from)
                    from = node;
                else if (nother == ON_MAX_INPUTS - 1)
                    return fail_at(err, lx, c0, "%s takes at most 64 inputs", op->name);
                else
                    others[nother++] = node;
            } else if (!strcmp(key, "activation") && (op->props & ON_PROP_LINEAR_MAP)) {
                if (v.kind != ON_V_IDENT || !(act = on_spec_resolve(v.ident, m->nodes[from].ys)) ||
                    !(act->props & ON_PROP_ELEMENTWISE) || act->params)
                    return fail_at(err, lx, c0, "unknown activation '%s'", v.ident);
            } else {
                const char *k = key;
                if (!*k && v.kind == ON_V_IDENT &&
                    (!strcmp(v.ident, "same") || !strcmp(v.ident, "valid")))
                    k = "padding";
                else if (!*k &&
                         !(k = on_args_positional(op, merge ? npos++ : i, pbuf, sizeof pbuf)))
                    return fail_at(err, lx, c0, "too many arguments for %s", op->name);
                on_error e2;
                if (on_args_set(op, &a, k, &v, &e2))
                    return on_fail(err, "spec:1:%d: %s", c0 + 1, e2.msg);
            }
            while (lx->s[lx->pos] == ' ') lx->pos++;
            if (lx->s[lx->pos] == ',')
                lx->pos++;
            else if (lx->s[lx->pos] != ')')
                return fail_at(err, lx, lx->pos, "expected ',' or ')' after an argument of %s",
                               op->name);
        }
    }
    if (merge && nother < 1)
        return fail_at(
            err, lx, col,
            "%s needs the names of the layers it merges with the previous one, e.g. add(conv2d)",
            op->name);
    on_error e2;
    int in[ON_MAX_INPUTS] = {from};
    for (int k = 0; k < nother; k++) in[k + 1] = others[k];
    if (share) { /* the same arguments as NAME's, as this form writes them (exact floats
                  * such as a BatchNorm momentum read from Keras may not survive the text) */
        char mine[5120], theirs[5120];
        const on_node *o = &m->nodes[m->nodes[share].share ? m->nodes[share].share : share];
        on_args_format(op, &a, mine, sizeof mine);
        on_args_format(op, &o->a, theirs, sizeof theirs);
        if (strcmp(mine, theirs))
            return on_fail(err,
                           "spec:1:%d: %s shares the weights of '%s', but its arguments differ",
                           col + 1, op->name, m->nodes[share].name);
    }
    int id = share ? on_model_add_shared(m, share, in, 1 + nother, lname, &e2)
                   : on_model_add_node(m, op, &a, in, 1 + nother, lname, &e2);
    if (id < 0) return on_fail(err, "spec:1:%d: %s", col + 1, e2.msg);
    if (act && on_model_add(m, act, &act->defaults, NULL, &e2) < 0)
        return on_fail(err, "spec:1:%d: %s", col + 1, e2.msg);
    return 0;
}

/* Layers from column pos of s to its end. */
static int add_layers(on_model *m, const char *s, int pos, on_error *err) {
    lexer lx = {s, pos};
    for (;;) {
        skip_ws(&lx);
        if (!lx.s[lx.pos]) return 0;
        if (layer(m, &lx, err)) return -1;
        char c = lx.s[lx.pos];
        if (c && !isspace((unsigned char)c) && c != '|')
            return fail_at(err, &lx, lx.pos, "unexpected '%.1s' after a layer", lx.s + lx.pos);
    }
}

int on_model_add_spec(on_model *m, const char *spec, on_error *err) {
    return add_layers(m, spec, 0, err);
}

on_model *on_model_from_spec(const char *spec, on_error *err) {
    lexer lx = {spec, 0};
    skip_ws(&lx);
    char w[16];
    int col = lx.pos;
    if (!word(&lx, w, sizeof w) || strcmp(w, "input") || lx.s[lx.pos] != '(') {
        fail_at(err, &lx, col, "a model must start with input(...), e.g. %s", "input(28,28,1)");
        return NULL;
    }
    on_shape s;
    if (parse_input(&lx, &s, err)) return NULL;
    on_model *m = on_model_new(s, err);
    if (!m) return NULL;
    if (add_layers(m, spec, lx.pos, err)) {
        on_model_free(m);
        return NULL;
    }
    return m;
}

char *on_model_to_spec(const on_model *m) {
    size_t cap = 256 + (size_t)m->nn * 96, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    on_shape s = m->input;
    if (s.rank == 1)
        n += (size_t)snprintf(out, cap, "input(%d)", s.c);
    else if (s.rank == 2)
        n += (size_t)snprintf(out, cap, "input(%d,%d)", s.w, s.c);
    else
        n += (size_t)snprintf(out, cap, "input(%d,%d,%d)", s.h, s.w, s.c);
    for (int i = 1; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        char tok[5120];
        on_args_format(nd->op, &nd->a, tok, sizeof tok);
        char extra[4800] = "", auto_name[ON_NAME_MAX];
        size_t ne = 0; /* a merge's other inputs first: add(conv2d) */
        for (int k = 1; k < nd->nin; k++)
            ne += (size_t)snprintf(extra + ne, sizeof extra - ne, "%s%s", k > 1 ? "," : "",
                                   m->nodes[nd->in[k]].name);
        int k = 0;
        for (int j = 1; j < i; j++) k += m->nodes[j].op == nd->op;
        if (k)
            snprintf(auto_name, sizeof auto_name, "%s_%d", nd->op->name, k);
        else
            snprintf(auto_name, sizeof auto_name, "%s", nd->op->name);
        if (strcmp(auto_name, nd->name))
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%sname=%s",
                     *extra ? "," : "", nd->name);
        if (nd->share) /* weight tying */
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%sshare=%s",
                     *extra ? "," : "", m->nodes[nd->share].name);
        if (nd->in[0] != i - 1) /* fed by an earlier layer */
            snprintf(extra + strlen(extra), sizeof extra - strlen(extra), "%sfrom=%s",
                     *extra ? "," : "", m->nodes[nd->in[0]].name);
        if (*extra) {
            size_t t = strlen(tok);
            if (t && tok[t - 1] == ')')
                snprintf(tok + t - 1, sizeof tok - t + 1, ",%s)", extra);
            else
                snprintf(tok + t, sizeof tok - t, "(%s)", extra);
        }
        size_t t = strlen(tok);
        if (n + t + 2 > cap) {
            char *o2 = realloc(out, cap = 2 * cap + t);
            if (!o2) {
                free(out);
                return NULL;
            }
            out = o2;
        }
        n += (size_t)snprintf(out + n, cap - n, " %s", tok);
    }
    return out;
}
