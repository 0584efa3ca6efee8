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

/* Modelled seconds of a cost on a 2-core CPU: what orders are ranked by. */
#define ON_MODEL_FLOPS 5e10
#define ON_MODEL_BYTES 1e10
double on_cost_seconds(on_cost c);

/* on_analyze with its inputs as plain ints (infer: ON_FOR_*, weights: ON_WEIGHTS_*,
 * json: ON_FORMAT_*); the public call is on_analyze (ordnet.h). */
char *on_analyze_report(const on_model *m, int infer, int weights, const char *block, int measure,
                        int json, on_error *err);

#endif
