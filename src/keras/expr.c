/* expr.c - the evaluator's variables (scopes), expressions (arithmetic, strings,
 * f-strings, subscripts, comparisons, conditionals) and call arguments. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Tokens: src/keras/lex.c                                                              */

int kr_lex(ctx *c) {
    int n = 0;
    tok *t = NULL;
    if (py_lex(c->text, c->file, &t, &n, &c->tlen, c->err)) return -1;
    c->t = t;
    c->nt = n;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Variables                                                                            */

static const char *const keywords =
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is lambda nonlocal not or pass raise return try "
    "while with yield";

int kr_is_keyword(const ctx *c, int i) {
    const tok *t = &c->t[i];
    if (t->type != T_NAME || t->len < 2 || t->len > 8) return 0; /* keywords are 2-8 long */
    if (!strchr("FNTabcdefgilnoprtwy", c->text[t->off])) return 0;
    return kr_in_list(keywords, c->text + t->off, (size_t)t->len);
}

static int same_name(const ctx *c, const var *v, int ti) {
    return v->len == c->t[ti].len &&
           !memcmp(c->text + v->off, c->text + c->t[ti].off, (size_t)v->len);
}

var *kr_lookup(ctx *c, int ti) {
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if (same_name(c, &c->vars[i], ti)) return &c->vars[i];
    if (c->calls > 0)
        for (int i = c->base[1] - 1; i >= 0; i--)
            if (same_name(c, &c->vars[i], ti)) return &c->vars[i];
    return NULL;
}

/* Bind the name of token ti in the current scope. */
int kr_bind(ctx *c, int ti, const kval *v) {
    if (c->t[ti].type != T_NAME || kr_is_keyword(c, ti)) {
        char b[48];
        return kr_fail(c, ti, "cannot assign to '%s'", kr_ttext(c, ti, b, sizeof b));
    }
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if (same_name(c, &c->vars[i], ti)) {
            c->vars[i].v = *v;
            return 0;
        }
    if (c->nvars - c->base[c->calls] >= MAX_VARS)
        return kr_fail(c, ti, "more than %d variables", MAX_VARS);
    if (c->nvars == c->vcap) {
        int nc = c->vcap ? 2 * c->vcap : 64;
        var *nv = realloc(c->vars, sizeof *nv * (size_t)nc);
        if (!nv) return kr_oom(c, ti);
        c->vars = nv;
        c->vcap = nc;
    }
    c->vars[c->nvars++] = (var){.off = c->t[ti].off, .len = c->t[ti].len, .v = *v};
    return 0;
}

char *kr_cx_strndup(ctx *c, const char *s, size_t n) {
    char *r = kr_cx_alloc(c, n + 1);
    if (r) memcpy(r, s, n);
    return r;
}

/* ------------------------------------------------------------------------------------ */
/* Expressions                                                                          */

static int enter(ctx *c, int ti) {
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return kr_fail(c, ti, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
    }
    return 0;
}

/* The index after the bracket group that opens at p. */
int kr_skip_group(const ctx *c, int p) {
    int depth = 0;
    for (int i = p; i < c->nt; i++) {
        const tok *t = &c->t[i];
        if (t->type == T_EOF) return i;
        if (t->type != T_OP || t->len != 1) continue;
        char ch = c->text[t->off];
        if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if ((ch == ')' || ch == ']' || ch == '}') && --depth == 0)
            return i + 1;
    }
    return c->nt - 1;
}

static int parse_num(ctx *c, int i, kval *v) {
    const tok *t = &c->t[i];
    char buf[64];
    size_t k = 0;
    if (t->len >= (int)sizeof buf) return kr_fail(c, i, "number too long");
    for (int j = 0; j < t->len; j++)
        if (c->text[t->off + j] != '_') buf[k++] = c->text[t->off + j];
    buf[k] = 0;
    *v = kr_mk(V_NUM, i);
    if (k && (buf[k - 1] == 'j' || buf[k - 1] == 'J'))
        return kr_fail(c, i, "complex numbers are not supported");
    char *end;
    if (k > 2 && buf[0] == '0' && strchr("xXoObB", buf[1])) {
        int base = strchr("xX", buf[1]) ? 16 : strchr("oO", buf[1]) ? 8 : 2;
        unsigned long long u = strtoull(buf + 2, &end, base);
        v->num = (double)u;
        v->is_int = 1;
    } else {
        v->num = strtod(buf, &end);
        v->is_int = !strpbrk(buf, ".eE");
    }
    if (*end || !k) return kr_fail(c, i, "invalid number '%s'", buf);
    return 0;
}

/* Adjacent string literals from token i, concatenated, without prefixes and quotes. */

void kr_sb_put(sbuf *s, const char *p, size_t n) {
    if (s->bad) return;
    if (s->n + n > MAX_STR) {
        s->bad = 2;
        return;
    }
    if (s->n + n + 1 > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        while (nc < s->n + n + 1) nc *= 2;
        char *nb = realloc(s->b, nc);
        if (!nb) {
            s->bad = 3;
            return;
        }
        s->b = nb;
        s->cap = nc;
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = 0;
}

void kr_sb_str(sbuf *s, const char *p) {
    kr_sb_put(s, p, strlen(p));
}

/* The string as a value of the evaluator (freed with it), or an error for bad. */
int kr_sb_value(ctx *c, sbuf *s, int tok, int end, kval *v) {
    int bad = s->bad;
    char *r = bad ? NULL : kr_cx_alloc(c, s->n + 1);
    if (r && s->n) memcpy(r, s->b, s->n);
    free(s->b);
    if (bad == 1) {
        *v = kr_mk(V_OPAQUE, tok);
        v->end = end;
        return 0;
    }
    if (bad == 2) return kr_fail(c, tok, "a string longer than %d bytes", MAX_STR);
    if (!r) return kr_oom(c, tok);
    *v = kr_mk(V_STR, tok);
    v->s = r;
    v->end = end;
    return 0;
}

/* Python's str() (repr: repr()) of a value into s; bad = 1 when ordnet does not compute it. */
void kr_sb_value_str(sbuf *s, const kval *v, int repr) {
    char b[64];
    switch (v->kind) {
    case V_NONE:
        kr_sb_str(s, "None");
        return;
    case V_BOOL:
        kr_sb_str(s, v->num ? "True" : "False");
        return;
    case V_NUM:
        if (v->is_int && fabs(v->num) < 1e18)
            snprintf(b, sizeof b, "%lld", (long long)v->num);
        else if (!isfinite(v->num))
            snprintf(b, sizeof b, "%s", isnan(v->num) ? "nan" : v->num > 0 ? "inf" : "-inf");
        else {
            for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back */
                snprintf(b, sizeof b, "%.*g", prec, v->num);
                if (strtod(b, NULL) == v->num) break;
            }
            if (!strpbrk(b, ".e")) strcat(b, ".0");
        }
        kr_sb_str(s, b);
        return;
    case V_STR:
        if (repr) kr_sb_str(s, "'");
        kr_sb_str(s, v->s);
        if (repr) kr_sb_str(s, "'");
        return;
    case V_TUPLE:
    case V_LIST:
        kr_sb_str(s, v->kind == V_LIST ? "[" : "(");
        for (int i = 0; i < v->n && !s->bad; i++) {
            if (i) kr_sb_str(s, ", ");
            kr_sb_value_str(s, &v->items[i], 1);
        }
        if (v->kind == V_TUPLE && v->n == 1) kr_sb_str(s, ",");
        kr_sb_str(s, v->kind == V_LIST ? "]" : ")");
        return;
    default:
        s->bad = s->bad ? s->bad : 1;
    }
}

/* A value formatted with a format spec (the part after ':' in '{x:03d}'). */
void kr_sb_format(sbuf *s, const kval *v, const char *spec, size_t n) {
    char fill0 = 0, type = 0, b[128], f[32];
    int width = -1, prec = -1;
    size_t i = 0;
    if (i < n && spec[i] == '0') fill0 = 1, i++;
    if (i < n && isdigit((unsigned char)spec[i])) {
        width = 0;
        while (i < n && isdigit((unsigned char)spec[i]) && width < 1000)
            width = width * 10 + spec[i++] - '0';
    }
    if (i < n && spec[i] == '.') {
        prec = 0;
        i++;
        while (i < n && isdigit((unsigned char)spec[i]) && prec < 100)
            prec = prec * 10 + spec[i++] - '0';
    }
    if (i < n) type = spec[i++];
    if (i != n || (type && !strchr("dfFeEgGs%", type))) {
        s->bad = s->bad ? s->bad : 1;
        return;
    }
    if (!n) {
        kr_sb_value_str(s, v, 0);
        return;
    }
    if (v->kind == V_STR || type == 's') {
        sbuf t = {0};
        kr_sb_value_str(&t, v, 0);
        if (t.bad) s->bad = s->bad ? s->bad : t.bad;
        int len = t.b ? (int)strlen(t.b) : 0;
        if (t.b && !t.bad) kr_sb_str(s, t.b);
        for (int k = len; k < width && !s->bad; k++) kr_sb_str(s, " ");
        free(t.b);
        return;
    }
    if (!kr_num_like(v) || (type == 'd' && !v->is_int)) {
        s->bad = s->bad ? s->bad : 1;
        return;
    }
    if (!type) type = v->is_int ? 'd' : 'g';
    if (type == 'd')
        snprintf(f, sizeof f, "%%%s*lld", fill0 ? "0" : "");
    else if (type == '%')
        snprintf(f, sizeof f, "%%%s*.*f%%%%", fill0 ? "0" : "");
    else
        snprintf(f, sizeof f, "%%%s*.*%c", fill0 ? "0" : "", type);
    if (type == 'd')
        snprintf(b, sizeof b, f, width < 0 ? 0 : width, (long long)v->num);
    else
        snprintf(b, sizeof b, f, width < 0 ? 0 : width, prec < 0 ? 6 : prec,
                 type == '%' ? v->num * 100 : v->num);
    kr_sb_str(s, b);
}

/* A variable by its name text. */
static var *lookup_text(ctx *c, const char *nm, size_t n) {
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if ((size_t)c->vars[i].len == n && !memcmp(c->text + c->vars[i].off, nm, n))
            return &c->vars[i];
    if (c->calls > 0)
        for (int i = c->base[1] - 1; i >= 0; i--)
            if ((size_t)c->vars[i].len == n && !memcmp(c->text + c->vars[i].off, nm, n))
                return &c->vars[i];
    return NULL;
}

/* The expression of an f-string field: names, integers, + - * // % and parentheses; anything
 * else is a value ordnet does not compute. tok: the string's token, for messages. */
static int f_expr(ctx *c, const char **e, const char *end, int tok, int level, kval *v) {
    if (level == 2) {
        while (*e < end && **e == ' ') ++*e;
        const char *q = *e;
        *v = kr_mk(V_OPAQUE, tok);
        if (q < end && *q == '(') {
            ++*e;
            if (f_expr(c, e, end, tok, 0, v)) return -1;
            while (*e < end && **e == ' ') ++*e;
            if (*e < end && **e == ')')
                ++*e;
            else
                *v = kr_mk(V_OPAQUE, tok), *e = end;
            return 0;
        }
        if (q < end && isdigit((unsigned char)*q)) {
            double d = 0;
            while (q < end && isdigit((unsigned char)*q) && d < 1e15) d = d * 10 + (*q++ - '0');
            *v = kr_mk(V_NUM, tok);
            v->num = d;
            v->is_int = 1;
        } else if (q < end && (isalpha((unsigned char)*q) || *q == '_')) {
            while (q < end && (isalnum((unsigned char)*q) || *q == '_')) q++;
            var *x = lookup_text(c, *e, (size_t)(q - *e));
            if (x) *v = x->v;
            v->tok = tok;
        } else
            q = end;
        *e = q;
        while (*e < end && **e == ' ') ++*e;
        if (*e < end && (**e == '.' || **e == '[' || **e == '('))
            *v = kr_mk(V_OPAQUE, tok), *e = end;
        return 0;
    }
    if (f_expr(c, e, end, tok, level + 1, v)) return -1;
    for (;;) {
        while (*e < end && **e == ' ') ++*e;
        const char *op = NULL;
        size_t left = (size_t)(end - *e);
        if (!left) return 0;
        if (level == 0 && (**e == '+' || **e == '-'))
            op = **e == '+' ? "+" : "-";
        else if (level == 1 && left >= 2 && !strncmp(*e, "//", 2))
            op = "//";
        else if (level == 1 && **e == '*' && !(left >= 2 && (*e)[1] == '*'))
            op = "*";
        else if (level == 1 && **e == '%')
            op = "%";
        if (!op) return 0;
        *e += strlen(op);
        kval r;
        if (f_expr(c, e, end, tok, level + 1, &r) || kr_binop(c, op, tok, v, &r)) return -1;
    }
}

/* The text of an f-string token's body (between the quotes) with its fields replaced. */
static void f_string(ctx *c, sbuf *s, const char *q, size_t n, int tok) {
    for (size_t i = 0; i < n && !s->bad;) {
        if ((q[i] == '{' || q[i] == '}') && i + 1 < n && q[i + 1] == q[i]) {
            kr_sb_put(s, q + i, 1);
            i += 2;
            continue;
        }
        if (q[i] != '{') {
            kr_sb_put(s, q + i, 1);
            i++;
            continue;
        }
        size_t j = i + 1, colon = 0, bang = 0;
        int depth = 0;
        while (j < n && (depth || q[j] != '}')) {
            if (q[j] == '(' || q[j] == '[') depth++;
            if (q[j] == ')' || q[j] == ']') depth--;
            if (!depth && q[j] == ':' && !colon) colon = j;
            if (!depth && q[j] == '!' && !colon && !bang && j + 1 < n && q[j + 1] != '=') bang = j;
            j++;
        }
        if (j >= n) {
            s->bad = 1;
            return;
        }
        const char *e = q + i + 1, *ee = q + (bang ? bang : colon ? colon : j);
        kval v;
        if (f_expr(c, &e, ee, tok, 0, &v)) {
            s->bad = 4; /* the error is already in c->err */
            return;
        }
        if (e != ee) v = kr_mk(V_OPAQUE, tok);
        if (bang && bang + 1 < n && q[bang + 1] == 'r' && !colon)
            kr_sb_value_str(s, &v, 1);
        else if (colon)
            kr_sb_format(s, &v, q + colon + 1, j - colon - 1);
        else
            kr_sb_value_str(s, &v, 0);
        i = j + 1;
    }
}

/* Adjacent string literals from token i, concatenated, without prefixes and quotes;
 * f-strings with their fields filled in (a field ordnet does not compute makes the whole
 * string such a value). */
static int parse_str(ctx *c, int *p, kval *v) {
    int i = *p, j = i;
    sbuf s = {0};
    kr_sb_put(&s, "", 0);
    for (; c->t[j].type == T_STR; j++) {
        const char *q = c->text + c->t[j].off;
        int len = c->t[j].len, fstr = 0;
        while (len > 0 && *q != '\'' && *q != '"') fstr |= *q == 'f' || *q == 'F', q++, len--;
        int qn = len >= 6 && q[1] == q[0] && q[2] == q[0] ? 3 : 1;
        if (len < 2 * qn) continue;
        if (fstr)
            f_string(c, &s, q + qn, (size_t)(len - 2 * qn), j);
        else
            kr_sb_put(&s, q + qn, (size_t)(len - 2 * qn));
    }
    *p = j;
    if (s.bad == 4) {
        free(s.b);
        return -1;
    }
    return kr_sb_value(c, &s, i, j, v);
}

/* fmt % args (printf-style formatting of strings). */
static int percent_format(ctx *c, int optok, kval *a, const kval *b) {
    const kval *args = b->kind == V_TUPLE ? b->items : b;
    int nargs = b->kind == V_TUPLE ? b->n : 1, k = 0;
    const char *f = a->s;
    sbuf s = {0};
    kr_sb_put(&s, "", 0);
    for (size_t i = 0; f[i] && !s.bad;) {
        if (f[i] != '%') {
            kr_sb_put(&s, f + i++, 1);
            continue;
        }
        if (f[i + 1] == '%') {
            kr_sb_put(&s, "%", 1);
            i += 2;
            continue;
        }
        size_t j = i + 1;
        char spec[32];
        size_t sl = 0;
        while (f[j] && strchr("0123456789.-+ #", f[j]) && sl + 1 < sizeof spec) spec[sl++] = f[j++];
        spec[sl] = 0;
        char type = f[j];
        if (!type || !strchr("diufFeEgGsr", type) || k >= nargs) {
            s.bad = 1;
            break;
        }
        const kval *x = &args[k++];
        if (type == 's' || type == 'r') {
            sbuf t = {0};
            kr_sb_value_str(&t, x, type == 'r');
            char fm[48];
            snprintf(fm, sizeof fm, "%%%ss", spec);
            if (!t.bad && t.b && t.n < 4096) {
                char out[8192];
                snprintf(out, sizeof out, fm, t.b);
                kr_sb_str(&s, out);
            } else
                s.bad = t.bad ? t.bad : 1;
            free(t.b);
        } else if (!kr_num_like(x)) {
            s.bad = 1;
        } else {
            char fm[48], out[256];
            if (strchr("diu", type)) {
                snprintf(fm, sizeof fm, "%%%slld", spec);
                snprintf(out, sizeof out, fm, (long long)x->num);
            } else {
                snprintf(fm, sizeof fm, "%%%s%c", spec, type);
                snprintf(out, sizeof out, fm, x->num);
            }
            kr_sb_str(&s, out);
        }
        i = j + 1;
    }
    if (!s.bad && k != nargs) s.bad = 1;
    int tok0 = a->tok, end = b->end > a->end ? b->end : a->end;
    if (kr_sb_value(c, &s, optok, end, a)) return -1;
    a->tok = tok0;
    return 0;
}

/* Items separated by commas up to the closing op; *comma when a comma was seen. */
static int e_items(ctx *c, int *p, const char *close, kval **items, int *n, int *comma) {
    kval *it = NULL;
    int cap = 0;
    *n = 0;
    *comma = 0;
    while (!kr_is_op(c, *p, close)) {
        if (*n == cap) {
            int nc = cap ? 2 * cap : 8;
            kval *ni = kr_cx_alloc(c, sizeof *ni * (size_t)nc);
            if (!ni) return kr_oom(c, *p);
            if (*n) memcpy(ni, it, sizeof *ni * (size_t)*n);
            it = ni;
            cap = nc;
        }
        if (kr_is_op(c, *p, "*") || kr_is_op(c, *p, "**"))
            return kr_fail(c, *p, "unpacking with '*' is not supported: write the items out");
        if (kr_e_test(c, p, &it[*n])) return -1;
        if (kr_is_name(c, *p, "for"))
            return kr_fail(
                c, *p,
                "comprehensions ('for' inside brackets) are not supported: write the items out");
        ++*n;
        if (kr_is_op(c, *p, ",")) {
            ++*p;
            *comma = 1;
        } else if (!kr_is_op(c, *p, close)) {
            char b[48];
            return kr_fail(c, *p, "expected ',' or '%s', found '%s'", close,
                           kr_ttext(c, *p, b, sizeof b));
        }
    }
    ++*p;
    *items = it;
    return 0;
}

static int e_atom(ctx *c, int *p, kval *v) {
    int i = *p;
    const tok *t = &c->t[i];
    char b[48];
    if (t->type == T_NUM) {
        *p = i + 1;
        return parse_num(c, i, v);
    }
    if (t->type == T_STR) return parse_str(c, p, v);
    if (t->type == T_NAME) {
        *p = i + 1;
        if (kr_is_name(c, i, "None")) return *v = kr_mk(V_NONE, i), 0;
        if (kr_is_name(c, i, "True") || kr_is_name(c, i, "False")) {
            *v = kr_mk(V_BOOL, i);
            v->num = kr_is_name(c, i, "True");
            v->is_int = 1;
            return 0;
        }
        if (kr_is_name(c, i, "lambda")) return kr_fail(c, i, "lambda functions are not supported");
        if (kr_is_keyword(c, i))
            return kr_fail(c, i, "unexpected '%s'", kr_ttext(c, i, b, sizeof b));
        var *x = kr_lookup(c, i);
        if (x) {
            *v = x->v;
            if (v->kind == V_PATH) v->tok = v->last = i, v->end = i + 1;
            v->var = i;
            return 0;
        }
        *v = kr_mk(V_PATH, i);
        v->unbound = 1;
        v->s = kr_cx_strndup(c, c->text + t->off, (size_t)t->len);
        return v->s ? 0 : kr_oom(c, i);
    }
    if (kr_is_op(c, i, "(") || kr_is_op(c, i, "[")) {
        int list = kr_is_op(c, i, "[");
        kval *items = NULL;
        int n = 0, comma = 0;
        *p = i + 1;
        if (e_items(c, p, list ? "]" : ")", &items, &n, &comma)) return -1;
        if (!list && n == 1 && !comma) {
            *v = items[0];
            return 0;
        }
        *v = kr_mk(list ? V_LIST : V_TUPLE, i);
        v->items = items;
        v->n = n;
        v->end = *p;
        return 0;
    }
    if (kr_is_op(c, i, "{")) {
        *p = kr_skip_group(c, i);
        *v = kr_mk(V_OPAQUE, i);
        v->end = *p;
        return 0;
    }
    if (kr_is_op(c, i, "...")) {
        *p = i + 1;
        return *v = kr_mk(V_OPAQUE, i), 0;
    }
    if (t->type == T_NEWLINE || t->type == T_EOF)
        return kr_fail(c, i, "unexpected end of the statement: an expression is missing");
    return kr_fail(c, i, "unexpected '%s'", kr_ttext(c, i, b, sizeof b));
}

/* v.name */
static int e_attr(ctx *c, kval *v, int nt) {
    const tok *t = &c->t[nt];
    if (v->kind == V_PATH) {
        size_t a = strlen(v->s), b = (size_t)t->len;
        if (a + b > 400) return kr_fail(c, nt, "dotted name too long");
        char *s = kr_cx_alloc(c, a + b + 2);
        if (!s) return kr_oom(c, nt);
        memcpy(s, v->s, a);
        s[a] = '.';
        memcpy(s + a + 1, c->text + t->off, b);
        v->s = s;
        v->last = nt;
        return 0;
    }
    if (v->kind == V_TENSOR && t->len == 5 && !memcmp(c->text + t->off, "shape", 5))
        return kr_tensor_shape(c, v, nt);
    if (v->kind == V_SEQ && t->len == 6 && !memcmp(c->text + t->off, "layers", 6) &&
        !kr_is_op(c, nt + 1, "(")) { /* model.layers: its layers, to freeze them in a loop */
        const kseq *q = v->seq;
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(q->nall ? q->nall : 1));
        if (!it) return kr_oom(c, nt);
        for (int i = 0; i < q->nall; i++) {
            it[i] = kr_mk(V_LAYER, v->tok);
            it[i].layer = q->all[i];
        }
        int tok0 = v->tok;
        *v = kr_mk(V_LIST, tok0);
        v->items = it;
        v->n = q->nall;
        v->end = nt + 1;
        return 0;
    }
    if ((v->kind == V_SEQ || v->kind == V_MODEL || v->kind == V_LIST || v->kind == V_STR) &&
        kr_is_op(c, nt + 1, "(")) {
        kval *obj = kr_cx_alloc(c, sizeof *obj);
        if (!obj) return kr_oom(c, nt);
        *obj = *v;
        *v = kr_mk(V_METHOD, nt);
        v->items = obj;
        v->n = 1;
        v->s = kr_cx_strndup(c, c->text + t->off, (size_t)t->len);
        return v->s ? 0 : kr_oom(c, nt);
    }
    int tok0 = v->tok;
    *v = kr_mk(V_OPAQUE, tok0);
    v->end = nt + 1;
    return 0;
}

