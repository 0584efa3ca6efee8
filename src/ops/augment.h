/* augment.h - what the random augmentation layers (random_flip.c, random_affine.c,
 * random_contrast.c) share: their per-sample draws.
 *
 * Draw k of sample s is a counter-based uniform of (node key, step, s, k): the same in the
 * forward and the backward of one step, whatever the thread count, and the same for a
 * sample run alone in a per-sample chain (c->sample0) as in the whole batch. Each layer has
 * its own stream (the node key mixes the model seed, the layer name and attrs.seed), and a
 * train-mode forward moves every layer to the next step (on_model_set_step replays one).
 */
#ifndef ON_AUGMENT_H
#define ON_AUGMENT_H

#include "op.h"

enum { AUG_DRAWS = 8 }; /* draws a sample may take */

/* The key of this call's step. */
static inline uint64_t aug_key(const on_call *c) {
    return on_mix64(c->key ^ on_mix64(c->step));
}

/* Draw k of sample s of the batch (s counts from this call's first sample): in [0,1). */
static inline float aug_uniform(uint64_t key, const on_call *c, int s, int k) {
    return on_uniform(key, (uint64_t)(c->sample0 + s) * AUG_DRAWS + (uint64_t)k);
}

/* lo + u (hi - lo): a uniform in [lo, hi) (lo itself when hi == lo) */
static inline float aug_between(float lo, float hi, float u) {
    return lo + u * (hi - lo);
}

#endif
