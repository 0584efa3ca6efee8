/* onnx_values.h - the value table of one ONNX import: every named tensor of the graph
 * (initializers, inputs, node outputs) by name, what ordnet knows of it (a constant, or the
 * ordnet node computing it), and how it is read. onnx_import.c fills it and turns nodes into
 * layers; onnx_fuse.c reads it to find multi-node patterns; neither calls the other for it.
 * Internal to libordnet. */
#ifndef ON_ONNX_VALUES_H
#define ON_ONNX_VALUES_H

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
    int uses;         /* readers among the live nodes, +1 for each graph output it is */
    int reader;       /* a live node reading it (the only one when uses == 1); -1 */
    int padded;       /* the output of a zero Pad, folded into the Conv or AveragePool that */
    int pad[4];       /* reads it: the spatial padding, ONNX order (begins, then ends) */
    int split;        /* > 0: the ONNX tensor is (N, split, C/split, spatial...) of the node's
                         (N, C, spatial...), a Reshape splitting the channels into groups as a
                         channel shuffle does; only its Transpose and Reshape back read it */
    int nhwc;         /* the ONNX tensor is the node's (N, C, spatial...) with the channels moved
                         last (Transpose(0,2,3,1) or (0,2,1)): ConvNeXt's channels-last blocks */
    int ids;          /* the ONNX tensor holds integers (token ids, an int64/int32 graph input)
                         that ordnet holds as floats: only Gather (an embedding), Cast and
                         Identity read it */
} ox_value;

/* The table: values by name in open addressing. */
typedef struct ox_values {
    ox_value *v;
    int nv;
    int *hash; /* indices into v, -1 empty */
    size_t hcap;
} ox_values;

/* Room for n values; -1 when out of memory. */
int ox_values_init(ox_values *t, size_t n);
/* Frees the table and the constants it holds. */
void ox_values_free(ox_values *t);
/* The value called name, or -1 (also for NULL and ""). */
int ox_values_find(const ox_values *t, const char *name);
/* A new value called name written by ONNX node producer (-1: an initializer or input);
 * -1 when the name is taken (ONNX values are written once), -2 when it is empty. The table
 * must have room (ox_values_init's n). */
int ox_values_add(ox_values *t, const char *name, int producer);

/* Constant c as one value per channel of a tensor of ONNX rank orank with C channels
 * (NumPy broadcasting: a scalar, or C values along axis 1): out[C]. -1 when it is not. */
int ox_per_channel(const ox_const *c, int orank, int C, float *out);

#endif
