/* text.c - texts for Embedding models: a CSV/TSV file whose lines are a label and a text,
 * turned into token ids the way Keras's preprocessing does it (keras_preprocessing/text.py):
 *
 *   text_to_word_sequence: lowercase, every character of
 *       !"#$%&()*+,-./:;<=>?@[\]^_`{|}~ tab newline  replaced by a space, split on spaces,
 *       empty words dropped;
 *   Tokenizer.fit_on_texts: words counted over the training texts; word_index ranks them by
 *       count, most frequent first, ties in the order first seen (a stable sort of an
 *       insertion-ordered dict); index 0 is never a word (padding);
 *   texts_to_sequences: each word's index, words not in the index dropped (no oov_token).
 *
 * The dataset keeps every word's rank (on_dataset.words says how many there are); the
 * trainer keeps the ranks below the model's Embedding input_dim (Tokenizer's num_words) and
 * pads or truncates to the model's input length (train/text_fit.c). Lowercasing is ASCII's:
 * bytes above 127 (UTF-8 letters) are kept as they are, where Python's str.lower() would
 * lowercase non-ASCII letters too.
 *
 * A line: the label (a number), then a comma, tab or spaces, then the text: the rest of the
 * line, or a field in double quotes ("" is one quote) that ends on its line. Errors name the
 * file, line and column.
 */
#include "data.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERAS_FILTERS "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n"
#define MAX_TEXT_FLOATS ((size_t)1 << 28) /* n x longest text, as floats (1 GiB) */

/* The words seen in training: an open-addressing hash table over an arena of strings. */
typedef struct vocab {
    char *chars;
    size_t nchars, ccap;
    size_t *at;   /* word i starts at chars + at[i] */
    long *count;  /* occurrences of word i */
    int n, cap;   /* words, capacity of at/count */
    int *slot;    /* hash table: word index + 1, 0 empty */
    size_t nslot; /* a power of two */
} vocab;

static uint64_t hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* Index of the word s[0..n), or -1 (with add: added, count 0; -2 when out of memory). */
static int vocab_find(vocab *v, const char *s, size_t n, int add) {
    if (add && (size_t)(v->n + 1) * 2 > v->nslot) { /* grow the table to keep it half empty */
        size_t ns = v->nslot ? v->nslot * 2 : 1024;
        int *t = calloc(ns, sizeof(int));
        if (!t) return -2;
        for (int i = 0; i < v->n; i++) {
            const char *w = v->chars + v->at[i];
            size_t j = hash(w, strlen(w)) & (ns - 1);
            while (t[j]) j = (j + 1) & (ns - 1);
            t[j] = i + 1;
        }
        free(v->slot);
        v->slot = t;
        v->nslot = ns;
    }
    if (!v->nslot) return -1;
    size_t j = hash(s, n) & (v->nslot - 1);
    for (; v->slot[j]; j = (j + 1) & (v->nslot - 1)) {
        const char *w = v->chars + v->at[v->slot[j] - 1];
        if (!strncmp(w, s, n) && !w[n]) return v->slot[j] - 1;
    }
    if (!add) return -1;
    if (v->n == v->cap) {
        int nc = v->cap ? 2 * v->cap : 4096;
        size_t *a = realloc(v->at, sizeof(size_t) * (size_t)nc);
        if (a) v->at = a;
        long *c = realloc(v->count, sizeof(long) * (size_t)nc);
        if (c) v->count = c;
        if (!a || !c) return -2;
        v->cap = nc;
    }
    if (v->nchars + n + 1 > v->ccap) {
        size_t nc = (v->ccap ? 2 * v->ccap : 65536) + n + 1;
        char *c = realloc(v->chars, nc);
        if (!c) return -2;
        v->chars = c;
        v->ccap = nc;
    }
    memcpy(v->chars + v->nchars, s, n);
    v->chars[v->nchars + n] = 0;
    v->at[v->n] = v->nchars;
    v->count[v->n] = 0;
    v->nchars += n + 1;
    v->slot[j] = v->n + 1;
    return v->n++;
}

