/* keras.h - the Keras code reader (src/keras/, overview in eval.h), and the helpers the model
 * readers and the summary share: channels-last shape text, unique layer names, the parameter limit.
 */
#ifndef ON_KERAS_H
#define ON_KERAS_H

#include "../graph.h"

/* 1 when text is Python code (an import, an assignment or a call of a capitalized name
 * such as Conv2D( or Sequential(), 0 when it reads as the compact form. */
int on_keras_detect(const char *text);

/* Build a model from Keras code (functional API, Sequential([...]), model.add(...)).
 * file names the text in messages (file:line:col). input, when not NULL, replaces the
 * input shape the code declares. classes > 0 is only used to refuse folding a softmax
 * that the classifier head would put in the middle of the model; the head itself is
 * appended by the caller. Returns NULL and fills err on failure. */
on_model *on_keras_read(const char *text, const char *file, const on_shape *input, int classes,
                        on_error *err);

/* Keras's text for a per-sample shape, channels last with the batch as None:
 * (C,H,W) -> "(None, H, W, C)", (C,L) -> "(None, L, C)", (F) -> "(None, F)". */
char *on_keras_shape_str(on_shape s, char *buf, size_t len);

/* A layer name not yet used in m: base, else base_1, base_2, ... (Keras's scheme). */
void on_keras_unique_name(const on_model *m, const char *base, char out[ON_NAME_MAX]);

/* Parameters plus state floats that op would own on input xs, or -1 when its shape rule
 * refuses xs. Computed in double so that absurd sizes cannot overflow. */
double on_keras_param_estimate(const on_op *op, const on_attrs *a, on_shape xs);

#endif
