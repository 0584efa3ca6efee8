/* npy.c - float arrays in NumPy's .npy format (versions 1.0 to 3.0), for `ordnet run` and
 * for tests that compare against other frameworks.
 *
 * A .npy file is the magic "\x93NUMPY", a version, a header length, a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded to a multiple of 64
 * bytes, then the raw data. The reader takes little-endian float32 or float64 (converted to
 * float) in C order, and int32 or int64 (token ids for an embedding: converted to float,
 * exactly, so an integer beyond +-2^24 is an error naming its position and value, never a
 * rounded id); every length and the product of the shape are checked against the file
 * before anything is copied, so a damaged file gives an error, never a crash.
 */
#include "atomic.h"
#include "base/base.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NPY_MAX_BYTES ((size_t)1 << 34) /* 16 GiB: a larger array is refused */
#define ON_NPY_MAX_INT (1 << 24)        /* every integer up to it is exactly a float32 */

void on_array_free(on_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ----- the header dict ----- */

typedef struct hdr {
    const char *s;
    size_t n, pos;
} hdr;

static void ws(hdr *h) {
    while (h->pos < h->n && isspace((unsigned char)h->s[h->pos])) h->pos++;
}
static int eat(hdr *h, char c) {
    ws(h);
    if (h->pos < h->n && h->s[h->pos] == c) {
        h->pos++;
        return 1;
    }
    return 0;
}
/* A quoted Python string into out (at most len-1 characters kept). */
static int str_lit(hdr *h, char *out, size_t len) {
    ws(h);
    if (h->pos >= h->n || (h->s[h->pos] != '\'' && h->s[h->pos] != '"')) return -1;
    char q = h->s[h->pos++];
    size_t k = 0;
    while (h->pos < h->n && h->s[h->pos] != q) {
        if (k + 1 < len) out[k++] = h->s[h->pos];
        h->pos++;
    }
    out[k] = 0;
    return h->pos < h->n ? (h->pos++, 0) : -1;
}

static int parse_header(hdr *h, char *descr, int *fortran, on_array *a, const char *path,
                        on_error *err) {
    int have[3] = {0, 0, 0};
    if (!eat(h, '{')) return on_fail(err, "%s: the .npy header is not a dict", path);
    while (!eat(h, '}')) {
        char key[32];
        if (str_lit(h, key, sizeof key) || !eat(h, ':'))
            return on_fail(err, "%s: malformed .npy header near byte %zu", path, h->pos);
        ws(h);
        if (!strcmp(key, "descr")) {
            if (str_lit(h, descr, 16)) return on_fail(err, "%s: 'descr' is not a string", path);
            have[0] = 1;
        } else if (!strcmp(key, "fortran_order")) {
            const char *v = h->s + h->pos;
            size_t left = h->n - h->pos;
            if (left >= 4 && !memcmp(v, "True", 4))
                *fortran = 1, h->pos += 4;
            else if (left >= 5 && !memcmp(v, "False", 5))
                *fortran = 0, h->pos += 5;
            else
                return on_fail(err, "%s: 'fortran_order' is not True or False", path);
            have[1] = 1;
        } else if (!strcmp(key, "shape")) {
            if (!eat(h, '(')) return on_fail(err, "%s: 'shape' is not a tuple", path);
            a->ndim = 0;
            while (!eat(h, ')')) {
                ws(h);
                if (a->ndim == ON_ARRAY_MAX_DIMS)
                    return on_fail(err, "%s: more than %d dimensions", path, ON_ARRAY_MAX_DIMS);
                int64_t d = 0;
                size_t digits = 0;
                while (h->pos < h->n && isdigit((unsigned char)h->s[h->pos]) && digits < 13) {
                    d = d * 10 + (h->s[h->pos++] - '0');
                    digits++;
                }
                if (!digits) return on_fail(err, "%s: 'shape' holds a non-number", path);
                a->dims[a->ndim++] = d;
                eat(h, ',');
                eat(h, 'L'); /* Python 2 longs */
            }
            have[2] = 1;
        } else {
            return on_fail(err, "%s: unknown key '%s' in the .npy header", path, key);
        }
        eat(h, ',');
    }
    if (!have[0] || !have[1] || !have[2])
        return on_fail(err, "%s: the .npy header lacks '%s'", path,
                       !have[0]   ? "descr"
                       : !have[1] ? "fortran_order"
                                  : "shape");
    return 0;
}

/* "[2, 5]": the position of flat index i in a's C order, for messages. */
static void index_str(const on_array *a, size_t i, char *buf, size_t len) {
    int64_t at[ON_ARRAY_MAX_DIMS];
    for (int d = a->ndim - 1; d >= 0; d--) {
        at[d] = a->dims[d] ? (int64_t)(i % (size_t)a->dims[d]) : 0;
        i = a->dims[d] ? i / (size_t)a->dims[d] : 0;
    }
    size_t l = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < a->ndim && l < len; d++)
        l += (size_t)snprintf(buf + l, len - l, "%s%lld", d ? ", " : "", (long long)at[d]);
    if (l < len) snprintf(buf + l, len - l, "]");
}

