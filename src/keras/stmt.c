/* stmt.c - statements: import, from, def, return, if, for, assignments, and the bounded
 * step count that keeps loops and recursion finite. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Statements                                                                           */

static int stmt(ctx *c, int *p);

int kr_exec_range(ctx *c, int i, int end) {
    while (i < end && c->t[i].type != T_EOF) {
        if (c->t[i].type == T_NEWLINE || kr_is_op(c, i, ";")) {
            i++;
            continue;
        }
        if (++c->steps > MAX_STEPS)
            return kr_fail(
                c, i,
                "the code runs more than %d statements (a loop or recursion without end?): "
                "ordnet's reader stops here",
                MAX_STEPS);
        if (stmt(c, &i)) return -1;
        if (c->returning || c->breaking || c->continuing) return 0;
    }
    return 0;
}

/* The body of a compound statement whose header starts at token hdr and ends with the ':' at
 * token colon: [*b, *e), an indented block or the rest of the line. */
static int block_of(ctx *c, int hdr, int colon, int *b, int *e) {
    char w[48];
    int ind = c->t[hdr].indent, i = colon + 1;
    if (c->t[i].type == T_NEWLINE) {
        int bb = i + 1, ee = bb;
        if (c->t[bb].type == T_EOF || c->t[bb].indent <= ind)
            return kr_fail(c, bb, "expected an indented block after '%s'",
                           kr_ttext(c, hdr, w, sizeof w));
        while (c->t[ee].type != T_EOF && !(c->t[ee].first && c->t[ee].indent <= ind)) ee++;
        *b = bb, *e = ee;
        return 0;
    }
    int ee = i;
    while (c->t[ee].type != T_NEWLINE && c->t[ee].type != T_EOF) ee++;
    *b = i, *e = ee;
    return 0;
}

/* The ':' that ends the header starting at i (brackets skipped), or an error. */
static int header_colon(ctx *c, int i, const char *what, int *colon) {
    for (int j = i; !kr_end_of_stmt(c, j);) {
        if (kr_is_op(c, j, ":")) return *colon = j, 0;
        j = kr_is_op(c, j, "(") || kr_is_op(c, j, "[") || kr_is_op(c, j, "{") ? kr_skip_group(c, j)
                                                                              : j + 1;
    }
    return kr_fail(c, i, "expected ':' at the end of the '%s' line", what);
}

/* if / elif / else: the first branch whose condition holds runs; a condition ordnet does not
 * compute is an error (the model would depend on it). */
static int s_if(ctx *c, int *p) {
    int i = *p, ind = c->t[i].indent, taken = 0;
    for (;;) {
        int is_else = kr_is_name(c, i, "else"), colon, b, e, t = 1;
        if (header_colon(c, i, is_else ? "else" : kr_is_name(c, i, "if") ? "if" : "elif", &colon))
            return -1;
        if (!taken && !is_else) {
            kval cond;
            int q = i + 1;
            if (q == colon) return kr_fail(c, q, "a condition is missing");
            if (kr_e_test(c, &q, &cond)) return -1;
            if (q != colon) return kr_fail(c, q, "expected ':' after the condition");
            if (kr_want_truth(c, &cond, i + 1, colon, &t)) return -1;
        }
        if (block_of(c, i, colon, &b, &e)) return -1;
        if (!taken && t) {
            taken = 1;
            if (kr_exec_range(c, b, e)) return -1;
        }
        i = e;
        *p = e;
        if (is_else || c->returning || c->breaking || c->continuing) break;
        if (!(c->t[i].first && c->t[i].indent == ind &&
              (kr_is_name(c, i, "elif") || kr_is_name(c, i, "else"))))
            break;
    }
    if (c->returning || c->breaking || c->continuing) { /* skip the remaining branches */
        while (c->t[*p].first && c->t[*p].indent == ind &&
               (kr_is_name(c, *p, "elif") || kr_is_name(c, *p, "else"))) {
            int colon, b, e;
            if (header_colon(c, *p, "else", &colon) || block_of(c, *p, colon, &b, &e)) return -1;
            *p = e;
        }
    }
    return 0;
}

