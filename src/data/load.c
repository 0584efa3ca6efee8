/* load.c - on_data_load: find out what a data location holds and read it.
 *   fashion-mnist          Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)
 *   DIR with train-images-idx3-ubyte[.gz]   MNIST-layout IDX
 *   DIR with data_batch_1.bin               CIFAR-10 binary
 *   DIR with train.csv / test.csv (or .tsv), or UCR-style NAME_TRAIN.tsv / NAME_TEST.tsv
 *   FILE.csv / FILE.tsv    one file: each fifth example is the test set, the others train
 * A CSV whose lines are a label and a text (text.c) gives token ids for Embedding models.
 */
#include "data.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* dir/name.gz or dir/name, whichever exists (the plain name when neither). */
static void pick(const char *dir, const char *name, char *out, size_t len) {
    snprintf(out, len, "%s/%s.gz", dir, name);
    if (!exists(out)) snprintf(out, len, "%s/%s", dir, name);
}

/* A CSV/TSV file for the split: train.csv, train.tsv, or *_TRAIN.tsv / *_TRAIN.csv. */
static int find_csv(const char *dir, int train, char *out, size_t len) {
    const char *plain[] = {train ? "train.csv" : "test.csv", train ? "train.tsv" : "test.tsv"};
    for (int i = 0; i < 2; i++) {
        snprintf(out, len, "%s/%s", dir, plain[i]);
        if (exists(out)) return 1;
    }
    DIR *d = opendir(dir);
    if (!d) return 0;
    const char *suffix[] = {train ? "_TRAIN.tsv" : "_TEST.tsv", train ? "_TRAIN.csv" : "_TEST.csv",
                            train ? "_TRAIN.txt" : "_TEST.txt"};
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        for (int i = 0; i < 3 && !found; i++) {
            size_t k = strlen(suffix[i]);
            if (n > k && !strcmp(e->d_name + n - k, suffix[i])) {
                snprintf(out, len, "%s/%s", dir, e->d_name);
                found = 1;
            }
        }
    }
    closedir(d);
    return found;
}

/* Split `part` of the CSV file tr (train: the training examples) or of te: numbers or
 * texts, whichever tr holds. */
static int load_csv(const char *tr, int tr_part, const char *te, int te_part, int train, int limit,
                    on_dataset *out, on_error *err) {
    int text = on_csv_is_text(tr, err);
    if (text < 0) return -1;
    if (text)
        return on_text_load(tr, tr_part, train ? tr : te, train ? tr_part : te_part, limit, out,
                            err);
    if (train) return on_csv_load(tr, tr_part, limit, NULL, 0, out, NULL, NULL, err);
    /* the test labels map onto the training set's classes */
    double labels[ON_MAX_LABELS];
    int nl = 0;
    on_dataset d;
    if (on_csv_load(tr, tr_part, 0, NULL, 0, &d, labels, &nl, err)) return -1;
    on_dataset_free(&d);
    return on_csv_load(te, te_part, limit, labels, nl, out, NULL, NULL, err);
}

int on_data_load(const char *where, int train, int limit, on_dataset *out, on_error *err) {
    struct stat st;
    if (!stat(where, &st) && S_ISREG(st.st_mode)) /* one file, split in two */
        return load_csv(where, ON_PART_TRAIN, where, ON_PART_TEST, train, limit, out, err);
    const char *dir = where;
    int debian = !strcmp(where, "fashion-mnist");
    if (debian) dir = "/usr/share/datasets/fashion-mnist";
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/data_batch_1.bin", dir);
    if (exists(a)) return on_cifar_load(dir, train, limit, out, err);
    if (find_csv(dir, 1, a, sizeof a)) {
        if (!train && !find_csv(dir, 0, b, sizeof b))
            return on_fail(err, "%s: found %s but no test file (test.csv or *_TEST.tsv)", dir, a);
        return load_csv(a, ON_PART_ALL, b, ON_PART_ALL, train, limit, out, err);
    }
    pick(dir, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte", a, sizeof a);
    pick(dir, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte", b, sizeof b);
    if (!exists(a) && !exists(b)) {
        if (debian)
            return on_fail(err, "Fashion-MNIST is not in %s: apt-get install dataset-fashion-mnist",
                           dir);
        return on_fail(err,
                       "%s: no data found (expected MNIST-layout IDX files such as "
                       "train-images-idx3-ubyte.gz, CIFAR-10 data_batch_1.bin, or "
                       "train.csv/test.csv)",
                       dir);
    }
    return on_idx_load(a, b, limit, out, err);
}
