/* op.h - the op descriptor: everything ordnet knows about one kind of layer.
 *
 * Each op family lives in one file of src/ops/ and defines one on_op per op; registry.c
 * lists them. The graph, the trainer, the tests and the analyzer all read this table.
 *
 * Dimension letters used in kernel comments: N batch, C input channels, F output
 * channels (filters), H W spatial size of the input, P Q spatial size of the output,
 * K = C*kh*kw rows of an im2col matrix.
 */
#ifndef ON_OP_H
#define ON_OP_H

#include "ordnet.h"
#include "../base/base.h" /* on_fail, on_shape_equal, the clock, on_mix64 and on_uniform */
#include "conv_variant.h" /* on_queue reads ON_CONV_STATIC_SPLIT */
#include <stdatomic.h>

/* Algebraic properties (see docs/ORDERING.md). For an elementwise f. */
enum {
    ON_PROP_ELEMENTWISE = 1u << 0,      /* y_i = f(x_i) (per channel allowed) */
    ON_PROP_MONO_UP = 1u << 1,          /* x <= y => f(x) <= f(y) */
    ON_PROP_MONO_DOWN = 1u << 2,        /* x <= y => f(x) >= f(y) */
    ON_PROP_ZERO_FIXED = 1u << 3,       /* f(0) = 0 */
    ON_PROP_POS_HOMOG = 1u << 4,        /* f(kx) = k f(x) for k > 0 */
    ON_PROP_AFFINE = 1u << 5,           /* f(x) = a x + b */
    ON_PROP_PER_CHANNEL = 1u << 6,      /* its parameters differ per channel */
    ON_PROP_STOCHASTIC = 1u << 7,       /* random in train mode; for one draw the op is
                                           x -> m x + n elementwise, and ZERO_FIXED says n = 0,
                                           MONO_UP m >= 0, PER_CHANNEL one draw per channel */
    ON_PROP_TRAIN_DIFFERS = 1u << 8,    /* computes something else in train and eval mode */
    ON_PROP_IDEMPOTENT = 1u << 9,       /* f(f(x)) = f(x) */
    ON_PROP_PARAM_DEPENDENT = 1u << 10, /* some properties hold only for some weights:
                                          props_of() decides them from the weights */
    ON_PROP_POOL = 1u << 11,            /* spatial pooling: max / min / avg, see pool_kind */
    ON_PROP_LINEAR_MAP = 1u << 12,      /* conv / dense: a linear map plus bias */
    ON_PROP_RESHAPE = 1u << 13,         /* only moves values (flatten) */
    ON_PROP_SIGN_KEEPING = 1u << 15,    /* f(x) >= 0 for x > 0 and f(x) <= 0 for x <= 0 (GELU) */
    ON_PROP_LEAKY = 1u << 16,       /* f(x) = x for x > 0, s x otherwise (a slope s per channel) */
    ON_PROP_MONO_UP_POS = 1u << 17, /* non-decreasing on x >= 0 (hard-swish) */
    ON_PROP_ODD = 1u << 18,         /* f(-x) = -f(x) (tanh, softsign) */
    /* Layers that move values within each channel (upsampling, padding, cropping): */
    ON_PROP_COPIES = 1u << 20,    /* every output is a copy of an input value of its channel */
    ON_PROP_ZERO_FILL = 1u << 21, /* ... or a 0 it adds (zero padding) */
    ON_PROP_CONVEX = 1u << 22,    /* every output is a weighted mean of values of its channel,
                                     weights >= 0 summing to 1 (linear upsampling) */
    /* With ON_PROP_RESHAPE (reshape, permute): */
    ON_PROP_REORDERS = 1u << 23,       /* values change places in memory (permute) */
    ON_PROP_KEEPS_CHANNELS = 1u << 24, /* output channel c holds exactly input channel c */
    ON_PROP_GLOBAL = 1u << 25,         /* pools each channel to one value (pool_kind says how) */
    ON_PROP_SHIFTS = 1u << 26, /* with COPIES: a window of the input at a fixed offset (crop), or
                                  the input inside a border of zeros (zero padding) */
    /* Random augmentation (Keras RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
     * RandomContrast; src/ops/random_*.c). None of the bits above is set on them: those
     * describe one fixed function, these layers draw a new one per sample and step. */
    ON_PROP_AUGMENT = 1u << 27,       /* train mode: a transform drawn per sample from the node's
                                         seeded stream; eval mode: the identity, bit for bit */
    ON_PROP_AUG_PERMUTES = 1u << 28,  /* with AUGMENT: each draw permutes the positions of a
                                         sample, the same way in every channel (flips): it
                                         commutes with any elementwise layer, per channel too,
                                         and keeps every channel's multiset of values */
    ON_PROP_AUG_RESAMPLES = 1u << 29, /* with AUGMENT: each draw is y[c] = A x[c] + k b, one
                                         map A of positions for every channel: each output is
                                         a weighted mean (bilinear) or a copy (nearest) of
                                         input values of its channel, or, with fill constant,
                                         partly the fill value k (attrs: interp, fill) */
};

