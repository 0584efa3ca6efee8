/* analyze.h - the analyzer's internals: commuting rules over layer views. */
#ifndef ON_ANALYZE_H
#define ON_ANALYZE_H

#include "../graph.h"
#include "../ops/geom.h"

/* One layer as the rules see it: its op, attributes, input shape and, when known, its
 * weights (NULL: decide weight-dependent properties as conditions). */
typedef struct on_layer_view {
    const on_op *op;
    on_attrs a;
    on_shape xs;
    const float *const *p;
    const char *name;
} on_layer_view;

/* Does `first` followed by `second` compute what `second` followed by `first` does?
 * infer = 1 at inference (eval BatchNorm, no dropout), 0 in training. */
on_verdict on_commute(const on_layer_view *first, const on_layer_view *second, int infer);

/* Orders of n layers (n <= 10) found by swapping adjacent layers that commute, grouped
 * into classes. orders[k*n .. k*n+n) is the k-th order as indices into the layers. */
typedef struct on_orders {
    int n, count, nclasses;
    int *orders, *cls;
    char assumed[512]; /* conditions assumed by conditional swaps, "; "-separated */
} on_orders;

/* Explore from the order 0..n-1 (all_perms = 0) or from every permutation (1), keeping at
 * most cap orders. in: the input shape of the first layer. Returns 0, or -1. */
int on_orders_explore(const on_layer_view *L, int n, on_shape in, int infer, int all_perms, int cap,
                      on_orders *out);
void on_orders_free(on_orders *o);
/* Is a swap with this verdict allowed within a class? */
int on_swap_allowed(const on_verdict *v, int infer);
/* Modelled cost of running L in `order`; after_linear: the run follows a conv/dense. */
on_cost on_order_cost(const on_layer_view *L, const int *order, int n, on_shape in, int infer,
                      int after_linear);

/* The layer view of node i of m; its weights when `weights` (pbuf: 4 pointers). */
on_layer_view on_view_of(const on_model *m, int i, int weights, float **pbuf);
/* Node i+1 reads node i and nothing else reads node i: the pair can swap. */
int on_adjacent(const on_model *m, int i);
/* Runs of layers that may reorder (between convolutions, dense layers and joins). */
typedef struct on_run {
    int first, n, after_linear;
} on_run;
int on_find_runs(const on_model *m, on_run *runs, int max);

/* What a layer is in a mode (rules.c): the kind, the properties that hold (*p), those that
 * hold only under the weight condition `why` (*cond). */
enum {
    R_ELEM,
    R_POOL,
    R_BN_TRAIN,
    R_DROP_TRAIN,
    R_IDENTITY,
    R_LINEAR,
    R_RESHAPE,
    R_OTHER,
    R_MOVE,
    R_GLOBAL
};
int on_role_of(const on_layer_view *v, int infer, unsigned *p, unsigned *cond, char *why,
               size_t len);

/* A merge as the merge rules (merge_rules.c) see it: its inputs' shapes and which inputs
 * are known to be >= 0 (from the layer that produces them). */
typedef struct on_merge_view {
    const on_op *op;
    on_attrs a;
    const char *name;
    int nin;
    on_shape xs[ON_MAX_INPUTS], ys;
    unsigned char nonneg[ON_MAX_INPUTS];
} on_merge_view;

/* How f moves across a merge: merge(f(x_1), ..., f(x_n)) with f on the inputs marked
 * `apply` (the others, gates and factors >= 0, pass as they are). */
typedef struct on_merge_plan {
    unsigned char apply[ON_MAX_INPUTS];
    int split;      /* f's per-channel parameters split by the concatenation's channel ranges */
    int shift_once; /* f's shift (bias) stays on the first input only; the others get f - f(0) */
    int flip;       /* exact-with-change: maximum <-> minimum */
} on_merge_plan;

/* Does f after merge m equal the merge of f applied to its inputs (as the plan says)? The
 * same identity read backwards hoists one f out of the branches. */
on_verdict on_merge_commute(const on_merge_view *m, const on_layer_view *f, int infer,
                            on_merge_plan *plan);
/* The view of merge node i of model m (nonneg from the producers' properties). */
on_merge_view on_merge_view_of(const on_model *m, int i);
/* Is the value of node i of m known to be >= 0 (a ReLU, sigmoid, ... output)? */
int on_node_nonneg(const on_model *m, int i);

/* Merge node i of m has the same layer at the end of every input, each read by the merge
 * only when *movable: could one copy after the merge replace them (*v, *plan; *before: the
 * merge's view on the inputs of the copies)? 0 when the inputs do not end that way. */
int on_merge_hoist(const on_model *m, int i, int infer, on_verdict *v, on_merge_plan *plan,
                   on_merge_view *before, int *movable);
/* The merges of m in `ordnet analyze`: text into b, one object per merge into the JSON
 * array arr (merge_report.c). Returns how many merges. */
struct on_sb;
struct cJSON;
int on_merge_report(const on_model *m, int infer, int weights, struct on_sb *b, struct cJSON *arr);

/* Modelled seconds of a cost on a 2-core CPU: what orders are ranked by. */
#define ON_MODEL_FLOPS 5e10
#define ON_MODEL_BYTES 1e10
double on_cost_seconds(on_cost c);

#endif
