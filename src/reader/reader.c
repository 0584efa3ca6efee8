/* reader.c - model definitions from text or files: Keras code (src/keras/) or the compact
 * form (reader/compact.c), told apart by content; the caller's input shape; the classifier
 * head. Every error names the file, line and column: the compact parser's "spec:1:N"
 * offsets are turned into lines and columns of the text.
 */
#include "args.h"
#include "../keras/keras.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (1u << 20) /* bytes of a model definition */
#define MAX_LAYERS 10000

/* Line and column (1-based) of byte offset off of text. */
static void line_col(const char *text, size_t off, int *line, int *col) {
    *line = *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n')
            ++*line, *col = 1;
        else
            ++*col;
    }
}

/* "spec:1:N: msg" of the compact parser -> "name:LINE:COL: msg"; other messages get
 * "name:1:1: ". */
static void locate_error(const char *text, const char *name, size_t base, on_error *err) {
    if (!err) return;
    char msg[sizeof err->msg];
    memcpy(msg, err->msg, sizeof msg);
    msg[sizeof msg - 1] = 0;
    const char *rest = msg;
    size_t off = base;
    if (!strncmp(msg, "spec:1:", 7)) {
        char *end;
        long n = strtol(msg + 7, &end, 10);
        if (end != msg + 7 && *end == ':' && n >= 1 && n < (1L << 30)) {
            off = base + (size_t)(n - 1);
            rest = end + 1;
            while (*rest == ' ') rest++;
        }
    }
    int line, col;
    line_col(text, off, &line, &col);
    on_fail(err, "%s:%d:%d: %s", name, line, col, rest);
}

/* Numbers of the compact form, split as its parser splits words: all must be finite and at
 * most MAX_NUMBER in size (the compact parser converts them to int before range checks). */
#define MAX_NUMBER 1e6
static int check_numbers(const char *t, const char *name, on_error *err) {
#define WORDCH(ch)                                                                                 \
    (isalnum((unsigned char)(ch)) || (ch) == '_' || (ch) == '.' || (ch) == '-' || (ch) == '+')
    for (size_t i = 0; t[i]; i++) {
        if (!WORDCH(t[i]) || (i > 0 && WORDCH(t[i - 1]))) continue;
        size_t e = i;
        while (WORDCH(t[e])) e++;
        /* the whole word, and its first 31 characters (the parser keeps no more) */
        for (int k = 0; k < 2; k++) {
            char w[64], *end;
            size_t len = e - i, cut = k ? 31 : sizeof w - 1;
            if (!k && len > cut) continue;
            snprintf(w, sizeof w, "%.*s", (int)(len < cut ? len : cut), t + i);
            double v = strtod(w, &end);
            if (*w && !*end && !(fabs(v) <= MAX_NUMBER)) {
                int line, col;
                line_col(t, i, &line, &col);
                return on_fail(err, "%s:%d:%d: number '%.40s' is out of range (at most %g)", name,
                               line, col, w, MAX_NUMBER);
            }
        }
    }
    return 0;
#undef WORDCH
}

/* An upper bound of the parameters a compact-form layer (the text tok, len bytes) would add
 * to m: conv and dense from their filters or units, kernel, and the largest channel count or
 * value count of m's layers; batchnorm and prelu from the largest channel count; 0 for
 * layers without parameters. *wide: its dilated kernel spans
 * more than 1e8 values. The compact parser itself reports any error of the layer. */
