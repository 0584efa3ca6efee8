/* report.c - what a study found: results.csv, results.json, report.md, report.svg and
 * report.html (report_html.c) in the output directory, from the runs stored in
 * study.sqlite. Classes are ranked by mean test accuracy with 95% Student-t intervals;
 * classes are compared by paired t-tests over seeds, the verdict a multiple comparison
 * with the best (verdict.c);
 * the forum thread's empirical questions are answered as contrasts of the same runs.
 * Every file is written to a temporary name and renamed, so a report is whole or absent.
 */
#include "report.h"
#include "../analyze/analyze.h"
#include "../reader/args.h"
#include "../strbuf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What a block token is, from its op's properties. */
enum { K_OTHER, K_BN, K_POOL, K_DROP, K_ACT };

static int token_kind(const char *tok) {
    char name[96];
    snprintf(name, sizeof name, "%s", tok);
    char *p = strchr(name, '(');
    if (p) *p = 0;
    const on_op *op = on_spec_resolve(name, (on_shape){3, 1, 8, 8});
    if (!op) return K_OTHER;
    unsigned pr = op->props;
    if (pr & ON_PROP_STOCHASTIC) return K_DROP;
    if (pr & ON_PROP_TRAIN_DIFFERS) return K_BN;
    if (pr & ON_PROP_POOL) return K_POOL;
    if (pr & ON_PROP_ELEMENTWISE) return K_ACT;
    return K_OTHER;
}

/* Position of the first token of kind k in an order ("a b c"), or -1. */
static int position(const char *order, int kind) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", order);
    int i = 0;
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "), i++)
        if (token_kind(w) == kind) return i;
    return -1;
}

