/* keras.c - reads Keras model code: the functional API, Sequential([...]) and model.add(...).
 *
 * The text is tokenized as Python (comments, strings, line continuations) and run by a small
 * evaluator that knows what model files contain: imports (remembered as module paths),
 * constants and simple arithmetic, tuples and lists, Keras layer classes with Keras's
 * argument names and defaults, Input, Sequential, Model, model.add, functions defined with
 * def, and calls it can pass over (compile, fit, summary, print, optimizers, data loading).
 * A value it does not compute is "opaque": harmless until the model needs it, which is then
 * an error that says where it came from. Every error is FILE:LINE:COL: message.
 *
 * Layers are applied as they are met, so a shape error points at the layer's own line. The
 * functional graph is one on_model, created from the first Input a layer is applied to; each
 * Sequential has its own. At the end the last model defined is taken; a functional one is
 * rebuilt with only the layers that lead to its output.
 *
 * Keras -> ordnet: channels-last shapes become channels first; BatchNormalization's momentum
 * (Keras weights the running statistics, ordnet the new batch) becomes 1 - momentum; average
 * pooling leaves the padding out of the divisor; activation= becomes a layer of its own;
 * softmax on the output is folded into the loss. Limits: MAX_DEPTH nesting, MAX_CALLS calls
 * of the file's functions, sizes and parameter counts checked in double before any use.
 */
#include "keras.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64            /* open brackets */
#define MAX_DEPTH 200          /* expression nesting, all calls together */
#define MAX_CALLS 16           /* calls of the file's own functions, nested */
#define MAX_DIM 1000000        /* input dimensions, filters, units, strides */
#define MAX_WINDOW 4096        /* kernel and pool sizes, dilation */
#define MAX_ITEMS 100000       /* items of one tuple or list made by arithmetic */
#define MAX_TEXT (1 << 20)     /* bytes of code */
#define MAX_VARS 10000         /* distinct variables in one scope */
#define MAX_LAYERS 10000       /* nodes of one model */
#define MAX_STEPS 100000       /* statements run, all loops and calls together */
#define MAX_ITER 100000        /* iterations of one loop */
#define MAX_STR 65536          /* bytes of a string made by arithmetic or formatting */
#define MAX_ALLOC (256u << 20) /* bytes of values the evaluator may allocate */

/* ------------------------------------------------------------------------------------ */
/* Tokens                                                                               */

enum { T_EOF, T_NEWLINE, T_NAME, T_NUM, T_STR, T_OP };

typedef struct tok {
    int type;
    int off, len;  /* bytes of the text */
    int line, col; /* 1-based */
    int indent;    /* column - 1 of the first token of its logical line */
    int first;     /* it starts a logical line */
} tok;

/* ------------------------------------------------------------------------------------ */
/* Keras layer classes                                                                  */

enum {
    K_CONV,
    K_DENSE,
    K_BN,
    K_ACTIVATION,
    K_RELU,
    K_LEAKY,
    K_PRELU,
    K_ELU,
    K_SOFTMAX,
    K_POOL,
    K_GAP,
    K_DROPOUT,
    K_FLATTEN,
    K_MERGE,
    K_INPUTLAYER,
    K_DWCONV,   /* DepthwiseConv1D/2D: a grouped convolution, one group per input channel */
    K_SEPCONV,  /* SeparableConv1D/2D: depthwise, then a 1x1 convolution */
    K_CONVT,    /* Conv1DTranspose/Conv2DTranspose */
    K_IDENTITY, /* layers that are the identity at inference and have no weights */
    K_NOISE,    /* SpatialDropout, GaussianNoise, GaussianDropout */
    K_RESCALING,
    K_EMBEDDING,
    K_UPSAMPLE, /* UpSampling1D/2D */
    K_PAD,      /* ZeroPadding1D/2D, Cropping1D/2D */
    K_RESHAPE,
    K_LAYERNORM,
    K_PERMUTE
};

typedef struct kclass {
    const char *name; /* Keras's class */
    int kind;
    const char *op;    /* ordnet op; NULL: decided by the arguments */
    const char *snake; /* Keras's default layer name */
    const char *args;  /* arguments in Keras's positional order */
    const char *more;  /* further keywords it takes */
    int rank;          /* the input rank it needs, 0: any */
} kclass;

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
static const kclass classes[] = {
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
#define NCLASSES ((int)(sizeof classes / sizeof classes[0]))

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
static const char *const merge_fns = "dot";
/* Classes that are not layers and may be written without a module prefix. */
static const char *const other_classes =
    "Adam AdamW SGD RMSprop Adagrad Adadelta Adamax Nadam Ftrl EarlyStopping ModelCheckpoint "
    "ReduceLROnPlateau TensorBoard LearningRateScheduler CSVLogger History "
    "ImageDataGenerator SparseCategoricalCrossentropy CategoricalCrossentropy "
    "BinaryCrossentropy MeanSquaredError MeanAbsoluteError Accuracy SparseCategoricalAccuracy "
    "CategoricalAccuracy HeNormal HeUniform GlorotUniform GlorotNormal LecunNormal "
    "LecunUniform L1 L2 L1L2 Constant Zeros Ones RandomNormal RandomUniform TruncatedNormal "
    "Orthogonal VarianceScaling ExponentialDecay CosineDecay PiecewiseConstantDecay "
    "MirroredStrategy Path Tokenizer";
/* Module names after which a capitalized name is expected to be a layer. */
static const char *const layer_modules = "layers keras tf tensorflow models kl KL";

/* ------------------------------------------------------------------------------------ */
/* Values                                                                               */

enum {
    V_NONE,
    V_BOOL,
    V_NUM,
    V_STR,
    V_TUPLE,
    V_LIST,
    V_PATH,
    V_OPAQUE,
    V_LAYER,
    V_TENSOR,
    V_SEQ,
    V_MODEL,
    V_FUNC,
    V_METHOD,
    V_RANGE /* range(a, b, s): r0, r1, r2; iterated without being made into a list */
};

typedef struct klayer {
    const kclass *cls;
    const on_op *op; /* NULL: adds no node (softmax, linear) */
    on_attrs a;
    const on_op *act; /* activation=: a node of its own after the layer */
    on_attrs act_a;
    char act_name[16];
    int softmax; /* token of the softmax this layer applies, -1 none */
    char name[ON_NAME_MAX];
    int tok; /* the class name */
    int used;
    int axis;                              /* BatchNormalization */
    int shared;                            /* PReLU shared_axes: bit i for axis i; -1 not given */
    int has_input, input_known, input_tok; /* input_shape= and friends */
    on_shape input;
    int given_units, given_kernel, given_rate, given_act, max_tok;
    int in_len, in_len_tok; /* Keras 1's input_length= (with input_dim=: a 1-D input) */
    int depth_mult;         /* DepthwiseConv, SeparableConv: depth_multiplier */
    double max_value, neg_slope;
} klayer;

typedef struct kinput {
    on_shape shape;
    int known; /* 0: the code's shape was not read (an override replaces it) */
    int tok;
    char name[ON_NAME_MAX];
} kinput;

typedef struct kseq {
    on_model *m;   /* built once the input shape is known */
    klayer **pend; /* layers waiting for it */
    int npend, pcap, nlayers;
    klayer **all; /* every layer, in order (to apply it again inside another model) */
    int nall, acap;
    int inlined;      /* used inside another model: not a model of its own */
    int last_softmax; /* softmax of the last layer, -1 none */
    int tok, touched;
    int has_input, decl_known, decl_tok;
    on_shape decl;
    char in_name[ON_NAME_MAX];
} kseq;

typedef struct kmodel {
    int out, softmax, tok;
} kmodel;

typedef struct kval kval;
typedef struct kfunc {
    int name_tok, nparams;
    int *ptok;      /* parameter names */
    kval *defaults; /* V_NONE with has_default 0 */
    int *has_default;
    int body, body_end;
} kfunc;

struct kval {
    int kind;
    int tok, end; /* tokens of the expression that made it: [tok, end) */
    int last;     /* V_PATH: token of its last name */
    int unbound;  /* V_PATH: its first name is no variable */
    double num;
    int is_int;
    const char *s; /* V_STR text, V_PATH dotted name, V_METHOD method */
    kval *items;   /* V_TUPLE, V_LIST; V_METHOD: items[0] is the object */
    int n;
    klayer *layer;
    kinput *input; /* V_TENSOR: the Input it starts from */
    int node;      /* V_TENSOR: node of the functional graph; -1: the Input itself */
    int softmax;   /* V_TENSOR: token of a softmax applied last, -1 none */
    kseq *seq;
    kmodel *model;
    kfunc *fn;
    long long r0, r1, r2; /* V_RANGE: start, stop, step */
    int var;              /* the variable's token it was read from (list.append), -1 none */
};

typedef struct var {
    int off, len;
    kval v;
} var;

typedef struct karg {
    int key;      /* token of the keyword, -1 positional */
    int tok, end; /* tokens of the value */
    kval v;
} karg;

typedef struct kargs {
    karg *a;
    int n, open;
} kargs;

typedef struct ctx {
    const char *text, *file;
    int tlen;
    const on_shape *override;
    int classes;
    on_error *err;
    tok *t;
    int nt;
    var *vars;
    int nvars, vcap;
    int base[MAX_CALLS + 2], calls;
    int returning;
    kval ret;
    void **blocks;
    int nblocks, bcap;
    /* the functional graph */
    on_model *g;
    kinput *g_in;
    int g_last, g_softmax, g_touched;
    kseq **seqs;
    int nseqs, scap;
    kmodel *model;
    int nmodels, model_touched;
    int serial, depth;
    long steps;               /* statements run so far (MAX_STEPS) */
    int breaking, continuing; /* a break / continue is leaving the loop body */
    int loops;                /* loops open around the running statement */
    int chfirst, chfirst_tok; /* channels-first code (dim_ordering='th', ...): where seen */
    int chfirst_guess;        /* chfirst decided from an input shape such as (3, 32, 32) */
    size_t alloc;             /* bytes given out by cx_alloc */
    int chfirst_decided;      /* an input shape was read: the layout is fixed */
    int keras1;               /* token of the first layer read with Keras 1's arguments, 0 none */
    char ident[200];          /* layers read as the identity at inference, for the note */
    int reshape_tok;          /* a Reshape to channels-last dimensions: noted */
} ctx;

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                        */

static int vfail_lc(ctx *c, int line, int col, const char *fmt, va_list ap) {
    char m[512];
    vsnprintf(m, sizeof m, fmt, ap);
    return on_fail(c->err, "%s:%d:%d: %s", c->file, line, col, m);
}

static int fail_lc(ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_lc(ctx *c, int line, int col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail_lc(c, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at token ti. */
static int fail(ctx *c, int ti, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, int ti, const char *fmt, ...) {
    int line = 1, col = 1;
    if (c->t && ti >= 0 && ti < c->nt) line = c->t[ti].line, col = c->t[ti].col;
    va_list ap;
    va_start(ap, fmt);
    vfail_lc(c, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* "file:line:col" of token ti, for messages that point somewhere else. */
static const char *where(const ctx *c, int ti, char *buf, size_t n) {
    int line = 1, col = 1;
    if (ti >= 0 && ti < c->nt) line = c->t[ti].line, col = c->t[ti].col;
    snprintf(buf, n, "%d:%d", line, col);
    return buf;
}

static void *cx_alloc(ctx *c, size_t n) {
    if (n > MAX_ALLOC || c->alloc > MAX_ALLOC - n) return NULL; /* reported as out of memory */
    if (c->nblocks == c->bcap) {
        int nc = c->bcap ? 2 * c->bcap : 64;
        void **b = realloc(c->blocks, sizeof *b * (size_t)nc);
        if (!b) return NULL;
        c->blocks = b;
        c->bcap = nc;
    }
    void *p = calloc(1, n ? n : 1);
    if (p) c->blocks[c->nblocks++] = p, c->alloc += n;
    return p;
}

static int oom(ctx *c, int ti) {
    if (c->alloc > MAX_ALLOC / 2)
        return fail(c, ti,
                    "the code builds values larger than ordnet's reader allows (%u MiB in all): "
                    "is a loop making a list or string without end?",
                    MAX_ALLOC >> 20);
    return fail(c, ti, "out of memory");
}

/* Is word in the space-separated list? */
static int in_list(const char *list, const char *word, size_t n) {
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len && len == n && !strncmp(p, word, n)) return 1;
        p += len;
    }
    return 0;
}

static int lev(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 40 || nb > 40) return 99;
    int d[41][41];
    for (size_t i = 0; i <= na; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int k = d[i - 1][j - 1] +
                    (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (d[i - 1][j] + 1 < k) k = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < k) k = d[i][j - 1] + 1;
            d[i][j] = k;
        }
    return d[na][nb];
}

/* " (did you mean 'x'?)" for the closest word of the lists, or "". */
static const char *suggest(const char *word, const char *l1, const char *l2, char *buf, size_t n) {
    const char *lists[2] = {l1, l2};
    int best = 3;
    char bw[48] = "";
    for (int k = 0; k < 2; k++)
        for (const char *p = lists[k] ? lists[k] : ""; *p;) {
            while (*p == ' ') p++;
            size_t len = strcspn(p, " ");
            if (len && len < sizeof bw) {
                char w[48];
                memcpy(w, p, len);
                w[len] = 0;
                int d = lev(word, w);
                if (d < best || (d == 0 && strcmp(word, w))) best = d, memcpy(bw, w, len + 1);
            }
            p += len;
        }
    if (!bw[0])
        buf[0] = 0;
    else
        snprintf(buf, n, " (did you mean '%s'?)", bw);
    return buf;
}

/* "a, b, c" from a space-separated list. */
static const char *commas(const char *list, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (const char *p = list; *p && k + 1 < n;) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (len) {
            int w = snprintf(buf + k, n - k, "%s%.*s", k ? ", " : "", (int)len, p);
            if (w < 0 || (size_t)w >= n - k) break;
            k += (size_t)w;
        }
        p += len;
    }
    return buf;
}

static int is_op(const ctx *c, int i, const char *op) {
    const tok *t = &c->t[i];
    return t->type == T_OP && (size_t)t->len == strlen(op) &&
           !memcmp(c->text + t->off, op, (size_t)t->len);
}

static int is_name(const ctx *c, int i, const char *w) {
    const tok *t = &c->t[i];
    return t->type == T_NAME && (size_t)t->len == strlen(w) &&
           !memcmp(c->text + t->off, w, (size_t)t->len);
}

static int end_of_stmt(const ctx *c, int i) {
    return c->t[i].type == T_NEWLINE || c->t[i].type == T_EOF || is_op(c, i, ";");
}

/* The text of token i. */
static const char *ttext(const ctx *c, int i, char *buf, size_t n) {
    const tok *t = &c->t[i];
    if (t->type == T_NEWLINE)
        snprintf(buf, n, "end of line");
    else if (t->type == T_EOF)
        snprintf(buf, n, "end of file");
    else
        snprintf(buf, n, "%.*s", t->len > 40 ? 40 : t->len, c->text + t->off);
    return buf;
}

/* The source text of tokens [a, b) on one line, shortened, for messages. */
static const char *src(const ctx *c, int a, int b, char *buf, size_t n) {
    if (a < 0 || a >= c->nt || b <= a) {
        snprintf(buf, n, "?");
        return buf;
    }
    if (b > c->nt) b = c->nt;
    int s = c->t[a].off, e = c->t[b - 1].off + c->t[b - 1].len;
    size_t k = 0;
    int space = 0;
    for (int i = s; i < e && k + 4 < n; i++) {
        char ch = c->text[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = 1;
            continue;
        }
        if (space && k) buf[k++] = ' ';
        space = 0;
        if (k >= 48) {
            memcpy(buf + k, "...", 3);
            k += 3;
            break;
        }
        buf[k++] = ch;
    }
    buf[k] = 0;
    return buf;
}

static kval mk(int kind, int tok) {
    kval v;
    memset(&v, 0, sizeof v);
    v.kind = kind;
    v.tok = v.last = tok;
    v.end = tok + 1;
    v.node = -1;
    v.softmax = -1;
    v.var = -1;
    return v;
}

static const char *kind_name(const kval *v) {
    switch (v->kind) {
    case V_NONE:
        return "None";
    case V_BOOL:
        return "a boolean";
    case V_NUM:
        return "a number";
    case V_STR:
        return "a string";
    case V_TUPLE:
        return "a tuple";
    case V_LIST:
        return "a list";
    case V_PATH:
        return "a module or function";
    case V_LAYER:
        return "a layer";
    case V_TENSOR:
        return "a layer output";
    case V_SEQ:
        return "a Sequential model";
    case V_MODEL:
        return "a model";
    case V_FUNC:
        return "a function";
    case V_METHOD:
        return "a method";
    case V_RANGE:
        return "a range";
    default:
        return "a value ordnet does not compute";
    }
}

static kval num_val(double d, int is_int, int tok) {
    kval v = mk(V_NUM, tok);
    v.num = d;
    v.is_int = is_int;
    return v;
}

/* A tuple or list of n values. */
static int make_seq(ctx *c, int kind, const kval *it, int n, int tok, kval *out) {
    kval *items = cx_alloc(c, sizeof *items * (size_t)(n ? n : 1));
    if (!items) return oom(c, tok);
    if (n) memcpy(items, it, sizeof *items * (size_t)n);
    *out = mk(kind, tok);
    out->items = items;
    out->n = n;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Shapes and names shared with the other readers                                       */

char *on_keras_shape_str(on_shape s, char *buf, size_t len) {
    if (s.rank == 1)
        snprintf(buf, len, "(None, %d)", s.c);
    else if (s.rank == 2)
        snprintf(buf, len, "(None, %d, %d)", s.w, s.c);
    else
        snprintf(buf, len, "(None, %d, %d, %d)", s.h, s.w, s.c);
    return buf;
}

static int name_used(const on_model *m, const char *nm) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, nm)) return 1;
    return 0;
}

void on_keras_unique_name(const on_model *m, const char *base, char out[ON_NAME_MAX]) {
    snprintf(out, ON_NAME_MAX, "%.*s", ON_NAME_MAX - 12, base);
    if (!name_used(m, out)) return;
    /* start after the names base, base_1, ... already taken: one pass in the usual case */
    size_t bl = strlen(out);
    int k = 0;
    for (int i = 0; i < m->nn; i++) {
        const char *nm = m->nodes[i].name;
        if (strncmp(nm, out, bl)) continue;
        if (!nm[bl])
            k++;
        else if (nm[bl] == '_' && nm[bl + 1] &&
                 strspn(nm + bl + 1, "0123456789") == strlen(nm + bl + 1))
            k++;
    }
    char cand[ON_NAME_MAX];
    for (;; k++) {
        snprintf(cand, sizeof cand, "%s_%d", out, k > 0 ? k : 1);
        if (!name_used(m, cand)) break;
    }
    memcpy(out, cand, ON_NAME_MAX);
}

double on_keras_param_estimate(const on_op *op, const on_attrs *a, on_shape xs) {
    if (!op) return 0;
    double bias = a->bias ? 1 : 0, g = a->groups > 1 ? a->groups : 1;
    if (!strcmp(op->name, "conv1d") || !strcmp(op->name, "conv2d") ||
        !strcmp(op->name, "conv1d_transpose") || !strcmp(op->name, "conv2d_transpose"))
        return ((double)xs.c / g * a->kh * a->kw + bias) * a->units;
    if (!strcmp(op->name, "dense")) return ((double)on_shape_size(xs) + bias) * a->units;
    if (!strcmp(op->name, "batchnorm")) return 4.0 * xs.c;
    if (!strcmp(op->name, "prelu")) return xs.c;
    /* other ops: their own parameter rule, when their shape rule takes xs */
    on_shape ys;
    on_error e;
    on_param_desc d[4];
    if (!op->params || op->ninputs != 1 || !op->shape || op->shape(a, xs, &ys, &e)) return 0;
    double t = 0;
    for (int i = 0, n = op->params(a, xs, ys, d); i < n; i++) t += (double)d[i].size;
    return t;
}

/* ------------------------------------------------------------------------------------ */
/* Tokenizer                                                                            */

/* A string literal from its opening quote at *q; *q ends after the closing quote. Line
 * breaks inside (triple quotes, escaped newlines) advance *line and *ls. */
static int scan_string(ctx *c, int *q, int *line, int *ls, const tok *t) {
    const char *s = c->text;
    int n = c->tlen, i = *q;
    char qc = s[i];
    int triple = s[i + 1] == qc && s[i + 2] == qc;
    i += triple ? 3 : 1;
    for (;;) {
        if (i >= n) return fail_lc(c, t->line, t->col, "unterminated string");
        char sc = s[i];
        if (sc == '\\' && i + 1 < n) {
            if (s[i + 1] == '\r' && s[i + 2] == '\n') i++;
            if (s[i + 1] == '\n') ++*line, *ls = i + 2;
            i += 2;
            continue;
        }
        if (sc == '\n') {
            if (!triple) return fail_lc(c, t->line, t->col, "unterminated string");
            ++*line;
            *ls = i + 1;
        }
        if (sc == qc && (!triple || (s[i + 1] == qc && s[i + 2] == qc))) {
            *q = i + (triple ? 3 : 1);
            return 0;
        }
        i++;
    }
}

