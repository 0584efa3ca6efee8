/* report.c - `ordnet analyze` as a library call: verdicts for each adjacent pair of a
 * model, the class of the whole model (orders equal by proof) and its cheapest member,
 * and the classes of every permutation of a block. Text or JSON. */
#include "analyze.h"
#include "../reader/args.h"
#include "../strbuf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

on_verdict on_model_commute(const on_model *m, int i, on_purpose infer, on_weights_use weights) {
    if (!on_adjacent(m, i)) {
        on_verdict v = {.kind = ON_NEVER};
        snprintf(v.reason, sizeof v.reason, "layers %d and %d are not a simple chain", i, i + 1);
        return v;
    }
    float *pa[4], *pb[4];
    on_layer_view a = on_view_of(m, i, weights, pa), b = on_view_of(m, i + 1, weights, pb);
    return on_commute(&a, &b, infer);
}

static void order_text(const on_layer_view *L, const int *order, int n, char *out, size_t len) {
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n && k < len; i++) {
        char tok[128];
        on_args_format(L[order[i]].op, &L[order[i]].a, tok, sizeof tok);
        k += (size_t)snprintf(out + k, len - k, "%s%s", i ? " " : "", tok);
    }
}

/* Block tokens "bn,relu,maxpool,dropout(0.2)" after the model's first convolution (or
 * conv2d(32,3,same) on 28x28x1) -> a model holding prefix + block; *first = index of the
 * block's first node. */
static on_model *block_model(const on_model *m, const char *block, int *first, int *nops,
                             char *prefix, on_error *err) {
    snprintf(prefix, 1024, "input(28,28,1) conv2d(32,3,same)");
    if (m) {
        char *spec = on_model_to_spec(m);
        if (!spec) return NULL;
        /* keep up to and including the first linear map */
        int keep = 0;
        for (int i = 1; i < m->nn && !keep; i++)
            if (m->nodes[i].op->props & ON_PROP_LINEAR_MAP) keep = i;
        if (keep) {
            char *p = spec;
            for (int i = 0; i <= keep && p; i++) p = strchr(p + 1, ' ');
            if (p) *p = 0;
            snprintf(prefix, 1024, "%s", spec);
        }
        free(spec);
    }
    char text[2048];
    snprintf(text, sizeof text, "%s %s", prefix, block);
    for (char *p = text + strlen(prefix); *p; p++)
        if (*p == ',') {
            /* commas between tokens (not inside parentheses) separate layers */
            int depth = 0;
            for (char *q = text + strlen(prefix); q < p; q++) depth += (*q == '(') - (*q == ')');
            if (!depth) *p = ' ';
        }
    on_model *bm = on_model_from_spec(text, err);
    if (!bm) return NULL;
    on_model *pm = on_model_from_spec(prefix, err);
    *first = pm ? pm->nn : 1;
    on_model_free(pm);
    *nops = bm->nn - *first;
    if (*nops < 2 || *nops > 8) {
        on_fail(err, "--block needs 2 to 8 layers, got %d", *nops);
        on_model_free(bm);
        return NULL;
    }
    return bm;
}

static double gf(on_cost c) {
    return c.flops_fwd + c.flops_bwd;
}
static double us(on_cost c) {
    return 1e6 * on_cost_seconds(c);
}
static double gb(on_cost c) {
    return c.bytes_fwd + c.bytes_bwd;
}

/* Measured milliseconds per batch of 64 of prefix + order: forward (inference) or forward
 * and backward (training), the median of 5 after a warm-up. */
