/* registry.c - the list of every op ordnet has. Adding an op: one file, one line here. */
#include "op.h"

#include <stdio.h>
#include <string.h>

/* One op a line, in listing order (`ordnet ops`); new ops go at the end. */
// clang-format off
extern const on_op on_op_conv1d;
extern const on_op on_op_conv2d;
extern const on_op on_op_dense;
extern const on_op on_op_batchnorm;
extern const on_op on_op_dropout;
extern const on_op on_op_flatten;
extern const on_op on_op_add;
extern const on_op on_op_maxpool1d;
extern const on_op on_op_maxpool2d;
extern const on_op on_op_minpool1d;
extern const on_op on_op_minpool2d;
extern const on_op on_op_avgpool1d;
extern const on_op on_op_avgpool2d;
extern const on_op on_op_global_avgpool;
extern const on_op on_op_identity;
extern const on_op on_op_relu;
extern const on_op on_op_leaky_relu;
extern const on_op on_op_prelu;
extern const on_op on_op_elu;
extern const on_op on_op_selu;
extern const on_op on_op_celu;
extern const on_op on_op_tanh;
extern const on_op on_op_sigmoid;
extern const on_op on_op_hardtanh;
extern const on_op on_op_relu6;
extern const on_op on_op_softplus;
extern const on_op on_op_gelu;
extern const on_op on_op_silu;
extern const on_op on_op_mish;
extern const on_op on_op_multiply;
extern const on_op on_op_subtract;
extern const on_op on_op_divide;
extern const on_op on_op_average;
extern const on_op on_op_maximum;
extern const on_op on_op_minimum;
extern const on_op on_op_concat;
extern const on_op on_op_conv1d_transpose;
extern const on_op on_op_conv2d_transpose;
extern const on_op on_op_hard_sigmoid;
extern const on_op on_op_hard_swish;
extern const on_op on_op_softsign;
extern const on_op on_op_exponential;
extern const on_op on_op_rescaling;
extern const on_op on_op_spatial_dropout1d;
extern const on_op on_op_spatial_dropout2d;
extern const on_op on_op_gaussian_noise;
extern const on_op on_op_gaussian_dropout;
extern const on_op on_op_upsample1d;
extern const on_op on_op_upsample2d;
extern const on_op on_op_global_maxpool;
extern const on_op on_op_zeropad1d;
extern const on_op on_op_zeropad2d;
extern const on_op on_op_crop1d;
extern const on_op on_op_crop2d;
extern const on_op on_op_embedding;
extern const on_op on_op_reshape;
extern const on_op on_op_permute;
extern const on_op on_op_layernorm;
extern const on_op on_op_normalization;
extern const on_op on_op_random_flip;
extern const on_op on_op_random_translation;
extern const on_op on_op_random_rotation;
extern const on_op on_op_random_zoom;
extern const on_op on_op_random_contrast;
extern const on_op on_op_channel_shuffle;
extern const on_op on_op_channel_slice;
extern const on_op on_op_input_part;

const on_op *const on_ops[] = {
    &on_op_conv1d,
    &on_op_conv2d,
    &on_op_dense,
    &on_op_batchnorm,
    &on_op_dropout,
    &on_op_flatten,
    &on_op_add,
    &on_op_maxpool1d,
    &on_op_maxpool2d,
    &on_op_minpool1d,
    &on_op_minpool2d,
    &on_op_avgpool1d,
    &on_op_avgpool2d,
    &on_op_global_avgpool,
    &on_op_identity,
    &on_op_relu,
    &on_op_leaky_relu,
    &on_op_prelu,
    &on_op_elu,
    &on_op_selu,
    &on_op_celu,
    &on_op_tanh,
    &on_op_sigmoid,
    &on_op_hardtanh,
    &on_op_relu6,
    &on_op_softplus,
    &on_op_gelu,
    &on_op_silu,
    &on_op_mish,
    &on_op_multiply,
    &on_op_subtract,
    &on_op_divide,
    &on_op_average,
    &on_op_maximum,
    &on_op_minimum,
    &on_op_concat,
    &on_op_conv1d_transpose,
    &on_op_conv2d_transpose,
    &on_op_hard_sigmoid,
    &on_op_hard_swish,
    &on_op_softsign,
    &on_op_exponential,
    &on_op_rescaling,
    &on_op_spatial_dropout1d,
    &on_op_spatial_dropout2d,
    &on_op_gaussian_noise,
    &on_op_gaussian_dropout,
    &on_op_upsample1d,
    &on_op_upsample2d,
    &on_op_global_maxpool,
    &on_op_zeropad1d,
    &on_op_zeropad2d,
    &on_op_crop1d,
    &on_op_crop2d,
    &on_op_embedding,
    &on_op_reshape,
    &on_op_permute,
    &on_op_layernorm,
    &on_op_normalization,
    &on_op_random_flip,
    &on_op_random_translation,
    &on_op_random_rotation,
    &on_op_random_zoom,
    &on_op_random_contrast,
    &on_op_channel_shuffle,
    &on_op_channel_slice,
    &on_op_input_part,
};
// clang-format on
const int on_nops = (int)(sizeof on_ops / sizeof on_ops[0]);

const on_op *on_op_find(const char *name) {
    for (int i = 0; i < on_nops; i++)
        if (!strcmp(on_ops[i]->name, name)) return on_ops[i];
    return NULL;
}
int on_op_count(void) {
    return on_nops;
}
const on_op *on_op_at(int i) {
    return i >= 0 && i < on_nops ? on_ops[i] : NULL;
}
const char *on_op_name(const on_op *op) {
    return op->name;
}
on_attrs on_attrs_default(const on_op *op) {
    return op->defaults;
}

on_cost on_cost_elementwise(on_shape xs, double flops_per_elem) {
    double n = (double)on_shape_size(xs);
    return (on_cost){.flops_fwd = n * flops_per_elem,
                     .flops_bwd = n * (flops_per_elem + 1),
                     .bytes_fwd = 8 * n,
                     .bytes_bwd = 12 * n};
}

int on_attrs_equal(const on_attrs *x, const on_attrs *y) {
    return x->units == y->units && x->kh == y->kh && x->kw == y->kw && x->sh == y->sh &&
           x->sw == y->sw && x->dh == y->dh && x->dw == y->dw && x->pad_mode == y->pad_mode &&
           !memcmp(x->pad, y->pad, sizeof x->pad) && x->bias == y->bias &&
           x->ceil_mode == y->ceil_mode && x->count_include_pad == y->count_include_pad &&
           x->alpha == y->alpha && x->lo == y->lo && x->hi == y->hi && x->rate == y->rate &&
           x->eps == y->eps && x->momentum == y->momentum && x->seed == y->seed &&
           x->groups == y->groups && !memcmp(x->opad, y->opad, sizeof x->opad) &&
           x->mode == y->mode && x->align_corners == y->align_corners && x->scale_h == y->scale_h &&
           x->scale_w == y->scale_w && x->axis == y->axis &&
           !memcmp(x->perm, y->perm, sizeof x->perm) && x->ndims == y->ndims &&
           !memcmp(x->dims, y->dims, sizeof x->dims) && x->vocab == y->vocab &&
           x->scale == y->scale && x->offset == y->offset && x->stddev == y->stddev &&
           !memcmp(x->reg_l1, y->reg_l1, sizeof x->reg_l1) &&
           !memcmp(x->reg_l2, y->reg_l2, sizeof x->reg_l2) && x->frozen == y->frozen &&
           !memcmp(x->range, y->range, sizeof x->range) && x->fill == y->fill &&
           x->interp == y->interp;
}
