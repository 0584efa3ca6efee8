/* value.c - the Keras reader's messages (file:line:col), its bounded allocator, token
 * tests, and the values of the evaluator; layer names and shapes shared with the other readers. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                        */

static int vfail_lc(ctx *c, int line, int col, const char *fmt, va_list ap) {
    char m[512];
    vsnprintf(m, sizeof m, fmt, ap);
    return on_fail(c->err, "%s:%d:%d: %s", c->file, line, col, m);
}

/* An error at token ti. */
int kr_fail(ctx *c, int ti, const char *fmt, ...) {
    int line = 1, col = 1;
    if (c->t && ti >= 0 && ti < c->nt) line = c->t[ti].line, col = c->t[ti].col;
    va_list ap;
    va_start(ap, fmt);
    vfail_lc(c, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* "file:line:col" of token ti, for messages that point somewhere else. */
const char *kr_where(const ctx *c, int ti, char *buf, size_t n) {
    int line = 1, col = 1;
    if (ti >= 0 && ti < c->nt) line = c->t[ti].line, col = c->t[ti].col;
    snprintf(buf, n, "%d:%d", line, col);
    return buf;
}

void *kr_cx_alloc(ctx *c, size_t n) {
    if (n > MAX_ALLOC || c->alloc > MAX_ALLOC - n) return NULL; /* reported as out of memory */
    if (c->nblocks == c->bcap) {
        int nc = c->bcap ? 2 * c->bcap : 64;
        void **b = realloc(c->blocks, sizeof *b * (size_t)nc);
        if (!b) return NULL;
        c->blocks = b;
        c->bcap = nc;
    }
    void *p = calloc(1, n ? n : 1);
    if (p) c->blocks[c->nblocks++] = p, c->alloc += n;
    return p;
}

int kr_oom(ctx *c, int ti) {
    if (c->alloc > MAX_ALLOC / 2)
        return kr_fail(c, ti,
                       "the code builds values larger than ordnet's reader allows (%u MiB in all): "
                       "is a loop making a list or string without end?",
                       MAX_ALLOC >> 20);
    return kr_fail(c, ti, "out of memory");
}

/* Is word in the space-separated list? */
int kr_in_list(const char *list, const char *word, size_t n) {
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len && len == n && !strncmp(p, word, n)) return 1;
        p += len;
    }
    return 0;
}

static int lev(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40) return 99;
    int d[41][41];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int k = d[i - 1][j - 1] +
                    (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (d[i - 1][j] + 1 < k) k = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < k) k = d[i][j - 1] + 1;
            d[i][j] = k;
        }
    return d[na][nb];
}

/* " (did you mean 'x'?)" for the closest word of the lists, or "". */
const char *kr_suggest(const char *word, const char *l1, const char *l2, char *buf, size_t n) {
    const char *lists[2] = {l1, l2};
    int best = 3;
    char bw[48] = "";
    for (int k = 0; k < 2; k++)
        for (const char *p = lists[k] ? lists[k] : ""; *p;) {
            while (*p == ' ') p++;
            size_t len = strcspn(p, " ");
            if (len && len < sizeof bw) {
                char w[48];
                memcpy(w, p, len);
                w[len] = 0;
                int d = lev(word, w);
                if (d < best || (d == 0 && strcmp(word, w))) best = d, memcpy(bw, w, len + 1);
            }
            p += len;
        }
    if (!bw[0])
        buf[0] = 0;
    else
        snprintf(buf, n, " (did you mean '%s'?)", bw);
    return buf;
}

/* "a, b, c" from a space-separated list. */
const char *kr_commas(const char *list, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (const char *p = list; *p && k + 1 < n;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len) {
            int w = snprintf(buf + k, n - k, "%s%.*s", k ? ", " : "", (int)len, p);
            if (w < 0 || (size_t)w >= n - k) break;
            k += (size_t)w;
        }
        p += len;
    }
    return buf;
}

int kr_is_op(const ctx *c, int i, const char *op) {
    const tok *t = &c->t[i];
    return t->type == T_OP && (size_t)t->len == strlen(op) &&
           !memcmp(c->text + t->off, op, (size_t)t->len);
}

int kr_is_name(const ctx *c, int i, const char *w) {
    const tok *t = &c->t[i];
    return t->type == T_NAME && (size_t)t->len == strlen(w) &&
           !memcmp(c->text + t->off, w, (size_t)t->len);
}

int kr_end_of_stmt(const ctx *c, int i) {
    return c->t[i].type == T_NEWLINE || c->t[i].type == T_EOF || kr_is_op(c, i, ";");
}

/* The text of token i. */
const char *kr_ttext(const ctx *c, int i, char *buf, size_t n) {
    const tok *t = &c->t[i];
    if (t->type == T_NEWLINE)
        snprintf(buf, n, "end of line");
    else if (t->type == T_EOF)
        snprintf(buf, n, "end of file");
    else
        snprintf(buf, n, "%.*s", t->len > 40 ? 40 : t->len, c->text + t->off);
    return buf;
}

