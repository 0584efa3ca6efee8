/* test_verdict.c - the study's statistics against numbers computed independently
 * (tests/stats/expected.py, mpmath at 30 digits): Student's t quantiles and p-values, the
 * paired t-test, Holm's adjustment, a contrast, the verdict's decisions (worse,
 * equivalent, undecided) and the adaptive rule that gives undecided classes more seeds;
 * and, by simulation, the verdict's error rate when every class is equal. */
#include "check.h"
#include "study/study.h"
#include "study/verdict.h"

#include <math.h>
#include <stdint.h>

/* A standard normal deviate (Box-Muller over a 64-bit LCG): the simulation's noise. */
static double gauss(uint64_t *s) {
    double u[2];
    for (int i = 0; i < 2; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

#define NEAR(x, want, tol) (fabs((x) - (want)) <= (tol) * (fabs(want) > 1 ? fabs(want) : 1))

static void test_t(void) {
    static const struct {
        double alpha, df, q;
    } qs[] = {{0.05, 1, 12.706204736175}, {0.05, 2, 4.302652729749},  {0.05, 4, 2.776445105198},
              {0.05, 9, 2.262157162798},  {0.05, 29, 2.045229642133}, {0.1, 3, 2.353363434802},
              {0.01, 5, 4.032142983555}};
    for (int i = 0; i < 7; i++) {
        double q = on_t_quantile(qs[i].alpha, qs[i].df);
        CHECK(NEAR(q, qs[i].q, 1e-9), "t quantile alpha %g df %g: %.12f, want %.12f", qs[i].alpha,
              qs[i].df, q, qs[i].q);
    }
    CHECK(NEAR(on_t_quantile975(4), 2.776445105198, 1e-6), "the old 97.5%% quantile agrees");
    CHECK(isnan(on_t_quantile(0.05, 0)) && isnan(on_t_quantile(0, 3)) && isnan(on_t_quantile(1, 3)),
          "no quantile for df 0 or alpha outside (0, 1)");
    static const struct {
        double t, df, p;
    } ps[] = {{2.0, 10, 7.338803477074e-02},
              {0.5, 3, 6.514479648482e-01},
              {4.1, 2, 5.465689938303e-02},
              {-1.3, 7, 2.347678353924e-01}};
    for (int i = 0; i < 4; i++) {
        double p = on_t_two_sided_p(ps[i].t, ps[i].df);
        CHECK(NEAR(p, ps[i].p, 1e-9), "p of t %g df %g: %.12e, want %.12e", ps[i].t, ps[i].df, p,
              ps[i].p);
    }
}

static void test_paired(void) {
    double a[5] = {0.885, 0.879, 0.891, 0.874, 0.888}, b[5] = {0.880, 0.871, 0.889, 0.866, 0.885};
    on_paired r = on_paired_t(a, b, 5, 0.05);
    CHECK(r.n == 5 && r.df == 4, "5 pairs, 4 degrees of freedom");
    CHECK(NEAR(r.mean, 0.0052, 1e-12) && NEAR(r.sd, 0.002774887385, 1e-9),
          "mean %.12f and sd %.12f of the differences", r.mean, r.sd);
    CHECK(NEAR(r.t, 4.190279412932, 1e-9) && NEAR(r.p, 1.380341013291e-02, 1e-9),
          "paired t %.12f, p %.12e", r.t, r.p);
    CHECK(NEAR(r.lo, 0.001754522235, 1e-9) && NEAR(r.hi, 0.008645477765, 1e-9),
          "95%% interval [%.12f, %.12f]", r.lo, r.hi);
    /* the same samples unpaired: Welch cannot see the shared seed effect */
    double pw = on_welch_p(on_summarize(a, 5), on_summarize(b, 5));
    CHECK(pw > 0.2 && r.p < 0.05, "pairing finds what Welch (p %.3f) misses (p %.4f)", pw, r.p);
    /* a missing run drops its pair */
    double c[5] = {0.885, NAN, 0.891, 0.874, 0.888};
    r = on_paired_t(c, b, 5, 0.05);
    CHECK(r.n == 4 && r.df == 3, "a missing run drops its pair (%d pairs)", r.n);
    /* one pair: a difference, no test */
    r = on_paired_t(a, b, 1, 0.05);
    CHECK(r.n == 1 && NEAR(r.mean, 0.005, 1e-12) && isnan(r.p) && isnan(r.lo),
          "one pair: the difference, no p, no interval");
    /* identical differences: no noise */
    double e[3] = {0.9, 0.8, 0.7}, f[3] = {0.89, 0.79, 0.69};
    r = on_paired_t(e, f, 3, 0.05);
    CHECK(r.p < 1e-9 && NEAR(r.lo, 0.01, 1e-9), "constant differences: p 0, interval a point");
    r = on_paired_t(e, e, 3, 0.05);
    CHECK(r.p == 1 && r.mean == 0, "equal runs: p 1");
}

static void test_holm(void) {
    double p[6] = {0.01, 0.04, 0.03, 0.005, NAN, 0.5}, adj[6];
    double want[6] = {0.04, 0.09, 0.09, 0.025, NAN, 0.5};
    on_holm(p, 6, adj);
    for (int i = 0; i < 6; i++)
        CHECK(isnan(want[i]) ? isnan(adj[i]) : NEAR(adj[i], want[i], 1e-12),
              "Holm-adjusted p %d: %g, want %g", i, adj[i], want[i]);
    double big[3] = {0.6, 0.7, 0.4}, ab[3];
    on_holm(big, 3, ab);
    CHECK(ab[0] == 1 && ab[1] == 1 && ab[2] == 1, "adjusted p-values stop at 1");
}

static void test_contrast(void) {
    double acc[12] = {0.88, 0.87, 0.89, 0.86, 0.88, 0.87, 0.85, 0.86, 0.86, 0.87, 0.85, 0.855};
    int g[4] = {1, 1, -1, -1};
    on_paired r = on_contrast(acc, 4, 3, g, 0.05);
    CHECK(r.n == 3 && NEAR(r.mean, 0.0175, 1e-12) && NEAR(r.t, 4.582575694956, 1e-9) &&
              NEAR(r.p, 4.446691409409e-02, 1e-9),
          "contrast: mean %.12f t %.12f p %.12e", r.mean, r.t, r.p);
    CHECK(NEAR(r.lo, 0.001068973481, 1e-9) && NEAR(r.hi, 0.033931026519, 1e-9),
          "contrast interval [%.12f, %.12f]", r.lo, r.hi);
    acc[1] = NAN; /* seed 2 of class 0 missing: that seed leaves the contrast */
    r = on_contrast(acc, 4, 3, g, 0.05);
    CHECK(r.n == 2, "a seed some class lacks is left out (%d seeds)", r.n);
}

/* best, clearly worse, within 0.5 points, undecided: 4 classes x 5 seeds */
static double four[20] = {0.900, 0.880,  0.890,  0.885,  0.895,  0.880, 0.861, 0.869, 0.866, 0.874,
                          0.899, 0.8795, 0.8905, 0.8850, 0.8945, 0.899, 0.870, 0.887, 0.876, 0.894};

static void test_decisions(void) {
    on_compare c[4];
    int best = on_compare_with_best(four, 4, 5, 0.05, 0.005, c);
    CHECK(best == 0 && c[0].decision == ON_BEST, "class 0 is the best");
    CHECK(c[1].decision == ON_WORSE && NEAR(c[1].p_adj, 8.97007856e-06, 1e-8),
          "a consistent 2-point gap is worse (adjusted p %.8e)", c[1].p_adj);
    CHECK(c[2].decision == ON_EQUIVALENT && NEAR(c[2].p_adj, 3.04558785e-01, 1e-8),
          "a gap under 0.1 point, little noise: within the margin (adjusted p %.8e)", c[2].p_adj);
    CHECK(c[3].decision == ON_UNDECIDED && NEAR(c[3].p_adj, 2.11451991e-01, 1e-8),
          "a noisy half-point gap: undecided (adjusted p %.8e)", c[3].p_adj);
    CHECK(NEAR(c[1].d.mean, 0.02, 1e-12) && c[1].d.lo < 0.02 && c[1].d.hi > 0.02,
          "d is best - class, with its interval: %.4f", c[1].d.mean);
    /* adaptive, look 1 (alpha 0.0304): the same decisions; the undecided class and the
     * best get seed 6, the others are done */
    on_compare_adaptive(four, 4, 5, 5, 0.05, 0.005, c);
    CHECK(c[1].decision == ON_WORSE && c[2].decision == ON_EQUIVALENT &&
              c[3].decision == ON_UNDECIDED,
          "adaptive look 1: the same decisions");
    int target[4];
    int more = on_adaptive_need(four, 4, 5, 5, 0.05, 0.005, 10, target);
    CHECK(more == 2 && target[0] == 6 && target[1] == 5 && target[2] == 5 && target[3] == 6,
          "adaptive: seeds for the undecided class and the best (%d: %d %d %d %d)", more, target[0],
          target[1], target[2], target[3]);
    more = on_adaptive_need(four, 4, 5, 5, 0.05, 0.005, 5, target);
    CHECK(more == 0 && target[3] == 5, "adaptive: nothing past max_seeds");
    /* the alpha spent over looks sums to alpha */
    double s = 0;
    for (int k = 1; k <= 100000; k++) s += on_alpha_at_look(0.05, k);
    CHECK(s < 0.05 && s > 0.04999, "alpha over all looks: %.6f <= 0.05", s);
    CHECK(NEAR(on_alpha_at_look(0.05, 4), 1.89977219e-03, 1e-10) &&
              NEAR(on_alpha_at_look(0.05, 8), 4.74943048e-04, 1e-10),
          "alpha at looks 4 and 8");
    /* seeds 6.. for the best and class 3, consistently 1.4 points apart: at 8 seeds
     * (look 4) still undecided, at 12 (look 8) worse */
    double more_seeds[4 * 12];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 12; k++) more_seeds[i * 12 + k] = k < 5 ? four[i * 5 + k] : NAN;
    for (int k = 5; k < 12; k++) {
        more_seeds[0 * 12 + k] = 0.89 + 0.001 * (k % 4);
        more_seeds[3 * 12 + k] = more_seeds[k] - 0.014 - 0.0005 * (k % 2);
    }
    on_compare_adaptive(more_seeds, 4, 12, 5, 0.05, 0.005, c);
    CHECK(c[3].decision == ON_WORSE && NEAR(c[3].p_adj, 1.91862181e-04, 1e-8) &&
              c[1].decision == ON_WORSE && c[2].decision == ON_EQUIVALENT,
          "12 seeds: the noisy class is worse (adjusted p %.8e)", c[3].p_adj);
    CHECK(on_adaptive_need(more_seeds, 4, 12, 5, 0.05, 0.005, 20, target) == 0,
          "and nothing needs more");
    for (int k = 8; k < 12; k++) more_seeds[0 * 12 + k] = more_seeds[3 * 12 + k] = NAN;
    on_compare_adaptive(more_seeds, 4, 12, 5, 0.05, 0.005, c);
    CHECK(c[3].decision == ON_UNDECIDED && NEAR(c[3].p_adj, 1.58752401e-02, 1e-8),
          "8 seeds: adjusted p %.8e is above look 4's alpha", c[3].p_adj);
    more = on_adaptive_need(more_seeds, 4, 12, 5, 0.05, 0.005, 20, target);
    CHECK(more == 2 && target[0] == 9 && target[3] == 9, "so seed 9 for the best and it");
    /* no runs at all */
    double none[3] = {NAN, NAN, NAN};
    CHECK(on_compare_with_best(none, 3, 1, 0.05, 0.005, c) == -1, "no runs: no best");
}

/* 12 equal classes, seeds shared, many times: how often is any class called worse? The
 * procedure promises at most alpha (Holm over the comparisons with the observed best
 * only: about 9% here). */
static void test_error_rate(void) {
    enum { NC = 12, NS = 3, SIMS = 1000 };
    uint64_t st = 12345;
    int false_worse = 0;
    for (int sim = 0; sim < SIMS; sim++) {
        double acc[NC * NS];
        for (int k = 0; k < NS; k++) {
            double seed = 0.01 * gauss(&st);
            for (int i = 0; i < NC; i++) acc[i * NS + k] = 0.88 + seed + 0.004 * gauss(&st);
        }
        on_compare c[NC];
        on_compare_with_best(acc, NC, NS, 0.05, 0.005, c);
        int any = 0;
        for (int i = 0; i < NC; i++) any |= c[i].decision == ON_WORSE;
        false_worse += any;
    }
    /* 5% of 1000 is 50, sd about 7: 72 is 3 sd above */
    CHECK(false_worse < 72, "equal classes called worse in %d of %d studies", false_worse, SIMS);
}

int main(void) {
    test_t();
    test_paired();
    test_holm();
    test_contrast();
    test_decisions();
    test_error_rate();
    return check_done();
}
