/* ordnet.h - the public API of libordnet, a small CPU engine for convolutional networks.
 *
 * Tutorial
 * --------
 * A model is a graph of layers over a per-sample input shape: mostly a chain, with merges
 * (residual adds, concatenations, gates) that take several earlier layers.
 * Build one from the compact one-line form, compile it for a batch size, then run
 * forward / loss / backward / step:
 *
 *     on_error err;
 *     on_model *m = on_model_from_spec(
 *         "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) flatten dense(10)",
 *         &err);
 *     if (!m || on_model_compile(m, 64, &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *     on_model_init(m, 42);                        // PyTorch-style default init
 *     for (step = 0; ...) {
 *         on_model_forward(m, images, 64, ON_TRAIN);
 *         float loss = on_model_loss(m, labels, 0.1f); // softmax cross-entropy
 *         on_model_zero_grad(m);
 *         on_model_backward(m);
 *         on_sgd_step(m, 0.05f, 0.9f, 5e-4f, ON_MOMENTUM_PLAIN);
 *     }
 *     on_model_free(m);
 *
 * Or let ordnet run the loop and keep the result:
 *
 *     on_dataset tr, te;
 *     on_data_load("fashion-mnist", ON_SPLIT_TRAIN, 0, &tr, &err); // also IDX, CIFAR-10, CSV
 *     on_data_load("fashion-mnist", ON_SPLIT_TEST, 0, &te, &err);
 *     on_train_cfg cfg = on_train_defaults();           // AdamW, one-cycle, 5 epochs
 *     on_train(m, &tr, &te, &cfg, NULL, NULL, &err);
 *     on_checkpoint_save(m, "model.ckpt", NULL, &err);  // safetensors, atomic
 *
 * And ask which orders of its layers are the same function:
 *
 *     on_analyze_opts o = on_analyze_defaults();
 *     o.block = "bn,relu,maxpool,dropout(0.2)";
 *     char *report = on_analyze(m, &o, &err);  // text; o.format = ON_FORMAT_JSON for JSON
 *
 * Shapes are per sample and channels first inside ordnet: (C,H,W) for images, (C,L) for
 * 1-D signals (stored as H = 1), (F) for flat features. The compact form writes input
 * shapes the Keras way, channels last: input(28,28,1), input(128,16).
 *
 * Errors: every call that can fail because of its input returns 0 on success or -1 and
 * fills an on_error with a message naming what is wrong and where (layer name, shapes).
 * The library never prints and never exits.
 *
 * Determinism: the same seed and the same thread count give bit-identical results.
 * Threads come from OpenMP (OMP_NUM_THREADS or on_set_threads).
 */
#ifndef ORDNET_H
#define ORDNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is libordnet's public API: the shared library is built with
 * -fvisibility=hidden and exports these names only (tests/symbols.sh checks it). */
#ifdef __GNUC__
#pragma GCC visibility push(default)
#endif

#define ORDNET_VERSION "0.2.0"

/* The library's version (ORDNET_VERSION of the build, which may differ from the header a
 * program was compiled with) and its optional parts, space-separated among "onnx" (ONNX
 * files), "sqlite" (the order study), "png" (PNG images) and "openblas". A part left out
 * of the build makes its calls fail with "ordnet was built without ... support". */
const char *on_version(void);
const char *on_build_features(void);

/* An error message; filled by failing calls. */
typedef struct on_error {
    char msg[512];
} on_error;

/* A per-sample shape. rank 1: (c) flat features; rank 2: (c, w) a 1-D signal with h = 1;
 * rank 3: (c, h, w) an image. Unused dimensions are 1. */
typedef struct on_shape {
    int rank;
    int c, h, w;
} on_shape;

/* Number of floats in one sample of shape s. */
size_t on_shape_size(on_shape s);
/* Writes "(32,14,14)" style text into buf; returns buf. */
char *on_shape_str(on_shape s, char *buf, size_t len);

/* The modes the calls below take, named (their values are the 0 and 1 the calls took as
 * plain ints before, so old code still compiles and means the same). */
typedef enum on_mode { ON_EVAL = 0, ON_TRAIN = 1 } on_mode;                  /* on_model_forward */
typedef enum on_format { ON_FORMAT_TEXT = 0, ON_FORMAT_JSON = 1 } on_format; /* summaries */
/* which equalities count: exact in training (bit-identical weights) or at inference too */
typedef enum on_purpose { ON_FOR_TRAINING = 0, ON_FOR_INFERENCE = 1 } on_purpose;
/* properties of the weights: stated as conditions, or decided from the model's weights */
typedef enum on_weights_use { ON_WEIGHTS_AS_CONDITIONS = 0, ON_WEIGHTS_DECIDE = 1 } on_weights_use;
typedef enum on_split { ON_SPLIT_TEST = 0, ON_SPLIT_TRAIN = 1 } on_split; /* on_data_load */
typedef enum on_momentum { ON_MOMENTUM_PLAIN = 0, ON_MOMENTUM_NESTEROV = 1 } on_momentum;

