/* csv.c - examples as text lines: a label, then the values (1-D signals for Conv1D models,
 * as in the UCR archive). Separators: comma, tab or spaces. Every line must have the same
 * number of values; errors name the file, line and column. */
#include "data.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int on_csv_load(const char *path, int limit, const double *labels, int nlabels, on_dataset *out,
                double *found, int *nfound, on_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return on_fail(err, "%s: cannot open", path);
    size_t cap = 0, n = 0, width = 0;
    double *raw_labels = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int lineno = 0, rc = -1;
    float *row = NULL;
    size_t rowcap = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (limit > 0 && n >= (size_t)limit) break;
        size_t k = 0;
        double label = 0;
        for (int field = 0; *p; field++) {
            char *end;
            errno = 0;
            double v = strtod(p, &end);
            /* inf, nan and values beyond float's range are refused too (found by fuzzing:
             * they trained on NaN, and NaN labels made classes that no example had) */
            if (end == p || errno == ERANGE || !isfinite(v) || fabs(v) > FLT_MAX) {
                int tl = (int)strcspn(p, ",\t \r\n");
                on_fail(err, "%s:%d:%d: '%.*s' is not a %snumber", path, lineno,
                        (int)(p - line) + 1, tl < 24 ? tl : 24, p, end == p ? "" : "finite ");
                goto done;
            }
            if (field == 0)
                label = v;
            else {
                if (k >= rowcap) {
                    rowcap = rowcap ? rowcap * 2 : 256;
                    float *r = realloc(row, sizeof(float) * rowcap);
                    if (!r) goto oom;
                    row = r;
                }
                row[k++] = (float)v;
            }
            p = end;
            while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n') p++;
        }
        if (k == 0) {
            on_fail(err, "%s:%d: a label but no values", path, lineno);
            goto done;
        }
        if (!width) width = k;
        if (k != width) {
            on_fail(err, "%s:%d: %zu values, but the first example has %zu", path, lineno, k,
                    width);
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            float *x = realloc(out->x, sizeof(float) * cap * width);
            double *l = realloc(raw_labels, sizeof(double) * cap);
            if (x) out->x = x;
            if (l) raw_labels = l;
            if (!x || !l) goto oom;
        }
        memcpy(out->x + n * width, row, sizeof(float) * width);
        raw_labels[n++] = label;
    }
    if (!n) {
        on_fail(err, "%s: no examples", path);
        goto done;
    }
    /* the sorted distinct labels define the classes */
    double *uniq = malloc(sizeof(double) * n);
    if (!uniq) goto oom;
    memcpy(uniq, raw_labels, sizeof(double) * n);
    qsort(uniq, n, sizeof(double), cmp_double);
    int nu = 0;
    for (size_t i = 0; i < n; i++)
        if (!nu || uniq[i] != uniq[nu - 1]) uniq[nu++] = uniq[i];
    if (!labels) {
        labels = uniq;
        nlabels = nu;
    }
    if (nlabels > 1000) {
        free(uniq);
        on_fail(err, "%s: %d distinct labels: the first column must be a class label", path,
                nlabels);
        goto done;
    }
    if (!(out->y = malloc(sizeof(int) * n))) {
        free(uniq);
        goto oom;
    }
    for (size_t i = 0; i < n; i++) {
        const double *hit =
            bsearch(&raw_labels[i], labels, (size_t)nlabels, sizeof(double), cmp_double);
        if (!hit) {
            on_fail(err, "%s: label %g of example %zu does not occur in the training set", path,
                    raw_labels[i], i + 1);
            free(uniq);
            goto done;
        }
        out->y[i] = (int)(hit - labels);
    }
    if (found) {
        *nfound = nlabels < 1000 ? nlabels : 1000;
        memcpy(found, labels, sizeof(double) * (size_t)*nfound);
    }
    free(uniq);
    out->n = (int)n;
    out->classes = nlabels;
    out->shape = (on_shape){2, 1, 1, (int)width};
    rc = 0;
    goto done;
oom:
    on_fail(err, "%s: out of memory", path);
done:
    fclose(f);
    free(line);
    free(row);
    free(raw_labels);
    if (rc) on_dataset_free(out);
    return rc;
}