enum { ON_POOL_NONE = 0, ON_POOL_MAX, ON_POOL_MIN, ON_POOL_AVG };

/* Merges (concatenation, sum, product, ...) take any number of inputs up to this; a
 * DenseNet-201 block concatenates 49. */
#define ON_NINPUTS_ANY (-1)
#define ON_MAX_INPUTS 64

/* A trainable parameter or a state buffer that an op owns. */
typedef struct on_param_desc {
    const char *name; /* "weight", "bias", "running_mean", ... */
    size_t size;
    int ndims, dims[4];
    int trainable; /* 0: state (running statistics), not updated by optimizers */
    enum { ON_INIT_FANIN, ON_INIT_ZEROS, ON_INIT_ONES, ON_INIT_CONST, ON_INIT_GIVEN } init;
    /* ON_INIT_CONST: the value; ON_INIT_GIVEN: the value the layer is added with, after which
     * only what a model reader or a checkpoint writes there counts: on_model_init leaves it
     * (Keras Normalization's given mean and variance survive `ordnet train`) */
    float init_value;
    int fan_in; /* ON_INIT_FANIN: uniform(+-1/sqrt(fan_in)) */
} on_param_desc;

/* Everything a kernel needs for one call; forward and backward share it. */
typedef struct on_call {
    const on_attrs *a;
    int n;           /* samples in this batch */
    on_shape xs, ys; /* per-sample shapes of the (first) input and the output */
    const float *x;  /* the (first) input */
    float *y;        /* output */
    const float *dy; /* backward: gradient of the output */
    float *dx;       /* backward: gradient of the (first) input, OVERWRITTEN; may be NULL */
    /* Ops with several inputs (ninputs == ON_NINPUTS_ANY) read them all here: input k is
     * xin[k] of per-sample shape xsin[k] (x == xin[0], xs == xsin[0]); its gradient goes
     * to dxin[k] (may be NULL), ADDED to when dx_add[k] (another consumer wrote it first),
     * OVERWRITTEN otherwise. */
    int nin;
    const float *const *xin;
    const on_shape *xsin;
    float *const *dxin;
    const unsigned char *dx_add;
    float *const *p;  /* parameters, in declared order (trainable then state) */
    float *const *dp; /* backward: gradients of trainable parameters, ADDED to */
    float *saved;     /* per-node memory kept from forward to backward */
    float *tmp;       /* scratch, valid only during this call */
    int train;
    uint64_t key, step; /* dropout: this node's random stream and the step counter */
    /* Ops with per_sample_epilogue call this after each sample's output is complete; the
     * planner runs the following layers on it while it is in cache (a per-sample chain). */
    void (*epilogue)(void *ctx, int sample);
    void *epilogue_ctx;
    /* Inference, ops with ON_FUSES_CLAMP: the ReLU, ReLU6 or hardtanh after them runs in their
     * output stores: every output value v is to be v > lo ? (v > hi ? hi : v) : lo, the
     * activation's own expression (NaN gives lo), before the epilogue sees it. y is then
     * the activation's buffer; the op's own output is not written. */
    int clamp;
    float clamp_lo, clamp_hi;
    /* Inference, ops with ON_FUSES_RESID, where a residual add (two inputs) follows them: its
     * other input, the batch's (y's layout), added to every output value before the clamp;
     * y is then the add's buffer (or its clamp's). NULL: none. */
    const float *resid;
    /* Inference, ops whose fuses_pool said yes for this layer, where a 2x2 max-pool of
     * stride 2 without padding follows them: it runs in their stores (each output tile's
     * window reduced as pool.c's 2x2 kernel does, then the clamp, if any); y is then the
     * pool's buffer (or its clamp's), of the pooled shape. Never with resid. */
    int pool2;
    /* With pool2, the layers between the op and the pool that run in the stores too, on
     * every output value before the window's reduction: a clamp as above (pre_clamp: a ReLU
     * before a BatchNorm), then a BatchNorm's inference affine per output channel f,
     * v = bn_a[f] v + bn_b[f] (bn_a NULL: none), the coefficients and the expression of
     * batchnorm.c's own forward (on_bn_eval_coefs): the same bits as the layers after. */
    int pre_clamp;
    float pre_lo, pre_hi;
    const float *bn_a, *bn_b;
    /* Backward, ops with ON_FUSES_DCLAMP, whose input is the output of a ReLU, ReLU6 or
     * hardtanh that nothing else reads: dx is then that clamp's input gradient, each value
     * times its derivative at x, as the clamp's own backward computes it, (x > lo && x < hi)
     * ? 1 : 0 (dclamp 1) or, a ReLU's, (x > lo) ? 1 : 0 (dclamp 2); the clamp's backward
     * does not run (graph.c's on_model_backward). 0: none. */
    int dclamp;
    float dclamp_lo, dclamp_hi;
    /* Backward, ops whose dy_chain said yes for this layer: before the first read of sample
     * s's dy, the kernel calls dy_ready(dy_ctx, s), which computes it (the backwards of the
     * per-sample layers above, sample by sample: graph.c's backward chain) and returns where:
     * a few KB the calling thread reuses for each sample (valid until its next call), so that
     * each sample's gradient is read while in cache and never written to memory. NULL: dy is
     * there for the whole batch. */
    const float *(*dy_ready)(void *ctx, int s);
    void *dy_ctx;
    /* In a per-sample chain (forward or backward), the index of this call's sample in the
     * batch: ops whose per-node memory or random numbers are indexed by sample (max-pool
     * positions, dropout masks) offset them by it. 0 otherwise. */
    int sample0;
    /* Training forward of an op with sample_stats: they already ran for every sample of
     * this batch (from the producer's epilogue); training backward of an op with
     * sample_grad_stats: those did (from the backward chain after it). */
    int stats_ready;
    /* Backward of an op with backward_coefs: those ran on the whole batch; compute this
     * call's input gradient alone (its samples, from c->sample0), nothing else. */
    int coefs_ready;
    /* Forward of an op with per_sample_epilogue: write sample s's output at the place of
     * sample t, the calling thread's index in its team, not at s's (graph.c's run_chain
     * then reads it there): the output is read by nothing after the epilogue. */
    int y_slots;
    int threads;
    /* Data-parallel training with synchronized BatchNorm (on_train_dist.sync_bn): sums n
     * doubles over the processes, in place; sync_buf holds 3 doubles per channel of the
     * widest BatchNorm. NULL: each process's own batch statistics. */
    int (*sync)(void *ctx, double *x, size_t n);
    void *sync_ctx;
    double *sync_buf;
} on_call;

