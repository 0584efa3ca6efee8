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
    {"Conv1D", K_CONV, "conv1d", "conv1d", CONV_KARGS, "", 2, "Convolution1D"},
    {"Conv2D", K_CONV, "conv2d", "conv2d", CONV_KARGS, "nb_row nb_col", 3, "Convolution2D"},
    {"Dense", K_DENSE, "dense", "dense", "units activation use_bias", "", 1, NULL},
    {"BatchNormalization", K_BN, "batchnorm", "batch_normalization",
     "axis momentum epsilon center scale",
     "renorm renorm_clipping renorm_momentum fused virtual_batch_size adjustment synchronized mode",
     0, NULL},
    {"Activation", K_ACTIVATION, NULL, "activation", "activation", "", 0, NULL},
    {"ReLU", K_RELU, "relu", "re_lu", "max_value negative_slope threshold", "", 0, NULL},
    {"LeakyReLU", K_LEAKY, "leaky_relu", "leaky_re_lu", "alpha", "negative_slope", 0, NULL},
    {"PReLU", K_PRELU, "prelu", "p_re_lu",
     "alpha_initializer alpha_regularizer alpha_constraint shared_axes", "", 0, NULL},
    {"ELU", K_ELU, "elu", "elu", "alpha", "", 0, NULL},
    {"Softmax", K_SOFTMAX, NULL, "softmax", "axis", "", 0, NULL},
    {"MaxPooling1D", K_POOL, "maxpool1d", "max_pooling1d", POOL_KARGS, "", 2, "MaxPool1D"},
    {"MaxPooling2D", K_POOL, "maxpool2d", "max_pooling2d", POOL_KARGS, "", 3, "MaxPool2D"},
    {"AveragePooling1D", K_POOL, "avgpool1d", "average_pooling1d", POOL_KARGS, "", 2, "AvgPool1D"},
    {"AveragePooling2D", K_POOL, "avgpool2d", "average_pooling2d", POOL_KARGS, "", 3, "AvgPool2D"},
    {"GlobalAveragePooling1D", K_GAP, "global_avgpool", "global_average_pooling1d",
     "data_format keepdims", "", 2, "GlobalAvgPool1D"},
    {"GlobalAveragePooling2D", K_GAP, "global_avgpool", "global_average_pooling2d",
     "data_format keepdims", "", 3, "GlobalAvgPool2D"},
    {"GlobalMaxPooling1D", K_GAP, "global_maxpool", "global_max_pooling1d", "data_format keepdims",
     "", 2, "GlobalMaxPool1D"},
    {"GlobalMaxPooling2D", K_GAP, "global_maxpool", "global_max_pooling2d", "data_format keepdims",
     "", 3, "GlobalMaxPool2D"},
    {"Embedding", K_EMBEDDING, "embedding", "embedding", "input_dim output_dim",
     "embeddings_initializer embeddings_regularizer embeddings_constraint mask_zero "
     "activity_regularizer dropout lora_rank",
     1, NULL},
    {"UpSampling1D", K_UPSAMPLE, "upsample1d", "up_sampling1d", "size", "", 2, NULL},
    {"UpSampling2D", K_UPSAMPLE, "upsample2d", "up_sampling2d", "size data_format interpolation",
     "", 3, NULL},
    {"ZeroPadding1D", K_PAD, "zeropad1d", "zero_padding1d", "padding", "", 2, NULL},
    {"ZeroPadding2D", K_PAD, "zeropad2d", "zero_padding2d", "padding data_format", "", 3, NULL},
    {"Cropping1D", K_PAD, "crop1d", "cropping1d", "cropping", "", 2, NULL},
    {"Cropping2D", K_PAD, "crop2d", "cropping2d", "cropping data_format", "", 3, NULL},
    {"Reshape", K_RESHAPE, "reshape", "reshape", "target_shape", "", 0, NULL},
    {"LayerNormalization", K_LAYERNORM, "layernorm", "layer_normalization",
     "axis epsilon center scale", "rms_scaling beta_initializer gamma_initializer", 0, NULL},
    {"Permute", K_PERMUTE, "permute", "permute", "dims", "", 0, NULL},
    {"Dropout", K_DROPOUT, "dropout", "dropout", "rate noise_shape seed", "", 0, NULL},
    {"Flatten", K_FLATTEN, "flatten", "flatten", "data_format", "", 0, NULL},
    {"Add", K_MERGE, "add", "add", "", "", 0, NULL},
    {"Multiply", K_MERGE, "multiply", "multiply", "", "", 0, NULL},
    {"Subtract", K_MERGE, "subtract", "subtract", "", "", 0, NULL},
    {"Average", K_MERGE, "average", "average", "", "", 0, NULL},
    {"Maximum", K_MERGE, "maximum", "maximum", "", "", 0, NULL},
    {"Minimum", K_MERGE, "minimum", "minimum", "", "", 0, NULL},
    {"Concatenate", K_MERGE, "concat", "concatenate", "axis", "", 0, NULL},
    {"DepthwiseConv1D", K_DWCONV, "conv1d", "depthwise_conv1d", DW_KARGS, "", 2, NULL},
    {"DepthwiseConv2D", K_DWCONV, "conv2d", "depthwise_conv2d", DW_KARGS, "", 3, NULL},
    {"SeparableConv1D", K_SEPCONV, "conv1d", "separable_conv1d", SEP_KARGS, "", 2,
     "SeparableConvolution1D"},
    {"SeparableConv2D", K_SEPCONV, "conv2d", "separable_conv2d", SEP_KARGS, "", 3,
     "SeparableConvolution2D"},
    {"Conv1DTranspose", K_CONVT, "conv1d_transpose", "conv1d_transpose", CT_KARGS, "", 2,
     "Convolution1DTranspose"},
    {"Conv2DTranspose", K_CONVT, "conv2d_transpose", "conv2d_transpose", CT_KARGS, "", 3,
     "Convolution2DTranspose"},
    {"RandomFlip", K_AUG, "random_flip", "random_flip", "mode seed", "", 3, NULL},
    {"RandomRotation", K_AUG, "random_rotation", "random_rotation",
     "factor fill_mode interpolation seed fill_value", "value_range", 3, NULL},
    {"RandomZoom", K_AUG, "random_zoom", "random_zoom",
     "height_factor width_factor fill_mode interpolation seed fill_value", "value_range", 3, NULL},
    {"RandomTranslation", K_AUG, "random_translation", "random_translation",
     "height_factor width_factor fill_mode interpolation seed fill_value", "value_range", 3, NULL},
    {"RandomContrast", K_AUG, "random_contrast", "random_contrast", "factor seed", "value_range", 3,
     NULL},
    {"RandomBrightness", K_IDENTITY, "identity", "random_brightness", "factor value_range seed", "",
     0, NULL},
    {"GaussianNoise", K_NOISE, "gaussian_noise", "gaussian_noise", "stddev seed", "", 0, NULL},
    {"GaussianDropout", K_NOISE, "gaussian_dropout", "gaussian_dropout", "rate seed", "", 0, NULL},
    {"AlphaDropout", K_IDENTITY, "identity", "alpha_dropout", "rate noise_shape seed", "", 0, NULL},
    {"SpatialDropout1D", K_NOISE, "spatial_dropout1d", "spatial_dropout1d", "rate seed", "", 2,
     NULL},
    {"SpatialDropout2D", K_NOISE, "spatial_dropout2d", "spatial_dropout2d", "rate data_format seed",
     "", 3, NULL},
    {"Rescaling", K_RESCALING, "rescaling", "rescaling", "scale offset", "", 0, NULL},
    {"Normalization", K_NORM, "normalization", "normalization", "axis mean variance invert", "", 0,
     NULL},
    {"ActivityRegularization", K_ACTREG, "identity", "activity_regularization", "l1 l2", "", 0,
     NULL},
    {"InputLayer", K_INPUTLAYER, NULL, "input_layer",
     "input_shape batch_size dtype input_tensor sparse",
     "shape batch_shape batch_input_shape ragged", 0, NULL},

};
const int kr_nclasses = (int)(sizeof kr_classes / sizeof kr_classes[0]);

