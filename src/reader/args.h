/* args.h - layer arguments by name, shared by the model readers (compact form, Keras).
 * A value is a number, a tuple of numbers, or an identifier (same, valid, true, relu). */
#ifndef ON_ARGS_H
#define ON_ARGS_H

#include "../ops/op.h"

typedef struct on_value {
    enum { ON_V_NUM, ON_V_TUPLE, ON_V_IDENT } kind;
    double num[4];
    int n; /* tuple length */
    char ident[32];
} on_value;

/* Set argument `key` (a name the op declares in its args, or a synonym) of op in a.
 * Fills err with a message that names the op, the key and the problem. */
int on_args_set(const on_op *op, on_attrs *a, const char *key, const on_value *v, on_error *err);
/* The name of the i-th positional argument of op, or NULL. */
const char *on_args_positional(const on_op *op, int i, char *buf, size_t len);

/* The layer as a compact-form token, e.g. "conv2d(32,3,padding=same)": arguments that
 * differ from the op's defaults, positional while none was skipped. */
int on_args_format(const on_op *op, const on_attrs *a, char *buf, size_t len);

/* The op a compact-form name means at an input of shape cur: aliases (bn, swish, ...)
 * and rank-picked names (conv, maxpool -> 1-D or 2-D). NULL if unknown. */
const on_op *on_spec_resolve(const char *name, on_shape cur);

#endif