enum { ON_FUSES_CLAMP = 1, ON_FUSES_RESID = 2, ON_FUSES_DCLAMP = 4 }; /* on_op's fuses */

/* on_op's in_place. OVER: an elementwise layer whose forward may write its output over its
 * input (same shape, y[i] from x[i] alone) and whose backward reads nothing but its output
 * y, its saved memory and dy (ReLU's derivative reads y; dropout's backward its kept bytes).
 * UNDER: a layer whose backward never reads its own output, so that the layer after it may
 * write over it (convolution, dense, BatchNorm and the pools read their input, a max-pool
 * also its winners' positions). graph.c gives a layer OVER after a layer UNDER the same
 * buffer where nothing else reads the layer under: a training step then writes and reads
 * one plane less, and the arena holds one less.
 * GRAD: a layer whose backward may write its input's gradient over its output's (each dx
 * value from the dy at its place, after whatever reads dy whole): graph.c gives both one
 * buffer where dy is the layer's alone and dx this layer's first, so that the backward's
 * pass updates a plane in place instead of writing a fresh one (BatchNorm).
 * VIEW: a layer whose output is its input's values in their order (flatten, reshape):
 * graph.c gives it its input's buffer, and its input's gradient its own gradient's buffer
 * where first written by it, so that neither pass copies (forward and backward skip the
 * copy where the two are one). A view is never UNDER: nothing writes over it, so the values
 * stay as the layers below it need them for their backward. */
