/* graph.h - the model graph's internals, shared by the library's modules (trainer,
 * checkpoint I/O, analyzer). Users see only the opaque on_model of ordnet.h. */
#ifndef ON_GRAPH_H
#define ON_GRAPH_H

#include "ops/op.h"
#include "ordnet_bench.h" /* on_model_profile, defined in graph.c */

#define ON_NAME_MAX 64

/* A model's parameters and state, in floats (1 GiB); the fuzzer builds with less. */
#ifndef ON_MAX_MODEL_PARAMS
#define ON_MAX_MODEL_PARAMS ((size_t)1 << 28)
#endif

typedef struct on_node {
    const on_op *op; /* NULL for node 0, the input */
    on_attrs a;
    char name[ON_NAME_MAX];
    int in[ON_MAX_INPUTS]; /* producing nodes, in[0 .. nin); -1 after them */
    int nin;
    on_shape ys; /* per-sample output shape */
    int t0, nt;  /* its tensors: model->tensors[t0 .. t0+nt) */
    /* set by compile */
    /* backward: add into input k's gradient instead of writing it (another consumer
     * wrote it first) */
    unsigned char accumulate[ON_MAX_INPUTS];
    int reaches_output;
    /* backward: this node's backward runs sample by sample right before node i-1's (both
     * compute each sample from that sample alone: a backward chain, see graph.c) */
    unsigned char bwd_link;
    /* ... and the node below it (a BatchNorm) takes its gradient sums on each sample as
     * this node's backward leaves it (sample_grad_stats) */
    unsigned char bwd_stats;
    /* backward: in two parts (op.h's backward_coefs), the second per sample, at the top of
     * a backward chain; set at compile (ON_CONV_NO_BN_CHAIN is read there) */
    unsigned char bwd_two;
    /* Training, compile-time: a backward chain whose last node is i+1 may run inside this
     * node's backward (on_call's dy_ready; graph.c's dy_chain_below): the chain's gradients
     * then live until this node's backward is done. Not with an activity regularizer here,
     * which adds to the whole batch's gradient before the backward. */
    unsigned char dy_chain;
    /* set by an inference forward: its output was left unwritten, a 2x2 max-pool after it
     * having run in its stores (on_call's pool2), or written to a thread's slot in a
     * per-sample chain (graph.c's run_chain); a backward computes it first */
    unsigned char unwritten;
    float *y, *dy, *saved;
    float *p[4], *dp[4];
    /* weight tying (a Keras layer or model applied twice): the node whose parameters this
     * one uses, 0 for its own. Its tensors are that node's (t0, nt): forward reads them and
     * backward ADDS into the same gradients (op.h's dp), so the model holds one set. */
    int share;
} on_node;

typedef struct on_tensor {
    char name[2 * ON_NAME_MAX];
    int node;
    on_param_desc d;
    size_t off; /* into params (trainable) or state */
} on_tensor;

struct on_model {
    on_shape input;
    on_node *nodes;
    int nn, ncap;
    on_tensor *tensors;
    int nt, tcap;
    float *params, *grads, *state; /* contiguous: optimizers are flat loops */
    size_t np, ns, pcap, gcap, scap;
    float *opt_state; /* optimizer memory (momentum, Adam moments), 2*np */
    float *norm;      /* input normalization: mean[C] then std[C], or NULL */
    char *notes;      /* what the model readers converted or added */
    /* plan */
    int batch, threads, want_input_grad;
    double fwd_work; /* one sample's forward: flops + bytes moved, summed over the nodes */
    float *arena, *tmp, *acc, *dinput;
    float *bn_coef; /* 2 floats per channel of the widest BatchNorm (fuse_into), or NULL */
    /* a backward chain inside a convolution's backward leaves each sample's gradient for it
     * here, at the thread's place (dy_slot_len floats each), not in the batch's buffer */
    float *dy_slot;
    size_t dy_slot_len;
    size_t arena_bytes; /* on_big_free's */
    int n, last_train;  /* batch size and mode of the last forward */
    uint64_t seed, step, fstep;
    double *prof;           /* on_model_profile: seconds per node, forward [0, nn) then backward */
    struct on_output *outs; /* outputs set by on_model_set_output (outputs.c); NULL: one */
    int nout;
    on_error last_err; /* why the last on_model_forward failed */
    /* set by on_train_distributed with sync_bn (see on_call.sync) */
    int (*sync)(void *ctx, double *x, size_t n);
    void *sync_ctx;
    double *sync_buf;
    /* set by on_model_loss: the node whose output gradient the loss wrote (the last, or the
     * input of a final sigmoid for binary cross-entropy from logits: the backward starts
     * there), and whether the backward adds the regularizers' gradients */
    int loss_node, reg_pending;
};

/* Keras regularizers (src/train/regularize.c): their loss over the last forward, and their
 * gradients: of node i's output (activity; added to dy of n samples) and of the
 * parameters (kernel, bias; added to the gradients). */
double on_reg_loss(const on_model *m);
void on_reg_activity_grad(const on_model *m, int i, float *dy, float chain_sigmoid);
void on_reg_param_grads(on_model *m);
/* Zero the gradients of frozen layers' parameters. */
void on_frozen_zero_grads(on_model *m);
/* Does node i run in training mode when the model trains? (A frozen batchnorm does not.) */
int on_node_trains(const on_node *nd, int train);
/* Texts for an Embedding model (src/train/text_fit.c). on_model_takes_ids: the smallest
 * input_dim of the embeddings the input feeds, 0 when it feeds anything else (the input
 * is then not token ids). on_dataset_fit: *out = d fitted to m (texts: ids below the
 * Embedding's input_dim, padded / truncated at the front to the input length); 1 when out
 * is a copy the caller frees, 0 when it is d itself, -1 on error. */
int on_model_takes_ids(const on_model *m);
int on_dataset_fit(const on_model *m, const on_dataset *d, on_dataset *out, on_error *err);

/* The first node that uses another's parameters (on_model_add_shared), 0 when none: for the
 * tools that cannot keep the tie (the compact form, ONNX export, optimize) to refuse. */
int on_model_first_shared(const on_model *m);

/* Pointers of tensor i (trainable: params + off; state: state + off). */
float *on_tensor_ptr(on_model *m, int i);

#endif