char *on_study_describe(const on_orders *o, char tok[][96], int nb, const int *want, const int *rep,
                        const on_layer_view *L, const on_study_cfg *c, const void *tmplp,
                        const char *block, const char *key) {
    (void)tmplp;
    cJSON *root = cJSON_CreateObject(), *classes = cJSON_AddArrayToObject(root, "classes");
    cJSON_AddStringToObject(root, "study", key);
    cJSON_AddStringToObject(root, "block", block);
    cJSON_AddStringToObject(root, "data", c->data);
    cJSON_AddNumberToObject(root, "epochs", c->epochs);
    cJSON_AddNumberToObject(root, "limit", c->limit);
    cJSON_AddNumberToObject(root, "test_limit", c->test_limit);
    cJSON_AddNumberToObject(root, "seeds", c->seeds);
    int norders = 0;
    for (int k = 0; k < o->count; k++) norders += want[k];
    cJSON_AddNumberToObject(root, "orders", norders);
    for (int cl = 0; cl < o->nclasses; cl++) {
        if (rep[cl] < 0) continue;
        cJSON *co = cJSON_CreateObject(), *mem = cJSON_AddArrayToObject(co, "members");
        cJSON_AddNumberToObject(co, "id", cl + 1);
        for (int k = 0; k < o->count; k++) {
            if (o->cls[k] != cl || !want[k]) continue;
            char ord[512] = "";
            for (int j = 0; j < nb; j++)
                snprintf(ord + strlen(ord), sizeof ord - strlen(ord), "%s%.95s", j ? " " : "",
                         tok[o->orders[k * nb + j]]);
            cJSON_AddItemToArray(mem, cJSON_CreateString(ord));
            if (k == rep[cl]) {
                cJSON_AddStringToObject(co, "representative", ord);
                cJSON_AddNumberToObject(
                    co, "modelled_us",
                    1e6 * on_cost_seconds(on_order_cost(L, o->orders + k * nb, nb, L[0].xs, 0, 1)));
            }
        }
        cJSON_AddItemToArray(classes, co);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static void svg(on_sb *b, const on_class_row *cs, int nc) {
    double lo = 1, hi = 0, tmax = 0;
    for (int i = 0; i < nc; i++) {
        if (!cs[i].n) continue;
        double h = isnan(cs[i].acc.half_ci) ? 0 : cs[i].acc.half_ci;
        if (cs[i].acc.mean - h < lo) lo = cs[i].acc.mean - h;
        if (cs[i].acc.mean + h > hi) hi = cs[i].acc.mean + h;
        if (cs[i].epoch_s > tmax) tmax = cs[i].epoch_s;
    }
    if (hi <= lo) hi = lo + 0.01;
    double pad = (hi - lo) * 0.1;
    lo -= pad, hi += pad;
    int W = 980, rowh = 22, H1 = 40 + rowh * nc, H = H1 + 330;
    on_sb_add(b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
              "font-family=\"sans-serif\" font-size=\"12\">\n",
              W, H);
    on_sb_add(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    on_sb_add(b,
              "<text x=\"10\" y=\"20\" font-size=\"14\">Test accuracy per class: mean and 95%% "
              "interval (%.2f%% to %.2f%%)</text>\n",
              100 * lo, 100 * hi);
    int x0 = 420, x1 = W - 40;
    for (int i = 0; i < nc; i++) {
        if (!cs[i].n) continue;
        double y = 40 + rowh * i + 11, h = isnan(cs[i].acc.half_ci) ? 0 : cs[i].acc.half_ci;
        double cx = x0 + (cs[i].acc.mean - lo) / (hi - lo) * (x1 - x0);
        double l = x0 + (cs[i].acc.mean - h - lo) / (hi - lo) * (x1 - x0);
        double r = x0 + (cs[i].acc.mean + h - lo) / (hi - lo) * (x1 - x0);
        on_sb_add(b, "<text x=\"10\" y=\"%.0f\">class %d: %s</text>\n", y + 4, cs[i].id, cs[i].rep);
        on_sb_add(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#555\"/>\n", l,
                  r, y, y);
        on_sb_add(b, "<circle cx=\"%.1f\" cy=\"%.0f\" r=\"4\" fill=\"#1f77b4\"/>\n", cx, y);
        on_sb_add(b, "<text x=\"%.1f\" y=\"%.0f\" fill=\"#333\" font-size=\"10\">%.2f%%</text>\n",
                  r + 6, y + 4, 100 * cs[i].acc.mean);
    }
    /* accuracy against time per epoch */
    int py = H1 + 30, ph = 260, px0 = 80, px1 = W - 40;
    on_sb_add(b,
              "<text x=\"10\" y=\"%d\" font-size=\"14\">Accuracy against training time per epoch "
              "(seconds)</text>\n",
              py - 8);
    on_sb_add(
        b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
        px0, py, px1 - px0, ph);
    on_sb_add(b, "<text x=\"%d\" y=\"%d\">0 s</text><text x=\"%d\" y=\"%d\">%.1f s</text>\n", px0,
              py + ph + 16, px1 - 40, py + ph + 16, tmax * 1.1);
    on_sb_add(b, "<text x=\"10\" y=\"%d\">%.2f%%</text><text x=\"10\" y=\"%d\">%.2f%%</text>\n",
              py + 10, 100 * hi, py + ph, 100 * lo);
    for (int i = 0; i < nc; i++) {
        if (!cs[i].n) continue;
        double x = px0 + cs[i].epoch_s / (tmax * 1.1 + 1e-9) * (px1 - px0);
        double y = py + ph - (cs[i].acc.mean - lo) / (hi - lo) * ph;
        on_sb_add(b,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#d62728\"/><text x=\"%.1f\" "
                  "y=\"%.1f\" font-size=\"10\">%d</text>\n",
                  x, y, x + 7, y + 4, cs[i].id);
    }
    on_sb_add(b, "</svg>\n");
}

/* Write text to dir/name through a temporary file. */
static int put_file(const char *dir, const char *name, const char *text, on_error *err) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return on_fail(err, "%s: cannot write", tmp);
    int ok = fputs(text, f) >= 0;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return on_fail(err, "%s: cannot write", path);
    }
    return 0;
}

static int cmp_cls(const void *a, const void *b) {
    const on_class_row *x = a, *y = b;
    if (!x->n != !y->n) return x->n ? -1 : 1;
    if (x->acc.mean != y->acc.mean)
        return (x->acc.mean < y->acc.mean) - (x->acc.mean > y->acc.mean);
    return (x->id > y->id) - (x->id < y->id);
}

static const char *fmt_p(double p, char *b) {
    if (isnan(p))
        snprintf(b, 32, "n/a");
    else if (p < 0.001)
        snprintf(b, 32, "< 0.001");
    else
        snprintf(b, 32, "%.3f", p);
    return b;
}

/* "+0.42 pt [0.11, 0.73]": a difference in accuracy with its interval, in points. */
static const char *fmt_diff(const on_paired *d, char *b) {
    if (!d->n)
        snprintf(b, 64, "n/a");
    else if (isnan(d->lo))
        snprintf(b, 64, "%+.2f pt", 100 * d->mean);
    else
        snprintf(b, 64, "%+.2f pt [%+.2f, %+.2f]", 100 * d->mean, 100 * d->lo, 100 * d->hi);
    return b;
}

/* The thread's questions: does kind a before kind b change accuracy? */
static const struct {
    int a, b;
    const char *q, *yes, *no;
} questions[] = {
    {K_BN, K_POOL, "BatchNorm before or after max-pooling?", "BN before the pool", "after"},
    {K_BN, K_ACT, "BatchNorm before the activation (fastai, ResNet) or after?",
     "BN before the activation", "after"},
    {K_DROP, K_POOL, "Dropout before or after pooling?", "dropout before the pool", "after"},
    {K_DROP, K_BN, "Dropout before or after BatchNorm?", "dropout before BN", "after"},
};

/* Read the runs of study key (and their per-epoch logs) from the store. */
static int read_runs(sqlite3 *db, const char *key, on_report *rp, on_error *err) {
    sqlite3_stmt *st;
    int cap = 256;
    rp->r = malloc(sizeof(on_run_row) * (size_t)cap);
    if (!rp->r) return on_fail(err, "out of memory");
    if (sqlite3_prepare_v2(db,
                           "SELECT ord, class, seed, test_accuracy, test_loss, epoch_seconds, "
                           "train_images_per_s, infer_images_per_s, epochs FROM runs WHERE "
                           "study=? ORDER BY class, seed",
                           -1, &st, NULL) != SQLITE_OK)
        return on_fail(err, "store: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (rp->nr == cap) {
            on_run_row *nr = realloc(rp->r, sizeof(on_run_row) * (size_t)(cap *= 2));
            if (!nr) break;
            rp->r = nr;
        }
        on_run_row *r = &rp->r[rp->nr++];
        snprintf(r->order, sizeof r->order, "%s", (const char *)sqlite3_column_text(st, 0));
        r->cls = sqlite3_column_int(st, 1);
        r->seed = sqlite3_column_int(st, 2);
        r->acc = sqlite3_column_double(st, 3);
        r->loss = sqlite3_column_double(st, 4);
        r->epoch_s = sqlite3_column_double(st, 5);
        r->train_ips = sqlite3_column_double(st, 6);
        r->infer_ips = sqlite3_column_double(st, 7);
        const char *ep = (const char *)sqlite3_column_text(st, 8);
        r->epochs = ep ? cJSON_Parse(ep) : NULL;
        if (r->seed > rp->ns) rp->ns = r->seed;
    }
    sqlite3_finalize(st);
    return 0;
}