/* Padding modes for convolution and pooling (on_attrs.pad_mode). */
typedef enum on_pad_mode { ON_PAD_VALID = 0, ON_PAD_SAME = 1, ON_PAD_EXPLICIT = 2 } on_pad_mode;

/* Attributes of a layer. Each op reads the fields it documents in src/ops/ and ignores
 * the rest; on_attrs_default() gives the values the op table declares as defaults. */
typedef struct on_attrs {
    int units;              /* conv filters, dense outputs */
    int kh, kw;             /* kernel or pool window */
    int sh, sw;             /* stride (pool: 0 = window size) */
    int dh, dw;             /* dilation */
    int pad_mode;           /* ON_PAD_* */
    int pad[4];             /* explicit padding: top, bottom, left, right */
    int bias;               /* conv/dense: has a bias */
    int ceil_mode;          /* pooling: ceil instead of floor for the output size */
    int count_include_pad;  /* average pooling: padded zeros count in the divisor */
    float alpha;            /* activation parameter (slope, alpha, beta of softplus) */
    float lo, hi;           /* hardtanh bounds */
    float rate;             /* dropout probability p */
    float eps, momentum;    /* batchnorm; momentum is PyTorch's: weight of the new batch */
    uint64_t seed;          /* dropout mask stream */
    int groups;             /* convolution groups: 1 plain; C depthwise (units = C x multiplier) */
    int opad[2];            /* transposed convolution output_padding: rows, columns */
    int mode;               /* upsampling: ON_RESIZE_* */
    int align_corners;      /* bilinear upsampling: PyTorch's align_corners */
    float scale_h, scale_w; /* upsampling factors (may be fractional) */
    int axis;               /* concatenation axis of the per-sample shape (0: channels) */
    int perm[3];            /* permute: output dimension i is input dimension perm[i] */
    int dims[3], ndims;     /* reshape: per-sample target shape, channels first; -1 inferred */
    int vocab;              /* embedding: number of token ids (Keras input_dim) */
    float scale, offset;    /* rescaling: x * scale + offset */
    float stddev;           /* Gaussian noise */
    /* Keras regularizers, added to the training loss (no parameters): [0] kernel, [1] bias,
     * [2] activity (the layer's output); l1 * sum |w| + l2 * sum w^2. */
    float reg_l1[3], reg_l2[3];
    int frozen;     /* Keras trainable=False: the parameters are kept as they are, never updated
                       (optimizers skip them); a frozen batchnorm runs in inference mode in
                       training too (running statistics, not updated), as Keras 2 does */
    float range[4]; /* random augmentation factors: [lo, hi] for height then width (Keras
                       height_factor / width_factor; rotation and contrast use range[0..1]) */
    int fill;       /* augmentation fill mode: ON_FILL_* */
    int interp;     /* augmentation interpolation: ON_RESIZE_NEAREST or ON_RESIZE_LINEAR */
} on_attrs;

/* Fill modes of the random augmentation layers (Keras fill_mode). */
typedef enum on_fill_mode {
    ON_FILL_REFLECT = 0,
    ON_FILL_WRAP = 1,
    ON_FILL_CONSTANT = 2,
    ON_FILL_NEAREST = 3
} on_fill_mode;
/* RandomFlip's mode (on_attrs.mode of random_flip): which flips it may draw. */
typedef enum on_flip_mode {
    ON_FLIP_HORIZONTAL = 1,
    ON_FLIP_VERTICAL = 2,
    ON_FLIP_BOTH = 3
} on_flip_mode;

/* Upsampling modes. */
typedef enum on_resize_mode { ON_RESIZE_NEAREST = 0, ON_RESIZE_LINEAR = 1 } on_resize_mode;

/* Padding fill modes (on_attrs.mode of zeropad1d/2d): a constant (on_attrs.alpha, 0 by
 * default: zero padding), the reflection without the edge value (PyTorch and ONNX
 * 'reflect'; each amount below the axis's size), the edge value repeated (PyTorch
 * 'replicate', ONNX 'edge'). */
enum { ON_PADFILL_CONSTANT = 0, ON_PADFILL_REFLECT = 1, ON_PADFILL_EDGE = 2 };

typedef struct on_model on_model;
typedef struct on_op on_op;

/* The op table: look an op up by name ("conv2d", "relu", ...). NULL if unknown. */
const on_op *on_op_find(const char *name);
/* Number of registered ops and the i-th one (for tests and listings). */
int on_op_count(void);
const on_op *on_op_at(int i);
const char *on_op_name(const on_op *op);
/* The default attributes of op. */
on_attrs on_attrs_default(const on_op *op);

