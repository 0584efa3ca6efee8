/* safetensors.c - see safetensors.h.
 *
 * Reading: the whole file is loaded, the header length is checked against the file size
 * and ON_ST_MAX_HEADER, the JSON is parsed by cJSON with an explicit length (the header
 * need not be NUL-terminated), and every entry is validated before any data is copied:
 * known dtype, at most ON_ST_MAX_DIMS non-negative integral dims, data_offsets two
 * integers with begin <= end <= size of the data section, and end - begin equal to
 * prod(shape) * dtype size, computed without overflow. Names must be unique.
 */
#include "safetensors.h"
#include "atomic.h"

#include "base/base.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_EXACT 9007199254740992.0 /* 2^53: larger JSON numbers are not exact doubles */

static const char *const dtype_names[] = {"F32", "I32", "I64"};
static const size_t dtype_bytes[] = {4, 4, 8};

struct on_st_file {
    on_st_tensor *t;
    int nt;
    int *order; /* tensor indices sorted by name, for lookups and the duplicate check */
    char **mkey, **mval;
    int nm;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ----- little-endian coding ----- */

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint32_t get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* ----- reading ----- */

void on_st_free(on_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->nt; i++) {
        free((char *)f->t[i].name);
        free((float *)f->t[i].f);
        free((int *)f->t[i].i);
    }
    for (int i = 0; i < f->nm; i++) {
        free(f->mkey[i]);
        free(f->mval[i]);
    }
    free(f->t);
    free(f->order);
    free(f->mkey);
    free(f->mval);
    free(f);
}

/* A JSON number that is a non-negative integer representable exactly. */
static int as_count(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return -1;
    double d = j->valuedouble;
    if (!(d >= 0) || d > MAX_EXACT || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int cmp_names_r(const on_st_file *f, int a, int b) {
    return strcmp(f->t[a].name, f->t[b].name);
}

/* Sort indices by name: a small merge sort (no global state, so the reader is reentrant). */
static void sort_order(const on_st_file *f, int *idx, int *tmp, int n) {
    if (n < 2) return;
    int h = n / 2;
    sort_order(f, idx, tmp, h);
    sort_order(f, idx + h, tmp, n - h);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = cmp_names_r(f, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, sizeof(int) * (size_t)n);
}

/* Validate one tensor entry and copy its data. Returns 0 or fills err. */
static int read_tensor(on_st_tensor *t, const cJSON *e, const unsigned char *data, uint64_t dsize,
                       const char *label, on_error *err) {
    const char *nm = t->name;
    if (!cJSON_IsObject(e))
        return on_fail(err, "%s: tensor '%.100s': entry is not a JSON object", label, nm);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(jd))
        return on_fail(err, "%s: tensor '%.100s': missing or non-string \"dtype\"", label, nm);
    t->dtype = -1;
    for (int k = 0; k < 3; k++)
        if (!strcmp(jd->valuestring, dtype_names[k])) t->dtype = k;
    if (t->dtype < 0)
        return on_fail(err, "%s: tensor '%.100s': dtype '%.20s' is not supported (F32, I32, I64)",
                       label, nm, jd->valuestring);
    if (!cJSON_IsArray(js))
        return on_fail(err, "%s: tensor '%.100s': missing or non-array \"shape\"", label, nm);
    int nd = cJSON_GetArraySize(js);
    if (nd > ON_ST_MAX_DIMS)
        return on_fail(err, "%s: tensor '%.100s': %d dimensions (at most %d)", label, nm, nd,
                       ON_ST_MAX_DIMS);
    t->ndims = nd;
    int zero = 0;
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, js) {
        uint64_t v;
        if (as_count(it, &v) || v > INT64_MAX)
            return on_fail(err, "%s: tensor '%.100s': shape entry %d is not a non-negative integer",
                           label, nm, k);
        t->dims[k++] = (int64_t)v;
        if (v == 0) zero = 1;
    }
    /* element count and byte count without overflow */
    uint64_t esz = dtype_bytes[t->dtype], count = 1;
    int overflow = 0;
    if (zero)
        count = 0;
    else
        for (k = 0; k < nd; k++) {
            uint64_t d = (uint64_t)t->dims[k];
            if (count > UINT64_MAX / d) {
                overflow = 1;
                break;
            }
            count *= d;
        }
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2)
        return on_fail(err, "%s: tensor '%.100s': \"data_offsets\" must be [begin, end]", label,
                       nm);
    uint64_t b, en;
    if (as_count(cJSON_GetArrayItem(jo, 0), &b) || as_count(cJSON_GetArrayItem(jo, 1), &en))
        return on_fail(err, "%s: tensor '%.100s': data_offsets are not non-negative integers",
                       label, nm);
    if (b > en)
        return on_fail(err, "%s: tensor '%.100s': data_offsets [%llu,%llu] begin after they end",
                       label, nm, (unsigned long long)b, (unsigned long long)en);
    if (en > dsize)
        return on_fail(err,
                       "%s: tensor '%.100s': data_offsets [%llu,%llu] outside the %llu-byte "
                       "data section",
                       label, nm, (unsigned long long)b, (unsigned long long)en,
                       (unsigned long long)dsize);
    if (overflow || count > UINT64_MAX / esz || count * esz > dsize || count > SIZE_MAX / esz)
        return on_fail(err,
                       "%s: tensor '%.100s': shape needs more bytes than the %llu-byte data "
                       "section holds",
                       label, nm, (unsigned long long)dsize);
    if (en - b != count * esz)
        return on_fail(err,
                       "%s: tensor '%.100s': shape of %llu %s values needs %llu bytes but "
                       "data_offsets [%llu,%llu] hold %llu",
                       label, nm, (unsigned long long)count, dtype_names[t->dtype],
                       (unsigned long long)(count * esz), (unsigned long long)b,
                       (unsigned long long)en, (unsigned long long)(en - b));
    t->size = (size_t)count;
    const unsigned char *p = data + b;
    size_t alloc = t->size ? t->size : 1;
    if (t->dtype == ON_ST_F32) {
        float *f = malloc(alloc * sizeof(float));
        if (!f) return on_fail(err, "%s: tensor '%.100s': out of memory", label, nm);
        for (size_t i = 0; i < t->size; i++) {
            uint32_t u = get_le32(p + 4 * i);
            memcpy(&f[i], &u, 4);
        }
        t->f = f;
    } else {
        int *v = malloc(alloc * sizeof(int));
        if (!v) return on_fail(err, "%s: tensor '%.100s': out of memory", label, nm);
        t->i = v;
        for (size_t i = 0; i < t->size; i++) {
            int64_t x = t->dtype == ON_ST_I32 ? (int64_t)(int32_t)get_le32(p + 4 * i)
                                              : (int64_t)get_le64(p + 8 * i);
            if (x < INT_MIN || x > INT_MAX)
                return on_fail(err,
                               "%s: tensor '%.100s': value %lld at index %zu does not fit "
                               "an int",
                               label, nm, (long long)x, i);
            v[i] = (int)x;
        }
    }
    return 0;
}