/* Classes from the stored configuration, summarized, ranked and compared with the best
 * (paired by seed, verdict.c); the thread's questions as contrasts, Holm over them. */
static int analyze(on_report *rp, on_error *err) {
    cJSON *jc = cJSON_GetObjectItemCaseSensitive(rp->conf, "classes");
    int nc = rp->nc = cJSON_GetArraySize(jc), ns = rp->ns > 0 ? rp->ns : 1;
    rp->cs = calloc((size_t)nc + 1, sizeof(on_class_row));
    double *tmp = malloc(sizeof(double) * (size_t)(rp->nr + 1));
    double *acc = malloc(sizeof(double) * ((size_t)nc * (size_t)ns + 1));
    on_compare *cmp = calloc((size_t)nc + 1, sizeof(on_compare));
    if (!rp->cs || !tmp || !acc || !cmp) {
        free(tmp), free(acc), free(cmp);
        return on_fail(err, "out of memory");
    }
    for (int i = 0; i < nc; i++) {
        on_class_row *cs = &rp->cs[i];
        cJSON *co = cJSON_GetArrayItem(jc, i);
        cs->id = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(co, "id"));
        cs->rep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(co, "representative"));
        if (!cs->rep) cs->rep = "";
        cs->members = cJSON_GetObjectItemCaseSensitive(co, "members");
        cs->modelled_us = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(co, "modelled_us"));
        int n = 0;
        for (int k = 0; k < rp->nr; k++) {
            if (rp->r[k].cls != cs->id) continue;
            tmp[n++] = rp->r[k].acc;
            cs->epoch_s += rp->r[k].epoch_s;
            cs->infer_ips += rp->r[k].infer_ips;
            cs->train_ips += rp->r[k].train_ips;
        }
        cs->n = n;
        cs->acc = on_summarize(tmp, n);
        if (n) cs->epoch_s /= n, cs->infer_ips /= n, cs->train_ips /= n;
    }
    qsort(rp->cs, (size_t)nc, sizeof *rp->cs, cmp_cls);
    /* the accuracy matrix, rows in rank order, columns by seed */
    for (int i = 0; i < nc * ns; i++) acc[i] = NAN;
    for (int i = 0; i < nc; i++)
        for (int k = 0; k < rp->nr; k++)
            if (rp->r[k].cls == rp->cs[i].id && rp->r[k].seed >= 1 && rp->r[k].seed <= ns)
                acc[i * ns + rp->r[k].seed - 1] = rp->r[k].acc;
    if (rp->adaptive)
        on_compare_adaptive(acc, nc, ns, rp->base_seeds, rp->alpha, rp->margin, cmp);
    else
        on_compare_with_best(acc, nc, ns, rp->alpha, rp->margin, cmp);
    for (int i = 0; i < nc; i++) rp->cs[i].cmp = cmp[i];
    /* the questions: +1 where kind a comes before kind b in the class's order */
    int *group = calloc((size_t)nc + 1, sizeof(int));
    double p[4];
    for (size_t q = 0; group && q < sizeof questions / sizeof questions[0]; q++) {
        int np = 0, nm = 0;
        for (int i = 0; i < nc; i++) {
            int pa = position(rp->cs[i].rep, questions[q].a),
                pb = position(rp->cs[i].rep, questions[q].b);
            group[i] = !rp->cs[i].n || pa < 0 || pb < 0 ? 0 : pa < pb ? 1 : -1;
            np += group[i] > 0, nm += group[i] < 0;
        }
        if (!np || !nm) continue;
        on_question *oq = &rp->q[rp->nq];
        oq->q = questions[q].q, oq->yes = questions[q].yes, oq->no = questions[q].no;
        oq->d = on_contrast(acc, nc, ns, group, 0.05);
        p[rp->nq++] = oq->d.p;
    }
    double adj[4];
    on_holm(p, rp->nq, adj);
    for (int i = 0; i < rp->nq; i++) rp->q[i].p_holm = adj[i];
    free(group);
    free(tmp);
    free(acc);
    free(cmp);
    return 0;
}

