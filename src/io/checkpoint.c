/* checkpoint.c - a trained model in one file, in the safetensors layout: every tensor
 * under its layer's name (Python users open it with the `safetensors` package), and in
 * the header's metadata the model definition (compact form), the training configuration,
 * the epoch reached, the normalization statistics, the data set and a CRC-32 of all the
 * rest, so a damaged file never loads silently wrong. The optimizer's state travels as
 * one more tensor, "optimizer.state", so --resume continues bit for bit.
 */
#include "../graph.h"
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FORMAT "ordnet-checkpoint-1"

static const char *const opt_names[] = {"sgd", "adamw"};
static const char *const sched_names[] = {"const", "step", "cosine", "onecycle"};

static char *config_json(const on_train_cfg *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epochs", c->epochs);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddStringToObject(o, "opt", opt_names[c->opt & 1]);
    cJSON_AddStringToObject(o, "schedule", sched_names[c->schedule & 3]);
    cJSON_AddNumberToObject(o, "lr", c->lr);
    cJSON_AddNumberToObject(o, "wd", c->wd);
    cJSON_AddNumberToObject(o, "momentum", c->momentum);
    cJSON_AddNumberToObject(o, "nesterov", c->nesterov);
    cJSON_AddNumberToObject(o, "label_smoothing", c->smoothing);
    cJSON_AddNumberToObject(o, "clip", c->clip);
    cJSON_AddNumberToObject(o, "augment", c->augment);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int config_parse(const char *text, on_train_cfg *c) {
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    *c = on_train_defaults();
#define NUM(key, field, type)                                                                      \
    do {                                                                                           \
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);                                       \
        if (cJSON_IsNumber(v)) c->field = (type)v->valuedouble;                                    \
    } while (0)
    NUM("epochs", epochs, int);
    NUM("batch", batch, int);
    NUM("lr", lr, float);
    NUM("wd", wd, float);
    NUM("momentum", momentum, float);
    NUM("nesterov", nesterov, int);
    NUM("label_smoothing", smoothing, float);
    NUM("clip", clip, float);
    NUM("augment", augment, int);
#undef NUM
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "opt");
    for (int i = 0; i < 2; i++)
        if (cJSON_IsString(v) && !strcmp(v->valuestring, opt_names[i])) c->opt = i;
    v = cJSON_GetObjectItemCaseSensitive(o, "schedule");
    for (int i = 0; i < 4; i++)
        if (cJSON_IsString(v) && !strcmp(v->valuestring, sched_names[i])) c->schedule = i;
    v = cJSON_GetObjectItemCaseSensitive(o, "seed");
    if (cJSON_IsString(v)) c->seed = strtoull(v->valuestring, NULL, 10);
    cJSON_Delete(o);
    return 0;
}

/* CRC-32 over the metadata (sorted by key, without "checksum") and every tensor (name,
 * then bytes) in name order: independent of how the header happens to be laid out. */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct item {
    const char *key;
    const void *data;
    size_t bytes;
} item;

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const item *)a)->key, ((const item *)b)->key);
}

static unsigned long checksum(item *meta, int nm, item *tensors, int nt) {
    uLong crc = crc32(0L, Z_NULL, 0);
    qsort(meta, (size_t)nm, sizeof *meta, cmp_item);
    qsort(tensors, (size_t)nt, sizeof *tensors, cmp_item);
    for (int i = 0; i < nm; i++) {
        if (!strcmp(meta[i].key, "checksum")) continue;
        crc = crc32(crc, (const Bytef *)meta[i].key, (uInt)strlen(meta[i].key) + 1);
        crc = crc32(crc, (const Bytef *)meta[i].data, (uInt)meta[i].bytes + 1);
    }
    for (int i = 0; i < nt; i++) {
        crc = crc32(crc, (const Bytef *)tensors[i].key, (uInt)strlen(tensors[i].key) + 1);
        const unsigned char *p = tensors[i].data;
        for (size_t left = tensors[i].bytes; left;) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            crc = crc32(crc, p, chunk);
            p += chunk;
            left -= chunk;
        }
    }
    (void)cmp_str;
    return crc;
}

/* The declared outputs (on_model_set_output: an ONNX graph's names, dimensions and further
 * outputs) as JSON [{"layer", "name", "dims"}, ...]; NULL when there are none. */