/* v[index] or v[start:stop] on tuples and lists. */
static int e_subscript(ctx *c, int *p, kval *v) {
    int open = *p;
    char b[64];
    if (v->kind == V_PATH && v->unbound && !strchr(v->s, '.'))
        return kr_fail(c, v->last, "undefined variable '%s'", v->s);
    if (v->kind == V_TENSOR)
        return kr_fail(c, open, "slicing a layer output is not supported (%s)",
                       kr_src(c, v->tok, open + 1, b, sizeof b));
    if (v->kind != V_TUPLE && v->kind != V_LIST) {
        if (v->kind == V_OPAQUE || v->kind == V_PATH || v->kind == V_STR) {
            *p = kr_skip_group(c, open);
            int tok0 = v->tok;
            *v = kr_mk(V_OPAQUE, tok0);
            v->end = *p;
            return 0;
        }
        return kr_fail(c, open, "%s cannot be indexed", kr_kind_name(v));
    }
    int idx[2] = {0, v->n}, have[2] = {0, 0}, slice = 0;
    *p = open + 1;
    for (int k = 0; k < 2; k++) {
        if (!kr_is_op(c, *p, ":") && !kr_is_op(c, *p, "]")) {
            kval x;
            int at = *p;
            if (kr_e_test(c, p, &x)) return -1;
            if (x.kind != V_NUM || !x.is_int || fabs(x.num) > 1e9)
                return kr_fail(c, at, "an index must be an integer, got %s", kr_kind_name(&x));
            int k2 = (int)x.num;
            if (k2 < 0) k2 += v->n;
            idx[k] = k2;
            have[k] = 1;
        }
        if (k == 0 && kr_is_op(c, *p, ":")) {
            slice = 1;
            ++*p;
            continue;
        }
        break;
    }
    if (!kr_is_op(c, *p, "]"))
        return kr_fail(c, *p, "expected ']' (only [i] and [a:b] are supported)");
    ++*p;
    if (!slice) {
        if (!have[0] || idx[0] < 0 || idx[0] >= v->n)
            return kr_fail(c, open, "index out of range: %s has %d items",
                           kr_src(c, v->tok, v->end, b, sizeof b), v->n);
        *v = v->items[idx[0]];
        return 0;
    }
    int a = idx[0] < 0 ? 0 : idx[0] > v->n ? v->n : idx[0];
    int e = idx[1] < a ? a : idx[1] > v->n ? v->n : idx[1];
    if (a) v->items += a;
    v->n = e - a;
    return 0;
}

