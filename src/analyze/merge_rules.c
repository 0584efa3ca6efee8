/* merge_rules.c - when does a layer move across a merge (concat, add, multiply, ...)?
 *
 * The identity asked is f(merge(x_1, ..., x_n)) = merge(f(x_1), ..., f(x_n)), read either
 * way: one f after the merge, or one copy of f at the end of every branch. As for pairs
 * (rules.c), the answer is derived from the properties the ops declare, never from named
 * pairs; docs/ORDERING.md section 2b gives the proofs and tests/test_merge_rules.c tries
 * every verdict on random tensors.
 *
 * Some inputs do not take f: a per-channel gate (an input of C values broadcast over the
 * positions, as squeeze-and-excitation multiplies) is passed as it is to a layer that keeps
 * channels (a pool of g x is g times the pool of x), and a product takes f on one factor
 * only (relu(g x) = g relu(x) for g >= 0). The plan says which inputs take f, whether its
 * per-channel parameters split by the concatenation's channel ranges, and whether its
 * shift stays on one input (BatchNorm over a sum: a (x + y) + b = (a x + b) + a y).
 */
#include "analyze.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { M_CONCAT, M_ADD, M_SUB, M_AVG, M_MUL, M_DIV, M_MAX, M_MIN, M_UNKNOWN };

static int merge_kind(const on_op *op) {
    static const char *const names[] = {"concat",   "add",    "subtract", "average",
                                        "multiply", "divide", "maximum",  "minimum"};
    for (int k = 0; k < M_UNKNOWN; k++)
        if (!strcmp(op->name, names[k])) return k;
    return M_UNKNOWN;
}

static int same_shape(on_shape a, on_shape b) {
    return a.rank == b.rank && a.c == b.c && a.h == b.h && a.w == b.w;
}

/* As merge.c: an input of C values that is not of the output's shape. */
static int is_gate(on_shape x, on_shape y) {
    return !same_shape(x, y) && x.c == y.c && on_shape_size(x) == (size_t)y.c;
}

static on_verdict said(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static on_verdict said(int kind, const char *fmt, ...) {
    on_verdict v = {.kind = kind};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v.reason, sizeof v.reason, fmt, ap);
    va_end(ap);
    return v;
}

/* f(v) of a parameter-free elementwise layer, for one value. */
static float eval1(const on_layer_view *f, float v) {
    float y = 0;
    on_call c = {
        .a = &f->a, .n = 1, .xs = {1, 1, 1, 1}, .ys = {1, 1, 1, 1}, .x = &v, .y = &y, .threads = 1};
    f->op->forward(&c);
    return y;
}

int on_node_nonneg(const on_model *m, int i) {
    for (int hops = 0; hops < 256 && i > 0; hops++) {
        const on_node *nd = &m->nodes[i];
        const on_op *op = nd->op;
        if (nd->nin > 1) { /* a merge of values >= 0 (maximum: one is enough) */
            int kind = merge_kind(op), all = 1, any = 0;
            for (int k = 0; k < nd->nin; k++) {
                int nn = on_node_nonneg(m, nd->in[k]);
                all &= nn;
                any |= nn;
            }
            if (kind == M_MAX) return any;
            return (kind == M_CONCAT || kind == M_ADD || kind == M_AVG || kind == M_MUL ||
                    kind == M_MIN) &&
                   all;
        }
        unsigned p = op->props;
        on_shape xs = m->nodes[nd->in[0]].ys;
        if (op->props_of && !op->params) p = op->props_of(&nd->a, NULL, xs);
        /* layers that only move, pool or average values keep them >= 0 (padding adds 0s) */
        if ((p &
             (ON_PROP_RESHAPE | ON_PROP_COPIES | ON_PROP_CONVEX | ON_PROP_POOL | ON_PROP_GLOBAL)) ||
            op == on_op_find("global_avgpool") || op == on_op_find("identity")) {
            i = nd->in[0];
            continue;
        }
        if (p & ON_PROP_STOCHASTIC) { /* a factor m >= 0 and no added noise keep signs */
            if ((p & (ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED)) !=
                (ON_PROP_MONO_UP | ON_PROP_ZERO_FIXED))
                return 0;
            i = nd->in[0];
            continue;
        }
        if (!(p & ON_PROP_ELEMENTWISE) || op->params) return 0;
        float lo, hi;
        if (op->clamp_of && op->clamp_of(&nd->a, &lo, &hi)) return lo >= 0;
        on_layer_view f = {.op = op, .a = nd->a, .xs = xs, .name = nd->name};
        /* a monotone f is smallest at one end of the line */
        if (p & ON_PROP_MONO_UP) return eval1(&f, -INFINITY) >= 0;
        if (p & ON_PROP_MONO_DOWN) return eval1(&f, INFINITY) >= 0;
        return 0;
    }
    return 0;
}