/* --- building ------------------------------------------------------------------ */

/* A new empty model over one sample of shape `input`. */
on_model *on_model_new(on_shape input, on_error *err);
/* Free a model and everything it owns. NULL is fine. */
void on_model_free(on_model *m);
/* Append a layer fed by the current last node. Returns the new node index or -1.
 * name may be NULL (a Keras-style name is made: conv2d, conv2d_1, ...). */
int on_model_add(on_model *m, const on_op *op, const on_attrs *a, const char *name, on_error *err);
/* Append a residual Add of the last node and node `other`. Returns node index or -1. */
int on_model_add_residual(on_model *m, int other, on_error *err);
/* General graphs: append a one-input layer fed by node `input`, or an Add of nodes a and
 * b. The model's output is always the last node appended. */
int on_model_add_at(on_model *m, int input, const on_op *op, const on_attrs *a, const char *name,
                    on_error *err);
int on_model_add_sum(on_model *m, int a, int b, const char *name, on_error *err);
/* A merge of n >= 2 nodes (add, multiply, subtract, divide, average, maximum, minimum,
 * concat): inputs[0 .. n). Elementwise merges take inputs of the output's shape or a
 * per-channel gate ((C), (C,1) or (C,1,1)) broadcast over space; concat joins along
 * a->axis (0: channels). a may be NULL (the op's defaults). */
int on_model_add_merge(on_model *m, const on_op *op, const on_attrs *a, const int *inputs, int n,
                       const char *name, on_error *err);
/* Any op: one input (n = 1) or a merge. Model rebuilders use it for every node. */
int on_model_add_node(on_model *m, const on_op *op, const on_attrs *a, const int *inputs, int n,
                      const char *name, on_error *err);
/* Weight tying: a node applying node k's op, attributes and PARAMETERS (one set, counted
 * once) to inputs[0 .. n); its input shapes must give k's parameter shapes. Backward adds
 * both applications' gradients into the one set, as Keras's shared layers and PyTorch's
 * modules called twice do. The compact form, ONNX export and optimize refuse such models. */
int on_model_add_shared(on_model *m, int k, const int *inputs, int n, const char *name,
                        on_error *err);
/* Parse the compact one-line form and append its layers. Tokens are op names with
 * optional arguments, separated by spaces; '|' is a visual separator. See docs/. */
int on_model_add_spec(on_model *m, const char *spec, on_error *err);
/* A whole model from the compact form; it must start with input(...). */
on_model *on_model_from_spec(const char *spec, on_error *err);
/* The model in the compact form (malloc'd; NULL when out of memory): from_spec of it
 * builds the same graph. Layers not fed by the previous one get from=NAME; residual sums
 * are add(NAME). Layer names follow from the order, as on_model_add makes them. */
char *on_model_to_spec(const on_model *m);

/* Read a model definition from text: Keras Python code (functional API, Sequential([...])
 * or model.add(...)) or the compact form, told apart by content. `name` is the file name
 * used in errors (file:line:col). input, when not NULL, gives or replaces the input shape
 * (per sample, channels first). classes 0: the model exactly as written. classes > 0 (the
 * data's classes, for training): a model without a classifier (a last dense layer followed
 * only by activations or dropout) gets a head (flatten if needed, then dense(classes)),
 * described by on_model_notes; one whose classifier has another number of outputs is an
 * error naming both. A model ending in dense(1) + sigmoid is a binary classifier (trained
 * with binary cross-entropy, on_model_loss): classes must then be 1 or 2. */
on_model *on_model_from_text(const char *text, const char *name, const on_shape *input, int classes,
                             on_error *err);
/* The same, reading the file at path. */
on_model *on_model_from_file(const char *path, const on_shape *input, int classes, on_error *err);
/* Notes the readers left: what was converted or added (Keras softmax folded into the
 * loss, the classifier head, ...), one per line; "" when none. */
const char *on_model_notes(const on_model *m);
/* Append a line to the notes. */
void on_model_add_note(on_model *m, const char *note);
/* A Keras-like table of the layers (name, type, output shape, parameters, FLOPs, memory,
 * totals), or with json = ON_FORMAT_JSON the object {"layers": [...], "total_params", ...}.
 * Returns a malloc'd string the caller frees, or NULL when out of memory. */
char *on_model_summary(const on_model *m, on_format format);
/* Models with several Keras Inputs (Model(inputs=[left, right])) hold them packed in node 0,
 * one after another, each an "input_part" node; summary and analyze read them. The number
 * of Inputs (1 for every other model), "left (None, 4), right (None, 4)" (Keras shapes),
 * and 0, or -1 with err naming them: what trains, evaluates or runs a model on data needs
 * one input. */