static int e_postfix(ctx *c, int *p, kval *v) {
    int start = *p, trailers = 0;
    if (e_atom(c, p, v)) return -1;
    for (;; trailers++) {
        if (kr_is_op(c, *p, ".")) {
            int nt = *p + 1;
            if (c->t[nt].type != T_NAME) return kr_fail(c, nt, "expected a name after '.'");
            if (e_attr(c, v, nt)) return -1;
            *p = nt + 1;
        } else if (kr_is_op(c, *p, "(")) {
            kval out;
            if (kr_e_call(c, p, v, &out)) return -1;
            *v = out;
        } else if (kr_is_op(c, *p, "[")) {
            if (e_subscript(c, p, v)) return -1;
        } else
            break;
    }
    if (v->kind == V_PATH && v->unbound && !strchr(v->s, '.'))
        return kr_fail(c, v->last, "undefined variable '%s': nothing assigns it before this line",
                       v->s);
    if (trailers && v->kind != V_TENSOR) v->tok = start, v->end = *p;
    return 0;
}

int kr_num_like(const kval *v) {
    return v->kind == V_NUM || v->kind == V_BOOL;
}

/* a == b for values ordnet computes: 1, 0, or -1 when it cannot tell. */
static int vals_equal(const kval *a, const kval *b) {
    if (kr_num_like(a) && kr_num_like(b)) return a->num == b->num;
    if (a->kind == V_STR && b->kind == V_STR) return !strcmp(a->s, b->s);
    if (a->kind == V_NONE || b->kind == V_NONE) {
        if (a->kind == V_OPAQUE || a->kind == V_PATH || b->kind == V_OPAQUE || b->kind == V_PATH)
            return -1;
        return a->kind == b->kind;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && a->kind == b->kind) {
        if (a->n != b->n) return 0;
        for (int i = 0; i < a->n; i++) {
            int e = vals_equal(&a->items[i], &b->items[i]);
            if (e != 1) return e;
        }
        return 1;
    }
    if ((kr_num_like(a) || a->kind == V_STR) && (kr_num_like(b) || b->kind == V_STR)) return 0;
    return -1;
}

