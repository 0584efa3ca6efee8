/* rules.c - when do two adjacent layers commute? Derived from the properties each op
 * declares (src/ops/op.h), never from a list of named pairs: a new activation is
 * analyzed correctly by declaring its properties. docs/ORDERING.md gives the proofs.
 *
 * A layer is first reduced to what it is in the mode at hand (its "role"): in training,
 * BatchNorm uses batch statistics and dropout multiplies by a random mask; at inference
 * BatchNorm is a per-channel affine map and dropout is the identity. Properties that
 * depend on weights (slope signs, BatchNorm scale signs and shifts) are decided from the
 * weights when they are given, else they become the condition of a `conditional` verdict.
 */
#include "analyze.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *on_verdict_name(on_verdict_kind kind) {
    static const char *const names[] = {"exact",    "exact-with-change", "conditional",
                                        "rounding", "approximate",       "never"};
    return kind >= 0 && kind <= ON_NEVER ? names[kind] : "?";
}

typedef struct role {
    int kind;
    unsigned p;    /* properties that hold */
    unsigned cond; /* properties that hold only under `why` */
    char why[128];
    const on_layer_view *v;
} role;

/* Properties of an eval-mode BatchNorm or a PReLU when no weights are given. */
static void weight_conditions(role *r, const on_layer_view *v) {
    if (v->op == on_op_find("batchnorm")) {
        r->p = ON_PROP_ELEMENTWISE | ON_PROP_AFFINE | ON_PROP_PER_CHANNEL;
        r->cond = ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG;
        snprintf(r->why, sizeof r->why, "every scale gamma_c/sqrt(var_c+eps) of '%s' is >= 0",
                 v->name);
    } else { /* a learned slope: PReLU */
        r->p = v->op->props & ~ON_PROP_PARAM_DEPENDENT;
        r->cond = ON_PROP_MONO_UP;
        snprintf(r->why, sizeof r->why, "every learned slope of '%s' is >= 0", v->name);
    }
}

static role role_of(const on_layer_view *v, int infer) {
    role r = {.v = v};
    const on_op *op = v->op;
    unsigned p = op->props;
    if (p & ON_PROP_STOCHASTIC) {
        /* for one draw, x -> m x + n: ZERO_FIXED says n = 0, MONO_UP m >= 0, PER_CHANNEL
         * one draw per (sample, channel) (op.h) */
        unsigned draw =
            ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG | ON_PROP_MONO_UP | ON_PROP_PER_CHANNEL;
        r.kind = infer ? R_IDENTITY : R_DROP_TRAIN;
        r.p = infer ? 0 : (p & draw);
        return r;
    }
    if ((p & ON_PROP_AUGMENT) && infer) { /* random augmentation: the identity at inference */
        r.kind = R_IDENTITY;
        return r;
    }
    if ((p & ON_PROP_TRAIN_DIFFERS) && !infer) {
        r.kind = R_BN_TRAIN;
        return r;
    }
    if (p & ON_PROP_POOL)
        r.kind = R_POOL;
    else if (p & ON_PROP_LINEAR_MAP)
        r.kind = R_LINEAR;
    else if (p & ON_PROP_RESHAPE)
        r.kind = R_RESHAPE;
    else if (p & (ON_PROP_COPIES | ON_PROP_CONVEX))
        r.kind = R_MOVE; /* upsampling, padding, cropping */
    else if (p & ON_PROP_GLOBAL)
        r.kind = R_GLOBAL;
    else if (p & ON_PROP_ELEMENTWISE || (p & ON_PROP_TRAIN_DIFFERS))
        r.kind = R_ELEM;
    else
        r.kind = R_OTHER;
    unsigned id = ON_PROP_AFFINE | ON_PROP_IDEMPOTENT | ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED;
    if (r.kind == R_ELEM && (p & id) == id && !(p & ON_PROP_PER_CHANNEL)) r.kind = R_IDENTITY;
    r.p = p;
    if (op->props_of) {
        /* attribute-only properties (LeakyReLU slope, ELU alpha) need no weights */
        int needs_weights = op->params != NULL;
        if (!needs_weights || v->p)
            r.p = op->props_of(&v->a, v->p, v->xs);
        else
            weight_conditions(&r, v);
    }
    return r;
}

static int has(const role *r, unsigned bits) {
    return (r->p & bits) == bits;
}
static int maybe(const role *r, unsigned bits) {
    return ((r->p | r->cond) & bits) == bits;
}

static on_verdict verdict(int kind, const char *change, const char *cond, const char *fmt,
                          const char *a, const char *b) {
    on_verdict v = {.kind = kind};
    snprintf(v.reason, sizeof v.reason, fmt, a, b);
    if (change) snprintf(v.change, sizeof v.change, "%s", change);
    if (cond) snprintf(v.condition, sizeof v.condition, "%s", cond);
    return v;
}

static on_verdict likely(on_verdict v) {
    v.likely = 1;
    return v;
}

static int same_layer(const on_layer_view *a, const on_layer_view *b) {
    return a->op == b->op && on_attrs_equal(&a->a, &b->a) && !a->op->params;
}

/* A pool has padding that average pooling counts as zeros. */
static int counts_padding(const on_layer_view *v) {
    on_geom g;
    if (on_geom_make(&v->a, v->xs, 0, &g, NULL)) return 0;
    return v->op->pool_kind == ON_POOL_AVG && v->a.count_include_pad &&
           (g.pt || g.pb || g.pl || g.pr);
}