static void vocab_free(vocab *v) {
    free(v->chars);
    free(v->at);
    free(v->count);
    free(v->slot);
}

/* The examples of one file: labels, and each text's words as indices into a vocab. */
typedef struct docs {
    double *label;
    size_t *start; /* text i is ids[start[i] .. start[i+1]) */
    int *ids;
    size_t n, cap, nids, idcap;
} docs;

static void docs_free(docs *d) {
    free(d->label);
    free(d->start);
    free(d->ids);
}

static int push_id(docs *d, int id) {
    if (d->nids == d->idcap) {
        size_t nc = d->idcap ? 2 * d->idcap : 65536;
        int *t = realloc(d->ids, sizeof(int) * nc);
        if (!t) return -1;
        d->ids = t;
        d->idcap = nc;
    }
    d->ids[d->nids++] = id;
    return 0;
}

/* The words of text t[0..len) by Keras's rules, each looked up (train: added and
 * counted) in v; unknown words are dropped. */
static int add_words(vocab *v, docs *d, char *t, size_t len, int train) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        t[i] = c < 128 && strchr(KERAS_FILTERS, c) && c ? ' ' : (char)tolower(c);
    }
    for (size_t i = 0; i < len;) {
        while (i < len && t[i] == ' ') i++;
        size_t s = i;
        while (i < len && t[i] != ' ') i++;
        if (i == s) continue;
        int id = vocab_find(v, t + s, i - s, train);
        if (id == -2) return -1;
        if (id < 0) continue;
        if (train) v->count[id]++;
        if (push_id(d, id)) return -1;
    }
    return 0;
}

/* Read examples `part` of path (at most limit > 0 of them) into d; train: their words
 * build v. */
static int read_docs(const char *path, int part, int limit, int train, vocab *v, docs *d,
                     on_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return on_fail(err, "%s: cannot open", path);
    char *line = NULL, *text = NULL;
    size_t lcap = 0, tcap = 0;
    ssize_t len;
    int lineno = 0, rc = -1;
    long example = -1;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (!on_part_has(part, ++example)) continue;
        if (limit > 0 && d->n >= (size_t)limit) break;
        char *end;
        errno = 0;
        double label = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(label) || fabs(label) > FLT_MAX) {
            int tl = (int)strcspn(p, ",\t \r\n");
            on_fail(err,
                    "%s:%d:%d: '%.*s' is not a %snumber: each line of a text file is a "
                    "label, then the text",
                    path, lineno, (int)(p - line) + 1, tl < 24 ? tl : 24, p,
                    end == p ? "" : "finite ");
            goto done;
        }
        p = end;
        if (*p && !strchr(",\t \r\n", *p)) {
            on_fail(err, "%s:%d:%d: a label must be followed by a comma, tab or space", path,
                    lineno, (int)(p - line) + 1);
            goto done;
        }
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if ((size_t)len + 1 > tcap) {
            char *t = realloc(text, (size_t)len + 1);
            if (!t) goto oom;
            text = t;
            tcap = (size_t)len + 1;
        }
        size_t tl = 0;
        if (*p == '"') { /* a quoted field: "" is a quote; it ends on this line */
            char *q = p + 1;
            for (;; q++) {
                if (!*q || *q == '\n') {
                    on_fail(err, "%s:%d:%d: the quoted text is not closed on its line", path,
                            lineno, (int)(p - line) + 1);
                    goto done;
                }
                if (*q == '"' && q[1] == '"')
                    text[tl++] = *q++;
                else if (*q == '"')
                    break;
                else
                    text[tl++] = *q;
            }
            for (q++; *q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'; q++) {
            }
            if (*q) {
                on_fail(err, "%s:%d:%d: text after the closing quote", path, lineno,
                        (int)(q - line) + 1);
                goto done;
            }
        } else {
            tl = strcspn(p, "\r\n");
            memcpy(text, p, tl);
        }
        if (d->n == d->cap) {
            size_t nc = d->cap ? 2 * d->cap : 1024;
            double *l = realloc(d->label, sizeof(double) * nc);
            if (l) d->label = l;
            size_t *s = realloc(d->start, sizeof(size_t) * (nc + 1));
            if (s) d->start = s;
            if (!l || !s) goto oom;
            d->cap = nc;
        }
        d->label[d->n] = label;
        d->start[d->n] = d->nids;
        if (add_words(v, d, text, tl, train)) goto oom;
        d->n++;
        d->start[d->n] = d->nids;
    }
    if (!d->n) {
        on_fail(err, "%s: no examples%s", path, part == ON_PART_TEST ? " in the test part" : "");
        goto done;
    }
    rc = 0;
    goto done;
