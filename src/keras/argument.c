/* argument.c - Keras argument values checked against their bounds: integers, numbers,
 * booleans, kernel-size pairs, padding modes, input shapes, dtypes. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Argument values                                                                      */

int kr_arg_err(ctx *c, const karg *g, const char *what, const char *want) {
    char b[64];
    const kval *v = &g->v;
    if (v->kind == V_STR)
        return kr_fail(c, g->tok, "%s must be %s, got the string '%.40s'", what, want, v->s);
    if (v->kind == V_OPAQUE || v->kind == V_PATH)
        return kr_fail(c, g->tok,
                       "%s must be %s; '%s' is not a value ordnet computes (write the value)", what,
                       want, kr_src(c, g->tok, g->end, b, sizeof b));
    return kr_fail(c, g->tok, "%s must be %s, got %s", what, want,
                   kr_src(c, g->tok, g->end, b, sizeof b));
}

int kr_want_int(ctx *c, const karg *g, const char *what, int lo, int hi, int *out) {
    const kval *v = &g->v;
    char want[64];
    snprintf(want, sizeof want, "an integer from %d to %d", lo, hi);
    if (v->kind != V_NUM || !v->is_int || !(v->num >= lo && v->num <= hi))
        return kr_arg_err(c, g, what, want);
    *out = (int)v->num;
    return 0;
}

int kr_want_num(ctx *c, const karg *g, const char *what, double lo, double hi, int open_hi,
                double *out) {
    const kval *v = &g->v;
    char want[64];
    snprintf(want, sizeof want, "a number from %g to %g%s", lo, hi, open_hi ? " (excluded)" : "");
    if (v->kind != V_NUM || !(v->num >= lo && v->num <= hi) || (open_hi && v->num == hi))
        return kr_arg_err(c, g, what, want);
    *out = v->num;
    return 0;
}

int kr_want_bool(ctx *c, const karg *g, const char *what, int *out) {
    const kval *v = &g->v;
    if ((v->kind == V_BOOL || v->kind == V_NUM) && v->is_int && (v->num == 0 || v->num == 1)) {
        *out = v->num != 0;
        return 0;
    }
    return kr_arg_err(c, g, what, "True or False");
}

/* An integer, or a tuple of rank - 1 integers (1-D ops: one, 2-D ops: two). */
int kr_want_pair(ctx *c, const karg *g, const char *what, int rank, int lo, int hi, int *h,
                 int *w) {
    const kval *v = &g->v;
    int nd = rank == 3 ? 2 : 1, d[2];
    char want[96];
    snprintf(want, sizeof want, "an integer from %d to %d%s", lo, hi,
             nd == 2 ? " or a tuple of two" : " or a tuple of one");
    if (v->kind == V_NUM) {
        if (!v->is_int || !(v->num >= lo && v->num <= hi)) return kr_arg_err(c, g, what, want);
        d[0] = d[1] = (int)v->num;
    } else if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->n == nd) {
        for (int i = 0; i < nd; i++) {
            const kval *x = &v->items[i];
            if (x->kind != V_NUM || !x->is_int || !(x->num >= lo && x->num <= hi))
                return kr_arg_err(c, g, what, want);
            d[i] = (int)x->num;
        }
        if (nd == 1) d[1] = d[0];
    } else
        return kr_arg_err(c, g, what, want);
    *h = nd == 2 ? d[0] : 1;
    *w = d[1];
    return 0;
}

int kr_want_padding(ctx *c, const karg *g, const char *what, int *mode) {
    const kval *v = &g->v;
    if (v->kind == V_STR) {
        char s[16];
        size_t k = 0;
        for (; v->s[k] && k + 1 < sizeof s; k++) s[k] = (char)tolower((unsigned char)v->s[k]);
        s[k] = 0;
        if (!strcmp(s, "valid") && !v->s[k]) return *mode = ON_PAD_VALID, 0;
        if (!strcmp(s, "same") && !v->s[k]) return *mode = ON_PAD_SAME, 0;
        if (!strcmp(s, "causal") && !v->s[k])
            return kr_fail(c, g->tok,
                           "padding='causal' is not supported (ordnet's convolutions are not "
                           "causal): use 'valid' or 'same'");
    }
    return kr_arg_err(c, g, what, "'valid' or 'same'");
}