/* Keywords every layer takes. */
static const char *const common_keys =
    "name dtype trainable input_shape batch_input_shape batch_shape input_dim input_length "
    "batch_size dim_ordering autocast dynamic";
/* Keywords that cannot change the function or the parameter count: read and ignored. */
#define IGNORED_KEYS                                                                               \
    "kernel_initializer bias_initializer kernel_regularizer bias_regularizer "                     \
    "activity_regularizer kernel_constraint bias_constraint beta_initializer "                     \
    "gamma_initializer moving_mean_initializer moving_variance_initializer beta_regularizer "      \
    "gamma_regularizer beta_constraint gamma_constraint alpha_initializer alpha_regularizer "      \
    "alpha_constraint init W_regularizer b_regularizer W_constraint b_constraint weights "         \
    "depthwise_initializer pointwise_initializer depthwise_regularizer pointwise_regularizer "     \
    "depthwise_constraint pointwise_constraint"
static const char *const ignored_keys = IGNORED_KEYS;
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
        if (!strcmp(kr_classes[i].name, name) ||
            (kr_classes[i].alias && kr_in_list(kr_classes[i].alias, name, strlen(name))))
            return &kr_classes[i];
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
        return kr_fail(c, g->tok, "%s's activation must be a name such as 'relu', got %s", L->cname,
                       kr_src(c, g->tok, g->end, b, sizeof b));
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

/* ------------------------------------------------------------------------------------ */
/* Arguments: a table of rows, each one argument of some classes, what it must be and    */
/* where it goes; a hook only where a row cannot say it                                  */

/* How a row reads its value. */
enum {
    R_INT,     /* an integer in [lo, hi] */
    R_NUM,     /* a number in [lo, hi] */
    R_BOOL,    /* True or False */
    R_PAIR,    /* an integer in [lo, hi], or a tuple of one per spatial dimension */
    R_PADDING, /* 'valid' or 'same' */
    R_CHOICE,  /* one of the strings of text: lo + its index */
    R_TRUE,    /* True or False, and False is refused with text (%s: the key) */
    R_OFF,     /* None or False, else refused with text (%s: the key) */
    R_NONE,    /* None, else refused with text (%s: the key) */
    R_EQ,      /* the number lo, else refused with text (%s: the value as written) */
    R_REG,     /* a regularizer: its factors go to reg_l1[lo] and reg_l2[lo] */
    R_IGNORE,  /* read and ignored: it changes neither the function nor the parameters */
    R_HOOK     /* read by its own function */
};
enum { S_NONE, S_INT, S_FLOAT, S_DOUBLE, S_U64 }; /* the type of the field at off */
#define F_NONE_OK 1                               /* None leaves the default */
#define F_OPEN 2                                  /* hi itself is excluded */
#define F_FLAT0 4                                 /* R_PAIR: a 1-D layer's height is 0 (not 1) */
#define F_1MINUS 8  /* stores 1 - value: Keras weights the old statistics, ordnet the batch */
#define F_NONE_0 16 /* None stores 0 (pooling strides: the pool size) */