/* a op b into a. */
int kr_binop(ctx *c, const char *op, int optok, kval *a, const kval *b) {
    int tok0 = a->tok, end = b->end > a->end ? b->end : a->end;
    char b1[64];
    int truth = -2;
    if (a->kind == V_STR && !strcmp(op, "%")) return percent_format(c, optok, a, b);
    if (!strcmp(op, "is") || !strcmp(op, "is not")) {
        int same = -1;
        if (a->kind == V_NONE || b->kind == V_NONE || a->kind == V_BOOL || b->kind == V_BOOL)
            same = vals_equal(a, b);
        if (same >= 0 && (a->kind == V_BOOL) != (b->kind == V_BOOL)) same = 0;
        truth = same < 0 ? -1 : !strcmp(op, "is") ? same : !same;
    } else if (!strcmp(op, "in") || !strcmp(op, "not in")) {
        int found = -1;
        if (b->kind == V_TUPLE || b->kind == V_LIST) {
            found = 0;
            for (int i = 0; i < b->n && found == 0; i++) {
                int e = vals_equal(a, &b->items[i]);
                found = e < 0 ? -1 : e;
            }
        } else if (b->kind == V_STR && a->kind == V_STR)
            found = strstr(b->s, a->s) != NULL;
        truth = found < 0 ? -1 : !strcmp(op, "in") ? found : !found;
    } else if ((!strcmp(op, "==") || !strcmp(op, "!=")) && !(kr_num_like(a) && kr_num_like(b))) {
        int e = vals_equal(a, b);
        truth = e < 0 ? -1 : !strcmp(op, "==") ? e : !e;
    }
    if (truth != -2) {
        *a = kr_mk(truth < 0 ? V_OPAQUE : V_BOOL, tok0);
        a->num = truth > 0;
        a->is_int = 1;
        a->end = end;
        return 0;
    }
    if (kr_num_like(a) && kr_num_like(b)) {
        double x = a->num, y = b->num, r = 0;
        int is_int = a->is_int && b->is_int, cmp = -1;
        if (!strcmp(op, "+"))
            r = x + y;
        else if (!strcmp(op, "-"))
            r = x - y;
        else if (!strcmp(op, "*"))
            r = x * y;
        else if (!strcmp(op, "**"))
            r = pow(x, y), is_int = is_int && y >= 0;
        else if (!strcmp(op, "/") || !strcmp(op, "//") || !strcmp(op, "%")) {
            if (y == 0) return kr_fail(c, optok, "division by zero");
            if (!strcmp(op, "/"))
                r = x / y, is_int = 0;
            else if (!strcmp(op, "//"))
                r = floor(x / y);
            else
                r = x - y * floor(x / y);
        } else if (!strcmp(op, "=="))
            cmp = x == y;
        else if (!strcmp(op, "!="))
            cmp = x != y;
        else if (!strcmp(op, "<"))
            cmp = x < y;
        else if (!strcmp(op, ">"))
            cmp = x > y;
        else if (!strcmp(op, "<="))
            cmp = x <= y;
        else if (!strcmp(op, ">="))
            cmp = x >= y;
        else
            goto opaque;
        *a = kr_mk(cmp >= 0 ? V_BOOL : V_NUM, tok0);
        a->num = cmp >= 0 ? cmp : r;
        a->is_int = cmp >= 0 ? 1 : is_int;
        a->end = end;
        return 0;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && !strcmp(op, "+") && b->kind == a->kind) {
        if ((long)a->n + b->n > MAX_ITEMS) return kr_fail(c, optok, "too many items");
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(a->n + b->n));
        if (!it) return kr_oom(c, optok);
        if (a->n) memcpy(it, a->items, sizeof *it * (size_t)a->n);
        if (b->n) memcpy(it + a->n, b->items, sizeof *it * (size_t)b->n);
        a->items = it;
        a->n += b->n;
        a->end = end;
        return 0;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && !strcmp(op, "*") && b->kind == V_NUM &&
        b->is_int) {
        if (b->num < 0 || b->num > MAX_ITEMS || b->num * a->n > MAX_ITEMS)
            return kr_fail(c, optok, "too many items");
        int k = (int)b->num, n = a->n * k;
        kval *it = kr_cx_alloc(c, sizeof *it * (size_t)(n ? n : 1));
        if (!it) return kr_oom(c, optok);
        for (int j = 0; j < k; j++)
            if (a->n) memcpy(it + (size_t)j * a->n, a->items, sizeof *it * (size_t)a->n);
        a->items = it;
        a->n = n;
        a->end = end;
        return 0;
    }
    if (a->kind == V_STR && b->kind == V_STR && !strcmp(op, "+")) {
        size_t la = strlen(a->s), lb = strlen(b->s);
        if (la + lb > MAX_STR) return kr_fail(c, optok, "a string longer than %d bytes", MAX_STR);
        char *s = kr_cx_alloc(c, la + lb + 1);
        if (!s) return kr_oom(c, optok);
        memcpy(s, a->s, la);
        memcpy(s + la, b->s, lb);
        a->s = s;
        a->end = end;
        return 0;
    }
    if (a->kind == V_TENSOR && b->kind == V_TENSOR &&
        (!strcmp(op, "+") || !strcmp(op, "*") || !strcmp(op, "-"))) {
        kval ins[2] = {*a, *b};
        return kr_merge_tensors(c, optok,
                                op[0] == '+'   ? "Add"
                                : op[0] == '*' ? "Multiply"
                                               : "Subtract",
                                NULL, -1, ins, 2, a);
    }
    if (a->kind == V_OPAQUE || b->kind == V_OPAQUE || a->kind == V_PATH || b->kind == V_PATH ||
        (strcmp(op, "+") && strcmp(op, "-") && strcmp(op, "*") && strcmp(op, "/") &&
         strcmp(op, "//") && strcmp(op, "**") && strcmp(op, "%") && strcmp(op, "@") &&
         a->kind != V_TENSOR && b->kind != V_TENSOR))
        goto opaque;
    return kr_fail(c, optok, "unsupported operation %s '%s' %s in %s", kr_kind_name(a), op,
                   kr_kind_name(b), kr_src(c, tok0, end, b1, sizeof b1));
