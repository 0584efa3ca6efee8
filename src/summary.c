/* summary.c - on_model_summary: a Keras-like table of a model's layers (name, op, output
 * shape channels last as Keras prints it, parameters, forward FLOPs and output memory per
 * sample), the totals and the readers' notes; or the same as one JSON object (cJSON).
 *
 * Parameters are counted as Keras counts them: trainable floats plus state (BatchNorm's
 * running mean and variance, the non-trainable part); a frozen layer's (Keras trainable=False,
 * on_attrs.frozen) parameters are all non-trainable. FLOPs come from the op table's cost
 * (on_model_node_cost) for one sample.
 */
#include "graph.h"
#include "keras/keras.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include "strbuf.h"
#include <stdlib.h>
#include <string.h>

static void sb_rule(on_sb *b, int width) {
    static const char eq[] = "================================================================";
    for (; width > 0; width -= 64) on_sb_add(b, "%.*s", width < 64 ? width : 64, eq);
    on_sb_add(b, "\n");
}

/* Floats owned by node i: all of them, and the trainable ones. */
static void node_params(const on_model *m, int i, double *all, double *trainable) {
    const on_node *nd = &m->nodes[i];
    *all = *trainable = 0;
    for (int k = 0; k < nd->nt && !nd->share; k++) { /* a tied node's are its owner's */
        const on_tensor *t = &m->tensors[nd->t0 + k];
        *all += (double)t->d.size;
        if (t->d.trainable && !nd->a.frozen) *trainable += (double)t->d.size;
    }
}

/* 1234567 -> "1,234,567" */
static char *grouped(double v, char *buf, size_t n) {
    char digits[48];
    snprintf(digits, sizeof digits, "%.0f", v < 0 ? 0 : v);
    size_t len = strlen(digits), k = 0;
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = 0;
    return buf;
}

/* Bytes as Keras prints them: B, KB, MB, GB with 1024 steps. */
static char *bytes_str(double v, char *buf, size_t n) {
    static const char *const unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    snprintf(buf, n, "%.2f %s", v, unit[u]);
    return buf;
}

/* Is the graph a chain (every node fed by the one before it)? */
static int is_chain(const on_model *m) {
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].in[0] != i - 1 || m->nodes[i].nin != 1) return 0;
    return 1;
}

/* An Input of a model with several (ops/input_part.c): a Keras InputLayer row. */
static int is_part(const on_model *m, int i) {
    return m->nodes[i].op && !strcmp(m->nodes[i].op->name, "input_part");
}

/* "conv2d, add_1, ...": the layers feeding node i, as Keras's "Connected to" column. */
static char *inputs_str(const on_model *m, int i, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0; !is_part(m, i) && k < m->nodes[i].nin && n < len; k++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", k ? ", " : "",
                              m->nodes[m->nodes[i].in[k]].name);
    return buf;
}

static const char *type_of(const on_model *m, int i) {
    return m->nodes[i].op && !is_part(m, i) ? m->nodes[i].op->name : "input";
}

/* Node 0 of a model with several Inputs is their values packed: no Keras layer, no row
 * (each Input has its own). */
static int hidden(const on_model *m, int i) {
    return i == 0 && on_model_num_inputs(m) > 1;
}