typedef int (*khook)(ctx *c, klayer *L, const char *key, const karg *g, const char *what);
typedef struct krow {
    unsigned kinds;   /* the classes it is for, KB(K_...) bits; 0: every class */
    const char *keys; /* its Keras names (Keras 1's too), space-separated; "*": any other */
    int type, flags;
    double lo, hi;    /* the bounds; R_EQ: the value; R_REG: which regularizer */
    int store;        /* S_*: the type of the field at off (and off2) */
    size_t off, off2; /* offsetof(klayer, ...); R_PAIR: the height at off, the width at off2 */
    size_t given;     /* offsetof(klayer, given_...) to or gbits into; 0: none */
    int gbits;
    size_t at;        /* offsetof(klayer, ...) of an int that keeps the argument's token; 0: none */
    const char *text; /* R_CHOICE: the choices; R_TRUE to R_EQ: the refusal */
    khook hook;
} krow;

#define KB(k) (1u << (k))
#define AT(f) offsetof(klayer, f)
#define KCONVS (KB(K_CONV) | KB(K_DENSE) | KB(K_DWCONV) | KB(K_SEPCONV) | KB(K_CONVT))
#define INT(k, key, lo, hi, f)                                                                     \
    { k, key, R_INT, 0, lo, hi, S_INT, AT(f), 0, 0, 0, 0, NULL, NULL }
#define FLOAT(k, key, lo, hi, f)                                                                   \
    { k, key, R_NUM, 0, lo, hi, S_FLOAT, AT(f), 0, 0, 0, 0, NULL, NULL }
#define REFUSE(k, key, type, text)                                                                 \
    { k, key, type, 0, 0, 0, S_NONE, 0, 0, 0, 0, 0, text, NULL }
#define HOOK(k, key, fn)                                                                           \
    { k, key, R_HOOK, 0, 0, 0, S_NONE, 0, 0, 0, 0, 0, NULL, fn }
#define IGNORE(k, key)                                                                             \
    { k, key, R_IGNORE, 0, 0, 0, S_NONE, 0, 0, 0, 0, 0, NULL, NULL }
#define REG(k, key, i)                                                                             \
    { k, key, R_REG, 0, i, 0, S_NONE, 0, 0, 0, 0, 0, NULL, NULL }
#define SEED(k)                                                                                    \
    { k, "seed", R_INT, F_NONE_OK, 0, 2147483647, S_U64, AT(a.seed), 0, 0, 0, 0, NULL, NULL }

static int h_name(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    (void)key;
    if (v->kind == V_NONE) return 0;
    if (v->kind != V_STR || !v->s[0] || strlen(v->s) >= ON_NAME_MAX)
        return kr_arg_err(c, g, what, "a string of 1 to 63 characters");
    snprintf(L->name, sizeof L->name, "%s", v->s);
    return 0;
}

static int h_dtype(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    (void)L, (void)key, (void)what;
    return kr_check_dtype(c, g);
}

/* trainable=False: the layer's parameters are frozen (counted non-trainable, never updated). */
static int h_trainable(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    int t;
    (void)key;
    if (kr_want_bool(c, g, what, &t)) return -1;
    L->a.frozen = !t;
    return 0;
}