static int read_meta(on_st_file *f, const cJSON *meta, const char *label, on_error *err) {
    if (cJSON_IsNull(meta)) return 0;
    if (!cJSON_IsObject(meta))
        return on_fail(err, "%s: \"__metadata__\" is not a JSON object", label);
    int n = cJSON_GetArraySize(meta);
    f->mkey = calloc((size_t)n + 1, sizeof(char *));
    f->mval = calloc((size_t)n + 1, sizeof(char *));
    if (!f->mkey || !f->mval) return on_fail(err, "%s: out of memory", label);
    const cJSON *it;
    cJSON_ArrayForEach(it, meta) {
        if (!cJSON_IsString(it))
            return on_fail(err, "%s: metadata '%.100s' is not a string", label, it->string);
        for (int i = 0; i < f->nm; i++)
            if (!strcmp(f->mkey[i], it->string))
                return on_fail(err, "%s: metadata '%.100s' appears twice", label, it->string);
        f->mkey[f->nm] = dup_str(it->string);
        f->mval[f->nm] = dup_str(it->valuestring);
        f->nm++;
        if (!f->mkey[f->nm - 1] || !f->mval[f->nm - 1])
            return on_fail(err, "%s: out of memory", label);
    }
    return 0;
}

on_st_file *on_st_parse(const void *buf, size_t len, const char *label, on_error *err) {
    const unsigned char *b = buf;
    if (!label) label = "safetensors";
    if (len < 8) {
        on_fail(err, "%s: %zu bytes is too short for a safetensors file (8-byte header length)",
                label, len);
        return NULL;
    }
    uint64_t n = get_le64(b);
    if (n > len - 8) {
        on_fail(err,
                "%s: header length %llu is larger than the %zu bytes that follow it "
                "(truncated or not a safetensors file)",
                label, (unsigned long long)n, len - 8);
        return NULL;
    }
    if (n > ON_ST_MAX_HEADER) {
        on_fail(err, "%s: header length %llu exceeds the %llu-byte limit", label,
                (unsigned long long)n, (unsigned long long)ON_ST_MAX_HEADER);
        return NULL;
    }
    if (n < 2) {
        on_fail(err, "%s: header length %llu is too small for a JSON object", label,
                (unsigned long long)n);
        return NULL;
    }
    const char *hdr = (const char *)b + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + n ? (size_t)(end - hdr) : 0;
        on_fail(err, "%s: header is not valid JSON (error near byte %zu of %llu)", label, at,
                (unsigned long long)n);
        return NULL;
    }
    /* only spaces (the padding writers add) or NULs may follow the JSON value */
    for (const char *p = end; p && p < hdr + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != 0) {
            on_fail(err, "%s: unexpected bytes after the JSON header (at byte %zu of %llu)", label,
                    (size_t)(p - hdr), (unsigned long long)n);
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        on_fail(err, "%s: header is not a JSON object", label);
        cJSON_Delete(root);
        return NULL;
    }
    on_st_file *f = calloc(1, sizeof *f);
    int nent = cJSON_GetArraySize(root);
    if (f) {
        f->t = calloc((size_t)nent + 1, sizeof *f->t);
        f->order = calloc((size_t)nent + 1, sizeof(int));
    }
    if (!f || !f->t || !f->order) {
        on_fail(err, "%s: out of memory", label);
        goto fail;
    }
    const unsigned char *data = b + 8 + n;
    uint64_t dsize = (uint64_t)(len - 8 - (size_t)n);
    int nmeta = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        const char *key = e->string ? e->string : "";
        if (!strcmp(key, "__metadata__")) {
            if (nmeta++) {
                on_fail(err, "%s: \"__metadata__\" appears twice", label);
                goto fail;
            }
            if (read_meta(f, e, label, err)) goto fail;
            continue;
        }
        if (!*key) {
            on_fail(err, "%s: a tensor has an empty name", label);
            goto fail;
        }
        on_st_tensor *t = &f->t[f->nt];
        memset(t, 0, sizeof *t);
        t->name = dup_str(key);
        if (!t->name) {
            on_fail(err, "%s: out of memory", label);
            goto fail;
        }
        f->nt++;
        if (read_tensor(t, e, data, dsize, label, err)) goto fail;
    }
    /* names sorted, duplicates rejected */
    {
        int *tmp = malloc(sizeof(int) * ((size_t)f->nt + 1));
        if (!tmp) {
            on_fail(err, "%s: out of memory", label);
            goto fail;
        }
        for (int i = 0; i < f->nt; i++) f->order[i] = i;
        sort_order(f, f->order, tmp, f->nt);
        free(tmp);
        for (int i = 1; i < f->nt; i++)
            if (!strcmp(f->t[f->order[i]].name, f->t[f->order[i - 1]].name)) {
                on_fail(err, "%s: tensor '%.100s' appears twice", label, f->t[f->order[i]].name);
                goto fail;
            }
    }
    cJSON_Delete(root);
    return f;
