/* stats.c - the few statistics the study report needs: mean, sample standard deviation,
 * Student-t confidence intervals and Welch's t-test, through the regularized incomplete
 * beta function (continued fraction, evaluated where it converges fast). */
#include "study.h"

#include <math.h>

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-12) break;
    }
    return h;
}

/* I_x(a, b) */
static double inc_beta(double a, double b, double x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double on_t_two_sided_p(double t, double df) {
    if (!isfinite(t)) return 0;
    if (df <= 0) return NAN;
    return inc_beta(df / 2, 0.5, df / (df + t * t));
}

double on_t_quantile975(double df) {
    if (df <= 0) return NAN;
    double lo = 0, hi = 1000;
    for (int i = 0; i < 200; i++) { /* two-sided p(t) = 0.05 */
        double mid = (lo + hi) / 2;
        if (on_t_two_sided_p(mid, df) > 0.05)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

on_summary on_summarize(const double *x, int n) {
    on_summary s = {.n = n, .mean = NAN, .sd = NAN, .half_ci = NAN};
    if (n < 1) return s;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    s.mean = sum / n;
    if (n < 2) return s;
    double v = 0;
    for (int i = 0; i < n; i++) v += (x[i] - s.mean) * (x[i] - s.mean);
    s.sd = sqrt(v / (n - 1));
    s.half_ci = on_t_quantile975(n - 1) * s.sd / sqrt(n);
    return s;
}

double on_welch_p(on_summary a, on_summary b) {
    if (a.n < 2 || b.n < 2) return NAN;
    double va = a.sd * a.sd / a.n, vb = b.sd * b.sd / b.n;
    if (va + vb == 0) return a.mean == b.mean ? 1.0 : 0.0;
    double t = (a.mean - b.mean) / sqrt(va + vb);
    double df = (va + vb) * (va + vb) / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
    return on_t_two_sided_p(t, df);
}
