/* onnx_internal.h - what the ONNX reader (onnx_read.c, onnx_import.c, onnx_fuse.c) and
 * writer (onnx_export.c) share; internal to libordnet. The protobuf structs come from
 * onnx.pb-c.h, generated at build time by protoc-c from Debian's /usr/include/onnx/onnx.proto.
 */
#ifndef ON_ONNX_INTERNAL_H
#define ON_ONNX_INTERNAL_H

#include "../graph.h"
#include "onnx.pb-c.h"

#define OX_MIN_OPSET 7
#define OX_MAX_OPSET 18
#define OX_EXPORT_OPSET 13
#define OX_MAX_DIMS 8
/* The batch dimension inside folded shape arithmetic (Shape -> Gather -> Concat ->
 * Reshape): its size is not known when the model is read. */
#define OX_BATCH ((int64_t)-7777777777)

/* A tensor whose value is known when the model is read: an initializer, a Constant, or
 * folded shape arithmetic. Exactly one of f and i is set. */
typedef struct ox_const {
    int ndims;
    int64_t dims[OX_MAX_DIMS];
    size_t size;
    float *f;   /* FLOAT and DOUBLE tensors, as float */
    int64_t *i; /* INT64 and INT32 tensors */
} ox_const;

void ox_const_free(ox_const *c);

/* The message of a file's bytes: checked for nesting depth, then unpacked by protobuf-c.
 * NULL with err on failure. Free with onnx__model_proto__free_unpacked(m, NULL). */
Onnx__ModelProto *ox_unpack(const void *buf, size_t len, const char *label, on_error *err);
/* A TensorProto's value; what names the tensor in errors. */
int ox_tensor(const Onnx__TensorProto *t, ox_const *out, const char *what, on_error *err);

/* Attributes by name; NULL when absent. */
const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name);

/* "node 'NAME' (OpType)" or "node #K (OpType)" for error messages. */
void ox_node_label(const Onnx__NodeProto *n, int k, char *buf, size_t len);

/* A layer name from an ONNX node name: PyTorch's "/layer1/layer1.0/conv1/Conv" becomes
 * "layer1.0.conv1" (its module path), other names keep their characters that the
 * compact form allows; at most 31 characters; unique in m (a suffix _2, _3 ... when
 * taken). "" when the node has no name (ordnet then names the layer). */
void ox_layer_name(const on_model *m, const char *onnx_name, const char *op_type, char *out,
                   size_t len);

#endif