int on_model_num_inputs(const on_model *m);
char *on_model_inputs_str(const on_model *m, char *buf, size_t len);
int on_model_check_one_input(const on_model *m, on_error *err);

/* --- inspecting ---------------------------------------------------------------- */

int on_model_num_nodes(const on_model *m); /* node 0 is the input */
const char *on_model_node_name(const on_model *m, int i);
const on_op *on_model_node_op(const on_model *m, int i);
on_shape on_model_node_shape(const on_model *m, int i);
on_shape on_model_output_shape(const on_model *m);
/* The nodes feeding node i (> 0): how many, and the k-th; -1 when out of range. */
int on_model_node_num_inputs(const on_model *m, int i);
int on_model_node_input(const on_model *m, int i, int k);
size_t on_model_num_params(const on_model *m); /* trainable floats */

/* Cost of one layer for a batch of one sample. */
typedef struct on_cost {
    double flops_fwd, flops_bwd; /* floating point operations */
    double bytes_fwd, bytes_bwd; /* bytes read + written */
} on_cost;
on_cost on_model_node_cost(const on_model *m, int i);

/* Named tensors: trainable parameters and state (BatchNorm running statistics).
 * Names are "<layer>.<param>", e.g. "conv2d.weight", "batch_normalization.running_var". */
int on_model_num_tensors(const on_model *m);
const char *on_model_tensor_name(const on_model *m, int i);
float *on_model_tensor_data(on_model *m, int i);
float *on_model_tensor_grad(on_model *m, int i); /* NULL for state tensors */
size_t on_model_tensor_size(const on_model *m, int i);
/* The i-th tensor's dimensions as PyTorch lays them out (e.g. conv: F,C,kh,kw). */
int on_model_tensor_dims(const on_model *m, int i, int dims[4]);
int on_model_tensor_find(const on_model *m, const char *name);

/* --- running ------------------------------------------------------------------- */

/* Plan buffers for batches of up to `batch` samples and allocate them once.
 * Must be called after the last add and before forward. May be called again. */
int on_model_compile(on_model *m, int batch, on_error *err);
/* Ask for the gradient of the input in backward (off by default: it costs a pass). */
void on_model_want_input_grad(on_model *m, int on);
/* Default initialization (PyTorch's: uniform(+-1/sqrt(fan_in)), BN gamma 1 beta 0). */
void on_model_init(on_model *m, uint64_t seed);
/* Forward n <= batch samples laid out N,C,H,W. train (ON_TRAIN / ON_EVAL): batch
 * statistics and dropout on, or running statistics and no dropout.
 * Each train-mode forward advances the dropout step counter. */
int on_model_forward(on_model *m, const float *x, int n, on_mode train);
/* Why the last on_model_forward returned -1 (an embedding's token id out of range names
 * the layer, the id and the vocabulary size); "" after a successful one. */
const char *on_model_last_error(const on_model *m);
/* The output of the last forward: n x (output shape). */
const float *on_model_output(const on_model *m);
/* The training loss of the last output against labels, with label smoothing; also sets
 * the output gradient for backward. Returns the loss. Outputs of k > 1 values: mean
 * softmax cross-entropy. One value (Keras's Dense(1) + sigmoid): binary cross-entropy with
 * labels 0/1, from the sigmoid's input when the model ends in a sigmoid (the backward then
 * starts below it), else from the output as a probability (on_binary_xent). The Keras
 * regularizers of the layers (on_attrs.reg_l1 / reg_l2) are added: kernel and bias
 * l1 sum|w| + l2 sum w^2, activity the same over the layer's output divided by the batch
 * size; the next on_model_backward adds their gradients. */
float on_model_loss(on_model *m, const int *labels, float smoothing);
/* Set the gradient of the output directly (n x output size), instead of on_model_loss
 * (the backward then adds no regularizer gradients: the caller's loss has none). */
void on_model_set_output_grad(on_model *m, const float *dy);
/* Backpropagate from the output gradient; ADDS into parameter gradients. The gradients
 * of frozen layers' parameters (on_attrs.frozen) are left at 0. */
int on_model_backward(on_model *m);
/* Gradient with respect to the input of the last backward (n x input size). */
const float *on_model_input_grad(const on_model *m);
void on_model_zero_grad(on_model *m);
/* Set the dropout step counter (masks are a pure function of seed, step and index). */
void on_model_set_step(on_model *m, uint64_t step);
/* Per-layer timing (on_model_profile) and the machine's peaks: ordnet_bench.h. */

/* --- optimizers (flat loops over the contiguous parameters) --------------------- */
/* Both skip the parameters of frozen layers (on_attrs.frozen): no update, no weight decay. */