static const char *decision_text(int d) {
    switch (d) {
    case ON_BEST:
        return "best";
    case ON_WORSE:
        return "worse";
    case ON_EQUIVALENT:
        return "equivalent";
    default:
        return "undecided";
    }
}

static void write_csv(on_sb *b, const on_report *rp) {
    on_sb_add(b, "order,class,seed,test_accuracy,test_loss,epoch_seconds,train_images_per_s,infer_"
                 "images_per_s\n");
    for (int k = 0; k < rp->nr; k++) {
        const on_run_row *r = &rp->r[k];
        on_sb_add(b, "\"%s\",%d,%d,%.6f,%.6f,%.3f,%.1f,%.1f\n", r->order, r->cls, r->seed, r->acc,
                  r->loss, r->epoch_s, r->train_ips, r->infer_ips);
    }
}

static cJSON *paired_json(const on_paired *d) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pairs", d->n);
    cJSON_AddNumberToObject(o, "difference", d->mean);
    cJSON_AddNumberToObject(o, "ci95_low", d->lo);
    cJSON_AddNumberToObject(o, "ci95_high", d->hi);
    cJSON_AddNumberToObject(o, "p", d->p);
    return o;
}

static char *write_json(const on_report *rp) {
    cJSON *root = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(root, "runs"),
          *jcls = cJSON_AddArrayToObject(root, "classes");
    for (int k = 0; k < rp->nr; k++) {
        const on_run_row *r = &rp->r[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "order", r->order);
        cJSON_AddNumberToObject(o, "class", r->cls);
        cJSON_AddNumberToObject(o, "seed", r->seed);
        cJSON_AddNumberToObject(o, "test_accuracy", r->acc);
        cJSON_AddNumberToObject(o, "test_loss", r->loss);
        cJSON_AddNumberToObject(o, "epoch_seconds", r->epoch_s);
        cJSON_AddNumberToObject(o, "train_images_per_s", r->train_ips);
        cJSON_AddNumberToObject(o, "infer_images_per_s", r->infer_ips);
        if (r->epochs) cJSON_AddItemToObject(o, "epochs", cJSON_Duplicate(r->epochs, 1));
        cJSON_AddItemToArray(runs, o);
    }
    for (int i = 0; i < rp->nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", cs->id);
        cJSON_AddNumberToObject(o, "rank", i + 1);
        cJSON_AddStringToObject(o, "representative", cs->rep);
        cJSON_AddItemToObject(o, "members", cJSON_Duplicate(cs->members, 1));
        cJSON_AddNumberToObject(o, "runs", cs->n);
        cJSON_AddNumberToObject(o, "mean_accuracy", cs->acc.mean);
        cJSON_AddNumberToObject(o, "ci95", cs->acc.half_ci);
        cJSON_AddNumberToObject(o, "epoch_seconds", cs->epoch_s);
        cJSON_AddNumberToObject(o, "train_images_per_s", cs->train_ips);
        cJSON_AddNumberToObject(o, "infer_images_per_s", cs->infer_ips);
        cJSON_AddNumberToObject(o, "p_vs_best", cs->cmp.d.p);
        cJSON_AddNumberToObject(o, "p_vs_best_adjusted", cs->cmp.p_adj);
        cJSON_AddItemToObject(o, "vs_best", paired_json(&cs->cmp.d));
        cJSON_AddStringToObject(o, "decision", decision_text(cs->cmp.decision));
        for (int s = 0; s < rp->nspeed; s++) {
            const on_speed_row *sp = &rp->speed[s];
            if (sp->cls != cs->id) continue;
            cJSON_AddNumberToObject(o, "train_step_ms_median", sp->train_ms);
            cJSON_AddNumberToObject(o, "infer_batch_ms_median", sp->infer_ms);
        }
        cJSON_AddItemToArray(jcls, o);
    }
    cJSON *qs = cJSON_AddArrayToObject(root, "questions");
    for (int i = 0; i < rp->nq; i++) {
        cJSON *o = paired_json(&rp->q[i].d);
        cJSON_AddStringToObject(o, "question", rp->q[i].q);
        cJSON_AddStringToObject(o, "difference_is", rp->q[i].yes);
        cJSON_AddNumberToObject(o, "p_holm", rp->q[i].p_holm);
        cJSON_AddItemToArray(qs, o);
    }
    cJSON *m = cJSON_AddObjectToObject(root, "method");
    cJSON_AddStringToObject(m, "test",
                            "paired t-test over seeds (same seed: same initial "
                            "weights and batch order in every class)");
    cJSON_AddStringToObject(m, "multiplicity",
                            "worse: Holm over all pairs of classes; equivalent: multiple "
                            "comparisons with the best (Hsu, Bonferroni form); questions: Holm "
                            "over the questions");
    cJSON_AddNumberToObject(m, "alpha", rp->alpha);
    cJSON_AddNumberToObject(m, "equivalence_margin", rp->margin);
    cJSON_AddBoolToObject(m, "adaptive", rp->adaptive);
    cJSON_AddItemToObject(root, "study", cJSON_Duplicate(rp->conf, 1));
    char *js = cJSON_Print(root);
    cJSON_Delete(root);
    return js;
}
static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int on_report_pool_first(const on_report *rp, double *tf, double *tn, double *sf, double *sn) {
    int nf = 0, nn = 0, cap = rp->nspeed + 1;
    double *v = malloc(sizeof(double) * 4 * (size_t)cap);
    if (!v) return -1;
    double *a = v, *b = v + cap, *c = v + 2 * cap, *d = v + 3 * cap;
    for (int s = 0; s < rp->nspeed; s++)
        for (int i = 0; i < rp->nc; i++) {
            if (rp->cs[i].id != rp->speed[s].cls) continue;
            if (position(rp->cs[i].rep, K_POOL) == 0)
                a[nf] = rp->speed[s].train_ms, c[nf++] = rp->speed[s].infer_ms;
            else
                b[nn] = rp->speed[s].train_ms, d[nn++] = rp->speed[s].infer_ms;
        }
    int rc = nf && nn ? 0 : -1;
    if (!rc) {
        *tf = median_of(a, nf), *sf = median_of(c, nf);
        *tn = median_of(b, nn), *sn = median_of(d, nn);
    }
    free(v);
    return rc;
}

