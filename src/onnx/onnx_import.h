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

#endif