/* Windows tile the input exactly: stride = size, no padding, sizes divisible. */
static int tiles(const on_layer_view *v) {
    on_geom g;
    if (on_geom_make(&v->a, v->xs, 0, &g, NULL)) return 0;
    return g.sh == v->a.kh && g.sw == v->a.kw && !(g.pt | g.pb | g.pl | g.pr) &&
           v->xs.h % v->a.kh == 0 && v->xs.w % v->a.kw == 0;
}

/* Pool p next to elementwise f. */
static on_verdict pool_elem(const role *p, const role *f) {
    const char *pn = p->v->name, *fn = f->v->name;
    int kind = p->v->op->pool_kind;
    if (kind == ON_POOL_AVG) {
        if (!has(f, ON_PROP_AFFINE))
            return verdict(ON_NEVER, NULL, NULL,
                           "average pooling commutes only with affine functions: the mean of "
                           "'%s' over a window is not '%s' of the mean",
                           fn, fn);
        if (counts_padding(p->v)) {
            if (has(f, ON_PROP_ZERO_FIXED))
                return verdict(ON_ROUNDING, NULL, NULL,
                               "'%s' is linear, so it commutes with the padded average of '%s' up "
                               "to float rounding",
                               fn, pn);
            if (maybe(f, ON_PROP_ZERO_FIXED))
                return verdict(ON_CONDITIONAL, NULL, "every shift of the affine map is 0",
                               "'%s' counts padded zeros, which '%s' maps to its shift: equal only "
                               "when every shift is 0",
                               pn, fn);
            return verdict(ON_NEVER, NULL, NULL,
                           "'%s' counts padded zeros, and '%s' does not keep 0 fixed: the border "
                           "windows differ",
                           pn, fn);
        }
        return verdict(ON_ROUNDING, NULL, NULL,
                       "'%s' is affine, so it commutes with the average '%s' up to float "
                       "rounding",
                       fn, pn);
    }
    const char *to =
        kind == ON_POOL_MAX ? "max-pool becomes min-pool" : "min-pool becomes max-pool";
    if (has(f, ON_PROP_MONO_UP))
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' is non-decreasing, so the extreme of a window is taken at the same "
                       "element before or after it ('%s')",
                       fn, pn);
    if (has(f, ON_PROP_MONO_DOWN))
        return verdict(
            ON_EXACT_CHANGE, to, NULL,
            "'%s' is non-increasing, so it swaps with '%s' when max and min trade places", fn, pn);
    if (maybe(f, ON_PROP_MONO_UP))
        return likely(
            verdict(ON_CONDITIONAL, NULL, f->why,
                    "'%s' is non-decreasing only when its weights say so; then it commutes "
                    "with '%s'",
                    fn, pn));
    if (f->v->op->props & ON_PROP_PER_CHANNEL)
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' decreases in some channels: there '%s' would have to become a "
                       "min-pool",
                       fn, pn);
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' is not monotone, so the extreme of a window can move to another "
                   "element ('%s')",
                   fn, pn);
}

static int clamp(const role *r, float *lo, float *hi);

/* g(v) for one value */
static float eval_at(const on_layer_view *g, float v) {
    float y;
    on_call c = {.a = &g->a,
                 .n = 1,
                 .xs = {1, 1, 1, 1},
                 .ys = {1, 1, 1, 1},
                 .x = &v,
                 .y = &y,
                 .p = (float *const *)g->p,
                 .threads = 1};
    g->op->forward(&c);
    return y;
}

/* A layer that is one affine map k x + b for every channel: b = f(0), and k from f(t) at a
 * t far above |b| (so that the shift does not round the slope away). 0 when it is not
 * affine, differs per channel, or needs weights we lack. */
static int affine_coefs(const role *r, double *k, double *b) {
    const on_layer_view *g = r->v;
    if (!has(r, ON_PROP_AFFINE) || (r->p & ON_PROP_PER_CHANNEL) ||
        (g->op->props & ON_PROP_PER_CHANNEL) || (g->op->params && !g->p))
        return 0;
    *b = eval_at(g, 0);
    double t = 4096.0 * (fabs(*b) > 1 ? fabs(*b) : 1);
    *k = ((double)eval_at(g, (float)t) - *b) / t;
    return isfinite(*k) && isfinite(*b);
}

/* k is 1 (or -1) up to float rounding of the evaluation */
static int slope_is(double k, double want) {
    return fabs(k - want) <= 1e-6;
}

/* Train-mode additive noise x + n next to elementwise f: f(x + n) = f(x) + n for every n
 * only when f(x) = x + b. */
static on_verdict noise_add_elem(const role *f) {
    const char *fn = f->v->name;
    double k, b;
    if (affine_coefs(f, &k, &b) && slope_is(k, 1))
        return verdict(ON_ROUNDING, NULL, NULL,
                       "'%s' only shifts (x + b), so adding the noise before or after it gives "
                       "the same sum up to rounding%s",
                       fn, "");
    if (has(f, ON_PROP_AFFINE) && (f->v->op->params && !f->v->p))
        return verdict(ON_CONDITIONAL, NULL, "every scale is exactly 1 (in practice never)",
                       "added noise commutes with the affine '%s' only when it does not "
                       "scale%s",
                       fn, "");
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' is not a shift x + b: f(x + n) != f(x) + n for the added noise n%s", fn,
                   "");
}

/* Train-mode multiplicative noise of either sign (Gaussian dropout, x m) next to f:
 * f(m x) = m f(x) for every real m only when f is linear. */