static void write_md(on_sb *b, const on_report *rp) {
    const on_study_cfg *c = rp->c;
    char pb[32], ph[32], db[64];
    on_sb_add(b, "# Does the order of {%s} matter?\n\n", rp->block ? rp->block : "");
    on_sb_add(b,
              "Study `%s` on %s: %d orders of the block, grouped by proof into %d training "
              "classes (orders of one class train to bit-identical weights, see "
              "docs/ORDERING.md); the cheapest member of each class trained with %d seed(s)%s, "
              "%d epoch(s) on %d images, tested on %d.\n\n",
              rp->key, c->data,
              (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rp->conf, "orders")),
              rp->nc, rp->base_seeds, rp->adaptive ? " and more where undecided (--budget)" : "",
              c->epochs, c->limit, c->test_limit);
    on_sb_add(b,
              "Classes are compared by **paired t-tests over seeds** (runs with the same seed "
              "share initial weights and batch order, so each seed's luck cancels in the "
              "difference). A class is *worse* than the best when its test with a class above "
              "it stays below %g after **Holm's adjustment over all %d pairs of classes**; "
              "*equivalent* when, against every other class, a one-sided bound at %g/(k-1) "
              "(k = %d classes; Hsu's multiple comparisons with the best) keeps it within "
              "±%.1f points; else *undecided*. The chance of any false \"worse\" claim is at "
              "most %g%%, and so is that of any false \"equivalent\" one, whichever class "
              "happens to look best. Differences are best minus class, in points, with "
              "(unadjusted) 95%% intervals.\n\n",
              rp->alpha, rp->nc * (rp->nc - 1) / 2, rp->alpha, rp->nc, 100 * rp->margin,
              100 * rp->alpha);
    on_sb_add(b, "| rank | class | order trained | runs | test accuracy (95%% CI) | vs best: "
                 "difference [95%% CI] | paired p | adjusted p | verdict | s/epoch | train img/s | "
                 "inference img/s |\n");
    on_sb_add(b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < rp->nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        if (!cs->n) {
            on_sb_add(b, "| - | %d | %s | 0 | not run yet | | | | | | | |\n", cs->id, cs->rep);
            continue;
        }
        char ci[48] = "";
        if (!isnan(cs->acc.half_ci)) snprintf(ci, sizeof ci, " ± %.2f pt", 100 * cs->acc.half_ci);
        on_sb_add(b,
                  "| %d | %d | `%s` | %d | %.2f%%%s | %s | %s | %s | %s | %.2f | %.0f | %.0f |\n",
                  i + 1, cs->id, cs->rep, cs->n, 100 * cs->acc.mean, ci,
                  i ? fmt_diff(&cs->cmp.d, db) : "", i ? fmt_p(cs->cmp.d.p, pb) : "",
                  i ? fmt_p(cs->cmp.p_adj, ph) : "", decision_text(cs->cmp.decision), cs->epoch_s,
                  cs->train_ips, cs->infer_ips);
    }
    on_sb_add(b, "\nMembers of each class (equal by proof, so not trained separately):\n\n");
    for (int i = 0; i < rp->nc; i++) {
        on_sb_add(b, "- class %d:", rp->cs[i].id);
        for (int k = 0; k < cJSON_GetArraySize(rp->cs[i].members); k++)
            on_sb_add(b, "%s `%s`", k ? "," : "",
                      cJSON_GetStringValue(cJSON_GetArrayItem(rp->cs[i].members, k)));
        on_sb_add(b, "\n");
    }
    /* the verdict */
    on_sb_add(b, "\n## Verdict\n\n");
    const on_class_row *best = rp->nc ? &rp->cs[0] : NULL;
    if (best && best->n) {
        on_sb_add(b, "Best: class %d (`%s`), %.2f%%.", best->id, best->rep, 100 * best->acc.mean);
        static const struct {
            int d;
            const char *what;
        } groups[] = {{ON_WORSE, "Worse than the best (adjusted p < %g)"},
                      {ON_EQUIVALENT, "Within ±%.1f points of the best (shown against every "
                                      "class)"},
                      {ON_UNDECIDED, "Not decided by these runs (neither worse nor shown "
                                     "equivalent: more seeds would tell)"}};
        for (int g = 0; g < 3; g++) {
            int any = 0;
            for (int i = 1; i < rp->nc; i++) {
                const on_class_row *cs = &rp->cs[i];
                if (!cs->n || cs->cmp.decision != groups[g].d) continue;
                if (!any++) {
                    on_sb_add(b, " ");
                    if (g == 1)
                        on_sb_add(b, groups[g].what, 100 * rp->margin);
                    else
                        on_sb_add(b, groups[g].what, rp->alpha);
                    on_sb_add(b, ":");
                }
                on_sb_add(b, "%s class %d (%s)", any > 1 ? "," : "", cs->id,
                          fmt_diff(&cs->cmp.d, db));
            }
            if (any) on_sb_add(b, ".");
        }
        if (rp->ns < 2)
            on_sb_add(b, " With one seed per class there is no test: run with --seeds 3 or more.");
        if (rp->adaptive)
            on_sb_add(b,
                      " Adaptive seeds: each added seed is another look at the data; look k "
                      "is judged at alpha 6·%g/(π²k²), which sums to %g over all looks, so "
                      "the chance of any false claim of \"worse\" or \"equivalent\" in this "
                      "study is at most %g%%.",
                      rp->alpha, rp->alpha, 100 * rp->alpha);
        on_sb_add(b, "\n");
    } else {
        on_sb_add(b, "No finished runs yet.\n");
    }
    /* the thread's questions */
    on_sb_add(b, "\n## The forum thread's questions, answered by this run\n\n");
    on_sb_add(b,
              "Each question is a contrast: per seed, the mean accuracy of the classes with "
              "the first placement minus that of the classes with the other, then a t-test "
              "and 95%% interval over the seeds; p-values also Holm-adjusted over the %d "
              "questions.\n\n",
              rp->nq);
    for (int i = 0; i < rp->nq; i++) {
        const on_question *q = &rp->q[i];
        int sig = q->p_holm < rp->alpha;
        on_sb_add(b, "- **%s** %s minus %s: %s (seeds: %d), p %s, Holm p %s: %s.\n", q->q, q->yes,
                  q->no, fmt_diff(&q->d, db), q->d.n, fmt_p(q->d.p, pb), fmt_p(q->p_holm, ph),
                  sig ? (q->d.mean > 0 ? "before is better here" : "after is better here")
                      : "not a significant difference here");
    }
    double tf, tn, sf, sn;
    if (!on_report_pool_first(rp, &tf, &tn, &sf, &sn))
        on_sb_add(b,
                  "- **Does pooling first change speed?** Measured (each class's training step "
                  "and inference timed interleaved, %d rounds; the median over the classes of "
                  "their medians): a training step of "
                  "batch %d takes %.2f ms with the pool first against %.2f ms otherwise "
                  "(%+.0f%%); an inference batch of %d takes %.2f against %.2f ms (%+.0f%%).\n",
                  rp->speed_rounds, rp->speed_batch, tf, tn, 100 * (tf - tn) / tn,
                  rp->speed_infer_batch, sf, sn, 100 * (sf - sn) / sn);
    if (rp->nspeed) {
        on_sb_add(b,
                  "\n## Speed, measured\n\nEach class's training step (batch %d) and "
                  "inference (batch %d, optimized model) timed in turn, class after class, "
                  "%d rounds; median [min, max] over the rounds, ms:\n\n",
                  rp->speed_batch, rp->speed_infer_batch, rp->speed_rounds);
        on_sb_add(b, "| class | order | training step | inference batch |\n| --- | --- | --- | "
                     "--- |\n");
        for (int i = 0; i < rp->nc; i++)
            for (int s = 0; s < rp->nspeed; s++) {
                const on_speed_row *sp = &rp->speed[s];
                if (sp->cls != rp->cs[i].id) continue;
                on_sb_add(b, "| %d | `%s` | %.2f [%.2f, %.2f] | %.2f [%.2f, %.2f] |\n", sp->cls,
                          rp->cs[i].rep, sp->train_ms, sp->train_lo, sp->train_hi, sp->infer_ms,
                          sp->infer_lo, sp->infer_hi);
            }
    }
    on_sb_add(b, "\nAll numbers: results.csv, results.json; plots: report.html, report.svg.\n");
}

