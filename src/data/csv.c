/* csv.c - examples as text lines: a label, then the values (1-D signals for Conv1D models,
 * as in the UCR archive). Separators: comma, tab or spaces. Every line must have the same
 * number of values; errors name the file, line and column. A file whose first example is
 * a label and something other than numbers is a text file, read by text.c. */
#include "data.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does the text at p read as numbers separated by commas, tabs or spaces, to its end? */
static int all_numbers(const char *p) {
    int k = 0;
    while (*p) {
        char *end;
        strtod(p, &end); /* inf and nan too: the reader refuses them with their place */
        if (end == p) return 0;
        p = end;
        if (*p && !strchr(",\t \r\n", *p)) return 0;
        while (*p && strchr(",\t \r\n", *p)) p++;
        k++;
    }
    return k > 0;
}

int on_csv_is_text(const char *path, on_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return on_fail(err, "%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    int text = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        char *end;
        strtod(p, &end);
        if (end == p) break; /* no label: the numeric reader names the problem */
        p = end;
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        text = *p && *p != '\r' && *p != '\n' && !all_numbers(p);
        break;
    }
    free(line);
    fclose(f);
    return text;
}

int on_csv_load(const char *path, int part, int limit, const double *labels, int nlabels,
                on_dataset *out, double *found, int *nfound, on_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) return on_fail(err, "%s: cannot open", path);
    size_t cap = 0, n = 0, width = 0;
    double *raw_labels = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int lineno = 0, rc = -1;
    long example = -1; /* index of the example in the file, for `part` */
    float *row = NULL;
    size_t rowcap = 0;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (!on_part_has(part, ++example)) continue;
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
    double *uniq = NULL;
    int nu = on_labels_sorted(raw_labels, n, &uniq);
    if (nu < 0) goto oom;
    if (!labels) {
        labels = uniq;
        nlabels = nu;
    }
    if (!(out->y = malloc(sizeof(int) * n))) {
        free(uniq);
        goto oom;
    }
    if (on_labels_index(path, raw_labels, n, labels, nlabels, out->y, err)) {
        free(uniq);
        goto done;
    }
    if (found) {
        *nfound = nlabels < ON_MAX_LABELS ? nlabels : ON_MAX_LABELS;
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