opaque:
    *a = kr_mk(V_OPAQUE, tok0);
    a->end = end;
    return 0;
}

static int e_factor(ctx *c, int *p, kval *v);

static int e_power(ctx *c, int *p, kval *v) {
    if (e_postfix(c, p, v)) return -1;
    if (kr_is_op(c, *p, "**")) {
        int op = (*p)++;
        kval r;
        if (e_factor(c, p, &r)) return -1;
        return kr_binop(c, "**", op, v, &r);
    }
    return 0;
}

static int e_factor(ctx *c, int *p, kval *v) {
    if (kr_is_op(c, *p, "-") || kr_is_op(c, *p, "+") || kr_is_op(c, *p, "~")) {
        int op = (*p)++;
        if (enter(c, op)) return -1;
        int r = e_factor(c, p, v);
        c->depth--;
        if (r) return -1;
        if (kr_num_like(v) && !kr_is_op(c, op, "~")) {
            if (kr_is_op(c, op, "-")) v->num = -v->num;
            v->kind = V_NUM;
        } else if (v->kind != V_NUM) {
            int end = v->end;
            *v = kr_mk(V_OPAQUE, op);
            v->end = end;
        }
        v->tok = op;
        return 0;
    }
    return e_power(c, p, v);
}

static int e_binary(ctx *c, int *p, kval *v, int level);

