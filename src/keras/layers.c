/* layers.c - the Keras mapping: the table of Keras layer classes (Keras 2/3 names and Keras 1
 * aliases, ordnet op, default name, arguments), and a layer object made from a call. */
#include "eval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONV_KARGS                                                                                 \
    "filters kernel_size strides padding data_format dilation_rate groups activation use_bias"
#define POOL_KARGS "pool_size strides padding data_format"
#define DW_KARGS                                                                                   \
    "kernel_size strides padding depth_multiplier data_format dilation_rate activation use_bias"
#define SEP_KARGS                                                                                  \
    "filters kernel_size strides padding data_format dilation_rate depth_multiplier activation "   \
    "use_bias"
#define CT_KARGS                                                                                   \
    "filters kernel_size strides padding output_padding data_format dilation_rate activation "     \
    "use_bias"
const kclass kr_classes[] = {
    {"Conv1D", K_CONV, "conv1d", "conv1d", CONV_KARGS, "", 2},
    {"Convolution1D", K_CONV, "conv1d", "conv1d", CONV_KARGS, "", 2},
    {"Conv2D", K_CONV, "conv2d", "conv2d", CONV_KARGS, "nb_row nb_col", 3},
    {"Convolution2D", K_CONV, "conv2d", "conv2d", CONV_KARGS, "nb_row nb_col", 3},
    {"Dense", K_DENSE, "dense", "dense", "units activation use_bias", "", 1},
    {"BatchNormalization", K_BN, "batchnorm", "batch_normalization",
     "axis momentum epsilon center scale",
     "renorm renorm_clipping renorm_momentum fused virtual_batch_size adjustment synchronized mode",
     0},
    {"Activation", K_ACTIVATION, NULL, "activation", "activation", "", 0},
    {"ReLU", K_RELU, "relu", "re_lu", "max_value negative_slope threshold", "", 0},
    {"LeakyReLU", K_LEAKY, "leaky_relu", "leaky_re_lu", "alpha", "negative_slope", 0},
    {"PReLU", K_PRELU, "prelu", "p_re_lu",
     "alpha_initializer alpha_regularizer alpha_constraint shared_axes", "", 0},
    {"ELU", K_ELU, "elu", "elu", "alpha", "", 0},
    {"Softmax", K_SOFTMAX, NULL, "softmax", "axis", "", 0},
    {"MaxPooling1D", K_POOL, "maxpool1d", "max_pooling1d", POOL_KARGS, "", 2},
    {"MaxPool1D", K_POOL, "maxpool1d", "max_pooling1d", POOL_KARGS, "", 2},
    {"MaxPooling2D", K_POOL, "maxpool2d", "max_pooling2d", POOL_KARGS, "", 3},
    {"MaxPool2D", K_POOL, "maxpool2d", "max_pooling2d", POOL_KARGS, "", 3},
    {"AveragePooling1D", K_POOL, "avgpool1d", "average_pooling1d", POOL_KARGS, "", 2},
    {"AvgPool1D", K_POOL, "avgpool1d", "average_pooling1d", POOL_KARGS, "", 2},
    {"AveragePooling2D", K_POOL, "avgpool2d", "average_pooling2d", POOL_KARGS, "", 3},
    {"AvgPool2D", K_POOL, "avgpool2d", "average_pooling2d", POOL_KARGS, "", 3},
    {"GlobalAveragePooling1D", K_GAP, "global_avgpool", "global_average_pooling1d",
     "data_format keepdims", "", 2},
    {"GlobalAvgPool1D", K_GAP, "global_avgpool", "global_average_pooling1d", "data_format keepdims",
     "", 2},
    {"GlobalAveragePooling2D", K_GAP, "global_avgpool", "global_average_pooling2d",
     "data_format keepdims", "", 3},
    {"GlobalAvgPool2D", K_GAP, "global_avgpool", "global_average_pooling2d", "data_format keepdims",
     "", 3},
    {"GlobalMaxPooling1D", K_GAP, "global_maxpool", "global_max_pooling1d", "data_format keepdims",
     "", 2},
    {"GlobalMaxPool1D", K_GAP, "global_maxpool", "global_max_pooling1d", "data_format keepdims", "",
     2},
    {"GlobalMaxPooling2D", K_GAP, "global_maxpool", "global_max_pooling2d", "data_format keepdims",
     "", 3},
    {"GlobalMaxPool2D", K_GAP, "global_maxpool", "global_max_pooling2d", "data_format keepdims", "",
     3},
    {"Embedding", K_EMBEDDING, "embedding", "embedding", "input_dim output_dim",
     "embeddings_initializer embeddings_regularizer embeddings_constraint mask_zero "
     "activity_regularizer dropout lora_rank",
     1},
    {"UpSampling1D", K_UPSAMPLE, "upsample1d", "up_sampling1d", "size", "", 2},
    {"UpSampling2D", K_UPSAMPLE, "upsample2d", "up_sampling2d", "size data_format interpolation",
     "", 3},
    {"ZeroPadding1D", K_PAD, "zeropad1d", "zero_padding1d", "padding", "", 2},
    {"ZeroPadding2D", K_PAD, "zeropad2d", "zero_padding2d", "padding data_format", "", 3},
    {"Cropping1D", K_PAD, "crop1d", "cropping1d", "cropping", "", 2},
    {"Cropping2D", K_PAD, "crop2d", "cropping2d", "cropping data_format", "", 3},
    {"Reshape", K_RESHAPE, "reshape", "reshape", "target_shape", "", 0},
    {"LayerNormalization", K_LAYERNORM, "layernorm", "layer_normalization",
     "axis epsilon center scale", "rms_scaling beta_initializer gamma_initializer", 0},
    {"Permute", K_PERMUTE, NULL, "permute", "dims", "", 0},
    {"Dropout", K_DROPOUT, "dropout", "dropout", "rate noise_shape seed", "", 0},
    {"Flatten", K_FLATTEN, "flatten", "flatten", "data_format", "", 0},
    {"Add", K_MERGE, "add", "add", "", "", 0},
    {"Multiply", K_MERGE, "multiply", "multiply", "", "", 0},
    {"Subtract", K_MERGE, "subtract", "subtract", "", "", 0},
    {"Average", K_MERGE, "average", "average", "", "", 0},
    {"Maximum", K_MERGE, "maximum", "maximum", "", "", 0},
    {"Minimum", K_MERGE, "minimum", "minimum", "", "", 0},
    {"Concatenate", K_MERGE, "concat", "concatenate", "axis", "", 0},
    {"DepthwiseConv1D", K_DWCONV, "conv1d", "depthwise_conv1d", DW_KARGS, "", 2},
    {"DepthwiseConv2D", K_DWCONV, "conv2d", "depthwise_conv2d", DW_KARGS, "", 3},
    {"SeparableConv1D", K_SEPCONV, "conv1d", "separable_conv1d", SEP_KARGS, "", 2},
    {"SeparableConvolution1D", K_SEPCONV, "conv1d", "separable_conv1d", SEP_KARGS, "", 2},
    {"SeparableConv2D", K_SEPCONV, "conv2d", "separable_conv2d", SEP_KARGS, "", 3},
    {"SeparableConvolution2D", K_SEPCONV, "conv2d", "separable_conv2d", SEP_KARGS, "", 3},
    {"Conv1DTranspose", K_CONVT, "conv1d_transpose", "conv1d_transpose", CT_KARGS, "", 2},
    {"Convolution1DTranspose", K_CONVT, "conv1d_transpose", "conv1d_transpose", CT_KARGS, "", 2},
    {"Conv2DTranspose", K_CONVT, "conv2d_transpose", "conv2d_transpose", CT_KARGS, "", 3},
    {"Convolution2DTranspose", K_CONVT, "conv2d_transpose", "conv2d_transpose", CT_KARGS, "", 3},
    {"RandomFlip", K_IDENTITY, "identity", "random_flip", "mode seed", "", 0},
    {"RandomRotation", K_IDENTITY, "identity", "random_rotation",
     "factor fill_mode interpolation seed fill_value", "value_range", 0},
    {"RandomZoom", K_IDENTITY, "identity", "random_zoom",
     "height_factor width_factor fill_mode interpolation seed fill_value", "value_range", 0},
    {"RandomTranslation", K_IDENTITY, "identity", "random_translation",
     "height_factor width_factor fill_mode interpolation seed fill_value", "value_range", 0},
    {"RandomContrast", K_IDENTITY, "identity", "random_contrast", "factor seed", "value_range", 0},
    {"RandomBrightness", K_IDENTITY, "identity", "random_brightness", "factor value_range seed", "",
     0},
    {"GaussianNoise", K_NOISE, "gaussian_noise", "gaussian_noise", "stddev seed", "", 0},
    {"GaussianDropout", K_NOISE, "gaussian_dropout", "gaussian_dropout", "rate seed", "", 0},
    {"AlphaDropout", K_IDENTITY, "identity", "alpha_dropout", "rate noise_shape seed", "", 0},
    {"SpatialDropout1D", K_NOISE, "spatial_dropout1d", "spatial_dropout1d", "rate seed", "", 2},
    {"SpatialDropout2D", K_NOISE, "spatial_dropout2d", "spatial_dropout2d", "rate data_format seed",
     "", 3},
    {"Rescaling", K_RESCALING, "rescaling", "rescaling", "scale offset", "", 0},
    {"ActivityRegularization", K_IDENTITY, "identity", "activity_regularization", "l1 l2", "", 0},
    {"InputLayer", K_INPUTLAYER, NULL, "input_layer",
     "input_shape batch_size dtype input_tensor sparse",
     "shape batch_shape batch_input_shape ragged", 0},
};
const int kr_nclasses = (int)(sizeof kr_classes / sizeof kr_classes[0]);

