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

const char *on_verdict_name(int kind) {
    static const char *const names[] = {"exact", "exact-with-change", "conditional",
                                        "rounding", "approximate", "never"};
    return kind >= 0 && kind <= ON_NEVER ? names[kind] : "?";
}

enum { R_ELEM, R_POOL, R_BN_TRAIN, R_DROP_TRAIN, R_IDENTITY, R_LINEAR, R_RESHAPE, R_OTHER };

typedef struct role {
    int kind;
    unsigned p;      /* properties that hold */
    unsigned cond;   /* properties that hold only under `why` */
    char why[128];
    const on_layer_view *v;
} role;

/* Properties of an eval-mode BatchNorm or a PReLU when no weights are given. */
static void weight_conditions(role *r, const on_layer_view *v) {
    if (v->op == on_op_find("batchnorm")) {
        r->p = ON_PROP_ELEMENTWISE | ON_PROP_AFFINE | ON_PROP_PER_CHANNEL;
        r->cond = ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED;
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
        r.kind = infer ? R_IDENTITY : R_DROP_TRAIN;
        r.p = infer ? 0 : (p & (ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG));
        return r;
    }
    if ((p & ON_PROP_TRAIN_DIFFERS) && !infer) {
        r.kind = R_BN_TRAIN;
        return r;
    }
    if (p & ON_PROP_POOL) r.kind = R_POOL;
    else if (p & ON_PROP_LINEAR_MAP) r.kind = R_LINEAR;
    else if (p & ON_PROP_RESHAPE) r.kind = R_RESHAPE;
    else if (p & ON_PROP_ELEMENTWISE || (p & ON_PROP_TRAIN_DIFFERS)) r.kind = R_ELEM;
    else r.kind = R_OTHER;
    if (r.kind == R_ELEM && !strcmp(op->name, "identity")) r.kind = R_IDENTITY;
    r.p = p;
    if (op->props_of) {
        /* attribute-only properties (LeakyReLU slope, ELU alpha) need no weights */
        int needs_weights = op->params != NULL;
        if (!needs_weights || v->p) r.p = op->props_of(&v->a, v->p, v->xs);
        else weight_conditions(&r, v);
    }
    return r;
}

