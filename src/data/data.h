/* data.h - the data readers behind on_data_load. */
#ifndef ON_DATA_H
#define ON_DATA_H

#include "../base/base.h"

int on_cifar_load(const char *dir, int train, int limit, on_dataset *out, on_error *err);
/* One CSV/TSV file: a label then the values of one example per line. Labels are mapped
 * to 0..K-1 in sorted order using `labels` (K sorted distinct labels) when given, else
 * the file's own. */
int on_csv_load(const char *path, int limit, const double *labels, int nlabels, on_dataset *out,
                double *found, int *nfound, on_error *err);

#endif