enum { ON_IN_PLACE_OVER = 1, ON_IN_PLACE_UNDER = 2, ON_IN_PLACE_GRAD = 4, ON_IN_PLACE_VIEW = 8 };
/* ... and NO_READ: a layer whose backward reads neither its input nor its output (dropout:
 * its kept bytes and dy), so that a training forward need not keep either (graph.c's
 * train_slots) */
enum { ON_IN_PLACE_NO_READ = 16 };

struct on_op {
    const char *name;  /* compact-form name: "conv2d", "relu", ... */
    const char *title; /* for listings: "2-D convolution" */
    unsigned props;
    int pool_kind;           /* ON_POOL_* */
    int ninputs;             /* 1, or ON_NINPUTS_ANY: 2 to ON_MAX_INPUTS (merges) */
    int spatial;             /* input rank it needs: 3 image, 2 signal, 1 flat, 0 any */
    int per_sample_epilogue; /* forward calls c->epilogue per finished sample */
    int fuses;               /* inference forward applies c->clamp (ON_FUSES_CLAMP) and
                                c->resid (ON_FUSES_RESID) to its output; backward applies
                                c->dclamp (ON_FUSES_DCLAMP) to its input gradient */
    int in_place;            /* ON_IN_PLACE_OVER, _UNDER, _GRAD (above) */
    on_attrs defaults;
    /* Argument names the model readers accept, positional order first (reader/args.c). */
    const char *args;
    /* Decide the properties from actual attributes and weights (NULL: props). */
    unsigned (*props_of)(const on_attrs *a, const float *const *p, on_shape xs);
    /* Is f the clamp min(max(x, lo), hi)? (ReLU: 0, +inf.) NULL: no. */
    int (*clamp_of)(const on_attrs *a, float *lo, float *hi);
    /* Optional: may the inference forward on input xs take a following 2x2 max-pool into
     * its stores (on_call's pool2)? As the kernel choice, it may depend on on_conv_variant. */
    int (*fuses_pool)(const on_attrs *a, on_shape xs);
    /* Optional: does the backward on input xs take its dy sample by sample through on_call's
     * dy_ready? */
    int (*dy_chain)(const on_attrs *a, on_shape xs);
    /* Optional: does the training forward on input xs honor on_call's y_slots (on_y_at)? */
    int (*y_slots)(const on_attrs *a, on_shape xs);
    /* Check the input and give the output shape; fills err naming the problem. */
    int (*shape)(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err);
    /* The same for ops with several inputs: xs[0..n). */
    int (*shape_n)(const on_attrs *a, const on_shape *xs, int n, on_shape *ys, on_error *err);
    /* The op's parameters for input shape xs; returns how many (at most 4). */
    int (*params)(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]);
    /* Floats kept from forward to backward, and scratch floats, for n samples. */
    size_t (*saved_size)(const on_attrs *a, on_shape xs, on_shape ys, int n);
    size_t (*tmp_size)(const on_attrs *a, on_shape xs, on_shape ys, int n, int threads);
    /* Training only, optional: what the forward needs from each input sample before it can
     * start (BatchNorm's batch statistics), taken while the producer's output is in cache:
     * the planner calls it from the producer's epilogue with c->x and c->sample0 set to
     * one finished sample (c->n = 1), possibly from several threads at once, and then runs
     * the forward with c->stats_ready. */
    void (*sample_stats)(const on_call *c);
    /* Training only, optional: the same for the backward. The layers after this one whose
     * backward computes each sample from that sample alone run sample by sample (a
     * backward chain, graph.c), and the planner calls this with c->x, c->dy and c->sample0
     * set to one sample as soon as its gradient is complete, then runs the backward with
     * c->stats_ready (BatchNorm's sums of dy and dy * xhat). */
    void (*sample_grad_stats)(const on_call *c);
    /* Optional: the backward in two parts. This one on the whole batch (its dy complete):
     * the parameters' gradients and what the input gradient needs from every sample (a
     * BatchNorm's means of dy and dy * xhat); then the backward with c->coefs_ready, on any
     * samples, the input gradient alone. graph.c runs the second part sample by sample in a
     * backward chain, so that each sample's input gradient goes to the layer below while in
     * cache (inside a convolution's backward: its dy_ready). */
    void (*backward_coefs)(const on_call *c);
    void (*forward)(const on_call *c);
    void (*backward)(const on_call *c);
    on_cost (*cost)(const on_attrs *a, on_shape xs, on_shape ys);
    /* Optional: check the input values before the forward (embedding: whole token ids in
     * range); graph.c's on_model_forward runs it and fails with err's message. */
    int (*check)(const on_call *c, on_error *err);
};