/* Binary operators by precedence: 0 comparisons, 1 + -, 2 * / // % @. */
static int e_binary(ctx *c, int *p, kval *v, int level) {
    static const char *const ops[3][8] = {{"==", "!=", "<", ">", "<=", ">=", NULL},
                                          {"+", "-", NULL},
                                          {"*", "/", "//", "%", "@", NULL}};
    if (level == 3) return e_factor(c, p, v);
    if (e_binary(c, p, v, level + 1)) return -1;
    for (;;) {
        const char *op = NULL;
        for (int k = 0; ops[level][k]; k++)
            if (kr_is_op(c, *p, ops[level][k])) op = ops[level][k];
        int optok = *p, width = 1;
        if (!op && level == 0) {
            if (kr_is_name(c, *p, "in"))
                op = "in";
            else if (kr_is_name(c, *p, "not") && kr_is_name(c, *p + 1, "in"))
                op = "not in", width = 2;
            else if (kr_is_name(c, *p, "is") && kr_is_name(c, *p + 1, "not"))
                op = "is not", width = 2;
            else if (kr_is_name(c, *p, "is"))
                op = "is";
        }
        if (!op) return 0;
        *p += width;
        kval r;
        if (e_binary(c, p, &r, level + 1)) return -1;
        if (kr_binop(c, op, optok, v, &r)) return -1;
    }
}