fail:
    cJSON_Delete(root);
    on_st_free(f);
    return NULL;
}

on_st_file *on_st_read(const char *path, on_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        on_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        on_fail(err, "%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
        on_fail(err, "%s: file too large (%lld bytes)", path, (long long)st.st_size);
        fclose(fp);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        on_fail(err, "%s: out of memory reading %zu bytes", path, len);
        fclose(fp);
        return NULL;
    }
    size_t got = fread(buf, 1, len, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (got != len || rerr) {
        on_fail(err, "%s: read error (%zu of %zu bytes)", path, got, len);
        free(buf);
        return NULL;
    }
    on_st_file *f = on_st_parse(buf, len, path, err);
    free(buf);
    return f;
}

int on_st_count(const on_st_file *f) {
    return f->nt;
}
const char *on_st_name(const on_st_file *f, int i) {
    return i >= 0 && i < f->nt ? f->t[i].name : NULL;
}
const on_st_tensor *on_st_at(const on_st_file *f, int i) {
    return i >= 0 && i < f->nt ? &f->t[i] : NULL;
}

const on_st_tensor *on_st_find(const on_st_file *f, const char *name) {
    int lo = 0, hi = f->nt - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->t[f->order[mid]].name);
        if (!c) return &f->t[f->order[mid]];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const float *on_st_find_f32(const on_st_file *f, const char *name, int *ndims, int64_t *dims) {
    const on_st_tensor *t = on_st_find(f, name);
    if (!t || t->dtype != ON_ST_F32) return NULL;
    if (ndims) *ndims = t->ndims;
    if (dims) memcpy(dims, t->dims, sizeof t->dims);
    return t->f;
}

const char *on_st_meta(const on_st_file *f, const char *key) {
    for (int i = 0; i < f->nm; i++)
        if (!strcmp(f->mkey[i], key)) return f->mval[i];
    return NULL;
}
int on_st_meta_count(const on_st_file *f) {
    return f->nm;
}
const char *on_st_meta_key(const on_st_file *f, int i) {
    return i >= 0 && i < f->nm ? f->mkey[i] : NULL;
}

/* ----- writing ----- */

typedef struct wentry {
    char *name;
    int dtype, ndims;
    int64_t dims[ON_ST_MAX_DIMS];
    size_t nbytes;
    unsigned char *bytes; /* little-endian, as in the file */
} wentry;

struct on_st_writer {
    wentry *e;
    int n, cap;
    char **mkey, **mval;
    int nm, mcap;
};

on_st_writer *on_st_writer_new(void) {
    return calloc(1, sizeof(on_st_writer));
}

void on_st_writer_free(on_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].bytes);
    }
    for (int i = 0; i < w->nm; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->e);
    free(w->mkey);
    free(w->mval);
    free(w);
}