/* The registry (registry.c). */
extern const on_op *const on_ops[];
extern const int on_nops;

/* Is the pool of attributes a on input xs the 2x2, stride-2 max-pool without padding that
 * pool.c runs as one window per 2x2 block (pool2 above)? */
int on_pool_is_max2x2(const on_op *op, const on_attrs *a, on_shape xs);

/* A BatchNorm's inference coefficients, channel by channel as its forward computes them
 * (y = A x + B): p its parameters (gamma, beta, running mean, running variance), eps its
 * attribute, C channels (batchnorm.c). */
void on_bn_eval_coefs(const float *const *p, float eps, int C, float *A, float *B);

/* Helpers shared by op files. */
on_cost on_cost_elementwise(on_shape xs, double flops_per_elem);
/* Field by field (a struct's padding bytes are not copied reliably, so no memcmp). */
int on_attrs_equal(const on_attrs *x, const on_attrs *y);
/* The layers that move values without changing them (flatten, reshape: shape_ops.c) */
void on_copy_fwd(const on_call *c);
void on_copy_bwd(const on_call *c);
on_cost on_copy_cost(const on_attrs *a, on_shape xs, on_shape ys);

#ifdef _OPENMP
#include <omp.h>
static inline int on_thread_id(void) {
    return omp_get_thread_num();
}
static inline int on_thread_count(void) {
    return omp_get_num_threads();
}
/* Inside a parallel region (even a team of one's, which omp_in_parallel() does not count)? */
static inline int on_in_region(void) {
    return omp_get_level() > 0;
}
#else
static inline int on_thread_id(void) {
    return 0;
}
static inline int on_thread_count(void) {
    return 1;
}
static inline int on_in_region(void) {
    return 0;
}
#endif

/* fn(ctx, i0, i1) over [0, n), split in contiguous shares over `threads` threads where
 * `par` says the work is worth it, else all on this thread with no OpenMP region at all:
 * libgomp ends every region with a futex system call, even a team of one's (an `if (0)`
 * region too), and a per-sample chain (the pooling, activation and dropout after each
 * sample of a convolution) opened thousands of them a training step: 6% of the reference
 * model's step on one thread went to those calls. For loops whose iterations are
 * independent (which thread takes which does not change a bit). */
typedef void (*on_range_fn)(const void *ctx, long i0, long i1);
static inline void on_parallel_range(int threads, int par, long n, on_range_fn fn,
                                     const void *ctx) {
    if (threads <= 1 || !par || n < 2) {
        fn(ctx, 0, n);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        long t = on_thread_id(), T = on_thread_count();
        fn(ctx, n * t / T, n * (t + 1) / T);
    }
}