/* Keywords every layer takes. */
static const char *const common_keys =
    "name dtype trainable input_shape batch_input_shape batch_shape input_dim input_length "
    "batch_size dim_ordering autocast dynamic";
/* Keywords that cannot change the function or the parameter count: read and ignored. */
static const char *const ignored_keys =
    "kernel_initializer bias_initializer kernel_regularizer bias_regularizer "
    "activity_regularizer kernel_constraint bias_constraint beta_initializer "
    "gamma_initializer moving_mean_initializer moving_variance_initializer beta_regularizer "
    "gamma_regularizer beta_constraint gamma_constraint alpha_initializer alpha_regularizer "
    "alpha_constraint init W_regularizer b_regularizer W_constraint b_constraint weights "
    "depthwise_initializer pointwise_initializer depthwise_regularizer pointwise_regularizer "
    "depthwise_constraint pointwise_constraint";
/* Keras 1 keyword names -> Keras 2. */
static const char *const old_keys[][2] = {
    {"nb_filter", "filters"},
    {"filter_length", "kernel_size"},
    {"border_mode", "padding"},
    {"subsample_length", "strides"},
    {"subsample", "strides"},
    {"pool_length", "pool_size"},
    {"stride", "strides"},
    {"output_dim", "units"},
    {"p", "rate"},
    {"bias", "use_bias"},
};

