/* warp.h - the image sampler of the random geometric augmentation layers (random_affine.c):
 * TensorFlow's ImageProjectiveTransformV3, which Keras's RandomTranslation, RandomRotation
 * and RandomZoom call, for affine maps, with its exact conventions:
 *
 * - output pixel (x, y) (column, row; pixel centers at whole numbers, no half-pixel shift)
 *   reads the input at (t0 x + t1 y + t2, t3 x + t4 y + t5), computed in float as TF does;
 * - each coordinate is first mapped into the image by the fill mode (TF's MapCoordinate):
 *   reflect (d c b a | a b c d | d c b a), wrap, nearest (clamped), constant (unchanged);
 * - bilinear: the four neighbours floor/floor+1 weighted (ceil - c) and (c - floor), nearest:
 *   the neighbour at round(c) (halves away from zero); a neighbour outside the image reads
 *   the fill value (only the constant mode's coordinates get there with a weight above 0).
 *
 * For a fixed map the output is y = A x + k b (k the fill value), the same A for every
 * channel; the backward is the adjoint: dx = A' dy, scattering each output's gradient to
 * the neighbours it read, with the same weights.
 */
#ifndef ON_WARP_H
#define ON_WARP_H

#include "op.h"

typedef struct on_warp {
    float t[6];       /* output (x, y) -> input (t0 x + t1 y + t2, t3 x + t4 y + t5) */
    int fill;         /* ON_FILL_* */
    int interp;       /* ON_RESIZE_NEAREST or ON_RESIZE_LINEAR */
    float fill_value; /* ON_FILL_CONSTANT: what outside the image reads */
} on_warp;

/* y = the warp of x, one (C,H,W) sample (output and input the same shape). */
void on_warp_forward(const on_warp *w, on_shape s, const float *x, float *y);
/* dx = the adjoint applied to dy (dx OVERWRITTEN). */
void on_warp_backward(const on_warp *w, on_shape s, const float *dy, float *dx);

#endif