int on_npy_parse(const void *buf, size_t len, const char *path, on_array *out, on_error *err) {
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6))
        return on_fail(err, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
    int major = b[6];
    size_t hl, off;
    if (major == 1) {
        hl = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return on_fail(err, "%s: truncated .npy header", path);
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        return on_fail(err, "%s: .npy format version %d is not supported (1 to 3 are)", path,
                       major);
    }
    if (hl > len - off) return on_fail(err, "%s: truncated .npy header", path);
    char descr[16] = "";
    int fortran = 0;
    hdr h = {(const char *)b + off, hl, 0};
    if (parse_header(&h, descr, &fortran, out, path, err)) return -1;
    int integer = !strcmp(descr, "<i4") || !strcmp(descr, "<i8");
    size_t item = !strcmp(descr, "<f4") || !strcmp(descr, "<i4")   ? 4
                  : !strcmp(descr, "<f8") || !strcmp(descr, "<i8") ? 8
                                                                   : 0;
    if (!item)
        return on_fail(err,
                       "%s: dtype '%s' is not supported: save the array as float32 ('<f4'), or "
                       "token ids as int64 ('<i8') or int32 ('<i4')",
                       path, descr);
    if (fortran)
        return on_fail(err,
                       "%s: Fortran-order arrays are not supported: save with "
                       "np.ascontiguousarray",
                       path);
    size_t count = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->dims[i] && count > NPY_MAX_BYTES / 8 / (size_t)out->dims[i])
            return on_fail(err, "%s: the array is too large", path);
        count *= (size_t)out->dims[i];
    }
    size_t data = off + hl, need = count * item;
    if (len - data != need)
        return on_fail(err, "%s: the shape needs %zu bytes of data, the file has %zu", path, need,
                       len - data);
    out->size = count;
    out->data = malloc(sizeof(float) * (count ? count : 1));
    if (!out->data) return on_fail(err, "%s: out of memory for %zu floats", path, count);
    const unsigned char *p = b + data;
    for (size_t i = 0; i < count; i++, p += item) {
        if (integer) {
            uint64_t u = 0;
            for (int k = (int)item - 1; k >= 0; k--) u = u << 8 | p[k];
            int64_t v = item == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
            if (v > ON_NPY_MAX_INT || v < -ON_NPY_MAX_INT) {
                char at[200];
                index_str(out, i, at, sizeof at);
                on_array_free(out);
                return on_fail(err,
                               "%s: the integer %lld at %s is not exactly a float32 (ordnet reads "
                               "integers up to +-%d)",
                               path, (long long)v, at, ON_NPY_MAX_INT);
            }
            out->data[i] = (float)v;
        } else if (item == 4) {
            uint32_t u =
                (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&out->data[i], &u, 4);
        } else {
            uint64_t u = 0;
            for (int k = 7; k >= 0; k--) u = u << 8 | p[k];
            double d;
            memcpy(&d, &u, 8);
            out->data[i] = (float)d;
        }
    }
    return 0;
}

int on_npy_load(const char *path, on_array *out, on_error *err) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return on_fail(err, "%s: %s", path, strerror(errno));
    unsigned char *buf = NULL;
    long len = -1;
    if (!fseek(f, 0, SEEK_END)) len = ftell(f);
    if (len < 0 || (size_t)len > NPY_MAX_BYTES || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return on_fail(err, "%s: cannot read it (or it is larger than 16 GiB)", path);
    }
    buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        return on_fail(err, "%s: read error", path);
    }
    fclose(f);
    int rc = on_npy_parse(buf, (size_t)len, path, out, err);
    free(buf);
    if (rc) on_array_free(out);
    return rc;
}

/* The .npy header of a float32 array of dims[0..ndim) into head (at most 266 bytes); its
 * length, or -1 with err. *count: the number of floats. */
static int npy_header(unsigned char *head, int ndim, const int64_t *dims, size_t *count,
                      const char *path, on_error *err) {
    if (ndim < 0 || ndim > ON_ARRAY_MAX_DIMS)
        return on_fail(err, "%s: %d dimensions (0 to %d allowed)", path, ndim, ON_ARRAY_MAX_DIMS);
    char h[256];
    int n = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    *count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return on_fail(err, "%s: negative dimension", path);
        n += snprintf(h + n, sizeof h - (size_t)n, "%lld,%s", (long long)dims[i],
                      i + 1 < ndim ? " " : "");
        *count *= (size_t)dims[i];
    }
    if (ndim > 1) n--; /* (2, 3) rather than (2, 3,); one dimension keeps the comma */
    n += snprintf(h + n, sizeof h - (size_t)n, "), }");
    /* pad with spaces so that magic + length + header is a multiple of 64, end with \n */
    int total = ((10 + n + 1) + 63) / 64 * 64;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    int hl = total - 10;
    head[8] = (unsigned char)(hl & 255);
    head[9] = (unsigned char)(hl >> 8);
    memcpy(head + 10, h, (size_t)n);
    memset(head + 10 + n, ' ', (size_t)(hl - n - 1));
    head[total - 1] = '\n';
    /* little-endian float32: the host order on every machine ordnet builds for, checked */
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return on_fail(err, "%s: writing .npy on a big-endian machine is not supported", path);
    return total;
}