/* Keras activation names -> ordnet ops. alpha > 0 replaces the op's default parameter. */
static const struct {
    const char *keras, *op;
    float alpha;
} acts[] = {
    {"relu", "relu", 0},
    {"sigmoid", "sigmoid", 0},
    {"tanh", "tanh", 0},
    {"elu", "elu", 0},
    {"selu", "selu", 0},
    {"softplus", "softplus", 0},
    {"gelu", "gelu", 0},
    {"swish", "silu", 0},
    {"silu", "silu", 0},
    {"mish", "mish", 0},
    {"relu6", "relu6", 0},
    {"leaky_relu", "leaky_relu", 0.2f},
    {"celu", "celu", 0},
    {"hard_tanh", "hardtanh", 0},
    {"linear", NULL, 0},
    {"hard_sigmoid", "hard_sigmoid", 0},
    {"hard_swish", "hard_swish", 0},
    {"hard_silu", "hard_swish", 0},
    {"softsign", "softsign", 0},
    {"exponential", "exponential", 0},
    {"softmax", NULL, 0},
};
#define NACTS ((int)(sizeof acts / sizeof acts[0]))

/* Functions of keras.layers that combine tensors in ways ordnet does not. */
const char *const kr_merge_fns = "dot";
/* Classes that are not layers and may be written without a module prefix. */
const char *const kr_other_classes =
    "Adam AdamW SGD RMSprop Adagrad Adadelta Adamax Nadam Ftrl EarlyStopping ModelCheckpoint "
    "ReduceLROnPlateau TensorBoard LearningRateScheduler CSVLogger History "
    "ImageDataGenerator SparseCategoricalCrossentropy CategoricalCrossentropy "
    "BinaryCrossentropy MeanSquaredError MeanAbsoluteError Accuracy SparseCategoricalAccuracy "
    "CategoricalAccuracy HeNormal HeUniform GlorotUniform GlorotNormal LecunNormal "
    "LecunUniform L1 L2 L1L2 Constant Zeros Ones RandomNormal RandomUniform TruncatedNormal "
    "Orthogonal VarianceScaling ExponentialDecay CosineDecay PiecewiseConstantDecay "
    "MirroredStrategy Path Tokenizer";
/* Module names after which a capitalized name is expected to be a layer. */
const char *const kr_layer_modules = "layers keras tf tensorflow models kl KL";

/* ------------------------------------------------------------------------------------ */
/* Layers                                                                               */

const kclass *kr_find_class(const char *name) {
    for (int i = 0; i < kr_nclasses; i++)
        if (!strcmp(kr_classes[i].name, name)) return &kr_classes[i];
    return NULL;
}

/* The i-th word of a space-separated list into buf; 0 when there is none. */
int kr_nth_word(const char *list, int i, char *buf, size_t n) {
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len && i-- == 0) {
            snprintf(buf, n, "%.*s", (int)len, p);
            return 1;
        }
        p += len;
    }
    return 0;
}

static const char *act_list(char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < NACTS; i++) {
        int w = snprintf(buf + k, n - k, "%s%s", i ? ", " : "", acts[i].keras);
        if (w < 0 || (size_t)w >= n - k) break;
        k += (size_t)w;
    }
    return buf;
}

/* activation=... (main: the Activation layer itself, else a layer's activation=). */
static int set_activation(ctx *c, klayer *L, const karg *g, int main) {
    const kval *v = &g->v;
    char nm[40], b[64], list[256];
    L->given_act = 1;
    if (v->kind == V_NONE) {
        if (main) L->op = on_op_find("identity"), L->a = L->op->defaults;
        return 0;
    }
    if (v->kind == V_LAYER && !v->layer->used &&
        (v->layer->cls->kind == K_RELU || v->layer->cls->kind == K_LEAKY ||
         v->layer->cls->kind == K_ELU || v->layer->cls->kind == K_ACTIVATION ||
         v->layer->cls->kind == K_SOFTMAX)) {
        klayer *A = v->layer;
        A->used = 1;
        if (!A->op) {
            if (A->softmax >= 0 || A->cls->kind == K_SOFTMAX) L->softmax = g->tok;
            if (main) L->op = NULL;
            return 0;
        }
        if (main)
            L->op = A->op, L->a = A->a;
        else
            L->act = A->op, L->act_a = A->a,
            snprintf(L->act_name, sizeof L->act_name, "%s", A->op->name);
        return 0;
    }
    if (v->kind == V_STR)
        snprintf(nm, sizeof nm, "%s", v->s);
    else if (v->kind == V_PATH)
        snprintf(nm, sizeof nm, "%s", strrchr(v->s, '.') ? strrchr(v->s, '.') + 1 : v->s);
    else
        return kr_fail(c, g->tok, "%s's activation must be a name such as 'relu', got %s",
                       L->cls->name, kr_src(c, g->tok, g->end, b, sizeof b));
    for (char *q = nm; *q; q++) *q = (char)tolower((unsigned char)*q);
    int k = 0;
    while (k < NACTS && strcmp(acts[k].keras, nm)) k++;
    if (k == NACTS) {
        char all[256], sg[64];
        size_t o = 0;
        for (int i = 0; i < NACTS && o + 16 < sizeof all; i++)
            o += (size_t)snprintf(all + o, sizeof all - o, "%s ", acts[i].keras);
        return kr_fail(c, g->tok, "unknown activation '%s'%s (ordnet has: %s)", nm,
                       kr_suggest(nm, all, NULL, sg, sizeof sg), act_list(list, sizeof list));
    }
    if (!acts[k].op) {
        if (!strcmp(nm, "softmax")) L->softmax = g->tok;
        if (main) L->op = strcmp(nm, "softmax") ? on_op_find("identity") : NULL;
        if (main && L->op) L->a = L->op->defaults;
        return 0;
    }
    const on_op *op = on_op_find(acts[k].op);
    on_attrs a = op->defaults;
    if (acts[k].alpha > 0) a.alpha = acts[k].alpha;
    if (main)
        L->op = op, L->a = a;
    else
        L->act = op, L->act_a = a, snprintf(L->act_name, sizeof L->act_name, "%s", acts[k].keras);
    return 0;
}