/* Common checks and a new entry with room for count elements of esz bytes. */
static wentry *add_entry(on_st_writer *w, const char *name, int dtype, int ndims,
                         const int64_t *dims, size_t *count, on_error *err) {
    if (!name || !*name || !strcmp(name, "__metadata__")) {
        on_fail(err, "safetensors: invalid tensor name '%s'", name ? name : "(null)");
        return NULL;
    }
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name)) {
            on_fail(err, "safetensors: tensor '%.100s' added twice", name);
            return NULL;
        }
    if (ndims < 0 || ndims > ON_ST_MAX_DIMS || (ndims > 0 && !dims)) {
        on_fail(err, "safetensors: tensor '%.100s': %d dimensions (0 to %d)", name, ndims,
                ON_ST_MAX_DIMS);
        return NULL;
    }
    size_t esz = dtype_bytes[dtype], c = 1;
    for (int k = 0; k < ndims; k++) {
        if (dims[k] < 0 || (double)dims[k] > MAX_EXACT) {
            on_fail(err, "safetensors: tensor '%.100s': bad dimension %lld", name,
                    (long long)dims[k]);
            return NULL;
        }
        if (dims[k] && c > SIZE_MAX / esz / (uint64_t)dims[k]) {
            on_fail(err, "safetensors: tensor '%.100s': too large", name);
            return NULL;
        }
        c *= (size_t)dims[k];
    }
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 16;
        wentry *ne = realloc(w->e, sizeof *ne * (size_t)nc);
        if (!ne) {
            on_fail(err, "safetensors: out of memory");
            return NULL;
        }
        w->e = ne;
        w->cap = nc;
    }
    wentry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->name = dup_str(name);
    e->bytes = malloc(c > 0 ? c * esz : 1);
    if (!e->name || !e->bytes) {
        free(e->name);
        free(e->bytes);
        on_fail(err, "safetensors: out of memory");
        return NULL;
    }
    e->dtype = dtype;
    e->ndims = ndims;
    for (int k = 0; k < ndims; k++) e->dims[k] = dims[k];
    e->nbytes = c * esz;
    *count = c;
    w->n++;
    return e;
}

int on_st_writer_add(on_st_writer *w, const char *name, const float *data, int ndims,
                     const int64_t *dims, on_error *err) {
    size_t c;
    wentry *e = add_entry(w, name, ON_ST_F32, ndims, dims, &c, err);
    if (!e) return -1;
    for (size_t i = 0; i < c; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        put_le32(e->bytes + 4 * i, u);
    }
    return 0;
}