static double compact_bound(const on_model *m, const char *tok, size_t len, int *wide) {
    char name[48];
    size_t k = 0;
    *wide = 0;
    while (k < len && k + 1 < sizeof name && tok[k] != '(') name[k] = tok[k], k++;
    name[k] = 0;
    on_shape cur = m->nodes[m->nn - 1].ys;
    int conv = !strcmp(name, "conv") || !strcmp(name, "conv1d") || !strcmp(name, "conv2d");
    int dense = !strcmp(name, "dense") || !strcmp(name, "fc") || !strcmp(name, "linear_layer");
    double maxc = 1, maxs = 1;
    for (int i = 0; i < m->nn; i++) {
        if (m->nodes[i].ys.c > maxc) maxc = m->nodes[i].ys.c;
        if ((double)on_shape_size(m->nodes[i].ys) > maxs)
            maxs = (double)on_shape_size(m->nodes[i].ys);
    }
    if (!strcmp(name, "bn") || !strcmp(name, "batchnorm") || !strcmp(name, "batch_norm"))
        return 4 * maxc;
    if (!strcmp(name, "prelu")) return maxc;
    if (!conv && !dense) return 0;
    int one_d = !strcmp(name, "conv1d") || (!strcmp(name, "conv") && cur.rank == 2);
    const on_op *op = on_op_find(!conv ? "dense" : one_d ? "conv1d" : "conv2d");
    on_attrs a = op->defaults;
    size_t p = k + 1;
    for (int i = 0; k < len && tok[k] == '(' && p < len && tok[p] != ')'; i++) {
        char key[32] = "", w[32], pbuf[32];
        on_value v;
        memset(&v, 0, sizeof v);
        while (p < len && tok[p] == ' ') p++;
        size_t q = p;
        while (q < len && !strchr(",()= ", tok[q])) q++;
        if (q < len && tok[q] == '=') {
            snprintf(key, sizeof key, "%.*s", (int)(q - p), tok + p);
            p = q + 1;
        }
        if (p < len && tok[p] == '(') { /* a tuple */
            v.kind = ON_V_TUPLE;
            for (p++; p < len && tok[p] != ')';) {
                char *end;
                double d = strtod(tok + p, &end);
                if (end == tok + p) break;
                if (v.n < 4) v.num[v.n++] = d;
                p = (size_t)(end - tok);
                while (p < len && (tok[p] == ' ' || tok[p] == ',')) p++;
            }
        } else {
            for (q = p; q < len && !strchr(",() ", tok[q]);) q++;
            snprintf(w, sizeof w, "%.*s", (int)(q - p), tok + p);
            char *end;
            v.num[0] = strtod(w, &end);
            v.kind = *w && !*end ? ON_V_NUM : ON_V_IDENT;
            snprintf(v.ident, sizeof v.ident, "%s", w);
        }
        const char *kk = key;
        if (!*kk && v.kind == ON_V_IDENT)
            kk = "";
        else if (!*kk)
            kk = on_args_positional(op, i, pbuf, sizeof pbuf);
        on_error e2;
        if (kk && *kk) on_args_set(op, &a, kk, &v, &e2); /* errors are the parser's to report */
        int depth = 0;                                   /* on to the next argument */
        while (p < len && (depth || (tok[p] != ',' && tok[p] != ')'))) {
            depth += tok[p] == '(' ? 1 : tok[p] == ')' ? -1 : 0;
            p++;
        }
        if (p < len && tok[p] == ',') p++;
    }
    if (conv) *wide = (double)a.dh * (a.kh - 1) + 1 > 1e8 || (double)a.dw * (a.kw - 1) + 1 > 1e8;
    return conv ? (double)a.units * (maxc * a.kh * a.kw + 1) : (double)a.units * (maxs + 1);
}

/* The compact form, one layer at a time (so that a layer that would need too many
 * parameters is refused before anything is allocated). A leading input(...) is replaced by
 * the caller's shape when given; '#' comments are blanked, so columns stay the same. */
