/* fuzz_csv.c - libFuzzer harness over the CSV/TSV reader, through on_data_load as the CLI
 * calls it: the input is a directory's train.csv, and its test.csv is the part after the
 * first form feed (or the same text when there is none).
 *
 * Besides crashes, hangs and leaks, it stops when a failed load leaves data behind or
 * gives an error that does not name the file, and when a load succeeds but is
 * inconsistent: no examples, a shape that is not (1, width), values that are not finite,
 * labels outside 0..classes-1, a training class that no example has, a test set whose
 * classes differ from the training set's, or a training set that --limit does not cut
 * to a prefix of the full one. Text files (a label, then a text) give token ids: whole
 * numbers up to the number of training words, zeros only in front. */
#include "fuzz_util.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>

/* Floats per sample: (1, width) numbers, or a text's (L) token ids. */
static size_t width(const on_dataset *d) {
    return d->words > 0 ? (size_t)d->shape.c : (size_t)d->shape.w;
}

static void check_set(const on_dataset *d) {
    if (d->n < 1 || !d->x || !d->y) abort();
    if (d->words > 0) { /* texts: whole ids in [0, words], zeros only in front */
        if (d->shape.rank != 1 || d->shape.c < 1 || d->shape.h != 1 || d->shape.w != 1) abort();
    } else if (d->shape.rank != 2 || d->shape.c != 1 || d->shape.h != 1 || d->shape.w < 1)
        abort();
    if (d->classes < 1 || d->classes > 1000) abort();
    for (int i = 0; i < d->n; i++)
        if (d->y[i] < 0 || d->y[i] >= d->classes) abort();
    for (size_t i = 0; i < (size_t)d->n * width(d); i++)
        if (!isfinite(d->x[i])) abort();
    for (int i = 0; d->words > 0 && i < d->n; i++) {
        const float *r = d->x + (size_t)i * width(d);
        for (size_t k = 0; k < width(d); k++) {
            if (r[k] != floorf(r[k]) || r[k] < 0 || r[k] > (float)d->words) abort();
            if (k && r[k - 1] != 0 && r[k] == 0) abort();
        }
    }
}

/* Sample i of a and b hold the same values (texts: the same ids after the padding). */
static int same_sample(const on_dataset *a, const on_dataset *b, int i) {
    size_t wa = width(a), wb = width(b), w = wa < wb ? wa : wb;
    const float *x = a->x + (size_t)i * wa, *y = b->x + (size_t)i * wb;
    for (size_t k = w; k < wa; k++)
        if (x[k - w] != 0) return 0;
    for (size_t k = w; k < wb; k++)
        if (y[k - w] != 0) return 0;
    return !memcmp(x + (wa - w), y + (wb - w), sizeof(float) * w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 16)) return 0;
    const uint8_t *ff = memchr(data, '\f', size);
    size_t ntrain = ff ? (size_t)(ff - data) : size;
    const uint8_t *test = ff ? ff + 1 : data;
    size_t ntest = ff ? size - ntrain - 1 : size;
    char ptr[PATH_MAX], pte[PATH_MAX];
    fz_write("train.csv", data, ntrain, 0, ptr, sizeof ptr);
    fz_write("test.csv", test, ntest, 0, pte, sizeof pte);

    on_dataset tr, te, part;
    on_error err;
    memset(&tr, 0x5a, sizeof tr);
    if (on_data_load(fz_tmpdir(), 1, 0, &tr, &err)) {
        fz_check_error(&err);
        fz_check_empty(&tr);
        return 0;
    }
    check_set(&tr);
    /* every class of the training set is the label of some example */
    char *seen = calloc((size_t)tr.classes, 1);
    if (!seen) abort();
    for (int i = 0; i < tr.n; i++) seen[tr.y[i]] = 1;
    for (int k = 0; k < tr.classes; k++)
        if (!seen[k]) abort();
    free(seen);

    /* --limit 2 keeps a prefix */
    if (on_data_load(fz_tmpdir(), 1, 2, &part, &err)) abort();
    check_set(&part);
    if (part.n != (tr.n < 2 ? tr.n : 2) || part.words != tr.words) abort();
    if (!tr.words && part.shape.w != tr.shape.w) abort();
    for (int i = 0; i < part.n; i++)
        if (!same_sample(&part, &tr, i)) abort();
    on_dataset_free(&part);

    memset(&te, 0x5a, sizeof te);
    if (on_data_load(fz_tmpdir(), 0, 0, &te, &err)) {
        fz_check_error(&err);
        fz_check_empty(&te);
    } else {
        check_set(&te);
        if (te.classes != tr.classes || te.words != tr.words) abort();
        /* the same text as the training file: the same labels */
        if (!ff && (te.n != tr.n || memcmp(te.y, tr.y, sizeof(int) * (size_t)tr.n))) abort();
        on_dataset_free(&te);
    }
    on_dataset_free(&tr);
    return 0;
}
