/* verdict.c - paired comparisons, Holm's adjustment, contrasts and the adaptive rule
 * (verdict.h). Student's t comes from stats.c (on_t_two_sided_p). */
#include "verdict.h"
#include "study.h"

#include <math.h>
#include <stdlib.h>

double on_t_quantile(double alpha, double df) {
    if (!(df > 0) || !(alpha > 0) || !(alpha < 1)) return NAN;
    double lo = 0, hi = 1;
    while (on_t_two_sided_p(hi, df) > alpha && hi < 1e12) hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) { /* the p falls as t grows */
        double mid = (lo + hi) / 2;
        if (on_t_two_sided_p(mid, df) > alpha)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

on_paired on_one_sample_t(const double *d, int n, double alpha) {
    on_paired r = {.mean = NAN, .sd = NAN, .lo = NAN, .hi = NAN, .t = NAN, .df = NAN, .p = NAN};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d[i])) sum += d[i], r.n++;
    if (!r.n) return r;
    r.mean = sum / r.n;
    if (r.n < 2) return r;
    double v = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(d[i])) v += (d[i] - r.mean) * (d[i] - r.mean);
    r.sd = sqrt(v / (r.n - 1));
    r.df = r.n - 1;
    double se = r.sd / sqrt(r.n), q = on_t_quantile(alpha, r.df);
    if (se == 0) { /* every pair differs by the same amount: no noise to test against */
        r.t = r.mean == 0 ? 0 : copysign(INFINITY, r.mean);
        r.p = r.mean == 0 ? 1 : 0;
        r.lo = r.hi = r.mean;
        return r;
    }
    r.t = r.mean / se;
    r.p = on_t_two_sided_p(r.t, r.df);
    r.lo = r.mean - q * se;
    r.hi = r.mean + q * se;
    return r;
}

on_paired on_paired_t(const double *a, const double *b, int n, double alpha) {
    double *d = malloc(sizeof(double) * (size_t)(n + 1));
    if (!d) return (on_paired){.mean = NAN, .sd = NAN, .lo = NAN, .hi = NAN, .p = NAN};
    for (int i = 0; i < n; i++) d[i] = isfinite(a[i]) && isfinite(b[i]) ? a[i] - b[i] : NAN;
    on_paired r = on_one_sample_t(d, n, alpha);
    free(d);
    return r;
}

void on_holm(const double *p, int m, double *adj) {
    int *idx = malloc(sizeof(int) * (size_t)(m + 1)), k = 0;
    if (!idx) {
        for (int i = 0; i < m; i++) adj[i] = NAN;
        return;
    }
    for (int i = 0; i < m; i++) {
        adj[i] = NAN;
        if (!isnan(p[i])) idx[k++] = i;
    }
    /* ascending p (insertion sort: m is the number of classes) */
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && p[idx[j]] < p[idx[j - 1]]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double run = 0; /* adjusted p-values never decrease along the order */
    for (int i = 0; i < k; i++) {
        double a = (k - i) * p[idx[i]];
        if (a > run) run = a;
        adj[idx[i]] = run < 1 ? run : 1;
    }
    free(idx);
}

static double row_mean(const double *acc, int ns, int i, int *n) {
    double s = 0;
    *n = 0;
    for (int k = 0; k < ns; k++)
        if (isfinite(acc[i * ns + k])) s += acc[i * ns + k], ++*n;
    return *n ? s / *n : NAN;
}

/* NAN for a class with no run at all (it does not hold a contrast's seeds back). */
static double row_mean_any(const double *acc, int ns, int i) {
    int n;
    return row_mean(acc, ns, i, &n);
}

static int best_class(const double *acc, int nc, int ns) {
    int best = -1;
    double bm = 0;
    for (int i = 0; i < nc; i++) {
        int n;
        double m = row_mean(acc, ns, i, &n);
        if (n && (best < 0 || m > bm)) best = i, bm = m;
    }
    return best;
}

/* The comparisons with the best, each class i judged at alpha_of[i] (NULL: alpha for all).
 *
 * "Worse": the paired t-test of every pair of classes, Holm-adjusted over all the pairs;
 * class i is worse than the best when some class j above it differs from it at adjusted
 * p < alpha. Holm controls the chance of any false "j is above i" at alpha whatever the
 * true means, so "worse" claims inherit it. (Holm over the comparisons with the observed
 * best only does not: the observed best is the luckiest class, and simulations of 12
 * equal classes gave 9% (3 seeds) to 13% (5 seeds) false claims at a nominal 5%.)
 *
 * "Within margin of the best": multiple comparisons with the best (Hsu), Bonferroni form.
 * Let b be a truly best class and k the classes run. With probability at least 1 - alpha
 * every x != b has mean_x - mean_b - (mu_x - mu_b) > -d_xb, d_xb = t(one-sided
 * alpha/(k-1)) * se_xb (a union bound over k - 1 one-sided events). Class i is claimed
 * within margin when mean_i - mean_j - d_ij > -margin for every j; on that event the
 * claim is true (take j = b: mu_i - mu_b > mean_i - mean_b - d_ib > -margin). So the
 * chance of any false "within margin" claim is at most alpha too. */