static int lex(ctx *c) {
    const char *s = c->text;
    size_t slen = strlen(s);
    if (slen > MAX_TEXT)
        return fail_lc(c, 1, 1, "the text is too long (%zu bytes; at most 1 MiB)", slen);
    int n = c->tlen = (int)slen;
    c->t = cx_alloc(c, sizeof(tok) * ((size_t)n + 3));
    if (!c->t) return fail_lc(c, 1, 1, "out of memory");
    int pos = 0, line = 1, ls = 0, depth = 0, linefirst = 1, indent = 0;
    int open[MAX_NEST];
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) pos = ls = 3;
    while (pos < n) {
        char ch = s[pos];
        if (ch == '\n') {
            if (depth == 0 && c->nt > 0 && c->t[c->nt - 1].type != T_NEWLINE)
                c->t[c->nt++] = (tok){.type = T_NEWLINE,
                                      .off = pos,
                                      .len = 1,
                                      .line = line,
                                      .col = pos - ls + 1,
                                      .indent = indent};
            if (depth == 0) linefirst = 1;
            pos++;
            line++;
            ls = pos;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
            pos++;
            continue;
        }
        if (ch == '#') {
            while (pos < n && s[pos] != '\n') pos++;
            continue;
        }
        if (ch == '\\') {
            int q = pos + 1;
            if (q < n && s[q] == '\r') q++;
            if (q >= n) {
                pos = n;
                continue;
            }
            if (s[q] == '\n') {
                pos = q + 1;
                line++;
                ls = pos;
                continue;
            }
            return fail_lc(c, line, pos - ls + 1,
                           "unexpected '\\' (a line continuation must end the line)");
        }
        tok t = {.off = pos, .line = line, .col = pos - ls + 1};
        if (linefirst) {
            t.first = 1;
            indent = t.col - 1;
            linefirst = 0;
        }
        t.indent = indent;
        unsigned char u = (unsigned char)ch;
        int q = pos;
        if (isdigit(u) || (ch == '.' && isdigit((unsigned char)s[pos + 1]))) {
            t.type = T_NUM;
            if (ch == '0' && strchr("xXoObB", s[q + 1]) && s[q + 1]) {
                q += 2;
                while (isalnum((unsigned char)s[q]) || s[q] == '_') q++;
            } else {
                while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                if (s[q] == '.') {
                    q++;
                    while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                }
                if (s[q] == 'e' || s[q] == 'E') {
                    int r = q + 1;
                    if (s[r] == '+' || s[r] == '-') r++;
                    if (isdigit((unsigned char)s[r])) {
                        q = r;
                        while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                    }
                }
                if (s[q] == 'j' || s[q] == 'J') q++;
            }
            if (isalnum((unsigned char)s[q]) || s[q] == '_')
                return fail_lc(c, line, t.col, "invalid number '%.*s'",
                               q - pos + 1 > 30 ? 30 : q - pos + 1, s + pos);
        } else if (u >= 0x80) {
            return fail_lc(c, line, t.col,
                           "non-ASCII character (byte 0x%02x) outside a string or comment: "
                           "typographic quotes? write ' or \"",
                           u);
        } else if (isalpha(u) || ch == '_') {
            while (q < n && (isalnum((unsigned char)s[q]) || s[q] == '_')) q++;
            t.type = T_NAME;
            int plen = q - pos;
            int prefix = plen <= 2 && (s[q] == '\'' || s[q] == '"');
            for (int i = pos; prefix && i < q; i++) prefix = strchr("rRbBuUfF", s[i]) != NULL;
            if (prefix) {
                t.type = T_STR;
                if (scan_string(c, &q, &line, &ls, &t)) return -1;
            }
        } else if (ch == '\'' || ch == '"') {
            t.type = T_STR;
            if (scan_string(c, &q, &line, &ls, &t)) return -1;
        } else {
            static const char *const ops[] = {
                "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "->",
                "+=",  "-=",  "*=",  "/=",  "%=",  "&=", "|=", "^=", "@=", ":=", "<<", ">>"};
            t.type = T_OP;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
                if (!strncmp(s + pos, ops[k], strlen(ops[k]))) {
                    q = pos + (int)strlen(ops[k]);
                    break;
                }
            if (q == pos) {
                if (!strchr("()[]{},:;.=+-*/%@<>&|^~", ch) || !ch) {
                    if (u >= 0x20 && u < 0x7f)
                        return fail_lc(c, line, t.col, "unexpected character '%c'", ch);
                    return fail_lc(c, line, t.col, "unexpected byte 0x%02x", u);
                }
                q = pos + 1;
                if (strchr("([{", ch)) {
                    if (depth == MAX_NEST)
                        return fail_lc(c, line, t.col, "brackets nested deeper than %d levels",
                                       MAX_NEST);
                    open[depth++] = c->nt;
                } else if (strchr(")]}", ch)) {
                    if (depth == 0) return fail_lc(c, line, t.col, "unmatched '%c'", ch);
                    const tok *o = &c->t[open[depth - 1]];
                    char oc = s[o->off];
                    if ((oc == '(' && ch != ')') || (oc == '[' && ch != ']') ||
                        (oc == '{' && ch != '}'))
                        return fail_lc(c, line, t.col, "'%c' does not match '%c' at %d:%d", ch, oc,
                                       o->line, o->col);
                    depth--;
                }
            }
        }
        t.len = q - pos;
        c->t[c->nt++] = t;
        pos = q;
    }
    if (depth > 0) {
        const tok *o = &c->t[open[depth - 1]];
        return fail_lc(c, o->line, o->col, "'%c' is never closed", s[o->off]);
    }
    if (c->nt > 0 && c->t[c->nt - 1].type != T_NEWLINE)
        c->t[c->nt++] =
            (tok){.type = T_NEWLINE, .off = n, .line = line, .col = n - ls + 1, .indent = indent};
    c->t[c->nt++] = (tok){.type = T_EOF, .off = n, .line = line, .col = n - ls + 1};
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Variables                                                                            */

static const char *const keywords =
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is lambda nonlocal not or pass raise return try "
    "while with yield";

static int is_keyword(const ctx *c, int i) {
    const tok *t = &c->t[i];
    if (t->type != T_NAME || t->len < 2 || t->len > 8) return 0; /* keywords are 2-8 long */
    if (!strchr("FNTabcdefgilnoprtwy", c->text[t->off])) return 0;
    return in_list(keywords, c->text + t->off, (size_t)t->len);
}

static int same_name(const ctx *c, const var *v, int ti) {
    return v->len == c->t[ti].len &&
           !memcmp(c->text + v->off, c->text + c->t[ti].off, (size_t)v->len);
}

static var *lookup(ctx *c, int ti) {
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if (same_name(c, &c->vars[i], ti)) return &c->vars[i];
    if (c->calls > 0)
        for (int i = c->base[1] - 1; i >= 0; i--)
            if (same_name(c, &c->vars[i], ti)) return &c->vars[i];
    return NULL;
}

/* Bind the name of token ti in the current scope. */
static int bind(ctx *c, int ti, const kval *v) {
    if (c->t[ti].type != T_NAME || is_keyword(c, ti)) {
        char b[48];
        return fail(c, ti, "cannot assign to '%s'", ttext(c, ti, b, sizeof b));
    }
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if (same_name(c, &c->vars[i], ti)) {
            c->vars[i].v = *v;
            return 0;
        }
    if (c->nvars - c->base[c->calls] >= MAX_VARS)
        return fail(c, ti, "more than %d variables", MAX_VARS);
    if (c->nvars == c->vcap) {
        int nc = c->vcap ? 2 * c->vcap : 64;
        var *nv = realloc(c->vars, sizeof *nv * (size_t)nc);
        if (!nv) return oom(c, ti);
        c->vars = nv;
        c->vcap = nc;
    }
    c->vars[c->nvars++] = (var){.off = c->t[ti].off, .len = c->t[ti].len, .v = *v};
    return 0;
}

static char *cx_strndup(ctx *c, const char *s, size_t n) {
    char *r = cx_alloc(c, n + 1);
    if (r) memcpy(r, s, n);
    return r;
}

/* ------------------------------------------------------------------------------------ */
/* Expressions                                                                          */

static int e_test(ctx *c, int *p, kval *v);
static void note_identity(ctx *c, const char *nm);
static int e_call(ctx *c, int *p, kval *f, kval *out);
static int tensor_shape(ctx *c, kval *v, int at);
static int exec_range(ctx *c, int i, int end);
static int merge_tensors(ctx *c, int tok, const char *cls, const char *name, int axis,
                         const kval *ins, int n, kval *out);

static int enter(ctx *c, int ti) {
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return fail(c, ti, "expression nested too deeply (more than %d levels)", MAX_DEPTH);
    }
    return 0;
}

/* The index after the bracket group that opens at p. */
static int skip_group(const ctx *c, int p) {
    int depth = 0;
    for (int i = p; i < c->nt; i++) {
        const tok *t = &c->t[i];
        if (t->type == T_EOF) return i;
        if (t->type != T_OP || t->len != 1) continue;
        char ch = c->text[t->off];
        if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if ((ch == ')' || ch == ']' || ch == '}') && --depth == 0)
            return i + 1;
    }
    return c->nt - 1;
}

static int parse_num(ctx *c, int i, kval *v) {
    const tok *t = &c->t[i];
    char buf[64];
    size_t k = 0;
    if (t->len >= (int)sizeof buf) return fail(c, i, "number too long");
    for (int j = 0; j < t->len; j++)
        if (c->text[t->off + j] != '_') buf[k++] = c->text[t->off + j];
    buf[k] = 0;
    *v = mk(V_NUM, i);
    if (k && (buf[k - 1] == 'j' || buf[k - 1] == 'J'))
        return fail(c, i, "complex numbers are not supported");
    char *end;
    if (k > 2 && buf[0] == '0' && strchr("xXoObB", buf[1])) {
        int base = strchr("xX", buf[1]) ? 16 : strchr("oO", buf[1]) ? 8 : 2;
        unsigned long long u = strtoull(buf + 2, &end, base);
        v->num = (double)u;
        v->is_int = 1;
    } else {
        v->num = strtod(buf, &end);
        v->is_int = !strpbrk(buf, ".eE");
    }
    if (*end || !k) return fail(c, i, "invalid number '%s'", buf);
    return 0;
}

/* Adjacent string literals from token i, concatenated, without prefixes and quotes. */
/* A string being built, at most MAX_STR bytes; bad: 1 a value ordnet does not compute,
 * 2 too long, 3 out of memory. */
typedef struct sbuf {
    char *b;
    size_t n, cap;
    int bad;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n) {
    if (s->bad) return;
    if (s->n + n > MAX_STR) {
        s->bad = 2;
        return;
    }
    if (s->n + n + 1 > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 64;
        while (nc < s->n + n + 1) nc *= 2;
        char *nb = realloc(s->b, nc);
        if (!nb) {
            s->bad = 3;
            return;
        }
        s->b = nb;
        s->cap = nc;
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = 0;
}

static void sb_str(sbuf *s, const char *p) {
    sb_put(s, p, strlen(p));
}

/* The string as a value of the evaluator (freed with it), or an error for bad. */
static int sb_value(ctx *c, sbuf *s, int tok, int end, kval *v) {
    int bad = s->bad;
    char *r = bad ? NULL : cx_alloc(c, s->n + 1);
    if (r && s->n) memcpy(r, s->b, s->n);
    free(s->b);
    if (bad == 1) {
        *v = mk(V_OPAQUE, tok);
        v->end = end;
        return 0;
    }
    if (bad == 2) return fail(c, tok, "a string longer than %d bytes", MAX_STR);
    if (!r) return oom(c, tok);
    *v = mk(V_STR, tok);
    v->s = r;
    v->end = end;
    return 0;
}

/* Python's str() (repr: repr()) of a value into s; bad = 1 when ordnet does not compute it. */
static void sb_value_str(sbuf *s, const kval *v, int repr) {
    char b[64];
    switch (v->kind) {
    case V_NONE:
        sb_str(s, "None");
        return;
    case V_BOOL:
        sb_str(s, v->num ? "True" : "False");
        return;
    case V_NUM:
        if (v->is_int && fabs(v->num) < 1e18)
            snprintf(b, sizeof b, "%lld", (long long)v->num);
        else if (!isfinite(v->num))
            snprintf(b, sizeof b, "%s", isnan(v->num) ? "nan" : v->num > 0 ? "inf" : "-inf");
        else {
            for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back */
                snprintf(b, sizeof b, "%.*g", prec, v->num);
                if (strtod(b, NULL) == v->num) break;
            }
            if (!strpbrk(b, ".e")) strcat(b, ".0");
        }
        sb_str(s, b);
        return;
    case V_STR:
        if (repr) sb_str(s, "'");
        sb_str(s, v->s);
        if (repr) sb_str(s, "'");
        return;
    case V_TUPLE:
    case V_LIST:
        sb_str(s, v->kind == V_LIST ? "[" : "(");
        for (int i = 0; i < v->n && !s->bad; i++) {
            if (i) sb_str(s, ", ");
            sb_value_str(s, &v->items[i], 1);
        }
        if (v->kind == V_TUPLE && v->n == 1) sb_str(s, ",");
        sb_str(s, v->kind == V_LIST ? "]" : ")");
        return;
    default:
        s->bad = s->bad ? s->bad : 1;
    }
}

static int num_like(const kval *v);
static int binop(ctx *c, const char *op, int optok, kval *a, const kval *b);

/* A value formatted with a format spec (the part after ':' in '{x:03d}'). */
static void sb_format(sbuf *s, const kval *v, const char *spec, size_t n) {
    char fill0 = 0, type = 0, b[128], f[32];
    int width = -1, prec = -1;
    size_t i = 0;
    if (i < n && spec[i] == '0') fill0 = 1, i++;
    if (i < n && isdigit((unsigned char)spec[i])) {
        width = 0;
        while (i < n && isdigit((unsigned char)spec[i]) && width < 1000)
            width = width * 10 + spec[i++] - '0';
    }
    if (i < n && spec[i] == '.') {
        prec = 0;
        i++;
        while (i < n && isdigit((unsigned char)spec[i]) && prec < 100)
            prec = prec * 10 + spec[i++] - '0';
    }
    if (i < n) type = spec[i++];
    if (i != n || (type && !strchr("dfFeEgGs%", type))) {
        s->bad = s->bad ? s->bad : 1;
        return;
    }
    if (!n) {
        sb_value_str(s, v, 0);
        return;
    }
    if (v->kind == V_STR || type == 's') {
        sbuf t = {0};
        sb_value_str(&t, v, 0);
        if (t.bad) s->bad = s->bad ? s->bad : t.bad;
        int len = t.b ? (int)strlen(t.b) : 0;
        if (t.b && !t.bad) sb_str(s, t.b);
        for (int k = len; k < width && !s->bad; k++) sb_str(s, " ");
        free(t.b);
        return;
    }
    if (!num_like(v) || (type == 'd' && !v->is_int)) {
        s->bad = s->bad ? s->bad : 1;
        return;
    }
    if (!type) type = v->is_int ? 'd' : 'g';
    if (type == 'd')
        snprintf(f, sizeof f, "%%%s*lld", fill0 ? "0" : "");
    else if (type == '%')
        snprintf(f, sizeof f, "%%%s*.*f%%%%", fill0 ? "0" : "");
    else
        snprintf(f, sizeof f, "%%%s*.*%c", fill0 ? "0" : "", type);
    if (type == 'd')
        snprintf(b, sizeof b, f, width < 0 ? 0 : width, (long long)v->num);
    else
        snprintf(b, sizeof b, f, width < 0 ? 0 : width, prec < 0 ? 6 : prec,
                 type == '%' ? v->num * 100 : v->num);
    sb_str(s, b);
}

/* A variable by its name text. */
static var *lookup_text(ctx *c, const char *nm, size_t n) {
    for (int i = c->nvars - 1; i >= c->base[c->calls]; i--)
        if ((size_t)c->vars[i].len == n && !memcmp(c->text + c->vars[i].off, nm, n))
            return &c->vars[i];
    if (c->calls > 0)
        for (int i = c->base[1] - 1; i >= 0; i--)
            if ((size_t)c->vars[i].len == n && !memcmp(c->text + c->vars[i].off, nm, n))
                return &c->vars[i];
    return NULL;
}

/* The expression of an f-string field: names, integers, + - * // % and parentheses; anything
 * else is a value ordnet does not compute. tok: the string's token, for messages. */
static int f_expr(ctx *c, const char **e, const char *end, int tok, int level, kval *v) {
    if (level == 2) {
        while (*e < end && **e == ' ') ++*e;
        const char *q = *e;
        *v = mk(V_OPAQUE, tok);
        if (q < end && *q == '(') {
            ++*e;
            if (f_expr(c, e, end, tok, 0, v)) return -1;
            while (*e < end && **e == ' ') ++*e;
            if (*e < end && **e == ')')
                ++*e;
            else
                *v = mk(V_OPAQUE, tok), *e = end;
            return 0;
        }
        if (q < end && isdigit((unsigned char)*q)) {
            double d = 0;
            while (q < end && isdigit((unsigned char)*q) && d < 1e15) d = d * 10 + (*q++ - '0');
            *v = mk(V_NUM, tok);
            v->num = d;
            v->is_int = 1;
        } else if (q < end && (isalpha((unsigned char)*q) || *q == '_')) {
            while (q < end && (isalnum((unsigned char)*q) || *q == '_')) q++;
            var *x = lookup_text(c, *e, (size_t)(q - *e));
            if (x) *v = x->v;
            v->tok = tok;
        } else
            q = end;
        *e = q;
        while (*e < end && **e == ' ') ++*e;
        if (*e < end && (**e == '.' || **e == '[' || **e == '(')) *v = mk(V_OPAQUE, tok), *e = end;
        return 0;
    }
    if (f_expr(c, e, end, tok, level + 1, v)) return -1;
    for (;;) {
        while (*e < end && **e == ' ') ++*e;
        const char *op = NULL;
        size_t left = (size_t)(end - *e);
        if (!left) return 0;
        if (level == 0 && (**e == '+' || **e == '-'))
            op = **e == '+' ? "+" : "-";
        else if (level == 1 && left >= 2 && !strncmp(*e, "//", 2))
            op = "//";
        else if (level == 1 && **e == '*' && !(left >= 2 && (*e)[1] == '*'))
            op = "*";
        else if (level == 1 && **e == '%')
            op = "%";
        if (!op) return 0;
        *e += strlen(op);
        kval r;
        if (f_expr(c, e, end, tok, level + 1, &r) || binop(c, op, tok, v, &r)) return -1;
    }
}

/* The text of an f-string token's body (between the quotes) with its fields replaced. */
static void f_string(ctx *c, sbuf *s, const char *q, size_t n, int tok) {
    for (size_t i = 0; i < n && !s->bad;) {
        if ((q[i] == '{' || q[i] == '}') && i + 1 < n && q[i + 1] == q[i]) {
            sb_put(s, q + i, 1);
            i += 2;
            continue;
        }
        if (q[i] != '{') {
            sb_put(s, q + i, 1);
            i++;
            continue;
        }
        size_t j = i + 1, colon = 0, bang = 0;
        int depth = 0;
        while (j < n && (depth || q[j] != '}')) {
            if (q[j] == '(' || q[j] == '[') depth++;
            if (q[j] == ')' || q[j] == ']') depth--;
            if (!depth && q[j] == ':' && !colon) colon = j;
            if (!depth && q[j] == '!' && !colon && !bang && j + 1 < n && q[j + 1] != '=') bang = j;
            j++;
        }
        if (j >= n) {
            s->bad = 1;
            return;
        }
        const char *e = q + i + 1, *ee = q + (bang ? bang : colon ? colon : j);
        kval v;
        if (f_expr(c, &e, ee, tok, 0, &v)) {
            s->bad = 4; /* the error is already in c->err */
            return;
        }
        if (e != ee) v = mk(V_OPAQUE, tok);
        if (bang && bang + 1 < n && q[bang + 1] == 'r' && !colon)
            sb_value_str(s, &v, 1);
        else if (colon)
            sb_format(s, &v, q + colon + 1, j - colon - 1);
        else
            sb_value_str(s, &v, 0);
        i = j + 1;
    }
}

/* Adjacent string literals from token i, concatenated, without prefixes and quotes;
 * f-strings with their fields filled in (a field ordnet does not compute makes the whole
 * string such a value). */
static int parse_str(ctx *c, int *p, kval *v) {
    int i = *p, j = i;
    sbuf s = {0};
    sb_put(&s, "", 0);
    for (; c->t[j].type == T_STR; j++) {
        const char *q = c->text + c->t[j].off;
        int len = c->t[j].len, fstr = 0;
        while (len > 0 && *q != '\'' && *q != '"') fstr |= *q == 'f' || *q == 'F', q++, len--;
        int qn = len >= 6 && q[1] == q[0] && q[2] == q[0] ? 3 : 1;
        if (len < 2 * qn) continue;
        if (fstr)
            f_string(c, &s, q + qn, (size_t)(len - 2 * qn), j);
        else
            sb_put(&s, q + qn, (size_t)(len - 2 * qn));
    }
    *p = j;
    if (s.bad == 4) {
        free(s.b);
        return -1;
    }
    return sb_value(c, &s, i, j, v);
}

/* fmt % args (printf-style formatting of strings). */
static int percent_format(ctx *c, int optok, kval *a, const kval *b) {
    const kval *args = b->kind == V_TUPLE ? b->items : b;
    int nargs = b->kind == V_TUPLE ? b->n : 1, k = 0;
    const char *f = a->s;
    sbuf s = {0};
    sb_put(&s, "", 0);
    for (size_t i = 0; f[i] && !s.bad;) {
        if (f[i] != '%') {
            sb_put(&s, f + i++, 1);
            continue;
        }
        if (f[i + 1] == '%') {
            sb_put(&s, "%", 1);
            i += 2;
            continue;
        }
        size_t j = i + 1;
        char spec[32];
        size_t sl = 0;
        while (f[j] && strchr("0123456789.-+ #", f[j]) && sl + 1 < sizeof spec) spec[sl++] = f[j++];
        spec[sl] = 0;
        char type = f[j];
        if (!type || !strchr("diufFeEgGsr", type) || k >= nargs) {
            s.bad = 1;
            break;
        }
        const kval *x = &args[k++];
        if (type == 's' || type == 'r') {
            sbuf t = {0};
            sb_value_str(&t, x, type == 'r');
            char fm[48];
            snprintf(fm, sizeof fm, "%%%ss", spec);
            if (!t.bad && t.b && t.n < 4096) {
                char out[8192];
                snprintf(out, sizeof out, fm, t.b);
                sb_str(&s, out);
            } else
                s.bad = t.bad ? t.bad : 1;
            free(t.b);
        } else if (!num_like(x)) {
            s.bad = 1;
        } else {
            char fm[48], out[256];
            if (strchr("diu", type)) {
                snprintf(fm, sizeof fm, "%%%slld", spec);
                snprintf(out, sizeof out, fm, (long long)x->num);
            } else {
                snprintf(fm, sizeof fm, "%%%s%c", spec, type);
                snprintf(out, sizeof out, fm, x->num);
            }
            sb_str(&s, out);
        }
        i = j + 1;
    }
    if (!s.bad && k != nargs) s.bad = 1;
    int tok0 = a->tok, end = b->end > a->end ? b->end : a->end;
    if (sb_value(c, &s, optok, end, a)) return -1;
    a->tok = tok0;
    return 0;
}

/* Items separated by commas up to the closing op; *comma when a comma was seen. */
static int e_items(ctx *c, int *p, const char *close, kval **items, int *n, int *comma) {
    kval *it = NULL;
    int cap = 0;
    *n = 0;
    *comma = 0;
    while (!is_op(c, *p, close)) {
        if (*n == cap) {
            int nc = cap ? 2 * cap : 8;
            kval *ni = cx_alloc(c, sizeof *ni * (size_t)nc);
            if (!ni) return oom(c, *p);
            if (*n) memcpy(ni, it, sizeof *ni * (size_t)*n);
            it = ni;
            cap = nc;
        }
        if (is_op(c, *p, "*") || is_op(c, *p, "**"))
            return fail(c, *p, "unpacking with '*' is not supported: write the items out");
        if (e_test(c, p, &it[*n])) return -1;
        if (is_name(c, *p, "for"))
            return fail(
                c, *p,
                "comprehensions ('for' inside brackets) are not supported: write the items out");
        ++*n;
        if (is_op(c, *p, ",")) {
            ++*p;
            *comma = 1;
        } else if (!is_op(c, *p, close)) {
            char b[48];
            return fail(c, *p, "expected ',' or '%s', found '%s'", close,
                        ttext(c, *p, b, sizeof b));
        }
    }
    ++*p;
    *items = it;
    return 0;
}