static int assign(ctx *c, int a, int e, const kval *v);

/* for TARGET in ITERABLE: body [else: body] - over known lists, tuples, ranges and strings,
 * at most MAX_ITER times (and MAX_STEPS statements in all). */
static int s_for(ctx *c, int *p) {
    int i = *p, ind = c->t[i].indent, in = -1, colon, b, e;
    char w[48];
    for (int j = i + 1; !kr_end_of_stmt(c, j) && in < 0;) {
        if (kr_is_name(c, j, "in")) in = j;
        j = kr_is_op(c, j, "(") || kr_is_op(c, j, "[") ? kr_skip_group(c, j) : j + 1;
    }
    if (in < 0 || in == i + 1) return kr_fail(c, i + 1, "expected 'for NAME in ...:'");
    if (header_colon(c, in, "for", &colon) || block_of(c, i, colon, &b, &e)) return -1;
    kval it;
    int q = in + 1;
    if (q == colon) return kr_fail(c, q, "the loop has nothing to run over");
    if (kr_e_exprlist(c, &q, &it)) return -1;
    if (q != colon) return kr_fail(c, q, "unexpected '%s'", kr_ttext(c, q, w, sizeof w));
    int n = 0, broke = 0;
    const kval *items = NULL;
    if (it.kind != V_RANGE && !(items = kr_items_of(c, &it, in + 1, &n))) return -1;
    long long count = it.kind == V_RANGE ? (it.r2 > 0 ? (it.r1 - it.r0 + it.r2 - 1) / it.r2
                                                      : (it.r0 - it.r1 - it.r2 - 1) / -it.r2)
                                         : n;
    if (count > MAX_ITER)
        return kr_fail(c, in + 1, "a loop of %lld iterations: ordnet's reader runs at most %d",
                       count, MAX_ITER);
    c->loops++;
    for (long long k = 0; k < count; k++) {
        kval x = it.kind == V_RANGE ? kr_num_val((double)(it.r0 + k * it.r2), 1, in + 1) : items[k];
        if (assign(c, i + 1, in, &x) || kr_exec_range(c, b, e)) {
            c->loops--;
            return -1;
        }
        c->continuing = 0;
        if (c->breaking || c->returning) {
            broke = c->breaking;
            break;
        }
    }
    c->loops--;
    c->breaking = 0;
    *p = e;
    if (c->t[e].first && c->t[e].indent == ind && kr_is_name(c, e, "else")) {
        if (header_colon(c, e, "else", &colon) || block_of(c, e, colon, &b, &e)) return -1;
        if (!broke && !c->returning && kr_exec_range(c, b, e)) return -1;
        *p = e;
    }
    return 0;
}

/* The index of the end of the statement that starts at i. */
static int stmt_end(const ctx *c, int i) {
    while (!kr_end_of_stmt(c, i)) {
        const tok *t = &c->t[i];
        i = t->type == T_OP && t->len == 1 && strchr("([{", c->text[t->off]) ? kr_skip_group(c, i)
                                                                             : i + 1;
    }
    return i;
}

static int path_value(ctx *c, int tok, const char *s, size_t n, kval *v) {
    *v = kr_mk(V_PATH, tok);
    v->s = kr_cx_strndup(c, s, n);
    return v->s ? 0 : kr_oom(c, tok);
}

