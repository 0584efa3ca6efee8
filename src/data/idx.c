/* idx.c - MNIST-layout IDX files (optionally gzipped): big-endian magic and sizes, then
 * unsigned bytes. Every size is checked before allocation and the file must hold exactly
 * the data its header announces. */
#include "../base/base.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Read the header (magic and dims) of an IDX file of unsigned bytes. */
static int short_header(gzFile f, const char *path, on_error *err) {
    int zerr;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK) return on_fail(err, "%s: damaged: %s", path, msg);
    return on_fail(err, "%s: truncated header (not an IDX file?)", path);
}

static int read_header(gzFile f, const char *path, int want_dims, int *dims, on_error *err) {
    unsigned char h[4];
    if (gzread(f, h, 4) != 4) return short_header(f, path, err);
    if (h[0] || h[1] || h[2] != 0x08 || h[3] != want_dims)
        return on_fail(err, "%s: bad magic %02x%02x%02x%02x, expected 000008%02x (IDX %s)", path,
                       h[0], h[1], h[2], h[3], want_dims, want_dims == 1 ? "labels" : "images");
    for (int i = 0; i < want_dims; i++) {
        unsigned char b[4];
        if (gzread(f, b, 4) != 4) return short_header(f, path, err);
        unsigned long v = (unsigned long)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        if (v == 0 || v > (1ul << 24))
            return on_fail(err, "%s: dimension %d is %lu, expected 1..%lu", path, i, v, 1ul << 24);
        dims[i] = (int)v;
    }
    return 0;
}

/* Read exactly len bytes, then expect end of file. The buffer grows with the data that
 * is really there, so a header announcing gigabytes in a small file costs no more than
 * the file (found by fuzzing: a 200-byte file asked for a 12 GB buffer). One byte more
 * than len is asked for, so that zlib checks a gzip stream's end: its trailer (CRC-32 and
 * length) must be there and match (found by fuzzing and the corruption script: damaged
 * or cut streams that still inflated to the announced size were accepted). malloc'd, or
 * NULL with err set. */
static unsigned char *read_body(gzFile f, const char *path, size_t len, on_error *err) {
    unsigned char *buf = NULL;
    size_t got = 0, cap = 0;
    int r = 1, zerr = Z_OK;
    while (r > 0 && got <= len) {
        if (got == cap) {
            size_t nc = cap ? 2 * cap : (size_t)1 << 20;
            if (nc > len + 1) nc = len + 1;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                on_fail(err, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        unsigned chunk = cap - got > (1u << 30) ? (1u << 30) : (unsigned)(cap - got);
        r = gzread(f, buf + got, chunk);
        if (r > 0) got += (size_t)r;
    }
    const char *msg = gzerror(f, &zerr);
    if (r < 0 || zerr != Z_OK || got != len) {
        if (got > len)
            on_fail(err, "%s: more data than the header announces", path);
        else
            on_fail(err, "%s: %s: %zu of %zu data bytes%s%s", path,
                    r < 0 || zerr != Z_OK ? "damaged" : "truncated", got, len,
                    zerr != Z_OK ? ": " : "", zerr != Z_OK ? msg : "");
        free(buf);
        return NULL;
    }
    return buf;
}

int on_idx_load(const char *images, const char *labels, int limit, on_dataset *out, on_error *err) {
    memset(out, 0, sizeof *out);
    gzFile fi = gzopen(images, "rb"), fl = NULL;
    unsigned char *px = NULL, *lb = NULL;
    int di[3], dl[3], rc = -1;
    if (!fi) {
        on_fail(err, "%s: cannot open", images);
        goto done;
    }
    if (labels && !(fl = gzopen(labels, "rb"))) {
        on_fail(err, "%s: cannot open", labels);
        goto done;
    }
    if (read_header(fi, images, 3, di, err) || (fl && read_header(fl, labels, 1, dl, err)))
        goto done;
    if (!fl) dl[0] = di[0];
    if (di[0] != dl[0]) {
        on_fail(err, "%s has %d images but %s has %d labels", images, di[0], labels, dl[0]);
        goto done;
    }
    size_t per = (size_t)di[1] * di[2], n = (size_t)di[0];
    if (per > (1u << 24) || n * per > (size_t)1 << 34) {
        on_fail(err, "%s: %zu images of %dx%d is too large", images, n, di[1], di[2]);
        goto done;
    }
    if (!(px = read_body(fi, images, n * per, err))) goto done;
    if (fl ? !(lb = read_body(fl, labels, n, err)) : !(lb = calloc(n, 1))) {
        if (!fl) on_fail(err, "%s: out of memory", images);
        goto done;
    }
    size_t keep = limit > 0 && (size_t)limit < n ? (size_t)limit : n;
    out->x = malloc(sizeof(float) * keep * per);
    out->y = malloc(sizeof(int) * keep);
    if (!out->x || !out->y) {
        on_fail(err, "%s: out of memory", images);
        goto done;
    }
    int maxl = 0;
    for (size_t i = 0; i < keep; i++) {
        out->y[i] = lb[i];
        if (lb[i] > maxl) maxl = lb[i];
    }
    for (size_t i = 0; i < keep * per; i++) out->x[i] = px[i] * (1.0f / 255.0f);
    out->n = (int)keep;
    out->classes = maxl + 1;
    out->shape = (on_shape){3, 1, di[1], di[2]};
    rc = 0;
done:
    if (fi) gzclose(fi);
    if (fl) gzclose(fl);
    free(px);
    free(lb);
    if (rc) on_dataset_free(out);
    return rc;
}

void on_dataset_free(on_dataset *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}