/* One argument of a layer, by its Keras name. */
static int set_arg(ctx *c, klayer *L, const char *key, const karg *g) {
    const kclass *k = L->cls;
    const kval *v = &g->v;
    char what[96], b[64];
    int r = k->rank, t = 0;
    double d = 0;
    snprintf(what, sizeof what, "%s's %s", k->name, key);
#define IS(s) (!strcmp(key, s))
    if (IS("name")) {
        if (v->kind == V_NONE) return 0;
        if (v->kind != V_STR || !v->s[0] || strlen(v->s) >= ON_NAME_MAX)
            return kr_arg_err(c, g, what, "a string of 1 to 63 characters");
        snprintf(L->name, sizeof L->name, "%s", v->s);
        return 0;
    }
    if (IS("dtype")) return kr_check_dtype(c, g);
    if (IS("trainable")) {
        if (kr_want_bool(c, g, what, &t)) return -1;
        if (!t)
            return kr_fail(
                c, g->tok,
                "trainable=False (a frozen layer) is not supported: ordnet trains every layer");
        return 0;
    }
    if (IS("data_format") || IS("dim_ordering")) {
        const char *s = v->kind == V_STR ? v->s : "";
        int first = !strcmp(s, "channels_first") || !strcmp(s, "th");
        char w[32];
        if (v->kind == V_NONE || !strcmp(s, "default")) return 0;
        if (!first && strcmp(s, "channels_last") && strcmp(s, "tf"))
            return kr_arg_err(c, g, what, "'channels_last' or 'channels_first'");
        if (first != c->chfirst)
            return kr_fail(c, g->tok,
                           "%s='%s', but the code is read channels-%s (from %s): ordnet reads "
                           "models whose layers all use one layout",
                           key, s, c->chfirst ? "first" : "last",
                           c->chfirst_tok ? kr_where(c, c->chfirst_tok, w, sizeof w)
                                          : "Keras's default");
        return 0;
    }
    if (k->kind == K_EMBEDDING && IS("input_dim")) { /* the vocabulary, not a shape */
        L->given_kernel = 1;
        return kr_want_int(c, g, what, 1, MAX_DIM, &L->a.vocab);
    }
    if (k->kind == K_EMBEDDING && IS("input_length")) { /* the sequence: the input shape */
        if (v->kind == V_NONE) return 0;
        if (kr_want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
        L->has_input = L->input_known = 1;
        L->input_tok = g->tok;
        L->input = (on_shape){1, t, 1, 1};
        return 0;
    }
    if (IS("input_shape") || IS("batch_input_shape") || IS("batch_shape") || IS("input_dim") ||
        IS("shape")) {
        L->has_input = 1;
        L->input_tok = g->tok;
        if (!IS("input_dim"))
            return kr_read_shape(c, g, IS("batch_input_shape") || IS("batch_shape"), &L->input,
                                 &L->input_known);
        if (kr_want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
        L->input = L->in_len ? (on_shape){2, t, 1, L->in_len} : (on_shape){1, t, 1, 1};
        L->input_known = 1;
        return 0;
    }
    if (IS("input_length")) { /* Keras 1: (input_length, input_dim) is the input shape */
        if (v->kind == V_NONE) return 0;
        if (kr_want_int(c, g, what, 1, MAX_DIM, &L->in_len)) return -1;
        L->in_len_tok = g->tok;
        if (L->has_input && L->input_known && L->input.rank == 1)
            L->input = (on_shape){2, L->input.c, 1, L->in_len};
        return 0;
    }
    if (IS("batch_size") || IS("autocast") || IS("dynamic") ||
        kr_in_list(ignored_keys, key, strlen(key)))
        return 0;
    switch (k->kind) {
    case K_IDENTITY:
        return 0; /* the arguments of augmentation and noise change nothing at inference */
    case K_MERGE:
        if (IS("axis")) return kr_want_int(c, g, what, -4, 4, &L->axis);
        break;
    case K_EMBEDDING:
        if (IS("output_dim")) {
            L->given_units = 1;
            return kr_want_int(c, g, what, 1, MAX_DIM, &L->a.units);
        }
        if (IS("mask_zero")) {
            if (kr_is_none_or(v, 0)) return 0;
            return kr_fail(c, g->tok,
                           "mask_zero=True is not supported: ordnet's layers do not carry masks");
        }
        if (IS("dropout")) { /* Keras 1: whole words dropped in training; no weights */
            if (v->kind == V_NUM && v->num == 0) return 0;
            if (kr_want_num(c, g, what, 0, 1, 1, &d)) return -1;
            kr_note_identity(c, "embedding dropout");
            return 0;
        }
        if (IS("lora_rank")) {
            if (v->kind == V_NONE) return 0;
            return kr_fail(c, g->tok, "Embedding's lora_rank is not supported");
        }
        return 0; /* initializers, regularizers, constraints */
    case K_UPSAMPLE:
        if (IS("size")) {
            int h, w;
            if (kr_want_pair(c, g, what, r, 1, 4096, &h, &w)) return -1;
            L->a.scale_h = (float)h, L->a.scale_w = (float)w;
            return 0;
        }
        if (IS("interpolation")) {
            const char *m = v->kind == V_STR ? v->s : "";
            if (!strcmp(m, "nearest")) return L->a.mode = ON_RESIZE_NEAREST, 0;
            if (!strcmp(m, "bilinear")) return L->a.mode = ON_RESIZE_LINEAR, 0;
            return kr_arg_err(c, g, what, "'nearest' or 'bilinear'");
        }
        break;
    case K_PAD: {
        /* padding / cropping: n, (a, b), or ((top, bottom), (left, right)) for images */
        int amt[4] = {0, 0, 0, 0};
        const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : NULL;
        int n = it ? v->n : 0, ok = 1;
        char want[96];
        snprintf(want, sizeof want, "%s",
                 r == 3 ? "n, (rows, cols) or ((top, bottom), (left, right))"
                        : "n or (left, right)");
        if (kr_num_like(v) && v->is_int && v->num >= 0 && v->num <= 65536) {
            for (int k = r == 3 ? 0 : 2; k < 4; k++) amt[k] = (int)v->num;
        } else if (it && n == 2 && kr_num_like(&it[0]) && kr_num_like(&it[1])) {
            if (r == 3)
                amt[0] = amt[1] = (int)it[0].num, amt[2] = amt[3] = (int)it[1].num;
            else
                amt[2] = (int)it[0].num, amt[3] = (int)it[1].num;
            ok = it[0].is_int && it[1].is_int && it[0].num >= 0 && it[1].num >= 0 &&
                 it[0].num <= 65536 && it[1].num <= 65536;
        } else if (it && n == 2 && r == 3 && (it[0].kind == V_TUPLE || it[0].kind == V_LIST) &&
                   it[0].n == 2 && (it[1].kind == V_TUPLE || it[1].kind == V_LIST) &&
                   it[1].n == 2) {
            const kval *q[4] = {&it[0].items[0], &it[0].items[1], &it[1].items[0], &it[1].items[1]};
            for (int k = 0; k < 4; k++) {
                ok =
                    ok && kr_num_like(q[k]) && q[k]->is_int && q[k]->num >= 0 && q[k]->num <= 65536;
                amt[k] = ok ? (int)q[k]->num : 0;
            }
        } else
            ok = 0;
        if (!ok) return kr_arg_err(c, g, what, want);
        memcpy(L->a.pad, amt, sizeof amt);
        return 0;
    }
    case K_RESHAPE:
        if (IS("target_shape")) {
            const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : v;
            int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 1, dd[3];
            if (n < 1 || n > 3)
                return kr_arg_err(c, g, what, "a shape of 1 to 3 dimensions, e.g. (7, 7, 128)");
            for (int k = 0; k < n; k++) {
                if (!kr_num_like(&it[k]) || !it[k].is_int || it[k].num == 0 || it[k].num < -1 ||
                    it[k].num > MAX_DIM)
                    return kr_arg_err(c, g, what, "a shape of integers (-1 for one of them)");
                dd[k] = (int)it[k].num;
            }
            /* Keras's target is channels last: (L, C) -> (C, L), (H, W, C) -> (C, H, W) */
            L->a.ndims = n;
            for (int k = 0; k < n; k++)
                L->a.dims[k] = c->chfirst || n == 1 ? dd[k] : k == 0 ? dd[n - 1] : dd[k - 1];
            L->given_units = 1;
            return 0;
        }
        break;
    case K_LAYERNORM:
        if (IS("axis")) {
            if (v->kind == V_TUPLE || v->kind == V_LIST)
                return kr_fail(c, g->tok,
                               "LayerNormalization over several axes is not supported (one axis)");
            return kr_want_int(c, g, what, -4, 4, &L->axis);
        }
        if (IS("epsilon")) {
            if (kr_want_num(c, g, what, 1e-30, 1e30, 0, &d)) return -1;
            L->a.eps = (float)d;
            return 0;
        }
        if (IS("center") || IS("scale")) {
            if (kr_want_bool(c, g, what, &t)) return -1;
            if (!t)
                return kr_fail(c, g->tok,
                               "%s=False is not supported: ordnet's layer normalization learns a "
                               "scale and a shift",
                               key);
            return 0;
        }
        if (IS("rms_scaling")) {
            if (kr_is_none_or(v, 0)) return 0;
            return kr_fail(c, g->tok, "rms_scaling=True is not supported");
        }
        return 0;
    case K_PERMUTE:
        return 0;
    case K_NOISE:
        if (IS("rate")) {
            L->given_rate = 1;
            if (kr_want_num(c, g, what, 0, 1, 1, &d)) return -1;
            L->a.rate = (float)d;
            return 0;
        }
        if (IS("stddev")) {
            L->given_rate = 1;
            if (kr_want_num(c, g, what, 0, 1e30, 0, &d)) return -1;
            L->a.stddev = (float)d;
            return 0;
        }
        if (IS("seed")) {
            if (v->kind == V_NONE) return 0;
            if (kr_want_int(c, g, what, 0, 2147483647, &t)) return -1;
            L->a.seed = (uint64_t)t;
            return 0;
        }
        break;
    case K_RESCALING:
        if (IS("scale") || IS("offset")) {
            if (kr_want_num(c, g, what, -1e30, 1e30, 0, &d)) return -1;
            if (IS("scale"))
                L->a.scale = (float)d, L->given_units = 1;
            else
                L->a.offset = (float)d;
            return 0;
        }
        break;
    case K_CONV:
    case K_DENSE:
    case K_DWCONV:
    case K_SEPCONV:
    case K_CONVT:
        if (IS("depth_multiplier") && (k->kind == K_DWCONV || k->kind == K_SEPCONV))
            return kr_want_int(c, g, what, 1, 4096, &L->depth_mult);
        if (IS("output_padding") && k->kind == K_CONVT) {
            if (v->kind == V_NONE) return 0;
            int oh, ow;
            if (kr_want_pair(c, g, what, r, 0, MAX_WINDOW, &oh, &ow)) return -1;
            L->a.opad[0] = r == 3 ? oh : 0;
            L->a.opad[1] = ow;
            return 0;
        }
        if (IS("filters") || IS("units")) {
            L->given_units = 1;
            return kr_want_int(c, g, what, 1, MAX_DIM, &L->a.units);
        }
        if (IS("kernel_size")) {
            L->given_kernel = 1;
            return kr_want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.kh, &L->a.kw);
        }
        if (IS("nb_row") || IS("nb_col")) { /* Keras 1 */
            L->given_kernel |= IS("nb_row") ? 2 : 4;
            return kr_want_int(c, g, what, 1, MAX_WINDOW, IS("nb_row") ? &L->a.kh : &L->a.kw);
        }
        if (IS("strides")) return kr_want_pair(c, g, what, r, 1, MAX_DIM, &L->a.sh, &L->a.sw);
        if (IS("dilation_rate"))
            return kr_want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.dh, &L->a.dw);
        if (IS("padding")) return kr_want_padding(c, g, what, &L->a.pad_mode);
        if (IS("use_bias")) return kr_want_bool(c, g, what, &L->a.bias);
        if (IS("activation")) return set_activation(c, L, g, 0);
        if (IS("groups")) return kr_want_int(c, g, what, 1, MAX_DIM, &L->a.groups);
        break;
    case K_BN:
        if (IS("axis")) return kr_want_int(c, g, what, -4, 4, &L->axis);
        if (IS("momentum")) {
            if (kr_want_num(c, g, what, 0, 1, 0, &d)) return -1;
            L->a.momentum =
                (float)(1.0 - d); /* Keras weights the old statistics, ordnet the batch */
            return 0;
        }
        if (IS("epsilon")) {
            if (kr_want_num(c, g, what, 1e-30, 1e30, 0, &d)) return -1;
            L->a.eps = (float)d;
            return 0;
        }
        if (IS("center") || IS("scale")) {
            if (kr_want_bool(c, g, what, &t)) return -1;
            if (!t)
                return kr_fail(c, g->tok,
                               "%s=False is not supported: ordnet's batch normalization always "
                               "learns a scale (gamma) and a shift (beta)",
                               key);
            return 0;
        }
        if (IS("renorm") || IS("renorm_clipping") || IS("virtual_batch_size") || IS("adjustment")) {
            if (kr_is_none_or(v, 0)) return 0;
            return kr_fail(c, g->tok, "BatchNormalization's %s is not supported", key);
        }
        if (IS("mode")) {
            if (v->kind == V_NUM && v->num == 0) return 0;
            return kr_fail(c, g->tok, "BatchNormalization's mode=%s (Keras 1) is not supported",
                           kr_src(c, g->tok, g->end, b, sizeof b));
        }
        if (IS("renorm_momentum") || IS("fused") || IS("synchronized")) return 0;
        break;
    case K_ACTIVATION:
        if (IS("activation")) return set_activation(c, L, g, 1);
        break;
    case K_RELU:
        if (IS("max_value")) {
            if (v->kind == V_NONE) return 0;
            if (kr_want_num(c, g, what, 0, 1e30, 0, &L->max_value)) return -1;
            L->max_tok = g->tok;
            return 0;
        }
        if (IS("negative_slope")) return kr_want_num(c, g, what, 0, 1e30, 0, &L->neg_slope);
        if (IS("threshold")) {
            if (v->kind == V_NUM && v->num == 0) return 0;
            return kr_fail(c, g->tok,
                           "ReLU's threshold must be 0 (ordnet has no thresholded ReLU)");
        }
        break;
    case K_LEAKY:
    case K_ELU:
        if (IS("alpha") || IS("negative_slope")) {
            if (kr_want_num(c, g, what, -1e30, 1e30, 0, &d)) return -1;
            L->a.alpha = (float)d;
            return 0;
        }
        break;
    case K_PRELU:
        if (IS("shared_axes")) {
            if (v->kind == V_NONE) return 0;
            const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : v;
            int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 1;
            L->shared = 0;
            for (int i = 0; i < n; i++) {
                if (it[i].kind != V_NUM || !it[i].is_int || it[i].num < 1 || it[i].num > 3)
                    return kr_arg_err(c, g, what, "axes from 1 to 3, e.g. [1, 2]");
                L->shared |= 1 << (int)it[i].num;
            }
            return 0;
        }
        break;
    case K_SOFTMAX:
        if (IS("axis")) {
            if (v->kind == V_NUM && v->num == -1) return 0;
            return kr_fail(c, g->tok,
                           "Softmax over axis %s is not supported (only the last axis, -1)",
                           kr_src(c, g->tok, g->end, b, sizeof b));
        }
        break;
    case K_POOL:
        if (IS("pool_size")) return kr_want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.kh, &L->a.kw);
        if (IS("strides")) {
            if (v->kind == V_NONE) return L->a.sh = L->a.sw = 0, 0; /* None: the pool size */
            return kr_want_pair(c, g, what, r, 1, MAX_DIM, &L->a.sh, &L->a.sw);
        }
        if (IS("padding")) return kr_want_padding(c, g, what, &L->a.pad_mode);
        break;
    case K_GAP:
        if (IS("keepdims")) {
            if (kr_is_none_or(v, 0)) return 0;
            return kr_fail(c, g->tok,
                           "keepdims=True is not supported: ordnet's global pooling gives a flat "
                           "(None, channels) output");
        }
        break;
    case K_DROPOUT:
        if (IS("rate")) {
            L->given_rate = 1;
            if (kr_want_num(c, g, what, 0, 1, 1, &d)) return -1;
            L->a.rate = (float)d;
            return 0;
        }
        if (IS("noise_shape")) {
            if (v->kind == V_NONE) return 0;
            return kr_fail(c, g->tok,
                           "Dropout's noise_shape is not supported (ordnet drops single values)");
        }
        if (IS("seed")) {
            if (v->kind == V_NONE) return 0;
            if (kr_want_int(c, g, what, 0, 2147483647, &t)) return -1;
            L->a.seed = (uint64_t)t;
            return 0;
        }
        break;
    case K_INPUTLAYER:
        if (IS("input_tensor") || IS("sparse") || IS("ragged")) {
            if (kr_is_none_or(v, 0)) return 0;
            return kr_fail(c, g->tok, "InputLayer's %s is not supported", key);
        }
        break;
    default:
        break;
    }