on_merge_view on_merge_view_of(const on_model *m, int i) {
    const on_node *nd = &m->nodes[i];
    on_merge_view v = {.op = nd->op, .a = nd->a, .name = nd->name, .nin = nd->nin, .ys = nd->ys};
    for (int k = 0; k < nd->nin; k++) {
        v.xs[k] = m->nodes[nd->in[k]].ys;
        v.nonneg[k] = (unsigned char)on_node_nonneg(m, nd->in[k]);
    }
    return v;
}

static int has(unsigned p, unsigned bits) {
    return (p & bits) == bits;
}

/* f is the identity on x > 0 (max(x, 0), LeakyReLU, PReLU: a sum of values >= 0 passes). */
static int identity_on_nonneg(const on_layer_view *f, unsigned p) {
    float lo, hi;
    if (f->op->clamp_of && f->op->clamp_of(&f->a, &lo, &hi)) return lo <= 0 && isinf(hi);
    return has(p, ON_PROP_LEAKY);
}

/* f is max(x, 0) exactly: the one positively homogeneous layer that is bit-exact with a
 * factor (it passes or zeroes values, no multiplication). */
static int is_relu(const on_layer_view *f) {
    float lo, hi;
    return f->op->clamp_of && f->op->clamp_of(&f->a, &lo, &hi) && lo == 0 && isinf(hi);
}

/* Does layer f fit input shape s (a branch's tensor)? */
static int fits(const on_layer_view *f, on_shape s) {
    on_shape ys;
    if (f->op->ninputs != 1 || !f->op->shape) return 0;
    on_error e;
    return !f->op->shape(&f->a, s, &ys, &e);
}

/* f only repeats values (nearest upsampling), by whole factors, and its outputs on the
 * inputs side by side along ax have the shape of its output on the concatenation. */
static int replicates_all(const on_merge_view *m, const on_layer_view *f, unsigned p, int ax) {
    if (!(p & ON_PROP_COPIES) || (p & (ON_PROP_ZERO_FILL | ON_PROP_SHIFTS))) return 0;
    on_shape ys, yk;
    on_error e;
    if (f->op->shape(&f->a, m->ys, &ys, &e)) return 0;
    int along = 0;
    for (int k = 0; k < m->nin; k++) {
        const on_shape *x = &m->xs[k];
        if (f->op->shape(&f->a, *x, &yk, &e) || yk.h % x->h || yk.w % x->w) return 0;
        along += ax == 1 && x->rank == 3 ? yk.h : yk.w;
    }
    return along == (ax == 1 && ys.rank == 3 ? ys.h : ys.w);
}