/* SGD as torch.optim.SGD: L2 weight decay added to the gradient, momentum, Nesterov. */
void on_sgd_step(on_model *m, float lr, float momentum, float weight_decay, on_momentum nesterov);
/* AdamW as torch.optim.AdamW (decoupled weight decay); t is the 1-based step number. */
void on_adamw_step(on_model *m, float lr, float beta1, float beta2, float eps, float weight_decay,
                   long t);
/* Scale gradients so that their global L2 norm is at most max_norm; returns the norm. */
float on_clip_grad_norm(on_model *m, float max_norm);

/* Softmax cross-entropy over n rows of k logits with label smoothing. Returns the mean
 * loss; writes d(mean loss)/d(logits) into dlogits when it is not NULL. */
float on_softmax_xent(const float *logits, const int *labels, int n, int k, float smoothing,
                      float *dlogits);
/* Binary cross-entropy over n values with labels 0/1 and Keras's label smoothing (target
 * y (1 - s) + s / 2). logits = 1: x are the sigmoid's inputs (the stable form of PyTorch's
 * BCEWithLogitsLoss); 0: x are probabilities, clipped to [1e-7, 1 - 1e-7] as Keras does.
 * Returns the mean loss (NaN for a label other than 0 or 1); writes d(mean loss)/dx into
 * dx when it is not NULL. */
float on_binary_xent(const float *x, const int *labels, int n, float smoothing, int logits,
                     float *dx);

/* --- data ---------------------------------------------------------------------- */

/* A labelled data set in memory: n samples of `shape`, values as stored (bytes -> [0,1]). */
typedef struct on_dataset {
    int n, classes;
    on_shape shape;
    float *x; /* n x shape, channels first */
    int *y;   /* n labels in [0, classes) */
    /* > 0: the samples are texts (a CSV of label, text): x holds each text's token ids,
     * shape (L) with L its longest text, padded with 0 at the front; ids rank the `words`
     * words of the training texts by frequency (Keras Tokenizer). on_train and on_evaluate
     * fit them to the model's Embedding (ids >= its input_dim dropped) and input length. */
    int words;
} on_dataset;

/* Load the training (ON_SPLIT_TRAIN) or test (ON_SPLIT_TEST) split of `where`: "fashion-mnist"
 * (Debian's /usr/share/datasets/fashion-mnist) or a directory holding MNIST-layout IDX files
 * (train-images-idx3-ubyte[.gz] ...), CIFAR-10 binary or CSV/TSV files (train.csv and
 * test.csv, UCR's NAME_TRAIN.tsv and NAME_TEST.tsv), or one CSV/TSV file whose every fifth
 * example is the test split. A CSV whose lines are a label and a text is read as texts
 * (on_dataset.words; docs/DATA.md). limit > 0 keeps the first `limit` samples. */
int on_data_load(const char *where, on_split train, int limit, on_dataset *out, on_error *err);
/* Load one IDX image file and its label file (gzipped or not); labels may be NULL
 * (every label is then 0). */
int on_idx_load(const char *images, const char *labels, int limit, on_dataset *out, on_error *err);
void on_dataset_free(on_dataset *d);
/* One PGM or PNG image into out (want.c x want.h x want.w floats in [0,1]); grey and
 * RGB are converted to the model's channels; the size must match. */
int on_image_load(const char *path, on_shape want, float *out, on_error *err);

/* Per-channel input normalization (x - mean) / std applied by on_train / on_evaluate;
 * computed from the training set by on_train unless set. NULL mean/std: none. */
void on_model_set_normalization(on_model *m, const float *mean, const float *std);
int on_model_normalization(const on_model *m, const float **mean, const float **std);

/* --- training -------------------------------------------------------------------- */

typedef enum on_optimizer { ON_OPT_SGD = 0, ON_OPT_ADAMW = 1 } on_optimizer;
typedef enum on_schedule {
    ON_SCHED_CONST = 0,
    ON_SCHED_STEP,
    ON_SCHED_COSINE,
    ON_SCHED_ONECYCLE
} on_schedule;

typedef struct on_train_cfg {
    int epochs, batch;
    int opt;         /* ON_OPT_* */
    int schedule;    /* ON_SCHED_* */
    float lr;        /* peak learning rate */
    float wd;        /* weight decay */
    float momentum;  /* SGD momentum; AdamW beta1 */
    int nesterov;    /* ON_MOMENTUM_NESTEROV: Nesterov momentum (SGD) */
    float smoothing; /* label smoothing */
    float clip;      /* max gradient norm, 0 = none */
    int augment;     /* random crop (padding 2) and horizontal flip */
    uint64_t seed;
    int start_epoch; /* resume: epochs already done */
} on_train_cfg;

/* The default recipe: AdamW, one-cycle at 3e-3, weight decay 1e-2, label smoothing 0.1,
 * batch 128, 5 epochs. */
on_train_cfg on_train_defaults(void);

