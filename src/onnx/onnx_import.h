/* onnx_import.h - the state of one ONNX import, shared by onnx_import.c (values, nodes,
 * layers) and onnx_fuse.c (the multi-node patterns it recognizes); internal. */
#ifndef ON_ONNX_IMPORT_H
#define ON_ONNX_IMPORT_H

#include "onnx_internal.h"

enum { OX_UNSET = 0, OX_NODE, OX_CONST };

/* A named tensor of the graph. */
typedef struct ox_value {
    const char *name; /* owned by the protobuf message */
    int kind;         /* OX_UNSET until its producer ran, then OX_NODE or OX_CONST */
    int node;         /* OX_NODE: the ordnet node computing it */
    int orank;        /* OX_NODE: its ONNX rank, batch included ([N,C,1,1] after GAP is 4
                         while ordnet's shape is (C)) */
    ox_const c;       /* OX_CONST */
    int producer;     /* index of the ONNX node writing it; -1 for initializers and inputs */
    int uses;         /* readers among the live nodes, +1 when it is the graph output */
    int reader;       /* a live node reading it (the only one when uses == 1); -1 */
    int padded;       /* the output of a zero Pad, folded into the Conv or AveragePool that */
    int pad[4];       /* reads it: the spatial padding, ONNX order (begins, then ends) */
} ox_value;

/* What the importer does with each ONNX node, decided before any layer is made. */
typedef struct ox_plan {
    int live;          /* feeds the graph output */
    int skip;          /* part of a pattern that another node of it emits */
    const on_op *fuse; /* the root of an activation pattern: this op ... */
    int x;             /* ... on this value */
    int bias;          /* MatMul: the Add node whose constant is its bias; -1 */
    int normalize;     /* the Mul/Div ending the input normalization Sub -> Mul/Div */
} ox_plan;

typedef struct ox_ctx {
    const char *label; /* the file, for errors */
    on_error *err;
    Onnx__GraphProto *g;
    int opset;
    on_model *m;
    ox_value *v;
    int nv;
    int *hash; /* open addressing over v by name, -1 empty */
    size_t hcap;
    ox_plan *plan; /* one per ONNX node */
    int input;     /* the value of the graph input */
    int64_t batch; /* the input's declared batch size; 0 when symbolic */
    int pad_ok;    /* the node being read folds a Pad before it (Conv, AveragePool) */
} ox_ctx;

/* The value called name, or -1. */
int ox_find(const ox_ctx *cx, const char *name);
/* Input i of node n as a value index; -1 when absent (no such input, or the name ""). */
int ox_in(const ox_ctx *cx, const Onnx__NodeProto *n, size_t i);
/* Constant c as one value per channel of a tensor of ONNX rank orank with C channels
 * (NumPy broadcasting: a scalar, or C values along axis 1): out[C]. -1 when it is not. */
int ox_per_channel(const ox_const *c, int orank, int C, float *out);
/* Fill plan[].skip / fuse / bias / normalize (onnx_fuse.c). */
void ox_find_patterns(ox_ctx *cx);

#endif