static on_verdict noise_mul_elem(const role *f) {
    const char *fn = f->v->name;
    unsigned lin = ON_PROP_AFFINE | ON_PROP_ZERO_FIXED;
    if (has(f, lin))
        return verdict(ON_ROUNDING, NULL, NULL,
                       "'%s' is linear (a x), so multiplying by the noise before or after it "
                       "agrees up to rounding%s",
                       fn, "");
    if (maybe(f, lin))
        return likely(verdict(ON_CONDITIONAL, NULL, "every shift of the affine map is 0",
                              "'%s' commutes with multiplicative noise when it is linear%s", fn,
                              ""));
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' is not linear, and the Gaussian factor m takes both signs: f(m x) != m "
                   "f(x) (for ReLU, m < 0 < x)%s",
                   fn, "");
}

/* Train-mode dropout next to elementwise f. */
static on_verdict drop_elem(const role *d, const role *f) {
    const char *fn = f->v->name;
    if (!has(d, ON_PROP_ZERO_FIXED)) return noise_add_elem(f);
    if (!has(d, ON_PROP_MONO_UP)) return noise_mul_elem(f);
    unsigned need = ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG;
    float lo, hi;
    /* bit for bit: f only passes or zeroes values (ReLU), or is the identity (slope 1) */
    int unit = (clamp(f, &lo, &hi) && lo == 0 && isinf(hi)) ||
               has(f, ON_PROP_AFFINE | ON_PROP_LEAKY | need);
    if (has(f, need) && unit)
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' keeps 0 fixed and is positively homogeneous, so f(m x/q) = m f(x)/q "
                       "for the same mask, bit for bit as f only passes or zeroes values%s",
                       fn, "");
    if (has(f, need))
        return verdict(ON_ROUNDING, NULL, NULL,
                       "'%s' keeps 0 fixed and is positively homogeneous, so f(m x/q) = m f(x)/q "
                       "for the same mask, up to the rounding of its slope times 1/q%s",
                       fn, "");
    if (maybe(f, need))
        return likely(verdict(ON_CONDITIONAL, NULL, f->why,
                              "inverted dropout commutes with '%s' when it keeps 0 fixed and is "
                              "positively homogeneous%s",
                              fn, ""));
    if (!has(f, ON_PROP_ZERO_FIXED))
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' does not keep 0 fixed: dropped values become f(0) != 0 on one side "
                       "and 0 on the other%s",
                       fn, "");
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' is not positively homogeneous: under inverted dropout f(x/q) != f(x)/q "
                   "(as for tanh)%s",
                   fn, "");
}

static int clamp(const role *r, float *lo, float *hi) {
    return r->v->op->clamp_of && r->v->op->clamp_of(&r->v->a, lo, hi);
}

/* Does g map v to v, in every channel? -1 when that needs weights we do not have. */
static int fixes(const on_layer_view *g, float v) {
    if (isinf(v)) return 1;
    if (g->op->params && !g->p) return -1;
    float x[256], y[256];
    int C = g->xs.c < 256 ? g->xs.c : 256;
    for (int i = 0; i < C; i++) x[i] = v;
    on_call c = {.a = &g->a,
                 .n = 1,
                 .xs = {1, C, 1, 1},
                 .ys = {1, C, 1, 1},
                 .x = x,
                 .y = y,
                 .p = (float *const *)g->p,
                 .threads = 1};
    g->op->forward(&c);
    for (int i = 0; i < C; i++)
        if (y[i] != v) return 0;
    return 1;
}

