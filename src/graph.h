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
    float *y, *dy, *saved;
    float *p[4], *dp[4];
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
    float *arena, *tmp, *acc, *dinput;
    int n, last_train; /* batch size and mode of the last forward */
    uint64_t seed, step, fstep;
    double *prof;           /* on_model_profile: seconds per node, forward [0, nn) then backward */
    struct on_output *outs; /* outputs set by on_model_set_output (outputs.c); NULL: one */
    int nout;
    on_error last_err; /* why the last on_model_forward failed */
    /* set by on_train_distributed with sync_bn (see on_call.sync) */
    int (*sync)(void *ctx, double *x, size_t n);
    void *sync_ctx;
    double *sync_buf;
};

/* Pointers of tensor i (trainable: params + off; state: state + off). */
float *on_tensor_ptr(on_model *m, int i);

#endif