/* A dotted module name from token *p into buf. */
static int dotted(ctx *c, int *p, char *buf, size_t n, size_t *len) {
    char b[48];
    if (c->t[*p].type != T_NAME)
        return kr_fail(c, *p, "expected a module name, found '%s'", kr_ttext(c, *p, b, sizeof b));
    for (;;) {
        const tok *t = &c->t[*p];
        if (*len + (size_t)t->len + 2 > n) return kr_fail(c, *p, "module name too long");
        memcpy(buf + *len, c->text + t->off, (size_t)t->len);
        *len += (size_t)t->len;
        buf[*len] = 0;
        ++*p;
        if (!kr_is_op(c, *p, ".") || c->t[*p + 1].type != T_NAME) return 0;
        buf[(*len)++] = '.';
        ++*p;
    }
}

/* import a.b [as c], ...  - names are remembered as module paths */
static int s_import(ctx *c, int *p) {
    int i = *p + 1;
    for (;;) {
        char path[256];
        size_t len = 0;
        int first = i;
        if (dotted(c, &i, path, sizeof path, &len)) return -1;
        kval v;
        if (kr_is_name(c, i, "as")) {
            if (path_value(c, i + 1, path, len, &v) || kr_bind(c, i + 1, &v)) return -1;
            i += 2;
        } else if (path_value(c, first, c->text + c->t[first].off, (size_t)c->t[first].len, &v) ||
                   kr_bind(c, first, &v))
            return -1;
        if (!kr_is_op(c, i, ",")) break;
        i++;
    }
    if (!kr_end_of_stmt(c, i)) return kr_fail(c, i, "unexpected text after the import");
    *p = i;
    return 0;
}

/* from a.b import x [as y], ... */
static int s_from(ctx *c, int *p) {
    int i = *p + 1;
    char path[256];
    size_t len = 0;
    while ((kr_is_op(c, i, ".") || kr_is_op(c, i, "...")) && len + 4 < sizeof path) {
        memcpy(path + len, c->text + c->t[i].off, (size_t)c->t[i].len);
        len += (size_t)c->t[i].len;
        i++;
    }
    path[len] = 0;
    if (!kr_is_name(c, i, "import") && dotted(c, &i, path, sizeof path, &len)) return -1;
    if (!kr_is_name(c, i, "import")) return kr_fail(c, i, "expected 'import'");
    i++;
    int paren = kr_is_op(c, i, "(");
    i += paren;
    if (kr_is_op(c, i, "*"))
        i++;
    else
        for (;;) {
            char b[48];
            if (c->t[i].type != T_NAME)
                return kr_fail(c, i, "expected a name to import, found '%s'",
                               kr_ttext(c, i, b, sizeof b));
            const tok *t = &c->t[i];
            char full[320];
            int fl = snprintf(full, sizeof full, "%s%s%.*s", path,
                              len && path[len - 1] != '.' ? "." : "", t->len, c->text + t->off);
            if (fl < 0 || (size_t)fl >= sizeof full) return kr_fail(c, i, "module name too long");
            kval v;
            int at = i;
            if (kr_is_name(c, i + 1, "as")) at = i + 2, i += 2;
            if (path_value(c, at, full, (size_t)fl, &v) || kr_bind(c, at, &v)) return -1;
            i++;
            if (!kr_is_op(c, i, ",")) break;
            i++;
            if (paren && kr_is_op(c, i, ")")) break;
        }
    if (paren) {
        if (!kr_is_op(c, i, ")")) return kr_fail(c, i, "expected ')'");
        i++;
    }
    if (!kr_end_of_stmt(c, i)) return kr_fail(c, i, "unexpected text after the import");
    *p = i;
    return 0;
}