/* The source text of tokens [a, b) on one line, shortened, for messages. */
const char *kr_src(const ctx *c, int a, int b, char *buf, size_t n) {
    if (a < 0 || a >= c->nt || b <= a) {
        snprintf(buf, n, "?");
        return buf;
    }
    if (b > c->nt) b = c->nt;
    int s = c->t[a].off, e = c->t[b - 1].off + c->t[b - 1].len;
    size_t k = 0;
    int space = 0;
    for (int i = s; i < e && k + 4 < n; i++) {
        char ch = c->text[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = 1;
            continue;
        }
        if (space && k) buf[k++] = ' ';
        space = 0;
        if (k >= 48) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        buf[k++] = ch;
    }
    buf[k] = 0;
    return buf;
}

kval kr_mk(int kind, int tok) {
    kval v;
    memset(&v, 0, sizeof v);
    v.kind = kind;
    v.tok = v.last = tok;
    v.end = tok + 1;
    v.node = -1;
    v.softmax = -1;
    v.var = -1;
    return v;
}

const char *kr_kind_name(const kval *v) {
    switch (v->kind) {
    case V_NONE:
        return "None";
    case V_BOOL:
        return "a boolean";
    case V_NUM:
        return "a number";
    case V_STR:
        return "a string";
    case V_TUPLE:
        return "a tuple";
    case V_LIST:
        return "a list";
    case V_PATH:
        return "a module or function";
    case V_LAYER:
        return "a layer";
    case V_TENSOR:
        return "a layer output";
    case V_SEQ:
        return "a Sequential model";
    case V_MODEL:
        return "a model";
    case V_FUNC:
        return "a function";
    case V_METHOD:
        return "a method";
    case V_RANGE:
        return "a range";
    case V_REG:
        return "a regularizer";
    default:
        return "a value ordnet does not compute";
    }
}

kval kr_num_val(double d, int is_int, int tok) {
    kval v = kr_mk(V_NUM, tok);
    v.num = d;
    v.is_int = is_int;
    return v;
}

/* A tuple or list of n values. */
int kr_make_seq(ctx *c, int kind, const kval *it, int n, int tok, kval *out) {
    kval *items = kr_cx_alloc(c, sizeof *items * (size_t)(n ? n : 1));
    if (!items) return kr_oom(c, tok);
    if (n) memcpy(items, it, sizeof *items * (size_t)n);
    *out = kr_mk(kind, tok);
    out->items = items;
    out->n = n;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Shapes and names shared with the other readers                                       */

char *on_keras_shape_str(on_shape s, char *buf, size_t len) {
    if (s.rank == 1)
        snprintf(buf, len, "(None, %d)", s.c);
    else if (s.rank == 2)
        snprintf(buf, len, "(None, %d, %d)", s.w, s.c);
    else
        snprintf(buf, len, "(None, %d, %d, %d)", s.h, s.w, s.c);
    return buf;
}

static int name_used(const on_model *m, const char *nm) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, nm)) return 1;
    return 0;
}

void on_keras_unique_name(const on_model *m, const char *base, char out[ON_NAME_MAX]) {
    snprintf(out, ON_NAME_MAX, "%.*s", ON_NAME_MAX - 12, base);
    if (!name_used(m, out)) return;
    /* start after the names base, base_1, ... already taken: one pass in the usual case */
    size_t bl = strlen(out);
    int k = 0;
    for (int i = 0; i < m->nn; i++) {
        const char *nm = m->nodes[i].name;
        if (strncmp(nm, out, bl)) continue;
        if (!nm[bl])
            k++;
        else if (nm[bl] == '_' && nm[bl + 1] &&
                 strspn(nm + bl + 1, "0123456789") == strlen(nm + bl + 1))
            k++;
    }
    char cand[ON_NAME_MAX];
    for (;; k++) {
        snprintf(cand, sizeof cand, "%s_%d", out, k > 0 ? k : 1);
        if (!name_used(m, cand)) break;
    }
    memcpy(out, cand, ON_NAME_MAX);
}

double on_keras_param_estimate(const on_op *op, const on_attrs *a, on_shape xs) {
    if (!op) return 0;
    double bias = a->bias ? 1 : 0, g = a->groups > 1 ? a->groups : 1;
    if (!strcmp(op->name, "conv1d") || !strcmp(op->name, "conv2d") ||
        !strcmp(op->name, "conv1d_transpose") || !strcmp(op->name, "conv2d_transpose"))
        return ((double)xs.c / g * a->kh * a->kw + bias) * a->units;
    if (!strcmp(op->name, "dense")) return ((double)on_shape_size(xs) + bias) * a->units;
    if (!strcmp(op->name, "batchnorm")) return 4.0 * xs.c;
    if (!strcmp(op->name, "prelu")) return xs.c;
    /* other ops: their own parameter rule, when their shape rule takes xs */
    on_shape ys;
    on_error e;
    on_param_desc d[4];
    if (!op->params || op->ninputs != 1 || !op->shape || op->shape(a, xs, &ys, &e)) return 0;
    double t = 0;
    for (int i = 0, n = op->params(a, xs, ys, d); i < n; i++) t += (double)d[i].size;
    return t;
}