int on_npy_save(const char *path, const float *data, int ndim, const int64_t *dims, on_error *err) {
    unsigned char head[10 + 256];
    size_t count;
    int total = npy_header(head, ndim, dims, &count, path, err);
    if (total < 0) return -1;
    const void *parts[2] = {head, data};
    size_t lens[2] = {(size_t)total, count * sizeof(float)};
    return on_write_atomic(path, parts, lens, 2, err);
}

static void le16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
}
static void le32(unsigned char *p, uint32_t v) {
    le16(p, v & 0xffff), le16(p + 2, v >> 16);
}

/* A .npz is a zip archive of NAME.npy members, stored (numpy.savez): each member a local
 * header and its bytes, then the central directory and its end record. */
int on_npz_save(const char *path, int n, const char *const *names, const on_array *arrays,
                on_error *err) {
    if (n < 1 || n > 1024) return on_fail(err, "%s: %d arrays (1 to 1024)", path, n);
    int np = 4 * n + 2, rc = -1;
    const void **parts = calloc((size_t)np, sizeof *parts);
    size_t *lens = calloc((size_t)np, sizeof *lens);
    /* per array: local header + name, .npy header; then the central directory */
    unsigned char *hdr = calloc((size_t)n * (30 + 128 + 266 + 46 + 128) + 22, 1), *cd = NULL;
    if (!parts || !lens || !hdr) {
        on_fail(err, "%s: out of memory", path);
        goto done;
    }
    unsigned char *end;
    size_t off = 0, cdlen = 0;
    cd = hdr + (size_t)n * (30 + 266 + 128);
    for (int k = 0; k < n; k++) {
        unsigned char *lh = hdr + (size_t)k * (30 + 266 + 128), *nh = lh + 30 + 128;
        char fn[128];
        int fl = snprintf(fn, sizeof fn, "%s.npy", names[k]);
        if (fl < 5 || fl >= (int)sizeof fn || strchr(names[k], '/')) {
            on_fail(err, "%s: array name '%.60s' is empty, too long or has a '/'", path, names[k]);
            goto done;
        }
        size_t count;
        int hl = npy_header(nh, arrays[k].ndim, arrays[k].dims, &count, path, err);
        if (hl < 0) goto done;
        if (count != arrays[k].size) {
            on_fail(err, "%s: array '%s' has %zu values for its dimensions' %zu", path, names[k],
                    arrays[k].size, count);
            goto done;
        }
        size_t size = (size_t)hl + count * sizeof(float);
        if (size >= 0xffffffffu || off >= 0xffffffffu - size - 30 - 128) {
            on_fail(err, "%s: over 4 GiB (zip64 is not written)", path);
            goto done;
        }
        uint32_t crc = (uint32_t)crc32(crc32(0L, nh, (uInt)hl), (const Bytef *)arrays[k].data,
                                       (uInt)(count * sizeof(float)));
        /* local header: signature, version 2.0, flags, stored, time, date 1980-01-01 */
        le32(lh, 0x04034b50), le16(lh + 4, 20), le16(lh + 6, 0), le16(lh + 8, 0);
        le16(lh + 10, 0), le16(lh + 12, 0x21), le32(lh + 14, crc);
        le32(lh + 18, (uint32_t)size), le32(lh + 22, (uint32_t)size);
        le16(lh + 26, (unsigned)fl), le16(lh + 28, 0);
        memcpy(lh + 30, fn, (size_t)fl);
        parts[3 * k] = lh, lens[3 * k] = 30 + (size_t)fl;
        parts[3 * k + 1] = nh, lens[3 * k + 1] = (size_t)hl;
        parts[3 * k + 2] = arrays[k].data, lens[3 * k + 2] = count * sizeof(float);
        /* its central directory entry */
        unsigned char *c = cd + cdlen;
        le32(c, 0x02014b50), le16(c + 4, 20), le16(c + 6, 20);
        memcpy(c + 8, lh + 6, 24); /* flags .. name length, as in the local header */
        le16(c + 32, 0), le16(c + 34, 0), le16(c + 36, 0), le32(c + 38, 0);
        le32(c + 42, (uint32_t)off);
        memcpy(c + 46, fn, (size_t)fl);
        le16(c + 30, 0); /* extra length */
        cdlen += 46 + (size_t)fl;
        off += 30 + (size_t)fl + size;
    }
    end = cd + cdlen;
    le32(end, 0x06054b50), le16(end + 4, 0), le16(end + 6, 0);
    le16(end + 8, (unsigned)n), le16(end + 10, (unsigned)n);
    le32(end + 12, (uint32_t)cdlen), le32(end + 16, (uint32_t)off), le16(end + 20, 0);
    parts[3 * n] = cd, lens[3 * n] = cdlen + 22;
    rc = on_write_atomic(path, parts, lens, 3 * n + 1, err);
done:
    free(parts);
    free(lens);
    free(hdr);
    return rc;
}
