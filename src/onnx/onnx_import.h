/* onnx_import.h - the state of one ONNX import, shared by onnx_import.c (values, nodes,
 * layers) and onnx_fuse.c (the multi-node patterns it recognizes); internal. */
#ifndef ON_ONNX_IMPORT_H
#define ON_ONNX_IMPORT_H

#include "onnx_values.h"

/* What the importer does with each ONNX node, decided before any layer is made. */
typedef struct ox_plan {
    int live;          /* feeds the graph output */
    int skip;          /* part of a pattern that another node of it emits */
    const on_op *fuse; /* the root of an activation pattern: this op ... */
    int x;             /* ... on this value */
    int bias;          /* MatMul: the Add node whose constant is its bias; -1 */
    int normalize;     /* the Mul/Div ending the input normalization Sub -> Mul/Div */
    int pass;          /* a Neg around a min-pooling MaxPool: its output is its input */
    int minpool;       /* a MaxPool between two Negs: a min-pooling */
    /* The last node of a layer normalization written out (ReduceMean Sub Pow ReduceMean Add
     * Sqrt Div, then Mul by a weight and Add of a bias, as PyTorch below opset 17 writes
     * nn.LayerNorm): the input value, the axis, eps, the weight and bias values (-1). */
    int ln, ln_x, ln_axis, ln_w, ln_b;
    float ln_eps;
} ox_plan;

typedef struct ox_ctx {
    const char *label; /* the file, for errors */
    on_error *err;
    Onnx__GraphProto *g;
    int opset;
    on_model *m;
    ox_values vt;              /* every named tensor (onnx_values.h) */
    ox_value *v;               /* vt.v (allocated once, never moved) */
    ox_plan *plan;             /* one per ONNX node */
    int input;                 /* the value of the graph input */
    int64_t batch;             /* the input's declared batch size; 0 when symbolic */
    int pad_ok;                /* the node being read folds a Pad before it (Conv, AveragePool) */
    int split_ok;              /* the node being read takes a channel-group view (ox_value.split) */
    int nhwc_ok;               /* ... or a channels-last view (ox_value.nhwc) */
    int ids_ok;                /* ... or integer token ids (ox_value.ids) */
    const on_onnx_feed *feeds; /* values given for graph inputs (ordnet run --input N=F) */
    int nfeeds;
    int data_feed; /* the feed that names the data input; -1 */
} ox_ctx;

/* The value called name, or -1. */
static inline int ox_find(const ox_ctx *cx, const char *name) {
    return ox_values_find(&cx->vt, name);
}
/* Input i of node n as a value index; -1 when absent (no such input, or the name ""). */
static inline int ox_in(const ox_ctx *cx, const Onnx__NodeProto *n, size_t i) {
    return i < n->n_input ? ox_find(cx, n->input[i]) : -1;
}
/* Fill plan[].skip / fuse / bias / normalize (onnx_fuse.c). */
void ox_find_patterns(ox_ctx *cx);

/* ----- what the operator readers share (onnx_import.c) ----- */

/* An error naming the file, node k, its op type and the opset; returns -1. */
int ox_node_fail(ox_ctx *cx, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Every attribute of node k must be one of the space-separated names in known. */
int ox_check_attrs(ox_ctx *cx, int k, const char *known);
/* Attributes of node k with their defaults when absent (ints: *n = -1 when absent). */
int ox_attr_int(ox_ctx *cx, int k, const char *name, int64_t def, int64_t *out);
int ox_attr_float(ox_ctx *cx, int k, const char *name, float def, float *out);
int ox_attr_ints(ox_ctx *cx, int k, const char *name, int *out, int max, int *n);
int ox_attr_str(ox_ctx *cx, int k, const char *name, const char *def, char *out, size_t len);
/* Input i of node k: a computed tensor; a constant (NULL when absent and optional). */
int ox_in_tensor(ox_ctx *cx, int k, size_t i, ox_value **out);
int ox_in_const(ox_ctx *cx, int k, size_t i, int optional, int float_only, ox_const **out);
/* The value node k writes as output 0. */
ox_value *ox_out_value(ox_ctx *cx, int k);
/* Append op on x (named after node name_of) as node k's output of ONNX rank orank; returns
 * the ordnet node or -1. */
int ox_emit(ox_ctx *cx, int k, int name_of, const on_op *op, const on_attrs *a, const ox_value *x,
            int orank);
/* Node k's output is x itself, of ONNX rank orank. */
void ox_alias(ox_ctx *cx, int k, const ox_value *x, int orank);
/* ordnet's per-sample shape of computed value x. */
on_shape ox_shape_of(const ox_ctx *cx, const ox_value *x);
/* x must be (N,C,L) or (N,C,H,W) as ordnet holds it; an error naming node k otherwise. */
int ox_spatial(ox_ctx *cx, int k, const ox_value *x);
/* The ONNX dims of x (d[0] = OX_BATCH); returns its rank. */
int ox_onnx_dims(const ox_ctx *cx, const ox_value *x, int64_t *d);
/* Axes of Squeeze/Unsqueeze/ReduceMean (attribute before opset input_from, input after). */
int ox_axes_of(ox_ctx *cx, int k, int input_from, int64_t *axes, int *n);
int ox_axes_mask(const int64_t *axes, int n, int r, unsigned *mask);

/* Node k computed now when its inputs are all constants (onnx_fold.c): 1 when it was,
 * 0 when ordnet leaves it to the operator's reader, -1 on error. */
int ox_fold(ox_ctx *cx, int k);

/* Operators read in their own files (onnx_resize_pad.c). */
int ox_op_resize(ox_ctx *cx, int k);
int ox_op_pad(ox_ctx *cx, int k);
int ox_op_slice(ox_ctx *cx, int k);
int ox_op_split(ox_ctx *cx, int k);
int ox_op_transpose(ox_ctx *cx, int k);
int ox_op_layernorm(ox_ctx *cx, int k);
/* A binary Add/Sub/Mul/Div of computed tensor and a constant of one value per channel: a
 * depthwise 1x1 convolution (onnx_layout.c); 0 when it is not that (nothing done). */
int ox_op_channel_affine(ox_ctx *cx, int k);
/* Value v, a channels-last view, as its own permute layer (read by node k, which does not
 * take views): -1 with an error when it cannot be. */
int ox_channels_last_layer(ox_ctx *cx, int k, int v);

#endif