static on_model *read_compact(const char *text, const char *name, const on_shape *input,
                              on_error *err) {
    size_t n = strlen(text);
    char *t = malloc(n + 1);
    if (!t) {
        on_fail(err, "%s:1:1: out of memory", name);
        return NULL;
    }
    memcpy(t, text, n + 1);
    for (size_t i = 0; i < n; i++)
        if (t[i] == '#')
            while (i < n && t[i] != '\n') t[i++] = ' ';
    int layers = 0, depth = 0;
    for (size_t i = 0; i < n; i++) { /* layers are the words outside parentheses */
        depth += t[i] == '(' ? 1 : t[i] == ')' && depth ? -1 : 0;
        if (!depth && (isalpha((unsigned char)t[i]) || t[i] == '_') &&
            (i == 0 || isspace((unsigned char)t[i - 1]) || t[i - 1] == '|'))
            layers++;
    }
    if (layers > MAX_LAYERS) {
        free(t);
        on_fail(err, "%s:1:1: more than %d layers", name, MAX_LAYERS);
        return NULL;
    }
    if (check_numbers(t, name, err)) {
        free(t);
        return NULL;
    }
    size_t p = 0, q = 0, close = 0;
    while (isspace((unsigned char)t[p])) p++;
    if (!strncmp(t + p, "input", 5)) {
        for (q = p + 5; t[q] == ' ' || t[q] == '\t';) q++;
        char *c = t[q] == '(' ? strchr(t + q, ')') : NULL;
        close = c ? (size_t)(c - t) + 1 : 0;
    }
    on_model *m = NULL;
    size_t at = 0, base = 0;
    if (input) {
        m = on_model_new(*input, err);
        char note[256], s[64];
        on_keras_shape_str(*input, s, sizeof s);
        if (close)
            snprintf(note, sizeof note, "input shape %s given to the reader replaces %.*s", s,
                     (int)(close - p > 60 ? 60 : close - p), t + p);
        else
            snprintf(note, sizeof note, "input shape %s given to the reader", s);
        if (m) on_model_add_note(m, note);
        at = close;
    } else if (close) { /* input(...) alone first */
        char keep = t[close];
        t[close] = 0;
        m = on_model_from_spec(t + p, err);
        t[close] = keep;
        at = close;
        base = p;
    } else { /* the compact parser's own message */
        m = on_model_from_spec(t, err);
    }
    while (m && t[at]) {
        while (t[at] && (isspace((unsigned char)t[at]) || t[at] == '|')) at++;
        size_t e = at;
        for (depth = 0; t[e] && (depth || !(isspace((unsigned char)t[e]) || t[e] == '|')); e++)
            depth += t[e] == '(' ? 1 : t[e] == ')' && depth ? -1 : 0;
        if (e == at) break;
        int wide;
        double need = compact_bound(m, t + at, e - at, &wide) + (double)m->np + (double)m->ns;
        int line, col;
        line_col(t, at, &line, &col);
        if (wide || need > (double)ON_MAX_MODEL_PARAMS) {
            on_fail(err,
                    wide
                        ? "%s:%d:%d: layer '%.*s' has a window wider than 1e8 values"
                        : "%s:%d:%d: layer '%.*s' could bring the model to %.0f parameters; ordnet "
                          "reads models of at most %zu",
                    name, line, col, (int)(e - at > 40 ? 40 : e - at), t + at, need,
                    (size_t)ON_MAX_MODEL_PARAMS);
            on_model_free(m);
            free(t);
            return NULL;
        }
        char keep = t[e];
        t[e] = 0;
        int r = on_model_add_spec(m, t + at, err);
        t[e] = keep;
        if (r) {
            on_model_free(m);
            m = NULL;
            base = at;
        }
        at = e;
    }
    if (!m) locate_error(text, name, base, err);
    free(t);
    return m;
}

/* The model's classifier: its last dense layer, when only one-input elementwise layers
 * (activations, dropout) follow it; NULL when it has none. *binary: one output followed by
 * a sigmoid (Keras's binary classification, trained with binary cross-entropy). */
static const on_node *classifier(const on_model *m, int *binary) {
    int sigmoid = 0;
    *binary = 0;
    for (int i = m->nn - 1; i >= 1; i--) {
        const on_node *nd = &m->nodes[i];
        if (!strcmp(nd->op->name, "dense")) {
            *binary = nd->ys.c == 1 && sigmoid;
            return nd;
        }
        if (!(nd->op->props & ON_PROP_ELEMENTWISE) || nd->op->ninputs != 1) return NULL;
        if (!strcmp(nd->op->name, "sigmoid")) sigmoid = 1;
    }
    return NULL;
}

/* A model for `classes` classes: one with a classifier must have that many outputs (a
 * clear error otherwise, naming both numbers); one without gets a head: flatten (when the
 * output is not flat) and dense(classes), said in a note. */
