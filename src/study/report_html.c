/* report_html.c - report.html: the study in one self-contained page (inline CSS and SVG,
 * no scripts, no external assets, opens offline). Classes ranked with every seed's result
 * as a dot and the 95% interval; the verdict and the thread's questions with intervals on
 * the differences; learning curves (loss and accuracy per epoch, every run); accuracy
 * against measured time; the block's orders grouped into their classes with the swaps that
 * connect them; every run in a table; links to results.csv and results.json. Every run's
 * dot carries data-run="CLASS-SEED" so tests can find each one.
 */
#include "report.h"
#include "../strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
                                "#637939", "#8c6d31", "#7b4173", "#3182bd"};

static const char *color(int rank) {
    return palette[rank % 16];
}

/* Text with <, >, & and quotes escaped. */
static void esc(on_sb *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            on_sb_add(b, "&lt;");
            break;
        case '>':
            on_sb_add(b, "&gt;");
            break;
        case '&':
            on_sb_add(b, "&amp;");
            break;
        case '"':
            on_sb_add(b, "&quot;");
            break;
        default:
            on_sb_add(b, "%c", *s);
        }
    }
}

static void diff_text(on_sb *b, const on_paired *d) {
    if (!d->n)
        on_sb_add(b, "n/a");
    else if (isnan(d->lo))
        on_sb_add(b, "%+.2f pt", 100 * d->mean);
    else
        on_sb_add(b, "%+.2f pt [%+.2f, %+.2f]", 100 * d->mean, 100 * d->lo, 100 * d->hi);
}

static void p_text(on_sb *b, double p) {
    if (isnan(p))
        on_sb_add(b, "n/a");
    else if (p < 0.001)
        on_sb_add(b, "&lt; 0.001");
    else
        on_sb_add(b, "%.3f", p);
}

static const char *decision(int d) {
    return d == ON_BEST         ? "best"
           : d == ON_WORSE      ? "worse"
           : d == ON_EQUIVALENT ? "equivalent"
                                : "undecided";
}