static char *summary_text(const on_model *m) {
    on_sb b = {0};
    int chain = is_chain(m), wn = 5, wt = 4, ws = 12;
    char shp[64], n1[48], n2[48], n3[48], by[32];
    double total = 0, trainable = 0, flops = 0, mem = 0;
    for (int i = 0; i < m->nn; i++) {
        int l = (int)strlen(m->nodes[i].name);
        if (l > wn) wn = l;
        l = (int)strlen(type_of(m, i));
        if (l > wt) wt = l;
        l = (int)strlen(on_keras_shape_str(m->nodes[i].ys, shp, sizeof shp));
        if (l > ws) ws = l;
    }
    int wc = 12; /* "Connected to" */
    char conn[1024];
    for (int i = 1; !chain && i < m->nn; i++) {
        int l = (int)strlen(inputs_str(m, i, conn, sizeof conn));
        if (l > wc) wc = l;
    }
    int width = wn + wt + ws + 12 + 14 + 11 + 5 * 2 + (chain ? 0 : 2 + wc);
    on_sb_add(&b, "%-*s  %-*s  %-*s  %12s  %14s  %11s%s\n", wn, "Layer", wt, "Type", ws,
              "Output shape", "Params", "FLOPs", "Memory", chain ? "" : "  Connected to");
    sb_rule(&b, width);
    for (int i = 0; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        if (hidden(m, i)) continue;
        double all, tr, fl = on_model_node_cost(m, i).flops_fwd,
                        by_out = 4.0 * (double)on_shape_size(nd->ys);
        node_params(m, i, &all, &tr);
        total += all;
        trainable += tr;
        flops += fl;
        mem += by_out;
        on_sb_add(&b, "%-*s  %-*s  %-*s  %12s  %14s  %11s", wn, nd->name, wt, type_of(m, i), ws,
                  on_keras_shape_str(nd->ys, shp, sizeof shp), grouped(all, n1, sizeof n1),
                  grouped(fl, n2, sizeof n2), bytes_str(by_out, by, sizeof by));
        if (!chain && i > 0) on_sb_add(&b, "  %s", inputs_str(m, i, conn, sizeof conn));
        on_sb_add(&b, "\n");
    }
    sb_rule(&b, width);
    on_sb_add(&b, "Total params: %s (%s)\n", grouped(total, n1, sizeof n1),
              bytes_str(4 * total, by, sizeof by));
    on_sb_add(&b, "Trainable params: %s (%s)\n", grouped(trainable, n2, sizeof n2),
              bytes_str(4 * trainable, by, sizeof by));
    on_sb_add(&b, "Non-trainable params: %s (%s)\n", grouped(total - trainable, n3, sizeof n3),
              bytes_str(4 * (total - trainable), by, sizeof by));
    on_sb_add(&b, "Total FLOPs: %s per sample (forward)\n", grouped(flops, n1, sizeof n1));
    on_sb_add(&b, "Activation memory: %s per sample (layer outputs)\n",
              bytes_str(mem, by, sizeof by));
    const char *notes = on_model_notes(m);
    if (*notes) {
        on_sb_add(&b, "Notes:\n");
        for (const char *p = notes; *p;) {
            size_t len = strcspn(p, "\n");
            on_sb_add(&b, "  - %.*s\n", (int)len, p);
            p += len + (p[len] == '\n');
        }
    }
    if (b.oom || !b.s) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static char *summary_json(const on_model *m) {
    cJSON *root = cJSON_CreateObject(), *layers = cJSON_AddArrayToObject(root, "layers");
    double total = 0, trainable = 0, flops = 0, mem = 0;
    int ok = root && layers;
    for (int i = 0; ok && i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        if (hidden(m, i)) continue;
        double all, tr, fl = on_model_node_cost(m, i).flops_fwd,
                        by = 4.0 * (double)on_shape_size(nd->ys);
        node_params(m, i, &all, &tr);
        total += all;
        trainable += tr;
        flops += fl;
        mem += by;
        on_shape s = nd->ys;
        int dims[3], nd_ = 0;
        if (s.rank == 3) dims[nd_++] = s.h;
        if (s.rank >= 2) dims[nd_++] = s.w;
        dims[nd_++] = s.c;
        cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateIntArray(dims, nd_),
              *ins = cJSON_CreateArray();
        ok = o && shape && ins && cJSON_AddItemToArray(layers, o);
        if (!ok) {
            cJSON_Delete(o);
            cJSON_Delete(shape);
            cJSON_Delete(ins);
            break;
        }
        for (int k = 0; k < 2 && i > 0 && !is_part(m, i); k++)
            if (nd->in[k] >= 0)
                ok = ok && cJSON_AddItemToArray(ins, cJSON_CreateString(m->nodes[nd->in[k]].name));
        ok = ok && cJSON_AddStringToObject(o, "name", nd->name) &&
             cJSON_AddStringToObject(o, "type", type_of(m, i)) &&
             cJSON_AddItemToObject(o, "output_shape", shape);
        if (!ok) cJSON_Delete(shape);
        ok = ok && cJSON_AddNumberToObject(o, "params", all) &&
             cJSON_AddNumberToObject(o, "trainable_params", tr) &&
             cJSON_AddNumberToObject(o, "flops", fl) &&
             cJSON_AddNumberToObject(o, "memory_bytes", by);
        if (!ok || !cJSON_AddItemToObject(o, "inputs", ins)) {
            cJSON_Delete(ins);
            ok = 0;
        }
    }
    ok = ok && cJSON_AddNumberToObject(root, "total_params", total) &&
         cJSON_AddNumberToObject(root, "trainable_params", trainable) &&
         cJSON_AddNumberToObject(root, "non_trainable_params", total - trainable) &&
         cJSON_AddNumberToObject(root, "total_flops", flops) &&
         cJSON_AddNumberToObject(root, "total_memory_bytes", mem);
    cJSON *notes = ok ? cJSON_AddArrayToObject(root, "notes") : NULL;
    ok = ok && notes;
    for (const char *p = on_model_notes(m); ok && *p;) {
        size_t len = strcspn(p, "\n");
        char *line = malloc(len + 1);
        cJSON *str = NULL;
        if (line) {
            memcpy(line, p, len);
            line[len] = 0;
            str = cJSON_CreateString(line);
            free(line);
        }
        ok = str && cJSON_AddItemToArray(notes, str);
        if (!ok) cJSON_Delete(str);
        p += len + (p[len] == '\n');
    }
    char *s = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return s;
}

char *on_model_summary(const on_model *m, on_format json) {
    if (!m) return NULL;
    return json ? summary_json(m) : summary_text(m);
}
