/* fuzz_cifar.c - libFuzzer harness over on_cifar_load (CIFAR-10 binary: records of one
 * label byte and 3x32x32 pixel bytes).
 *
 * Input: byte 0 flags (bit 0: the training split, bits 1-2: how many of its batch files,
 * data_batch_1.bin .., hold the rest of the input (1-4), bits 3-7: limit 0..31), then the
 * file's bytes (test_batch.bin for the test split).
 *
 * The reader's answer is checked exactly: it must fail if and only if the file is empty,
 * is not a whole number of 3073-byte records or has a label above 9, and a successful
 * load must give every label and pixel (byte / 255) of the records, as many records as the
 * files hold (or the limit), 10 classes and the shape (3,32,32). */
#include "data/data.h"
#include "fuzz_util.h"

#include <limits.h>
#include <stdint.h>

#define REC (1 + 3 * 32 * 32)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1 << 20)) return 0;
    unsigned flags = data[0];
    int train = flags & 1, copies = train ? 1 + ((flags >> 1) & 3) : 1, limit = (int)(flags >> 3);
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    static const char *const names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    char path[PATH_MAX];
    for (int i = 0; i < 6; i++) fz_remove(names[i]);
    for (int i = 0; i < copies; i++)
        fz_write(train ? names[i] : names[5], body, len, 0, path, sizeof path);

    int bad = len == 0 || len % REC != 0;
    for (size_t r = 0; !bad && r < len / REC; r++) bad = body[r * REC] > 9;

    on_dataset d;
    on_error err;
    memset(&d, 0x5a, sizeof d);
    int rc = on_cifar_load(fz_tmpdir(), train, limit, &d, &err);
    if (rc) {
        if (rc != -1 || !bad) abort();
        fz_check_error(&err);
        fz_check_empty(&d);
        return 0;
    }
    if (bad) abort();
    size_t recs = len / REC;
    /* whole files are read until the limit is reached */
    size_t files = limit ? ((size_t)limit + recs - 1) / recs : (size_t)copies;
    if (files > (size_t)copies) files = (size_t)copies;
    size_t total = files * recs, want = limit && (size_t)limit < total ? (size_t)limit : total;
    if ((size_t)d.n != want || d.classes != 10) abort();
    if (d.shape.rank != 3 || d.shape.c != 3 || d.shape.h != 32 || d.shape.w != 32) abort();
    for (size_t i = 0; i < want; i++) {
        const uint8_t *rec = body + (i % recs) * REC;
        if (d.y[i] != rec[0]) abort();
        for (int j = 0; j < REC - 1; j++)
            if (d.x[i * (REC - 1) + j] != rec[1 + j] * (1.0f / 255)) abort();
    }
    on_dataset_free(&d);
    return 0;
}
