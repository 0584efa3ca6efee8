/* classes.c - orders of a run of layers, grouped into classes of equal functions.
 *
 * Two orders are in one class when one turns into the other by swapping adjacent layers
 * the rules (rules.c) declare equal: `exact` swaps in training (bit-identical results,
 * so identical trained weights); at inference also `rounding` swaps and `conditional`
 * ones whose condition trained weights usually meet (it is assumed and reported). Each order has a
 * modelled cost: forward
 * (+ backward in training) FLOPs and bytes, after fusion at inference: elementwise layers
 * right after a convolution or dense layer run in its output loop (no extra pass over
 * memory), BatchNorm right after one folds into its weights, and dropout is gone. Orders
 * are compared by modelled time, FLOPs at ON_MODEL_FLOPS plus bytes at ON_MODEL_BYTES:
 * elementwise layers are bound by memory, not arithmetic.
 */
#include "analyze.h"

#include <stdlib.h>
#include <string.h>

int on_swap_allowed(const on_verdict *v, int infer) {
    if (v->kind == ON_EXACT) return 1;
    return infer && (v->kind == ON_ROUNDING || (v->kind == ON_CONDITIONAL && v->likely));
}

/* Shapes along an order: xs[k] is the input of layer order[k]. -1 if a shape fails. */
static int shapes(const on_layer_view *L, const int *order, int n, on_shape in, on_shape *xs) {
    on_shape s = in;
    for (int k = 0; k < n; k++) {
        xs[k] = s;
        if (L[order[k]].op->shape(&L[order[k]].a, s, &s, NULL)) return -1;
    }
    return 0;
}

on_cost on_order_cost(const on_layer_view *L, const int *order, int n, on_shape in, int infer,
                      int after_linear) {
    on_shape xs[64], ys;
    on_cost total = {0};
    if (n > 64 || shapes(L, order, n, in, xs)) {
        total.flops_fwd = total.bytes_fwd = 1e300;
        return total;
    }
    /* 2: right after a conv/dense (eval BN folds into its weights), 1: in its fused
     * output loop (elementwise layers cost no pass over memory), 0: neither */
    int state = after_linear ? 2 : 0;
    for (int k = 0; k < n; k++) {
        const on_layer_view *v = &L[order[k]];
        unsigned p = v->op->props;
        if (infer && (p & ON_PROP_STOCHASTIC)) continue; /* removed at inference */
        v->op->shape(&v->a, xs[k], &ys, NULL);
        on_cost c = v->op->cost(&v->a, xs[k], ys);
        int elem = (p & ON_PROP_ELEMENTWISE) || (p & ON_PROP_TRAIN_DIFFERS);
        if (infer && state == 2 && (p & ON_PROP_TRAIN_DIFFERS)) {
            c = (on_cost){0}; /* folded: W' = a W, b' = a b + shift */
        } else if (infer && state && elem) {
            c.bytes_fwd = 0;
            state = 1;
        } else {
            state = (p & ON_PROP_LINEAR_MAP) ? 2 : 0;
        }
        total.flops_fwd += c.flops_fwd;
        total.bytes_fwd += c.bytes_fwd;
        if (!infer) {
            total.flops_bwd += c.flops_bwd;
            total.bytes_bwd += c.bytes_bwd;
        }
    }
    return total;
}

/* Verdict for swapping positions k, k+1 of order. */
static on_verdict swap_verdict(const on_layer_view *L, const int *order, int n, on_shape in, int k,
                               int infer) {
    on_shape xs[64];
    on_verdict bad = {.kind = ON_NEVER};
    if (n > 64 || shapes(L, order, n, in, xs)) return bad;
    on_layer_view a = L[order[k]], b = L[order[k + 1]];
    a.xs = xs[k];
    b.xs = xs[k + 1];
    /* the swapped order must be well-shaped too */
    on_shape t;
    if (b.op->shape(&b.a, xs[k], &t, NULL) || a.op->shape(&a.a, t, &t, NULL)) return bad;
    return on_commute(&a, &b, infer);
}

static int same(const int *a, const int *b, int n) {
    return !memcmp(a, b, sizeof(int) * (size_t)n);
}

