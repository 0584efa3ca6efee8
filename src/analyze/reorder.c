/* reorder.c - the cheapest member of a model's class of equal orders.
 *
 * In training, orders of one class (docs/ORDERING.md section 4) train to bit-identical
 * weights: initialization and dropout masks follow layer names, not positions, and the
 * swapped layers compute the same values bit for bit. So `ordnet train` may run the
 * cheapest member instead of the order as written (a ReLU after the pool instead of
 * before it runs on a quarter of the values) and get the same model, faster.
 */
#include "analyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

on_model *on_reorder_cheapest(const on_model *m, on_purpose infer, int *changed, on_error *err) {
    *changed = 0;
    int nn = m->nn, *order = malloc(sizeof(int) * (size_t)nn),
        *map = malloc(sizeof(int) * (size_t)nn);
    if (!order || !map) {
        free(order);
        free(map);
        on_fail(err, "out of memory");
        return NULL;
    }
    for (int i = 0; i < nn; i++) order[i] = i;
    on_run runs[64];
    /* a model with tied layers keeps its order (a run's new order could put a shared node
     * before its owner) and is rebuilt with the ties */
    int nr = on_model_first_shared(m) ? 0 : on_find_runs(m, runs, 64);
    for (int r = 0; r < nr; r++) {
        on_layer_view L[10];
        float *pbuf[10][4];
        int n = runs[r].n;
        for (int k = 0; k < n; k++)
            L[k] = on_view_of(m, runs[r].first + k, !infer ? 0 : 1, pbuf[k]);
        on_orders o;
        if (on_orders_explore(L, n, L[0].xs, infer, 0, 5000, &o)) {
            on_orders_free(&o);
            continue;
        }
        int best = 0;
        double bt =
            on_cost_seconds(on_order_cost(L, o.orders, n, L[0].xs, infer, runs[r].after_linear));
        for (int k = 1; k < o.count; k++) {
            double t = on_cost_seconds(
                on_order_cost(L, o.orders + k * n, n, L[0].xs, infer, runs[r].after_linear));
            if (t < bt * (1 - 1e-9)) bt = t, best = k;
        }
        for (int k = 0; k < n; k++)
            order[runs[r].first + k] = runs[r].first + o.orders[best * n + k];
        *changed |= best != 0;
        on_orders_free(&o);
    }
    /* position -> the run holding it (-1: none) */
    int *in_run = malloc(sizeof(int) * (size_t)nn);
    for (int i = 0; in_run && i < nn; i++) in_run[i] = -1;
    for (int r = 0; in_run && r < nr; r++)
        for (int k = 0; k < runs[r].n; k++) in_run[runs[r].first + k] = r;
    on_model *out = in_run ? on_model_new(m->input, err) : NULL;
    map[0] = 0;
    for (int i = 1; out && i < nn; i++) {
        const on_node *nd = &m->nodes[order[i]];
        int r = in_run[i], id;
        if (nd->share) {
            int in[ON_MAX_INPUTS];
            for (int k = 0; k < nd->nin; k++) in[k] = map[nd->in[k]];
            id = on_model_add_shared(out, map[nd->share], in, nd->nin, nd->name, err);
        } else if (nd->nin > 1) {
            int in[ON_MAX_INPUTS];
            for (int k = 0; k < nd->nin; k++) in[k] = map[nd->in[k]];
            id = on_model_add_node(out, nd->op, &nd->a, in, nd->nin, nd->name, err);
        } else {
            /* in a run the layers chain in their new order from what the run read */
            int src = r < 0                ? map[nd->in[0]]
                      : i == runs[r].first ? map[m->nodes[runs[r].first].in[0]]
                                           : out->nn - 1;
            id = on_model_add_at(out, src, nd->op, &nd->a, nd->name, err);
        }
        if (id < 0) {
            on_model_free(out);
            out = NULL;
            break;
        }
        map[order[i]] = id;
        if (r >= 0 && i == runs[r].first + runs[r].n - 1) map[i] = id; /* the run's output */
    }
    free(in_run);
    for (int t = 0; out && t < m->nt; t++) {
        int u = on_model_tensor_find(out, m->tensors[t].name);
        if (u >= 0)
            memcpy(on_tensor_ptr(out, u), on_tensor_ptr((on_model *)m, t),
                   sizeof(float) * m->tensors[t].d.size);
    }
    if (out) {
        const float *mu, *sd;
        if (on_model_normalization(m, &mu, &sd)) on_model_set_normalization(out, mu, sd);
        out->seed = m->seed;
        for (const char *p = on_model_notes(m); *p;) {
            const char *e = strchr(p, '\n');
            char line[512];
            snprintf(line, sizeof line, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
            on_model_add_note(out, line);
            p = e ? e + 1 : p + strlen(p);
        }
    }
    free(order);
    free(map);
    return out;
}