static int e_atom(ctx *c, int *p, kval *v) {
    int i = *p;
    const tok *t = &c->t[i];
    char b[48];
    if (t->type == T_NUM) {
        *p = i + 1;
        return parse_num(c, i, v);
    }
    if (t->type == T_STR) return parse_str(c, p, v);
    if (t->type == T_NAME) {
        *p = i + 1;
        if (is_name(c, i, "None")) return *v = mk(V_NONE, i), 0;
        if (is_name(c, i, "True") || is_name(c, i, "False")) {
            *v = mk(V_BOOL, i);
            v->num = is_name(c, i, "True");
            v->is_int = 1;
            return 0;
        }
        if (is_name(c, i, "lambda")) return fail(c, i, "lambda functions are not supported");
        if (is_keyword(c, i)) return fail(c, i, "unexpected '%s'", ttext(c, i, b, sizeof b));
        var *x = lookup(c, i);
        if (x) {
            *v = x->v;
            if (v->kind == V_PATH) v->tok = v->last = i, v->end = i + 1;
            v->var = i;
            return 0;
        }
        *v = mk(V_PATH, i);
        v->unbound = 1;
        v->s = cx_strndup(c, c->text + t->off, (size_t)t->len);
        return v->s ? 0 : oom(c, i);
    }
    if (is_op(c, i, "(") || is_op(c, i, "[")) {
        int list = is_op(c, i, "[");
        kval *items = NULL;
        int n = 0, comma = 0;
        *p = i + 1;
        if (e_items(c, p, list ? "]" : ")", &items, &n, &comma)) return -1;
        if (!list && n == 1 && !comma) {
            *v = items[0];
            return 0;
        }
        *v = mk(list ? V_LIST : V_TUPLE, i);
        v->items = items;
        v->n = n;
        v->end = *p;
        return 0;
    }
    if (is_op(c, i, "{")) {
        *p = skip_group(c, i);
        *v = mk(V_OPAQUE, i);
        v->end = *p;
        return 0;
    }
    if (is_op(c, i, "...")) {
        *p = i + 1;
        return *v = mk(V_OPAQUE, i), 0;
    }
    if (t->type == T_NEWLINE || t->type == T_EOF)
        return fail(c, i, "unexpected end of the statement: an expression is missing");
    return fail(c, i, "unexpected '%s'", ttext(c, i, b, sizeof b));
}

/* v.name */
static int e_attr(ctx *c, kval *v, int nt) {
    const tok *t = &c->t[nt];
    if (v->kind == V_PATH) {
        size_t a = strlen(v->s), b = (size_t)t->len;
        if (a + b > 400) return fail(c, nt, "dotted name too long");
        char *s = cx_alloc(c, a + b + 2);
        if (!s) return oom(c, nt);
        memcpy(s, v->s, a);
        s[a] = '.';
        memcpy(s + a + 1, c->text + t->off, b);
        v->s = s;
        v->last = nt;
        return 0;
    }
    if (v->kind == V_TENSOR && t->len == 5 && !memcmp(c->text + t->off, "shape", 5))
        return tensor_shape(c, v, nt);
    if ((v->kind == V_SEQ || v->kind == V_MODEL || v->kind == V_LIST || v->kind == V_STR) &&
        is_op(c, nt + 1, "(")) {
        kval *obj = cx_alloc(c, sizeof *obj);
        if (!obj) return oom(c, nt);
        *obj = *v;
        *v = mk(V_METHOD, nt);
        v->items = obj;
        v->n = 1;
        v->s = cx_strndup(c, c->text + t->off, (size_t)t->len);
        return v->s ? 0 : oom(c, nt);
    }
    int tok0 = v->tok;
    *v = mk(V_OPAQUE, tok0);
    v->end = nt + 1;
    return 0;
}

/* v[index] or v[start:stop] on tuples and lists. */
static int e_subscript(ctx *c, int *p, kval *v) {
    int open = *p;
    char b[64];
    if (v->kind == V_PATH && v->unbound && !strchr(v->s, '.'))
        return fail(c, v->last, "undefined variable '%s'", v->s);
    if (v->kind == V_TENSOR)
        return fail(c, open, "slicing a layer output is not supported (%s)",
                    src(c, v->tok, open + 1, b, sizeof b));
    if (v->kind != V_TUPLE && v->kind != V_LIST) {
        if (v->kind == V_OPAQUE || v->kind == V_PATH || v->kind == V_STR) {
            *p = skip_group(c, open);
            int tok0 = v->tok;
            *v = mk(V_OPAQUE, tok0);
            v->end = *p;
            return 0;
        }
        return fail(c, open, "%s cannot be indexed", kind_name(v));
    }
    int idx[2] = {0, v->n}, have[2] = {0, 0}, slice = 0;
    *p = open + 1;
    for (int k = 0; k < 2; k++) {
        if (!is_op(c, *p, ":") && !is_op(c, *p, "]")) {
            kval x;
            int at = *p;
            if (e_test(c, p, &x)) return -1;
            if (x.kind != V_NUM || !x.is_int || fabs(x.num) > 1e9)
                return fail(c, at, "an index must be an integer, got %s", kind_name(&x));
            int k2 = (int)x.num;
            if (k2 < 0) k2 += v->n;
            idx[k] = k2;
            have[k] = 1;
        }
        if (k == 0 && is_op(c, *p, ":")) {
            slice = 1;
            ++*p;
            continue;
        }
        break;
    }
    if (!is_op(c, *p, "]")) return fail(c, *p, "expected ']' (only [i] and [a:b] are supported)");
    ++*p;
    if (!slice) {
        if (!have[0] || idx[0] < 0 || idx[0] >= v->n)
            return fail(c, open, "index out of range: %s has %d items",
                        src(c, v->tok, v->end, b, sizeof b), v->n);
        *v = v->items[idx[0]];
        return 0;
    }
    int a = idx[0] < 0 ? 0 : idx[0] > v->n ? v->n : idx[0];
    int e = idx[1] < a ? a : idx[1] > v->n ? v->n : idx[1];
    if (a) v->items += a;
    v->n = e - a;
    return 0;
}

static int e_postfix(ctx *c, int *p, kval *v) {
    int start = *p, trailers = 0;
    if (e_atom(c, p, v)) return -1;
    for (;; trailers++) {
        if (is_op(c, *p, ".")) {
            int nt = *p + 1;
            if (c->t[nt].type != T_NAME) return fail(c, nt, "expected a name after '.'");
            if (e_attr(c, v, nt)) return -1;
            *p = nt + 1;
        } else if (is_op(c, *p, "(")) {
            kval out;
            if (e_call(c, p, v, &out)) return -1;
            *v = out;
        } else if (is_op(c, *p, "[")) {
            if (e_subscript(c, p, v)) return -1;
        } else
            break;
    }
    if (v->kind == V_PATH && v->unbound && !strchr(v->s, '.'))
        return fail(c, v->last, "undefined variable '%s': nothing assigns it before this line",
                    v->s);
    if (trailers && v->kind != V_TENSOR) v->tok = start, v->end = *p;
    return 0;
}

static int num_like(const kval *v) {
    return v->kind == V_NUM || v->kind == V_BOOL;
}

/* a == b for values ordnet computes: 1, 0, or -1 when it cannot tell. */
static int vals_equal(const kval *a, const kval *b) {
    if (num_like(a) && num_like(b)) return a->num == b->num;
    if (a->kind == V_STR && b->kind == V_STR) return !strcmp(a->s, b->s);
    if (a->kind == V_NONE || b->kind == V_NONE) {
        if (a->kind == V_OPAQUE || a->kind == V_PATH || b->kind == V_OPAQUE || b->kind == V_PATH)
            return -1;
        return a->kind == b->kind;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && a->kind == b->kind) {
        if (a->n != b->n) return 0;
        for (int i = 0; i < a->n; i++) {
            int e = vals_equal(&a->items[i], &b->items[i]);
            if (e != 1) return e;
        }
        return 1;
    }
    if ((num_like(a) || a->kind == V_STR) && (num_like(b) || b->kind == V_STR)) return 0;
    return -1;
}

/* a op b into a. */
static int binop(ctx *c, const char *op, int optok, kval *a, const kval *b) {
    int tok0 = a->tok, end = b->end > a->end ? b->end : a->end;
    char b1[64];
    int truth = -2;
    if (a->kind == V_STR && !strcmp(op, "%")) return percent_format(c, optok, a, b);
    if (!strcmp(op, "is") || !strcmp(op, "is not")) {
        int same = -1;
        if (a->kind == V_NONE || b->kind == V_NONE || a->kind == V_BOOL || b->kind == V_BOOL)
            same = vals_equal(a, b);
        if (same >= 0 && (a->kind == V_BOOL) != (b->kind == V_BOOL)) same = 0;
        truth = same < 0 ? -1 : !strcmp(op, "is") ? same : !same;
    } else if (!strcmp(op, "in") || !strcmp(op, "not in")) {
        int found = -1;
        if (b->kind == V_TUPLE || b->kind == V_LIST) {
            found = 0;
            for (int i = 0; i < b->n && found == 0; i++) {
                int e = vals_equal(a, &b->items[i]);
                found = e < 0 ? -1 : e;
            }
        } else if (b->kind == V_STR && a->kind == V_STR)
            found = strstr(b->s, a->s) != NULL;
        truth = found < 0 ? -1 : !strcmp(op, "in") ? found : !found;
    } else if ((!strcmp(op, "==") || !strcmp(op, "!=")) && !(num_like(a) && num_like(b))) {
        int e = vals_equal(a, b);
        truth = e < 0 ? -1 : !strcmp(op, "==") ? e : !e;
    }
    if (truth != -2) {
        *a = mk(truth < 0 ? V_OPAQUE : V_BOOL, tok0);
        a->num = truth > 0;
        a->is_int = 1;
        a->end = end;
        return 0;
    }
    if (num_like(a) && num_like(b)) {
        double x = a->num, y = b->num, r = 0;
        int is_int = a->is_int && b->is_int, cmp = -1;
        if (!strcmp(op, "+"))
            r = x + y;
        else if (!strcmp(op, "-"))
            r = x - y;
        else if (!strcmp(op, "*"))
            r = x * y;
        else if (!strcmp(op, "**"))
            r = pow(x, y), is_int = is_int && y >= 0;
        else if (!strcmp(op, "/") || !strcmp(op, "//") || !strcmp(op, "%")) {
            if (y == 0) return fail(c, optok, "division by zero");
            if (!strcmp(op, "/"))
                r = x / y, is_int = 0;
            else if (!strcmp(op, "//"))
                r = floor(x / y);
            else
                r = x - y * floor(x / y);
        } else if (!strcmp(op, "=="))
            cmp = x == y;
        else if (!strcmp(op, "!="))
            cmp = x != y;
        else if (!strcmp(op, "<"))
            cmp = x < y;
        else if (!strcmp(op, ">"))
            cmp = x > y;
        else if (!strcmp(op, "<="))
            cmp = x <= y;
        else if (!strcmp(op, ">="))
            cmp = x >= y;
        else
            goto opaque;
        *a = mk(cmp >= 0 ? V_BOOL : V_NUM, tok0);
        a->num = cmp >= 0 ? cmp : r;
        a->is_int = cmp >= 0 ? 1 : is_int;
        a->end = end;
        return 0;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && !strcmp(op, "+") && b->kind == a->kind) {
        if ((long)a->n + b->n > MAX_ITEMS) return fail(c, optok, "too many items");
        kval *it = cx_alloc(c, sizeof *it * (size_t)(a->n + b->n));
        if (!it) return oom(c, optok);
        if (a->n) memcpy(it, a->items, sizeof *it * (size_t)a->n);
        if (b->n) memcpy(it + a->n, b->items, sizeof *it * (size_t)b->n);
        a->items = it;
        a->n += b->n;
        a->end = end;
        return 0;
    }
    if ((a->kind == V_TUPLE || a->kind == V_LIST) && !strcmp(op, "*") && b->kind == V_NUM &&
        b->is_int) {
        if (b->num < 0 || b->num > MAX_ITEMS || b->num * a->n > MAX_ITEMS)
            return fail(c, optok, "too many items");
        int k = (int)b->num, n = a->n * k;
        kval *it = cx_alloc(c, sizeof *it * (size_t)(n ? n : 1));
        if (!it) return oom(c, optok);
        for (int j = 0; j < k; j++)
            if (a->n) memcpy(it + (size_t)j * a->n, a->items, sizeof *it * (size_t)a->n);
        a->items = it;
        a->n = n;
        a->end = end;
        return 0;
    }
    if (a->kind == V_STR && b->kind == V_STR && !strcmp(op, "+")) {
        size_t la = strlen(a->s), lb = strlen(b->s);
        if (la + lb > MAX_STR) return fail(c, optok, "a string longer than %d bytes", MAX_STR);
        char *s = cx_alloc(c, la + lb + 1);
        if (!s) return oom(c, optok);
        memcpy(s, a->s, la);
        memcpy(s + la, b->s, lb);
        a->s = s;
        a->end = end;
        return 0;
    }
    if (a->kind == V_TENSOR && b->kind == V_TENSOR &&
        (!strcmp(op, "+") || !strcmp(op, "*") || !strcmp(op, "-"))) {
        kval ins[2] = {*a, *b};
        return merge_tensors(c, optok,
                             op[0] == '+'   ? "Add"
                             : op[0] == '*' ? "Multiply"
                                            : "Subtract",
                             NULL, -1, ins, 2, a);
    }
    if (a->kind == V_OPAQUE || b->kind == V_OPAQUE || a->kind == V_PATH || b->kind == V_PATH ||
        (strcmp(op, "+") && strcmp(op, "-") && strcmp(op, "*") && strcmp(op, "/") &&
         strcmp(op, "//") && strcmp(op, "**") && strcmp(op, "%") && strcmp(op, "@") &&
         a->kind != V_TENSOR && b->kind != V_TENSOR))
        goto opaque;
    return fail(c, optok, "unsupported operation %s '%s' %s in %s", kind_name(a), op, kind_name(b),
                src(c, tok0, end, b1, sizeof b1));
opaque:
    *a = mk(V_OPAQUE, tok0);
    a->end = end;
    return 0;
}

static int e_factor(ctx *c, int *p, kval *v);

static int e_power(ctx *c, int *p, kval *v) {
    if (e_postfix(c, p, v)) return -1;
    if (is_op(c, *p, "**")) {
        int op = (*p)++;
        kval r;
        if (e_factor(c, p, &r)) return -1;
        return binop(c, "**", op, v, &r);
    }
    return 0;
}

static int e_factor(ctx *c, int *p, kval *v) {
    if (is_op(c, *p, "-") || is_op(c, *p, "+") || is_op(c, *p, "~")) {
        int op = (*p)++;
        if (enter(c, op)) return -1;
        int r = e_factor(c, p, v);
        c->depth--;
        if (r) return -1;
        if (num_like(v) && !is_op(c, op, "~")) {
            if (is_op(c, op, "-")) v->num = -v->num;
            v->kind = V_NUM;
        } else if (v->kind != V_NUM) {
            int end = v->end;
            *v = mk(V_OPAQUE, op);
            v->end = end;
        }
        v->tok = op;
        return 0;
    }
    return e_power(c, p, v);
}

static int e_binary(ctx *c, int *p, kval *v, int level);

/* Binary operators by precedence: 0 comparisons, 1 + -, 2 * / // % @. */
static int e_binary(ctx *c, int *p, kval *v, int level) {
    static const char *const ops[3][8] = {{"==", "!=", "<", ">", "<=", ">=", NULL},
                                          {"+", "-", NULL},
                                          {"*", "/", "//", "%", "@", NULL}};
    if (level == 3) return e_factor(c, p, v);
    if (e_binary(c, p, v, level + 1)) return -1;
    for (;;) {
        const char *op = NULL;
        for (int k = 0; ops[level][k]; k++)
            if (is_op(c, *p, ops[level][k])) op = ops[level][k];
        int optok = *p, width = 1;
        if (!op && level == 0) {
            if (is_name(c, *p, "in"))
                op = "in";
            else if (is_name(c, *p, "not") && is_name(c, *p + 1, "in"))
                op = "not in", width = 2;
            else if (is_name(c, *p, "is") && is_name(c, *p + 1, "not"))
                op = "is not", width = 2;
            else if (is_name(c, *p, "is"))
                op = "is";
        }
        if (!op) return 0;
        *p += width;
        kval r;
        if (e_binary(c, p, &r, level + 1)) return -1;
        if (binop(c, op, optok, v, &r)) return -1;
    }
}

static int e_not(ctx *c, int *p, kval *v) {
    if (is_name(c, *p, "not")) {
        int op = (*p)++;
        if (enter(c, op)) return -1;
        int r = e_not(c, p, v);
        c->depth--;
        if (r) return -1;
        int end = v->end;
        if (num_like(v) || v->kind == V_NONE) {
            int t = v->kind == V_NONE ? 1 : v->num == 0;
            *v = mk(V_BOOL, op);
            v->num = t;
            v->is_int = 1;
        } else
            *v = mk(V_OPAQUE, op);
        v->end = end;
        return 0;
    }
    return e_binary(c, p, v, 0);
}

/* Python's truth of a value: 1, 0, or -1 when ordnet does not compute it. */
static int truthy(const kval *v) {
    switch (v->kind) {
    case V_NONE:
        return 0;
    case V_BOOL:
    case V_NUM:
        return v->num != 0;
    case V_STR:
        return v->s[0] != 0;
    case V_TUPLE:
    case V_LIST:
        return v->n > 0;
    case V_RANGE:
        return v->r2 > 0 ? v->r0 < v->r1 : v->r0 > v->r1;
    case V_LAYER:
    case V_TENSOR:
    case V_SEQ:
    case V_MODEL:
    case V_FUNC:
        return 1;
    default:
        return -1;
    }
}

/* and / or, with Python's values (a or b is a when a is true); a side ordnet does not compute
 * makes the result opaque. */
static int e_or(ctx *c, int *p, kval *v) {
    int r = e_not(c, p, v);
    while (!r && (is_name(c, *p, "and") || is_name(c, *p, "or"))) {
        int op = (*p)++;
        kval w;
        if ((r = e_not(c, p, &w))) break;
        int tok0 = v->tok, t = truthy(v), is_and = is_name(c, op, "and");
        if (t < 0)
            *v = mk(V_OPAQUE, tok0);
        else if (is_and ? t : !t)
            *v = w; /* a and b: b when a is true; a or b: b when a is false */
        v->tok = tok0;
        v->end = w.end;
    }
    return r;
}

/* Is there a conditional expression (a if b else c) from token p, at this bracket depth?
 * *if_tok and *else_tok: its keywords. */
static int find_ternary(const ctx *c, int p, int *if_tok, int *else_tok) {
    *if_tok = -1;
    for (int i = p; i < c->nt;) {
        const tok *t = &c->t[i];
        if (t->type == T_NEWLINE || t->type == T_EOF) return 0;
        if (t->type == T_OP) {
            char ch = c->text[t->off];
            if (t->len == 1 && strchr("([{", ch)) {
                i = skip_group(c, i);
                continue;
            }
            if ((t->len == 1 && strchr(")]},:;=", ch)) ||
                (t->len >= 2 && c->text[t->off + t->len - 1] == '=' && !is_op(c, i, "==") &&
                 !is_op(c, i, "!=") && !is_op(c, i, "<=") && !is_op(c, i, ">=")))
                return 0;
        } else if (is_name(c, i, "for") || is_name(c, i, "lambda"))
            return 0;
        else if (is_name(c, i, "if") && *if_tok < 0)
            *if_tok = i;
        else if (is_name(c, i, "else")) {
            if (*if_tok < 0) return 0;
            *else_tok = i;
            return 1;
        }
        i++;
    }
    return 0;
}

/* The index after the expression at p (up to a comma, a closing bracket or the statement's
 * end at this depth), without evaluating it. */
static int skip_expr(const ctx *c, int p) {
    int i = p;
    while (i < c->nt) {
        const tok *t = &c->t[i];
        if (t->type == T_NEWLINE || t->type == T_EOF) break;
        if (t->type == T_OP && t->len == 1) {
            char ch = c->text[t->off];
            if (strchr("([{", ch)) {
                i = skip_group(c, i);
                continue;
            }
            if (strchr(")]},:;=", ch)) break;
        }
        i++;
    }
    return i;
}

static const char *src(const ctx *c, int a, int b, char *buf, size_t n);

/* A condition that must be known: 1 or 0, or an error naming the data-dependent value. */
static int want_truth(ctx *c, const kval *v, int a, int b, int *out) {
    char s[64];
    int t = truthy(v);
    if (t < 0)
        return fail(c, a,
                    "the condition '%s' depends on a value ordnet does not compute (data, files, "
                    "the command line): ordnet reads the model the code builds for known values; "
                    "write the value",
                    src(c, a, b, s, sizeof s));
    *out = t;
    return 0;
}

/* An expression: or / and / not / comparisons / arithmetic, or a if b else c (only the branch
 * taken is evaluated, as in Python). */
static int e_test(ctx *c, int *p, kval *v) {
    if (enter(c, *p)) return -1;
    int it, et, r;
    if (find_ternary(c, *p, &it, &et)) {
        kval cond;
        int q = it + 1, t = 0;
        r = e_or(c, &q, &cond);
        if (!r && q != et) r = fail(c, q, "expected 'else' in the conditional expression");
        if (!r) r = want_truth(c, &cond, it + 1, et, &t);
        if (!r && t) {
            r = e_or(c, p, v);
            if (!r && *p != it) r = fail(c, *p, "expected 'if' in the conditional expression");
            if (!r) *p = skip_expr(c, et + 1);
        } else if (!r) {
            *p = et + 1;
            r = e_test(c, p, v);
        }
    } else
        r = e_or(c, p, v);
    c->depth--;
    return r;
}

/* An expression or a bare tuple (a, b = 1, 2), up to the end of the statement or an '='. */
static int e_exprlist(ctx *c, int *p, kval *v) {
    int start = *p;
    if (e_test(c, p, v)) return -1;
    if (!is_op(c, *p, ",")) return 0;
    kval *items = NULL;
    int n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            int nc = cap ? 2 * cap : 8;
            kval *ni = cx_alloc(c, sizeof *ni * (size_t)nc);
            if (!ni) return oom(c, *p);
            if (n) memcpy(ni, items, sizeof *ni * (size_t)n);
            items = ni;
            cap = nc;
        }
        items[n++] = *v;
        if (!is_op(c, *p, ",")) break;
        ++*p;
        if (end_of_stmt(c, *p) || is_op(c, *p, "=")) break;
        if (e_test(c, p, v)) return -1;
    }
    *v = mk(V_TUPLE, start);
    v->items = items;
    v->n = n;
    v->end = *p;
    return 0;
}

