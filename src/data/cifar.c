/* cifar.c - the CIFAR-10 binary layout: records of 1 label byte and 3x32x32 bytes
 * (channels first), in data_batch_1.bin .. data_batch_5.bin and test_batch.bin. */
#include "data.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC (1 + 3 * 32 * 32)

int on_cifar_load(const char *dir, int train, int limit, on_dataset *out, on_error *err) {
    memset(out, 0, sizeof *out);
    const char *names[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                            "data_batch_4.bin", "data_batch_5.bin"};
    int nfiles = train ? 5 : 1;
    size_t cap = 0, n = 0;
    for (int fi = 0; fi < nfiles; fi++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, train ? names[fi] : "test_batch.bin");
        FILE *f = fopen(path, "rb");
        if (!f) {
            if (train && fi > 0) break; /* fewer batches is fine */
            on_dataset_free(out);
            return on_fail(err, "%s: cannot open", path);
        }
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (len <= 0 || len % REC) {
            fclose(f);
            on_dataset_free(out);
            return on_fail(err, "%s: %ld bytes is not a whole number of %d-byte CIFAR records",
                           path, len, REC);
        }
        size_t recs = (size_t)len / REC;
        if (n + recs > cap) {
            cap = n + recs;
            float *x = realloc(out->x, sizeof(float) * cap * (REC - 1));
            int *y = realloc(out->y, sizeof(int) * cap);
            if (x) out->x = x;
            if (y) out->y = y;
            if (!x || !y) {
                fclose(f);
                on_dataset_free(out);
                return on_fail(err, "%s: out of memory", path);
            }
        }
        unsigned char rec[REC];
        for (size_t r = 0; r < recs; r++, n++) {
            if (fread(rec, 1, REC, f) != REC) {
                fclose(f);
                on_dataset_free(out);
                return on_fail(err, "%s: read error at record %zu", path, r);
            }
            if (rec[0] > 9) {
                fclose(f);
                on_dataset_free(out);
                return on_fail(err, "%s: record %zu has label %d, expected 0..9", path, r, rec[0]);
            }
            out->y[n] = rec[0];
            for (int j = 0; j < REC - 1; j++) out->x[n * (REC - 1) + j] = rec[1 + j] * (1.0f / 255);
        }
        fclose(f);
        if (limit > 0 && n >= (size_t)limit) break;
    }
    out->n = limit > 0 && (size_t)limit < n ? limit : (int)n;
    out->classes = 10;
    out->shape = (on_shape){3, 3, 32, 32};
    return 0;
}