static int e_not(ctx *c, int *p, kval *v) {
    if (kr_is_name(c, *p, "not")) {
        int op = (*p)++;
        if (enter(c, op)) return -1;
        int r = e_not(c, p, v);
        c->depth--;
        if (r) return -1;
        int end = v->end;
        if (kr_num_like(v) || v->kind == V_NONE) {
            int t = v->kind == V_NONE ? 1 : v->num == 0;
            *v = kr_mk(V_BOOL, op);
            v->num = t;
            v->is_int = 1;
        } else
            *v = kr_mk(V_OPAQUE, op);
        v->end = end;
        return 0;
    }
    return e_binary(c, p, v, 0);
}

/* Python's truth of a value: 1, 0, or -1 when ordnet does not compute it. */
static int truthy(const kval *v) {
    switch (v->kind) {
    case V_NONE:
        return 0;
    case V_BOOL:
    case V_NUM:
        return v->num != 0;
    case V_STR:
        return v->s[0] != 0;
    case V_TUPLE:
    case V_LIST:
        return v->n > 0;
    case V_RANGE:
        return v->r2 > 0 ? v->r0 < v->r1 : v->r0 > v->r1;
    case V_LAYER:
    case V_TENSOR:
    case V_SEQ:
    case V_MODEL:
    case V_FUNC:
        return 1;
    default:
        return -1;
    }
}

/* and / or, with Python's values (a or b is a when a is true); a side ordnet does not compute
 * makes the result opaque. */
static int e_or(ctx *c, int *p, kval *v) {
    int r = e_not(c, p, v);
    while (!r && (kr_is_name(c, *p, "and") || kr_is_name(c, *p, "or"))) {
        int op = (*p)++;
        kval w;
        if ((r = e_not(c, p, &w))) break;
        int tok0 = v->tok, t = truthy(v), is_and = kr_is_name(c, op, "and");
        if (t < 0)
            *v = kr_mk(V_OPAQUE, tok0);
        else if (is_and ? t : !t)
            *v = w; /* a and b: b when a is true; a or b: b when a is false */
        v->tok = tok0;
        v->end = w.end;
    }
    return r;
}

/* Is there a conditional expression (a if b else c) from token p, at this bracket depth?
 * *if_tok and *else_tok: its keywords. */