/* Arguments of a call; p at '('. */
static int parse_args(ctx *c, int *p, kargs *A) {
    int open = *p, close = skip_group(c, open) - 1, commas = 0, depth = 0;
    for (int i = open; i < close; i++) {
        if (c->t[i].type != T_OP || c->t[i].len != 1) continue;
        char ch = c->text[c->t[i].off];
        if (strchr("([{", ch))
            depth++;
        else if (strchr(")]}", ch))
            depth--;
        else if (ch == ',' && depth == 1)
            commas++;
    }
    A->a = cx_alloc(c, sizeof(karg) * (size_t)(commas + 1));
    if (!A->a) return oom(c, open);
    A->n = 0;
    A->open = open;
    int seen_key = 0;
    *p = open + 1;
    while (!is_op(c, *p, ")")) {
        karg *g = &A->a[A->n];
        g->key = -1;
        if (is_op(c, *p, "*") || is_op(c, *p, "**"))
            return fail(c, *p,
                        "*args and **kwargs are not supported here: write the arguments out");
        if (c->t[*p].type == T_NAME && is_op(c, *p + 1, "=")) {
            g->key = *p;
            *p += 2;
            seen_key = 1;
        } else if (seen_key)
            return fail(c, *p, "a positional argument after keyword arguments");
        g->tok = *p;
        if (e_test(c, p, &g->v)) return -1;
        g->end = *p;
        if (is_name(c, *p, "for"))
            return fail(c, *p, "generator expressions are not supported: write the items out");
        if (A->n < commas + 1) A->n++;
        if (is_op(c, *p, ","))
            ++*p;
        else if (!is_op(c, *p, ")")) {
            char b[48];
            return fail(c, *p, "expected ',' or ')', found '%s'", ttext(c, *p, b, sizeof b));
        }
    }
    ++*p;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Argument values                                                                      */

static int arg_err(ctx *c, const karg *g, const char *what, const char *want) {
    char b[64];
    const kval *v = &g->v;
    if (v->kind == V_STR)
        return fail(c, g->tok, "%s must be %s, got the string '%.40s'", what, want, v->s);
    if (v->kind == V_OPAQUE || v->kind == V_PATH)
        return fail(c, g->tok,
                    "%s must be %s; '%s' is not a value ordnet computes (write the value)", what,
                    want, src(c, g->tok, g->end, b, sizeof b));
    return fail(c, g->tok, "%s must be %s, got %s", what, want,
                src(c, g->tok, g->end, b, sizeof b));
}

static int want_int(ctx *c, const karg *g, const char *what, int lo, int hi, int *out) {
    const kval *v = &g->v;
    char want[64];
    snprintf(want, sizeof want, "an integer from %d to %d", lo, hi);
    if (v->kind != V_NUM || !v->is_int || !(v->num >= lo && v->num <= hi))
        return arg_err(c, g, what, want);
    *out = (int)v->num;
    return 0;
}

static int want_num(ctx *c, const karg *g, const char *what, double lo, double hi, int open_hi,
                    double *out) {
    const kval *v = &g->v;
    char want[64];
    snprintf(want, sizeof want, "a number from %g to %g%s", lo, hi, open_hi ? " (excluded)" : "");
    if (v->kind != V_NUM || !(v->num >= lo && v->num <= hi) || (open_hi && v->num == hi))
        return arg_err(c, g, what, want);
    *out = v->num;
    return 0;
}

static int want_bool(ctx *c, const karg *g, const char *what, int *out) {
    const kval *v = &g->v;
    if ((v->kind == V_BOOL || v->kind == V_NUM) && v->is_int && (v->num == 0 || v->num == 1)) {
        *out = v->num != 0;
        return 0;
    }
    return arg_err(c, g, what, "True or False");
}

/* An integer, or a tuple of rank - 1 integers (1-D ops: one, 2-D ops: two). */
static int want_pair(ctx *c, const karg *g, const char *what, int rank, int lo, int hi, int *h,
                     int *w) {
    const kval *v = &g->v;
    int nd = rank == 3 ? 2 : 1, d[2];
    char want[96];
    snprintf(want, sizeof want, "an integer from %d to %d%s", lo, hi,
             nd == 2 ? " or a tuple of two" : " or a tuple of one");
    if (v->kind == V_NUM) {
        if (!v->is_int || !(v->num >= lo && v->num <= hi)) return arg_err(c, g, what, want);
        d[0] = d[1] = (int)v->num;
    } else if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->n == nd) {
        for (int i = 0; i < nd; i++) {
            const kval *x = &v->items[i];
            if (x->kind != V_NUM || !x->is_int || !(x->num >= lo && x->num <= hi))
                return arg_err(c, g, what, want);
            d[i] = (int)x->num;
        }
        if (nd == 1) d[1] = d[0];
    } else
        return arg_err(c, g, what, want);
    *h = nd == 2 ? d[0] : 1;
    *w = d[1];
    return 0;
}

static int want_padding(ctx *c, const karg *g, const char *what, int *mode) {
    const kval *v = &g->v;
    if (v->kind == V_STR) {
        char s[16];
        size_t k = 0;
        for (; v->s[k] && k + 1 < sizeof s; k++) s[k] = (char)tolower((unsigned char)v->s[k]);
        s[k] = 0;
        if (!strcmp(s, "valid") && !v->s[k]) return *mode = ON_PAD_VALID, 0;
        if (!strcmp(s, "same") && !v->s[k]) return *mode = ON_PAD_SAME, 0;
        if (!strcmp(s, "causal") && !v->s[k])
            return fail(c, g->tok,
                        "padding='causal' is not supported (ordnet's convolutions are not "
                        "causal): use 'valid' or 'same'");
    }
    return arg_err(c, g, what, "'valid' or 'same'");
}

/* Is the value None, or the given boolean? */
static int is_none_or(const kval *v, int b) {
    return v->kind == V_NONE ||
           ((v->kind == V_BOOL || v->kind == V_NUM) && v->is_int && v->num == b);
}

/* A Keras shape, channels last, without the batch (drop: its first item is the batch).
 * With an input override, a shape it cannot read is left unknown instead of an error. */
static int read_shape(ctx *c, const karg *g, int drop, on_shape *s, int *known) {
    const kval *v = &g->v;
    const kval *items = v;
    int n = 1;
    char b[64];
    *known = 0;
    src(c, g->tok, g->end, b, sizeof b);
    if (v->kind == V_TUPLE || v->kind == V_LIST)
        items = v->items, n = v->n;
    else if (v->kind != V_NUM || drop) {
        if (c->override) return 0;
        if (v->kind == V_OPAQUE || v->kind == V_PATH)
            return fail(c, g->tok,
                        "the input shape '%s' is not known to ordnet: write it out, e.g. "
                        "shape=(28, 28, 1), or give the input shape to the reader",
                        b);
        return arg_err(c, g, "an input shape", "a tuple such as (28, 28, 1)");
    }
    if (drop && n > 0)
        items++, n--;
    else if (drop)
        n = 0;
    if (n < 1 || n > 3) {
        if (c->override) return 0;
        return fail(c, g->tok,
                    "input shape %s has %d dimensions: ordnet reads (height, width, channels), "
                    "(steps, channels) or (features,), channels last",
                    b, n);
    }
    int d[3] = {1, 1, 1};
    for (int i = 0; i < n; i++) {
        const kval *x = &items[i];
        if (x->kind == V_NUM && x->is_int && x->num >= 1 && x->num <= MAX_DIM) {
            d[i] = (int)x->num;
            continue;
        }
        if (c->override) return 0;
        if (x->kind == V_NONE)
            return fail(c, g->tok,
                        "input shape %s has a dimension None: ordnet needs fixed sizes "
                        "(write the size, or give the input shape to the reader)",
                        b);
        return fail(c, g->tok, "input shape %s: dimensions must be integers from 1 to %d", b,
                    MAX_DIM);
    }
    /* Keras 1 code written for Theano's layout often says nothing about it: an image shape
     * such as (3, 224, 224) or (1, 28, 28) is channels first */
    if (n == 3 && !c->chfirst && !c->chfirst_decided && (d[0] == 1 || d[0] == 3) && d[1] > 4 &&
        d[2] > 4)
        c->chfirst = c->chfirst_guess = 1, c->chfirst_tok = g->tok;
    c->chfirst_decided = 1;
    if (n == 1)
        *s = (on_shape){1, d[0], 1, 1};
    else if (n == 2 && c->chfirst)
        *s = (on_shape){2, d[0], 1, d[1]};
    else if (n == 2)
        *s = (on_shape){2, d[1], 1, d[0]};
    else if (c->chfirst)
        *s = (on_shape){3, d[0], d[1], d[2]};
    else
        *s = (on_shape){3, d[2], d[0], d[1]};
    if (on_shape_size(*s) > (1u << 28)) {
        if (c->override) return 0;
        return fail(c, g->tok, "input shape %s is too large (%zu values per sample)", b,
                    on_shape_size(*s));
    }
    *known = 1;
    return 0;
}

static int check_dtype(ctx *c, const karg *g) {
    const kval *v = &g->v;
    const char *s = v->kind == V_STR ? v->s : v->kind == V_PATH ? v->s : NULL;
    if (s && strrchr(s, '.') && v->kind == V_PATH) s = strrchr(s, '.') + 1;
    if (v->kind == V_NONE || (s && !strcmp(s, "float32"))) return 0;
    return arg_err(c, g, "dtype", "'float32' (ordnet computes in float32)");
}

/* ------------------------------------------------------------------------------------ */
/* Layers                                                                               */

static const kclass *find_class(const char *name) {
    for (int i = 0; i < NCLASSES; i++)
        if (!strcmp(classes[i].name, name)) return &classes[i];
    return NULL;
}

/* The i-th word of a space-separated list into buf; 0 when there is none. */
static int nth_word(const char *list, int i, char *buf, size_t n) {
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
        return fail(c, g->tok, "%s's activation must be a name such as 'relu', got %s",
                    L->cls->name, src(c, g->tok, g->end, b, sizeof b));
    for (char *q = nm; *q; q++) *q = (char)tolower((unsigned char)*q);
    int k = 0;
    while (k < NACTS && strcmp(acts[k].keras, nm)) k++;
    if (k == NACTS) {
        char all[256], sg[64];
        size_t o = 0;
        for (int i = 0; i < NACTS && o + 16 < sizeof all; i++)
            o += (size_t)snprintf(all + o, sizeof all - o, "%s ", acts[i].keras);
        return fail(c, g->tok, "unknown activation '%s'%s (ordnet has: %s)", nm,
                    suggest(nm, all, NULL, sg, sizeof sg), act_list(list, sizeof list));
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
            return arg_err(c, g, what, "a string of 1 to 63 characters");
        snprintf(L->name, sizeof L->name, "%s", v->s);
        return 0;
    }
    if (IS("dtype")) return check_dtype(c, g);
    if (IS("trainable")) {
        if (want_bool(c, g, what, &t)) return -1;
        if (!t)
            return fail(
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
            return arg_err(c, g, what, "'channels_last' or 'channels_first'");
        if (first != c->chfirst)
            return fail(c, g->tok,
                        "%s='%s', but the code is read channels-%s (from %s): ordnet reads "
                        "models whose layers all use one layout",
                        key, s, c->chfirst ? "first" : "last",
                        c->chfirst_tok ? where(c, c->chfirst_tok, w, sizeof w) : "Keras's default");
        return 0;
    }
    if (k->kind == K_EMBEDDING && IS("input_dim")) { /* the vocabulary, not a shape */
        L->given_kernel = 1;
        return want_int(c, g, what, 1, MAX_DIM, &L->a.vocab);
    }
    if (k->kind == K_EMBEDDING && IS("input_length")) { /* the sequence: the input shape */
        if (v->kind == V_NONE) return 0;
        if (want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
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
            return read_shape(c, g, IS("batch_input_shape") || IS("batch_shape"), &L->input,
                              &L->input_known);
        if (want_int(c, g, what, 1, MAX_DIM, &t)) return -1;
        L->input = L->in_len ? (on_shape){2, t, 1, L->in_len} : (on_shape){1, t, 1, 1};
        L->input_known = 1;
        return 0;
    }
    if (IS("input_length")) { /* Keras 1: (input_length, input_dim) is the input shape */
        if (v->kind == V_NONE) return 0;
        if (want_int(c, g, what, 1, MAX_DIM, &L->in_len)) return -1;
        L->in_len_tok = g->tok;
        if (L->has_input && L->input_known && L->input.rank == 1)
            L->input = (on_shape){2, L->input.c, 1, L->in_len};
        return 0;
    }
    if (IS("batch_size") || IS("autocast") || IS("dynamic") ||
        in_list(ignored_keys, key, strlen(key)))
        return 0;
    switch (k->kind) {
    case K_IDENTITY:
        return 0; /* the arguments of augmentation and noise change nothing at inference */
    case K_MERGE:
        if (IS("axis")) return want_int(c, g, what, -4, 4, &L->axis);
        break;
    case K_EMBEDDING:
        if (IS("output_dim")) {
            L->given_units = 1;
            return want_int(c, g, what, 1, MAX_DIM, &L->a.units);
        }
        if (IS("mask_zero")) {
            if (is_none_or(v, 0)) return 0;
            return fail(c, g->tok,
                        "mask_zero=True is not supported: ordnet's layers do not carry masks");
        }
        if (IS("dropout")) { /* Keras 1: whole words dropped in training; no weights */
            if (v->kind == V_NUM && v->num == 0) return 0;
            if (want_num(c, g, what, 0, 1, 1, &d)) return -1;
            note_identity(c, "embedding dropout");
            return 0;
        }
        if (IS("lora_rank")) {
            if (v->kind == V_NONE) return 0;
            return fail(c, g->tok, "Embedding's lora_rank is not supported");
        }
        return 0; /* initializers, regularizers, constraints */
    case K_UPSAMPLE:
        if (IS("size")) {
            int h, w;
            if (want_pair(c, g, what, r, 1, 4096, &h, &w)) return -1;
            L->a.scale_h = (float)h, L->a.scale_w = (float)w;
            return 0;
        }
        if (IS("interpolation")) {
            const char *m = v->kind == V_STR ? v->s : "";
            if (!strcmp(m, "nearest")) return L->a.mode = ON_RESIZE_NEAREST, 0;
            if (!strcmp(m, "bilinear")) return L->a.mode = ON_RESIZE_LINEAR, 0;
            return arg_err(c, g, what, "'nearest' or 'bilinear'");
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
        if (num_like(v) && v->is_int && v->num >= 0 && v->num <= 65536) {
            for (int k = r == 3 ? 0 : 2; k < 4; k++) amt[k] = (int)v->num;
        } else if (it && n == 2 && num_like(&it[0]) && num_like(&it[1])) {
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
                ok = ok && num_like(q[k]) && q[k]->is_int && q[k]->num >= 0 && q[k]->num <= 65536;
                amt[k] = ok ? (int)q[k]->num : 0;
            }
        } else
            ok = 0;
        if (!ok) return arg_err(c, g, what, want);
        memcpy(L->a.pad, amt, sizeof amt);
        return 0;
    }
    case K_RESHAPE:
        if (IS("target_shape")) {
            const kval *it = v->kind == V_TUPLE || v->kind == V_LIST ? v->items : v;
            int n = v->kind == V_TUPLE || v->kind == V_LIST ? v->n : 1, dd[3];
            if (n < 1 || n > 3)
                return arg_err(c, g, what, "a shape of 1 to 3 dimensions, e.g. (7, 7, 128)");
            for (int k = 0; k < n; k++) {
                if (!num_like(&it[k]) || !it[k].is_int || it[k].num == 0 || it[k].num < -1 ||
                    it[k].num > MAX_DIM)
                    return arg_err(c, g, what, "a shape of integers (-1 for one of them)");
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
                return fail(c, g->tok,
                            "LayerNormalization over several axes is not supported (one axis)");
            return want_int(c, g, what, -4, 4, &L->axis);
        }
        if (IS("epsilon")) {
            if (want_num(c, g, what, 1e-30, 1e30, 0, &d)) return -1;
            L->a.eps = (float)d;
            return 0;
        }
        if (IS("center") || IS("scale")) {
            if (want_bool(c, g, what, &t)) return -1;
            if (!t)
                return fail(c, g->tok,
                            "%s=False is not supported: ordnet's layer normalization learns a "
                            "scale and a shift",
                            key);
            return 0;
        }
        if (IS("rms_scaling")) {
            if (is_none_or(v, 0)) return 0;
            return fail(c, g->tok, "rms_scaling=True is not supported");
        }
        return 0;
    case K_PERMUTE:
        return 0;
    case K_NOISE:
        if (IS("rate")) {
            L->given_rate = 1;
            if (want_num(c, g, what, 0, 1, 1, &d)) return -1;
            L->a.rate = (float)d;
            return 0;
        }
        if (IS("stddev")) {
            L->given_rate = 1;
            if (want_num(c, g, what, 0, 1e30, 0, &d)) return -1;
            L->a.stddev = (float)d;
            return 0;
        }
        if (IS("seed")) {
            if (v->kind == V_NONE) return 0;
            if (want_int(c, g, what, 0, 2147483647, &t)) return -1;
            L->a.seed = (uint64_t)t;
            return 0;
        }
        break;
    case K_RESCALING:
        if (IS("scale") || IS("offset")) {
            if (want_num(c, g, what, -1e30, 1e30, 0, &d)) return -1;
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
            return want_int(c, g, what, 1, 4096, &L->depth_mult);
        if (IS("output_padding") && k->kind == K_CONVT) {
            if (v->kind == V_NONE) return 0;
            int oh, ow;
            if (want_pair(c, g, what, r, 0, MAX_WINDOW, &oh, &ow)) return -1;
            L->a.opad[0] = r == 3 ? oh : 0;
            L->a.opad[1] = ow;
            return 0;
        }
        if (IS("filters") || IS("units")) {
            L->given_units = 1;
            return want_int(c, g, what, 1, MAX_DIM, &L->a.units);
        }
        if (IS("kernel_size")) {
            L->given_kernel = 1;
            return want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.kh, &L->a.kw);
        }
        if (IS("nb_row") || IS("nb_col")) { /* Keras 1 */
            L->given_kernel |= IS("nb_row") ? 2 : 4;
            return want_int(c, g, what, 1, MAX_WINDOW, IS("nb_row") ? &L->a.kh : &L->a.kw);
        }
        if (IS("strides")) return want_pair(c, g, what, r, 1, MAX_DIM, &L->a.sh, &L->a.sw);
        if (IS("dilation_rate")) return want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.dh, &L->a.dw);
        if (IS("padding")) return want_padding(c, g, what, &L->a.pad_mode);
        if (IS("use_bias")) return want_bool(c, g, what, &L->a.bias);
        if (IS("activation")) return set_activation(c, L, g, 0);
        if (IS("groups")) return want_int(c, g, what, 1, MAX_DIM, &L->a.groups);
        break;
    case K_BN:
        if (IS("axis")) return want_int(c, g, what, -4, 4, &L->axis);
        if (IS("momentum")) {
            if (want_num(c, g, what, 0, 1, 0, &d)) return -1;
            L->a.momentum =
                (float)(1.0 - d); /* Keras weights the old statistics, ordnet the batch */
            return 0;
        }
        if (IS("epsilon")) {
            if (want_num(c, g, what, 1e-30, 1e30, 0, &d)) return -1;
            L->a.eps = (float)d;
            return 0;
        }
        if (IS("center") || IS("scale")) {
            if (want_bool(c, g, what, &t)) return -1;
            if (!t)
                return fail(c, g->tok,
                            "%s=False is not supported: ordnet's batch normalization always "
                            "learns a scale (gamma) and a shift (beta)",
                            key);
            return 0;
        }
        if (IS("renorm") || IS("renorm_clipping") || IS("virtual_batch_size") || IS("adjustment")) {
            if (is_none_or(v, 0)) return 0;
            return fail(c, g->tok, "BatchNormalization's %s is not supported", key);
        }
        if (IS("mode")) {
            if (v->kind == V_NUM && v->num == 0) return 0;
            return fail(c, g->tok, "BatchNormalization's mode=%s (Keras 1) is not supported",
                        src(c, g->tok, g->end, b, sizeof b));
        }
        if (IS("renorm_momentum") || IS("fused") || IS("synchronized")) return 0;
        break;
    case K_ACTIVATION:
        if (IS("activation")) return set_activation(c, L, g, 1);
        break;
    case K_RELU:
        if (IS("max_value")) {
            if (v->kind == V_NONE) return 0;
            if (want_num(c, g, what, 0, 1e30, 0, &L->max_value)) return -1;
            L->max_tok = g->tok;
            return 0;
        }
        if (IS("negative_slope")) return want_num(c, g, what, 0, 1e30, 0, &L->neg_slope);
        if (IS("threshold")) {
            if (v->kind == V_NUM && v->num == 0) return 0;
            return fail(c, g->tok, "ReLU's threshold must be 0 (ordnet has no thresholded ReLU)");
        }
        break;
    case K_LEAKY:
    case K_ELU:
        if (IS("alpha") || IS("negative_slope")) {
            if (want_num(c, g, what, -1e30, 1e30, 0, &d)) return -1;
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
                    return arg_err(c, g, what, "axes from 1 to 3, e.g. [1, 2]");
                L->shared |= 1 << (int)it[i].num;
            }
            return 0;
        }
        break;
    case K_SOFTMAX:
        if (IS("axis")) {
            if (v->kind == V_NUM && v->num == -1) return 0;
            return fail(c, g->tok, "Softmax over axis %s is not supported (only the last axis, -1)",
                        src(c, g->tok, g->end, b, sizeof b));
        }
        break;
    case K_POOL:
        if (IS("pool_size")) return want_pair(c, g, what, r, 1, MAX_WINDOW, &L->a.kh, &L->a.kw);
        if (IS("strides")) {
            if (v->kind == V_NONE) return L->a.sh = L->a.sw = 0, 0; /* None: the pool size */
            return want_pair(c, g, what, r, 1, MAX_DIM, &L->a.sh, &L->a.sw);
        }
        if (IS("padding")) return want_padding(c, g, what, &L->a.pad_mode);
        break;
    case K_GAP:
        if (IS("keepdims")) {
            if (is_none_or(v, 0)) return 0;
            return fail(c, g->tok,
                        "keepdims=True is not supported: ordnet's global pooling gives a flat "
                        "(None, channels) output");
        }
        break;
    case K_DROPOUT:
        if (IS("rate")) {
            L->given_rate = 1;
            if (want_num(c, g, what, 0, 1, 1, &d)) return -1;
            L->a.rate = (float)d;
            return 0;
        }
        if (IS("noise_shape")) {
            if (v->kind == V_NONE) return 0;
            return fail(c, g->tok,
                        "Dropout's noise_shape is not supported (ordnet drops single values)");
        }
        if (IS("seed")) {
            if (v->kind == V_NONE) return 0;
            if (want_int(c, g, what, 0, 2147483647, &t)) return -1;
            L->a.seed = (uint64_t)t;
            return 0;
        }
        break;
    case K_INPUTLAYER:
        if (IS("input_tensor") || IS("sparse") || IS("ragged")) {
            if (is_none_or(v, 0)) return 0;
            return fail(c, g->tok, "InputLayer's %s is not supported", key);
        }
        break;
    default:
        break;
    }
#undef IS
    return fail(c, g->key >= 0 ? g->key : g->tok, "%s: argument '%s' is not supported", k->name,
                key);
}