/* v within [lo, hi]: intervals of few seeds can pass 0% or 100%; the chart stops there. */
static double clamp(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* The rank (0-based) of class id, or -1. */
static int rank_of(const on_report *rp, int id) {
    for (int i = 0; i < rp->nc; i++)
        if (rp->cs[i].id == id) return i;
    return -1;
}

/* ---- classes ranked: each seed a dot, the mean and its interval ---- */
static void ranked(on_sb *b, const on_report *rp) {
    double lo = 1, hi = 0;
    for (int k = 0; k < rp->nr; k++) {
        if (rp->r[k].acc < lo) lo = rp->r[k].acc;
        if (rp->r[k].acc > hi) hi = rp->r[k].acc;
    }
    for (int i = 0; i < rp->nc; i++) {
        const on_summary *a = &rp->cs[i].acc;
        if (!rp->cs[i].n || isnan(a->half_ci)) continue;
        if (a->mean - a->half_ci < lo) lo = a->mean - a->half_ci;
        if (a->mean + a->half_ci > hi) hi = a->mean + a->half_ci;
    }
    if (hi <= lo) lo -= 0.005, hi += 0.005;
    double pad = (hi - lo) * 0.05;
    lo = lo - pad > 0 ? lo - pad : 0, hi = hi + pad < 1 ? hi + pad : 1; /* accuracy: 0 to 1 */
    int W = 1100, row = 26, top = 30, H = top + row * rp->nc + 30, x0 = 360, x1 = 820;
#define X(v) (x0 + (clamp(v, lo, hi) - lo) / (hi - lo) * (x1 - x0))
    on_sb_add(
        b, "<svg class=\"chart\" id=\"ranked\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        W, H, W, H);
    on_sb_add(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    /* axis: ticks every half or whole point */
    static const double steps[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2};
    double step = 0.5;
    for (int k = 8; k >= 0; k--)
        if ((hi - lo) / steps[k] <= 9) step = steps[k];
    for (double v = ceil(lo / step) * step; v <= hi; v += step) {
        on_sb_add(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#eee\"/>", X(v),
                  X(v), top - 6, top + row * rp->nc);
        on_sb_add(b,
                  "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%.1f%%</text>\n",
                  X(v), top + row * rp->nc + 16, 100 * v);
    }
    on_sb_add(b,
              "<text x=\"%d\" y=\"16\" class=\"hd\">test accuracy: each dot one seed; bar: "
              "mean and 95%% interval</text>",
              x0);
    on_sb_add(b, "<text x=\"%d\" y=\"16\" class=\"hd\">vs best: difference [95%% CI]</text>\n",
              x1 + 20);
    for (int i = 0; i < rp->nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        double y = top + row * i + row / 2.0;
        on_sb_add(b, "<g class=\"cls\" data-class=\"%d\">", cs->id);
        on_sb_add(b, "<text x=\"6\" y=\"%.1f\" class=\"lab\">%d. class %d: ", y + 4, i + 1, cs->id);
        esc(b, cs->rep);
        on_sb_add(b, "</text>");
        if (cs->n && !isnan(cs->acc.half_ci))
            on_sb_add(b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"6\" stroke-opacity=\"0.25\"/>",
                      X(cs->acc.mean - cs->acc.half_ci), X(cs->acc.mean + cs->acc.half_ci), y, y,
                      color(i));
        if (cs->n)
            on_sb_add(b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"2\"/>",
                      X(cs->acc.mean), X(cs->acc.mean), y - 9, y + 9, color(i));
        for (int k = 0; k < rp->nr; k++) {
            const on_run_row *r = &rp->r[k];
            if (r->cls != cs->id) continue;
            /* seeds spread a little vertically so equal values stay visible */
            double dy = ((r->seed % 5) - 2) * 2.0;
            on_sb_add(b,
                      "<circle class=\"run\" data-run=\"%d-%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                      "fill=\"%s\"><title>class %d seed %d: %.2f%%</title></circle>",
                      r->cls, r->seed, X(r->acc), y + dy, color(i), r->cls, r->seed, 100 * r->acc);
        }
        on_sb_add(b, "<text x=\"%d\" y=\"%.1f\" class=\"lab %s\">", x1 + 20, y + 4,
                  decision(cs->cmp.decision));
        if (i) {
            diff_text(b, &cs->cmp.d);
            on_sb_add(b, " &#183; %s", decision(cs->cmp.decision));
        } else {
            on_sb_add(b, "best: %.2f%%", 100 * cs->acc.mean);
        }
        on_sb_add(b, "</text></g>\n");
    }
#undef X
    on_sb_add(b, "</svg>\n");
}

/* ---- the thread's questions: a forest plot of the contrasts ---- */
static void forest(on_sb *b, const on_report *rp) {
    if (!rp->nq) return;
    double m = 0.002;
    for (int i = 0; i < rp->nq; i++) {
        const on_paired *d = &rp->q[i].d;
        double a = fabs(isnan(d->lo) ? d->mean : d->lo), c = fabs(isnan(d->hi) ? d->mean : d->hi);
        if (a > m) m = a;
        if (c > m) m = c;
    }
    m *= 1.15;
    int W = 1100, row = 30, top = 24, H = top + row * rp->nq + 28, x0 = 430, x1 = 880;
#define X(v) (x0 + ((v) + m) / (2 * m) * (x1 - x0))
    on_sb_add(
        b,
        "<svg class=\"chart\" id=\"questions\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        W, H, W, H);
    on_sb_add(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    on_sb_add(b,
              "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#888\" "
              "stroke-dasharray=\"4 3\"/>",
              X(0), X(0), top - 8, top + row * rp->nq);
    on_sb_add(b, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">0</text>", X(0),
              top + row * rp->nq + 16);
    on_sb_add(b, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%+.2f pt</text>",
              X(-m), top + row * rp->nq + 16, -100 * m);
    on_sb_add(b,
              "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%+.2f pt</text>\n",
              X(m), top + row * rp->nq + 16, 100 * m);
    on_sb_add(b,
              "<text x=\"%d\" y=\"14\" class=\"hd\">first placement minus the other, points: "
              "mean over seeds and 95%% interval</text>\n",
              x0);
    for (int i = 0; i < rp->nq; i++) {
        const on_question *q = &rp->q[i];
        double y = top + row * i + row / 2.0;
        on_sb_add(b, "<text x=\"6\" y=\"%.1f\" class=\"lab\">", y + 4);
        esc(b, q->q);
        on_sb_add(b, "</text>");
        if (!isnan(q->d.lo))
            on_sb_add(b,
                      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
                      "stroke-width=\"2\"/>",
                      X(q->d.lo), X(q->d.hi), y, y);
        if (q->d.n)
            on_sb_add(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"%s\"/>",
                      X(q->d.mean) - 4, y - 4, q->p_holm < rp->alpha ? "#d62728" : "#1f77b4");
        on_sb_add(b, "<text x=\"%d\" y=\"%.1f\" class=\"lab\">", x1 + 12, y + 4);
        diff_text(b, &q->d);
        on_sb_add(b, "</text>\n");
    }
#undef X
    on_sb_add(b, "</svg>\n");
}

/* ---- line charts over epochs: field of every run's epochs, one line per run ---- */
static double ep_num(const cJSON *e, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void curves(on_sb *b, const on_report *rp, const char *field, const char *title, int pct,
                   const char *id) {
    double lo = INFINITY, hi = -INFINITY;
    int emax = 1;
    for (int k = 0; k < rp->nr; k++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, rp->r[k].epochs) {
            double v = ep_num(e, field), ep = ep_num(e, "epoch");
            if (!isfinite(v) || v < 0) continue;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (ep > emax) emax = (int)ep;
        }
    }
    int W = 540, H = 300, x0 = 56, x1 = W - 14, y0 = 30, y1 = H - 34;
    on_sb_add(b,
              "<svg class=\"chart\" id=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
              id, W, H, W, H);
    on_sb_add(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    on_sb_add(b, "<text x=\"%d\" y=\"16\" class=\"hd\">%s</text>\n", x0, title);
    on_sb_add(
        b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#bbb\"/>\n",
        x0, y0, x1 - x0, y1 - y0);
    if (!(hi >= lo)) {
        on_sb_add(b,
                  "<text x=\"%d\" y=\"%d\" class=\"lab\">no per-epoch log in the store</text>"
                  "</svg>\n",
                  x0 + 10, (y0 + y1) / 2);
        return;
    }
    if (hi - lo < 1e-9) lo -= 0.01, hi += 0.01;
    double pad = (hi - lo) * 0.05;
    lo -= pad, hi += pad;
#define PX(ep) (emax > 1 ? x0 + ((ep)-1) / (double)(emax - 1) * (x1 - x0) : (x0 + x1) / 2.0)
#define PY(v) (y1 - ((v)-lo) / (hi - lo) * (y1 - y0))
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4;
        on_sb_add(b, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">", x0 - 4,
                  PY(v) + 4);
        on_sb_add(b, pct ? "%.1f%%" : "%.3f", pct ? 100 * v : v);
        on_sb_add(b, "</text>");
    }
    for (int ep = 1; ep <= emax; ep++)
        on_sb_add(b, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%d</text>",
                  PX(ep), y1 + 14, ep);
    on_sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">epoch</text>\n",
              (x0 + x1) / 2, y1 + 28);
    for (int k = 0; k < rp->nr; k++) {
        int rk = rank_of(rp, rp->r[k].cls);
        const cJSON *e;
        on_sb_add(b,
                  "<polyline class=\"curve\" data-run=\"%d-%d\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"1.5\" stroke-opacity=\"0.8\" points=\"",
                  rp->r[k].cls, rp->r[k].seed, color(rk < 0 ? 0 : rk));
        cJSON_ArrayForEach(e, rp->r[k].epochs) {
            double v = ep_num(e, field), ep = ep_num(e, "epoch");
            if (isfinite(v) && v >= 0 && isfinite(ep)) on_sb_add(b, "%.1f,%.1f ", PX(ep), PY(v));
        }
        on_sb_add(b, "\"><title>class %d seed %d</title></polyline>\n", rp->r[k].cls,
                  rp->r[k].seed);
        cJSON_ArrayForEach(e, rp->r[k].epochs) {
            double v = ep_num(e, field), ep = ep_num(e, "epoch");
            if (isfinite(v) && v >= 0 && isfinite(ep))
                on_sb_add(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>", PX(ep), PY(v),
                          color(rk < 0 ? 0 : rk));
        }
    }
#undef PX
#undef PY
    on_sb_add(b, "</svg>\n");
}

/* ---- accuracy against time: measured step time when there is one, else s/epoch ---- */
static void acc_time(on_sb *b, const on_report *rp) {
    int measured = rp->nspeed > 0;
    double tlo = INFINITY, thi = 0, lo = 1, hi = 0;
    for (int i = 0; i < rp->nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        if (!cs->n) continue;
        double t0 = cs->epoch_s, t1 = cs->epoch_s;
        for (int s = 0; measured && s < rp->nspeed; s++)
            if (rp->speed[s].cls == cs->id) t0 = rp->speed[s].train_lo, t1 = rp->speed[s].train_hi;
        if (t0 < tlo) tlo = t0;
        if (t1 > thi) thi = t1;
        double h = isnan(cs->acc.half_ci) ? 0 : cs->acc.half_ci;
        if (cs->acc.mean - h < lo) lo = cs->acc.mean - h;
        if (cs->acc.mean + h > hi) hi = cs->acc.mean + h;
    }
    if (!(thi >= tlo)) tlo = 0, thi = 1;
    if (thi - tlo < 1e-9) tlo *= 0.9, thi = thi * 1.1 + 1e-6;
    double tp = (thi - tlo) * 0.08;
    tlo = tlo - tp > 0 ? tlo - tp : 0, thi += tp;
    if (hi <= lo) lo -= 0.005, hi += 0.005;
    double pad = (hi - lo) * 0.08;
    lo = lo - pad > 0 ? lo - pad : 0, hi = hi + pad < 1 ? hi + pad : 1;
    int W = 1100, H = 380, x0 = 70, x1 = W - 200, y0 = 30, y1 = H - 40;
#define PX(v) (x0 + ((v)-tlo) / (thi - tlo) * (x1 - x0))
#define PY(v) (y1 - (clamp(v, lo, hi) - lo) / (hi - lo) * (y1 - y0))
    on_sb_add(
        b,
        "<svg class=\"chart\" id=\"acctime\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        W, H, W, H);
    on_sb_add(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
    on_sb_add(b,
              "<text x=\"%d\" y=\"16\" class=\"hd\">mean test accuracy (95%% interval) against %s"
              "</text>\n",
              x0,
              measured ? "the measured training step (median, bar: min to max over rounds), ms"
                       : "seconds per epoch (wall clock of the runs)");
    on_sb_add(
        b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#bbb\"/>\n",
        x0, y0, x1 - x0, y1 - y0);
    for (int t = 0; t <= 4; t++) {
        double v = lo + (hi - lo) * t / 4, tv = tlo + (thi - tlo) * t / 4;
        on_sb_add(b, "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%.2f%%</text>",
                  x0 - 4, PY(v) + 4, 100 * v);
        on_sb_add(b,
                  "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%.*f</text>\n",
                  PX(tv), y1 + 16,
                  thi - tlo < 2    ? 3
                  : thi - tlo < 20 ? 2
                                   : 1,
                  tv);
    }
    for (int i = 0; i < rp->nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        if (!cs->n) continue;
        double t = cs->epoch_s, ta = t, tb = t;
        for (int s = 0; measured && s < rp->nspeed; s++)
            if (rp->speed[s].cls == cs->id)
                t = rp->speed[s].train_ms, ta = rp->speed[s].train_lo, tb = rp->speed[s].train_hi;
        double h = isnan(cs->acc.half_ci) ? 0 : cs->acc.half_ci;
        on_sb_add(b, "<g data-class=\"%d\" stroke=\"%s\">", cs->id, color(i));
        on_sb_add(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", PX(t), PX(t),
                  PY(cs->acc.mean - h), PY(cs->acc.mean + h));
        on_sb_add(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", PX(ta), PX(tb),
                  PY(cs->acc.mean), PY(cs->acc.mean));
        on_sb_add(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>", PX(t),
                  PY(cs->acc.mean), color(i));
        on_sb_add(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" stroke=\"none\">%d</text></g>\n",
                  PX(t) + 7, PY(cs->acc.mean) - 5, cs->id);
    }
    /* legend: class number -> order */
    for (int i = 0; i < rp->nc; i++) {
        on_sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"tick\" fill=\"%s\">%d: ", x1 + 12,
                  y0 + 12 + 14 * i, color(i), rp->cs[i].id);
        esc(b, rp->cs[i].rep);
        on_sb_add(b, "</text>\n");
    }
#undef PX
#undef PY
    on_sb_add(b, "</svg>\n");
}

/* ---- the orders in their classes, with the swaps that connect them ---- */

/* If orders a and b ("x y z") differ by swapping one adjacent pair, write "x ↔ y" to
 * out and return 1. */
static int one_swap(const char *a, const char *b, char *out, size_t len) {
    char wa[16][96], wb[16][96];
    int na = 0, nb = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", a);
    for (char *w = strtok(buf, " "); w && na < 16; w = strtok(NULL, " "))
        snprintf(wa[na++], 96, "%s", w);
    snprintf(buf, sizeof buf, "%s", b);
    for (char *w = strtok(buf, " "); w && nb < 16; w = strtok(NULL, " "))
        snprintf(wb[nb++], 96, "%s", w);
    if (na != nb) return 0;
    int first = -1, diffs = 0;
    for (int i = 0; i < na; i++)
        if (strcmp(wa[i], wb[i])) {
            if (first < 0) first = i;
            diffs++;
        }
    if (diffs != 2 || first + 1 >= na || strcmp(wa[first], wb[first + 1]) ||
        strcmp(wa[first + 1], wb[first]))
        return 0;
    int lo = strcmp(wa[first], wa[first + 1]) < 0 ? first : first + 1; /* one name per swap */
    snprintf(out, len, "%s \xe2\x86\x94 %s", wa[lo], wa[2 * first + 1 - lo]);
    return 1;
}

/* The distinct swaps that connect members of one class (at most 8, into out if not
 * NULL); returns how many. */
static int inside_swaps(const cJSON *members, char out[][256]) {
    char seen[8][256], lab[256];
    int n = 0;
    const cJSON *ma, *mb;
    cJSON_ArrayForEach(ma, members) cJSON_ArrayForEach(mb, members) {
        if (ma == mb || n == 8 || !one_swap(ma->valuestring, mb->valuestring, lab, sizeof lab))
            continue;
        int dup = 0;
        for (int k = 0; k < n && !dup; k++) dup = !strcmp(seen[k], lab);
        if (dup) continue;
        snprintf(seen[n], sizeof seen[n], "%s", lab);
        if (out) snprintf(out[n], 256, "%s", lab);
        n++;
    }
    return n;
}

static void orders_diagram(on_sb *b, const on_report *rp) {
    int nc = rp->nc, cols = nc < 4 ? nc : 4, maxm = 1, maxs = 0;
    if (!nc) return;
    char lab[256];
    for (int i = 0; i < nc; i++) {
        int m = cJSON_GetArraySize(rp->cs[i].members), n = inside_swaps(rp->cs[i].members, NULL);
        if (m > maxm) maxm = m;
        if (n > maxs) maxs = n;
    }
    int bw = 236, bh = 28 + 15 * maxm + 14 * maxs + 6, gx = 44, gy = 54,
        rows = (nc + cols - 1) / cols;
    /* room below the last row for the lines that bow out */
    int W = cols * bw + (cols - 1) * gx + 20, H = rows * bh + (rows - 1) * gy + 20 + 70;
    /* box positions by rank */
    on_sb_add(
        b, "<svg class=\"chart\" id=\"orders\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        W, H, W, H);
    on_sb_add(b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", W, H);
#define BX(i) (10 + ((i) % cols) * (bw + gx))
#define BY(i) (10 + ((i) / cols) * (bh + gy))
    /* edges between classes: the swaps of adjacent layers that change the class */
    on_sb labs = {0}; /* their labels, drawn over the boxes */
    for (int i = 0; i < nc; i++)
        for (int j = i + 1; j < nc; j++) {
            char labels[512] = "";
            int n = 0;
            const cJSON *ma, *mb;
            cJSON_ArrayForEach(ma, rp->cs[i].members) cJSON_ArrayForEach(mb, rp->cs[j].members) {
                if (!one_swap(ma->valuestring, mb->valuestring, lab, sizeof lab)) continue;
                if (strstr(labels, lab)) continue;
                snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s%s",
                         n++ ? ", " : "", lab);
            }
            if (!n) continue;
            double ax = BX(i) + bw / 2.0, ay = BY(i) + bh / 2.0, cx = BX(j) + bw / 2.0,
                   cy = BY(j) + bh / 2.0;
            /* neighbours in the grid: a straight line; others bow out, so fewer lines run
             * through the boxes between them */
            int gi = abs(i % cols - j % cols) + abs(i / cols - j / cols);
            double mx = (ax + cx) / 2, my = (ay + cy) / 2, len = hypot(cx - ax, cy - ay);
            double bow = gi > 1 ? 0.22 * len : 0, qx = mx - (cy - ay) / len * bow,
                   qy = my + (cx - ax) / len * bow;
            on_sb_add(b,
                      "<path class=\"swap\" d=\"M%.1f %.1f Q%.1f %.1f %.1f %.1f\" fill=\"none\" "
                      "stroke=\"#9aa\" stroke-width=\"1.2\"/>\n",
                      ax, ay, qx, qy, cx, cy);
            on_sb_add(&labs,
                      "<text x=\"%.1f\" y=\"%.1f\" class=\"swaplab halo\" "
                      "text-anchor=\"middle\">",
                      (mx + qx) / 2, (my + qy) / 2 + 4);
            esc(&labs, labels);
            on_sb_add(&labs, "</text>\n");
        }
    /* the boxes, over the edges */
    for (int i = 0; i < nc; i++) {
        const on_class_row *cs = &rp->cs[i];
        on_sb_add(b,
                  "<g class=\"box\" data-class=\"%d\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
                  "height=\"%d\" rx=\"6\" fill=\"#fbfbfb\" stroke=\"%s\" stroke-width=\"2\"/>",
                  cs->id, BX(i), BY(i), bw, bh, color(i));
        on_sb_add(b,
                  "<text x=\"%d\" y=\"%d\" class=\"lab\" font-weight=\"bold\">class %d (rank %d)",
                  BX(i) + 8, BY(i) + 17, cs->id, i + 1);
        if (cs->n) on_sb_add(b, ": %.2f%%", 100 * cs->acc.mean);
        on_sb_add(b, "</text>");
        int k = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, cs->members) {
            int trained = !strcmp(m->valuestring, cs->rep);
            on_sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"mem%s\">", BX(i) + 10,
                      BY(i) + 34 + 15 * k, trained ? " trained" : "");
            esc(b, m->valuestring);
            on_sb_add(b, "%s</text>", trained ? "  (trained)" : "");
            k++;
        }
        /* the swaps inside the class: exact in training, so they keep the weights */
        char inside[8][256];
        int n = inside_swaps(cs->members, inside);
        for (int s = 0; s < n; s++) {
            on_sb_add(b, "<text x=\"%d\" y=\"%d\" class=\"swaplab\">%s", BX(i) + 10,
                      BY(i) + 34 + 15 * k + 14 * s, s ? "" : "exact: ");
            esc(b, inside[s]);
            on_sb_add(b, "</text>");
        }
        on_sb_add(b, "</g>\n");
    }
#undef BX
#undef BY
    if (labs.s) on_sb_add(b, "%s", labs.s);
    free(labs.s);
    on_sb_add(b, "</svg>\n");
}

static void verdict(on_sb *b, const on_report *rp) {
    const on_class_row *best = rp->nc ? &rp->cs[0] : NULL;
    if (!best || !best->n) {
        on_sb_add(b, "<p>No finished runs yet.</p>\n");
        return;
    }
    on_sb_add(b, "<p class=\"verdict\">Best: <b>class %d</b> (<code>", best->id);
    esc(b, best->rep);
    on_sb_add(b, "</code>), %.2f%% mean test accuracy over %d seeds.</p>\n<ul>\n",
              100 * best->acc.mean, best->n);
    static const struct {
        int d;
        const char *what;
    } groups[] = {{ON_WORSE, "Worse than the best (adjusted p &lt; alpha)"},
                  {ON_EQUIVALENT, "Within the margin of the best (shown against every class)"},
                  {ON_UNDECIDED, "Not decided by these runs (more seeds would tell)"}};
    for (int g = 0; g < 3; g++) {
        int any = 0;
        for (int i = 1; i < rp->nc; i++) {
            const on_class_row *cs = &rp->cs[i];
            if (!cs->n || cs->cmp.decision != groups[g].d) continue;
            if (!any++) on_sb_add(b, "<li><b>%s:</b> ", groups[g].what);
            on_sb_add(b, "%sclass %d (", any > 1 ? "; " : "", cs->id);
            diff_text(b, &cs->cmp.d);
            on_sb_add(b, ", adjusted p ");
            p_text(b, cs->cmp.p_adj);
            on_sb_add(b, ")");
        }
        if (any) on_sb_add(b, "</li>\n");
    }
    on_sb_add(b,
              "</ul>\n<p class=\"method\">Method: classes are compared by <b>paired t-tests "
              "over seeds</b> (runs with the same seed share initial weights and batch order, "
              "so each seed's luck cancels in the difference). A class is worse than the best "
              "when its test with a class above it stays below %g after <b>Holm's adjustment "
              "over all %d pairs of classes</b>; equivalent when, against every other class, "
              "a one-sided bound at %g/(k-1) (k = %d classes; Hsu's multiple comparisons with "
              "the best) keeps it within &#177;%.1f points; else undecided. The chance of any "
              "false &quot;worse&quot; claim is at most %g%%, and so is that of any false "
              "&quot;equivalent&quot; one, whichever class happens to look best. Differences "
              "are best minus class, in accuracy points, with (unadjusted) 95%% intervals.",
              rp->alpha, rp->nc * (rp->nc - 1) / 2, rp->alpha, rp->nc, 100 * rp->margin,
              100 * rp->alpha);
    if (rp->adaptive)
        on_sb_add(b,
                  " <b>Adaptive seeds</b> (--budget): seeds were added to undecided classes; "
                  "look k is judged at alpha 6&#183;%g/(&#960;&#178;k&#178;), which sums to "
                  "%g over all looks, so the chance of any false claim of worse or equivalent "
                  "in this study is at most %g%%.",
                  rp->alpha, rp->alpha, 100 * rp->alpha);
    on_sb_add(b, "</p>\n");
}

static void questions_list(on_sb *b, const on_report *rp) {
    on_sb_add(b, "<ul>\n");
    for (int i = 0; i < rp->nq; i++) {
        const on_question *q = &rp->q[i];
        on_sb_add(b, "<li><b>");
        esc(b, q->q);
        on_sb_add(b, "</b> ");
        esc(b, q->yes);
        on_sb_add(b, " minus ");
        esc(b, q->no);
        on_sb_add(b, ": ");
        diff_text(b, &q->d);
        on_sb_add(b, " over %d seeds; p ", q->d.n);
        p_text(b, q->d.p);
        on_sb_add(b, ", Holm p ");
        p_text(b, q->p_holm);
        on_sb_add(b, ": %s.</li>\n",
                  q->p_holm < rp->alpha
                      ? (q->d.mean > 0 ? "before is better here" : "after is better here")
                      : "not a significant difference here");
    }
    double tf, tn, sf, sn;
    if (!on_report_pool_first(rp, &tf, &tn, &sf, &sn)) {
        on_sb_add(b,
                  "<li><b>Does pooling first change speed?</b> Measured (interleaved, %d rounds; "
                  "the median over the classes of their medians): a training step takes %.2f ms "
                  "with the pool first against %.2f ms "
                  "otherwise (%+.0f%%); an inference batch %.2f against %.2f ms (%+.0f%%).</li>\n",
                  rp->speed_rounds, tf, tn, 100 * (tf - tn) / tn, sf, sn, 100 * (sf - sn) / sn);
    }
    on_sb_add(b, "</ul>\n");
}

static void speed_table(on_sb *b, const on_report *rp) {
    if (!rp->nspeed) {
        on_sb_add(b, "<p>No speed measurement in the store.</p>\n");
        return;
    }
    on_sb_add(b,
              "<p>Each class's training step (batch %d) and inference (batch %d, the optimized "
              "model) timed in turn, class after class, %d rounds: median [min, max] in ms. "
              "Compare within this table, not across machines.</p>\n",
              rp->speed_batch, rp->speed_infer_batch, rp->speed_rounds);
    on_sb_add(b, "<table><tr><th>class</th><th>order</th><th>training step, ms</th><th>inference "
                 "batch, ms</th></tr>\n");
    for (int i = 0; i < rp->nc; i++)
        for (int s = 0; s < rp->nspeed; s++) {
            const on_speed_row *sp = &rp->speed[s];
            if (sp->cls != rp->cs[i].id) continue;
            on_sb_add(b, "<tr><td>%d</td><td><code>", sp->cls);
            esc(b, rp->cs[i].rep);
            on_sb_add(b, "</code></td><td>%.2f [%.2f, %.2f]</td><td>%.2f [%.2f, %.2f]</td></tr>\n",
                      sp->train_ms, sp->train_lo, sp->train_hi, sp->infer_ms, sp->infer_lo,
                      sp->infer_hi);
        }
    on_sb_add(b, "</table>\n");
}

static void runs_table(on_sb *b, const on_report *rp) {
    on_sb_add(b, "<table id=\"runs\"><tr><th>class</th><th>seed</th><th>order</th><th>test "
                 "accuracy</th><th>test loss</th><th>s/epoch</th><th>train img/s</th><th>inference "
                 "img/s</th></tr>\n");
    for (int k = 0; k < rp->nr; k++) {
        const on_run_row *r = &rp->r[k];
        on_sb_add(b, "<tr class=\"run\" data-run=\"%d-%d\"><td>%d</td><td>%d</td><td><code>",
                  r->cls, r->seed, r->cls, r->seed);
        esc(b, r->order);
        on_sb_add(b,
                  "</code></td><td>%.2f%%</td><td>%.4f</td><td>%.2f</td><td>%.0f</td><td>%.0f</"
                  "td></tr>\n",
                  100 * r->acc, r->loss, r->epoch_s, r->train_ips, r->infer_ips);
    }
    on_sb_add(b, "</table>\n");
}

char *on_report_html(const on_report *rp) {
    on_sb b = {0};
    const on_study_cfg *c = rp->c;
    on_sb_add(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
                  "Does the order of {");
    esc(&b, rp->block);
    on_sb_add(&b, "} matter? ordnet study %s</title>\n", rp->key);
    on_sb_add(&b,
              "<style>\nbody{font:14px/1.45 sans-serif;margin:24px auto;max-width:1120px;"
              "color:#222;background:#fff}\nh1{font-size:22px}h2{font-size:18px;margin-top:28px;"
              "border-bottom:1px solid #ddd}\ncode{font-size:13px}\n.chart{display:block;"
              "margin:8px 0;max-width:100%%;height:auto}\n.chart text{font-family:sans-serif}\n"
              ".hd{font-size:13px;font-weight:bold;fill:#333}.lab{font-size:12px;fill:#222}"
              ".tick{font-size:11px;fill:#555}\n.worse{fill:#b22}.equivalent{fill:#2a7}"
              ".undecided{fill:#777}.best{fill:#15c;font-weight:bold}\n.mem{font-size:11.5px;"
              "font-family:monospace;fill:#333}.trained{font-weight:bold;fill:#000}"
              ".swaplab{font-size:10.5px;fill:#366}.halo{paint-order:stroke;stroke:#fff;"
              "stroke-width:3px}\ntable{border-collapse:collapse;margin:8px 0}"
              "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}"
              "th{background:#f4f4f4}\n.row{display:flex;flex-wrap:wrap;gap:12px}"
              ".method{color:#444;font-size:13px}\n</style></head>\n<body>\n");
    on_sb_add(&b, "<h1>Does the order of {");
    esc(&b, rp->block);
    on_sb_add(&b, "} matter?</h1>\n<p>Study <code>%s</code> on ", rp->key);
    esc(&b, c->data);
    on_sb_add(&b,
              ": %d orders of the block, grouped by proof into %d training classes (orders of one "
              "class train to bit-identical weights); the cheapest member of each class trained "
              "with %d seed(s)%s, %d epoch(s) on %d images, tested on %d. %d runs.</p>\n",
              (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rp->conf, "orders")),
              rp->nc, rp->base_seeds, rp->adaptive ? " and more where undecided" : "", c->epochs,
              c->limit, c->test_limit, rp->nr);
    on_sb_add(&b,
              "<p>All numbers: <a href=\"results.csv\">results.csv</a>, <a "
              "href=\"results.json\">results.json</a>; also <a href=\"report.md\">report.md</a>, "
              "<a href=\"report.svg\">report.svg</a>.</p>\n");
    on_sb_add(&b, "<h2>Verdict</h2>\n");
    verdict(&b, rp);
    on_sb_add(&b, "<h2>Classes ranked</h2>\n");
    ranked(&b, rp);
    on_sb_add(&b, "<h2>The forum thread's questions</h2>\n<p class=\"method\">Each question is a "
                  "contrast: per seed, the mean accuracy of the classes with the first placement "
                  "minus that of the classes with the other; then a t-test and 95%% interval over "
                  "the seeds, p-values also Holm-adjusted over the questions.</p>\n");
    forest(&b, rp);
    questions_list(&b, rp);
    on_sb_add(&b, "<h2>Learning curves</h2>\n<p class=\"method\">Every run, one line each, colored "
                  "by class as in the ranking.</p>\n<div class=\"row\">\n");
    curves(&b, rp, "loss", "training loss per epoch (running mean over the epoch)", 0, "loss");
    curves(&b, rp, "test_accuracy", "test accuracy after each epoch", 1, "accuracy");
    on_sb_add(&b, "</div>\n<h2>Accuracy against time</h2>\n");
    acc_time(&b, rp);
    on_sb_add(&b, "<h2>Speed, measured</h2>\n");
    speed_table(&b, rp);
    on_sb_add(&b, "<h2>The orders and their classes</h2>\n<p class=\"method\">Each box is a "
                  "training class: its orders train to bit-identical weights, because they turn "
                  "into one another by swaps of adjacent layers that commute exactly in training "
                  "(listed in the box). A line joins two classes when one swap of adjacent "
                  "layers turns an order of one into an order of the other; its label names "
                  "the swap. The trained member is in bold.</p>\n");
    orders_diagram(&b, rp);
    on_sb_add(&b, "<h2>Every run</h2>\n");
    runs_table(&b, rp);
    on_sb_add(&b, "</body></html>\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