oom:
    on_fail(err, "%s: out of memory", path);
done:
    fclose(f);
    free(line);
    free(text);
    return rc;
}

typedef struct counted {
    long count;
    int id; /* order first seen */
} counted;

static int by_count(const void *a, const void *b) {
    const counted *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id); /* first seen first: Python's sort is stable */
}

int on_text_load(const char *train_path, int train_part, const char *path, int part, int limit,
                 on_dataset *out, on_error *err) {
    memset(out, 0, sizeof *out);
    vocab v = {0};
    docs tr = {0}, te = {0};
    counted *order = NULL;
    int *rank = NULL, rc = -1;
    double *labels = NULL;
    int same = !strcmp(train_path, path) && train_part == part;
    /* the word index and the classes come from the whole training part */
    if (read_docs(train_path, train_part, 0, 1, &v, &tr, err)) goto done;
    if (!same && read_docs(path, part, limit, 0, &v, &te, err)) goto done;
    docs *d = same ? &tr : &te;
    order = malloc(sizeof *order * (size_t)(v.n + 1));
    rank = malloc(sizeof(int) * (size_t)(v.n + 1));
    if (!order || !rank) goto oom;
    for (int i = 0; i < v.n; i++) order[i] = (counted){v.count[i], i};
    qsort(order, (size_t)v.n, sizeof *order, by_count);
    for (int r = 0; r < v.n; r++) rank[order[r].id] = r + 1;
    int nl = on_labels_sorted(tr.label, tr.n, &labels);
    if (nl < 0) goto oom;
    size_t n = same && limit > 0 && (size_t)limit < d->n ? (size_t)limit : d->n, L = 1;
    for (size_t i = 0; i < n; i++)
        if (d->start[i + 1] - d->start[i] > L) L = d->start[i + 1] - d->start[i];
    if ((double)n * (double)L > (double)MAX_TEXT_FLOATS || L > (size_t)1 << 30) {
        on_fail(err,
                "%s: %zu texts of up to %zu words are too many to hold (at most %zu words "
                "in all, counting padding): use shorter texts or --limit",
                path, n, L, MAX_TEXT_FLOATS);
        goto done;
    }
    out->x = calloc(n * L, sizeof(float));
    out->y = malloc(sizeof(int) * (n ? n : 1));
    if (!out->x || !out->y) goto oom;
    if (on_labels_index(path, d->label, n, labels, nl, out->y, err)) goto done;
    for (size_t i = 0; i < n; i++) { /* ranks at the end of the row: 0s in front */
        size_t len = d->start[i + 1] - d->start[i];
        float *row = out->x + i * L + (L - len);
        for (size_t k = 0; k < len; k++) row[k] = (float)rank[d->ids[d->start[i] + k]];
    }
    out->n = (int)n;
    out->classes = nl;
    out->shape = (on_shape){1, (int)L, 1, 1};
    out->words = v.n > 0 ? v.n : 1;
    rc = 0;
    goto done;
oom:
    on_fail(err, "%s: out of memory", path);
done:
    if (rc) on_dataset_free(out);
    vocab_free(&v);
    docs_free(&tr);
    docs_free(&te);
    free(order);
    free(rank);
    free(labels);
    return rc;
}