int on_orders_explore(const on_layer_view *L, int n, on_shape in, int infer, int all_perms, int cap,
                      on_orders *out) {
    memset(out, 0, sizeof *out);
    if (n < 1 || n > 10) return -1;
    out->n = n;
    out->orders = malloc(sizeof(int) * (size_t)n * (size_t)cap);
    out->cls = malloc(sizeof(int) * (size_t)cap);
    if (!out->orders || !out->cls) return -1;
    /* seeds: every permutation (all_perms) or the given order 0..n-1 */
    int perm[10];
    for (int i = 0; i < n; i++) perm[i] = i;
    int nclass = 0;
    for (;;) {
        int known = 0;
        for (int s = 0; s < out->count && !known; s++) known = same(out->orders + s * n, perm, n);
        if (!known && out->count < cap) {
            /* breadth-first over allowed swaps from this seed: one new class */
            int head = out->count;
            memcpy(out->orders + out->count * n, perm, sizeof(int) * (size_t)n);
            out->cls[out->count++] = nclass;
            while (head < out->count) {
                int cur[10];
                memcpy(cur, out->orders + head * n, sizeof(int) * (size_t)n);
                head++;
                for (int k = 0; k + 1 < n; k++) {
                    on_verdict v = swap_verdict(L, cur, n, in, k, infer);
                    if (!on_swap_allowed(&v, infer)) continue;
                    if (v.kind == ON_CONDITIONAL && !strstr(out->assumed, v.condition) &&
                        strlen(out->assumed) + strlen(v.condition) + 3 < sizeof out->assumed) {
                        if (*out->assumed) strcat(out->assumed, "; ");
                        strcat(out->assumed, v.condition);
                    }
                    int nx[10];
                    memcpy(nx, cur, sizeof nx);
                    nx[k] = cur[k + 1];
                    nx[k + 1] = cur[k];
                    int seen = 0;
                    for (int s = 0; s < out->count && !seen; s++)
                        seen = same(out->orders + s * n, nx, n);
                    if (seen || out->count >= cap) continue;
                    memcpy(out->orders + out->count * n, nx, sizeof(int) * (size_t)n);
                    out->cls[out->count++] = nclass;
                }
            }
            nclass++;
        }
        if (!all_perms) break;
        /* next permutation in lexicographic order */
        int i = n - 2;
        while (i >= 0 && perm[i] > perm[i + 1]) i--;
        if (i < 0) break;
        int j = n - 1;
        while (perm[j] < perm[i]) j--;
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        for (int a = i + 1, b = n - 1; a < b; a++, b--) {
            t = perm[a];
            perm[a] = perm[b];
            perm[b] = t;
        }
    }
    out->nclasses = nclass;
    return 0;
}

void on_orders_free(on_orders *o) {
    free(o->orders);
    free(o->cls);
    memset(o, 0, sizeof *o);
}

double on_cost_seconds(on_cost c) {
    return (c.flops_fwd + c.flops_bwd) / ON_MODEL_FLOPS +
           (c.bytes_fwd + c.bytes_bwd) / ON_MODEL_BYTES;
}

/* The layer view of node i; weights only when asked for. */
on_layer_view on_view_of(const on_model *m, int i, int weights, float **pbuf) {
    const on_node *nd = &m->nodes[i];
    on_layer_view v = {.op = nd->op, .a = nd->a, .xs = m->nodes[nd->in[0]].ys, .name = nd->name};
    if (weights && nd->nt) {
        for (int k = 0; k < nd->nt; k++) pbuf[k] = on_tensor_ptr((on_model *)m, nd->t0 + k);
        v.p = (const float *const *)pbuf;
    }
    return v;
}

/* Node i+1 reads node i and nothing else reads node i: the pair can swap. */
int on_adjacent(const on_model *m, int i) {
    if (i < 1 || i + 1 >= m->nn) return 0;
    const on_node *a = &m->nodes[i], *b = &m->nodes[i + 1];
    if (a->nin != 1 || b->nin != 1 || b->in[0] != i) return 0;
    for (int j = i + 2; j < m->nn; j++)
        for (int k = 0; k < m->nodes[j].nin; k++)
            if (m->nodes[j].in[k] == i) return 0;
    return 1;
}

/* A run of layers that may reorder: between convolutions/dense layers and joins. */
int on_find_runs(const on_model *m, on_run *runs, int max) {
    int nr = 0;
    for (int i = 1; i < m->nn && nr < max;) {
        int j = i;
        while (j + 1 < m->nn && on_adjacent(m, j) &&
               !(m->nodes[j].op->props & ON_PROP_LINEAR_MAP) &&
               !(m->nodes[j + 1].op->props & ON_PROP_LINEAR_MAP) && j + 1 - i < 10)
            j++;
        if (j > i) {
            int prev = m->nodes[i].in[0];
            runs[nr++] = (on_run){i, j - i + 1,
                                  prev > 0 && (m->nodes[prev].op->props & ON_PROP_LINEAR_MAP) != 0};
        }
        i = j + 1;
    }
    return nr;
}