/* def name(params): body - the body runs when the function is called. */
static int s_def(ctx *c, int *p) {
    int d = *p, name = d + 1;
    char b[48];
    if (c->t[name].type != T_NAME || kr_is_keyword(c, name))
        return kr_fail(c, name, "expected a function name after 'def'");
    if (!kr_is_op(c, name + 1, "("))
        return kr_fail(c, name + 1, "expected '(' after 'def %s'", kr_ttext(c, name, b, sizeof b));
    int close = kr_skip_group(c, name + 1) - 1, cap = close - name;
    kfunc *fn = kr_cx_alloc(c, sizeof *fn);
    if (!fn) return kr_oom(c, d);
    fn->name_tok = name;
    fn->ptok = kr_cx_alloc(c, sizeof(int) * (size_t)cap);
    fn->has_default = kr_cx_alloc(c, sizeof(int) * (size_t)cap);
    fn->defaults = kr_cx_alloc(c, sizeof(kval) * (size_t)cap);
    if (!fn->ptok || !fn->has_default || !fn->defaults) return kr_oom(c, d);
    int i = name + 2;
    while (i < close) {
        if (kr_is_op(c, i, "*") || kr_is_op(c, i, "**") || kr_is_op(c, i, "/"))
            return kr_fail(c, i, "'%s' in a parameter list is not supported",
                           kr_ttext(c, i, b, sizeof b));
        if (c->t[i].type != T_NAME || kr_is_keyword(c, i))
            return kr_fail(c, i, "expected a parameter name, found '%s'",
                           kr_ttext(c, i, b, sizeof b));
        int k = fn->nparams++;
        fn->ptok[k] = i++;
        if (kr_is_op(c, i, ":"))
            while (i < close && !kr_is_op(c, i, ",") && !kr_is_op(c, i, "="))
                i = kr_is_op(c, i, "(") || kr_is_op(c, i, "[") || kr_is_op(c, i, "{")
                        ? kr_skip_group(c, i)
                        : i + 1;
        if (kr_is_op(c, i, "=")) {
            i++;
            if (kr_e_test(c, &i, &fn->defaults[k])) return -1;
            fn->has_default[k] = 1;
        } else if (k && fn->has_default[k - 1])
            return kr_fail(c, fn->ptok[k],
                           "a parameter without a default after one with a default");
        if (kr_is_op(c, i, ","))
            i++;
        else if (i != close)
            return kr_fail(c, i, "expected ',' or ')' in the parameters");
    }
    i = close + 1;
    if (kr_is_op(c, i, "->"))
        while (!kr_is_op(c, i, ":") && !kr_end_of_stmt(c, i))
            i = kr_is_op(c, i, "(") || kr_is_op(c, i, "[") || kr_is_op(c, i, "{")
                    ? kr_skip_group(c, i)
                    : i + 1;
    if (!kr_is_op(c, i, ":"))
        return kr_fail(c, i, "expected ':' after the parameters of %s()",
                       kr_ttext(c, name, b, sizeof b));
    i++;
    int ind = c->t[d].indent;
    if (c->t[i].type == T_NEWLINE) {
        int bb = i + 1, e = bb;
        if (c->t[bb].type == T_EOF || c->t[bb].indent <= ind)
            return kr_fail(c, bb, "expected an indented body for %s()",
                           kr_ttext(c, name, b, sizeof b));
        while (c->t[e].type != T_EOF && !(c->t[e].first && c->t[e].indent <= ind)) e++;
        fn->body = bb;
        fn->body_end = e;
    } else {
        int e = i;
        while (c->t[e].type != T_NEWLINE && c->t[e].type != T_EOF) e++;
        fn->body = i;
        fn->body_end = e;
    }
    kval v = kr_mk(V_FUNC, name);
    v.fn = fn;
    if (kr_bind(c, name, &v)) return -1;
    *p = fn->body_end;
    return 0;
}