/* Two different elementwise layers. */
static on_verdict elem_elem(const role *a, const role *b) {
    const char *an = a->v->name, *bn = b->v->name;
    float l1, h1, l2, h2;
    int ca = clamp(a, &l1, &h1), cb = clamp(b, &l2, &h2);
    if (ca && cb) {
        if (l1 <= h2 && l2 <= h1)
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' and '%s' clamp to overlapping ranges: both orders clamp to "
                           "their intersection",
                           an, bn);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' and '%s' clamp to disjoint ranges: the last one decides", an, bn);
    }
    if (ca || cb) {
        const role *c = ca ? a : b, *g = ca ? b : a;
        float lo = ca ? l1 : l2, hi = ca ? h1 : h2;
        const char *cn = c->v->name, *gn = g->v->name;
        if (lo == 0 && isinf(hi)) { /* max(x, 0): g needs to keep signs only */
            if (has(g, ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED) ||
                has(g, ON_PROP_SIGN_KEEPING | ON_PROP_ZERO_FIXED))
                return verdict(ON_EXACT, NULL, NULL,
                               "'%s' is max(x,0) and '%s' keeps signs with g(0) = 0, so both "
                               "orders give g(x) where x > 0 and 0 elsewhere",
                               cn, gn);
            if (maybe(g, ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED) && !(g->cond & ON_PROP_ZERO_FIXED))
                return likely(verdict(ON_CONDITIONAL, NULL, g->why,
                                      "'%s' is max(x,0); it commutes with '%s' when that is "
                                      "non-decreasing with g(0) = 0",
                                      cn, gn));
            if (maybe(g, ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED))
                return verdict(ON_CONDITIONAL, NULL,
                               "every scale is >= 0 and every shift is 0 (in practice never)",
                               "'%s' is max(x,0); it commutes with '%s' only when that maps 0 "
                               "to 0 and keeps order",
                               cn, gn);
        } else if (lo == 0 && !has(g, ON_PROP_MONO_UP) &&
                   has(g, ON_PROP_SIGN_KEEPING | ON_PROP_ZERO_FIXED | ON_PROP_MONO_UP_POS)) {
            /* x <= 0: both give 0; 0 < x <= hi: g(x) in [g(0), g(hi)] = [0, hi], kept; x > hi:
             * g(x) >= g(hi) = hi, clamped to hi = g(hi) */
            if (fixes(g->v, hi) == 1)
                return verdict(ON_EXACT, NULL, NULL,
                               "'%s' clamps to [0,hi] and '%s' keeps signs, is non-decreasing "
                               "for x >= 0 and maps hi to hi: both orders agree everywhere",
                               cn, gn);
        } else if (maybe(g, ON_PROP_MONO_UP)) {
            /* min(max(g(x), lo), hi) = g(min(max(x, lo), hi)) when g is non-decreasing and
             * fixes lo and hi */
            int fl = fixes(g->v, lo), fh = fixes(g->v, hi);
            if (fl && fh && (fl < 0 || fh < 0 || !has(g, ON_PROP_MONO_UP)))
                return verdict(ON_CONDITIONAL, NULL,
                               "the second layer is non-decreasing and "
                               "maps the clamp's bounds to themselves",
                               "'%s' clamps; '%s' commutes with it when it is non-decreasing and "
                               "fixes the bounds",
                               cn, gn);
            if (fl == 1 && fh == 1)
                return verdict(ON_EXACT, NULL, NULL,
                               "'%s' clamps to [lo,hi] and '%s' is non-decreasing with g(lo) = lo "
                               "and g(hi) = hi: both orders agree inside and outside the range",
                               cn, gn);
        }
    }
    /* two hinges x -> x (x > 0), s x (x <= 0): with slopes >= 0 both orders multiply the
     * slopes, up to rounding */
    if (has(a, ON_PROP_LEAKY) && has(b, ON_PROP_LEAKY)) {
        if (has(a, ON_PROP_MONO_UP) && has(b, ON_PROP_MONO_UP))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' and '%s' are x for x > 0 and s x below with slopes >= 0: both "
                           "orders multiply the slopes, up to rounding",
                           an, bn);
        if (maybe(a, ON_PROP_MONO_UP) && maybe(b, ON_PROP_MONO_UP))
            return likely(verdict(ON_CONDITIONAL, NULL, *a->why ? a->why : b->why,
                                  "'%s' and '%s' commute (up to rounding) when every slope is "
                                  ">= 0",
                                  an, bn));
    }
    /* a per-channel scaling (affine, zero-fixed, non-decreasing: a_c >= 0, b_c = 0) and a
     * positively homogeneous f: f(a x) = a f(x), up to rounding */
    for (int k = 0; k < 2; k++) {
        const role *s = k ? b : a, *f = k ? a : b;
        unsigned lin = ON_PROP_AFFINE | ON_PROP_ZERO_FIXED | ON_PROP_MONO_UP;
        if (!has(s, ON_PROP_AFFINE) || !maybe(f, ON_PROP_POS_HOMOG)) continue;
        if (has(s, lin) && has(f, ON_PROP_POS_HOMOG))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' scales by factors >= 0 with no shift, and '%s' is positively "
                           "homogeneous: f(a x) = a f(x) up to rounding",
                           s->v->name, f->v->name);
        if (maybe(s, lin))
            return verdict(ON_CONDITIONAL, NULL,
                           "every scale is >= 0 and every shift is 0 (in practice never)",
                           "'%s' commutes with the positively homogeneous '%s' only when it "
                           "scales by factors >= 0 with no shift",
                           s->v->name, f->v->name);
    }
    /* k1 (k2 x + b2) + b1 = k1 k2 x + k1 b2 + b1: equal to the other order iff
     * k1 b2 + b1 = k2 b1 + b2 */
    double k1, b1, k2, b2;
    if (affine_coefs(a, &k1, &b1) && affine_coefs(b, &k2, &b2)) {
        double d = k1 * b2 + b1 - (k2 * b1 + b2);
        if (fabs(d) <= 1e-6 * (fabs(k1 * b2) + fabs(b1) + fabs(k2 * b1) + fabs(b2)))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' and '%s' are affine maps with one coefficient whose shifts "
                           "agree (k1 b2 + b1 = k2 b1 + b2): they commute up to rounding",
                           an, bn);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' and '%s' are affine maps whose shifts pass through each other's "
                       "scales differently (k1 b2 + b1 != k2 b1 + b2)",
                       an, bn);
    }
    /* an odd f and the negation -x: f(-x) = -f(x) */
    for (int k = 0; k < 2; k++) {
        const role *s = k ? b : a, *f = k ? a : b;
        double kk, bb;
        if (has(f, ON_PROP_ODD) && affine_coefs(s, &kk, &bb) && slope_is(kk, -1) && bb == 0)
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' negates and '%s' is odd: f(-x) = -f(x), up to rounding",
                           s->v->name, f->v->name);
    }
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' and '%s' are different functions, and no property they declare makes "
                   "them commute",
                   an, bn);
}

/* The shapes of first-then-second and second-then-first agree (both well-formed). */
static int same_result_shape(const on_layer_view *first, const on_layer_view *second) {
    on_shape t, u;
    if (first->op->shape(&first->a, first->xs, &t, NULL) ||
        second->op->shape(&second->a, t, &t, NULL) ||
        second->op->shape(&second->a, first->xs, &u, NULL) ||
        first->op->shape(&first->a, u, &u, NULL))
        return 0;
    return t.rank == u.rank && t.c == u.c && t.h == u.h && t.w == u.w;
}

