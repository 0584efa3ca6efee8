/* onnx_values.c - the value table of an ONNX import (onnx_values.h). */
#include "onnx_values.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s) {
    size_t h = 1469598103934665603u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

int ox_values_init(ox_values *t, size_t n) {
    t->nv = 0;
    t->hcap = 16;
    while (t->hcap < 2 * n + 2) t->hcap *= 2;
    t->v = calloc(n + 1, sizeof *t->v);
    t->hash = malloc(sizeof(int) * t->hcap);
    if (!t->v || !t->hash) return -1;
    memset(t->hash, 0xff, sizeof(int) * t->hcap);
    return 0;
}

void ox_values_free(ox_values *t) {
    for (int i = 0; t->v && i < t->nv; i++) ox_const_free(&t->v[i].c);
    free(t->v);
    free(t->hash);
    *t = (ox_values){0};
}

int ox_values_find(const ox_values *t, const char *name) {
    if (!name || !*name || !t->hash) return -1;
    for (size_t i = hash_str(name) & (t->hcap - 1);; i = (i + 1) & (t->hcap - 1)) {
        int k = t->hash[i];
        if (k < 0) return -1;
        if (!strcmp(t->v[k].name, name)) return k;
    }
}

int ox_values_add(ox_values *t, const char *name, int producer) {
    if (!name || !*name) return -2;
    size_t i = hash_str(name) & (t->hcap - 1);
    for (; t->hash[i] >= 0; i = (i + 1) & (t->hcap - 1))
        if (!strcmp(t->v[t->hash[i]].name, name)) return -1;
    int k = t->nv++;
    t->v[k] = (ox_value){.name = name, .producer = producer, .reader = -1};
    t->hash[i] = k;
    return k;
}

int ox_per_channel(const ox_const *c, int orank, int C, float *out) {
    if (!c->f) return -1;
    if (c->size == 1) {
        for (int k = 0; k < C; k++) out[k] = c->f[0];
        return 0;
    }
    if (c->size != (size_t)C || c->ndims < 1) return -1;
    /* right-aligned against [N, C, d2, ...]: the C must sit at axis 1 */
    int pos = -1;
    for (int k = 0; k < c->ndims; k++)
        if (c->dims[k] == C) pos = k;
    if (pos < 0 || c->ndims - pos != orank - 1) return -1;
    memcpy(out, c->f, sizeof(float) * (size_t)C);
    return 0;
}