int on_st_writer_add_int(on_st_writer *w, const char *name, const int *data, int ndims,
                         const int64_t *dims, on_error *err) {
    size_t c;
    wentry *e = add_entry(w, name, ON_ST_I64, ndims, dims, &c, err);
    if (!e) return -1;
    for (size_t i = 0; i < c; i++) put_le64(e->bytes + 8 * i, (uint64_t)(int64_t)data[i]);
    return 0;
}

int on_st_writer_meta(on_st_writer *w, const char *key, const char *value, on_error *err) {
    if (!key || !value) return on_fail(err, "safetensors: metadata key and value must not be NULL");
    for (int i = 0; i < w->nm; i++)
        if (!strcmp(w->mkey[i], key)) {
            char *v = dup_str(value);
            if (!v) return on_fail(err, "safetensors: out of memory");
            free(w->mval[i]);
            w->mval[i] = v;
            return 0;
        }
    if (w->nm == w->mcap) {
        int nc = w->mcap ? 2 * w->mcap : 8;
        char **k = realloc(w->mkey, sizeof *k * (size_t)nc);
        if (k) w->mkey = k;
        char **v = realloc(w->mval, sizeof *v * (size_t)nc);
        if (v) w->mval = v;
        if (!k || !v) return on_fail(err, "safetensors: out of memory");
        w->mcap = nc;
    }
    char *k = dup_str(key), *v = dup_str(value);
    if (!k || !v) {
        free(k);
        free(v);
        return on_fail(err, "safetensors: out of memory");
    }
    w->mkey[w->nm] = k;
    w->mval[w->nm] = v;
    w->nm++;
    return 0;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. NULL when out of memory. */
static char *make_header(const on_st_writer *w, size_t *len) {
    cJSON *root = cJSON_CreateObject(), *ok = root;
    if (root && w->nm) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        if (!meta) ok = NULL;
        for (int i = 0; ok && i < w->nm; i++)
            if (!cJSON_AddStringToObject(meta, w->mkey[i], w->mval[i])) ok = NULL;
    }
    uint64_t off = 0;
    for (int i = 0; ok && i < w->n; i++) {
        const wentry *e = &w->e[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name), *sh, *of;
        if (!t || !cJSON_AddStringToObject(t, "dtype", dtype_names[e->dtype]) ||
            !(sh = cJSON_AddArrayToObject(t, "shape")) ||
            !(of = cJSON_AddArrayToObject(t, "data_offsets"))) {
            ok = NULL;
            break;
        }
        for (int k = 0; k < e->ndims; k++) {
            cJSON *d = cJSON_CreateNumber((double)e->dims[k]);
            if (!d || !cJSON_AddItemToArray(sh, d)) ok = NULL;
        }
        cJSON *b = cJSON_CreateNumber((double)off),
              *en = cJSON_CreateNumber((double)(off + e->nbytes));
        if (!b || !cJSON_AddItemToArray(of, b) || !en || !cJSON_AddItemToArray(of, en)) ok = NULL;
        off += e->nbytes;
    }
    char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!s) return NULL;
    size_t n = strlen(s), padded = (n + 7) & ~(size_t)7;
    char *out = malloc(padded + 1);
    if (out) {
        memcpy(out, s, n);
        memset(out + n, ' ', padded - n);
        out[padded] = 0;
        *len = padded;
    }
    cJSON_free(s);
    return out;
}

int on_st_write(const on_st_writer *w, const char *path, on_error *err) {
    size_t hlen;
    char *hdr = make_header(w, &hlen);
    const void **parts = malloc(sizeof *parts * (size_t)(w->n + 2));
    size_t *lens = malloc(sizeof *lens * (size_t)(w->n + 2));
    if (!hdr || !parts || !lens) {
        free(hdr), free(parts), free(lens);
        return on_fail(err, "%s: out of memory building the header", path);
    }
    unsigned char lenb[8];
    put_le64(lenb, (uint64_t)hlen);
    parts[0] = lenb, lens[0] = 8;
    parts[1] = hdr, lens[1] = hlen;
    for (int i = 0; i < w->n; i++) parts[i + 2] = w->e[i].bytes, lens[i + 2] = w->e[i].nbytes;
    int rc = on_write_atomic(path, parts, lens, w->n + 2, err);
    free(hdr), free(parts), free(lens);
    return rc;
}