/* A copying layer whose output is its input repeated a whole number of times along each
 * axis (nearest upsampling by integer factors): every value appears equally often. */
static int replicates(const role *r) {
    on_shape ys;
    const on_layer_view *v = r->v;
    if (!has(r, ON_PROP_COPIES) || (r->p & (ON_PROP_ZERO_FILL | ON_PROP_SHIFTS)) ||
        v->op->shape(&v->a, v->xs, &ys, NULL))
        return 0;
    return ys.h % v->xs.h == 0 && ys.w % v->xs.w == 0 && ys.h * ys.w > v->xs.h * v->xs.w;
}

/* A permute that swaps rows and columns of an image, (c,h,w) -> (c,w,h). */
static int swaps_rows_cols(const role *r) {
    const on_attrs *p = &r->v->a;
    return r->kind == R_RESHAPE && (r->p & ON_PROP_REORDERS) && (r->p & ON_PROP_KEEPS_CHANNELS) &&
           r->v->xs.rank == 3 && p->perm[1] == 2 && p->perm[2] == 1;
}

/* Does elementwise g map +0 to +0, bit for bit, in every channel (not to -0, as a negative
 * slope does)? -1 when that needs weights we do not have. */
static int keeps_plus_zero(const on_layer_view *g) {
    if (g->op->params && !g->p) return -1;
    float x[256], y[256];
    int C = g->xs.c < 256 ? g->xs.c : 256;
    for (int i = 0; i < C; i++) x[i] = 0.0f;
    on_call c = {.a = &g->a,
                 .n = 1,
                 .xs = {1, C, 1, 1},
                 .ys = {1, C, 1, 1},
                 .x = x,
                 .y = y,
                 .p = (float *const *)g->p,
                 .threads = 1};
    g->op->forward(&c);
    for (int i = 0; i < C; i++)
        if (y[i] != 0 || signbit(y[i])) return 0;
    return 1;
}

/* Two layers that move values within channels (upsampling, padding, cropping). */
static on_verdict move_move(const role *a, const role *b) {
    const char *an = a->v->name, *bn = b->v->name;
    unsigned pad = ON_PROP_SHIFTS | ON_PROP_ZERO_FILL;
    if (replicates(a) && replicates(b))
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' and '%s' repeat every value a whole number of times per axis: both "
                       "orders repeat it by the products",
                       an, bn);
    if (has(a, ON_PROP_SHIFTS) && has(b, ON_PROP_SHIFTS)) {
        if (((a->p & pad) == pad) == ((b->p & pad) == pad))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' and '%s' both pad with zeros, or both crop: both orders add up "
                           "the amounts on each side",
                           an, bn);
        int apart = 1; /* padding and cropping on different sides */
        for (int i = 0; i < 4; i++) apart &= !(a->v->a.pad[i] && b->v->a.pad[i]);
        if (apart)
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' and '%s' pad and crop different sides of the plane: both orders "
                           "keep and add the same rows and columns",
                           an, bn);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' and '%s' pad and crop one side: cropping after padding removes the "
                       "zeros, before it removes values",
                       an, bn);
    }
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' and '%s' move values to other places in the two orders", an, bn);
}