static int compare(const double *acc, int nc, int ns, const double *alpha_of, double alpha,
                   double margin, on_compare *out) {
    int best = best_class(acc, nc, ns), k = 0, m = 0;
    double *mean = calloc((size_t)nc + 1, sizeof(double));
    double *p = calloc((size_t)nc * (size_t)nc + 1, sizeof(double)),
           *adj = calloc((size_t)nc * (size_t)nc + 1, sizeof(double));
    if (!mean || !p || !adj) {
        free(mean), free(p), free(adj);
        return -1;
    }
    for (int i = 0; i < nc; i++) {
        int n;
        mean[i] = row_mean(acc, ns, i, &n);
        k += n > 0;
    }
    /* all pairs i < j, Holm-adjusted together */
    for (int i = 0; i < nc; i++)
        for (int j = i + 1; j < nc; j++)
            p[m++] = isfinite(mean[i]) && isfinite(mean[j])
                         ? on_paired_t(acc + i * ns, acc + j * ns, ns, 0.05).p
                         : NAN;
    on_holm(p, m, adj);
    for (int i = 0; i < nc; i++) {
        out[i] = (on_compare){.p_adj = NAN, .decision = ON_UNDECIDED};
        out[i].d = best < 0 || i == best
                       ? (on_paired){.mean = NAN, .sd = NAN, .lo = NAN, .hi = NAN, .p = NAN}
                       : on_paired_t(acc + best * ns, acc + i * ns, ns, 0.05);
    }
    for (int i = 0; i < nc && best >= 0; i++) {
        if (!isfinite(mean[i])) continue;
        double a = alpha_of ? alpha_of[i] : alpha, per = k > 1 ? a / (k - 1) : a;
        int equivalent = k > 1;
        for (int j = 0; j < nc; j++) {
            if (j == i || !isfinite(mean[j])) continue;
            int lo = i < j ? i : j, hi = i < j ? j : i;
            double pa = adj[lo * nc - lo * (lo + 1) / 2 + (hi - lo - 1)]; /* pair (lo, hi) */
            if (mean[j] > mean[i] && !isnan(pa) && !(pa >= out[i].p_adj)) out[i].p_adj = pa;
            on_paired d = on_paired_t(acc + j * ns, acc + i * ns, ns, 2 * per); /* j - i */
            /* d.hi = mean + t(one-sided per) * se: the bound on mu_j - mu_i */
            if (d.n < 2 || !(d.hi < margin)) equivalent = 0;
        }
        if (i == best)
            out[i].decision = ON_BEST;
        else if (out[i].p_adj < a)
            out[i].decision = ON_WORSE;
        else if (equivalent)
            out[i].decision = ON_EQUIVALENT;
    }
    free(mean);
    free(p);
    free(adj);
    return best;
}

int on_compare_with_best(const double *acc, int nc, int ns, double alpha, double margin,
                         on_compare *out) {
    return compare(acc, nc, ns, NULL, alpha, margin, out);
}

double on_alpha_at_look(double alpha, int k) {
    if (k < 1) k = 1;
    return alpha * 6 / (3.14159265358979323846 * 3.14159265358979323846 * (double)k * (double)k);
}

int on_compare_adaptive(const double *acc, int nc, int ns, int base, double alpha, double margin,
                        on_compare *out) {
    int best = best_class(acc, nc, ns);
    double *a = malloc(sizeof(double) * (size_t)(nc + 1));
    if (!a) return -1;
    for (int i = 0; i < nc; i++) {
        int shared = 0;
        for (int k = 0; best >= 0 && k < ns; k++)
            shared += isfinite(acc[i * ns + k]) && isfinite(acc[best * ns + k]);
        a[i] = on_alpha_at_look(alpha, shared - base + 1);
    }
    int r = compare(acc, nc, ns, a, alpha, margin, out);
    free(a);
    return r;
}

int on_adaptive_need(const double *acc, int nc, int ns, int base, double alpha, double margin,
                     int max_seeds, int *target) {
    on_compare *c = malloc(sizeof(on_compare) * (size_t)(nc + 1));
    if (!c) return 0;
    int best = on_compare_adaptive(acc, nc, ns, base, alpha, margin, c), more = 0, best_to = 0;
    for (int i = 0; i < nc; i++) {
        int n;
        row_mean(acc, ns, i, &n);
        target[i] = n;
        if (best < 0 || i == best || !n || c[i].decision != ON_UNDECIDED) continue;
        if (n >= max_seeds) continue;
        target[i] = n + 1;
        if (target[i] > best_to) best_to = target[i];
    }
    if (best >= 0 && best_to > target[best]) {
        if (best_to > max_seeds) best_to = max_seeds;
        target[best] = best_to;
    }
    for (int i = 0; i < nc; i++) {
        int n;
        row_mean(acc, ns, i, &n);
        more += target[i] > n;
    }
    free(c);
    return more;
}

on_paired on_contrast(const double *acc, int nc, int ns, const int *group, double alpha) {
    double *d = malloc(sizeof(double) * (size_t)(ns + 1));
    if (!d) return (on_paired){.mean = NAN, .sd = NAN, .lo = NAN, .hi = NAN, .p = NAN};
    for (int k = 0; k < ns; k++) {
        double sp = 0, sm = 0;
        int np = 0, nm = 0, all = 1;
        for (int i = 0; i < nc && all; i++) {
            if (!group[i]) continue;
            double v = acc[i * ns + k];
            all = isfinite(v) || !isfinite(row_mean_any(acc, ns, i));
            if (!isfinite(v)) continue;
            if (group[i] > 0)
                sp += v, np++;
            else
                sm += v, nm++;
        }
        d[k] = all && np && nm ? sp / np - sm / nm : NAN;
    }
    on_paired r = on_one_sample_t(d, ns, alpha);
    free(d);
    return r;
}