#undef IS
    return kr_fail(c, g->key >= 0 ? g->key : g->tok, "%s: argument '%s' is not supported", k->name,
                   key);
}

int kr_do_layer(ctx *c, const kclass *k, int ft, const kargs *A, kval *out) {
    char list[512], sg[64];
    klayer *L = kr_cx_alloc(c, sizeof *L);
    if (!L) return kr_oom(c, ft);
    L->cls = k;
    L->tok = ft;
    L->softmax = L->max_tok = -1;
    L->axis = -1;
    L->shared = -1;
    L->op = k->op ? on_op_find(k->op) : NULL;
    if (L->op) L->a = L->op->defaults;
    if (k->kind == K_POOL)
        L->a.count_include_pad = 0; /* Keras leaves the padding out of averages */
    if (k->kind == K_BN)
        L->a.eps = 1e-3f, L->a.momentum = 0.01f; /* Keras: epsilon 1e-3, momentum 0.99 */
    if (k->kind == K_LEAKY) L->a.alpha = 0.3f;
    if (k->kind == K_ELU) L->a.alpha = 1.0f;
    if (k->kind == K_SOFTMAX) L->softmax = ft;
    L->depth_mult = 1;
    if (k->kind == K_LAYERNORM) L->a.eps = 1e-3f; /* Keras's default */
    if (k->kind == K_UPSAMPLE) L->a.scale_h = k->rank == 3 ? 2 : 1, L->a.scale_w = 2;
    if (k->kind == K_PAD && !strncmp(k->name, "Zero", 4)) /* ZeroPadding's default: 1 */
        L->a.pad[0] = L->a.pad[1] = k->rank == 3, L->a.pad[2] = L->a.pad[3] = 1;
    if (k->kind == K_PAD && !strcmp(k->name, "Cropping1D")) L->a.pad[2] = L->a.pad[3] = 1;
    int npos = 0;
    for (int i = 0; i < A->n; i++) npos += A->a[i].key < 0;
    /* Keras 1's Convolution1D/2D(nb_filter, nb_row, nb_col, init, activation, weights,
     * border_mode, subsample): told by the Keras 1 name with a third integer, or by a Keras 1
     * keyword */
    const char *args = k->args;
    int k1 = 0;
    for (int i = 0; i < A->n && k->kind == K_CONV; i++) {
        const tok *kt = A->a[i].key >= 0 ? &c->t[A->a[i].key] : NULL;
        if (kt && kr_in_list("nb_filter nb_row nb_col filter_length border_mode subsample "
                             "subsample_length init W_regularizer b_regularizer W_constraint "
                             "b_constraint dim_ordering bias",
                             c->text + kt->off, (size_t)kt->len))
            k1 = 1;
    }
    if (k->kind == K_CONV && k->rank == 3 && !strcmp(k->name, "Convolution2D") && npos >= 3 &&
        A->a[2].v.kind == V_NUM && A->a[2].v.is_int)
        k1 = 1;
    if (k1)
        args = k->rank == 3 ? "filters nb_row nb_col init activation weights padding strides "
                              "data_format"
                            : "filters kernel_size init activation weights padding strides";
    if (k1) c->keras1 = c->keras1 ? c->keras1 : ft;
    if (!k1 && k->kind == K_CONV && k->rank == 3 && npos >= 3 && A->a[2].v.kind == V_NUM &&
        A->a[2].v.is_int) {
        char b1[16], b2[16];
        kr_src(c, A->a[1].tok, A->a[1].end, b1, sizeof b1);
        kr_src(c, A->a[2].tok, A->a[2].end, b2, sizeof b2);
        return kr_fail(c, A->a[2].tok,
                       "%s(filters, %s, %s): the third positional argument is strides in Keras 2 "
                       "but the kernel width in Keras 1; write kernel_size=(%s, %s) or strides=%s",
                       k->name, b1, b2, b1, b2, b2);
    }
    char keys[24][40];
    int nkeys = 0;
    npos = 0;
    for (int i = 0; i < A->n; i++) {
        const karg *g = &A->a[i];
        char key[40];
        if (g->key < 0) {
            if (!kr_nth_word(args, npos, key, sizeof key))
                return kr_fail(c, g->tok, "%s takes at most %d positional arguments (%s)", k->name,
                               npos, *k->args ? kr_commas(k->args, list, sizeof list) : "none");
            npos++;
        } else {
            const tok *kt = &c->t[g->key];
            snprintf(key, sizeof key, "%.*s", kt->len > 39 ? 39 : kt->len, c->text + kt->off);
            for (size_t j = 0; j < sizeof old_keys / sizeof old_keys[0]; j++)
                if (!strcmp(key, old_keys[j][0]) && !kr_in_list(k->args, key, strlen(key)) &&
                    !kr_in_list(k->more, key, strlen(key)))
                    snprintf(key, sizeof key, "%s", old_keys[j][1]);
            size_t kl = strlen(key);
            if (kt->len > 39 ||
                !(kr_in_list(k->args, key, kl) || kr_in_list(k->more, key, kl) ||
                  kr_in_list(common_keys, key, kl) || kr_in_list(ignored_keys, key, kl))) {
                char all[512];
                snprintf(all, sizeof all, "%s %s", k->args, k->more);
                return kr_fail(c, g->key, "%s has no argument '%s'%s (it takes: %s)", k->name, key,
                               kr_suggest(key, all, common_keys, sg, sizeof sg),
                               *k->args ? kr_commas(k->args, list, sizeof list) : "name");
            }
        }
        for (int j = 0; j < nkeys; j++)
            if (!strcmp(keys[j], key))
                return kr_fail(c, g->key >= 0 ? g->key : g->tok, "%s got '%s' twice", k->name, key);
        if (nkeys < 24) snprintf(keys[nkeys++], sizeof keys[0], "%s", key);
        if (set_arg(c, L, key, g)) return -1;
    }
    switch (k->kind) {
    case K_DWCONV:
        if (!L->given_kernel)
            return kr_fail(c, ft, "%s needs kernel_size, e.g. %s(3)", k->name, k->name);
        break;
    case K_CONV:
    case K_SEPCONV:
    case K_CONVT:
        if (!L->given_units)
            return kr_fail(c, ft, "%s needs filters, the number of output channels, e.g. %s(32, 3)",
                           k->name, k->name);
        if (!L->given_kernel)
            return kr_fail(c, ft, "%s needs kernel_size, e.g. %s(%d, 3)", k->name, k->name,
                           L->a.units);
        if (L->given_kernel & 6 && (L->given_kernel & 6) != 6)
            return kr_fail(c, ft, "%s needs both nb_row and nb_col (Keras 1), e.g. %s(%d, 3, 3)",
                           k->name, k->name, L->a.units);
        if ((L->a.sh > 1 || L->a.sw > 1) && (L->a.dh > 1 || L->a.dw > 1))
            return kr_fail(
                c, ft,
                "%s: strides > 1 together with dilation_rate > 1 is not supported (nor in Keras)",
                k->name);
        break;
    case K_DENSE:
        if (!L->given_units)
            return kr_fail(c, ft, "Dense needs units, the number of outputs, e.g. Dense(10)");
        break;
    case K_ACTIVATION:
        if (!L->given_act)
            return kr_fail(c, ft, "Activation needs a name, e.g. Activation('relu')");
        break;
    case K_EMBEDDING:
        if (!L->given_kernel || !L->given_units)
            return kr_fail(c, ft,
                           "Embedding needs input_dim (the vocabulary) and output_dim, e.g. "
                           "Embedding(10000, 128)");
        break;
    case K_RESHAPE:
        if (!L->given_units)
            return kr_fail(c, ft, "Reshape needs target_shape, e.g. Reshape((7, 7, 128))");
        break;
    case K_NOISE:
        if (!L->given_rate)
            return kr_fail(c, ft, "%s needs its %s, e.g. %s(0.1)", k->name,
                           strstr(k->name, "Noise") ? "stddev" : "rate", k->name);
        break;
    case K_RESCALING:
        if (!L->given_units)
            return kr_fail(c, ft, "Rescaling needs a scale, e.g. Rescaling(1.0 / 255)");
        break;
    case K_DROPOUT:
        if (!L->given_rate)
            return kr_fail(c, ft, "Dropout needs rate, the fraction dropped, e.g. Dropout(0.2)");
        break;
    case K_RELU:
        if (L->max_tok >= 0 && L->neg_slope > 0)
            return kr_fail(c, L->max_tok,
                           "ReLU with both max_value and negative_slope is not supported");
        if (L->max_tok >= 0) {
            L->op = on_op_find("hardtanh");
            L->a = L->op->defaults;
            L->a.lo = 0;
            L->a.hi = (float)L->max_value;
        } else if (L->neg_slope > 0) {
            L->op = on_op_find("leaky_relu");
            L->a = L->op->defaults;
            L->a.alpha = (float)L->neg_slope;
        }
        break;
    default:
        break;
    }
    *out = kr_mk(V_LAYER, ft);
    out->layer = L;
    return 0;
}