/* Where a forward writes sample i's output (ysz floats a sample): at i's place, or with
 * on_call's y_slots at the place of the thread t that calls the epilogue on it (0 where the
 * threads shared the sample and the epilogue runs after their region) */
static inline float *on_y_at(const on_call *c, size_t ysz, int i, int t) {
    return c->y + ysz * (size_t)(c->y_slots ? t : i);
}

/* The samples (or groups of samples) [0, n) of a forward's parallel region, handed to its
 * threads: the queue made before the region, then in it
 *     for (int k = 0, i; (i = on_queue_next(&q, &k)) >= 0;) ...
 * Each thread takes its static share [n th / T, n (th + 1) / T) from the front. In training
 * that is all: the batch's statistics and gradients are summed by those shares, and their
 * bits depend on them. In inference, where a sample's output does not depend on the thread
 * that computes it, a thread whose share is done then takes samples from the back of the
 * share with the most left, so that a faster core takes more: the two virtual CPUs of these
 * machines ran compute-bound code at times at 0.5-0.7x of each other's speed (taskset; a
 * busy neighbour on the core's other half), and even shares left the fast one waiting at
 * each layer's end (the reference model at batch 256: 26% of a profile's samples in the
 * wait); so it took 0.89x the time where the CPUs ran unequally, the same where they did
 * not. Each thread keeps its own share's samples from one layer to the next, in its own
 * caches: taken one by one from a common counter, a sample was computed on the other core
 * than in the layer before as often as not, and the reference model at batch 256 took
 * 1.23x the time.
 * ON_CONV_STATIC_SPLIT keeps to the shares in inference too (the same bits). */
enum { ON_QUEUE_MAX = 64 }; /* threads; a larger team keeps to its static shares */
typedef struct {
    int n, T; /* T: the shares, 0 where there is no taking from others' (static) */
    struct {  /* [front, back) of a share, packed front | back << 32; a cache line each */
        _Alignas(64) _Atomic unsigned long long v;
    } share[ON_QUEUE_MAX];
} on_queue;

static inline void on_queue_init(on_queue *q, const on_call *c, int n) {
    q->n = n;
    q->T = !c->train && c->threads > 1 && c->threads <= ON_QUEUE_MAX &&
                   !(on_conv_variant & ON_CONV_STATIC_SPLIT)
               ? c->threads
               : 0;
    for (int t = 0; t < q->T; t++)
        atomic_init(&q->share[t].v, (unsigned long long)(n * t / q->T) |
                                        (unsigned long long)(n * (t + 1) / q->T) << 32);
}

/* The k-th index (from 0) of this thread's static share, or -1 past its end */
static inline int on_queue_static(const on_queue *q, int k) {
    int th = on_thread_id(), T = on_thread_count(), i = q->n * th / T + k;
    return i < q->n * (th + 1) / T ? i : -1;
}

/* The next index for this thread, or -1 when there is none; k counts its turns (from 0) */
static inline int on_queue_next(on_queue *q, int *k) {
    if (!q->T) return on_queue_static(q, (*k)++);
    int th = on_thread_id();
    /* its own share's front (a team smaller than T leaves shares to the others' backs) */
    for (unsigned long long v = th < q->T ? atomic_load(&q->share[th].v) : 0;
         th < q->T && (unsigned)v < v >> 32;)
        if (atomic_compare_exchange_weak(&q->share[th].v, &v, v + 1)) return (int)(unsigned)v;
    for (;;) { /* else the back of the share with the most left */
        int best = -1;
        unsigned long long bv = 0, most = 0;
        for (int t = 0; t < q->T; t++) {
            unsigned long long v = atomic_load(&q->share[t].v);
            unsigned long long left = (v >> 32) - (unsigned)v;
            if ((unsigned)v < v >> 32 && left > most) best = t, bv = v, most = left;
        }
        if (best < 0) return -1;
        if (atomic_compare_exchange_weak(&q->share[best].v, &bv, bv - (1ull << 32)))
            return (int)(bv >> 32) - 1;
    }
}

