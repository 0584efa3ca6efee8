/* loss_binary.c - binary cross-entropy, Keras's loss for a model ending in Dense(1) +
 * sigmoid, with label smoothing as Keras applies it: target t = y (1 - s) + s / 2.
 *
 * From logits (the sigmoid's input z), the stable form PyTorch's BCEWithLogitsLoss and
 * TensorFlow's sigmoid_cross_entropy_with_logits use: max(z, 0) - z t + log(1 + exp(-|z|)),
 * whose gradient sigmoid(z) - t never overflows. From probabilities p (a model whose last
 * layer is not a sigmoid), Keras's backend.binary_crossentropy: p clipped to
 * [1e-7, 1 - 1e-7], then -(t log(p + 1e-7) + (1 - t) log(1 - p + 1e-7)); the clip's
 * gradient is 0 outside the interval, as tf.clip_by_value's. Mean over the batch. */
#include "op.h"

#include <math.h>

#define KERAS_EPS 1e-7 /* keras.backend.epsilon() */

float on_binary_xent(const float *x, const int *labels, int n, float smoothing, int logits,
                     float *dx) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] != 0 && labels[i] != 1) return NAN; /* the caller validates labels */
        double t = labels[i] * (1.0 - smoothing) + 0.5 * smoothing, v = x[i], g;
        if (logits) {
            total += fmax(v, 0) - v * t + log1p(exp(-fabs(v)));
            g = 1.0 / (1.0 + exp(-v)) - t;
        } else {
            double lo = KERAS_EPS, hi = 1.0 - KERAS_EPS, p = v < lo ? lo : v > hi ? hi : v;
            total += -(t * log(p + KERAS_EPS) + (1 - t) * log(1 - p + KERAS_EPS));
            g = (v >= lo && v <= hi) ? -t / (p + KERAS_EPS) + (1 - t) / (1 - p + KERAS_EPS) : 0;
        }
        if (dx) dx[i] = (float)(g / n);
    }
    return (float)(total / n);
}