static int do_layer(ctx *c, const kclass *k, int ft, const kargs *A, kval *out) {
    char list[512], sg[64];
    klayer *L = cx_alloc(c, sizeof *L);
    if (!L) return oom(c, ft);
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
        if (kt && in_list("nb_filter nb_row nb_col filter_length border_mode subsample "
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
        src(c, A->a[1].tok, A->a[1].end, b1, sizeof b1);
        src(c, A->a[2].tok, A->a[2].end, b2, sizeof b2);
        return fail(c, A->a[2].tok,
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
            if (!nth_word(args, npos, key, sizeof key))
                return fail(c, g->tok, "%s takes at most %d positional arguments (%s)", k->name,
                            npos, *k->args ? commas(k->args, list, sizeof list) : "none");
            npos++;
        } else {
            const tok *kt = &c->t[g->key];
            snprintf(key, sizeof key, "%.*s", kt->len > 39 ? 39 : kt->len, c->text + kt->off);
            for (size_t j = 0; j < sizeof old_keys / sizeof old_keys[0]; j++)
                if (!strcmp(key, old_keys[j][0]) && !in_list(k->args, key, strlen(key)) &&
                    !in_list(k->more, key, strlen(key)))
                    snprintf(key, sizeof key, "%s", old_keys[j][1]);
            size_t kl = strlen(key);
            if (kt->len > 39 ||
                !(in_list(k->args, key, kl) || in_list(k->more, key, kl) ||
                  in_list(common_keys, key, kl) || in_list(ignored_keys, key, kl))) {
                char all[512];
                snprintf(all, sizeof all, "%s %s", k->args, k->more);
                return fail(c, g->key, "%s has no argument '%s'%s (it takes: %s)", k->name, key,
                            suggest(key, all, common_keys, sg, sizeof sg),
                            *k->args ? commas(k->args, list, sizeof list) : "name");
            }
        }
        for (int j = 0; j < nkeys; j++)
            if (!strcmp(keys[j], key))
                return fail(c, g->key >= 0 ? g->key : g->tok, "%s got '%s' twice", k->name, key);
        if (nkeys < 24) snprintf(keys[nkeys++], sizeof keys[0], "%s", key);
        if (set_arg(c, L, key, g)) return -1;
    }
    switch (k->kind) {
    case K_DWCONV:
        if (!L->given_kernel)
            return fail(c, ft, "%s needs kernel_size, e.g. %s(3)", k->name, k->name);
        break;
    case K_CONV:
    case K_SEPCONV:
    case K_CONVT:
        if (!L->given_units)
            return fail(c, ft, "%s needs filters, the number of output channels, e.g. %s(32, 3)",
                        k->name, k->name);
        if (!L->given_kernel)
            return fail(c, ft, "%s needs kernel_size, e.g. %s(%d, 3)", k->name, k->name,
                        L->a.units);
        if (L->given_kernel & 6 && (L->given_kernel & 6) != 6)
            return fail(c, ft, "%s needs both nb_row and nb_col (Keras 1), e.g. %s(%d, 3, 3)",
                        k->name, k->name, L->a.units);
        if ((L->a.sh > 1 || L->a.sw > 1) && (L->a.dh > 1 || L->a.dw > 1))
            return fail(
                c, ft,
                "%s: strides > 1 together with dilation_rate > 1 is not supported (nor in Keras)",
                k->name);
        break;
    case K_DENSE:
        if (!L->given_units)
            return fail(c, ft, "Dense needs units, the number of outputs, e.g. Dense(10)");
        break;
    case K_ACTIVATION:
        if (!L->given_act) return fail(c, ft, "Activation needs a name, e.g. Activation('relu')");
        break;
    case K_EMBEDDING:
        if (!L->given_kernel || !L->given_units)
            return fail(c, ft,
                        "Embedding needs input_dim (the vocabulary) and output_dim, e.g. "
                        "Embedding(10000, 128)");
        break;
    case K_RESHAPE:
        if (!L->given_units)
            return fail(c, ft, "Reshape needs target_shape, e.g. Reshape((7, 7, 128))");
        break;
    case K_NOISE:
        if (!L->given_rate)
            return fail(c, ft, "%s needs its %s, e.g. %s(0.1)", k->name,
                        strstr(k->name, "Noise") ? "stddev" : "rate", k->name);
        break;
    case K_RESCALING:
        if (!L->given_units)
            return fail(c, ft, "Rescaling needs a scale, e.g. Rescaling(1.0 / 255)");
        break;
    case K_DROPOUT:
        if (!L->given_rate)
            return fail(c, ft, "Dropout needs rate, the fraction dropped, e.g. Dropout(0.2)");
        break;
    case K_RELU:
        if (L->max_tok >= 0 && L->neg_slope > 0)
            return fail(c, L->max_tok,
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
    *out = mk(V_LAYER, ft);
    out->layer = L;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Applying layers                                                                      */

static const char *rank_text(int rank) {
    return rank == 1   ? "a flat input (None, features)"
           : rank == 2 ? "a 1-D input (None, steps, channels)"
                       : "a 2-D input (None, height, width, channels)";
}

static int softmax_mid(ctx *c, int smtok, const klayer *L) {
    char w[32];
    return fail(c, smtok,
                "softmax in the middle of the model (%s at %s comes after it): ordnet's loss "
                "applies softmax itself, so softmax may only end the model; remove it or use "
                "another activation",
                L->cls->name, where(c, L->tok, w, sizeof w));
}

/* Keras's axis of a layer output (the batch is axis 0) as ordnet's axis of the per-sample
 * shape (channels first) of rank `rank`; -1 for the batch or out of range. */
static int keras_axis(const ctx *c, int kaxis, int rank) {
    if (kaxis < 0) kaxis += rank + 1;
    if (kaxis < 1 || kaxis > rank) return -1;
    int j = kaxis - 1; /* per-sample, in Keras's order */
    if (c->chfirst || rank == 1) return j;
    return j == rank - 1 ? 0 : j + 1; /* channels last: (h, w, c) -> (c, h, w) */
}

/* Layers read as the identity: named in one note. */
static void note_identity(ctx *c, const char *nm) {
    size_t o = strlen(c->ident);
    if (o + strlen(nm) + 8 < sizeof c->ident)
        snprintf(c->ident + o, sizeof c->ident - o, "%s%s", o ? ", " : "", nm);
    else if (o + 5 < sizeof c->ident && !strstr(c->ident, "..."))
        snprintf(c->ident + o, sizeof c->ident - o, ", ...");
}

/* Append layer L to m, fed by nodes in[0..nin). *out: its output node; *sm: the token of a
 * softmax it applies (folded later if it ends the model), -1 none. */
static int apply(ctx *c, on_model *m, klayer *L, const int *in, int nin, int *out, int *sm) {
    const kclass *k = L->cls;
    on_error e2;
    char nm[ON_NAME_MAX], ks[64];
    *sm = -1;
    if (k->kind == K_INPUTLAYER)
        return fail(c, L->tok,
                    "InputLayer can only start a Sequential model; in the functional API use "
                    "Input(shape=...)");
    if (m->nn + nin + 1 > MAX_LAYERS)
        return fail(c, L->tok, "the model has more than %d layers", MAX_LAYERS);
    if (L->name[0])
        snprintf(nm, sizeof nm, "%s", L->name);
    else
        on_keras_unique_name(m, k->snake, nm);
    if (k->kind == K_MERGE) {
        if (nin < 2)
            return fail(c, L->tok,
                        "%s needs a list of at least two layer outputs, e.g. %s()([x, y])", k->name,
                        k->name);
        on_attrs a = L->a;
        if (!strcmp(L->op->name, "concat")) {
            int rank = m->nodes[in[0]].ys.rank, ax = keras_axis(c, L->axis, rank);
            if (ax < 0)
                return fail(c, L->tok, "Concatenate(axis=%d) on inputs of %d dimensions", L->axis,
                            rank + 1);
            a.axis = ax;
        }
        int node = on_model_add_merge(m, L->op, &a, in, nin, nm, &e2);
        if (node < 0) return fail(c, L->tok, "%s", e2.msg);
        *out = node;
        return 0;
    }
    if (nin != 1) return fail(c, L->tok, "%s takes one input, got a list of %d", k->name, nin);
    on_shape xs = m->nodes[in[0]].ys;
    on_keras_shape_str(xs, ks, sizeof ks);
    if (k->rank && xs.rank != k->rank) {
        const char *hint =
            k->rank == 1   ? (xs.rank == 3 ? ": add Flatten() or GlobalAveragePooling2D() before it"
                                           : ": add Flatten() or GlobalAveragePooling1D() before it")
            : xs.rank == 1 ? ": its input is already flat"
                           : "";
        return fail(c, L->tok, "layer '%s' (%s) needs %s, got %s from '%s'%s", nm, k->name,
                    rank_text(k->rank), ks, m->nodes[in[0]].name, hint);
    }
    if (k->kind == K_BN && c->chfirst && !(L->axis == 1 || (xs.rank == 1 && L->axis == -1)))
        return fail(c, L->tok,
                    "BatchNormalization(axis=%d) in channels-first code normalizes over axis %d "
                    "(%s); ordnet normalizes over the channels, axis 1 here: write "
                    "BatchNormalization(axis=1)",
                    L->axis, L->axis,
                    L->axis == -1 ? "the last one, the width" : "not the channels");
    if (k->kind == K_BN && !c->chfirst && L->axis != -1 && L->axis != xs.rank)
        return fail(c, L->tok,
                    "BatchNormalization(axis=%d) on %s normalizes over axis %d; ordnet normalizes "
                    "over the channels, the last axis (axis=-1)",
                    L->axis, ks, L->axis);
    if (k->kind == K_PRELU) {
        int want = xs.rank == 3 ? 6 : xs.rank == 2 ? 2 : 0, got = L->shared < 0 ? 0 : L->shared;
        const char *fix = want == 6 ? "[1, 2]" : want == 2 ? "[1]" : "None";
        if (got != want && got == 0)
            return fail(
                c, L->tok,
                "PReLU on %s learns one slope per value in Keras; ordnet's PReLU learns one "
                "per channel: write PReLU(shared_axes=%s)",
                ks, fix);
        if (got != want)
            return fail(c, L->tok,
                        "PReLU on %s: shared_axes must be %s (one slope per channel, as ordnet's "
                        "PReLU learns)",
                        ks, fix);
    }
    if (!L->op) { /* softmax alone: no node; the tensor carries it */
        *out = in[0];
        *sm = L->softmax;
        return 0;
    }
    if (k->kind == K_PERMUTE)
        return fail(c, L->tok,
                    "Permute is not read: its axes are Keras's channels-last ones, which ordnet "
                    "stores channels first");
    int from = in[0];
    on_attrs a = L->a;
    if (k->kind == K_LAYERNORM) {
        a.axis = keras_axis(c, L->axis, xs.rank);
        if (a.axis < 0) return fail(c, L->tok, "LayerNormalization(axis=%d) on %s", L->axis, ks);
    }
    if (k->kind == K_RESHAPE && a.ndims > 1 && !c->chfirst && !c->reshape_tok)
        c->reshape_tok = L->tok;
    if (k->kind == K_DWCONV || k->kind == K_SEPCONV) /* one group per input channel */
        a.groups = xs.c, a.units = xs.c * L->depth_mult, a.bias = k->kind == K_DWCONV && a.bias;
    if (k->kind == K_IDENTITY) note_identity(c, nm);
    if (k->kind == K_SEPCONV) { /* the depthwise part, then a 1x1 convolution */
        char base[ON_NAME_MAX + 16], dn[ON_NAME_MAX];
        double total = on_keras_param_estimate(L->op, &a, xs) + (double)m->np + (double)m->ns;
        if (total > (double)ON_MAX_MODEL_PARAMS)
            return fail(c, L->tok,
                        "layer '%s' (%s) on %s would bring the model to %.0f parameters; ordnet "
                        "reads models of at most %zu",
                        nm, k->name, ks, total, (size_t)ON_MAX_MODEL_PARAMS);
        snprintf(base, sizeof base, "%s_depthwise", nm);
        on_keras_unique_name(m, base, dn);
        if ((from = on_model_add_at(m, from, L->op, &a, dn, &e2)) < 0)
            return fail(c, L->tok, "%s", e2.msg);
        xs = m->nodes[from].ys;
        on_keras_shape_str(xs, ks, sizeof ks);
        a = L->op->defaults;
        a.units = L->a.units;
        a.kh = a.kw = 1;
        a.bias = L->a.bias;
    }
    double total = on_keras_param_estimate(L->op, &a, xs) + (double)m->np + (double)m->ns;
    if (total > (double)ON_MAX_MODEL_PARAMS)
        return fail(c, L->tok,
                    "layer '%s' (%s) on %s would bring the model to %.0f parameters; ordnet reads "
                    "models of at most %zu",
                    nm, k->name, ks, total, (size_t)ON_MAX_MODEL_PARAMS);
    int node = on_model_add_at(m, from, L->op, &a, nm, &e2);
    if (node < 0) return fail(c, L->tok, "%s", e2.msg);
    if (L->act) {
        char base[ON_NAME_MAX + 20], an[ON_NAME_MAX];
        snprintf(base, sizeof base, "%s_%s", m->nodes[node].name, L->act_name);
        on_keras_unique_name(m, base, an);
        if ((node = on_model_add_at(m, node, L->act, &L->act_a, an, &e2)) < 0)
            return fail(c, L->tok, "%s", e2.msg);
    }
    *out = node;
    *sm = L->softmax;
    return 0;
}

/* The functional graph's node of tensor t; the first Input a layer meets creates the graph. */
static int g_node(ctx *c, const kval *t, int *node) {
    char w1[32], w2[32];
    if (t->node >= 0) return *node = t->node, 0;
    kinput *in = t->input;
    if (!c->g) {
        on_error e2;
        on_shape s = c->override ? *c->override : in->shape;
        if (!c->override && !in->known)
            return fail(c, in->tok, "the shape of this Input is not known");
        if (!(c->g = on_model_new(s, &e2))) return fail(c, in->tok, "%s", e2.msg);
        if (in->name[0]) snprintf(c->g->nodes[0].name, ON_NAME_MAX, "%s", in->name);
        c->g_in = in;
    } else if (c->g_in != in)
        return fail(c, in->tok,
                    "a second Input (this one, used at %s): ordnet models have one input, "
                    "the Input at %s",
                    where(c, t->tok, w1, sizeof w1), where(c, c->g_in->tok, w2, sizeof w2));
    *node = 0;
    return 0;
}

/* x.shape of a layer output: Keras's tuple, the batch as None, channels last (first in
 * channels-first code). */
static int tensor_shape(ctx *c, kval *v, int at) {
    on_shape sh;
    if (v->node >= 0 && c->g)
        sh = c->g->nodes[v->node].ys;
    else if (v->input && (c->override || v->input->known))
        sh = c->override ? *c->override : v->input->shape;
    else
        return fail(c, at, "the shape of this Input is not known");
    int d[4] = {0}, n = 1;
    if (sh.rank == 1)
        d[n++] = sh.c;
    else if (sh.rank == 2 && c->chfirst)
        d[n++] = sh.c, d[n++] = sh.w;
    else if (sh.rank == 2)
        d[n++] = sh.w, d[n++] = sh.c;
    else if (c->chfirst)
        d[n++] = sh.c, d[n++] = sh.h, d[n++] = sh.w;
    else
        d[n++] = sh.h, d[n++] = sh.w, d[n++] = sh.c;
    kval it[4];
    it[0] = mk(V_NONE, at);
    for (int k = 1; k < n; k++) it[k] = num_val(d[k], 1, at);
    int tok0 = v->tok;
    if (make_seq(c, V_TUPLE, it, n, at, v)) return -1;
    v->tok = tok0;
    v->end = at + 1;
    return 0;
}

/* Functional application: layer L on tensors ins[0..nin). */
static int apply_fn2(ctx *c, klayer *L, const kval *ins, int nin, kval *out, int again);
static int apply_fn(ctx *c, klayer *L, const kval *ins, int nin, kval *out) {
    return apply_fn2(c, L, ins, nin, out, 0);
}

/* again: L belongs to a Sequential model applied here as a layer. */
static int apply_fn2(ctx *c, klayer *L, const kval *ins, int nin, kval *out, int again) {
    char b[64], w[32];
    if (L->used && !again)
        return fail(c, L->tok,
                    "this %s is used a second time: shared layers (one set of weights in two "
                    "places) are not supported; create a new layer",
                    L->cls->name);
    if (nin < 1)
        return fail(c, L->tok, "%s is applied to an empty list: it needs a layer output",
                    L->cls->name);
    int *nodes = cx_alloc(c, sizeof(int) * (size_t)nin);
    if (!nodes) return oom(c, L->tok);
    for (int i = 0; i < nin; i++) {
        const kval *t = &ins[i];
        if (t->kind != V_TENSOR)
            return fail(c, L->tok, "%s is applied to %s '%s' (from %s), not to a layer output",
                        L->cls->name, kind_name(t), src(c, t->tok, t->end, b, sizeof b),
                        where(c, t->tok, w, sizeof w));
        if (t->softmax >= 0) return softmax_mid(c, t->softmax, L);
        if (g_node(c, t, &nodes[i])) return -1;
    }
    L->used = 1;
    int o, sm;
    if (apply(c, c->g, L, nodes, nin, &o, &sm)) return -1;
    *out = mk(V_TENSOR, L->tok);
    out->node = o;
    out->softmax = sm;
    out->input = c->g_in;
    c->g_last = o;
    c->g_softmax = sm;
    c->g_touched = ++c->serial;
    return 0;
}

static int merge_tensors(ctx *c, int tok, const char *cls, const char *name, int axis,
                         const kval *ins, int n, kval *out) {
    klayer *L = cx_alloc(c, sizeof *L);
    if (!L) return oom(c, tok);
    L->cls = find_class(cls);
    L->op = on_op_find(L->cls->op);
    L->a = L->op->defaults;
    L->tok = tok;
    L->softmax = -1;
    L->axis = axis;
    if (name) snprintf(L->name, sizeof L->name, "%s", name);
    return apply_fn(c, L, ins, n, out);
}

/* ------------------------------------------------------------------------------------ */
/* Sequential                                                                           */

static int seq_apply(ctx *c, kseq *s, klayer *L) {
    if (s->last_softmax >= 0) return softmax_mid(c, s->last_softmax, L);
    int in = s->m->nn - 1, o, sm;
    if (apply(c, s->m, L, &in, 1, &o, &sm)) return -1;
    s->last_softmax = sm;
    return 0;
}

static int seq_start(ctx *c, kseq *s, on_shape decl, int known, int tok) {
    on_error e2;
    if (!c->override && !known) return fail(c, tok, "the input shape is not known");
    s->decl = decl;
    s->decl_known = known;
    s->decl_tok = tok;
    if (!(s->m = on_model_new(c->override ? *c->override : decl, &e2)))
        return fail(c, tok, "%s", e2.msg);
    if (s->in_name[0]) snprintf(s->m->nodes[0].name, ON_NAME_MAX, "%s", s->in_name);
    for (int i = 0; i < s->npend; i++)
        if (seq_apply(c, s, s->pend[i])) return -1;
    s->npend = 0;
    return 0;
}

static int seq_add_layer(ctx *c, kseq *s, klayer *L, int at);
static int seq_add(ctx *c, kseq *s, const kval *it, int at) {
    char b[64];
    s->touched = ++c->serial;
    const kinput *in = it->kind == V_TENSOR && it->node < 0 ? it->input : NULL;
    klayer *IL = it->kind == V_LAYER && it->layer->cls->kind == K_INPUTLAYER ? it->layer : NULL;
    if (in || IL) {
        if (s->nlayers || s->m || s->has_input)
            return fail(c, at, "an Input can only be the first item of a Sequential model");
        s->has_input = 1;
        if (in) {
            snprintf(s->in_name, sizeof s->in_name, "%s", in->name);
            return seq_start(c, s, in->shape, in->known, in->tok);
        }
        snprintf(s->in_name, sizeof s->in_name, "%s", IL->name);
        if (!IL->has_input && !c->override)
            return fail(
                c, IL->tok,
                "InputLayer needs input_shape=(...), e.g. InputLayer(input_shape=(28, 28, 1))");
        return seq_start(c, s, IL->input, IL->input_known, IL->has_input ? IL->input_tok : IL->tok);
    }
    if (it->kind == V_TENSOR)
        return fail(c, at,
                    "a Sequential model takes layers, and '%s' is a layer output: write the layer "
                    "itself, e.g. Dense(10) rather than Dense(10)(x)",
                    src(c, it->tok, it->end, b, sizeof b));
    if (it->kind == V_SEQ) { /* its layers, in order */
        kseq *q = it->seq;
        if (q == s) return fail(c, at, "a Sequential model cannot contain itself");
        if (q->inlined)
            return fail(c, at,
                        "this Sequential model is already used inside a model: its weights would "
                        "be shared, which ordnet does not support; make a second one");
        q->inlined = 1;
        if (!s->m && !s->nlayers && !s->has_input && q->m && !q->nall)
            return seq_start(c, s, q->decl, q->decl_known, q->decl_tok);
        if (!s->m && !s->nlayers && !s->has_input && q->m &&
            seq_start(c, s, q->decl, q->decl_known, q->decl_tok))
            return -1;
        for (int k = 0; k < q->nall; k++)
            if (seq_add_layer(c, s, q->all[k], at)) return -1;
        return 0;
    }
    if (it->kind == V_MODEL)
        return fail(c, at,
                    "a functional Model inside a Sequential model is not supported: list its "
                    "layers instead, or build it as keras.Sequential([...])");
    if (it->kind != V_LAYER)
        return fail(c, at, "a Sequential model takes layers, got %s '%s'", kind_name(it),
                    src(c, it->tok, it->end, b, sizeof b));
    klayer *L = it->layer;
    if (L->used)
        return fail(
            c, L->tok,
            "this %s is already in a model: shared layers are not supported; create a new layer",
            L->cls->name);
    L->used = 1;
    return seq_add_layer(c, s, L, at);
}

/* Layer L, the next of Sequential s. */
static int seq_add_layer(ctx *c, kseq *s, klayer *L, int at) {
    if (s->nall == s->acap) {
        int nc = s->acap ? 2 * s->acap : 16;
        klayer **na = cx_alloc(c, sizeof *na * (size_t)nc);
        if (!na) return oom(c, at);
        if (s->nall) memcpy(na, s->all, sizeof *na * (size_t)s->nall);
        s->all = na;
        s->acap = nc;
    }
    s->all[s->nall++] = L;
    if (!s->m && !s->nlayers && !s->has_input && (L->has_input || c->override) &&
        seq_start(c, s, L->input, L->has_input && L->input_known,
                  L->has_input ? L->input_tok : L->tok))
        return -1;
    s->nlayers++;
    if (s->m) return seq_apply(c, s, L);
    if (s->npend == s->pcap) {
        int nc = s->pcap ? 2 * s->pcap : 16;
        klayer **np = cx_alloc(c, sizeof *np * (size_t)nc);
        if (!np) return oom(c, at);
        if (s->npend) memcpy(np, s->pend, sizeof *np * (size_t)s->npend);
        s->pend = np;
        s->pcap = nc;
    }
    s->pend[s->npend++] = L;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Calls                                                                                */

/* Bind call arguments to names: positional ones in the order of `pos`; keywords must be in
 * pos or more. Fills val[k] (NULL when not given) for each name of pos then more. */
static int bind_call(ctx *c, const char *fname, int ft, const kargs *A, const char *pos,
                     const char *more, const karg **val, int nval) {
    char all[256], key[40], sg[64], list[256];
    snprintf(all, sizeof all, "%s %s", pos, more);
    for (int i = 0; i < nval; i++) val[i] = NULL;
    int npos = 0;
    for (int i = 0; i < A->n; i++) {
        const karg *g = &A->a[i];
        int slot = -1;
        if (g->key < 0) {
            if (!nth_word(pos, npos, key, sizeof key))
                return fail(c, g->tok, "%s takes at most %d positional arguments (%s)", fname, npos,
                            commas(pos, list, sizeof list));
            slot = npos++;
        } else {
            const tok *kt = &c->t[g->key];
            snprintf(key, sizeof key, "%.*s", kt->len > 39 ? 39 : kt->len, c->text + kt->off);
            for (int k = 0; nth_word(all, k, list, sizeof list); k++)
                if (!strcmp(list, key)) slot = k;
            if (slot < 0 || kt->len > 39)
                return fail(c, g->key, "%s has no argument '%s'%s (it takes: %s)", fname, key,
                            suggest(key, all, NULL, sg, sizeof sg), commas(all, list, sizeof list));
        }
        if (slot >= nval) continue;
        if (val[slot])
            return fail(c, g->key >= 0 ? g->key : g->tok, "%s got '%s' twice", fname, key);
        val[slot] = g;
    }
    (void)ft;
    return 0;
}

static int do_input(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[12];
    if (bind_call(c, "Input", ft, A, "shape batch_size name dtype sparse tensor ragged type_spec",
                  "batch_shape optional", v, 10))
        return -1;
    kinput *in = cx_alloc(c, sizeof *in);
    if (!in) return oom(c, ft);
    in->tok = ft;
    if (v[0] && v[8]) return fail(c, v[8]->key, "Input got both shape and batch_shape");
    if (v[0] && read_shape(c, v[0], 0, &in->shape, &in->known)) return -1;
    if (v[8] && read_shape(c, v[8], 1, &in->shape, &in->known)) return -1;
    if (!v[0] && !v[8] && !c->override)
        return fail(c, ft, "Input needs shape=(...), e.g. Input(shape=(28, 28, 1))");
    if (v[2] && v[2]->v.kind != V_NONE) {
        if (v[2]->v.kind != V_STR || !v[2]->v.s[0] || strlen(v[2]->v.s) >= ON_NAME_MAX)
            return arg_err(c, v[2], "Input's name", "a string of 1 to 63 characters");
        snprintf(in->name, sizeof in->name, "%s", v[2]->v.s);
    }
    if (v[3] && check_dtype(c, v[3])) return -1;
    for (int k = 4; k < 8; k++)
        if (v[k] && !is_none_or(&v[k]->v, 0))
            return fail(c, v[k]->tok, "this argument of Input is not supported");
    if (v[9] && !is_none_or(&v[9]->v, 0))
        return fail(c, v[9]->tok, "optional inputs are not supported");
    *out = mk(V_TENSOR, ft);
    out->input = in;
    return 0;
}

static int do_sequential(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[3];
    if (bind_call(c, "Sequential", ft, A, "layers name", "trainable", v, 3)) return -1;
    kseq *s = cx_alloc(c, sizeof *s);
    if (!s) return oom(c, ft);
    s->tok = ft;
    s->last_softmax = -1;
    s->touched = ++c->serial;
    if (c->nseqs == c->scap) {
        int nc = c->scap ? 2 * c->scap : 8;
        kseq **ns = realloc(c->seqs, sizeof *ns * (size_t)nc);
        if (!ns) return oom(c, ft);
        c->seqs = ns;
        c->scap = nc;
    }
    c->seqs[c->nseqs++] = s;
    if (v[2] && !is_none_or(&v[2]->v, 1))
        return fail(c, v[2]->tok, "trainable=False is not supported");
    if (v[0] && v[0]->v.kind != V_NONE) {
        const kval *l = &v[0]->v;
        if (l->kind != V_LIST && l->kind != V_TUPLE)
            return arg_err(c, v[0], "Sequential's layers", "a list of layers");
        for (int i = 0; i < l->n; i++)
            if (seq_add(c, s, &l->items[i], l->items[i].tok)) return -1;
    }
    *out = mk(V_SEQ, ft);
    out->seq = s;
    return 0;
}

/* A tensor, or a list or tuple of one. */
static const kval *one_tensor(ctx *c, const karg *g, const char *what) {
    const kval *v = &g->v;
    char b[64];
    if ((v->kind == V_LIST || v->kind == V_TUPLE) && v->n == 1)
        v = &v->items[0];
    else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        fail(c, g->tok, "ordnet models have one %s, got %d", what, v->n);
        return NULL;
    }
    if (v->kind != V_TENSOR) {
        fail(c, g->tok, "the model's %s must be a layer output or an Input, got %s '%s'", what,
             kind_name(v), src(c, g->tok, g->end, b, sizeof b));
        return NULL;
    }
    return v;
}

static int do_model(ctx *c, int ft, const kargs *A, kval *out) {
    const karg *v[4];
    char w[32];
    if (bind_call(c, "Model", ft, A, "inputs outputs name", "trainable", v, 4)) return -1;
    if (!v[0] || !v[1])
        return fail(c, ft, "Model needs inputs and outputs, e.g. Model(inputs=inp, outputs=x)");
    const kval *in = one_tensor(c, v[0], "input"), *o = in ? one_tensor(c, v[1], "output") : NULL;
    if (!o) return -1;
    if (in->node >= 0)
        return fail(c, v[0]->tok,
                    "the model's inputs must be the Input itself, not a layer output");
    if (o->node < 0 || !c->g)
        return fail(c, v[1]->tok, "the model has no layers between its input and its output");
    if (c->g_in != in->input)
        return fail(c, v[0]->tok,
                    "the model's input is not the Input its layers start from (at %s)",
                    where(c, c->g_in->tok, w, sizeof w));
    if (v[3] && !is_none_or(&v[3]->v, 1))
        return fail(c, v[3]->tok, "trainable=False is not supported");
    kmodel *md = cx_alloc(c, sizeof *md);
    if (!md) return oom(c, ft);
    md->out = o->node;
    md->softmax = o->softmax;
    md->tok = ft;
    c->model = md;
    c->nmodels++;
    c->model_touched = ++c->serial;
    *out = mk(V_MODEL, ft);
    out->model = md;
    return 0;
}

/* The functions of keras.layers that merge layer outputs, and their classes. */
static const char *const merge_names[][2] = {{"add", "Add"},
                                             {"multiply", "Multiply"},
                                             {"subtract", "Subtract"},
                                             {"average", "Average"},
                                             {"maximum", "Maximum"},
                                             {"minimum", "Minimum"},
                                             {"concatenate", "Concatenate"}};

/* keras.layers.add([a, b]), concatenate([a, b], axis=-1), ... */
static int do_merge_fn(ctx *c, int ft, const char *fn, const char *cls, const kargs *A, kval *out) {
    const karg *v[3];
    int axis = -1;
    if (bind_call(c, fn, ft, A, strcmp(cls, "Concatenate") ? "inputs" : "inputs axis", "name", v,
                  3))
        return -1;
    const karg *name = strcmp(cls, "Concatenate") ? v[1] : v[2];
    if (!v[0] || (v[0]->v.kind != V_LIST && v[0]->v.kind != V_TUPLE))
        return fail(c, ft, "%s needs a list of layer outputs, e.g. %s([x, y])", fn, fn);
    if (!strcmp(cls, "Concatenate") && v[1] &&
        want_int(c, v[1], "concatenate's axis", -4, 4, &axis))
        return -1;
    const char *nm = NULL;
    if (name && name->v.kind != V_NONE) {
        if (name->v.kind == V_STR && name->v.s[0] && strlen(name->v.s) < ON_NAME_MAX)
            nm = name->v.s;
        else if (name->v.kind == V_STR)
            return arg_err(c, name, "the layer's name", "a string of 1 to 63 characters");
    }
    return merge_tensors(c, ft, cls, nm, axis, v[0]->v.items, v[0]->v.n, out);
}

static int is_layer_module(const char *path, size_t plen) {
    if (!plen) return 1;
    const char *last = path;
    for (size_t i = 0; i < plen; i++)
        if (path[i] == '.') last = path + i + 1;
    return in_list(layer_modules, last, (size_t)(path + plen - last));
}

/* The items of a list, tuple or range (ranges are made into lists here: they are at most
 * MAX_ITER long). NULL and an error when v is not one. */
static const kval *items_of(ctx *c, const kval *v, int at, int *n) {
    char b[64];
    if (v->kind == V_LIST || v->kind == V_TUPLE) {
        *n = v->n;
        return v->items ? v->items : v;
    }
    if (v->kind == V_RANGE) {
        long long len =
            v->r2 > 0 ? (v->r1 - v->r0 + v->r2 - 1) / v->r2 : (v->r0 - v->r1 - v->r2 - 1) / -v->r2;
        if (len < 0) len = 0;
        kval *it = cx_alloc(c, sizeof *it * (size_t)(len ? len : 1));
        if (!it) {
            oom(c, at);
            return NULL;
        }
        for (long long k = 0; k < len; k++) {
            it[k] = mk(V_NUM, v->tok);
            it[k].num = (double)(v->r0 + k * v->r2);
            it[k].is_int = 1;
        }
        *n = (int)len;
        return it;
    }
    if (v->kind == V_STR) { /* the characters */
        int len = (int)strlen(v->s);
        kval *it = cx_alloc(c, sizeof *it * (size_t)(len ? len : 1));
        char *chars = cx_alloc(c, 2 * (size_t)len + 1);
        if (!it || !chars) {
            oom(c, at);
            return NULL;
        }
        for (int k = 0; k < len; k++) {
            chars[2 * k] = v->s[k];
            it[k] = mk(V_STR, v->tok);
            it[k].s = chars + 2 * k;
        }
        *n = len;
        return it;
    }
    if (v->kind == V_OPAQUE || v->kind == V_PATH)
        fail(c, at,
             "'%s' is not a value ordnet computes (data, files, the command line): ordnet reads "
             "loops over known lists and ranges; write the items",
             src(c, v->tok, v->end, b, sizeof b));
    else
        fail(c, at, "%s cannot be iterated", kind_name(v));
    return NULL;
}

/* Python's builtins that model code uses: range, len, str, int, float, abs, round, min, max,
 * sum, list, tuple, enumerate, zip. 1: nm is none of them. */
static int call_builtin(ctx *c, int *p, const char *nm, int ft, kval *out) {
    static const char *const names =
        "range len str int float abs round min max sum list tuple enumerate zip";
    if (!in_list(names, nm, strlen(nm))) return 1;
    kargs A;
    int open = *p;
    if (parse_args(c, p, &A)) return -1;
    for (int i = 0; i < A.n; i++)
        if (A.a[i].key >= 0 && strcmp(nm, "enumerate"))
            return fail(c, A.a[i].key, "%s() takes no keyword arguments here", nm);
    const kval *x = A.n ? &A.a[0].v : NULL;
    int at = A.n ? A.a[0].tok : open;
    *out = mk(V_OPAQUE, ft);
    out->end = *p;
    for (int i = 0; i < A.n; i++) /* a value ordnet does not compute: so is the result */
        if (A.a[i].v.kind == V_OPAQUE || A.a[i].v.kind == V_PATH) return 0;
    if (!strcmp(nm, "range")) {
        long long r[3] = {0, 0, 1};
        if (A.n < 1 || A.n > 3) return fail(c, open, "range() takes 1 to 3 arguments");
        for (int i = 0; i < A.n; i++) {
            const kval *a = &A.a[i].v;
            if (!num_like(a) || !a->is_int || fabs(a->num) > 1e15)
                return fail(c, A.a[i].tok, "range() takes integers, got %s", kind_name(a));
            r[A.n == 1 ? 1 : i] = (long long)a->num;
        }
        if (!r[2]) return fail(c, A.a[2].tok, "range() step must not be zero");
        long long len =
            r[2] > 0 ? (r[1] - r[0] + r[2] - 1) / r[2] : (r[0] - r[1] - r[2] - 1) / -r[2];
        if (len > MAX_ITER)
            return fail(c, ft,
                        "range() of %lld items: ordnet's reader runs loops of at most %d "
                        "iterations (model code needs far fewer)",
                        len, MAX_ITER);
        *out = mk(V_RANGE, ft);
        out->r0 = r[0], out->r1 = r[1], out->r2 = r[2];
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "len")) {
        if (A.n != 1) return fail(c, open, "len() takes one argument");
        int n;
        if (x->kind == V_STR)
            n = (int)strlen(x->s);
        else if (x->kind == V_LIST || x->kind == V_TUPLE || x->kind == V_RANGE) {
            if (!items_of(c, x, at, &n)) return -1;
        } else
            return fail(c, at, "len() of %s", kind_name(x));
        *out = num_val(n, 1, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "str")) {
        sbuf s = {0};
        sb_put(&s, "", 0);
        if (x) sb_value_str(&s, x, 0);
        return sb_value(c, &s, ft, *p, out);
    }
    if (!strcmp(nm, "int") || !strcmp(nm, "float") || !strcmp(nm, "abs") || !strcmp(nm, "round")) {
        double d = 0;
        if (A.n < 1 || A.n > 2 || (A.n == 2 && strcmp(nm, "round")))
            return fail(c, open, "%s() takes one argument", nm);
        if (x->kind == V_STR) {
            char *e;
            d = strtod(x->s, &e);
            if (e == x->s || *e) return fail(c, at, "%s() of the string '%.40s'", nm, x->s);
        } else if (num_like(x))
            d = x->num;
        else
            return fail(c, at, "%s() of %s", nm, kind_name(x));
        int is_int = !strcmp(nm, "int") || (!strcmp(nm, "abs") && x->is_int) ||
                     (!strcmp(nm, "round") && A.n == 1);
        if (!strcmp(nm, "int")) d = trunc(d);
        if (!strcmp(nm, "abs")) d = fabs(d);
        if (!strcmp(nm, "round") && A.n == 1) d = nearbyint(d);
        if (!strcmp(nm, "round") && A.n == 2) {
            double k = pow(10, A.a[1].v.num);
            d = nearbyint(d * k) / k;
        }
        *out = num_val(d, is_int, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "min") || !strcmp(nm, "max") || !strcmp(nm, "sum")) {
        const kval *it = NULL;
        int n = 0;
        kval *tmp = NULL;
        if (A.n == 1) {
            if (!(it = items_of(c, x, at, &n))) return -1;
        } else {
            if (!(tmp = cx_alloc(c, sizeof *tmp * (size_t)(A.n + 1)))) return oom(c, ft);
            for (int i = 0; i < A.n; i++) tmp[i] = A.a[i].v;
            it = tmp, n = A.n;
        }
        if (!n && strcmp(nm, "sum")) return fail(c, open, "%s() of an empty list", nm);
        double d = 0;
        int is_int = 1;
        for (int i = 0; i < n; i++) {
            if (!num_like(&it[i])) {
                if (it[i].kind == V_OPAQUE || it[i].kind == V_PATH) return 0;
                return fail(c, open, "%s() of %s", nm, kind_name(&it[i]));
            }
            double v = it[i].num;
            is_int = is_int && it[i].is_int;
            d = !strcmp(nm, "sum")   ? d + v
                : i == 0             ? v
                : !strcmp(nm, "min") ? fmin(d, v)
                                     : fmax(d, v);
        }
        *out = num_val(d, is_int, ft);
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "list") || !strcmp(nm, "tuple")) {
        const kval *it = NULL;
        int n = 0;
        if (A.n > 1) return fail(c, open, "%s() takes at most one argument", nm);
        if (A.n && !(it = items_of(c, x, at, &n))) return -1;
        if (make_seq(c, nm[0] == 'l' ? V_LIST : V_TUPLE, it, n, ft, out)) return -1;
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "enumerate")) {
        const kval *it;
        int n, start = 0;
        if (A.n < 1 || A.n > 2 || A.a[0].key >= 0) return fail(c, open, "enumerate() takes a list");
        if (A.n == 2) {
            if (!num_like(&A.a[1].v) || !A.a[1].v.is_int || fabs(A.a[1].v.num) > 1e9)
                return fail(c, A.a[1].tok, "enumerate()'s start must be an integer");
            start = (int)A.a[1].v.num;
        }
        if (!(it = items_of(c, x, at, &n))) return -1;
        kval *pairs = cx_alloc(c, sizeof *pairs * (size_t)(n ? n : 1));
        if (!pairs) return oom(c, ft);
        for (int i = 0; i < n; i++) {
            kval two[2] = {num_val(start + i, 1, ft), it[i]};
            if (make_seq(c, V_TUPLE, two, 2, ft, &pairs[i])) return -1;
        }
        if (make_seq(c, V_LIST, pairs, n, ft, out)) return -1;
        out->end = *p;
        return 0;
    }
    /* zip */
    const kval *its[8];
    int ns[8], n = -1;
    if (A.n < 1 || A.n > 8) return fail(c, open, "zip() takes 1 to 8 lists");
    for (int k = 0; k < A.n; k++) {
        if (!(its[k] = items_of(c, &A.a[k].v, A.a[k].tok, &ns[k]))) return -1;
        if (n < 0 || ns[k] < n) n = ns[k];
    }
    kval *rows = cx_alloc(c, sizeof *rows * (size_t)(n ? n : 1));
    if (!rows) return oom(c, ft);
    for (int i = 0; i < n; i++) {
        kval row[8];
        for (int k = 0; k < A.n; k++) row[k] = its[k][i];
        if (make_seq(c, V_TUPLE, row, A.n, ft, &rows[i])) return -1;
    }
    if (make_seq(c, V_LIST, rows, n, ft, out)) return -1;
    out->end = *p;
    return 0;
}

static int call_path(ctx *c, int *p, const kval *f, kval *out) {
    const char *path = f->s, *dot = strrchr(path, '.'), *nm = dot ? dot + 1 : path;
    size_t plen = dot ? (size_t)(dot - path) : 0;
    int ft = f->last, layerish = is_layer_module(path, plen);
    kargs A;
    if (plen == 0 && f->unbound) {
        int r = call_builtin(c, p, nm, ft, out);
        if (r != 1) return r;
    }
    const kclass *k = find_class(nm);
    int mf = -1;
    for (int i = 0; i < (int)(sizeof merge_names / sizeof merge_names[0]) && layerish; i++)
        if (!strcmp(nm, merge_names[i][0])) mf = i;
    if (!strcmp(nm, "Input") || !strcmp(nm, "Sequential") || !strcmp(nm, "Model") ||
        !strcmp(nm, "Functional") || mf >= 0 || k) {
        if (parse_args(c, p, &A)) return -1;
        if (!strcmp(nm, "Input")) return do_input(c, ft, &A, out);
        if (!strcmp(nm, "Sequential")) return do_sequential(c, ft, &A, out);
        if (mf >= 0) return do_merge_fn(c, ft, nm, merge_names[mf][1], &A, out);
        if (!k) return do_model(c, ft, &A, out);
        return do_layer(c, k, ft, &A, out);
    }
    if (!strcmp(nm, "image_data_format") || !strcmp(nm, "image_dim_ordering")) {
        /* keras.backend's layout: Keras's default unless the code sets channels first */
        if (parse_args(c, p, &A)) return -1;
        *out = mk(V_STR, ft);
        out->s = nm[6] == 'd' && nm[7] == 'a' ? (c->chfirst ? "channels_first" : "channels_last")
                                              : (c->chfirst ? "th" : "tf");
        out->end = *p;
        return 0;
    }
    if (!strcmp(nm, "merge") && layerish) { /* Keras 1: merge([a, b], mode='sum') */
        const karg *v[4];
        if (parse_args(c, p, &A) ||
            bind_call(c, "merge", ft, &A, "inputs mode concat_axis dot_axes",
                      "output_shape output_mask arguments name node_indices tensor_indices", v, 4))
            return -1;
        const char *mode = v[1] && v[1]->v.kind == V_STR ? v[1]->v.s : v[1] ? "?" : "sum";
        if (!v[0] || (v[0]->v.kind != V_LIST && v[0]->v.kind != V_TUPLE))
            return fail(c, ft,
                        "merge needs a list of layer outputs, e.g. merge([x, y], mode='sum')");
        static const char *const modes[][2] = {{"sum", "Add"},
                                               {"mul", "Multiply"},
                                               {"ave", "Average"},
                                               {"max", "Maximum"},
                                               {"concat", "Concatenate"}};
        int axis = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(mode, modes[i][0])) {
                if (i == 4 && v[2] && want_int(c, v[2], "merge's concat_axis", -4, 4, &axis))
                    return -1;
                return merge_tensors(c, ft, modes[i][1], NULL, axis, v[0]->v.items, v[0]->v.n, out);
            }
        return fail(c, v[1] ? v[1]->tok : ft,
                    "merge(mode='%s') is not supported (ordnet has sum, mul, ave, max, concat)",
                    mode);
    }
    if (in_list(merge_fns, nm, strlen(nm)) && layerish)
        return fail(
            c, ft,
            "%s is not supported: ordnet joins layer outputs only by adding them, Add()([a, b])",
            nm);
    if (plen >= 2 && !strncmp(path + plen - 2, "nn", 2) && (plen == 2 || path[plen - 3] == '.') &&
        isupper((unsigned char)nm[0]))
        return fail(c, ft,
                    "'nn.%s' looks like PyTorch: ordnet reads Keras code or its compact form", nm);
    if (!strcmp(nm, "Lambda") && layerish)
        return fail(c, ft,
                    "Lambda layers run any Python function: ordnet cannot know what this one "
                    "computes; replace it by Keras layers (Rescaling for x / 255, Cropping2D, "
                    "Reshape, ...) or leave it out and give the input shape to the reader");
    if (isupper((unsigned char)nm[0]) && layerish &&
        !(plen == 0 && in_list(other_classes, nm, strlen(nm)))) {
        char all[4096], sg[64], list[2048];
        size_t o = 0, l = 0;
        for (int i = 0; i < NCLASSES; i++) {
            if (o < sizeof all)
                o += (size_t)snprintf(all + o, sizeof all - o, "%s ", classes[i].name);
            if ((i == 0 || classes[i].rank != classes[i - 1].rank ||
                 strcmp(classes[i].op ? classes[i].op : classes[i].name,
                        classes[i - 1].op ? classes[i - 1].op : classes[i - 1].name)) &&
                l < sizeof list)
                l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "",
                                      classes[i].name);
        }
        if (o < sizeof all) snprintf(all + o, sizeof all - o, "Input Sequential Model");
        return fail(c, ft, "unknown layer '%s'%s (supported: Input, %s)", nm,
                    suggest(nm, all, NULL, sg, sizeof sg), list);
    }
    *p = skip_group(c, *p);
    *out = mk(V_OPAQUE, f->tok);
    out->end = *p;
    return 0;
}