/* What an epoch (or a batch, while it runs) reports. */
typedef struct on_epoch_report {
    int epoch, epochs;          /* 1-based */
    int batch, batches;         /* batches done in this epoch */
    double loss, train_acc;     /* running means over the epoch so far */
    double test_loss, test_acc; /* at the end of an epoch; -1 when no test set */
    double seconds, images_per_s, lr;
    int done; /* 1 at the end of the epoch */
} on_epoch_report;

/* Called after every batch and at the end of each epoch; return non-zero to stop. */
typedef int (*on_train_cb)(void *user, const on_epoch_report *r);

/* Train m (compiled or not) on `train`, evaluating on `test` (may be NULL) after every
 * epoch. Stops with an error when the loss becomes NaN or infinite. */
int on_train(on_model *m, const on_dataset *train, const on_dataset *test, const on_train_cfg *cfg,
             on_train_cb cb, void *user, on_error *err);

/* Data-parallel training over `size` processes (docs/SCALE.md): each takes its share of
 * every batch (contiguous slices), and after the backward pass the processes' gradients,
 * each scaled by its share, are summed by `allreduce`, which the caller provides (the CLI's
 * is MPI_Allreduce: the library makes no MPI calls). Every process then takes the same
 * optimizer step, so the weights stay equal everywhere. BatchNorm's batch statistics are
 * each process's own (as PyTorch's DistributedDataParallel) unless sync_bn is set;
 * dropout masks are drawn per rank. Every process must call this with the same model, data, recipe
 * and size. */
typedef struct on_train_dist {
    int rank, size;
    /* sum x[0..n) elementwise over the processes, in place; 0 on success */
    int (*allreduce)(void *ctx, float *x, size_t n);
    void *ctx;
    /* NULL: BatchNorm's batch statistics are each process's own. Else BatchNorm uses the
     * whole batch's (PyTorch's SyncBatchNorm): this sums n doubles over the processes in
     * place, twice per BatchNorm layer and step; every process then needs a sample of
     * every batch. */
    int (*sync_bn)(void *ctx, double *x, size_t n);
} on_train_dist;

/* on_train, data-parallel when dist is not NULL (and dist->size > 1). */
int on_train_distributed(on_model *m, const on_dataset *train, const on_dataset *test,
                         const on_train_cfg *cfg, const on_train_dist *dist, on_train_cb cb,
                         void *user, on_error *err);

/* Mean loss and accuracy of m on d in eval mode; confusion (classes x classes, row =
 * true class) is filled when not NULL. */
int on_evaluate(on_model *m, const on_dataset *d, int batch, double *loss, double *acc,
                long *confusion, on_error *err);

/* --- analysis: which adjacent layers commute (docs/ORDERING.md) --------------------- */

typedef enum on_verdict_kind {
    ON_EXACT,
    ON_EXACT_CHANGE,
    ON_CONDITIONAL,
    ON_ROUNDING,
    ON_APPROX,
    ON_NEVER
} on_verdict_kind;

typedef struct on_verdict {
    int kind;            /* ON_EXACT ... ON_NEVER */
    char reason[400];    /* why, in one sentence */
    char condition[160]; /* ON_CONDITIONAL: what must hold on the weights */
    char change[64];     /* ON_EXACT_CHANGE: what changes, e.g. "max-pool becomes min-pool" */
    int likely;          /* ON_CONDITIONAL: 1 when trained weights usually satisfy it (BN
                            scales >= 0), 0 when they practically never do (BN shift = 0) */
} on_verdict;

/* "exact", "exact-with-change", "conditional", "rounding", "approximate", "never". */
const char *on_verdict_name(on_verdict_kind kind);
/* Do nodes i and i+1 of m commute? infer: ON_FOR_INFERENCE or ON_FOR_TRAINING. weights:
 * ON_WEIGHTS_DECIDE decides weight-dependent properties from m's current weights,
 * ON_WEIGHTS_AS_CONDITIONS states them as conditions. */
on_verdict on_model_commute(const on_model *m, int i, on_purpose infer, on_weights_use weights);
/* A new model: m with every run of reorderable layers in the cheapest order of its class
 * (ON_FOR_TRAINING: exact swaps only, so it trains to bit-identical weights;
 * ON_FOR_INFERENCE: also swaps equal at inference). *changed: whether anything moved. Weights,
 * layer names, normalization and notes are kept. */
on_model *on_reorder_cheapest(const on_model *m, on_purpose infer, int *changed, on_error *err);
/* The analysis `ordnet analyze` prints: a verdict and the cost of both orders for every
 * adjacent pair of m (may be NULL), the class of orders equal to m by proof and its
 * cheapest member, and with block (e.g. "bn,relu,maxpool,dropout(0.2)", placed after
 * m's first convolution, or after conv2d(32,3,same) on 28x28x1) the classes of all its
 * permutations; measure = 1 also times the cheapest order of each class for real (a batch
 * of 64 after the block's prefix). Text, or JSON {"pairs", "classes", "cheapest", ...}.
 * malloc'd. o may be NULL (on_analyze_defaults()). */