/* Concatenation (along `ax`) followed by f. */
static on_verdict concat_rule(const on_merge_view *m, const on_layer_view *f, int kind, unsigned p,
                              on_merge_plan *plan) {
    const char *fn = f->name, *mn = m->name;
    int ax = m->a.axis < 0 ? m->a.axis + m->ys.rank : m->a.axis;
    int per_channel = (f->op->props & ON_PROP_PER_CHANNEL) != 0;
    for (int k = 0; k < m->nin; k++) plan->apply[k] = 1;
    plan->split = ax == 0 && per_channel && f->op->params;
    if (kind == R_DROP_TRAIN)
        return said(ON_NEVER,
                    "'%s' draws its random numbers by position: on each input of '%s' a copy "
                    "draws others (the same distribution, not the same values)",
                    fn, mn);
    if (kind == R_ELEM)
        return said(ON_EXACT,
                    "'%s' acts on each value alone%s, and '%s' only places values side by side: "
                    "f on each input gives the same values (one call after the join, n before)",
                    fn,
                    per_channel ? (ax == 0 ? " (per channel: its parameters split by the "
                                             "inputs' channel ranges)"
                                           : " (per channel; the join keeps channels)")
                                : "",
                    mn);
    if (kind == R_OTHER)
        return said(ON_APPROX,
                    "'%s' declares no property that moves it across '%s': only an experiment "
                    "can tell",
                    fn, mn);
    if (ax != 0 && kind == R_MOVE && replicates_all(m, f, p, ax))
        return said(ON_EXACT,
                    "'%s' repeats every value a whole number of times along the axis that '%s' "
                    "joins: the repeated inputs side by side",
                    fn, mn);
    if (ax != 0)
        return said(ON_NEVER,
                    "'%s' joins along a spatial axis, so '%s' would see windows, rows or "
                    "statistics across the seam",
                    mn, fn);
    for (int k = 0; k < m->nin; k++)
        if (!fits(f, m->xs[k]))
            return said(ON_NEVER, "'%s' does not fit input %d of '%s' on its own", fn, k + 1, mn);
    switch (kind) {
    case R_POOL:
    case R_MOVE:
    case R_GLOBAL:
        return said(ON_EXACT,
                    "'%s' works within each channel, and '%s' keeps channels apart: the same "
                    "arithmetic on every channel in either order",
                    fn, mn);
    case R_BN_TRAIN:
        return said(ON_EXACT,
                    "train-mode '%s' takes its statistics per channel, and '%s' keeps each "
                    "channel's values together: the same statistics on every branch",
                    fn, mn);
    case R_RESHAPE:
        if (p & ON_PROP_KEEPS_CHANNELS)
            return said(ON_EXACT,
                        "'%s' keeps every channel's values in that channel, and '%s' keeps "
                        "channels apart: the same places in either order",
                        fn, mn);
        if (f->op->shape && !(p & ON_PROP_REORDERS)) {
            on_shape ys;
            on_error e;
            if (!f->op->shape(&f->a, m->ys, &ys, &e) && ys.rank == 1)
                return said(ON_EXACT,
                            "'%s' flattens in memory order, and the channels of '%s' lie one "
                            "input after the other in memory: the flat inputs concatenated",
                            fn, mn);
        }
        return said(ON_NEVER, "'%s' moves values across the channel ranges of '%s'", fn, mn);
    case R_LINEAR:
        if (f->a.groups > 1 && f->a.groups == m->ys.c && f->a.units == m->ys.c) {
            plan->split = 1;
            return said(ON_EXACT,
                        "'%s' is depthwise (one filter per channel), and '%s' keeps channels "
                        "apart: each input convolved with its channels' filters",
                        fn, mn);
        }
        return said(ON_NEVER,
                    "'%s' reads every channel of '%s' at once (it is the sum of convolutions "
                    "over the inputs' channel slices, a rewrite ordnet does not make)",
                    fn, mn);
    default:
        return said(ON_APPROX,
                    "'%s' declares no property that moves it across '%s': only an experiment "
                    "can tell",
                    fn, mn);
    }
}

/* The merge, seen as a function of its one non-gate input x with the gates fixed: is it
 * non-decreasing in x (x + g, x - g, max(x, g), min(x, g), mean, g x with g >= 0)? */
static int monotone_in_carrier(const on_merge_view *m, int kind, int carrier) {
    if (kind == M_ADD || kind == M_AVG || kind == M_MAX || kind == M_MIN) return 1;
    if (kind == M_SUB) return carrier == 0;
    if (kind == M_MUL) {
        for (int k = 0; k < m->nin; k++)
            if (k != carrier && !m->nonneg[k]) return 0;
        return 1;
    }
    return 0;
}