/* A layer that moves values within channels (m) next to o. */
static on_verdict move_other(const role *m, const role *o) {
    const char *mn = m->v->name, *on = o->v->name;
    if (o->kind == R_MOVE) return move_move(m, o);
    if (o->kind == R_BN_TRAIN) {
        if (replicates(m))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' repeats every value equally often, so train-mode '%s' sees the "
                           "same mean and variance per channel: equal up to rounding",
                           mn, on);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' changes the values whose statistics train-mode '%s' takes", mn, on);
    }
    if (o->kind == R_DROP_TRAIN && has(o, ON_PROP_PER_CHANNEL)) {
        /* one draw per (sample, channel): x -> m_c x + n_c, a per-channel affine map */
        if (has(m, ON_PROP_CONVEX))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' takes weighted means within a channel, and '%s' draws one "
                           "affine map per channel: equal up to rounding",
                           mn, on);
        if (!has(m, ON_PROP_ZERO_FILL) ||
            has(o, ON_PROP_ZERO_FIXED | ON_PROP_MONO_UP | ON_PROP_POS_HOMOG))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' only copies values within a channel (and adds zeros that stay "
                           "+0), and '%s' draws one factor per channel: the same draw reaches "
                           "every copy",
                           mn, on);
    }
    if (o->kind == R_DROP_TRAIN)
        return verdict(ON_NEVER, NULL, NULL,
                       "dropout's mask follows positions, which '%s' changes: '%s' drops other "
                       "values in the two orders",
                       mn, on);
    if (o->kind == R_RESHAPE) {
        /* swapping rows and columns commutes with a move that treats both axes alike */
        const on_attrs *x = &m->v->a;
        int swap = swaps_rows_cols(o);
        int symmetric = x->scale_h == x->scale_w && x->pad[0] == x->pad[2] &&
                        x->pad[1] == x->pad[3] && m->v->xs.rank == 3;
        if (swap && symmetric && same_result_shape(m->v, o->v))
            return has(m, ON_PROP_COPIES)
                       ? verdict(ON_EXACT, NULL, NULL,
                                 "'%s' treats rows and columns alike, and '%s' swaps them: the "
                                 "same copies in both orders",
                                 mn, on)
                       : verdict(ON_ROUNDING, NULL, NULL,
                                 "'%s' treats rows and columns alike, and '%s' swaps them: the "
                                 "same weighted means, summed in another order",
                                 mn, on);
        return verdict(ON_NEVER, NULL, NULL, "'%s' moves values along axes that '%s' rearranges",
                       mn, on);
    }
    if (o->kind != R_ELEM)
        return verdict(ON_NEVER, NULL, NULL, "'%s' and '%s' see different windows or positions", mn,
                       on);
    if (has(m, ON_PROP_CONVEX)) {
        if (has(o, ON_PROP_AFFINE))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' takes weighted means (weights summing to 1) within a channel, "
                           "and '%s' is affine per channel: equal up to rounding",
                           mn, on);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' takes weighted means, and '%s' is not affine: the function of a mean "
                       "is not the mean of the function",
                       mn, on);
    }
    if (has(m, ON_PROP_ZERO_FILL)) {
        int plus = has(o, ON_PROP_ZERO_FIXED) ? keeps_plus_zero(o->v) : 0;
        if (plus < 0)
            return likely(verdict(ON_CONDITIONAL, NULL, "f(+0) is +0, not -0 (slopes >= 0)",
                                  "'%s' adds zeros and '%s' keeps 0 fixed; bit for bit only when "
                                  "it keeps +0 (a negative slope makes it -0)",
                                  mn, on));
        if (!plus && has(o, ON_PROP_ZERO_FIXED))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' adds zeros and '%s' keeps 0 fixed, but as -0: equal as numbers, "
                           "not bit for bit",
                           mn, on);
        if (plus)
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' copies values and adds zeros, and '%s' keeps 0 fixed: the same "
                           "values in both orders",
                           mn, on);
        if (maybe(o, ON_PROP_ZERO_FIXED))
            return verdict(ON_CONDITIONAL, NULL, "every shift of the affine map is 0",
                           "'%s' adds zeros, which '%s' maps to its shift: equal only when every "
                           "shift is 0",
                           mn, on);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' adds zeros, and '%s' does not keep 0 fixed: the border differs", mn,
                       on);
    }
    return verdict(ON_EXACT, NULL, NULL,
                   "'%s' only copies values within each channel, and '%s' acts on each value "
                   "alone (per channel at most): the same result at every copy",
                   mn, on);
}

/* The properties of reshape-like v were it to read shape xs. */
static unsigned props_at(const on_layer_view *v, on_shape xs) {
    return v->op->props_of ? v->op->props_of(&v->a, v->p, xs) : v->op->props;
}

/* Global pooling (g) next to o. */
static on_verdict global_other(const role *g, const role *o) {
    const char *gn = g->v->name, *on = o->v->name;
    if (o->kind == R_ELEM && g->v->op->pool_kind == ON_POOL_AVG) {
        /* the mean of a channel: mean(a x + b) = a mean(x) + b */
        if (has(o, ON_PROP_AFFINE))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' is affine (per channel at most), and '%s' takes each channel's "
                           "mean: equal up to rounding",
                           on, gn);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' is not affine: '%s' of it is not it of the mean (ReLU of a mean is "
                       "not the mean of ReLU)",
                       on, gn);
    }
    if (o->kind == R_ELEM && g->v->op->pool_kind == ON_POOL_MAX) {
        float lo, hi;
        int piecewise = clamp(o, &lo, &hi) || has(o, ON_PROP_LEAKY) || has(o, ON_PROP_AFFINE);
        if (has(o, ON_PROP_MONO_UP) && piecewise)
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' is non-decreasing, so the largest value of a channel is taken "
                           "at the same element before or after it ('%s')",
                           on, gn);
        if (has(o, ON_PROP_MONO_UP))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' is non-decreasing, so '%s' gives the same values in both orders; "
                           "where it rounds two inputs to one float (saturation) the gradient "
                           "may reach the other of them",
                           on, gn);
        if (maybe(o, ON_PROP_MONO_UP))
            return likely(verdict(ON_CONDITIONAL, NULL, o->why,
                                  "'%s' is non-decreasing only when its weights say so; then it "
                                  "commutes with '%s'",
                                  on, gn));
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' is not non-decreasing, so the largest value can move to another "
                       "element ('%s')",
                       on, gn);
    }
    /* a reshape's properties in the other order too */
    unsigned op = o->kind == R_RESHAPE ? o->p | props_at(o->v, g->v->xs) : 0;
    if ((op & ON_PROP_KEEPS_CHANNELS) && same_result_shape(g->v, o->v))
        return (op & ON_PROP_REORDERS)
                   ? verdict(
                         ON_ROUNDING, NULL, NULL,
                         "'%s' pools each channel's values, which '%s' keeps in the channel but "
                         "reorders: the same values, and on ties the gradient may reach another "
                         "of the tied elements",
                         gn, on)
                   : verdict(ON_EXACT, NULL, NULL,
                             "'%s' pools each channel's values, which '%s' keeps in the channel "
                             "and in order",
                             gn, on);
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' reduces each channel to one value, which '%s' sees differently", gn, on);
}