typedef struct on_analyze_opts {
    on_purpose infer;       /* ON_FOR_INFERENCE (the default) or ON_FOR_TRAINING */
    on_weights_use weights; /* ON_WEIGHTS_AS_CONDITIONS (the default) or ON_WEIGHTS_DECIDE */
    const char *block;      /* NULL, or the layers to permute: "bn,relu,maxpool,dropout(0.2)" */
    int measure;            /* 1: also time the cheapest order of each class */
    on_format format;       /* ON_FORMAT_TEXT (the default) or ON_FORMAT_JSON */
} on_analyze_opts;
on_analyze_opts on_analyze_defaults(void);
char *on_analyze(const on_model *m, const on_analyze_opts *o, on_error *err);

/* --- checkpoints ----------------------------------------------------------------- */

/* What a checkpoint records besides the weights. */
typedef struct on_checkpoint_info {
    on_train_cfg cfg; /* the training configuration */
    int epoch;        /* epochs completed */
    int classes;      /* classes of the data it was trained on */
    char data[256];   /* the data it was trained on ("fashion-mnist", a directory) */
} on_checkpoint_info;

/* Write m (its definition, weights, running statistics, normalization and optimizer
 * state) and info (may be NULL) to path in the safetensors layout, atomically: a crash
 * leaves the old file in place, never a partial one. */
int on_checkpoint_save(const on_model *m, const char *path, const on_checkpoint_info *info,
                       on_error *err);
/* Read a checkpoint; verifies its checksum and every tensor's shape. info may be NULL. */
on_model *on_checkpoint_load(const char *path, on_checkpoint_info *info, on_error *err);

/* --- optimize (src/analyze/optimize.c) --- */

/* One rewrite that optimize applied. */
typedef struct on_rewrite {
    char what[160]; /* e.g. "fold batchnorm 'batchnorm' into conv2d 'conv2d'" */
    int exact;      /* 1: bit-exact by theory, 0: up to rounding */
} on_rewrite;

/* A new model: m rewritten for inference into its cheapest exactly-equal form, using m's
 * weights (copied, m unchanged). Rewrites, repeated until none applies: remove dropout (the
 * identity at inference); move a pool before an elementwise layer when on_commute says the pair
 * is exact at inference with the weights (ReLU, monotone activations, BatchNorm with every
 * scale >= 0), since the elementwise layer then runs on fewer values; fold an eval-mode
 * BatchNorm that directly follows a conv or dense layer into its weights (W' = a W per output
 * channel, b' = a b + shift with a = gamma/sqrt(var+eps), shift = beta - mean*a; a conv
 * without bias gets one); drop the second of two identical adjacent idempotent layers (relu relu);
 * merge two adjacent max-pools (or min-pools) that tile their inputs exactly (stride = size, no
 * padding, sizes divisible) into one pool of the product size; move an elementwise layer before a
 * nearest upsampling or zero padding that feeds it when exact. Writes up to max_rw rewrites into
 * rw (may be NULL) and their count into *nrw (may be NULL). NULL with err on failure.
 * docs/OPTIMIZE.md gives the proofs. */
on_model *on_optimize(const on_model *m, on_rewrite *rw, int max_rw, int *nrw, on_error *err);

/* What on_verify_models measured. */
typedef struct on_verify {
    double max_abs;    /* largest |a - b| over every output value */
    double max_rel;    /* largest per-sample max|a - b| / max(max|a|, max|b|) */
    int bit_identical; /* 1 when every output float has the same bits in a and b */
    int samples;       /* inputs compared */
} on_verify;

/* Run random inputs (and, when data is not NULL, the first n samples of it, normalized by each
 * model's own statistics) through a and b in eval mode; report the largest absolute and
 * relative output difference and whether every output was bit-identical. Both models are
 * compiled by the call (and recompiled for their previous batch size, if they had one). */
int on_verify_models(on_model *a, on_model *b, const on_dataset *data, int n, on_verify *out,
                     on_error *err);
/* --- end optimize --- */

/* --- NumPy arrays (src/io/npy.c) ------------------------------------------------ */

#define ON_ARRAY_MAX_DIMS 8

/* A float array in C order: dims[0..ndim) (ndim 0: a scalar), size = their product. */
typedef struct on_array {
    int ndim;
    int64_t dims[ON_ARRAY_MAX_DIMS];
    size_t size;
    float *data; /* malloc'd */
} on_array;

/* Read a .npy file holding little-endian float32 or float64 (converted) in C order, or
 * int32 / int64 (token ids: converted exactly; a value beyond +-2^24 is an error naming its
 * position and value). */