static int h_layout(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    const char *s = v->kind == V_STR ? v->s : "";
    int first = !strcmp(s, "channels_first") || !strcmp(s, "th");
    char w[32];
    (void)L;
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

/* Embedding's input_length: the sequence, its input shape. */
static int h_emb_length(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    int t;
    (void)key;
    if (g->v.kind == V_NONE) return 0;
    if (kr_want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
    L->has_input = L->input_known = 1;
    L->input_tok = g->tok;
    L->input = (on_shape){1, t, 1, 1};
    return 0;
}

/* input_shape=, batch_input_shape=, batch_shape=, shape= and Keras 1's input_dim=. */
static int h_input(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    int t;
    L->has_input = 1;
    L->input_tok = g->tok;
    if (strcmp(key, "input_dim"))
        return kr_read_shape(c, g, !strcmp(key, "batch_input_shape") || !strcmp(key, "batch_shape"),
                             &L->input, &L->input_known);
    if (kr_want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
    L->input = L->in_len ? (on_shape){2, t, 1, L->in_len} : (on_shape){1, t, 1, 1};
    L->input_known = 1;
    return 0;
}

/* Keras 1: (input_length, input_dim) is the input shape. */
static int h_length(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    (void)key;
    if (g->v.kind == V_NONE) return 0;
    if (kr_want_int(c, g, what, 1, MAX_DIM, &L->in_len)) return -1;
    L->in_len_tok = g->tok;
    if (L->has_input && L->input_known && L->input.rank == 1)
        L->input = (on_shape){2, L->input.c, 1, L->in_len};
    return 0;
}

static int h_activation(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    (void)key, (void)what;
    return set_activation(c, L, g, L->cls->kind == K_ACTIVATION);
}

/* Keras 1's Embedding(dropout=): whole words dropped in training; no weights. */
static int h_emb_dropout(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    double d;
    (void)L, (void)key;
    if (g->v.kind == V_NUM && g->v.num == 0) return 0;
    if (kr_want_num(c, g, what, 0, 1, 1, &d)) return -1;
    kr_note_identity(c, "embedding dropout");
    return 0;
}

/* weights=[...]: initial values, which ordnet does not load (the model's notes say so). */
static int h_weights(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    (void)key, (void)what;
    if (g->v.kind == V_NONE || ((g->v.kind == V_LIST || g->v.kind == V_TUPLE) && !g->v.n)) return 0;
    if (!c->weights_tok) c->weights_tok = g->tok;
    (void)L;
    return 0;
}

static int h_shared_axes(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    (void)key;
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

/* padding / cropping: n, (a, b), or ((top, bottom), (left, right)) for images */
static int h_pad(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    int r = L->cls->rank, amt[4] = {0, 0, 0, 0};
    const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : NULL;
    int n = it ? v->n : 0, ok = 1;
    char want[96];
    (void)key;
    snprintf(want, sizeof want, "%s",
             r == 3 ? "n, (rows, cols) or ((top, bottom), (left, right))" : "n or (left, right)");
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
               it[0].n == 2 && (it[1].kind == V_TUPLE || it[1].kind == V_LIST) && it[1].n == 2) {
        const kval *q[4] = {&it[0].items[0], &it[0].items[1], &it[1].items[0], &it[1].items[1]};
        for (int k = 0; k < 4; k++) {
            ok = ok && kr_num_like(q[k]) && q[k]->is_int && q[k]->num >= 0 && q[k]->num <= 65536;
            amt[k] = ok ? (int)q[k]->num : 0;
        }
    } else
        ok = 0;
    if (!ok) return kr_arg_err(c, g, what, want);
    memcpy(L->a.pad, amt, sizeof amt);
    return 0;
}

static int h_target_shape(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : v;
    int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 1, dd[3];
    (void)key;
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

/* Permute(dims): Keras's 1-based axes of the sample, kept as written until the input's rank
 * is known (apply.c turns them into ordnet's channels-first perm). */
static int h_dims(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 0, seen = 0;
    (void)key;
    if (n < 1 || n > 3) return kr_arg_err(c, g, what, "a permutation such as (2, 1)");
    for (int k = 0; k < n; k++) {
        const kval *x = &v->items[k];
        if (!kr_num_like(x) || !x->is_int || x->num < 1 || x->num > n || seen & (1 << (int)x->num))
            return kr_arg_err(c, g, what, "a permutation of 1 to n such as (2, 1)");
        seen |= 1 << (int)x->num;
        L->kperm[k] = (int)x->num;
    }
    L->nperm = n;
    L->given_units = 1;
    return 0;
}

static int h_ln_axis(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    (void)key;
    if (g->v.kind == V_TUPLE || g->v.kind == V_LIST)
        return kr_fail(c, g->tok,
                       "LayerNormalization over several axes is not supported (one axis)");
    return kr_want_int(c, g, what, -4, 4, &L->axis);
}

/* A Keras factor: f alone is (-f, f), or (f, f) for RandomContrast's factor (1 - f to 1 + f);
 * a tuple (lo, hi) is itself. height_factor and factor go to range[0..1], width_factor to
 * range[2..3]; RandomZoom's width_factor=None (its default) zooms the width as the height. */
static int h_factor(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    int zoom = !strcmp(L->op->name, "random_zoom"), w = !strcmp(key, "width_factor");
    int same = !strcmp(L->op->name, "random_contrast");
    float *r = L->a.range + (w ? 2 : 0);
    if (w && zoom) L->a.mode = v->kind != V_NONE;
    if (w && zoom && v->kind == V_NONE) return 0;
    if (kr_num_like(v) && fabs(v->num) <= 1e6) {
        r[0] = (float)(same ? v->num : -v->num), r[1] = (float)v->num;
    } else if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->n == 2 &&
               kr_num_like(&v->items[0]) && kr_num_like(&v->items[1]) &&
               fabs(v->items[0].num) <= 1e6 && fabs(v->items[1].num) <= 1e6) {
        r[0] = (float)v->items[0].num, r[1] = (float)v->items[1].num;
    } else
        return kr_arg_err(c, g, what, "a number or a tuple (lower, upper)");
    if (w)
        L->given_kernel = 1;
    else
        L->given_units = 1;
    return 0;
}

/* RandomContrast's value_range: the clip, None for none. */
static int h_value_range(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    (void)key;
    if (strcmp(L->op->name, "random_contrast")) return 0; /* the others do not clip */
    if (v->kind == V_NONE) return L->a.lo = -INFINITY, L->a.hi = INFINITY, 0;
    if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->n == 2 && kr_num_like(&v->items[0]) &&
        kr_num_like(&v->items[1]) && v->items[0].num <= v->items[1].num) {
        L->a.lo = (float)v->items[0].num, L->a.hi = (float)v->items[1].num;
        return 0;
    }
    return kr_arg_err(c, g, what, "None or a tuple (low, high) such as (0, 255)");
}

/* Normalization's mean= / variance=: a number or one a channel (checked when applied). */
static int h_stat(ctx *c, klayer *L, const char *key, const karg *g, const char *what) {
    const kval *v = &g->v;
    int var = !strcmp(key, "variance");
    const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : v;
    int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 1;
    if (v->kind == V_NONE) return 0;
    float *f = n > 0 ? kr_cx_alloc(c, sizeof *f * (size_t)n) : NULL;
    if (n > 0 && !f) return kr_oom(c, g->tok);
    for (int i = 0; i < n; i++) {
        if (!kr_num_like(&it[i]) || !isfinite(it[i].num) || (var && it[i].num < 0))
            return kr_arg_err(c, g, what,
                              var ? "a number >= 0 or a list of them, one a channel"
                                  : "a number or a list of numbers, one a channel");
        f[i] = (float)it[i].num;
    }
    if (!n) return kr_arg_err(c, g, what, "a number or a list of numbers, one a channel");
    if (var)
        L->nvar = f, L->nvar_n = n;
    else
        L->nmean = f, L->nmean_n = n;
    return 0;
}

static const char *const bn_false =
    "%s=False is not supported: ordnet's batch normalization always learns a scale (gamma) and a "
    "shift (beta)";
static const char *const ln_false =
    "%s=False is not supported: ordnet's layer normalization learns a scale and a shift";

/* The rows, searched in order: the first whose classes and key match reads the argument. */
static const krow rows[] = {
    HOOK(0, "name", h_name),
    HOOK(0, "dtype", h_dtype),
    HOOK(0, "trainable", h_trainable),
    HOOK(0, "data_format dim_ordering", h_layout),
    {KB(K_EMBEDDING), "input_dim", R_INT, 0, 1, MAX_DIM, S_INT, AT(a.vocab), 0, AT(given_kernel), 1,
     0, NULL, NULL}, /* the vocabulary, not a shape */
    HOOK(KB(K_EMBEDDING), "input_length", h_emb_length),
    HOOK(0, "input_shape batch_input_shape batch_shape input_dim shape", h_input),
    HOOK(0, "input_length", h_length),
    REG(0, "kernel_regularizer W_regularizer", 0),
    REG(0, "bias_regularizer b_regularizer", 1),
    REG(0, "activity_regularizer", 2),
    REG(KB(K_EMBEDDING), "embeddings_regularizer", 0),
    REG(KB(K_DWCONV), "depthwise_regularizer", 0),
    HOOK(0, "weights", h_weights),
    IGNORE(0, "batch_size autocast dynamic"),
    IGNORE(0, IGNORED_KEYS),
    IGNORE(KB(K_IDENTITY), "*"), /* augmentation and noise: nothing at inference */
    INT(KB(K_MERGE), "axis", -4, 4, axis),
    {KB(K_EMBEDDING), "output_dim", R_INT, 0, 1, MAX_DIM, S_INT, AT(a.units), 0, AT(given_units), 1,
     0, NULL, NULL},
    REFUSE(KB(K_EMBEDDING), "mask_zero", R_OFF,
           "mask_zero=True is not supported: ordnet's layers do not carry masks"),
    HOOK(KB(K_EMBEDDING), "dropout", h_emb_dropout),
    REFUSE(KB(K_EMBEDDING), "lora_rank", R_NONE, "Embedding's lora_rank is not supported"),
    IGNORE(KB(K_EMBEDDING), "*"), /* initializers, constraints */
    {KB(K_UPSAMPLE), "size", R_PAIR, 0, 1, 4096, S_FLOAT, AT(a.scale_h), AT(a.scale_w), 0, 0, 0,
     NULL, NULL},
    {KB(K_UPSAMPLE), "interpolation", R_CHOICE, 0, 0, 0, S_INT, AT(a.mode), 0, 0, 0, 0,
     "nearest bilinear", NULL},
    HOOK(KB(K_PAD), "*", h_pad),
    HOOK(KB(K_RESHAPE), "target_shape", h_target_shape),
    HOOK(KB(K_LAYERNORM), "axis", h_ln_axis),
    FLOAT(KB(K_LAYERNORM), "epsilon", 1e-30, 1e30, a.eps),
    REFUSE(KB(K_LAYERNORM), "center scale", R_TRUE, ln_false),
    REFUSE(KB(K_LAYERNORM), "rms_scaling", R_OFF, "rms_scaling=True is not supported"),
    IGNORE(KB(K_LAYERNORM), "*"),
    HOOK(KB(K_PERMUTE), "dims", h_dims),
    {KB(K_AUG), "mode", R_CHOICE, 0, ON_FLIP_HORIZONTAL, 0, S_INT, AT(a.mode), 0, 0, 0, 0,
     "horizontal vertical horizontal_and_vertical", NULL},
    HOOK(KB(K_AUG), "factor height_factor width_factor", h_factor),
    {KB(K_AUG), "fill_mode", R_CHOICE, 0, 0, 0, S_INT, AT(a.fill), 0, 0, 0, 0,
     "reflect wrap constant nearest", NULL},
    {KB(K_AUG), "interpolation", R_CHOICE, 0, 0, 0, S_INT, AT(a.interp), 0, 0, 0, 0,
     "nearest bilinear", NULL},
    FLOAT(KB(K_AUG), "fill_value", -1e30, 1e30, a.offset),
    HOOK(KB(K_AUG), "value_range", h_value_range),
    {KB(K_NORM), "axis", R_EQ, 0, -1, 0, S_NONE, 0, 0, 0, 0, 0,
     "Normalization over axis %s is not supported (only the channels, axis=-1)", NULL},
    HOOK(KB(K_NORM), "mean variance", h_stat),
    {KB(K_NORM), "invert", R_BOOL, 0, 0, 0, S_INT, AT(a.mode), 0, 0, 0, 0, NULL, NULL},
    FLOAT(KB(K_ACTREG), "l1", 0, 1e30, a.reg_l1[2]),
    FLOAT(KB(K_ACTREG), "l2", 0, 1e30, a.reg_l2[2]),
    {KB(K_NOISE) | KB(K_DROPOUT), "rate", R_NUM, F_OPEN, 0, 1, S_FLOAT, AT(a.rate), 0,
     AT(given_rate), 1, 0, NULL, NULL},
    {KB(K_NOISE), "stddev", R_NUM, 0, 0, 1e30, S_FLOAT, AT(a.stddev), 0, AT(given_rate), 1, 0, NULL,
     NULL},
    SEED(KB(K_NOISE) | KB(K_DROPOUT) | KB(K_AUG)),
    {KB(K_RESCALING), "scale", R_NUM, 0, -1e30, 1e30, S_FLOAT, AT(a.scale), 0, AT(given_units), 1,
     0, NULL, NULL},
    FLOAT(KB(K_RESCALING), "offset", -1e30, 1e30, a.offset),
    INT(KB(K_DWCONV) | KB(K_SEPCONV), "depth_multiplier", 1, 4096, depth_mult),
    {KB(K_CONVT), "output_padding", R_PAIR, F_NONE_OK | F_FLAT0, 0, MAX_WINDOW, S_INT,
     AT(a.opad[0]), AT(a.opad[1]), 0, 0, 0, NULL, NULL},
    {KCONVS, "filters units", R_INT, 0, 1, MAX_DIM, S_INT, AT(a.units), 0, AT(given_units), 1, 0,
     NULL, NULL},
    {KCONVS, "kernel_size", R_PAIR, 0, 1, MAX_WINDOW, S_INT, AT(a.kh), AT(a.kw), AT(given_kernel),
     1, 0, NULL, NULL},
    {KCONVS, "nb_row", R_INT, 0, 1, MAX_WINDOW, S_INT, AT(a.kh), 0, AT(given_kernel), 2, 0, NULL,
     NULL}, /* Keras 1 */
    {KCONVS, "nb_col", R_INT, 0, 1, MAX_WINDOW, S_INT, AT(a.kw), 0, AT(given_kernel), 4, 0, NULL,
     NULL},
    {KCONVS, "strides", R_PAIR, 0, 1, MAX_DIM, S_INT, AT(a.sh), AT(a.sw), 0, 0, 0, NULL, NULL},
    {KCONVS, "dilation_rate", R_PAIR, 0, 1, MAX_WINDOW, S_INT, AT(a.dh), AT(a.dw), 0, 0, 0, NULL,
     NULL},
    {KCONVS | KB(K_POOL), "padding", R_PADDING, 0, 0, 0, S_INT, AT(a.pad_mode), 0, 0, 0, 0, NULL,
     NULL},
    {KCONVS, "use_bias", R_BOOL, 0, 0, 0, S_INT, AT(a.bias), 0, 0, 0, 0, NULL, NULL},
    HOOK(KCONVS | KB(K_ACTIVATION), "activation", h_activation),
    INT(KCONVS, "groups", 1, MAX_DIM, a.groups),
    INT(KB(K_BN), "axis", -4, 4, axis),
    {KB(K_BN), "momentum", R_NUM, F_1MINUS, 0, 1, S_FLOAT, AT(a.momentum), 0, 0, 0, 0, NULL, NULL},
    FLOAT(KB(K_BN), "epsilon", 1e-30, 1e30, a.eps),
    REFUSE(KB(K_BN), "center scale", R_TRUE, bn_false),
    REFUSE(KB(K_BN), "renorm renorm_clipping virtual_batch_size adjustment", R_OFF,
           "BatchNormalization's %s is not supported"),
    {KB(K_BN), "mode", R_EQ, 0, 0, 0, S_NONE, 0, 0, 0, 0, 0,
     "BatchNormalization's mode=%s (Keras 1) is not supported", NULL},
    IGNORE(KB(K_BN), "renorm_momentum fused synchronized"),
    {KB(K_RELU), "max_value", R_NUM, F_NONE_OK, 0, 1e30, S_DOUBLE, AT(max_value), 0, 0, 0,
     AT(max_tok), NULL, NULL},
    {KB(K_RELU), "negative_slope", R_NUM, 0, 0, 1e30, S_DOUBLE, AT(neg_slope), 0, 0, 0, 0, NULL,
     NULL},
    REFUSE(KB(K_RELU), "threshold", R_EQ,
           "ReLU's threshold must be 0 (ordnet has no thresholded ReLU)"),
    FLOAT(KB(K_LEAKY) | KB(K_ELU), "alpha negative_slope", -1e30, 1e30, a.alpha),
    HOOK(KB(K_PRELU), "shared_axes", h_shared_axes),
    {KB(K_SOFTMAX), "axis", R_EQ, 0, -1, 0, S_NONE, 0, 0, 0, 0, 0,
     "Softmax over axis %s is not supported (only the last axis, -1)", NULL},
    {KB(K_POOL), "pool_size", R_PAIR, 0, 1, MAX_WINDOW, S_INT, AT(a.kh), AT(a.kw), 0, 0, 0, NULL,
     NULL},
    {KB(K_POOL), "strides", R_PAIR, F_NONE_0, 1, MAX_DIM, S_INT, AT(a.sh), AT(a.sw), 0, 0, 0, NULL,
     NULL},
    REFUSE(KB(K_GAP), "keepdims", R_OFF,
           "keepdims=True is not supported: ordnet's global pooling gives a flat (None, channels) "
           "output"),
    REFUSE(KB(K_DROPOUT), "noise_shape", R_NONE,
           "Dropout's noise_shape is not supported (ordnet drops single values)"),
    REFUSE(KB(K_INPUTLAYER), "input_tensor sparse ragged", R_OFF,
           "InputLayer's %s is not supported"),
};

static int key_in(const char *keys, const char *key) {
    return !strcmp(keys, "*") || kr_in_list(keys, key, strlen(key));
}

static void put(klayer *L, size_t off, int store, double d) {
    char *p = (char *)L + off;
    if (store == S_INT) *(int *)(void *)p = (int)d;
    if (store == S_FLOAT) *(float *)(void *)p = (float)d;
    if (store == S_DOUBLE) *(double *)(void *)p = d;
    if (store == S_U64) *(uint64_t *)(void *)p = (uint64_t)d;
}

/* kernel_regularizer=l2(0.01) and friends (i: 0 the kernel, 1 the bias, 2 the output). The
 * strings 'l1' and 'l2' are Keras's default factor, 0.01. */
static int read_reg(ctx *c, klayer *L, int i, const karg *g, const char *what) {
    const kval *v = &g->v;
    if (v->kind == V_NONE) return 0;
    if (v->kind == V_STR && (!strcmp(v->s, "l1") || !strcmp(v->s, "l2"))) {
        (v->s[1] == '1' ? L->a.reg_l1 : L->a.reg_l2)[i] = 0.01f;
        return 0;
    }
    if (v->kind == V_STR && (!strcmp(v->s, "l1_l2") || !strcmp(v->s, "l1l2")))
        return kr_fail(c, g->tok,
                       "%s='%s': Keras 2 and Keras 3 give it different factors (0.01 and 0); write "
                       "them, e.g. regularizers.l1_l2(l1=0.01, l2=0.01)",
                       what, v->s);
    if (v->kind == V_OPAQUE || v->kind == V_PATH) { /* a function or value of the program */
        if (!c->reg_tok) c->reg_tok = g->tok;
        return 0;
    }
    if (v->kind != V_REG)
        return kr_arg_err(c, g, what,
                          "a regularizer such as regularizers.l2(0.01), l1(...), "
                          "l1_l2(l1=..., l2=...), 'l1' or 'l2'");
    L->a.reg_l1[i] = (float)v->num;
    L->a.reg_l2[i] = (float)v->num2;
    return 0;
}

/* One argument of a layer, by its Keras name. */
static int set_arg(ctx *c, klayer *L, const char *key, const karg *g) {
    const kclass *k = L->cls;
    const kval *v = &g->v;
    const krow *r = rows;
    const krow *end = rows + sizeof rows / sizeof rows[0];
    char what[96], b[64];
    double d = 0;
    int t = 0, h = 0, w = 0;
    snprintf(what, sizeof what, "%s's %s", L->cname, key);
    while (r < end && !((!r->kinds || r->kinds & KB(k->kind)) && key_in(r->keys, key))) r++;
    if (r == end)
        return kr_fail(c, g->key >= 0 ? g->key : g->tok, "%s: argument '%s' is not supported",
                       L->cname, key);
    if (r->type == R_HOOK) return r->hook(c, L, key, g, what);
    if (v->kind == V_NONE && r->flags & F_NONE_0) {
        put(L, r->off, r->store, 0), put(L, r->off2, r->store, 0);
        return 0;
    }
    if (v->kind == V_NONE && r->flags & F_NONE_OK) return 0;
    switch (r->type) {
    case R_INT:
        if (kr_want_int(c, g, what, (int)r->lo, (int)r->hi, &t)) return -1;
        d = t;
        break;
    case R_NUM:
        if (kr_want_num(c, g, what, r->lo, r->hi, r->flags & F_OPEN, &d)) return -1;
        if (r->flags & F_1MINUS) d = 1.0 - d;
        break;
    case R_BOOL:
        if (kr_want_bool(c, g, what, &t)) return -1;
        d = t;
        break;
    case R_PAIR:
        if (kr_want_pair(c, g, what, k->rank, (int)r->lo, (int)r->hi, &h, &w)) return -1;
        if (r->flags & F_FLAT0 && k->rank != 3) h = 0;
        put(L, r->off2, r->store, w);
        d = h;
        break;
    case R_PADDING:
        if (kr_want_padding(c, g, what, &t)) return -1;
        d = t;
        break;
    case R_CHOICE: {
        char word[32], want[128];
        size_t o = 0;
        want[0] = 0;
        for (int i = 0; kr_nth_word(r->text, i, word, sizeof word); i++) {
            if (v->kind == V_STR && !strcmp(v->s, word)) {
                put(L, r->off, r->store, r->lo + i);
                return 0;
            }
            if (o < sizeof want)
                o += (size_t)snprintf(want + o, sizeof want - o, "%s'%s'",
                                      !i                                         ? ""
                                      : kr_nth_word(r->text, i + 1, b, sizeof b) ? ", "
                                                                                 : " or ",
                                      word);
        }
        return kr_arg_err(c, g, what, want);
    }
    case R_TRUE:
        if (kr_want_bool(c, g, what, &t)) return -1;
        if (!t) return kr_fail(c, g->tok, r->text, key);
        return 0;
    case R_OFF:
        if (kr_is_none_or(v, 0)) return 0;
        return kr_fail(c, g->tok, r->text, key);
    case R_NONE:
        if (v->kind == V_NONE) return 0;
        return kr_fail(c, g->tok, r->text, key);
    case R_EQ:
        if (v->kind == V_NUM && v->num == r->lo) return 0;
        return kr_fail(c, g->tok, r->text, kr_src(c, g->tok, g->end, b, sizeof b));
    case R_REG:
        return read_reg(c, L, (int)r->lo, g, what);
    default: /* R_IGNORE */
        return 0;
    }
    if (r->store) put(L, r->off, r->store, d);
    if (r->given) *(int *)(void *)((char *)L + r->given) |= r->gbits;
    if (r->at) *(int *)(void *)((char *)L + r->at) = g->tok;
    return 0;
}
/* Arguments a class cannot do without, in the order they are asked for: the first one missing
 * is refused (its message gets the class's name twice, then the filters). */
#define KCONVK (KB(K_CONV) | KB(K_SEPCONV) | KB(K_CONVT))
static const struct {
    unsigned kinds;
    size_t given; /* offsetof(klayer, given_...): 0 when the argument is missing */
    const char *msg;
} needs[] = {
    {KB(K_DWCONV), AT(given_kernel), "%s needs kernel_size, e.g. %s(3)"},
    {KCONVK, AT(given_units), "%s needs filters, the number of output channels, e.g. %s(32, 3)"},
    {KCONVK, AT(given_kernel), "%s needs kernel_size, e.g. %s(%d, 3)"},
    {KB(K_DENSE), AT(given_units), "Dense needs units, the number of outputs, e.g. Dense(10)"},
    {KB(K_ACTIVATION), AT(given_act), "Activation needs a name, e.g. Activation('relu')"},
    {KB(K_EMBEDDING), AT(given_kernel),
     "Embedding needs input_dim (the vocabulary) and output_dim, e.g. Embedding(10000, 128)"},
    {KB(K_EMBEDDING), AT(given_units),
     "Embedding needs input_dim (the vocabulary) and output_dim, e.g. Embedding(10000, 128)"},
    {KB(K_RESHAPE), AT(given_units), "Reshape needs target_shape, e.g. Reshape((7, 7, 128))"},
    {KB(K_RESCALING), AT(given_units), "Rescaling needs a scale, e.g. Rescaling(1.0 / 255)"},
    {KB(K_PERMUTE), AT(given_units), "Permute needs dims, e.g. Permute((2, 1))"},
    {KB(K_DROPOUT), AT(given_rate), "Dropout needs rate, the fraction dropped, e.g. Dropout(0.2)"},
};

int kr_do_layer(ctx *c, const kclass *k, int ft, const kargs *A, kval *out) {
    char list[512], sg[64];
    klayer *L = kr_cx_alloc(c, sizeof *L);
    if (!L) return kr_oom(c, ft);
    L->cls = k;
    L->tok = ft;
    snprintf(L->cname, sizeof L->cname, "%.*s", c->t[ft].len < 47 ? c->t[ft].len : 47,
             c->text + c->t[ft].off);
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
    if (k->kind == K_PAD && !strncmp(L->cname, "Zero", 4)) /* ZeroPadding's default: 1 */
        L->a.pad[0] = L->a.pad[1] = k->rank == 3, L->a.pad[2] = L->a.pad[3] = 1;
    if (k->kind == K_PAD && !strcmp(L->cname, "Cropping1D")) L->a.pad[2] = L->a.pad[3] = 1;
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
    if (k->kind == K_CONV && k->rank == 3 && !strcmp(L->cname, "Convolution2D") && npos >= 3 &&
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
                       L->cname, b1, b2, b1, b2, b2);
    }
    char keys[24][40];
    int nkeys = 0;
    npos = 0;
    for (int i = 0; i < A->n; i++) {
        const karg *g = &A->a[i];
        char key[40];
        if (g->key < 0) {
            if (!kr_nth_word(args, npos, key, sizeof key))
                return kr_fail(c, g->tok, "%s takes at most %d positional arguments (%s)", L->cname,
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
                return kr_fail(c, g->key, "%s has no argument '%s'%s (it takes: %s)", L->cname, key,
                               kr_suggest(key, all, common_keys, sg, sizeof sg),
                               *k->args ? kr_commas(k->args, list, sizeof list) : "name");
            }
        }
        for (int j = 0; j < nkeys; j++)
            if (!strcmp(keys[j], key))
                return kr_fail(c, g->key >= 0 ? g->key : g->tok, "%s got '%s' twice", L->cname,
                               key);
        if (nkeys < 24) snprintf(keys[nkeys++], sizeof keys[0], "%s", key);
        if (set_arg(c, L, key, g)) return -1;
    }
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (needs[i].kinds & KB(k->kind) &&
            !*(const int *)(const void *)((char *)L + needs[i].given))
            return kr_fail(c, ft, needs[i].msg, L->cname, L->cname, L->a.units);
    switch (k->kind) {
    case K_CONV:
    case K_SEPCONV:
    case K_CONVT:
        if (L->given_kernel & 6 && (L->given_kernel & 6) != 6)
            return kr_fail(c, ft, "%s needs both nb_row and nb_col (Keras 1), e.g. %s(%d, 3, 3)",
                           L->cname, L->cname, L->a.units);
        if ((L->a.sh > 1 || L->a.sw > 1) && (L->a.dh > 1 || L->a.dw > 1))
            return kr_fail(
                c, ft,
                "%s: strides > 1 together with dilation_rate > 1 is not supported (nor in Keras)",
                L->cname);
        break;
    case K_AUG: /* Keras's factors have no defaults; RandomFlip has none */
        if (strcmp(L->op->name, "random_flip") && !L->given_units)
            return kr_fail(c, ft, "%s needs its %s, e.g. %s(0.1%s)", L->cname,
                           strstr(k->args, "height") ? "height_factor" : "factor", L->cname,
                           strcmp(L->op->name, "random_translation") ? "" : ", 0.1");
        if (!strcmp(L->op->name, "random_translation") && !L->given_kernel)
            return kr_fail(c, ft, "RandomTranslation needs its width_factor, e.g. %s(0.1, 0.1)",
                           L->cname);
        break;
    case K_NOISE:
        if (!L->given_rate)
            return kr_fail(c, ft, "%s needs its %s, e.g. %s(0.1)", L->cname,
                           strstr(L->cname, "Noise") ? "stddev" : "rate", L->cname);
        break;
    case K_RELU:
        if (L->max_tok >= 0 && L->neg_slope > 0)
            return kr_fail(c, L->max_tok,
                           "ReLU with both max_value and negative_slope is not supported");
        on_attrs kept = L->a; /* trainable=, activity_regularizer= */
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
        L->a.frozen = kept.frozen;
        memcpy(L->a.reg_l1, kept.reg_l1, sizeof kept.reg_l1);
        memcpy(L->a.reg_l2, kept.reg_l2, sizeof kept.reg_l2);
        break;
    default:
        break;
    }
    *out = kr_mk(V_LAYER, ft);
    out->layer = L;
    return 0;
}