/* Targets a, b, ... of [a, e) from the items of v. */
static int assign_list(ctx *c, int a, int e, const kval *v) {
    int parts[64], n = 0, s = a;
    for (int i = a; i <= e;) {
        if (i == e || kr_is_op(c, i, ",")) {
            if (i > s) {
                if (n == 64) return kr_fail(c, a, "too many targets");
                parts[n++] = s;
                parts[n++] = i;
            }
            if (i == e) break;
            s = ++i;
            continue;
        }
        i = kr_is_op(c, i, "(") || kr_is_op(c, i, "[") || kr_is_op(c, i, "{") ? kr_skip_group(c, i)
                                                                              : i + 1;
    }
    n /= 2;
    if (n == 1) {
        int commas = 0;
        for (int i = a; i < e;) {
            commas += kr_is_op(c, i, ",");
            i = kr_is_op(c, i, "(") || kr_is_op(c, i, "[") ? kr_skip_group(c, i) : i + 1;
        }
        if (!commas) return assign(c, a, e, v);
    }
    if (v->kind == V_OPAQUE || v->kind == V_PATH) {
        for (int k = 0; k < n; k++) {
            kval o = kr_mk(V_OPAQUE, v->tok);
            o.end = v->end;
            if (assign(c, parts[2 * k], parts[2 * k + 1], &o)) return -1;
        }
        return 0;
    }
    if (v->kind != V_TUPLE && v->kind != V_LIST)
        return kr_fail(c, a, "cannot unpack %s into %d targets", kr_kind_name(v), n);
    if (v->n != n) return kr_fail(c, a, "cannot unpack %d values into %d targets", v->n, n);
    for (int k = 0; k < n; k++)
        if (assign(c, parts[2 * k], parts[2 * k + 1], &v->items[k])) return -1;
    return 0;
}

/* layer.trainable = False (or a model's: all its layers): frozen parameters. */
static int set_trainable(ctx *c, const kval *x, int at, const kval *v) {
    char b[64];
    if (!((v->kind == V_BOOL || v->kind == V_NUM) && v->is_int && (v->num == 0 || v->num == 1)))
        return kr_fail(c, at, "trainable must be True or False, got %s",
                       kr_src(c, v->tok, v->end, b, sizeof b));
    if (x->kind == V_LAYER)
        kr_set_trainable(x->layer, v->num != 0);
    else if (x->kind == V_MODEL)
        return kr_freeze_graph(c, x->model->in->g, x->model->out, v->num != 0, at);
    else
        for (int i = 0; i < x->seq->nall; i++) kr_set_trainable(x->seq->all[i], v->num != 0);
    return 0;
}

static int assign(ctx *c, int a, int e, const kval *v) {
    char b[64];
    if ((kr_is_op(c, a, "(") || kr_is_op(c, a, "[")) && kr_skip_group(c, a) == e)
        return assign_list(c, a + 1, e - 1, v);
    for (int i = a; i < e;) {
        if (kr_is_op(c, i, ",")) return assign_list(c, a, e, v);
        i = kr_is_op(c, i, "(") || kr_is_op(c, i, "[") || kr_is_op(c, i, "{") ? kr_skip_group(c, i)
                                                                              : i + 1;
    }
    if (e == a + 1) return kr_bind(c, a, v);
    if (c->t[a].type == T_NAME && (kr_is_op(c, a + 1, ".") || kr_is_op(c, a + 1, "["))) {
        var *x = kr_lookup(c, a);
        if (x && kr_is_op(c, a + 1, ".") && kr_is_name(c, a + 2, "trainable") && e == a + 3 &&
            (x->v.kind == V_LAYER || x->v.kind == V_SEQ || x->v.kind == V_MODEL))
            return set_trainable(c, &x->v, a + 2, v);
        if (x && (x->v.kind == V_LAYER || x->v.kind == V_SEQ || x->v.kind == V_MODEL ||
                  x->v.kind == V_TENSOR))
            return kr_fail(c, a, "changing %s after it is made ('%s') is not supported",
                           kr_kind_name(&x->v), kr_src(c, a, e, b, sizeof b));
        if (x && x->v.kind == V_LIST && kr_is_op(c, a + 1, "[") && kr_skip_group(c, a + 1) == e) {
            kval idx;
            int q = a + 2;
            if (kr_e_test(c, &q, &idx)) return -1;
            if (!kr_is_op(c, q, "]") || !kr_num_like(&idx) || !idx.is_int)
                return kr_fail(c, a + 2,
                               "a list item is set by an integer index, e.g. sizes[0] = 64");
            x = kr_lookup(c, a); /* the index expression may have added variables */
            int k = (int)idx.num, n = x->v.n;
            if (idx.num < -n || idx.num >= n)
                return kr_fail(c, a + 2, "index out of range: the list has %d items", n);
            if (k < 0) k += n;
            kval *it = kr_cx_alloc(c, sizeof *it * (size_t)n);
            if (!it) return kr_oom(c, a);
            memcpy(it, x->v.items, sizeof *it * (size_t)n);
            it[k] = *v;
            x->v.items = it;
            return 0;
        }
        if (x && (x->v.kind == V_LIST || x->v.kind == V_TUPLE || kr_num_like(&x->v) ||
                  x->v.kind == V_STR))
            return kr_fail(c, a, "'%s': ordnet sets only list items by an index",
                           kr_src(c, a, e, b, sizeof b));
        return 0;
    }
    return kr_fail(c, a, "cannot assign to '%s'", kr_src(c, a, e, b, sizeof b));
}

