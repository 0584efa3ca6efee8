/* data.h - the data readers behind on_data_load. */
#ifndef ON_DATA_H
#define ON_DATA_H

#include "../ops/op.h"

/* Classes a labelled text file may have. */
#define ON_MAX_LABELS 1000

/* Which examples of a file to read: all, or the split of a single file into a training part
 * (every example but each fifth) and a test part (each fifth: examples 5, 10, ...). */
enum { ON_PART_ALL = 0, ON_PART_TRAIN = 1, ON_PART_TEST = 2 };
static inline int on_part_has(int part, long k) { /* k: 0-based index of the example */
    return part == ON_PART_ALL || (part == ON_PART_TEST) == (k % 5 == 4);
}

int on_cifar_load(const char *dir, int train, int limit, on_dataset *out, on_error *err);
/* One CSV/TSV file: a label then the values of one example per line. Labels are mapped
 * to 0..K-1 in sorted order using `labels` (K sorted distinct labels) when given, else
 * the file's own. */
int on_csv_load(const char *path, int part, int limit, const double *labels, int nlabels,
                on_dataset *out, double *found, int *nfound, on_error *err);
/* Is the CSV/TSV file at path a text file (a label, then a text)? Its first example
 * decides: 1 when what follows the label does not read as numbers, 0 when it does; -1
 * (err) when the file cannot be read. */
int on_csv_is_text(const char *path, on_error *err);
/* A text CSV (text.c): examples `part` of path, each a label and a text, as token ids of
 * the word index of examples `train_part` of train_path (Keras Tokenizer's rules), with
 * the labels of that training part. limit > 0 keeps the first `limit` examples. */
int on_text_load(const char *train_path, int train_part, const char *path, int part, int limit,
                 on_dataset *out, on_error *err);

/* Labels (labels.c): the sorted distinct values of raw[0..n) in *out (malloc'd); returns
 * their count, -1 when out of memory. */
int on_labels_sorted(const double *raw, size_t n, double **out);
/* y[i] = the index of raw[i] in labels (sorted); an error naming path and the example
 * when a label is not among them, or when there are more than ON_MAX_LABELS. */
int on_labels_index(const char *path, const double *raw, size_t n, const double *labels,
                    int nlabels, int *y, on_error *err);

#endif