static int find_ternary(const ctx *c, int p, int *if_tok, int *else_tok) {
    *if_tok = -1;
    for (int i = p; i < c->nt;) {
        const tok *t = &c->t[i];
        if (t->type == T_NEWLINE || t->type == T_EOF) return 0;
        if (t->type == T_OP) {
            char ch = c->text[t->off];
            if (t->len == 1 && strchr("([{", ch)) {
                i = kr_skip_group(c, i);
                continue;
            }
            if ((t->len == 1 && strchr(")]},:;=", ch)) ||
                (t->len >= 2 && c->text[t->off + t->len - 1] == '=' && !kr_is_op(c, i, "==") &&
                 !kr_is_op(c, i, "!=") && !kr_is_op(c, i, "<=") && !kr_is_op(c, i, ">=")))
                return 0;
        } else if (kr_is_name(c, i, "for") || kr_is_name(c, i, "lambda"))
            return 0;
        else if (kr_is_name(c, i, "if") && *if_tok < 0)
            *if_tok = i;
        else if (kr_is_name(c, i, "else")) {
            if (*if_tok < 0) return 0;
            *else_tok = i;
            return 1;
        }
        i++;
    }
    return 0;
}

/* The index after the expression at p (up to a comma, a closing bracket or the statement's
 * end at this depth), without evaluating it. */
static int skip_expr(const ctx *c, int p) {
    int i = p;
    while (i < c->nt) {
        const tok *t = &c->t[i];
        if (t->type == T_NEWLINE || t->type == T_EOF) break;
        if (t->type == T_OP && t->len == 1) {
            char ch = c->text[t->off];
            if (strchr("([{", ch)) {
                i = kr_skip_group(c, i);
                continue;
            }
            if (strchr(")]},:;=", ch)) break;
        }
        i++;
    }
    return i;
}

/* A condition that must be known: 1 or 0, or an error naming the data-dependent value. */
int kr_want_truth(ctx *c, const kval *v, int a, int b, int *out) {
    char s[64];
    int t = truthy(v);
    if (t < 0)
        return kr_fail(
            c, a,
            "the condition '%s' depends on a value ordnet does not compute (data, files, "
            "the command line): ordnet reads the model the code builds for known values; "
            "write the value",
            kr_src(c, a, b, s, sizeof s));
    *out = t;
    return 0;
}

/* An expression: or / and / not / comparisons / arithmetic, or a if b else c (only the branch
 * taken is evaluated, as in Python). */
int kr_e_test(ctx *c, int *p, kval *v) {
    if (enter(c, *p)) return -1;
    int it, et, r;
    if (find_ternary(c, *p, &it, &et)) {
        kval cond;
        int q = it + 1, t = 0;
        r = e_or(c, &q, &cond);
        if (!r && q != et) r = kr_fail(c, q, "expected 'else' in the conditional expression");
        if (!r) r = kr_want_truth(c, &cond, it + 1, et, &t);
        if (!r && t) {
            r = e_or(c, p, v);
            if (!r && *p != it) r = kr_fail(c, *p, "expected 'if' in the conditional expression");
            if (!r) *p = skip_expr(c, et + 1);
        } else if (!r) {
            *p = et + 1;
            r = kr_e_test(c, p, v);
        }
    } else
        r = e_or(c, p, v);
    c->depth--;
    return r;
}

/* An expression or a bare tuple (a, b = 1, 2), up to the end of the statement or an '='. */
int kr_e_exprlist(ctx *c, int *p, kval *v) {
    int start = *p;
    if (kr_e_test(c, p, v)) return -1;
    if (!kr_is_op(c, *p, ",")) return 0;
    kval *items = NULL;
    int n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            int nc = cap ? 2 * cap : 8;
            kval *ni = kr_cx_alloc(c, sizeof *ni * (size_t)nc);
            if (!ni) return kr_oom(c, *p);
            if (n) memcpy(ni, items, sizeof *ni * (size_t)n);
            items = ni;
            cap = nc;
        }
        items[n++] = *v;
        if (!kr_is_op(c, *p, ",")) break;
        ++*p;
        if (kr_end_of_stmt(c, *p) || kr_is_op(c, *p, "=")) break;
        if (kr_e_test(c, p, v)) return -1;
    }
    *v = kr_mk(V_TUPLE, start);
    v->items = items;
    v->n = n;
    v->end = *p;
    return 0;
}

/* Arguments of a call; p at '('. */
int kr_parse_args(ctx *c, int *p, kargs *A) {
    int open = *p, close = kr_skip_group(c, open) - 1, commas = 0, depth = 0;
    for (int i = open; i < close; i++) {
        if (c->t[i].type != T_OP || c->t[i].len != 1) continue;
        char ch = c->text[c->t[i].off];
        if (strchr("([{", ch))
            depth++;
        else if (strchr(")]}", ch))
            depth--;
        else if (ch == ',' && depth == 1)
            commas++;
    }
    A->a = kr_cx_alloc(c, sizeof(karg) * (size_t)(commas + 1));
    if (!A->a) return kr_oom(c, open);
    A->n = 0;
    A->open = open;
    int seen_key = 0;
    *p = open + 1;
    while (!kr_is_op(c, *p, ")")) {
        karg *g = &A->a[A->n];
        g->key = -1;
        if (kr_is_op(c, *p, "*") || kr_is_op(c, *p, "**"))
            return kr_fail(c, *p,
                           "*args and **kwargs are not supported here: write the arguments out");
        if (c->t[*p].type == T_NAME && kr_is_op(c, *p + 1, "=")) {
            g->key = *p;
            *p += 2;
            seen_key = 1;
        } else if (seen_key)
            return kr_fail(c, *p, "a positional argument after keyword arguments");
        g->tok = *p;
        if (kr_e_test(c, p, &g->v)) return -1;
        g->end = *p;
        if (kr_is_name(c, *p, "for"))
            return kr_fail(c, *p, "generator expressions are not supported: write the items out");
        if (A->n < commas + 1) A->n++;
        if (kr_is_op(c, *p, ","))
            ++*p;
        else if (!kr_is_op(c, *p, ")")) {
            char b[48];
            return kr_fail(c, *p, "expected ',' or ')', found '%s'", kr_ttext(c, *p, b, sizeof b));
        }
    }
    ++*p;
    return 0;
}