static int add_head(on_model *m, int classes, const char *name, on_error *err) {
    const on_node *last = &m->nodes[m->nn - 1];
    int binary;
    const on_node *cls = classifier(m, &binary);
    if (cls && binary && classes <= 2) return 0; /* trained with binary cross-entropy */
    if (cls && binary)
        return on_fail(err,
                       "%s: the data has %d classes but the model is a binary classifier (dense "
                       "'%s' with one output and a sigmoid: 2 classes, labels 0 and 1): end the "
                       "model with Dense(%d, activation='softmax') for this data",
                       name, classes, cls->name, classes);
    if (cls && cls->ys.c != classes)
        return on_fail(err,
                       "%s: the data has %d classes but the model's classifier, dense '%s', has "
                       "%d outputs: end the model with Dense(%d) for this data",
                       name, classes, cls->name, cls->ys.c, classes);
    if (cls) return 0;
    char before[64], note[512], nm[ON_NAME_MAX], s[64];
    on_error e2;
    on_keras_shape_str(last->ys, before, sizeof before);
    double need = ((double)on_shape_size(last->ys) + 1) * classes + (double)m->np + (double)m->ns;
    if (need > (double)ON_MAX_MODEL_PARAMS)
        return on_fail(
            err,
            "%s:1:1: a classifier head dense(%d) after %s would bring the model to %.0f "
            "parameters; ordnet reads models of at most %zu: end the model with a smaller "
            "output (e.g. GlobalAveragePooling2D)",
            name, classes, before, need, (size_t)ON_MAX_MODEL_PARAMS);
    size_t o = (size_t)snprintf(
        note, sizeof note,
        "added a classifier head for %d classes, because the model ended in %s '%s' %s, "
        "not in a dense layer with %d outputs:",
        classes, last->op ? last->op->name : "its input", last->name, before, classes);
    if (last->ys.rank != 1) {
        on_keras_unique_name(m, "flatten", nm);
        int id = on_model_add(m, on_op_find("flatten"), NULL, nm, &e2);
        if (id < 0) return on_fail(err, "%s:1:1: classifier head: %s", name, e2.msg);
        if (o < sizeof note)
            o += (size_t)snprintf(note + o, sizeof note - o, " flatten '%s' -> %s,", nm,
                                  on_keras_shape_str(m->nodes[id].ys, s, sizeof s));
    }
    const on_op *dense = on_op_find("dense");
    on_attrs a = dense->defaults;
    a.units = classes;
    on_keras_unique_name(m, "dense", nm);
    int id = on_model_add(m, dense, &a, nm, &e2);
    if (id < 0) return on_fail(err, "%s:1:1: classifier head: %s", name, e2.msg);
    if (o < sizeof note)
        snprintf(note + o, sizeof note - o, " dense '%s' -> %s", nm,
                 on_keras_shape_str(m->nodes[id].ys, s, sizeof s));
    on_model_add_note(m, note);
    return 0;
}

on_model *on_model_from_text(const char *text, const char *name, const on_shape *input, int classes,
                             on_error *err) {
    if (!name || !*name) name = "<text>";
    if (!text) {
        on_fail(err, "%s:1:1: no text", name);
        return NULL;
    }
    if (strlen(text) > MAX_FILE) {
        on_fail(err, "%s:1:1: the text is too long (more than 1 MiB)", name);
        return NULL;
    }
    if (classes < 0 || classes > 1000000) {
        on_fail(err, "%s:1:1: classes must be from 0 to 1000000, got %d", name, classes);
        return NULL;
    }
    if (input) { /* check the caller's shape once, with its own message */
        on_error e2;
        on_model *probe = on_model_new(*input, &e2);
        if (!probe) {
            on_fail(err, "%s:1:1: the input shape given to the reader: %s", name, e2.msg);
            return NULL;
        }
        on_model_free(probe);
    }
    on_model *m = on_keras_detect(text) ? on_keras_read(text, name, input, classes, err)
                                        : read_compact(text, name, input, err);
    if (m && classes > 0 && add_head(m, classes, name, err)) {
        on_model_free(m);
        return NULL;
    }
    return m;
}

on_model *on_model_from_file(const char *path, const on_shape *input, int classes, on_error *err) {
    if (!path) {
        on_fail(err, "no file name");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        on_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > MAX_FILE) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        on_fail(err, "%s: out of memory", path);
        return NULL;
    }
    if (bad || n > MAX_FILE) {
        on_fail(err, bad ? "%s: read error" : "%s: the file is too large (more than 1 MiB)", path);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    const char *nul = memchr(buf, 0, n);
    if (nul) {
        int line, col;
        line_col(buf, (size_t)(nul - buf), &line, &col);
        on_fail(err, "%s:%d:%d: the file contains a NUL byte: is it a text file?", path, line, col);
        free(buf);
        return NULL;
    }
    on_model *m = on_model_from_text(buf, path, input, classes, err);
    free(buf);
    return m;
}