static int call_method(ctx *c, int *p, const kval *m, kval *out) {
    const kval *obj = &m->items[0];
    int ft = m->tok;
    kargs A;
    if (obj->kind == V_SEQ && (!strcmp(m->s, "add") || !strcmp(m->s, "build"))) {
        const karg *v[1];
        kseq *s = obj->seq;
        if (parse_args(c, p, &A)) return -1;
        if (!strcmp(m->s, "add")) {
            if (bind_call(c, "add", ft, &A, "layer", "", v, 1)) return -1;
            if (!v[0]) return fail(c, ft, "add needs a layer, e.g. model.add(Dense(10))");
            if (seq_add(c, s, &v[0]->v, v[0]->tok)) return -1;
        } else {
            if (bind_call(c, "build", ft, &A, "input_shape", "", v, 1)) return -1;
            if (v[0] && !s->m) {
                on_shape sh;
                int known;
                if (read_shape(c, v[0], 1, &sh, &known) || seq_start(c, s, sh, known, v[0]->tok))
                    return -1;
            }
        }
        *out = mk(V_NONE, ft);
        return 0;
    }
    if (obj->kind == V_LIST && (!strcmp(m->s, "append") || !strcmp(m->s, "extend"))) {
        const karg *v[1];
        if (parse_args(c, p, &A) || bind_call(c, m->s, ft, &A, "object", "", v, 1)) return -1;
        if (!v[0]) return fail(c, ft, "%s() needs an argument", m->s);
        var *x = obj->var >= 0 ? lookup(c, obj->var) : NULL;
        *out = mk(V_NONE, ft);
        if (!x) return 0; /* a list no variable holds: nothing to keep */
        const kval *add = &v[0]->v;
        int nadd = 1;
        if (m->s[0] == 'e' && !(add = items_of(c, &v[0]->v, v[0]->tok, &nadd))) return -1;
        if ((long)obj->n + nadd > MAX_ITEMS)
            return fail(c, ft, "a list of more than %d items", MAX_ITEMS);
        kval *it = cx_alloc(c, sizeof *it * (size_t)(obj->n + nadd + 1));
        if (!it) return oom(c, ft);
        if (obj->n) memcpy(it, obj->items, sizeof *it * (size_t)obj->n);
        if (nadd) memcpy(it + obj->n, add, sizeof *it * (size_t)nadd);
        x->v = *obj;
        x->v.items = it;
        x->v.n = obj->n + nadd;
        return 0;
    }
    if (obj->kind == V_STR && !strcmp(m->s, "format")) {
        if (parse_args(c, p, &A)) return -1;
        const char *f = obj->s;
        int auto_i = 0;
        sbuf s = {0};
        sb_put(&s, "", 0);
        for (size_t i = 0; f[i] && !s.bad;) {
            if ((f[i] == '{' || f[i] == '}') && f[i + 1] == f[i]) {
                sb_put(&s, f + i, 1);
                i += 2;
                continue;
            }
            if (f[i] != '{') {
                sb_put(&s, f + i++, 1);
                continue;
            }
            size_t j = i + 1, colon = 0;
            while (f[j] && f[j] != '}') {
                if (f[j] == ':' && !colon) colon = j;
                j++;
            }
            if (!f[j]) {
                s.bad = 1;
                break;
            }
            size_t ne = colon ? colon : j, nl = ne - i - 1;
            const kval *val = NULL;
            if (!nl) {
                int k = auto_i++, pos = 0;
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key < 0 && pos++ == k) val = &A.a[a].v;
            } else if (isdigit((unsigned char)f[i + 1])) {
                int k = atoi(f + i + 1), pos = 0;
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key < 0 && pos++ == k) val = &A.a[a].v;
            } else
                for (int a = 0; a < A.n && !val; a++)
                    if (A.a[a].key >= 0 && (size_t)c->t[A.a[a].key].len == nl &&
                        !memcmp(c->text + c->t[A.a[a].key].off, f + i + 1, nl))
                        val = &A.a[a].v;
            if (!val) {
                s.bad = 1;
                break;
            }
            if (colon)
                sb_format(&s, val, f + colon + 1, j - colon - 1);
            else
                sb_value_str(&s, val, 0);
            i = j + 1;
        }
        return sb_value(c, &s, ft, *p, out);
    }
    if (obj->kind == V_STR && (!strcmp(m->s, "upper") || !strcmp(m->s, "lower"))) {
        if (parse_args(c, p, &A)) return -1;
        sbuf s = {0};
        sb_str(&s, obj->s);
        for (size_t i = 0; s.b && i < s.n; i++)
            s.b[i] = (char)(m->s[0] == 'u' ? toupper((unsigned char)s.b[i])
                                           : tolower((unsigned char)s.b[i]));
        return sb_value(c, &s, ft, *p, out);
    }
    if (obj->kind == V_LIST && in_list("pop insert remove reverse sort clear", m->s, strlen(m->s)))
        return fail(c, ft, "list.%s() is not supported: write the list as it ends up", m->s);
    if (!strcmp(m->s, "pop") && obj->kind != V_LIST)
        return fail(c, ft, "model.pop() is not supported: remove the layer from the code");
    if (obj->kind == V_MODEL && !strcmp(m->s, "add"))
        return fail(c, ft, "add() is for Sequential models; this is a functional Model");
    *p = skip_group(c, *p);
    *out = mk(V_OPAQUE, ft);
    out->end = *p;
    return 0;
}