static char *outputs_json(const on_model *m) {
    if (!m->nout) return NULL;
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < on_model_num_outputs(m); k++) {
        cJSON *o = cJSON_CreateObject();
        int64_t d[ON_ARRAY_MAX_DIMS];
        int nd = on_model_output_dims(m, k, d);
        cJSON *dims = cJSON_CreateArray();
        for (int i = 0; i < nd; i++) cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)d[i]));
        cJSON_AddStringToObject(o, "layer", on_model_node_name(m, on_model_output_node(m, k)));
        cJSON_AddStringToObject(o, "name", on_model_output_name(m, k));
        cJSON_AddItemToObject(o, "dims", dims);
        cJSON_AddItemToArray(a, o);
    }
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* Declares the outputs that outputs_json wrote. */
static int outputs_parse(on_model *m, const char *json, const char *path, on_error *err) {
    cJSON *a = cJSON_Parse(json);
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1, rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        cJSON *o = cJSON_GetArrayItem(a, k), *dims = cJSON_GetObjectItemCaseSensitive(o, "dims");
        const char *layer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "layer"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
        int node = -1, nd = cJSON_GetArraySize(dims);
        for (int i = 0; layer && i < m->nn; i++)
            if (!strcmp(m->nodes[i].name, layer)) node = i;
        int64_t d[ON_ARRAY_MAX_DIMS];
        for (int i = 0; i < nd && i < ON_ARRAY_MAX_DIMS; i++) {
            double v = cJSON_GetArrayItem(dims, i)->valuedouble;
            d[i] = v >= 1 && v < (1 << 28) ? (int64_t)v : 0;
        }
        on_error e2;
        if (node < 0 || !cJSON_IsArray(dims) || on_model_set_output(m, k, node, name, nd, d, &e2))
            rc = on_fail(err, "%s: metadata 'outputs': output %d is not valid%s%s", path, k,
                         node < 0 ? " (no such layer)" : ": ", node < 0 ? "" : e2.msg);
    }
    if (n < 0) rc = on_fail(err, "%s: metadata 'outputs' is not a JSON array", path);
    cJSON_Delete(a);
    return rc;
}

int on_checkpoint_save(const on_model *m, const char *path, const on_checkpoint_info *info,
                       on_error *err) {
    on_st_writer *w = on_st_writer_new();
    if (!w) return on_fail(err, "%s: out of memory", path);
    int rc = -1, nmeta = 0;
    char *spec = on_model_to_spec(m), *cfg = info ? config_json(&info->cfg) : NULL;
    char *norm = NULL, epoch[32], classes[32], *outs = outputs_json(m);
    item meta[16], tens[1024];
    int nt = 0;
    if (!spec) {
        on_fail(err, "%s: out of memory", path);
        goto done;
    }
    if (m->norm) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "mean", cJSON_CreateFloatArray(m->norm, m->input.c));
        cJSON_AddItemToObject(o, "std", cJSON_CreateFloatArray(m->norm + m->input.c, m->input.c));
        norm = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
    }
    snprintf(epoch, sizeof epoch, "%d", info ? info->epoch : 0);
    snprintf(classes, sizeof classes, "%d", info ? info->classes : 0);
    const char *kv[][2] = {{"format", FORMAT},
                           {"model", spec},
                           {"train_config", cfg},
                           {"epoch", epoch},
                           {"classes", classes},
                           {"normalization", norm},
                           {"data", info ? info->data : NULL},
                           {"outputs", outs}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        if (!kv[i][1]) continue;
        if (on_st_writer_meta(w, kv[i][0], kv[i][1], err)) goto done;
        meta[nmeta++] = (item){kv[i][0], kv[i][1], strlen(kv[i][1])};
    }
    for (int i = 0; i < m->nt && nt < 1023; i++) {
        const on_tensor *t = &m->tensors[i];
        int64_t dims[4];
        for (int k = 0; k < t->d.ndims; k++) dims[k] = t->d.dims[k];
        const float *d = on_tensor_ptr((on_model *)m, i);
        if (on_st_writer_add(w, t->name, d, t->d.ndims, dims, err)) goto done;
        tens[nt++] = (item){t->name, d, t->d.size * sizeof(float)};
    }
    if (m->opt_state && m->np) {
        int64_t n = (int64_t)(2 * m->np);
        if (on_st_writer_add(w, "optimizer.state", m->opt_state, 1, &n, err)) goto done;
        tens[nt++] = (item){"optimizer.state", m->opt_state, 2 * m->np * sizeof(float)};
    }
    if (m->nt >= 1023) {
        on_fail(err, "%s: too many tensors", path);
        goto done;
    }
    char crc[32];
    snprintf(crc, sizeof crc, "crc32:%08lx", checksum(meta, nmeta, tens, nt));
    if (on_st_writer_meta(w, "checksum", crc, err) || on_st_write(w, path, err)) goto done;
    rc = 0;
done:
    free(spec);
    free(cfg);
    free(norm);
    free(outs);
    on_st_writer_free(w);
    return rc;
}

