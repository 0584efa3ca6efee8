/* labels.c - class labels of the text readers (CSV/TSV, text CSV): numbers, whose sorted
 * distinct values are the classes 0..K-1. */
#include "data.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int on_labels_sorted(const double *raw, size_t n, double **out) {
    double *u = malloc(sizeof(double) * (n ? n : 1));
    if (!u) return -1;
    memcpy(u, raw, sizeof(double) * n);
    qsort(u, n, sizeof(double), cmp_double);
    int nu = 0;
    for (size_t i = 0; i < n; i++)
        if (!nu || u[i] != u[nu - 1]) u[nu++] = u[i];
    *out = u;
    return nu;
}

int on_labels_index(const char *path, const double *raw, size_t n, const double *labels,
                    int nlabels, int *y, on_error *err) {
    if (nlabels > ON_MAX_LABELS)
        return on_fail(err, "%s: %d distinct labels: the first column must be a class label", path,
                       nlabels);
    for (size_t i = 0; i < n; i++) {
        const double *hit = bsearch(&raw[i], labels, (size_t)nlabels, sizeof(double), cmp_double);
        if (!hit)
            return on_fail(err, "%s: label %g of example %zu does not occur in the training set",
                           path, raw[i], i + 1);
        y[i] = (int)(hit - labels);
    }
    return 0;
}