on_verdict on_merge_commute(const on_merge_view *m, const on_layer_view *f, int infer,
                            on_merge_plan *plan) {
    on_merge_plan dummy;
    if (!plan) plan = &dummy;
    memset(plan, 0, sizeof *plan);
    const char *fn = f->name, *mn = m->name;
    unsigned p, cond;
    char why[128];
    int role = on_role_of(f, infer, &p, &cond, why, sizeof why);
    int kind = merge_kind(m->op);
    if (kind == M_UNKNOWN || m->nin < 1)
        return said(ON_NEVER, "'%s' is not a merge the rules know", mn);
    int ngate = 0, carrier = -1;
    for (int k = 0; k < m->nin; k++) {
        if (is_gate(m->xs[k], m->ys))
            ngate++;
        else if (carrier < 0)
            carrier = k;
    }
    if (role == R_IDENTITY) {
        for (int k = 0; k < m->nin; k++) plan->apply[k] = !is_gate(m->xs[k], m->ys);
        return said(ON_EXACT, "'%s' is the identity here: it may stand on either side of '%s'", fn,
                    mn);
    }
    if (kind == M_CONCAT) return concat_rule(m, f, role, p, plan);

    /* elementwise merges: every input is of the output's shape, or a gate of C values */
    if (role == R_DROP_TRAIN)
        return said(ON_NEVER,
                    "'%s' draws its random numbers per layer: copies on the inputs of '%s' "
                    "draw other masks for each input",
                    fn, mn);
    if (role == R_BN_TRAIN)
        return said(ON_NEVER,
                    "train-mode '%s' normalizes with the statistics of what it sees: those of "
                    "'%s' are not a merge of its inputs' statistics",
                    fn, mn);
    if (role == R_OTHER)
        return said(ON_APPROX,
                    "'%s' declares no property that moves it across '%s': only an experiment "
                    "can tell",
                    fn, mn);
    int gates_pass = role == R_POOL || role == R_MOVE || role == R_GLOBAL || role == R_RESHAPE;
    if (gates_pass) {
        /* f keeps channels apart and moves or pools values: gates stay as they are */
        for (int k = 0; k < m->nin; k++) plan->apply[k] = !is_gate(m->xs[k], m->ys);
        for (int k = 0; k < m->nin; k++)
            if (plan->apply[k] && !fits(f, m->xs[k]))
                return said(ON_NEVER, "'%s' does not fit input %d of '%s'", fn, k + 1, mn);
        if (ngate && !fits(f, m->ys)) return said(ON_NEVER, "'%s' does not fit '%s'", fn, mn);
        if (ngate) { /* the gates must still broadcast over f's output */
            on_shape ys;
            on_error e;
            if (f->op->shape(&f->a, m->ys, &ys, &e) || ys.c != m->ys.c ||
                ((role == R_RESHAPE) && !(p & ON_PROP_KEEPS_CHANNELS)))
                return said(ON_NEVER,
                            "'%s' does not keep the channels that the gates of '%s' scale", fn, mn);
        }
    } else {
        for (int k = 0; k < m->nin; k++) plan->apply[k] = 1;
    }
    int linear_merge = kind == M_ADD || kind == M_SUB || kind == M_AVG;
    switch (role) {
    case R_RESHAPE:
        return said(ON_EXACT,
                    "'%s' combines values position by position, and '%s' moves every input's "
                    "values to the same places%s",
                    mn, fn, ngate ? " within their channels (the gates keep theirs)" : "");
    case R_MOVE: {
        if (has(p, ON_PROP_CONVEX)) {
            if (linear_merge || (kind == M_MUL && m->nin - ngate == 1))
                return said(ON_ROUNDING,
                            "'%s' takes weighted means within a channel, and '%s' is linear in "
                            "%s: equal up to rounding",
                            fn, mn, kind == M_MUL ? "the input that is not a gate" : "its inputs");
            return said(ON_NEVER,
                        "'%s' takes weighted means, and '%s' is not linear: the merge of means "
                        "is not the mean of the merge",
                        fn, mn);
        }
        if (has(p, ON_PROP_ZERO_FILL)) {
            /* the border: merge(0, ..., 0, gates) against 0 */
            if (kind == M_DIV)
                return said(ON_NEVER, "'%s' pads with zeros and 0/0 is not 0 ('%s')", fn, mn);
            if (ngate && kind != M_MUL)
                return said(ON_NEVER,
                            "'%s' pads with zeros, which the gates of '%s' would change on the "
                            "other side",
                            fn, mn);
            if (ngate) {
                for (int k = 0; k < m->nin; k++)
                    if (is_gate(m->xs[k], m->ys) && !m->nonneg[k])
                        return said(ON_ROUNDING,
                                    "'%s' pads with zeros; a gate of '%s' of unknown sign makes "
                                    "0 g a zero of either sign: equal as numbers",
                                    fn, mn);
                return said(ON_EXACT,
                            "'%s' pads with zeros, and the gates of '%s' are >= 0: 0 g = +0 in "
                            "either order",
                            fn, mn);
            }
            return said(ON_EXACT,
                        "'%s' copies values and adds zeros, and '%s' of zeros is +0: the same "
                        "values in either order",
                        fn, mn);
        }
        if (kind == M_DIV && has(p, ON_PROP_SHIFTS))
            return said(ON_ROUNDING,
                        "'%s' only copies values, and '%s' divides position by position: the "
                        "same values bit for bit; where a divisor is 0, the gradient of a "
                        "cropped position is 0 * inf (NaN) in one order and 0 in the other",
                        fn, mn);
        return said(ON_EXACT,
                    "'%s' only copies values within each channel, and '%s' combines values "
                    "position by position: the same result at every copy",
                    fn, mn);
    }
    case R_POOL:
    case R_GLOBAL: {
        int pk = f->op->pool_kind;
        if (pk == ON_POOL_AVG) {
            if (linear_merge || (kind == M_MUL && m->nin - ngate == 1)) {
                if (ngate && kind != M_MUL && f->a.count_include_pad &&
                    (f->a.pad[0] | f->a.pad[1] | f->a.pad[2] | f->a.pad[3]))
                    return said(ON_NEVER,
                                "'%s' counts padded zeros, which the gates of '%s' would shift "
                                "on the other side",
                                fn, mn);
                return said(ON_ROUNDING,
                            "'%s' is linear, and so is '%s' in %s: equal up to rounding", fn, mn,
                            kind == M_MUL ? "the input that is not a gate" : "its inputs");
            }
            return said(ON_NEVER, "'%s' averages, and '%s' is not linear", fn, mn);
        }
        /* an extreme pool: max of max is max; with gates the merge is a per-channel map of
         * its one tensor input, and a non-decreasing map keeps the extreme's element */
        if ((pk == ON_POOL_MAX && kind == M_MAX) || (pk == ON_POOL_MIN && kind == M_MIN))
            return said(ON_ROUNDING,
                        "'%s' and '%s' take the same extreme: the %s over a window of the "
                        "inputs' %s (gates included), bit for bit; on ties the gradient may "
                        "reach another of the tied elements",
                        fn, mn, pk == ON_POOL_MAX ? "largest" : "smallest",
                        pk == ON_POOL_MAX ? "maxima" : "minima");
        if (!ngate) {
            return said(ON_NEVER,
                        "'%s' picks one element per window, and '%s' combines two tensors whose "
                        "extremes lie at different elements",
                        fn, mn);
        }
        if (m->nin - ngate != 1)
            return said(ON_NEVER, "'%s' combines tensors whose extremes differ ('%s')", mn, fn);
        if (!monotone_in_carrier(m, kind, carrier))
            return said(ON_NEVER,
                        "'%s' is not non-decreasing in its tensor input (a gate of unknown "
                        "sign, or a difference from a gate): '%s' may pick another element",
                        mn, fn);
        if (kind == M_MUL)
            return said(ON_ROUNDING,
                        "'%s' multiplies by gates >= 0 (non-decreasing in x), so '%s' takes its "
                        "extreme at the same element: equal values; where a gate is 0 the "
                        "zeros may differ in sign",
                        mn, fn);
        return said(ON_ROUNDING,
                    "'%s' with its gates fixed is a non-decreasing map of its tensor input, so "
                    "'%s' takes the same extreme value, bit for bit; where the map rounds two "
                    "inputs to one value the gradient may reach the other",
                    mn, fn);
    }
    case R_LINEAR:
        if (ngate || !linear_merge)
            return said(ON_NEVER,
                        "'%s' mixes positions and channels; it distributes over a sum, not over "
                        "'%s'",
                        fn, mn);
        plan->shift_once = kind != M_AVG && f->a.bias;
        return said(ON_ROUNDING,
                    "'%s' is linear plus a bias, so it distributes over '%s' up to rounding%s", fn,
                    mn, plan->shift_once ? ", with the bias added once" : "");
    case R_ELEM:
        break;
    default:
        return said(ON_NEVER, "no rule moves '%s' across '%s'", fn, mn);
    }

    /* an elementwise f (per channel allowed) */
    unsigned lin = ON_PROP_AFFINE | ON_PROP_ZERO_FIXED;
    if (kind == M_AVG) {
        if (has(p, ON_PROP_AFFINE))
            return said(ON_ROUNDING,
                        "'%s' is affine and '%s' a mean (weights summing to 1): equal up to "
                        "rounding",
                        fn, mn);
        return said(ON_NEVER, "'%s' is not affine: f of a mean is not the mean of f ('%s')", fn,
                    mn);
    }
    if (kind == M_ADD || kind == M_SUB) {
        if (has(p, lin))
            return said(ON_ROUNDING,
                        "'%s' is linear (a x), so it distributes over '%s' up to rounding", fn, mn);
        if (has(p, ON_PROP_AFFINE)) {
            plan->shift_once = 1;
            return said(ON_ROUNDING,
                        "'%s' is affine (a x + b), so it distributes over '%s' up to rounding "
                        "when its shift b is added once: f on the first input, f - b on the "
                        "others",
                        fn, mn);
        }
        int all_nonneg = kind == M_ADD;
        for (int k = 0; k < m->nin; k++) all_nonneg &= m->nonneg[k];
        if (all_nonneg && identity_on_nonneg(f, p))
            return said(ON_EXACT,
                        "every input of '%s' is >= 0 and '%s' is the identity there: the same "
                        "sum in either order",
                        mn, fn);
        return said(ON_NEVER,
                    "'%s' is not linear: f(x + y) != f(x) + f(y) over '%s' (for ReLU, x = 1, "
                    "y = -1 gives 0 against 1)",
                    fn, mn);
    }
    if (kind == M_MUL) {
        /* f on one factor x, the others g_k >= 0: f(g x) = g f(x) needs f positively
         * homogeneous and f(0) = 0 (for g = 0) */
        int c = -1;
        for (int k = 0; k < m->nin; k++)
            if (!m->nonneg[k] && !is_gate(m->xs[k], m->ys)) c = c < 0 ? k : -2;
        if (c == -1) /* every tensor input is >= 0 or a gate: f on the first tensor */
            c = carrier;
        int ok = c >= 0;
        for (int k = 0; ok && k < m->nin; k++) ok &= k == c || m->nonneg[k];
        if (ok) {
            for (int k = 0; k < m->nin; k++) plan->apply[k] = k == c;
            unsigned need = ON_PROP_POS_HOMOG | ON_PROP_ZERO_FIXED;
            if (has(p, need) && is_relu(f))
                return said(ON_EXACT,
                            "'%s' is max(x, 0) and the other factors of '%s' are >= 0: "
                            "max(g x, 0) = g max(x, 0), bit for bit",
                            fn, mn);
            if (has(p, need))
                return said(ON_ROUNDING,
                            "'%s' is positively homogeneous with f(0) = 0 and the other factors "
                            "of '%s' are >= 0: f(g x) = g f(x) up to rounding",
                            fn, mn);
            if (has(p | cond, need)) {
                on_verdict v = said(ON_CONDITIONAL,
                                    "'%s' commutes with the factors >= 0 of '%s' when it is "
                                    "positively homogeneous with f(0) = 0",
                                    fn, mn);
                snprintf(v.condition, sizeof v.condition, "%s%s",
                         (cond & ON_PROP_ZERO_FIXED) ? "every shift is 0 and " : "", why);
                return v;
            }
            return said(ON_NEVER,
                        "'%s' is not positively homogeneous with f(0) = 0: f(g x) != g f(x) "
                        "('%s')",
                        fn, mn);
        }
        return said(ON_NEVER,
                    "'%s' has factors of unknown sign: f(x y) is neither f(x) y nor f(x) f(y) "
                    "('%s'; for ReLU, x = y = -1)",
                    mn, fn);
    }
    if (kind == M_MAX || kind == M_MIN) {
        float lo, hi;
        int clamp = f->op->clamp_of && f->op->clamp_of(&f->a, &lo, &hi);
        if (has(p, ON_PROP_MONO_UP) && clamp)
            return said(ON_EXACT,
                        "'%s' is a clamp (non-decreasing, the identity inside its range, flat "
                        "outside), so the largest (smallest) input of '%s' gives the largest "
                        "(smallest) output, bit for bit, gradients too",
                        fn, mn);
        if (has(p, ON_PROP_MONO_UP))
            return said(ON_ROUNDING,
                        "'%s' is non-decreasing, so '%s' of its outputs is the same value, bit "
                        "for bit; where it rounds two inputs to one float (saturation) the "
                        "gradient may reach the other",
                        fn, mn);
        if (has(p, ON_PROP_MONO_DOWN)) {
            plan->flip = 1;
            on_verdict v = said(ON_ROUNDING,
                                "'%s' is non-increasing, so it swaps with '%s' when maximum and "
                                "minimum trade places: the same values bit for bit; where it "
                                "rounds two inputs to one float the gradient may reach the other",
                                fn, mn);
            snprintf(v.change, sizeof v.change, "%s",
                     kind == M_MAX ? "maximum becomes minimum" : "minimum becomes maximum");
            return v;
        }
        if (has(p | cond, ON_PROP_MONO_UP)) {
            on_verdict v = said(ON_CONDITIONAL,
                                "'%s' is non-decreasing only when its weights say so; then it "
                                "commutes with '%s'",
                                fn, mn);
            snprintf(v.condition, sizeof v.condition, "%s", why);
            v.likely = 1;
            return v;
        }
        return said(ON_NEVER,
                    "'%s' is not monotone, so the extreme input of '%s' need not give the "
                    "extreme output",
                    fn, mn);
    }
    /* x / d with d >= 0: f(x / d) = f(x) / d for positively homogeneous f that is zero only
     * at 0 (a strictly increasing hinge, a scaling > 0): d = 0 gives +-inf or NaN alike */
    unsigned hom = ON_PROP_POS_HOMOG | ON_PROP_ZERO_FIXED | ON_PROP_MONO_UP;
    int strict = has(p, hom) && !is_relu(f) && (has(p, ON_PROP_LEAKY) || has(p, ON_PROP_AFFINE));
    if (m->nin == 2 && m->nonneg[1] && !is_gate(m->xs[0], m->ys) && strict) {
        plan->apply[1] = 0;
        return said(ON_ROUNDING,
                    "'%s' is positively homogeneous and zero only at 0, and the divisor of '%s' "
                    "is >= 0: f(x / d) = f(x) / d up to rounding (d = 0 gives the same "
                    "infinities)",
                    fn, mn);
    }
    int maybe_strict =
        has(p | cond, hom) && !is_relu(f) && (has(p, ON_PROP_LEAKY) || has(p, ON_PROP_AFFINE));
    if (m->nin == 2 && m->nonneg[1] && !is_gate(m->xs[0], m->ys) && maybe_strict) {
        plan->apply[1] = 0;
        on_verdict v = said(ON_CONDITIONAL,
                            "'%s' distributes over the quotient '%s' (divisor >= 0) when it is "
                            "positively homogeneous, non-decreasing and zero only at 0",
                            fn, mn);
        snprintf(v.condition, sizeof v.condition, "%s%s",
                 (cond & ON_PROP_ZERO_FIXED) ? "every shift is 0 and " : "", why);
        return v;
    }
    return said(ON_NEVER,
                "'%s' does not distribute over the quotient '%s' (for ReLU a divisor 0 gives "
                "f(-1/0) = 0 against f(-1)/0 = NaN)",
                fn, mn);
}
