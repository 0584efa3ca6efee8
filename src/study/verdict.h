/* verdict.h - the study's statistics beyond one class's summary: paired differences per
 * seed, Holm's step-down adjustment, the comparisons with the best class, the thread's
 * questions as contrasts, and which classes an adaptive study should give another seed.
 *
 * Runs with the same seed share the initial weights and the batch order across classes,
 * so two classes are compared through their per-seed differences (a paired t-test), which
 * removes the seed-to-seed variation both classes share. Everything here is a pure
 * function of the numbers, so the tests check it against values computed independently.
 */
#ifndef ON_VERDICT_H
#define ON_VERDICT_H

/* The mean of paired differences a - b with its two-sided t-test and interval. */
typedef struct on_paired {
    int n;           /* pairs used (both values finite) */
    double mean, sd; /* of the differences; sd NAN when n < 2 */
    double lo, hi;   /* the interval on the mean difference (NAN when n < 2) */
    double t, df, p; /* t statistic, degrees of freedom (n - 1), two-sided p (NAN when n < 2) */
} on_paired;

/* The t value q with P(|T| > q) = alpha for Student's t with df degrees of freedom
 * (alpha 0.05: the 97.5% quantile). NAN when df <= 0 or alpha outside (0, 1). */
double on_t_quantile(double alpha, double df);
/* Paired t-test and (1 - alpha) interval of a[i] - b[i] over the i where both are finite. */
on_paired on_paired_t(const double *a, const double *b, int n, double alpha);
/* One-sample t-test and (1 - alpha) interval of the mean of d (NAN entries skipped). */
on_paired on_one_sample_t(const double *d, int n, double alpha);
/* Holm's step-down adjusted p-values of m p-values (NAN stays NAN and is not counted):
 * rejecting where adj[i] <= alpha controls the chance of any false rejection at alpha. */
void on_holm(const double *p, int m, double *adj);

/* What the comparison of a class with the best says. */
enum { ON_UNDECIDED, ON_WORSE, ON_EQUIVALENT, ON_BEST };

typedef struct on_compare {
    on_paired d;  /* best - this class, per seed both have */
    double p_adj; /* the smallest Holm-adjusted (over all pairs of classes) paired p of a
                     class above this one: "worse than the best" when below alpha */
    int decision; /* ON_* */
} on_compare;

/* acc: nc x ns matrix (row = class, column = seed; NAN where a run is missing). The best
 * is the class of highest mean accuracy over its seeds (ties: the lower index); d is the
 * paired difference best - class with its 95% interval. A class is ON_WORSE when the
 * paired t-test with some class above it, Holm-adjusted over all pairs of classes, is
 * below alpha; ON_EQUIVALENT when against every other class a one-sided bound at
 * alpha / (k - 1) (k: classes run) keeps it within margin (multiple comparisons with the
 * best, Hsu); else ON_UNDECIDED. The chance of any false "worse" claim is at most alpha,
 * and so is that of any false "equivalent" one (verdict.c says why). Returns the best's
 * index, or -1 when no class has a run. */
int on_compare_with_best(const double *acc, int nc, int ns, double alpha, double margin,
                         on_compare *out);

/* A contrast: per seed, the mean accuracy of the classes with group +1 minus that of the
 * classes with group -1 (group 0: not in it), over the seeds every grouped class has;
 * then the one-sample t-test and (1 - alpha) interval of those differences. */
on_paired on_contrast(const double *acc, int nc, int ns, const int *group, double alpha);

/* The error spent at look k (1, 2, ...) of an adaptive study: alpha * 6 / (pi^2 k^2).
 * These sum to alpha over all looks, so by the union bound the chance of any false
 * "worse" or "equivalent" claim over the whole adaptive study is at most alpha. */
double on_alpha_at_look(double alpha, int k);

/* The decision for each class of an adaptive study: its comparison with the best judged
 * at the alpha of its own look, look = (seeds it shares with the best) - base + 1, where
 * base is the number of seeds every class got first. out as on_compare_with_best. */
int on_compare_adaptive(const double *acc, int nc, int ns, int base, double alpha, double margin,
                        on_compare *out);
/* Adaptive seeds: which classes need more. Seeds of a class are 1..count (count: its
 * finite entries, which the study stores in order). A class undecided at its look (see
 * on_compare_adaptive) gets one more seed, unless it has max_seeds; the best gets as many
 * as the classes it must be paired with. target[i] gets the seed count class i should
 * reach (its count when nothing is needed); returns how many classes need more. */
int on_adaptive_need(const double *acc, int nc, int ns, int base, double alpha, double margin,
                     int max_seeds, int *target);

#endif