static int stmt(ctx *c, int *p) {
    int i = *p;
    char b[48];
    if (c->t[i].type == T_NAME) {
        if (kr_is_name(c, i, "import")) return s_import(c, p);
        if (kr_is_name(c, i, "from")) return s_from(c, p);
        if (kr_is_name(c, i, "def")) return s_def(c, p);
        if (kr_is_name(c, i, "return")) {
            if (c->calls == 0) return kr_fail(c, i, "'return' outside a function");
            kval v = kr_mk(V_NONE, i);
            i++;
            if (!kr_end_of_stmt(c, i) && kr_e_exprlist(c, &i, &v)) return -1;
            if (!kr_end_of_stmt(c, i))
                return kr_fail(c, i, "unexpected '%s'", kr_ttext(c, i, b, sizeof b));
            c->ret = v;
            c->returning = 1;
            *p = i;
            return 0;
        }
        if (kr_is_name(c, i, "pass") || kr_is_name(c, i, "global") ||
            kr_is_name(c, i, "nonlocal") || kr_is_name(c, i, "del") || kr_is_name(c, i, "assert")) {
            *p = stmt_end(c, i);
            return 0;
        }
        if (kr_is_name(c, i, "if")) {
            if (kr_is_name(c, i + 1, "__name__") && kr_is_op(c, i + 2, "==") &&
                c->t[i + 3].type == T_STR && kr_is_op(c, i + 4, ":")) {
                *p = i + 5; /* the script's main block: read as top-level code */
                return 0;
            }
            return s_if(c, p);
        }
        if (kr_is_name(c, i, "for")) return s_for(c, p);
        if (kr_is_name(c, i, "elif") || kr_is_name(c, i, "else"))
            return kr_fail(c, i, "'%s' without an 'if' before it at the same indentation",
                           kr_ttext(c, i, b, sizeof b));
        if (kr_is_name(c, i, "break") || kr_is_name(c, i, "continue")) {
            if (!c->loops) return kr_fail(c, i, "'%s' outside a loop", kr_ttext(c, i, b, sizeof b));
            if (kr_is_name(c, i, "break"))
                c->breaking = 1;
            else
                c->continuing = 1;
            *p = i + 1;
            return 0;
        }
        if (kr_is_name(c, i, "while"))
            return kr_fail(c, i,
                           "'while' loops are not supported: ordnet reads 'for' loops over known "
                           "lists and ranges (write the loop with for ... in range(n))");
        if (kr_is_name(c, i, "lambda")) return kr_fail(c, i, "lambda functions are not supported");
        if (kr_is_name(c, i, "with")) {
            int j = i + 1;
            while (!kr_is_op(c, j, ":") && !kr_end_of_stmt(c, j))
                j = kr_is_op(c, j, "(") || kr_is_op(c, j, "[") || kr_is_op(c, j, "{")
                        ? kr_skip_group(c, j)
                        : j + 1;
            if (!kr_is_op(c, j, ":")) return kr_fail(c, j, "expected ':' after 'with'");
            *p = j + 1; /* the body is read as if it were not indented */
            return 0;
        }
        if (kr_is_name(c, i, "class"))
            return kr_fail(c, i,
                           "class definitions (custom layers and subclassed models) are not "
                           "supported: ordnet cannot know what their call() computes; use Keras's "
                           "layers with the functional API or Sequential");
        if (kr_is_keyword(c, i) && !kr_is_name(c, i, "None") && !kr_is_name(c, i, "True") &&
            !kr_is_name(c, i, "False") && !kr_is_name(c, i, "not") && !kr_is_name(c, i, "lambda"))
            return kr_fail(
                c, i,
                "'%s' statements are not supported: ordnet reads straight-line model code "
                "(write the layers out)",
                kr_ttext(c, i, b, sizeof b));
    }
    if (kr_is_op(c, i, "@")) return kr_fail(c, i, "decorators are not supported");
    int eqs[16], neq = 0, aug = -1;
    for (int j = i; !kr_end_of_stmt(c, j);) {
        const tok *t = &c->t[j];
        if (t->type == T_OP && t->len == 1 && strchr("([{", c->text[t->off])) {
            j = kr_skip_group(c, j);
            continue;
        }
        if (kr_is_op(c, j, "=")) {
            if (neq == 16) return kr_fail(c, j, "too many '=' in one statement");
            eqs[neq++] = j;
        } else if (t->type == T_OP && t->len >= 2 && c->text[t->off + t->len - 1] == '=' &&
                   !kr_is_op(c, j, "==") && !kr_is_op(c, j, "!=") && !kr_is_op(c, j, "<=") &&
                   !kr_is_op(c, j, ">="))
            aug = aug < 0 ? j : aug;
        j++;
    }
    if (aug >= 0) {
        static const char *const ok[] = {"+=", "-=", "*=", "/=", "//="};
        int k = 0;
        while (k < 5 && !kr_is_op(c, aug, ok[k])) k++;
        if (k == 5 || neq)
            return kr_fail(c, aug, "'%s' is not supported", kr_ttext(c, aug, b, sizeof b));
        if (aug != i + 1 || c->t[i].type != T_NAME)
            return kr_fail(c, i, "'%s' is supported on a plain name only", ok[k]);
        var *x = kr_lookup(c, i);
        if (!x) return kr_fail(c, i, "undefined variable '%s'", kr_ttext(c, i, b, sizeof b));
        kval a = x->v, r;
        int q = aug + 1;
        if (kr_e_exprlist(c, &q, &r)) return -1;
        if (!kr_end_of_stmt(c, q))
            return kr_fail(c, q, "unexpected '%s'", kr_ttext(c, q, b, sizeof b));
        char op[4];
        snprintf(op, sizeof op, "%.*s", (int)strlen(ok[k]) - 1, ok[k]);
        if (kr_binop(c, op, aug, &a, &r) || kr_bind(c, i, &a)) return -1;
        *p = q;
        return 0;
    }
    int q = neq ? eqs[neq - 1] + 1 : i;
    if (neq && kr_end_of_stmt(c, q)) return kr_fail(c, q, "a value is missing after '='");
    kval v;
    if (kr_e_exprlist(c, &q, &v)) return -1;
    if (!kr_end_of_stmt(c, q)) return kr_fail(c, q, "unexpected '%s'", kr_ttext(c, q, b, sizeof b));
    for (int k = 0; k < neq; k++) {
        int a = k ? eqs[k - 1] + 1 : i, e = eqs[k];
        if (a == e) return kr_fail(c, e, "a target is missing before '='");
        if (assign(c, a, e, &v)) return -1;
    }
    *p = q;
    return 0;
}