/* Is the value None, or the given boolean? */
int kr_is_none_or(const kval *v, int b) {
    return v->kind == V_NONE ||
           ((v->kind == V_BOOL || v->kind == V_NUM) && v->is_int && v->num == b);
}

/* A Keras shape, channels last, without the batch (drop: its first item is the batch).
 * With an input override, a shape it cannot read is left unknown instead of an error. */
int kr_read_shape(ctx *c, const karg *g, int drop, on_shape *s, int *known) {
    const kval *v = &g->v;
    const kval *items = v;
    int n = 1;
    char b[64];
    *known = 0;
    kr_src(c, g->tok, g->end, b, sizeof b);
    if (v->kind == V_TUPLE || v->kind == V_LIST)
        items = v->items, n = v->n;
    else if (v->kind != V_NUM || drop) {
        if (c->override) return 0;
        if (v->kind == V_OPAQUE || v->kind == V_PATH)
            return kr_fail(c, g->tok,
                           "the input shape '%s' is not known to ordnet: write it out, e.g. "
                           "shape=(28, 28, 1), or give the input shape to the reader",
                           b);
        return kr_arg_err(c, g, "an input shape", "a tuple such as (28, 28, 1)");
    }
    if (drop && n > 0)
        items++, n--;
    else if (drop)
        n = 0;
    if (n < 1 || n > 3) {
        if (c->override) return 0;
        return kr_fail(c, g->tok,
                       "input shape %s has %d dimensions: ordnet reads (height, width, channels), "
                       "(steps, channels) or (features,), channels last",
                       b, n);
    }
    int d[3] = {1, 1, 1};
    for (int i = 0; i < n; i++) {
        const kval *x = &items[i];
        if (x->kind == V_NUM && x->is_int && x->num >= 1 && x->num <= MAX_DIM) {
            d[i] = (int)x->num;
            continue;
        }
        if (c->override) return 0;
        if (x->kind == V_NONE && c->none_len > 0) { /* checked in model.c */
            d[i] = c->none_len;
            if (!c->none_tok)
                c->none_tok = g->tok, snprintf(c->none_shape, sizeof c->none_shape, "%s", b);
            continue;
        }
        if (x->kind == V_NONE)
            return kr_fail(c, g->tok,
                           "input shape %s has a dimension None: ordnet needs fixed sizes "
                           "(write the size, or give the input shape to the reader)",
                           b);
        return kr_fail(c, g->tok, "input shape %s: dimensions must be integers from 1 to %d", b,
                       MAX_DIM);
    }
    /* Keras 1 code written for Theano's layout often says nothing about it: an image shape
     * such as (3, 224, 224) or (1, 28, 28) is channels first */
    if (n == 3 && !c->chfirst && !c->chfirst_decided && (d[0] == 1 || d[0] == 3) && d[1] > 4 &&
        d[2] > 4)
        c->chfirst = c->chfirst_guess = 1, c->chfirst_tok = g->tok;
    c->chfirst_decided = 1;
    if (n == 1)
        *s = (on_shape){1, d[0], 1, 1};
    else if (n == 2 && c->chfirst)
        *s = (on_shape){2, d[0], 1, d[1]};
    else if (n == 2)
        *s = (on_shape){2, d[1], 1, d[0]};
    else if (c->chfirst)
        *s = (on_shape){3, d[0], d[1], d[2]};
    else
        *s = (on_shape){3, d[2], d[0], d[1]};
    if (on_shape_size(*s) > (1u << 28)) {
        if (c->override) return 0;
        return kr_fail(c, g->tok, "input shape %s is too large (%zu values per sample)", b,
                       on_shape_size(*s));
    }
    *known = 1;
    return 0;
}

int kr_check_dtype(ctx *c, const karg *g) {
    const kval *v = &g->v;
    const char *s = v->kind == V_STR ? v->s : v->kind == V_PATH ? v->s : NULL;
    if (s && strrchr(s, '.') && v->kind == V_PATH) s = strrchr(s, '.') + 1;
    if (v->kind == V_NONE || (s && !strcmp(s, "float32"))) return 0;
    return kr_arg_err(c, g, "dtype", "'float32' (ordnet computes in float32)");
}