static int call_layer(ctx *c, int *p, const kval *lv, kval *out) {
    kargs A;
    const karg *v[3];
    klayer *L = lv->layer;
    if (parse_args(c, p, &A)) return -1;
    if (bind_call(c, L->cls->name, L->tok, &A, "inputs", "training mask", v, 3)) return -1;
    if (!v[0])
        return fail(c, A.open, "%s(...) is called without an input, e.g. %s(...)(x)", L->cls->name,
                    L->cls->name);
    const kval *in = &v[0]->v;
    if (in->kind == V_LIST || in->kind == V_TUPLE) {
        if (in->n == 1 && L->cls->kind != K_MERGE) return apply_fn(c, L, in->items, 1, out);
        return apply_fn(c, L, in->items, in->n, out);
    }
    return apply_fn(c, L, in, 1, out);
}

/* A Sequential model applied to a layer output, as a layer: its layers are applied in turn
 * (once: a second use would share its weights). */
static int call_seq(ctx *c, int *p, kseq *s, kval *out) {
    kargs A;
    const karg *v[3];
    int open = *p;
    if (parse_args(c, p, &A) ||
        bind_call(c, "Sequential", open, &A, "inputs", "training mask", v, 3))
        return -1;
    if (!v[0]) return fail(c, open, "a Sequential model is called without an input");
    const kval *in = &v[0]->v;
    if ((in->kind == V_LIST || in->kind == V_TUPLE) && in->n == 1) in = &in->items[0];
    if (in->kind != V_TENSOR)
        return fail(c, v[0]->tok, "a Sequential model is applied to %s, not to a layer output",
                    kind_name(in));
    if (s->inlined)
        return fail(c, open,
                    "this Sequential model is used a second time: its weights would be shared, "
                    "which ordnet does not support; make a second one");
    s->inlined = 1;
    kval cur = *in;
    for (int k = 0; k < s->nall; k++)
        if (apply_fn2(c, s->all[k], &cur, 1, &cur, 1)) return -1;
    *out = cur;
    return 0;
}

static int call_func(ctx *c, int *p, const kval *f, kval *out) {
    kfunc *fn = f->fn;
    int open = *p;
    char nm[48], b[48];
    kargs A;
    ttext(c, fn->name_tok, nm, sizeof nm);
    if (parse_args(c, p, &A)) return -1;
    if (c->calls >= MAX_CALLS)
        return fail(c, open, "calls of %s() nested deeper than %d (recursion?)", nm, MAX_CALLS);
    int np = fn->nparams;
    kval *vals = cx_alloc(c, sizeof *vals * (size_t)(np + 1));
    int *set = cx_alloc(c, sizeof *set * (size_t)(np + 1));
    if (!vals || !set) return oom(c, open);
    int npos = 0;
    for (int i = 0; i < A.n; i++) {
        const karg *g = &A.a[i];
        int slot = -1;
        if (g->key < 0) {
            if (npos >= np) return fail(c, g->tok, "%s() takes %d arguments, got more", nm, np);
            slot = npos++;
        } else {
            for (int k = 0; k < np; k++)
                if (c->t[fn->ptok[k]].len == c->t[g->key].len &&
                    !memcmp(c->text + c->t[fn->ptok[k]].off, c->text + c->t[g->key].off,
                            (size_t)c->t[g->key].len))
                    slot = k;
            if (slot < 0)
                return fail(c, g->key, "%s() has no parameter '%s'", nm,
                            ttext(c, g->key, b, sizeof b));
        }
        if (set[slot])
            return fail(c, g->tok, "%s() got '%s' twice", nm,
                        ttext(c, fn->ptok[slot], b, sizeof b));
        set[slot] = 1;
        vals[slot] = g->v;
    }
    for (int k = 0; k < np; k++)
        if (!set[k]) {
            if (!fn->has_default[k])
                return fail(c, open, "%s() is missing the argument '%s'", nm,
                            ttext(c, fn->ptok[k], b, sizeof b));
            vals[k] = fn->defaults[k];
        }
    c->base[++c->calls] = c->nvars;
    int r = 0, loops = c->loops;
    c->loops = 0; /* break and continue do not leave the function */
    for (int k = 0; k < np && !r; k++) r = bind(c, fn->ptok[k], &vals[k]);
    if (!r) r = exec_range(c, fn->body, fn->body_end);
    *out = c->returning ? c->ret : mk(V_NONE, open);
    c->returning = 0;
    c->loops = loops;
    c->nvars = c->base[c->calls--];
    return r;
}

static int e_call(ctx *c, int *p, kval *f, kval *out) {
    int open = *p;
    char b[64];
    switch (f->kind) {
    case V_OPAQUE:
        *p = skip_group(c, open);
        *out = mk(V_OPAQUE, f->tok);
        out->end = *p;
        return 0;
    case V_PATH:
        return call_path(c, p, f, out);
    case V_METHOD:
        return call_method(c, p, f, out);
    case V_LAYER:
        return call_layer(c, p, f, out);
    case V_FUNC:
        return call_func(c, p, f, out);
    case V_SEQ:
        return call_seq(c, p, f->seq, out);
    case V_MODEL:
        return fail(c, open,
                    "calling a functional Model on a layer output (a model inside a model) is not "
                    "supported: ordnet models have one Input; write its layers out, or build it "
                    "as keras.Sequential([...])");
    default:
        return fail(c, open, "%s is not callable: '%s'", kind_name(f),
                    src(c, f->tok, open, b, sizeof b));
    }
}

/* ------------------------------------------------------------------------------------ */
/* Statements                                                                           */

static int stmt(ctx *c, int *p);

static int exec_range(ctx *c, int i, int end) {
    while (i < end && c->t[i].type != T_EOF) {
        if (c->t[i].type == T_NEWLINE || is_op(c, i, ";")) {
            i++;
            continue;
        }
        if (++c->steps > MAX_STEPS)
            return fail(c, i,
                        "the code runs more than %d statements (a loop or recursion without end?): "
                        "ordnet's reader stops here",
                        MAX_STEPS);
        if (stmt(c, &i)) return -1;
        if (c->returning || c->breaking || c->continuing) return 0;
    }
    return 0;
}

/* The body of a compound statement whose header starts at token hdr and ends with the ':' at
 * token colon: [*b, *e), an indented block or the rest of the line. */
static int block_of(ctx *c, int hdr, int colon, int *b, int *e) {
    char w[48];
    int ind = c->t[hdr].indent, i = colon + 1;
    if (c->t[i].type == T_NEWLINE) {
        int bb = i + 1, ee = bb;
        if (c->t[bb].type == T_EOF || c->t[bb].indent <= ind)
            return fail(c, bb, "expected an indented block after '%s'", ttext(c, hdr, w, sizeof w));
        while (c->t[ee].type != T_EOF && !(c->t[ee].first && c->t[ee].indent <= ind)) ee++;
        *b = bb, *e = ee;
        return 0;
    }
    int ee = i;
    while (c->t[ee].type != T_NEWLINE && c->t[ee].type != T_EOF) ee++;
    *b = i, *e = ee;
    return 0;
}

/* The ':' that ends the header starting at i (brackets skipped), or an error. */
static int header_colon(ctx *c, int i, const char *what, int *colon) {
    for (int j = i; !end_of_stmt(c, j);) {
        if (is_op(c, j, ":")) return *colon = j, 0;
        j = is_op(c, j, "(") || is_op(c, j, "[") || is_op(c, j, "{") ? skip_group(c, j) : j + 1;
    }
    return fail(c, i, "expected ':' at the end of the '%s' line", what);
}

/* if / elif / else: the first branch whose condition holds runs; a condition ordnet does not
 * compute is an error (the model would depend on it). */
static int s_if(ctx *c, int *p) {
    int i = *p, ind = c->t[i].indent, taken = 0;
    for (;;) {
        int is_else = is_name(c, i, "else"), colon, b, e, t = 1;
        if (header_colon(c, i, is_else ? "else" : is_name(c, i, "if") ? "if" : "elif", &colon))
            return -1;
        if (!taken && !is_else) {
            kval cond;
            int q = i + 1;
            if (q == colon) return fail(c, q, "a condition is missing");
            if (e_test(c, &q, &cond)) return -1;
            if (q != colon) return fail(c, q, "expected ':' after the condition");
            if (want_truth(c, &cond, i + 1, colon, &t)) return -1;
        }
        if (block_of(c, i, colon, &b, &e)) return -1;
        if (!taken && t) {
            taken = 1;
            if (exec_range(c, b, e)) return -1;
        }
        i = e;
        *p = e;
        if (is_else || c->returning || c->breaking || c->continuing) break;
        if (!(c->t[i].first && c->t[i].indent == ind &&
              (is_name(c, i, "elif") || is_name(c, i, "else"))))
            break;
    }
    if (c->returning || c->breaking || c->continuing) { /* skip the remaining branches */
        while (c->t[*p].first && c->t[*p].indent == ind &&
               (is_name(c, *p, "elif") || is_name(c, *p, "else"))) {
            int colon, b, e;
            if (header_colon(c, *p, "else", &colon) || block_of(c, *p, colon, &b, &e)) return -1;
            *p = e;
        }
    }
    return 0;
}

static int assign(ctx *c, int a, int e, const kval *v);

/* for TARGET in ITERABLE: body [else: body] - over known lists, tuples, ranges and strings,
 * at most MAX_ITER times (and MAX_STEPS statements in all). */
static int s_for(ctx *c, int *p) {
    int i = *p, ind = c->t[i].indent, in = -1, colon, b, e;
    char w[48];
    for (int j = i + 1; !end_of_stmt(c, j) && in < 0;) {
        if (is_name(c, j, "in")) in = j;
        j = is_op(c, j, "(") || is_op(c, j, "[") ? skip_group(c, j) : j + 1;
    }
    if (in < 0 || in == i + 1) return fail(c, i + 1, "expected 'for NAME in ...:'");
    if (header_colon(c, in, "for", &colon) || block_of(c, i, colon, &b, &e)) return -1;
    kval it;
    int q = in + 1;
    if (q == colon) return fail(c, q, "the loop has nothing to run over");
    if (e_exprlist(c, &q, &it)) return -1;
    if (q != colon) return fail(c, q, "unexpected '%s'", ttext(c, q, w, sizeof w));
    int n = 0, broke = 0;
    const kval *items = NULL;
    if (it.kind != V_RANGE && !(items = items_of(c, &it, in + 1, &n))) return -1;
    long long count = it.kind == V_RANGE ? (it.r2 > 0 ? (it.r1 - it.r0 + it.r2 - 1) / it.r2
                                                      : (it.r0 - it.r1 - it.r2 - 1) / -it.r2)
                                         : n;
    if (count > MAX_ITER)
        return fail(c, in + 1, "a loop of %lld iterations: ordnet's reader runs at most %d", count,
                    MAX_ITER);
    c->loops++;
    for (long long k = 0; k < count; k++) {
        kval x = it.kind == V_RANGE ? num_val((double)(it.r0 + k * it.r2), 1, in + 1) : items[k];
        if (assign(c, i + 1, in, &x) || exec_range(c, b, e)) {
            c->loops--;
            return -1;
        }
        c->continuing = 0;
        if (c->breaking || c->returning) {
            broke = c->breaking;
            break;
        }
    }
    c->loops--;
    c->breaking = 0;
    *p = e;
    if (c->t[e].first && c->t[e].indent == ind && is_name(c, e, "else")) {
        if (header_colon(c, e, "else", &colon) || block_of(c, e, colon, &b, &e)) return -1;
        if (!broke && !c->returning && exec_range(c, b, e)) return -1;
        *p = e;
    }
    return 0;
}

/* The index of the end of the statement that starts at i. */
static int stmt_end(const ctx *c, int i) {
    while (!end_of_stmt(c, i)) {
        const tok *t = &c->t[i];
        i = t->type == T_OP && t->len == 1 && strchr("([{", c->text[t->off]) ? skip_group(c, i)
                                                                             : i + 1;
    }
    return i;
}

static int path_value(ctx *c, int tok, const char *s, size_t n, kval *v) {
    *v = mk(V_PATH, tok);
    v->s = cx_strndup(c, s, n);
    return v->s ? 0 : oom(c, tok);
}

/* A dotted module name from token *p into buf. */
static int dotted(ctx *c, int *p, char *buf, size_t n, size_t *len) {
    char b[48];
    if (c->t[*p].type != T_NAME)
        return fail(c, *p, "expected a module name, found '%s'", ttext(c, *p, b, sizeof b));
    for (;;) {
        const tok *t = &c->t[*p];
        if (*len + (size_t)t->len + 2 > n) return fail(c, *p, "module name too long");
        memcpy(buf + *len, c->text + t->off, (size_t)t->len);
        *len += (size_t)t->len;
        buf[*len] = 0;
        ++*p;
        if (!is_op(c, *p, ".") || c->t[*p + 1].type != T_NAME) return 0;
        buf[(*len)++] = '.';
        ++*p;
    }
}

/* import a.b [as c], ...  - names are remembered as module paths */
static int s_import(ctx *c, int *p) {
    int i = *p + 1;
    for (;;) {
        char path[256];
        size_t len = 0;
        int first = i;
        if (dotted(c, &i, path, sizeof path, &len)) return -1;
        kval v;
        if (is_name(c, i, "as")) {
            if (path_value(c, i + 1, path, len, &v) || bind(c, i + 1, &v)) return -1;
            i += 2;
        } else if (path_value(c, first, c->text + c->t[first].off, (size_t)c->t[first].len, &v) ||
                   bind(c, first, &v))
            return -1;
        if (!is_op(c, i, ",")) break;
        i++;
    }
    if (!end_of_stmt(c, i)) return fail(c, i, "unexpected text after the import");
    *p = i;
    return 0;
}

/* from a.b import x [as y], ... */
static int s_from(ctx *c, int *p) {
    int i = *p + 1;
    char path[256];
    size_t len = 0;
    while ((is_op(c, i, ".") || is_op(c, i, "...")) && len + 4 < sizeof path) {
        memcpy(path + len, c->text + c->t[i].off, (size_t)c->t[i].len);
        len += (size_t)c->t[i].len;
        i++;
    }
    path[len] = 0;
    if (!is_name(c, i, "import") && dotted(c, &i, path, sizeof path, &len)) return -1;
    if (!is_name(c, i, "import")) return fail(c, i, "expected 'import'");
    i++;
    int paren = is_op(c, i, "(");
    i += paren;
    if (is_op(c, i, "*"))
        i++;
    else
        for (;;) {
            char b[48];
            if (c->t[i].type != T_NAME)
                return fail(c, i, "expected a name to import, found '%s'",
                            ttext(c, i, b, sizeof b));
            const tok *t = &c->t[i];
            char full[320];
            int fl = snprintf(full, sizeof full, "%s%s%.*s", path,
                              len && path[len - 1] != '.' ? "." : "", t->len, c->text + t->off);
            if (fl < 0 || (size_t)fl >= sizeof full) return fail(c, i, "module name too long");
            kval v;
            int at = i;
            if (is_name(c, i + 1, "as")) at = i + 2, i += 2;
            if (path_value(c, at, full, (size_t)fl, &v) || bind(c, at, &v)) return -1;
            i++;
            if (!is_op(c, i, ",")) break;
            i++;
            if (paren && is_op(c, i, ")")) break;
        }
    if (paren) {
        if (!is_op(c, i, ")")) return fail(c, i, "expected ')'");
        i++;
    }
    if (!end_of_stmt(c, i)) return fail(c, i, "unexpected text after the import");
    *p = i;
    return 0;
}