int on_npy_load(const char *path, on_array *out, on_error *err);
/* The same from bytes in memory; label names the source in errors. */
int on_npy_parse(const void *buf, size_t len, const char *label, on_array *out, on_error *err);
/* Write prod(dims) floats as a float32 .npy file, atomically (temp file + rename). */
int on_npy_save(const char *path, const float *data, int ndim, const int64_t *dims, on_error *err);
void on_array_free(on_array *a); /* frees data and zeroes *a; NULL is fine */
/* Write n arrays as a NumPy .npz (numpy.savez: a zip of NAME.npy members, stored),
 * atomically; numpy.load(path)[names[k]] is arrays[k]. */
int on_npz_save(const char *path, int n, const char *const *names, const on_array *arrays,
                on_error *err);

/* --- ONNX (src/onnx/, docs/ONNX.md) ----------------------------------------------- */

/* A model from an ONNX file (opsets 7 to 18), with its weights, ready for eval-mode
 * forward: nodes become ordnet layers named after the nodes, initializers their weights.
 * Every graph output is an output of the model (on_model_num_outputs ...), with its ONNX
 * name and dimensions; the first is the last layer. An operator, attribute or opset ordnet
 * cannot run is an error naming the node, its op type, the opset and what is missing; a
 * damaged file is an error, never a crash. A Softmax at an output is dropped (ordnet
 * models output logits) and a note says so (on_model_notes). */
on_model *on_onnx_load(const char *path, on_error *err);
/* The same from the bytes of a file in memory; label names the source in errors. */
on_model *on_onnx_parse(const void *buf, size_t len, const char *label, on_error *err);
/* A value for a graph input that has no initializer (ordnet run --input NAME=FILE.npy). */
typedef struct on_onnx_feed {
    const char *name;
    const on_array *value;
} on_onnx_feed;
/* on_onnx_load with values for graph inputs. The data input is the first input without an
 * initializer that no feed names (or the first of them, when feeds name all); every other
 * input without an initializer must be fed and becomes a constant, as an initializer would
 * (a feed naming an input that has one replaces it). Without feeds, such an input is an
 * error naming it. A feed with a NULL or empty name is the data's value. *data_feed (may be
 * NULL) gets the index of the feed naming the data input (else of the unnamed one), -1 when
 * none; that feed's array gives the input dimensions the file leaves open (a symbolic H, W). */
on_model *on_onnx_load_feeds(const char *path, const on_onnx_feed *feeds, int nfeeds,
                             int *data_feed, on_error *err);
on_model *on_onnx_parse_feeds(const void *buf, size_t len, const char *label,
                              const on_onnx_feed *feeds, int nfeeds, int *data_feed, on_error *err);
/* Write m as an ONNX model (opset 13) at path, atomically. The input is "input" (batch
 * dimension "N"), the output is named after the last layer; a model with input
 * normalization gets it as its first two nodes (Sub, Mul). */
int on_onnx_save(const on_model *m, const char *path, on_error *err);
/* The same into a malloc'd buffer (*buf, *len), for callers that store it elsewhere. */
int on_onnx_encode(const on_model *m, void **buf, size_t *len, on_error *err);

/* --- several outputs, and their shapes outside ordnet (src/outputs.c) ------------ */

/* A model has one output, its last node, unless more are declared: output 0 is always the
 * last node; outputs 1.. are any nodes (an ONNX graph's further outputs). Every node's
 * output is kept after a forward, so on_model_output_at reads them all. */
int on_model_num_outputs(const on_model *m);
int on_model_output_node(const on_model *m, int k);        /* -1 when k is out of range */
const float *on_model_output_at(const on_model *m, int k); /* n x its node's shape */
/* Its name (the ONNX output's, else the node's). */
const char *on_model_output_name(const on_model *m, int k);
/* Its per-sample dimensions (batch excluded) as the model's source declares them, e.g.
 * (C,1,1) after ONNX's GlobalAveragePool where ordnet holds (C); ordnet's own shape when
 * none were declared or they no longer hold as many values. Returns how many (<= 7). */
int on_model_output_dims(const on_model *m, int k, int64_t dims[ON_ARRAY_MAX_DIMS]);
/* Declare output k (0 <= k <= on_model_num_outputs: k equal to it appends one): node
 * (ignored for k = 0, the last node), name (NULL: the node's) and per-sample dims
 * (ndims 0: ordnet's shape). The dims must hold as many values as the node's shape. */
int on_model_set_output(on_model *m, int k, int node, const char *name, int ndims,
                        const int64_t *dims, on_error *err);

/* The order study (on_study_run, on_study_adaptive): ordnet_study.h. */

/* Threads used by ordnet's loops and GEMMs (0 = OpenMP's default). */
void on_set_threads(int n);
int on_get_threads(void);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