int on_study_report(void *dbp, const char *key, const on_study_cfg *c, on_error *err) {
    sqlite3 *db = dbp;
    sqlite3_stmt *st;
    on_report rp = {.key = key, .c = c, .alpha = 0.05, .margin = 0.005};
    rp.adaptive = c->budget > 0;
    rp.base_seeds = c->seeds;
    if (sqlite3_prepare_v2(db, "SELECT config FROM studies WHERE study=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            rp.conf = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (!rp.conf) return on_fail(err, "study %s: no configuration stored", key);
    rp.block = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rp.conf, "block"));
    int rc = read_runs(db, key, &rp, err);
    if (!rc) rc = analyze(&rp, err);
    if (!rc) on_study_speed_load(db, key, &rp);
    on_sb b = {0};
    if (!rc) {
        write_csv(&b, &rp);
        rc = put_file(c->out, "results.csv", b.s ? b.s : "", err);
    }
    char *js = rc ? NULL : write_json(&rp);
    if (!rc) rc = put_file(c->out, "results.json", js ? js : "{}", err);
    free(js);
    b.n = 0;
    if (!rc) {
        write_md(&b, &rp);
        rc = put_file(c->out, "report.md", b.s, err);
    }
    b.n = 0;
    if (!rc) {
        svg(&b, rp.cs, rp.nc);
        rc = put_file(c->out, "report.svg", b.s, err);
    }
    char *html = rc ? NULL : on_report_html(&rp);
    if (!rc) rc = html ? put_file(c->out, "report.html", html, err) : on_fail(err, "out of memory");
    free(html);
    if (!rc && c->log) {
        char line[512];
        snprintf(line, sizeof line,
                 "report: %s/report.html, report.md, report.svg, results.csv, results.json",
                 c->out);
        c->log(c->user, line);
    }
    free(b.s);
    for (int k = 0; k < rp.nr; k++) cJSON_Delete(rp.r[k].epochs);
    free(rp.r);
    free(rp.cs);
    free(rp.speed);
    cJSON_Delete(rp.conf);
    return rc;
}