/* Filters a unit of work where the threads share one sample's filters at batch 1, handed
 * out by an on_queue (conv.c's conv_forward_shared, conv_winograd.c's forward_sample): an
 * eighth of them, in whole blocks of 32 (gemm.c's lanes() and products_fly()'s blocks), at
 * least 32. From F alone: which thread computes a unit changes no bits. */
static inline int on_filter_unit(int F) {
    int u = (F / 8 + 31) / 32 * 32;
    return u < 32 ? 32 : u;
}

/* The index this thread is likely to take next (for a prefetch), or -1 */
static inline int on_queue_peek(on_queue *q, int k) {
    if (!q->T) return on_queue_static(q, k);
    int th = on_thread_id();
    unsigned long long v = th < q->T ? atomic_load(&q->share[th].v) : 0;
    return (unsigned)v < v >> 32 ? (int)(unsigned)v : -1;
}

/* Hot vector loops are compiled twice, for x86-64-v3 (AVX2 and FMA: 8 floats a vector, a
 * multiply and an add in one rounding) and for the x86-64-v2 baseline (SSE, 4, multiply
 * then add); the loader picks one for the CPU it runs on, so the last bits of a result can
 * differ between a CPU with FMA and one without (never between runs on one machine).
 * ORDNET_NO_CLONES (the sanitizer build) keeps the baseline only, so that the tests run it
 * too. ON_WIDE_CLONES adds an x86-64-v4 (AVX-512) clone, for the loops the compiler
 * vectorizes itself (activations, element-wise merges): the baseline's SSE code was their
 * cost, not memory (MobileNet v2's ReLU6 passes: 12% of its inference). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define ON_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define ON_WIDE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ON_VECTOR_CLONES
#define ON_WIDE_CLONES
#endif

/* Eight floats as one value (the gcc and clang vector extension), for kernels that keep
 * blocks of sums in registers: one AVX2 register in the AVX2 clones, two SSE ones in the
 * baseline. vfu, VLOAD and VSTORE take any float's address (unaligned, and allowed to alias
 * floats, as the intrinsics' own __m256_u). Pass them between functions only by pointer:
 * a vector argument changes the calling convention between the clones. */
typedef float vf __attribute__((vector_size(32)));
typedef float vfu __attribute__((vector_size(32), aligned(4), may_alias));
typedef int vi __attribute__((vector_size(32)));
#define VLOAD(p) (*(const vfu *)(p))
#define VSTORE(p, v) (*(vfu *)(p) = (v))

/* The clamp a ReLU, ReLU6 or hardtanh fused into a convolution's stores applies (on_call's
 * clamp_lo, clamp_hi): v > lo ? (v > hi ? hi : v) : lo, the layers' own expression bit for
 * bit (a NaN gives lo). ON_VCLAMP is the same for a vector v of type VT, in place, by masks
 * (VI: the ints of VT's width; lo and hi vectors of VT). */
static inline float on_clamp(float v, float lo, float hi) {
    return v > lo ? (v > hi ? hi : v) : lo;
}
#define ON_VCLAMP(VT, VI, v, lo, hi)                                                               \
    do {                                                                                           \
        VI m_ = (v) > (lo);                                                                        \
        VT t_ = (VT)((m_ & (VI)(v)) | (~m_ & (VI)(lo)));                                           \
        m_ = t_ > (hi);                                                                            \
        (v) = (VT)((m_ & (VI)(hi)) | (~m_ & (VI)t_));                                              \
    } while (0)

/* Ask the cache for n floats from p (one request per 64-byte line), for data a loop will
 * read next that the hardware prefetcher would not find in time: short runs far apart,
 * or the next sample while this one is worked on. */
static inline void on_prefetch(const float *p, size_t n) {
    for (size_t j = 0; j < n; j += 16) __builtin_prefetch(p + j);
}

/* Elementwise loops go parallel only above this many floats. */
#define ON_PAR_MIN 8192

/* on_mix64 and on_uniform, the counter-based random numbers: base/base.h. */

#endif