/* Reshape or permute r (first) next to another reshape or permute o (second). */
static on_verdict reshape_reshape(const role *r, const role *o) {
    const char *rn = r->v->name, *on = o->v->name;
    if (!same_result_shape(r->v, o->v))
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' and '%s' give different shapes in the two orders", rn, on);
    on_shape mid;
    o->v->op->shape(&o->v->a, r->v->xs, &mid, NULL); /* first's input in the other order */
    unsigned any = r->p | o->p | props_at(o->v, r->v->xs) | props_at(r->v, mid);
    if (!(any & ON_PROP_REORDERS))
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' and '%s' keep the values in memory order and both orders end in the "
                       "same shape",
                       rn, on);
    const on_attrs *p = &r->v->a, *q = &o->v->a;
    int both = r->v->op == o->v->op && r->v->op->props_of, same = both;
    for (int i = 0; i < r->v->xs.rank && both; i++)
        same &= p->perm[q->perm[i]] == q->perm[p->perm[i]];
    if (same)
        return verdict(ON_EXACT, NULL, NULL,
                       "the permutations '%s' and '%s' compose to the same one in both orders", rn,
                       on);
    return verdict(ON_NEVER, NULL, NULL, "'%s' and '%s' put values in different places", rn, on);
}

on_verdict on_commute(const on_layer_view *first, const on_layer_view *second, int infer) {
    role a = role_of(first, infer), b = role_of(second, infer);
    const char *an = first->name, *bn = second->name;
    if (a.kind == R_IDENTITY || b.kind == R_IDENTITY)
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' is the identity here (dropout at inference, or identity), so "
                       "'%s' may stand on either side",
                       a.kind == R_IDENTITY ? an : bn, a.kind == R_IDENTITY ? bn : an);
    /* x * 1 + 0 (rescaling(1)): the identity but for turning -0 into +0 */
    for (int k = 0; k < 2; k++) {
        const role *r = k ? &b : &a;
        double kk, bb;
        if (r->kind == R_ELEM && affine_coefs(r, &kk, &bb) && slope_is(kk, 1) && bb == 0)
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' is x * 1 + 0, the identity but for the sign of a zero: '%s' may "
                           "stand on either side",
                           r->v->name, k ? an : bn);
    }
    if (same_layer(first, second) && a.kind != R_DROP_TRAIN)
        return verdict(ON_EXACT, NULL, NULL, "'%s' and '%s' are the same function", an, bn);
    if (a.kind == R_LINEAR || b.kind == R_LINEAR)
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' mixes positions and channels; '%s' does not pass through it",
                       a.kind == R_LINEAR ? an : bn, a.kind == R_LINEAR ? bn : an);
    if (a.kind == R_OTHER || b.kind == R_OTHER)
        return verdict(ON_NEVER, NULL, NULL, "no rule covers '%s' next to '%s'", an, bn);
    if (a.kind == R_MOVE || b.kind == R_MOVE)
        return a.kind == R_MOVE ? move_other(&a, &b) : move_other(&b, &a);
    if (a.kind == R_GLOBAL || b.kind == R_GLOBAL)
        return a.kind == R_GLOBAL ? global_other(&a, &b) : global_other(&b, &a);
    if (a.kind == R_RESHAPE && b.kind == R_RESHAPE) return reshape_reshape(&a, &b);
    if (a.kind == R_BN_TRAIN || b.kind == R_BN_TRAIN) {
        const role *o = a.kind == R_BN_TRAIN ? &b : &a;
        const char *bnn = a.kind == R_BN_TRAIN ? an : bn;
        if (o->kind == R_POOL)
            return verdict(ON_APPROX, NULL, NULL,
                           "train-mode '%s' takes statistics over the values it sees, which "
                           "'%s' changes: close or not, only an experiment can tell",
                           bnn, o->v->name);
        if (o->kind == R_RESHAPE && (o->p & ON_PROP_KEEPS_CHANNELS))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "train-mode '%s' takes its statistics per channel, and '%s' keeps "
                           "every channel's values together: equal up to rounding",
                           bnn, o->v->name);
        if (o->kind == R_DROP_TRAIN)
            return verdict(ON_NEVER, NULL, NULL,
                           "dropout changes the variance that train-mode '%s' measures, and not "
                           "at inference (the variance shift): '%s' on the other side is another "
                           "model",
                           bnn, o->v->name);
        /* the negation: BN(-x) = -gamma z + beta against -BN(x) = -gamma z - beta */
        double k, b;
        if (o->kind == R_ELEM && affine_coefs(o, &k, &b) && slope_is(k, -1) && b == 0) {
            const on_layer_view *bv = a.kind == R_BN_TRAIN ? first : second;
            if (!bv->p || !bv->op->params)
                return verdict(ON_CONDITIONAL, NULL, "every shift beta of the BatchNorm is 0",
                               "'%s' negates: train-mode '%s' gives -gamma z + beta for -x, "
                               "equal to its negation when beta = 0",
                               o->v->name, bnn);
            int zero = 1;
            for (int c = 0; c < bv->xs.c; c++) zero &= bv->p[1][c] == 0;
            if (zero)
                return verdict(ON_ROUNDING, NULL, NULL,
                               "'%s' negates and train-mode '%s' has no shift: its batch "
                               "statistics negate with the input, so both give -gamma z",
                               o->v->name, bnn);
        }
        return verdict(ON_NEVER, NULL, NULL,
                       "train-mode '%s' normalizes with statistics of its input, which '%s' "
                       "changes",
                       bnn, o->v->name);
    }
    if (a.kind == R_RESHAPE || b.kind == R_RESHAPE) {
        const role *o = a.kind == R_RESHAPE ? &b : &a, *r = a.kind == R_RESHAPE ? &a : &b;
        const on_attrs *w = &o->v->a;
        if (o->kind == R_POOL && swaps_rows_cols(r) && w->kh == w->kw && w->sh == w->sw &&
            w->pad[0] == w->pad[2] && w->pad[1] == w->pad[3] && same_result_shape(r->v, o->v))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' swaps rows and columns, and the window of '%s' is the same both "
                           "ways: the same values (an average summed in another order; on ties "
                           "the gradient may reach another of the tied elements)",
                           r->v->name, o->v->name);
        if (o->kind == R_DROP_TRAIN && has(o, ON_PROP_PER_CHANNEL) &&
            (r->p & ON_PROP_KEEPS_CHANNELS))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' keeps each channel's values in that channel, and '%s' draws one "
                           "factor per channel",
                           r->v->name, o->v->name);
        if (o->kind == R_DROP_TRAIN && (r->p & ON_PROP_REORDERS))
            return verdict(ON_NEVER, NULL, NULL,
                           "'%s' puts values in another memory order, and the mask of '%s' "
                           "follows memory positions",
                           r->v->name, o->v->name);
        if (o->kind == R_ELEM && (r->p & ON_PROP_KEEPS_CHANNELS))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' keeps each channel's values in that channel, and '%s' acts on "
                           "each value alone (per channel at most)",
                           r->v->name, o->v->name);
        if ((o->kind == R_ELEM || o->kind == R_DROP_TRAIN) && !(o->p & ON_PROP_PER_CHANNEL) &&
            !(o->v->op->props & ON_PROP_PER_CHANNEL))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' only moves values, and '%s' treats every value alike",
                           a.kind == R_RESHAPE ? an : bn, o->v->name);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' changes which values form a channel or a "
                       "window, which '%s' depends on",
                       a.kind == R_RESHAPE ? an : bn, o->v->name);
    }
    if (a.kind == R_POOL && b.kind == R_POOL) {
        int ka = first->op->pool_kind, kb = second->op->pool_kind;
        if (ka == kb && ka != ON_POOL_AVG && tiles(first) && tiles(second))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' and '%s' tile their inputs: both orders are one pool over the "
                           "product window",
                           an, bn);
        if (ka == kb && tiles(first) && tiles(second))
            return verdict(ON_ROUNDING, NULL, NULL,
                           "'%s' and '%s' tile their inputs: both orders average the same "
                           "product window",
                           an, bn);
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' and '%s' see different windows in the two "
                       "orders",
                       an, bn);
    }
    if (a.kind == R_POOL || b.kind == R_POOL) {
        const role *p = a.kind == R_POOL ? &a : &b, *o = a.kind == R_POOL ? &b : &a;
        if (o->kind == R_DROP_TRAIN &&
            has(o, ON_PROP_PER_CHANNEL | ON_PROP_ZERO_FIXED | ON_PROP_MONO_UP)) {
            /* one factor m_c >= 0 for a whole channel, the same in either order (it is drawn
             * per channel); pools act within a channel */
            if (p->v->op->pool_kind == ON_POOL_AVG)
                return verdict(ON_ROUNDING, NULL, NULL,
                               "'%s' scales each whole channel by one factor >= 0, and the "
                               "average '%s' is linear: equal up to rounding",
                               o->v->name, p->v->name);
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' scales each whole channel by one factor >= 0 (0 or 1/q), so "
                           "the extreme of every window of '%s' is taken at the same element",
                           o->v->name, p->v->name);
        }
        if (o->kind == R_DROP_TRAIN)
            return verdict(ON_NEVER, NULL, NULL,
                           "dropout before '%s' drops inputs of a window, after it drops whole "
                           "outputs: another distribution ('%s'), though after is cheaper",
                           p->v->name, o->v->name);
        return pool_elem(p, o);
    }
    if (a.kind == R_DROP_TRAIN && b.kind == R_DROP_TRAIN) {
        /* each layer keeps its draws (its key and the element or channel index) in either
         * order: m1 m2 x against m2 m1 x, or x + n1 + n2 against x + n2 + n1 */
        int za = has(&a, ON_PROP_ZERO_FIXED), zb = has(&b, ON_PROP_ZERO_FIXED);
        if (za != zb)
            return verdict(ON_NEVER, NULL, NULL,
                           "one of '%s' and '%s' adds noise and the other multiplies: (x + n) m "
                           "!= x m + n",
                           an, bn);
        if (za && has(&a, ON_PROP_MONO_UP) && has(&b, ON_PROP_MONO_UP) &&
            first->a.rate == second->a.rate)
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' and '%s' zero values or scale them by the same 1/q, each with "
                           "its own draws in either order: the same products bit for bit",
                           an, bn);
        return verdict(ON_ROUNDING, NULL, NULL,
                       za ? "'%s' and '%s' multiply by their own random factors, drawn the same in "
                            "either order: the products agree up to rounding"
                          : "'%s' and '%s' add their own noise, drawn the same in either order: "
                            "the sums agree up to rounding",
                       an, bn);
    }
    if (a.kind == R_DROP_TRAIN || b.kind == R_DROP_TRAIN)
        return a.kind == R_DROP_TRAIN ? drop_elem(&a, &b) : drop_elem(&b, &a);
    return elem_elem(&a, &b);
}

int on_role_of(const on_layer_view *v, int infer, unsigned *p, unsigned *cond, char *why,
               size_t len) {
    role r = role_of(v, infer);
    *p = r.p;
    *cond = r.cond;
    snprintf(why, len, "%s", r.why);
    return r.kind;
}
