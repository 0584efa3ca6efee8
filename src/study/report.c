/* report.c - what a study found: results.csv, results.json, report.md and report.svg in
 * the output directory, from the runs stored in study.sqlite. Classes are ranked by mean
 * test accuracy with 95% Student-t intervals; each is compared with the best by Welch's
 * t-test; the forum thread's empirical questions are answered from the same numbers.
 * Every file is written to a temporary name and renamed, so a report is whole or absent.
 */
#include "study.h"
#include "../analyze/analyze.h"
#include "../spec/args.h"
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

typedef struct run {
    char order[512];
    int cls, seed;
    double acc, loss, epoch_s, train_ips, infer_ips;
} run;

typedef struct cls {
    int id, n;
    const char *rep;
    cJSON *members;
    on_summary acc;
    double epoch_s, infer_ips, train_ips, p_best, modelled_us;
} cls;

static int cmp_cls(const void *a, const void *b) {
    const cls *x = a, *y = b;
    if (!x->n != !y->n) return x->n ? -1 : 1;
    return (x->acc.mean < y->acc.mean) - (x->acc.mean > y->acc.mean);
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

/* Mean accuracy of the runs whose order satisfies pred (a < b positions), and the rest. */
static void split_compare(const run *r, int nr, int ka, int kb, on_summary *yes, on_summary *no,
                          double *p) {
    double *a = malloc(sizeof(double) * (size_t)(nr + 1)),
           *b = malloc(sizeof(double) * (size_t)(nr + 1));
    int na = 0, nb = 0;
    for (int i = 0; i < nr; i++) {
        int pa = position(r[i].order, ka), pb = position(r[i].order, kb);
        if (pa < 0 || pb < 0) continue;
        if (pa < pb)
            a[na++] = r[i].acc;
        else
            b[nb++] = r[i].acc;
    }
    *yes = on_summarize(a, na);
    *no = on_summarize(b, nb);
    *p = on_welch_p(*yes, *no);
    free(a);
    free(b);
}

static double mean_of(const run *r, int nr, int kind, int first, int want_speed) {
    double s = 0;
    int n = 0;
    for (int i = 0; i < nr; i++) {
        int pos = position(r[i].order, kind);
        if (pos < 0 || (pos == 0) != first) continue;
        s += want_speed ? r[i].infer_ips : r[i].epoch_s;
        n++;
    }
    return n ? s / n : NAN;
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

static void svg(on_sb *b, cls *cs, int nc) {
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

int on_study_report(void *dbp, const char *key, const on_study_cfg *c, on_error *err) {
    sqlite3 *db = dbp;
    sqlite3_stmt *st;
    cJSON *conf = NULL;
    if (sqlite3_prepare_v2(db, "SELECT config FROM studies WHERE study=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            conf = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (!conf) return on_fail(err, "study %s: no configuration stored", key);
    int nr = 0, cap = 256;
    run *r = malloc(sizeof(run) * (size_t)cap);
    if (sqlite3_prepare_v2(db,
                           "SELECT ord, class, seed, test_accuracy, test_loss, epoch_seconds, "
                           "train_images_per_s, infer_images_per_s FROM runs WHERE study=? "
                           "ORDER BY class, seed",
                           -1, &st, NULL) != SQLITE_OK) {
        cJSON_Delete(conf);
        free(r);
        return on_fail(err, "store: %s", sqlite3_errmsg(db));
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (nr == cap) r = realloc(r, sizeof(run) * (size_t)(cap *= 2));
        snprintf(r[nr].order, sizeof r[nr].order, "%s", (const char *)sqlite3_column_text(st, 0));
        r[nr].cls = sqlite3_column_int(st, 1);
        r[nr].seed = sqlite3_column_int(st, 2);
        r[nr].acc = sqlite3_column_double(st, 3);
        r[nr].loss = sqlite3_column_double(st, 4);
        r[nr].epoch_s = sqlite3_column_double(st, 5);
        r[nr].train_ips = sqlite3_column_double(st, 6);
        r[nr].infer_ips = sqlite3_column_double(st, 7);
        nr++;
    }
    sqlite3_finalize(st);
    cJSON *jc = cJSON_GetObjectItemCaseSensitive(conf, "classes");
    int nc = cJSON_GetArraySize(jc);
    cls *cs = calloc((size_t)nc + 1, sizeof(cls));
    double *tmp = malloc(sizeof(double) * (size_t)(nr + 1));
    for (int i = 0; i < nc; i++) {
        cJSON *co = cJSON_GetArrayItem(jc, i);
        cs[i].id = (int)cJSON_GetObjectItemCaseSensitive(co, "id")->valuedouble;
        cs[i].rep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(co, "representative"));
        cs[i].members = cJSON_GetObjectItemCaseSensitive(co, "members");
        cs[i].modelled_us =
            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(co, "modelled_us"));
        int n = 0;
        for (int k = 0; k < nr; k++) {
            if (r[k].cls != cs[i].id) continue;
            tmp[n++] = r[k].acc;
            cs[i].epoch_s += r[k].epoch_s;
            cs[i].infer_ips += r[k].infer_ips;
            cs[i].train_ips += r[k].train_ips;
        }
        cs[i].n = n;
        cs[i].acc = on_summarize(tmp, n);
        if (n) cs[i].epoch_s /= n, cs[i].infer_ips /= n, cs[i].train_ips /= n;
    }
    free(tmp);
    qsort(cs, (size_t)nc, sizeof *cs, cmp_cls);
    for (int i = 0; i < nc; i++) cs[i].p_best = i ? on_welch_p(cs[0].acc, cs[i].acc) : NAN;

    /* results.csv */
    on_sb b = {0};
    on_sb_add(&b, "order,class,seed,test_accuracy,test_loss,epoch_seconds,train_images_per_s,infer_"
                  "images_per_s\n");
    for (int k = 0; k < nr; k++)
        on_sb_add(&b, "\"%s\",%d,%d,%.6f,%.6f,%.3f,%.1f,%.1f\n", r[k].order, r[k].cls, r[k].seed,
                  r[k].acc, r[k].loss, r[k].epoch_s, r[k].train_ips, r[k].infer_ips);
    int rc = put_file(c->out, "results.csv", b.s ? b.s : "", err);
    /* results.json */
    cJSON *root = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(root, "runs"),
          *jcls = cJSON_AddArrayToObject(root, "classes");
    for (int k = 0; k < nr; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "order", r[k].order);
        cJSON_AddNumberToObject(o, "class", r[k].cls);
        cJSON_AddNumberToObject(o, "seed", r[k].seed);
        cJSON_AddNumberToObject(o, "test_accuracy", r[k].acc);
        cJSON_AddNumberToObject(o, "test_loss", r[k].loss);
        cJSON_AddNumberToObject(o, "epoch_seconds", r[k].epoch_s);
        cJSON_AddNumberToObject(o, "train_images_per_s", r[k].train_ips);
        cJSON_AddNumberToObject(o, "infer_images_per_s", r[k].infer_ips);
        cJSON_AddItemToArray(runs, o);
    }
    for (int i = 0; i < nc; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", cs[i].id);
        cJSON_AddNumberToObject(o, "rank", i + 1);
        cJSON_AddStringToObject(o, "representative", cs[i].rep ? cs[i].rep : "");
        cJSON_AddItemToObject(o, "members", cJSON_Duplicate(cs[i].members, 1));
        cJSON_AddNumberToObject(o, "runs", cs[i].n);
        cJSON_AddNumberToObject(o, "mean_accuracy", cs[i].acc.mean);
        cJSON_AddNumberToObject(o, "ci95", cs[i].acc.half_ci);
        cJSON_AddNumberToObject(o, "epoch_seconds", cs[i].epoch_s);
        cJSON_AddNumberToObject(o, "train_images_per_s", cs[i].train_ips);
        cJSON_AddNumberToObject(o, "infer_images_per_s", cs[i].infer_ips);
        cJSON_AddNumberToObject(o, "p_vs_best", cs[i].p_best);
        cJSON_AddItemToArray(jcls, o);
    }
    cJSON_AddItemToObject(root, "study", cJSON_Duplicate(conf, 1));
    char *js = cJSON_Print(root);
    if (!rc) rc = put_file(c->out, "results.json", js ? js : "{}", err);
    free(js);
    cJSON_Delete(root);

    /* report.md */
    b.n = 0;
    char pb[32];
    const char *block = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(conf, "block"));
    on_sb_add(&b, "# Does the order of {%s} matter?\n\n", block ? block : "");
    on_sb_add(
        &b,
        "Study `%s` on %s: %d orders of the block, grouped by proof into %d training "
        "classes (orders of one class train to bit-identical weights, see docs/ORDERING.md); "
        "the cheapest member of each class trained with %d seed(s), %d epoch(s) on %d images, "
        "tested on %d.\n\n",
        key, c->data, (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(conf, "orders")),
        nc, c->seeds, c->epochs, c->limit, c->test_limit);
    on_sb_add(&b, "| rank | class | order trained | runs | test accuracy (95%% CI) | vs best "
                  "(Welch p) | s/epoch | train img/s | inference img/s |\n");
    on_sb_add(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < nc; i++) {
        if (!cs[i].n) {
            on_sb_add(&b, "| - | %d | %s | 0 | not run yet | | | | |\n", cs[i].id, cs[i].rep);
            continue;
        }
        char ci[48] = "";
        if (!isnan(cs[i].acc.half_ci))
            snprintf(ci, sizeof ci, " ± %.2f pt", 100 * cs[i].acc.half_ci);
        on_sb_add(&b, "| %d | %d | `%s` | %d | %.2f%%%s | %s%s | %.2f | %.0f | %.0f |\n", i + 1,
                  cs[i].id, cs[i].rep, cs[i].n, 100 * cs[i].acc.mean, ci, i ? "" : "best",
                  i ? fmt_p(cs[i].p_best, pb) : "", cs[i].epoch_s, cs[i].train_ips,
                  cs[i].infer_ips);
    }
    on_sb_add(&b, "\nMembers of each class (equal by proof, so not trained separately):\n\n");
    for (int i = 0; i < nc; i++) {
        on_sb_add(&b, "- class %d:", cs[i].id);
        for (int k = 0; k < cJSON_GetArraySize(cs[i].members); k++)
            on_sb_add(&b, "%s `%s`", k ? "," : "",
                      cJSON_GetStringValue(cJSON_GetArrayItem(cs[i].members, k)));
        on_sb_add(&b, "\n");
    }
    /* verdict from the numbers */
    on_sb_add(&b, "\n## Verdict\n\n");
    if (nc && cs[0].n) {
        on_sb_add(&b, "Best: class %d (`%s`), %.2f%%. ", cs[0].id, cs[0].rep, 100 * cs[0].acc.mean);
        on_sb_add(&b, "Within noise of it (Welch's t-test, p >= 0.05):");
        int any = 0;
        for (int i = 1; i < nc; i++)
            if (cs[i].n && !(cs[i].p_best < 0.05))
                on_sb_add(&b, "%s class %d", any++ ? "," : "", cs[i].id);
        on_sb_add(&b, "%s.", any ? "" : " none");
        any = 0;
        for (int i = 1; i < nc; i++)
            if (cs[i].n && cs[i].p_best < 0.05)
                on_sb_add(&b, "%s class %d by %.2f points (p %s)",
                          any++ ? ";" : " Worse than the best:", cs[i].id,
                          100 * (cs[0].acc.mean - cs[i].acc.mean), fmt_p(cs[i].p_best, pb));
        if (any) on_sb_add(&b, ".");
        if (c->seeds < 2)
            on_sb_add(&b,
                      " With one seed per class there is no interval: run with --seeds 3 or more.");
        on_sb_add(&b, "\n");
    } else {
        on_sb_add(&b, "No finished runs yet.\n");
    }
    /* the thread's questions */
    on_sb_add(&b, "\n## The forum thread's questions, answered by this run\n\n");
    /* each question: does layer kind a before kind b change accuracy? */
    static const struct {
        int a, b;
        const char *q;
    } questions[] = {
        {K_BN, K_POOL, "BatchNorm before or after max-pooling?"},
        {K_BN, K_ACT, "BatchNorm before the activation (fastai, ResNet) or after?"},
        {K_DROP, K_POOL, "Dropout before or after pooling?"},
        {K_DROP, K_BN, "Dropout before or after BatchNorm?"},
    };
    for (size_t q = 0; q < sizeof questions / sizeof questions[0]; q++) {
        on_summary yes, no;
        double p;
        split_compare(r, nr, questions[q].a, questions[q].b, &yes, &no, &p);
        if (!yes.n || !no.n) continue;
        on_sb_add(&b,
                  "- **%s** Before: %.2f%% (%d runs); after: %.2f%% (%d runs); difference %.2f "
                  "points, Welch p %s: %s.\n",
                  questions[q].q, 100 * yes.mean, yes.n, 100 * no.mean, no.n,
                  100 * (yes.mean - no.mean), fmt_p(p, pb),
                  p < 0.05 ? "significant here" : "not a significant difference here");
    }
    double tf = mean_of(r, nr, K_POOL, 1, 0), tn = mean_of(r, nr, K_POOL, 0, 0);
    double sf = mean_of(r, nr, K_POOL, 1, 1), sn = mean_of(r, nr, K_POOL, 0, 1);
    if (!isnan(tf) && !isnan(tn))
        on_sb_add(
            &b,
            "- **Does pooling first change speed?** Training: %.2f s/epoch with the pool first "
            "against %.2f s otherwise (%+.0f%%); inference: %.0f against %.0f images/s. "
            "(Equal-by-proof orders differ only in speed; the cheapest was trained.)\n",
            tf, tn, 100 * (tf - tn) / tn, sf, sn);
    on_sb_add(&b, "\nAll numbers: results.csv, results.json; plot: report.svg.\n");
    if (!rc) rc = put_file(c->out, "report.md", b.s, err);
    b.n = 0;
    svg(&b, cs, nc);
    if (!rc) rc = put_file(c->out, "report.svg", b.s, err);
    if (!rc && c->log) {
        char line[512];
        snprintf(line, sizeof line, "report: %s/report.md, report.svg, results.csv, results.json",
                 c->out);
        c->log(c->user, line);
    }
    free(b.s);
    free(cs);
    free(r);
    cJSON_Delete(conf);
    return rc;
}
