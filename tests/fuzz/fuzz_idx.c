/* fuzz_idx.c - libFuzzer harness over on_idx_load (MNIST-layout IDX images and labels,
 * plain or gzipped).
 *
 * Input: byte 0 flags (bit 0: gzip the images, bit 1: gzip the labels, bit 2: no label
 * file, bits 3-5: limit 0..7), bytes 1-2 the images' length L (little-endian, clipped),
 * then L bytes of the image file and the rest as the label file. Bytes that already start
 * like gzip are written as they are, so real .gz slices exercise zlib's checks.
 *
 * Besides crashes, hangs and leaks, it stops when a failed load leaves data behind or
 * gives an error that does not name the file, and when a load succeeds but disagrees with
 * the files: a gzip stream that is damaged (zlib's own inflate, CRC-32 and length), the
 * header's sizes, the exact file length, every pixel (byte / 255), every label, the class
 * count (largest label + 1) and the limit. */
#include "fuzz_util.h"

#include <limits.h>
#include <stdint.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The first gzip member of p: 1 and *out (malloc'd) when it inflates to its end with a good
 * CRC-32 and length, *whole set when nothing follows it; 0 when it is damaged. */
static int gunzip(const uint8_t *p, size_t n, uint8_t **out, size_t *outlen, int *whole) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) abort();
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    int r;
    do {
        if (len == cap) {
            if (cap >= (size_t)1 << 26) break; /* more than the reader would take */
            buf = realloc(buf, cap *= 2);
            if (!buf) abort();
        }
        z.next_out = buf + len;
        z.avail_out = (uInt)(cap - len);
        r = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
    } while (r == Z_OK);
    *whole = r == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return 0;
    }
    *out = buf;
    *outlen = len;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3 || size > (1 << 20)) return 0;
    unsigned flags = data[0];
    size_t split = (size_t)data[1] | (size_t)data[2] << 8;
    const uint8_t *img = data + 3, *lab;
    size_t nimg = size - 3, nlab;
    if (split < nimg) nimg = split;
    lab = img + nimg;
    nlab = size - 3 - nimg;
    int gz_img = flags & 1, gz_lab = (flags >> 1) & 1, no_labels = (flags >> 2) & 1;
    int limit = (flags >> 3) & 7;
    char pi[PATH_MAX], pl[PATH_MAX];
    fz_write("images", img, nimg, gz_img, pi, sizeof pi);
    if (no_labels)
        fz_remove("labels");
    else
        fz_write("labels", lab, nlab, gz_lab, pl, sizeof pl);

    on_dataset d;
    on_error err;
    memset(&d, 0x5a, sizeof d);
    int rc = on_idx_load(pi, no_labels ? NULL : pl, limit, &d, &err);
    if (rc) {
        if (rc != -1) abort();
        fz_check_error(&err);
        fz_check_empty(&d);
        return 0;
    }
    /* The files as the reader saw them: the bytes, or what a gzip stream inflates to (which
     * must then have been intact: a damaged stream must not load). */
    uint8_t *img_z = NULL, *lab_z = NULL;
    int img_raw = 1, lab_raw = 1;
    if (nimg >= 2 && img[0] == 0x1f && img[1] == 0x8b) {
        size_t n;
        if (!gunzip(img, nimg, &img_z, &n, &img_raw)) abort();
        if (img_raw) img = img_z, nimg = n;
    }
    if (!no_labels && nlab >= 2 && lab[0] == 0x1f && lab[1] == 0x8b) {
        size_t n;
        if (!gunzip(lab, nlab, &lab_z, &n, &lab_raw)) abort();
        if (lab_raw) lab = lab_z, nlab = n;
    }
    if (d.n < 1 || !d.x || !d.y) abort();
    if (limit && d.n > limit) abort();
    if (d.shape.rank != 3 || d.shape.c != 1 || d.shape.h < 1 || d.shape.w < 1) abort();
    if (d.classes < 1 || d.classes > 256) abort();
    size_t per = (size_t)d.shape.h * (size_t)d.shape.w;
    if (img_raw) {
        if (nimg < 16 || be32(img) != 0x803) abort();
        size_t n = be32(img + 4);
        if (be32(img + 8) != (uint32_t)d.shape.h || be32(img + 12) != (uint32_t)d.shape.w) abort();
        if (nimg != 16 + n * per) abort(); /* exactly the data the header announces */
        if ((size_t)d.n != (limit && (size_t)limit < n ? (size_t)limit : n)) abort();
        for (size_t i = 0; i < (size_t)d.n * per; i++)
            if (d.x[i] != img[16 + i] * (1.0f / 255.0f)) abort();
    }
    int maxl = 0;
    for (int i = 0; i < d.n; i++) {
        if (d.y[i] < 0 || d.y[i] >= d.classes) abort();
        if (d.y[i] > maxl) maxl = d.y[i];
    }
    if (d.classes != maxl + 1) abort();
    if (no_labels) {
        if (maxl != 0) abort();
    } else if (lab_raw) {
        if (nlab < 8 || be32(lab) != 0x801 || nlab != 8 + (size_t)be32(lab + 4)) abort();
        for (int i = 0; i < d.n; i++)
            if (d.y[i] != lab[8 + i]) abort();
    }
    for (size_t i = 0; i < (size_t)d.n * per; i++)
        if (!(d.x[i] >= 0 && d.x[i] <= 1)) abort();
    on_dataset_free(&d);
    free(img_z);
    free(lab_z);
    return 0;
}