/* def name(params): body - the body runs when the function is called. */
static int s_def(ctx *c, int *p) {
    int d = *p, name = d + 1;
    char b[48];
    if (c->t[name].type != T_NAME || is_keyword(c, name))
        return fail(c, name, "expected a function name after 'def'");
    if (!is_op(c, name + 1, "("))
        return fail(c, name + 1, "expected '(' after 'def %s'", ttext(c, name, b, sizeof b));
    int close = skip_group(c, name + 1) - 1, cap = close - name;
    kfunc *fn = cx_alloc(c, sizeof *fn);
    if (!fn) return oom(c, d);
    fn->name_tok = name;
    fn->ptok = cx_alloc(c, sizeof(int) * (size_t)cap);
    fn->has_default = cx_alloc(c, sizeof(int) * (size_t)cap);
    fn->defaults = cx_alloc(c, sizeof(kval) * (size_t)cap);
    if (!fn->ptok || !fn->has_default || !fn->defaults) return oom(c, d);
    int i = name + 2;
    while (i < close) {
        if (is_op(c, i, "*") || is_op(c, i, "**") || is_op(c, i, "/"))
            return fail(c, i, "'%s' in a parameter list is not supported",
                        ttext(c, i, b, sizeof b));
        if (c->t[i].type != T_NAME || is_keyword(c, i))
            return fail(c, i, "expected a parameter name, found '%s'", ttext(c, i, b, sizeof b));
        int k = fn->nparams++;
        fn->ptok[k] = i++;
        if (is_op(c, i, ":"))
            while (i < close && !is_op(c, i, ",") && !is_op(c, i, "="))
                i = is_op(c, i, "(") || is_op(c, i, "[") || is_op(c, i, "{") ? skip_group(c, i)
                                                                             : i + 1;
        if (is_op(c, i, "=")) {
            i++;
            if (e_test(c, &i, &fn->defaults[k])) return -1;
            fn->has_default[k] = 1;
        } else if (k && fn->has_default[k - 1])
            return fail(c, fn->ptok[k], "a parameter without a default after one with a default");
        if (is_op(c, i, ","))
            i++;
        else if (i != close)
            return fail(c, i, "expected ',' or ')' in the parameters");
    }
    i = close + 1;
    if (is_op(c, i, "->"))
        while (!is_op(c, i, ":") && !end_of_stmt(c, i))
            i = is_op(c, i, "(") || is_op(c, i, "[") || is_op(c, i, "{") ? skip_group(c, i) : i + 1;
    if (!is_op(c, i, ":"))
        return fail(c, i, "expected ':' after the parameters of %s()", ttext(c, name, b, sizeof b));
    i++;
    int ind = c->t[d].indent;
    if (c->t[i].type == T_NEWLINE) {
        int bb = i + 1, e = bb;
        if (c->t[bb].type == T_EOF || c->t[bb].indent <= ind)
            return fail(c, bb, "expected an indented body for %s()", ttext(c, name, b, sizeof b));
        while (c->t[e].type != T_EOF && !(c->t[e].first && c->t[e].indent <= ind)) e++;
        fn->body = bb;
        fn->body_end = e;
    } else {
        int e = i;
        while (c->t[e].type != T_NEWLINE && c->t[e].type != T_EOF) e++;
        fn->body = i;
        fn->body_end = e;
    }
    kval v = mk(V_FUNC, name);
    v.fn = fn;
    if (bind(c, name, &v)) return -1;
    *p = fn->body_end;
    return 0;
}

/* Targets a, b, ... of [a, e) from the items of v. */
static int assign_list(ctx *c, int a, int e, const kval *v) {
    int parts[64], n = 0, s = a;
    for (int i = a; i <= e;) {
        if (i == e || is_op(c, i, ",")) {
            if (i > s) {
                if (n == 64) return fail(c, a, "too many targets");
                parts[n++] = s;
                parts[n++] = i;
            }
            if (i == e) break;
            s = ++i;
            continue;
        }
        i = is_op(c, i, "(") || is_op(c, i, "[") || is_op(c, i, "{") ? skip_group(c, i) : i + 1;
    }
    n /= 2;
    if (n == 1) {
        int commas = 0;
        for (int i = a; i < e;) {
            commas += is_op(c, i, ",");
            i = is_op(c, i, "(") || is_op(c, i, "[") ? skip_group(c, i) : i + 1;
        }
        if (!commas) return assign(c, a, e, v);
    }
    if (v->kind == V_OPAQUE || v->kind == V_PATH) {
        for (int k = 0; k < n; k++) {
            kval o = mk(V_OPAQUE, v->tok);
            o.end = v->end;
            if (assign(c, parts[2 * k], parts[2 * k + 1], &o)) return -1;
        }
        return 0;
    }
    if (v->kind != V_TUPLE && v->kind != V_LIST)
        return fail(c, a, "cannot unpack %s into %d targets", kind_name(v), n);
    if (v->n != n) return fail(c, a, "cannot unpack %d values into %d targets", v->n, n);
    for (int k = 0; k < n; k++)
        if (assign(c, parts[2 * k], parts[2 * k + 1], &v->items[k])) return -1;
    return 0;
}

static int assign(ctx *c, int a, int e, const kval *v) {
    char b[64];
    if ((is_op(c, a, "(") || is_op(c, a, "[")) && skip_group(c, a) == e)
        return assign_list(c, a + 1, e - 1, v);
    for (int i = a; i < e;) {
        if (is_op(c, i, ",")) return assign_list(c, a, e, v);
        i = is_op(c, i, "(") || is_op(c, i, "[") || is_op(c, i, "{") ? skip_group(c, i) : i + 1;
    }
    if (e == a + 1) return bind(c, a, v);
    if (c->t[a].type == T_NAME && (is_op(c, a + 1, ".") || is_op(c, a + 1, "["))) {
        var *x = lookup(c, a);
        if (x && (x->v.kind == V_LAYER || x->v.kind == V_SEQ || x->v.kind == V_MODEL ||
                  x->v.kind == V_TENSOR))
            return fail(c, a, "changing %s after it is made ('%s') is not supported",
                        kind_name(&x->v), src(c, a, e, b, sizeof b));
        if (x && x->v.kind == V_LIST && is_op(c, a + 1, "[") && skip_group(c, a + 1) == e) {
            kval idx;
            int q = a + 2;
            if (e_test(c, &q, &idx)) return -1;
            if (!is_op(c, q, "]") || !num_like(&idx) || !idx.is_int)
                return fail(c, a + 2, "a list item is set by an integer index, e.g. sizes[0] = 64");
            x = lookup(c, a); /* the index expression may have added variables */
            int k = (int)idx.num, n = x->v.n;
            if (idx.num < -n || idx.num >= n)
                return fail(c, a + 2, "index out of range: the list has %d items", n);
            if (k < 0) k += n;
            kval *it = cx_alloc(c, sizeof *it * (size_t)n);
            if (!it) return oom(c, a);
            memcpy(it, x->v.items, sizeof *it * (size_t)n);
            it[k] = *v;
            x->v.items = it;
            return 0;
        }
        if (x &&
            (x->v.kind == V_LIST || x->v.kind == V_TUPLE || num_like(&x->v) || x->v.kind == V_STR))
            return fail(c, a, "'%s': ordnet sets only list items by an index",
                        src(c, a, e, b, sizeof b));
        return 0;
    }
    return fail(c, a, "cannot assign to '%s'", src(c, a, e, b, sizeof b));
}

static int stmt(ctx *c, int *p) {
    int i = *p;
    char b[48];
    if (c->t[i].type == T_NAME) {
        if (is_name(c, i, "import")) return s_import(c, p);
        if (is_name(c, i, "from")) return s_from(c, p);
        if (is_name(c, i, "def")) return s_def(c, p);
        if (is_name(c, i, "return")) {
            if (c->calls == 0) return fail(c, i, "'return' outside a function");
            kval v = mk(V_NONE, i);
            i++;
            if (!end_of_stmt(c, i) && e_exprlist(c, &i, &v)) return -1;
            if (!end_of_stmt(c, i)) return fail(c, i, "unexpected '%s'", ttext(c, i, b, sizeof b));
            c->ret = v;
            c->returning = 1;
            *p = i;
            return 0;
        }
        if (is_name(c, i, "pass") || is_name(c, i, "global") || is_name(c, i, "nonlocal") ||
            is_name(c, i, "del") || is_name(c, i, "assert")) {
            *p = stmt_end(c, i);
            return 0;
        }
        if (is_name(c, i, "if")) {
            if (is_name(c, i + 1, "__name__") && is_op(c, i + 2, "==") &&
                c->t[i + 3].type == T_STR && is_op(c, i + 4, ":")) {
                *p = i + 5; /* the script's main block: read as top-level code */
                return 0;
            }
            return s_if(c, p);
        }
        if (is_name(c, i, "for")) return s_for(c, p);
        if (is_name(c, i, "elif") || is_name(c, i, "else"))
            return fail(c, i, "'%s' without an 'if' before it at the same indentation",
                        ttext(c, i, b, sizeof b));
        if (is_name(c, i, "break") || is_name(c, i, "continue")) {
            if (!c->loops) return fail(c, i, "'%s' outside a loop", ttext(c, i, b, sizeof b));
            if (is_name(c, i, "break"))
                c->breaking = 1;
            else
                c->continuing = 1;
            *p = i + 1;
            return 0;
        }
        if (is_name(c, i, "while"))
            return fail(c, i,
                        "'while' loops are not supported: ordnet reads 'for' loops over known "
                        "lists and ranges (write the loop with for ... in range(n))");
        if (is_name(c, i, "lambda")) return fail(c, i, "lambda functions are not supported");
        if (is_name(c, i, "with")) {
            int j = i + 1;
            while (!is_op(c, j, ":") && !end_of_stmt(c, j))
                j = is_op(c, j, "(") || is_op(c, j, "[") || is_op(c, j, "{") ? skip_group(c, j)
                                                                             : j + 1;
            if (!is_op(c, j, ":")) return fail(c, j, "expected ':' after 'with'");
            *p = j + 1; /* the body is read as if it were not indented */
            return 0;
        }
        if (is_name(c, i, "class"))
            return fail(c, i,
                        "class definitions (custom layers and subclassed models) are not "
                        "supported: ordnet cannot know what their call() computes; use Keras's "
                        "layers with the functional API or Sequential");
        if (is_keyword(c, i) && !is_name(c, i, "None") && !is_name(c, i, "True") &&
            !is_name(c, i, "False") && !is_name(c, i, "not") && !is_name(c, i, "lambda"))
            return fail(c, i,
                        "'%s' statements are not supported: ordnet reads straight-line model code "
                        "(write the layers out)",
                        ttext(c, i, b, sizeof b));
    }
    if (is_op(c, i, "@")) return fail(c, i, "decorators are not supported");
    int eqs[16], neq = 0, aug = -1;
    for (int j = i; !end_of_stmt(c, j);) {
        const tok *t = &c->t[j];
        if (t->type == T_OP && t->len == 1 && strchr("([{", c->text[t->off])) {
            j = skip_group(c, j);
            continue;
        }
        if (is_op(c, j, "=")) {
            if (neq == 16) return fail(c, j, "too many '=' in one statement");
            eqs[neq++] = j;
        } else if (t->type == T_OP && t->len >= 2 && c->text[t->off + t->len - 1] == '=' &&
                   !is_op(c, j, "==") && !is_op(c, j, "!=") && !is_op(c, j, "<=") &&
                   !is_op(c, j, ">="))
            aug = aug < 0 ? j : aug;
        j++;
    }
    if (aug >= 0) {
        static const char *const ok[] = {"+=", "-=", "*=", "/=", "//="};
        int k = 0;
        while (k < 5 && !is_op(c, aug, ok[k])) k++;
        if (k == 5 || neq) return fail(c, aug, "'%s' is not supported", ttext(c, aug, b, sizeof b));
        if (aug != i + 1 || c->t[i].type != T_NAME)
            return fail(c, i, "'%s' is supported on a plain name only", ok[k]);
        var *x = lookup(c, i);
        if (!x) return fail(c, i, "undefined variable '%s'", ttext(c, i, b, sizeof b));
        kval a = x->v, r;
        int q = aug + 1;
        if (e_exprlist(c, &q, &r)) return -1;
        if (!end_of_stmt(c, q)) return fail(c, q, "unexpected '%s'", ttext(c, q, b, sizeof b));
        char op[4];
        snprintf(op, sizeof op, "%.*s", (int)strlen(ok[k]) - 1, ok[k]);
        if (binop(c, op, aug, &a, &r) || bind(c, i, &a)) return -1;
        *p = q;
        return 0;
    }
    int q = neq ? eqs[neq - 1] + 1 : i;
    if (neq && end_of_stmt(c, q)) return fail(c, q, "a value is missing after '='");
    kval v;
    if (e_exprlist(c, &q, &v)) return -1;
    if (!end_of_stmt(c, q)) return fail(c, q, "unexpected '%s'", ttext(c, q, b, sizeof b));
    for (int k = 0; k < neq; k++) {
        int a = k ? eqs[k - 1] + 1 : i, e = eqs[k];
        if (a == e) return fail(c, e, "a target is missing before '='");
        if (assign(c, a, e, &v)) return -1;
    }
    *p = q;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* The model                                                                            */

/* The functional graph restricted to the layers that lead to node out. */
static on_model *extract(ctx *c, int out) {
    on_model *g = c->g;
    int nn = g->nn, dropped = 0;
    char *keep = calloc((size_t)nn, 1);
    int *map = malloc(sizeof(int) * (size_t)nn);
    if (!keep || !map) {
        free(keep);
        free(map);
        oom(c, 0);
        return NULL;
    }
    keep[out] = keep[0] = 1;
    for (int i = out; i >= 1; i--)
        if (keep[i])
            for (int k = 0; k < g->nodes[i].nin; k++) keep[g->nodes[i].in[k]] = 1;
    for (int i = 0; i < nn; i++) dropped += !keep[i];
    if (!dropped) {
        free(keep);
        free(map);
        c->g = NULL;
        return g;
    }
    on_error e2;
    on_model *m = on_model_new(g->input, &e2);
    char note[512];
    map[0] = 0;
    size_t o = (size_t)snprintf(
        note, sizeof note, "left out %d layer%s that do%s not lead to the model's output:", dropped,
        dropped > 1 ? "s" : "", dropped > 1 ? "" : "es");
    for (int i = 1; m && i < nn; i++) {
        const on_node *nd = &g->nodes[i];
        if (!keep[i]) {
            if (o + 80 < sizeof note)
                o += (size_t)snprintf(note + o, sizeof note - o, " %s", nd->name);
            continue;
        }
        if (i > out) continue;
        int in[ON_MAX_INPUTS];
        for (int k = 0; k < nd->nin; k++) in[k] = map[nd->in[k]];
        map[i] = on_model_add_node(m, nd->op, &nd->a, in, nd->nin, nd->name, &e2);
        if (map[i] < 0) {
            on_model_free(m);
            m = NULL;
        }
    }
    free(keep);
    free(map);
    if (!m) {
        fail(c, 0, "%s", e2.msg);
        return NULL;
    }
    memcpy(m->nodes[0].name, g->nodes[0].name, sizeof m->nodes[0].name);
    on_model_add_note(m, note);
    return m;
}

static on_model *finish(ctx *c) {
    char b1[64], b2[64], w[32], note[512];
    kseq *s = NULL;
    int nseq = 0;
    for (int i = 0; i < c->nseqs; i++) {
        kseq *q = c->seqs[i];
        if ((!q->nlayers && !q->has_input) || q->inlined) continue;
        nseq++;
        if (!s || q->touched > s->touched) s = q;
    }
    int raw = !c->model && c->g && c->g_touched > 0;
    int ncand = nseq + c->nmodels + raw;
    if (!ncand) {
        fail(c, 0,
             "no model found: ordnet reads layers applied to an Input (x = Dense(10)(inp)), "
             "Sequential([...]) or model.add(...)");
        return NULL;
    }
    int use_seq =
        s && (!c->model || s->touched > c->model_touched) && (!raw || s->touched > c->g_touched);
    on_model *m;
    int sm, dtok, known;
    on_shape decl;
    if (use_seq) {
        if (!s->m) {
            fail(c, s->tok,
                 "this Sequential model has no input shape: start its list with "
                 "keras.Input(shape=(...)), "
                 "give its first layer input_shape=(...), or give the input shape to the reader");
            return NULL;
        }
        m = s->m;
        s->m = NULL;
        sm = s->last_softmax;
        decl = s->decl, known = s->decl_known, dtok = s->decl_tok;
    } else {
        int out = c->model ? c->model->out : c->g_last;
        sm = c->model ? c->model->softmax : c->g_softmax;
        decl = c->g_in->shape, known = c->g_in->known, dtok = c->g_in->tok;
        if (!(m = extract(c, out))) return NULL;
    }
    if (m->nn < 2) {
        fail(c, use_seq ? s->tok : 0, "the model has no layers");
        on_model_free(m);
        return NULL;
    }
    int mtok = use_seq ? s->tok : c->model ? c->model->tok : c->t[0].type == T_EOF ? 0 : dtok;
    if (ncand > 1) {
        snprintf(note, sizeof note,
                 "the code defines %d models; ordnet read the last one, at %s:%s", ncand, c->file,
                 where(c, mtok, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (c->override) {
        on_keras_shape_str(*c->override, b1, sizeof b1);
        if (known && memcmp(&decl, c->override, sizeof decl)) {
            snprintf(note, sizeof note,
                     "input shape %s given to the reader replaces %s declared at %s:%s", b1,
                     on_keras_shape_str(decl, b2, sizeof b2), c->file, where(c, dtok, w, sizeof w));
            on_model_add_note(m, note);
        } else if (!known) {
            snprintf(note, sizeof note, "input shape %s given to the reader", b1);
            on_model_add_note(m, note);
        }
    }
    if (c->chfirst) {
        snprintf(note, sizeof note,
                 "channels-first code (%s at %s:%s): shapes read as (channels, height, width) and "
                 "converted to ordnet's layout; this table shows them channels last",
                 c->chfirst_guess ? "the input shape" : "its layout argument", c->file,
                 where(c, c->chfirst_tok, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (c->ident[0]) {
        snprintf(note, sizeof note,
                 "read as the identity, what they compute at inference (they have no weights): "
                 "%s; ordnet does not apply them in training (no augmentation)",
                 c->ident);
        on_model_add_note(m, note);
    }
    if (c->reshape_tok) {
        snprintf(
            note, sizeof note,
            "Reshape at %s:%s: Keras's channels-last target is read as ordnet's channels-first "
            "shape, filled in ordnet's order (from a flat input: the same model up to the "
            "order of the weights before it)",
            c->file, where(c, c->reshape_tok, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (c->keras1) {
        snprintf(note, sizeof note,
                 "Keras 1 arguments (first at %s:%s: nb_filter, nb_row, nb_col, border_mode, "
                 "subsample, init, ...) read as Keras 2's",
                 c->file, where(c, c->keras1, w, sizeof w));
        on_model_add_note(m, note);
    }
    if (sm >= 0) {
        const on_node *last = &m->nodes[m->nn - 1];
        int dense = !strcmp(last->op->name, "dense") && last->ys.rank == 1;
        if (c->classes > 0 && !dense) {
            fail(c, sm,
                 "the softmax on '%s' %s cannot be folded into the loss: the model has no "
                 "classifier (a last Dense layer), so a classifier head for %d classes comes "
                 "after it and the softmax would sit in the middle; remove it or end the model "
                 "with Dense(%d, activation='softmax')",
                 last->name, on_keras_shape_str(last->ys, b1, sizeof b1), c->classes, c->classes);
            on_model_free(m);
            return NULL;
        }
        snprintf(note, sizeof note,
                 "softmax at %s:%s is folded into the loss: ordnet's loss is softmax "
                 "cross-entropy, so the model outputs the logits of '%s' (softmax of them "
                 "gives Keras's probabilities)",
                 c->file, where(c, sm, w, sizeof w), last->name);
        on_model_add_note(m, note);
    }
    return m;
}

/* Channels-first code: dim_ordering='th' / data_format='channels_first' anywhere, or
 * K.set_image_dim_ordering('th') / set_image_data_format('channels_first'). */
static void find_layout(ctx *c) {
    for (int i = 2; i < c->nt; i++) {
        if (c->t[i].type != T_STR) continue;
        const char *q = c->text + c->t[i].off;
        int len = c->t[i].len;
        if (len < 4 || (q[0] != '\'' && q[0] != '"')) continue;
        int th = len == 4 && !memcmp(q + 1, "th", 2),
            cf = len == 16 && !memcmp(q + 1, "channels_first", 14);
        if (!th && !cf) continue;
        if ((is_op(c, i - 1, "=") &&
             (is_name(c, i - 2, "dim_ordering") || is_name(c, i - 2, "data_format"))) ||
            (is_op(c, i - 1, "(") && (is_name(c, i - 2, "set_image_dim_ordering") ||
                                      is_name(c, i - 2, "set_image_data_format")))) {
            c->chfirst = 1;
            c->chfirst_tok = i;
            return;
        }
    }
}

on_model *on_keras_read(const char *text, const char *file, const on_shape *input, int classes,
                        on_error *err) {
    ctx c;
    memset(&c, 0, sizeof c);
    c.text = text ? text : "";
    c.file = file && *file ? file : "<text>";
    c.override = input;
    c.classes = classes;
    c.err = err;
    on_model *m = NULL;
    if (!lex(&c)) {
        find_layout(&c);
        if (!exec_range(&c, 0, c.nt)) m = finish(&c);
    }
    on_model_free(c.g);
    for (int i = 0; i < c.nseqs; i++) on_model_free(c.seqs[i]->m);
    free(c.seqs);
    free(c.vars);
    for (int i = 0; i < c.nblocks; i++) free(c.blocks[i]);
    free(c.blocks);
    return m;
}

/* ------------------------------------------------------------------------------------ */
/* Telling Keras code from the compact form                                             */

int on_keras_detect(const char *text) {
    const char *s = text ? text : "";
    if (!strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    for (;;) { /* blank lines and comments before the first word */
        while (isspace((unsigned char)*s)) s++;
        if (*s != '#') break;
        while (*s && *s != '\n') s++;
    }
    if (!strncmp(s, "input", 5)) {
        const char *q = s + 5;
        while (*q == ' ' || *q == '\t') q++;
        if (*q == '(') return 0; /* the compact form starts with input(...) */
    }
    int depth = 0, line_start = 1;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (ch == '\n') {
            line_start = 1;
            continue;
        }
        if (line_start && (ch == ' ' || ch == '\t')) continue;
        if (line_start && (!strncmp(p, "import ", 7) || !strncmp(p, "from ", 5) || *p == '#'))
            return 1;
        if (line_start) { /* a Python statement keyword starts the line */
            static const char *const kw[] = {"def ",     "class ", "for ",   "while ",
                                             "if ",      "with ",  "return", "break",
                                             "continue", "@",      "try:"};
            for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
                if (!strncmp(p, kw[k], strlen(kw[k]))) return 1;
        }
        line_start = 0;
        if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if ((ch == ')' || ch == ']' || ch == '}') && depth > 0)
            depth--;
        else if (ch == '=' && depth == 0 && p[1] != '=' && p > s && !strchr("=!<>", p[-1]))
            return 1;
        else if (isupper((unsigned char)ch) &&
                 (p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            const char *q = p;
            while (isalnum((unsigned char)*q) || *q == '_') q++;
            while (*q == ' ' || *q == '\t') q++;
            if (*q == '(') return 1;
        }
    }
    return 0;
}