on_model *on_checkpoint_load(const char *path, on_checkpoint_info *info, on_error *err) {
    on_error e2;
    on_st_file *f = on_st_read(path, err);
    if (!f) return NULL;
    on_model *m = NULL;
    const char *fmt = on_st_meta(f, "format"), *spec = on_st_meta(f, "model");
    const char *crc = on_st_meta(f, "checksum");
    if (!fmt || strcmp(fmt, FORMAT) || !spec) {
        on_fail(err, "%s: not an ordnet checkpoint (metadata 'format' is %s%s%s)", path,
                fmt ? "'" : "missing", fmt ? fmt : "", fmt ? "'" : "");
        goto fail;
    }
    /* every entry must be covered by the checksum: more than it can cover is refused */
    if (on_st_meta_count(f) > 64 || on_st_count(f) > 1024) {
        on_fail(err, "%s: %d metadata entries and %d tensors: more than a checkpoint holds", path,
                on_st_meta_count(f), on_st_count(f));
        goto fail;
    }
    /* verify the checksum before trusting anything else */
    {
        item meta[64], tens[1024];
        int nm = 0, nt = 0;
        for (int i = 0; i < on_st_meta_count(f) && nm < 64; i++) {
            const char *k = on_st_meta_key(f, i), *v = on_st_meta(f, k);
            meta[nm++] = (item){k, v, strlen(v)};
        }
        for (int i = 0; i < on_st_count(f) && nt < 1024; i++) {
            const on_st_tensor *t = on_st_at(f, i);
            if (!t->f) {
                on_fail(err, "%s: tensor '%s' is not float32", path, t->name);
                goto fail;
            }
            tens[nt++] = (item){t->name, t->f, t->size * sizeof(float)};
        }
        char want[32];
        snprintf(want, sizeof want, "crc32:%08lx", checksum(meta, nm, tens, nt));
        if (!crc || strcmp(crc, want)) {
            on_fail(err,
                    "%s: checksum mismatch (file says %s, contents give %s): the file is damaged",
                    path, crc ? crc : "nothing", want);
            goto fail;
        }
    }
    if (!(m = on_model_from_spec(spec, &e2))) {
        on_fail(err, "%s: its model definition does not build: %s", path, e2.msg);
        goto fail;
    }
    for (int i = 0; i < m->nt; i++) {
        const on_tensor *t = &m->tensors[i];
        const on_st_tensor *s = on_st_find(f, t->name);
        if (!s) {
            on_fail(err, "%s: tensor '%s' is missing", path, t->name);
            goto fail;
        }
        int ok = s->f && s->ndims == t->d.ndims && s->size == t->d.size;
        for (int k = 0; ok && k < t->d.ndims; k++) ok = s->dims[k] == t->d.dims[k];
        if (!ok) {
            char want[64] = "", got[64] = "";
            for (int k = 0; k < t->d.ndims; k++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", k ? "," : "",
                         t->d.dims[k]);
            for (int k = 0; k < s->ndims && k < 8; k++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? "," : "",
                         (long long)s->dims[k]);
            on_fail(err, "%s: tensor '%s' has shape (%s), the model needs (%s)", path, t->name, got,
                    want);
            goto fail;
        }
        memcpy(on_tensor_ptr(m, i), s->f, sizeof(float) * s->size);
    }
    const on_st_tensor *os = on_st_find(f, "optimizer.state");
    if (os && os->f && os->size == 2 * m->np) {
        m->opt_state = malloc(sizeof(float) * (2 * m->np + 1));
        if (m->opt_state) memcpy(m->opt_state, os->f, sizeof(float) * os->size);
    }
    const char *outs = on_st_meta(f, "outputs");
    if (outs && outputs_parse(m, outs, path, err)) goto fail;
    const char *norm = on_st_meta(f, "normalization");
    if (norm) {
        cJSON *o = cJSON_Parse(norm), *mu = cJSON_GetObjectItemCaseSensitive(o, "mean"),
              *sd = cJSON_GetObjectItemCaseSensitive(o, "std");
        int C = m->input.c;
        if (cJSON_GetArraySize(mu) != C || cJSON_GetArraySize(sd) != C) {
            cJSON_Delete(o);
            on_fail(err, "%s: normalization statistics are not for %d channels", path, C);
            goto fail;
        }
        float *ms = malloc(sizeof(float) * 2 * (size_t)C);
        for (int c = 0; ms && c < C; c++) {
            ms[c] = (float)cJSON_GetArrayItem(mu, c)->valuedouble;
            ms[C + c] = (float)cJSON_GetArrayItem(sd, c)->valuedouble;
            if (!(ms[C + c] > 0)) ms[C + c] = 1;
        }
        if (ms) on_model_set_normalization(m, ms, ms + C);
        free(ms);
        cJSON_Delete(o);
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->cfg = on_train_defaults();
        const char *cfg = on_st_meta(f, "train_config"), *ep = on_st_meta(f, "epoch");
        const char *cl = on_st_meta(f, "classes"), *data = on_st_meta(f, "data");
        if (cfg && config_parse(cfg, &info->cfg)) {
            on_fail(err, "%s: metadata 'train_config' is not valid JSON", path);
            goto fail;
        }
        info->epoch = ep ? atoi(ep) : 0;
        info->classes = cl ? atoi(cl) : 0;
        if (data) snprintf(info->data, sizeof info->data, "%s", data);
    }
    on_st_free(f);
    return m;
fail:
    on_model_free(m);
    on_st_free(f);
    return NULL;
}