static double measure_ms(const char *prefix, const char *order, int infer) {
    char text[2048];
    snprintf(text, sizeof text, "%s %s", prefix, order);
    on_error err;
    on_model *m = on_model_from_spec(text, &err);
    if (!m || on_model_compile(m, 64, &err)) {
        on_model_free(m);
        return NAN;
    }
    on_model_init(m, 1);
    size_t in = 64 * on_shape_size(on_model_node_shape(m, 0));
    size_t out = 64 * on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * in), *dy = malloc(sizeof(float) * out);
    double t[6];
    for (size_t i = 0; x && i < in; i++) x[i] = on_uniform(7, i) - 0.5f;
    for (size_t i = 0; dy && i < out; i++) dy[i] = on_uniform(8, i) - 0.5f;
    for (int r = 0; x && dy && r < 6; r++) {
        double t0 = on_seconds();
        on_model_forward(m, x, 64, !infer);
        if (!infer) {
            on_model_set_output_grad(m, dy);
            on_model_zero_grad(m);
            on_model_backward(m);
        }
        t[r] = 1e3 * (on_seconds() - t0);
    }
    for (int i = 1; i < 6; i++) /* sort the 5 timed runs */
        for (int j = i + 1; j < 6; j++)
            if (t[j] < t[i]) {
                double u = t[i];
                t[i] = t[j];
                t[j] = u;
            }
    free(x);
    free(dy);
    on_model_free(m);
    return t[3];
}