static int has(const role *r, unsigned bits) { return (r->p & bits) == bits; }
static int maybe(const role *r, unsigned bits) { return ((r->p | r->cond) & bits) == bits; }

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
    return a->op == b->op && !memcmp(&a->a, &b->a, sizeof a->a) && !a->op->params;
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
    const char *to = kind == ON_POOL_MAX ? "max-pool becomes min-pool" : "min-pool becomes max-pool";
    if (has(f, ON_PROP_MONO_UP))
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' is non-decreasing, so the extreme of a window is taken at the same "
                       "element before or after it ('%s')",
                       fn, pn);
    if (has(f, ON_PROP_MONO_DOWN))
        return verdict(ON_EXACT_CHANGE, to, NULL,
                       "'%s' is non-increasing, so it swaps with '%s' when max and min trade places",
                       fn, pn);
    if (maybe(f, ON_PROP_MONO_UP))
        return likely(verdict(ON_CONDITIONAL, NULL, f->why,
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

/* Train-mode dropout next to elementwise f. */
static on_verdict drop_elem(const role *d, const role *f) {
    const char *fn = f->v->name;
    (void)d;
    unsigned need = ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG;
    if (has(f, need))
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' keeps 0 fixed and is positively homogeneous, so f(m x/q) = m f(x)/q "
                       "for the same mask%s",
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

/* Two different elementwise layers. */
static on_verdict elem_elem(const role *a, const role *b) {
    const char *an = a->v->name, *bn = b->v->name;
    const role *pos = has(a, ON_PROP_POS_PART) ? a : has(b, ON_PROP_POS_PART) ? b : NULL;
    if (pos) {
        const role *g = pos == a ? b : a;
        unsigned need = ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED;
        if (has(g, need) || has(g, ON_PROP_SIGN_KEEPING | ON_PROP_ZERO_FIXED))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' is max(x,0) and '%s' keeps signs with g(0) = 0, so both "
                           "orders give g(x) where x > 0 and 0 elsewhere",
                           pos->v->name, g->v->name);
        if (maybe(g, need) && !(g->cond & ON_PROP_ZERO_FIXED))
            return likely(verdict(ON_CONDITIONAL, NULL, g->why,
                                  "'%s' is max(x,0); it commutes with '%s' when that is "
                                  "non-decreasing with g(0) = 0",
                                  pos->v->name, g->v->name));
        if (maybe(g, need))
            return verdict(ON_CONDITIONAL, NULL,
                           g->cond & ON_PROP_ZERO_FIXED
                               ? "every scale is >= 0 and every shift is 0 (in practice never)"
                               : g->why,
                           "'%s' is max(x,0); it commutes with '%s' when that is non-decreasing "
                           "with g(0) = 0",
                           pos->v->name, g->v->name);
    }
    if (has(a, ON_PROP_AFFINE) && has(b, ON_PROP_AFFINE) &&
        !((a->p | b->p) & ON_PROP_PER_CHANNEL))
        return verdict(ON_ROUNDING, NULL, NULL, "'%s' and '%s' are both affine maps with one "
                       "coefficient: they commute up to rounding", an, bn);
    return verdict(ON_NEVER, NULL, NULL,
                   "'%s' and '%s' are different nonlinear functions, and no property they "
                   "declare makes them commute",
                   an, bn);
}

on_verdict on_commute(const on_layer_view *first, const on_layer_view *second, int infer) {
    role a = role_of(first, infer), b = role_of(second, infer);
    const char *an = first->name, *bn = second->name;
    if (a.kind == R_IDENTITY || b.kind == R_IDENTITY)
        return verdict(ON_EXACT, NULL, NULL,
                       "'%s' is the identity here (dropout at inference, or identity), so "
                       "'%s' may stand on either side",
                       a.kind == R_IDENTITY ? an : bn, a.kind == R_IDENTITY ? bn : an);
    if (same_layer(first, second))
        return verdict(ON_EXACT, NULL, NULL, "'%s' and '%s' are the same function%s", an, bn);
    if (a.kind == R_LINEAR || b.kind == R_LINEAR)
        return verdict(ON_NEVER, NULL, NULL,
                       "'%s' mixes positions and channels; '%s' does not pass through it",
                       a.kind == R_LINEAR ? an : bn, a.kind == R_LINEAR ? bn : an);
    if (a.kind == R_OTHER || b.kind == R_OTHER)
        return verdict(ON_NEVER, NULL, NULL, "no rule covers '%s' next to '%s'", an, bn);
    if (a.kind == R_BN_TRAIN || b.kind == R_BN_TRAIN) {
        const role *o = a.kind == R_BN_TRAIN ? &b : &a;
        const char *bnn = a.kind == R_BN_TRAIN ? an : bn;
        if (o->kind == R_POOL)
            return verdict(ON_APPROX, NULL, NULL,
                           "train-mode '%s' takes statistics over the values it sees, which "
                           "'%s' changes: close or not, only an experiment can tell",
                           bnn, o->v->name);
        if (o->kind == R_DROP_TRAIN)
            return verdict(ON_NEVER, NULL, NULL,
                           "dropout changes the variance that train-mode '%s' measures, and not "
                           "at inference (the variance shift): '%s' on the other side is another "
                           "model",
                           bnn, o->v->name);
        return verdict(ON_NEVER, NULL, NULL,
                       "train-mode '%s' normalizes with statistics of its input, which '%s' "
                       "changes",
                       bnn, o->v->name);
    }
    if (a.kind == R_RESHAPE || b.kind == R_RESHAPE) {
        const role *o = a.kind == R_RESHAPE ? &b : &a;
        if ((o->kind == R_ELEM || o->kind == R_DROP_TRAIN) && !(o->p & ON_PROP_PER_CHANNEL) &&
            !(o->v->op->props & ON_PROP_PER_CHANNEL))
            return verdict(ON_EXACT, NULL, NULL,
                           "'%s' only moves values, and '%s' treats every value alike", 
                           a.kind == R_RESHAPE ? an : bn, o->v->name);
        return verdict(ON_NEVER, NULL, NULL, "'%s' changes which values form a channel or a "
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
        return verdict(ON_NEVER, NULL, NULL, "'%s' and '%s' see different windows in the two "
                       "orders", an, bn);
    }
    if (a.kind == R_POOL || b.kind == R_POOL) {
        const role *p = a.kind == R_POOL ? &a : &b, *o = a.kind == R_POOL ? &b : &a;
        if (o->kind == R_DROP_TRAIN)
            return verdict(ON_NEVER, NULL, NULL,
                           "dropout before '%s' drops inputs of a window, after it drops whole "
                           "outputs: another distribution ('%s'), though after is cheaper",
                           p->v->name, o->v->name);
        return pool_elem(p, o);
    }
    if (a.kind == R_DROP_TRAIN && b.kind == R_DROP_TRAIN)
        return verdict(ON_NEVER, NULL, NULL, "'%s' and '%s' draw their masks from different "
                       "streams", an, bn);
    if (a.kind == R_DROP_TRAIN || b.kind == R_DROP_TRAIN)
        return a.kind == R_DROP_TRAIN ? drop_elem(&a, &b) : drop_elem(&b, &a);
    return elem_elem(&a, &b);
}
