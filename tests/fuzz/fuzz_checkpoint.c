/* fuzz_checkpoint.c - libFuzzer harness over on_checkpoint_load (safetensors layout, JSON
 * metadata, CRC-32 of the contents).
 *
 * Input: byte 0 flags, then the file. Flag bit 0 "re-sign": when the bytes parse as
 * safetensors, the harness rewrites them with a correct checksum before loading, so that
 * the code behind the checksum (the model definition, tensor shapes, normalization,
 * training configuration) is fuzzed too; without it nearly every mutation stops at the
 * checksum, as it should.
 *
 * Besides crashes, hangs and leaks, it stops when an error does not name the file, and
 * when a checkpoint loads although its checksum (recomputed here, independently, over
 * every metadata entry and every tensor) does not match, when a loaded tensor differs
 * from the file's, or when saving the loaded model and loading it again does not give
 * the same definition, tensors, epoch and classes. */
#include "fuzz_util.h"
#include "io/safetensors.h"

#include <limits.h>
#include <stdint.h>

typedef struct kv {
    const char *key;
    const void *data;
    size_t bytes;
} kv;

static int cmp_kv(const void *a, const void *b) {
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

/* The documented checksum: metadata sorted by key without "checksum" (key, NUL, value,
 * NUL), then the tensors sorted by name (name, NUL, float32 bytes). -1: not computable. */
static long long crc_of(const on_st_file *f) {
    int nm = on_st_meta_count(f), nt = on_st_count(f);
    kv *m = calloc((size_t)nm + 1, sizeof *m), *t = calloc((size_t)nt + 1, sizeof *t);
    if (!m || !t) abort();
    int k = 0;
    for (int i = 0; i < nm; i++) {
        const char *key = on_st_meta_key(f, i);
        if (strcmp(key, "checksum")) m[k++] = (kv){key, on_st_meta(f, key), 0};
    }
    nm = k;
    long long out = 0;
    for (int i = 0; i < nt; i++) {
        const on_st_tensor *s = on_st_at(f, i);
        if (!s->f) out = -1;
        t[i] = (kv){s->name, s->f, s->size * sizeof(float)};
    }
    if (!out) {
        qsort(m, (size_t)nm, sizeof *m, cmp_kv);
        qsort(t, (size_t)nt, sizeof *t, cmp_kv);
        uLong c = crc32(0L, Z_NULL, 0);
        for (int i = 0; i < nm; i++) {
            c = crc32(c, (const Bytef *)m[i].key, (uInt)strlen(m[i].key) + 1);
            c = crc32(c, (const Bytef *)m[i].data, (uInt)strlen(m[i].data) + 1);
        }
        for (int i = 0; i < nt; i++) {
            c = crc32(c, (const Bytef *)t[i].key, (uInt)strlen(t[i].key) + 1);
            c = crc32(c, (const Bytef *)t[i].data, (uInt)t[i].bytes);
        }
        out = (long long)c;
    }
    free(m);
    free(t);
    return out;
}

/* Rewrite f to path with a correct checksum. 0 when written. */
static int resign(const on_st_file *f, const char *path) {
    on_error err;
    on_st_writer *w = on_st_writer_new();
    if (!w) abort();
    int rc = 0;
    for (int i = 0; rc == 0 && i < on_st_meta_count(f); i++) {
        const char *key = on_st_meta_key(f, i);
        if (strcmp(key, "checksum")) rc = on_st_writer_meta(w, key, on_st_meta(f, key), &err);
    }
    for (int i = 0; rc == 0 && i < on_st_count(f); i++) {
        const on_st_tensor *s = on_st_at(f, i);
        rc = s->f ? on_st_writer_add(w, s->name, s->f, s->ndims, s->dims, &err)
                  : on_st_writer_add_int(w, s->name, s->i, s->ndims, s->dims, &err);
    }
    long long c = crc_of(f);
    char crc[32];
    snprintf(crc, sizeof crc, "crc32:%08llx", c < 0 ? 0ll : c);
    if (rc == 0) rc = on_st_writer_meta(w, "checksum", crc, &err);
    if (rc == 0) rc = on_st_write(w, path, &err);
    on_st_writer_free(w);
    return rc;
}

/* Every tensor of m equals the file's tensor of that name. */
static void same_tensors(on_model *m, const on_st_file *f) {
    for (int i = 0; i < on_model_num_tensors(m); i++) {
        const on_st_tensor *s = on_st_find(f, on_model_tensor_name(m, i));
        if (!s || !s->f || s->size != on_model_tensor_size(m, i)) abort();
        if (memcmp(s->f, on_model_tensor_data(m, i), s->size * sizeof(float))) abort();
    }
}

static void check_loaded(on_model *m, const on_checkpoint_info *info, const char *path) {
    on_error err;
    on_st_file *f = on_st_read(path, &err);
    if (!f) abort();
    const char *crc = on_st_meta(f, "checksum");
    long long c = crc_of(f);
    char want[32];
    snprintf(want, sizeof want, "crc32:%08llx", c);
    if (c < 0 || !crc || strcmp(crc, want)) abort(); /* accepted without a valid checksum */
    same_tensors(m, f);
    on_st_free(f);

    /* save and load again: the same model */
    char p2[PATH_MAX];
    fz_path("again.ckpt", p2, sizeof p2);
    if (on_checkpoint_save(m, p2, info, &err)) abort();
    on_checkpoint_info info2;
    on_model *m2 = on_checkpoint_load(p2, &info2, &err);
    if (!m2) abort();
    char *s1 = on_model_to_spec(m), *s2 = on_model_to_spec(m2);
    if (!s1 || !s2 || strcmp(s1, s2)) abort();
    free(s1);
    free(s2);
    if (info2.epoch != info->epoch || info2.classes != info->classes ||
        strcmp(info2.data, info->data))
        abort();
    if (on_model_num_tensors(m2) != on_model_num_tensors(m)) abort();
    for (int i = 0; i < on_model_num_tensors(m); i++)
        if (memcmp(on_model_tensor_data(m, i), on_model_tensor_data(m2, i),
                   on_model_tensor_size(m, i) * sizeof(float)))
            abort();
    on_model_free(m2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1 << 20)) return 0;
    char path[PATH_MAX];
    fz_write("model.ckpt", data + 1, size - 1, 0, path, sizeof path);
    on_error err;
    if (data[0] & 1) {
        on_st_file *f = on_st_parse(data + 1, size - 1, "fuzz", &err);
        if (!f) return 0;
        int rc = resign(f, path);
        on_st_free(f);
        if (rc) return 0;
    }
    on_checkpoint_info info;
    on_model *m = on_checkpoint_load(path, &info, &err);
    if (!m) {
        fz_check_error(&err);
        return 0;
    }
    check_loaded(m, &info, path);
    on_model_free(m);
    return 0;
}