char *on_analyze_report(const on_model *m, int infer, int weights, const char *block, int measure,
                        int json, on_error *err) {
    on_sb b = {0};
    cJSON *root = cJSON_CreateObject(), *pairs = cJSON_AddArrayToObject(root, "pairs");
    cJSON *classes = cJSON_AddArrayToObject(root, "classes");
    cJSON_AddStringToObject(root, "mode", infer ? "infer" : "train");
    const char *mode = infer ? "inference" : "training";
    char cheapest[2048] = "";
    if (m) {
        on_sb_add(&b, "Adjacent layers (%s; %s):\n", mode,
                  weights ? "weight conditions decided from the checkpoint"
                          : "no weights: weight conditions stated");
        on_sb_add(&b, "  %3s  %-34s %-18s %s\n", "#", "pair", "verdict",
                  "cost per sample: this order -> swapped");
        for (int i = 1; i + 1 < m->nn; i++) {
            if (!on_adjacent(m, i)) continue;
            on_verdict v = on_model_commute(m, i, infer, weights);
            float *pa[4], *pb[4];
            on_layer_view L[2] = {on_view_of(m, i, weights, pa), on_view_of(m, i + 1, weights, pb)};
            int ab[2] = {0, 1}, ba[2] = {1, 0};
            on_cost c0 = on_order_cost(L, ab, 2, L[0].xs, infer, 0);
            on_cost c1 = on_order_cost(L, ba, 2, L[0].xs, infer, 0);
            char pair[96];
            snprintf(pair, sizeof pair, "%s -> %s", L[0].name, L[1].name);
            int swappable = c1.flops_fwd < 1e299; /* on_order_cost: the shapes do not fit */
            if (swappable)
                on_sb_add(&b, "  %3d  %-34s %-18s %.3g -> %.3g MFLOP, %.3g -> %.3g MB\n", i, pair,
                          on_verdict_name(v.kind), gf(c0) / 1e6, gf(c1) / 1e6, gb(c0) / 1e6,
                          gb(c1) / 1e6);
            else
                on_sb_add(
                    &b, "  %3d  %-34s %-18s %.3g MFLOP, %.3g MB (swapped: the shapes do not fit)\n",
                    i, pair, on_verdict_name(v.kind), gf(c0) / 1e6, gb(c0) / 1e6);
            on_sb_add(&b, "       %s%s%s%s%s\n", v.reason, *v.condition ? " [if: " : "",
                      v.condition, *v.condition ? "]" : "", *v.change ? "" : "");
            if (*v.change) on_sb_add(&b, "       change: %s\n", v.change);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "index", i);
            cJSON_AddStringToObject(o, "first", L[0].name);
            cJSON_AddStringToObject(o, "second", L[1].name);
            cJSON_AddStringToObject(o, "verdict", on_verdict_name(v.kind));
            cJSON_AddStringToObject(o, "reason", v.reason);
            if (*v.condition) cJSON_AddStringToObject(o, "condition", v.condition);
            if (*v.change) cJSON_AddStringToObject(o, "change", v.change);
            cJSON_AddNumberToObject(o, "flops", gf(c0));
            cJSON_AddNumberToObject(o, "bytes", gb(c0));
            if (swappable) { /* absent when the swapped order has no valid shapes */
                cJSON_AddNumberToObject(o, "flops_swapped", gf(c1));
                cJSON_AddNumberToObject(o, "bytes_swapped", gb(c1));
            }
            cJSON_AddItemToArray(pairs, o);
        }
        /* the model's own class: every run of reorderable layers explored from its order */
        on_run runs[64];
        int nr = on_find_runs(m, runs, 64);
        double now_f = 0, best_f = 0, total = 1;
        char *spec = on_model_to_spec(m);
        snprintf(cheapest, sizeof cheapest, "%s", spec ? spec : "");
        free(spec);
        char assumed[512] = "";
        on_sb_add(&b, "\nThe model's class (%s): orders of its layers equal by proof\n", mode);
        for (int r = 0; r < nr; r++) {
            on_layer_view L[10];
            float *pbuf[10][4];
            for (int k = 0; k < runs[r].n; k++)
                L[k] = on_view_of(m, runs[r].first + k, weights, pbuf[k]);
            on_orders o;
            if (on_orders_explore(L, runs[r].n, L[0].xs, infer, 0, 5000, &o)) {
                on_orders_free(&o);
                continue;
            }
            int best = 0;
            double bf = 1e300;
            for (int k = 0; k < o.count; k++) {
                on_cost c =
                    on_order_cost(L, o.orders + k * o.n, o.n, L[0].xs, infer, runs[r].after_linear);
                if (us(c) < bf * (1 - 1e-9)) bf = us(c), best = k;
            }
            on_cost c0 = on_order_cost(L, o.orders, o.n, L[0].xs, infer, runs[r].after_linear);
            now_f += us(c0);
            best_f += bf;
            total *= o.count;
            char t0[512], t1[512];
            order_text(L, o.orders, o.n, t0, sizeof t0);
            order_text(L, o.orders + best * o.n, o.n, t1, sizeof t1);
            on_sb_add(&b, "  layers %d-%d: %d order%s; cheapest: %s (%.3g us%s%s)\n", runs[r].first,
                      runs[r].first + o.n - 1, o.count, o.count == 1 ? "" : "s", t1, bf,
                      best ? ", now: " : "", best ? t0 : "");
            if (*o.assumed && !strstr(assumed, o.assumed) &&
                strlen(assumed) + strlen(o.assumed) + 3 < sizeof assumed) {
                if (*assumed) strcat(assumed, "; ");
                strcat(assumed, o.assumed);
            }
            if (best) { /* splice the cheaper run into the model text */
                char *p = strstr(cheapest, t0);
                if (p && strlen(cheapest) - strlen(t0) + strlen(t1) < sizeof cheapest) {
                    char rest[2048];
                    snprintf(rest, sizeof rest, "%s", p + strlen(t0));
                    snprintf(p, sizeof cheapest - (size_t)(p - cheapest), "%s%s", t1, rest);
                }
            }
            on_orders_free(&o);
        }
        on_sb_add(&b,
                  "  %.0f equivalent order%s; the reorderable layers cost %.4g us per sample "
                  "(modelled), the cheapest order %.4g (%.1f%% less)\n  cheapest: %s\n",
                  total, total == 1 ? "" : "s", now_f, best_f,
                  now_f > 0 ? 100 * (now_f - best_f) / now_f : 0.0, cheapest);
        if (*assumed) on_sb_add(&b, "  assuming: %s\n", assumed);
        cJSON *mc = cJSON_CreateObject();
        cJSON_AddNumberToObject(mc, "orders", total);
        cJSON_AddNumberToObject(mc, "modelled_us", now_f);
        cJSON_AddNumberToObject(mc, "cheapest_modelled_us", best_f);
        cJSON_AddStringToObject(mc, "cheapest", cheapest);
        if (*assumed) cJSON_AddStringToObject(mc, "assuming", assumed);
        cJSON_AddItemToObject(root, "model_class", mc);
        on_merge_report(m, infer, weights, &b, cJSON_AddArrayToObject(root, "merges"));
    }
    if (block) {
        int first, n;
        char prefix[1024];
        on_model *bm = block_model(m, block, &first, &n, prefix, err);
        if (!bm) {
            cJSON_Delete(root);
            free(b.s);
            return NULL;
        }
        on_layer_view L[10];
        float *pbuf[10][4];
        for (int k = 0; k < n; k++) L[k] = on_view_of(bm, first + k, 0, pbuf[k]);
        on_orders o;
        if (on_orders_explore(L, n, L[0].xs, infer, 1, 50000, &o)) {
            on_orders_free(&o);
            on_model_free(bm);
            cJSON_Delete(root);
            free(b.s);
            on_fail(err, "out of memory");
            return NULL;
        }
        on_sb_add(&b, "\nBlock %s after %s: %d orders -> %d %s classes\n", block,
                  bm->nodes[first - 1].name, o.count, o.nclasses, mode);
        if (*o.assumed) on_sb_add(&b, "  assuming: %s\n", o.assumed);
        double best_all = 1e300;
        for (int c = 0; c < o.nclasses; c++) {
            int best = -1, members = 0;
            double bt = 1e300;
            on_cost bc = {0};
            for (int k = 0; k < o.count; k++) {
                if (o.cls[k] != c) continue;
                members++;
                on_cost cc = on_order_cost(L, o.orders + k * n, n, L[0].xs, infer, 1);
                if (us(cc) < bt * (1 - 1e-9)) bt = us(cc), bc = cc, best = k;
            }
            char t[512];
            order_text(L, o.orders + best * n, n, t, sizeof t);
            on_sb_add(&b, "  class %2d: %d order%s cheapest %-40s %6.3g MFLOP %6.3g MB %6.3g us",
                      c + 1, members, members == 1 ? ", " : "s,", t, gf(bc) / 1e6, gb(bc) / 1e6,
                      bt);
            double ms = measure ? measure_ms(prefix, t, infer) : NAN;
            if (measure) on_sb_add(&b, "  measured %.2f ms/batch of 64", ms);
            on_sb_add(&b, "\n");
            cJSON *co = cJSON_CreateObject(), *mem = cJSON_AddArrayToObject(co, "members");
            cJSON_AddNumberToObject(co, "id", c + 1);
            cJSON_AddStringToObject(co, "cheapest", t);
            cJSON_AddNumberToObject(co, "flops", gf(bc));
            cJSON_AddNumberToObject(co, "bytes", gb(bc));
            cJSON_AddNumberToObject(co, "modelled_us", bt);
            if (measure) cJSON_AddNumberToObject(co, "measured_ms_per_batch64", ms);
            for (int k = 0; k < o.count; k++) {
                if (o.cls[k] != c) continue;
                order_text(L, o.orders + k * n, n, t, sizeof t);
                cJSON_AddItemToArray(mem, cJSON_CreateString(t));
                if (k != best) on_sb_add(&b, "            = %s\n", t);
            }
            cJSON_AddItemToArray(classes, co);
            if (bt < best_all && !m) {
                best_all = bt;
                order_text(L, o.orders + best * n, n, cheapest, sizeof cheapest);
            }
        }
        cJSON_AddNumberToObject(root, "orders", o.count);
        if (*o.assumed) cJSON_AddStringToObject(root, "assuming", o.assumed);
        on_orders_free(&o);
        on_model_free(bm);
    }
    cJSON_AddStringToObject(root, "cheapest", cheapest);
    char *out;
    if (json) {
        out = cJSON_Print(root);
        free(b.s);
    } else {
        out = b.s ? b.s : strdup("");
    }
    cJSON_Delete(root);
    return out;
}
