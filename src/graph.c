/* graph.c - the model graph: building with shape inference, the execution plan
 * (buffers planned once per batch size, gradient buffers reused by liveness), and the
 * forward and backward passes that walk the op table.
 *
 * Memory plan for a batch size B, all in one arena allocated by on_model_compile:
 *   - every node's output, B x its shape (kept: the backward pass reads them), except
 *     that a ReLU or dropout writes over the output of the layer before it where only it
 *     reads that and its backward does not (in_place below);
 *   - every node's saved floats (BatchNorm statistics);
 *   - gradient slots: a node's output gradient lives from the backward step of its last
 *     consumer to its own backward step; slots are reused when their tensor dies;
 *   - one scratch area (the largest any op asks for) and one accumulation buffer for
 *     outputs read by two consumers (residual blocks).
 * Nothing is allocated by forward or backward.
 */
#include "graph.h"
#include "ops/conv_variant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* residual sums (on_model_add_sum) are merge.c's add, named directly: the graph takes
 * nothing from the op table's lookup (registry.c). So are the layers a convolution runs in
 * its stores (on_call's resid and clamp): that add (of two inputs: a + b is b + a, bit for
 * bit), and the clamps whose expression is exactly the clamp's, signed zeros and NaN
 * included (not leaky_relu with slope 0: -0 for negative x). */
extern const on_op on_op_add, on_op_relu, on_op_relu6, on_op_hardtanh, on_op_batchnorm;

static int g_threads = 0;
void on_set_threads(int n) {
    g_threads = n > 0 ? n : 0;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
}
int on_get_threads(void) {
#ifdef _OPENMP
    return g_threads > 0 ? g_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

on_model *on_model_new(on_shape input, on_error *err) {
    if (input.rank < 1 || input.rank > 3 || input.c < 1 || input.h < 1 || input.w < 1 ||
        (input.rank < 3 && input.h != 1) || (input.rank < 2 && input.w != 1)) {
        on_fail(err, "invalid input shape: rank %d, (%d,%d,%d)", input.rank, input.c, input.h,
                input.w);
        return NULL;
    }
    if (on_shape_size(input) > (1u << 28)) {
        on_fail(err, "input shape too large: %zu values per sample", on_shape_size(input));
        return NULL;
    }
    on_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->input = input;
    m->ncap = 16;
    m->nodes = calloc((size_t)m->ncap, sizeof *m->nodes);
    if (!m->nodes) {
        free(m);
        return NULL;
    }
    m->nn = 1;
    m->nodes[0] = (on_node){.ys = input, .reaches_output = 1};
    for (int k = 0; k < ON_MAX_INPUTS; k++) m->nodes[0].in[k] = -1;
    strcpy(m->nodes[0].name, "input");
    m->seed = 0;
    return m;
}

void on_model_free(on_model *m) {
    if (!m) return;
    free(m->nodes);
    free(m->tensors);
    on_huge_free(m->params, m->pcap * sizeof(float));
    on_huge_free(m->grads, m->gcap * sizeof(float));
    on_huge_free(m->state, m->scap * sizeof(float));
    free(m->opt_state);
    free(m->norm);
    free(m->notes);
    on_big_free(m->arena, m->arena_bytes);
    free(m->prof);
    free(m->outs);
    free(m);
}

/* Grow a buffer of floats (on_huge_alloc's) to at least need elements; new space is zeroed. */
static int grow(float **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    float *b = on_huge_alloc(nc * sizeof(float));
    if (!b) return -1;
    if (*cap) memcpy(b, *buf, *cap * sizeof(float));
    on_huge_free(*buf, *cap * sizeof(float));
    memset(b + *cap, 0, (nc - *cap) * sizeof(float));
    *buf = b;
    *cap = nc;
    return 0;
}

/* A Keras-like unique name: "conv2d", then "conv2d_1", "conv2d_2"... */
static void make_name(const on_model *m, const char *base, char *out) {
    int k = 0;
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].op && !strcmp(m->nodes[i].op->name, base)) k++;
    if (k == 0)
        snprintf(out, ON_NAME_MAX, "%s", base);
    else
        snprintf(out, ON_NAME_MAX, "%s_%d", base, k);
}

static void invalidate_plan(on_model *m) {
    free(m->prof); /* node count may change */
    m->prof = NULL;
    on_big_free(m->arena, m->arena_bytes);
    m->arena = NULL;
    m->batch = 0;
}

/* Append node op fed by nodes in[0 .. nin). */
static int add_node(on_model *m, const on_op *op, const on_attrs *a, const char *name,
                    const int *in, int nin, int share, on_error *err) {
    char nm[ON_NAME_MAX], sx[48];
    if (name && *name)
        snprintf(nm, sizeof nm, "%s", name);
    else
        make_name(m, op->name, nm);
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, nm)) return on_fail(err, "layer name '%s' is used twice", nm);
    int multi = op->ninputs == ON_NINPUTS_ANY;
    if (multi ? nin < 2 || nin > ON_MAX_INPUTS : nin != 1)
        return on_fail(err, "layer '%s' (%s) takes %s, got %d", nm, op->name,
                       multi ? "2 to 64 inputs" : "one input", nin);
    on_shape xsn[ON_MAX_INPUTS], ys;
    for (int k = 0; k < nin; k++) {
        if (in[k] < 0 || in[k] >= m->nn)
            return on_fail(err, "layer '%s' (%s): input node %d does not exist (0..%d)", nm,
                           op->name, in[k], m->nn - 1);
        xsn[k] = m->nodes[in[k]].ys;
    }
    on_shape xs = xsn[0];
    on_shape_str(xs, sx, sizeof sx);
    if (op->spatial && xs.rank != op->spatial) {
        static const char *want[] = {"", "a flat input (F)", "a 1-D input (C,L)",
                                     "a 2-D input (C,H,W)"};
        return on_fail(err, "layer '%s' (%s) needs %s, got %s%s", nm, op->name, want[op->spatial],
                       sx, op->spatial == 1 ? ": add flatten or global_avgpool before it" : "");
    }
    on_error e2;
    if (multi) {
        if (op->shape_n(a, xsn, nin, &ys, &e2)) {
            /* name every input and its shape: the message says which one is off */
            char ins[400] = "";
            size_t len = 0;
            for (int k = 0; k < nin && len < sizeof ins; k++)
                len += (size_t)snprintf(ins + len, sizeof ins - len, "%s%s '%s'", k ? ", " : "",
                                        on_shape_str(xsn[k], sx, sizeof sx), m->nodes[in[k]].name);
            return on_fail(err, "layer '%s' (%s) with inputs %s: %s", nm, op->name, ins, e2.msg);
        }
        on_shape_str(xs, sx, sizeof sx);
    } else if (op->shape(a, xs, &ys, &e2))
        return on_fail(err, "layer '%s' (%s) with input %s: %s", nm, op->name, sx, e2.msg);
    if (ys.c < 1 || ys.h < 1 || ys.w < 1 || on_shape_size(ys) > (1u << 28)) {
        char sy[48];
        return on_fail(err, "layer '%s' (%s) with input %s: output shape %s is invalid", nm,
                       op->name, sx, on_shape_str(ys, sy, sizeof sy));
    }
    /* parameters are bounded before the op computes their sizes in int arithmetic */
    double est = (double)xs.c * (a->kh > 0 ? a->kh : 1) * (a->kw > 0 ? a->kw : 1) *
                 (a->units > 0 ? a->units : 1) * (a->vocab > 0 ? a->vocab : 1);
    if (a->groups > 1) /* a grouped conv's filter sees C / groups channels (depthwise: one) */
        est /= a->groups;
    if (a->vocab > 0) /* an embedding's table is vocab x units, whatever the sequence length */
        est = (double)a->vocab * (a->units > 0 ? a->units : 1);
    if (op->params && est + (double)m->np + (double)m->ns > ON_MAX_MODEL_PARAMS)
        return on_fail(err,
                       "layer '%s' (%s) with input %s would need %.3g parameters; a model "
                       "may have at most %.3g",
                       nm, op->name, sx, est, (double)ON_MAX_MODEL_PARAMS);
    on_param_desc pd[4];
    int np = op->params ? op->params(a, xs, ys, pd) : 0;
    if (share) { /* the tied node's tensors, which these inputs must fit exactly */
        const on_node *k = &m->nodes[share];
        int same = np == k->nt;
        for (int j = 0; same && j < np; j++) {
            const on_param_desc *d = &m->tensors[k->t0 + j].d;
            same = d->size == pd[j].size && d->trainable == pd[j].trainable;
        }
        if (!same)
            return on_fail(err,
                           "layer '%s' shares the weights of '%s' (%s), but its input %s needs "
                           "weights of other shapes",
                           nm, k->name, op->name, sx);
    }
    if (m->nn == m->ncap) {
        on_node *nb = realloc(m->nodes, sizeof *nb * (size_t)m->ncap * 2);
        if (!nb) return on_fail(err, "out of memory");
        m->nodes = nb;
        m->ncap *= 2;
    }
    if (m->nt + np > m->tcap) {
        int nc = m->tcap ? m->tcap * 2 : 16;
        on_tensor *tb = realloc(m->tensors, sizeof *tb * (size_t)nc);
        if (!tb) return on_fail(err, "out of memory");
        m->tensors = tb;
        m->tcap = nc;
    }
    int id = m->nn;
    on_node *nd = &m->nodes[id];
    *nd = (on_node){.op = op, .a = *a, .nin = nin, .ys = ys, .t0 = m->nt, .nt = np};
    for (int k = 0; k < ON_MAX_INPUTS; k++) nd->in[k] = k < nin ? in[k] : -1;
    snprintf(nd->name, sizeof nd->name, "%s", nm);
    if (share) nd->share = share, nd->t0 = m->nodes[share].t0;
    for (int k = 0; k < np && !share; k++) {
        on_tensor *t = &m->tensors[m->nt];
        t->node = id;
        t->d = pd[k];
        snprintf(t->name, sizeof t->name, "%s.%s", nm, pd[k].name);
        size_t *len = pd[k].trainable ? &m->np : &m->ns;
        t->off = *len;
        if (pd[k].trainable ? (grow(&m->params, &m->pcap, m->np + pd[k].size) ||
                               grow(&m->grads, &m->gcap, m->np + pd[k].size))
                            : grow(&m->state, &m->scap, m->ns + pd[k].size))
            return on_fail(err, "out of memory for the parameters of layer '%s'", nm);
        float *v = on_tensor_ptr(m, m->nt); /* ON_INIT_GIVEN: set once, here */
        for (size_t j = 0; pd[k].init == ON_INIT_GIVEN && j < pd[k].size; j++)
            v[j] = pd[k].init_value;
        *len += pd[k].size;
        m->nt++;
    }
    m->nn++;
    invalidate_plan(m);
    return id;
}

int on_model_add(on_model *m, const on_op *op, const on_attrs *a, const char *name, on_error *err) {
    return on_model_add_at(m, m->nn - 1, op, a, name, err);
}

int on_model_add_residual(on_model *m, int other, on_error *err) {
    return on_model_add_sum(m, m->nn - 1, other, NULL, err);
}

int on_model_add_at(on_model *m, int input, const on_op *op, const on_attrs *a, const char *name,
                    on_error *err) {
    if (op && op->ninputs != 1)
        return on_fail(err, "op '%s' takes several inputs: use on_model_add_merge", op->name);
    return on_model_add_node(m, op, a, &input, 1, name, err);
}

int on_model_add_node(on_model *m, const on_op *op, const on_attrs *a, const int *inputs, int n,
                      const char *name, on_error *err) {
    if (!op) return on_fail(err, "unknown op");
    on_attrs d = a ? *a : op->defaults;
    return add_node(m, op, &d, name, inputs, n, 0, err);
}

int on_model_add_shared(on_model *m, int k, const int *inputs, int n, const char *name,
                        on_error *err) {
    if (k < 1 || k >= m->nn)
        return on_fail(err, "shared layer: node %d does not exist (1..%d)", k, m->nn - 1);
    if (m->nodes[k].share) k = m->nodes[k].share; /* the one that owns the tensors */
    on_attrs a = m->nodes[k].a;                   /* a copy: adding the node may move m->nodes */
    return add_node(m, m->nodes[k].op, &a, name, inputs, n, k, err);
}

int on_model_first_shared(const on_model *m) {
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].share) return i;
    return 0;
}

int on_model_add_merge(on_model *m, const on_op *op, const on_attrs *a, const int *inputs, int n,
                       const char *name, on_error *err) {
    if (op && op->ninputs != ON_NINPUTS_ANY)
        return on_fail(err, "op '%s' takes one input: use on_model_add_at", op->name);
    return on_model_add_node(m, op, a, inputs, n, name, err);
}

int on_model_add_sum(on_model *m, int a, int b, const char *name, on_error *err) {
    int in[2] = {a, b};
    return on_model_add_merge(m, &on_op_add, NULL, in, 2, name, err);
}

int on_model_node_num_inputs(const on_model *m, int i) {
    return i > 0 && i < m->nn ? m->nodes[i].nin : 0;
}
int on_model_node_input(const on_model *m, int i, int k) {
    return i > 0 && i < m->nn && k >= 0 && k < m->nodes[i].nin ? m->nodes[i].in[k] : -1;
}

/* ----- inspecting ----- */

int on_model_num_nodes(const on_model *m) {
    return m->nn;
}
const char *on_model_node_name(const on_model *m, int i) {
    return m->nodes[i].name;
}
const on_op *on_model_node_op(const on_model *m, int i) {
    return m->nodes[i].op;
}
on_shape on_model_node_shape(const on_model *m, int i) {
    return m->nodes[i].ys;
}
on_shape on_model_output_shape(const on_model *m) {
    return m->nodes[m->nn - 1].ys;
}
size_t on_model_num_params(const on_model *m) {
    return m->np;
}

on_cost on_model_node_cost(const on_model *m, int i) {
    const on_node *nd = &m->nodes[i];
    if (!nd->op || !nd->op->cost) return (on_cost){0};
    return nd->op->cost(&nd->a, m->nodes[nd->in[0]].ys, nd->ys);
}

int on_model_num_tensors(const on_model *m) {
    return m->nt;
}
const char *on_model_tensor_name(const on_model *m, int i) {
    return m->tensors[i].name;
}
float *on_tensor_ptr(on_model *m, int i) {
    on_tensor *t = &m->tensors[i];
    return (t->d.trainable ? m->params : m->state) + t->off;
}
float *on_model_tensor_data(on_model *m, int i) {
    return on_tensor_ptr(m, i);
}
float *on_model_tensor_grad(on_model *m, int i) {
    return m->tensors[i].d.trainable ? m->grads + m->tensors[i].off : NULL;
}
size_t on_model_tensor_size(const on_model *m, int i) {
    return m->tensors[i].d.size;
}
int on_model_tensor_dims(const on_model *m, int i, int dims[4]) {
    memcpy(dims, m->tensors[i].d.dims, sizeof m->tensors[i].d.dims);
    return m->tensors[i].d.ndims;
}
int on_model_tensor_find(const on_model *m, const char *name) {
    for (int i = 0; i < m->nt; i++)
        if (!strcmp(m->tensors[i].name, name)) return i;
    return -1;
}

/* ----- init ----- */

/* FNV-1a of a layer name: a layer's (and a tensor's) random stream follows its name, not its
 * position, so reordering a block keeps each dropout layer's masks (docs/ORDERING.md). */
static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return on_mix64(h);
}

void on_model_init(on_model *m, uint64_t seed) {
    m->seed = seed;
    m->step = 0;
    for (int i = 0; i < m->nt; i++) {
        on_tensor *t = &m->tensors[i];
        if (t->d.init == ON_INIT_GIVEN) continue; /* a reader's or a checkpoint's values */
        float *p = on_tensor_ptr(m, i);
        uint64_t key = on_mix64(seed ^ name_hash(t->name));
        float bound = t->d.fan_in > 0 ? 1.0f / sqrtf((float)t->d.fan_in) : 0.0f;
        for (size_t j = 0; j < t->d.size; j++) {
            switch (t->d.init) {
            case ON_INIT_FANIN:
                p[j] = (2.0f * on_uniform(key, j) - 1.0f) * bound;
                break;
            case ON_INIT_ZEROS:
                p[j] = 0.0f;
                break;
            case ON_INIT_ONES:
                p[j] = 1.0f;
                break;
            case ON_INIT_CONST:
                p[j] = t->d.init_value;
                break;
            case ON_INIT_GIVEN: /* skipped above */
                break;
            }
        }
    }
    if (m->opt_state) memset(m->opt_state, 0, sizeof(float) * 2 * m->np);
    on_model_zero_grad(m);
}

void on_model_zero_grad(on_model *m) {
    if (m->grads) memset(m->grads, 0, sizeof(float) * m->np);
}

void on_model_set_step(on_model *m, uint64_t step) {
    m->step = step;
}

/* ----- plan ----- */

/* Gradient slots reused by liveness: best fit among free slots, else a new one. */
typedef struct slots {
    size_t size[512];
    int busy[512];
    int n;
} slots;

static int slot_take(slots *s, size_t need) {
    int best = -1;
    for (int i = 0; i < s->n; i++)
        if (!s->busy[i] && s->size[i] >= need && (best < 0 || s->size[i] < s->size[best])) best = i;
    if (best < 0)
        for (int i = 0; i < s->n; i++) /* grow the largest free slot rather than add one */
            if (!s->busy[i] && (best < 0 || s->size[i] > s->size[best])) best = i;
    if (best < 0) {
        if (s->n == 512) return -1;
        best = s->n++;
        s->size[best] = 0;
    }
    if (s->size[best] < need) s->size[best] = need;
    s->busy[best] = 1;
    return best;
}

/* Layers whose training computes each sample from that sample alone (with
 * on_node_trains: not BatchNorm's batch statistics) */
#define PER_SAMPLE_PROPS (ON_PROP_ELEMENTWISE | ON_PROP_POOL | ON_PROP_RESHAPE)

/* Does a node after node j read node p's output? */
static int read_after(const on_model *m, int p, int j) {
    for (int k = j + 1; k < m->nn; k++)
        for (int q = 0; q < m->nodes[k].nin; q++)
            if (m->nodes[k].in[q] == p) return 1;
    return 0;
}

/* May node k's output go unwritten in an inference (a fused layer's input): not a model
 * output, no activity regularizer (both read it) */
static int may_skip(const on_model *m, int k) {
    const on_node *nd = &m->nodes[k];
    if (nd->a.reg_l1[2] != 0 || nd->a.reg_l2[2] != 0) return 0;
    for (int q = 0; q < on_model_num_outputs(m); q++)
        if (on_model_output_node(m, q) == k) return 0;
    return 1;
}

/* Does node j write its output over node j-1's, in training and inference alike (op.h's
 * ON_IN_PLACE_OVER and _UNDER)? Only where j-1 feeds j alone and is read by nothing else: not
 * the model's input, not an output, no activity regularizer. The reference model on one
 * thread, batch 128: {bn relu maxpool dropout(0.2)} 1.02-1.04x the images/s, peak RSS 97
 * against 117 MB; {relu bn dropout(0.2) maxpool} 1.00x, 91 against 129 MB. */
static int in_place(const on_model *m, int j) {
    const on_node *nd = &m->nodes[j], *u = &m->nodes[j - 1];
    return j > 1 && nd->nin == 1 && nd->in[0] == j - 1 && (nd->op->in_place & ON_IN_PLACE_OVER) &&
           (u->op->in_place & ON_IN_PLACE_UNDER) && on_shape_equal(nd->ys, u->ys) &&
           !read_after(m, j - 1, j) && may_skip(m, j - 1) &&
           !(on_conv_variant & ON_CONV_NO_IN_PLACE);
}

/* Is node j a view of node j-1 (op.h's ON_IN_PLACE_VIEW): its output in j-1's buffer, the
 * same values? Not of the model's input (the caller's memory, set at each forward). The
 * reference model's inference at batch 256 on one thread copied 3.2 MB per forward less. */
static int view(const on_model *m, int j) {
    const on_node *nd = &m->nodes[j];
    return j > 1 && nd->nin == 1 && nd->in[0] == j - 1 && (nd->op->in_place & ON_IN_PLACE_VIEW) &&
           on_shape_size(nd->ys) == on_shape_size(m->nodes[j - 1].ys) &&
           !(on_conv_variant & ON_CONV_NO_IN_PLACE);
}

/* May node i's backward write the gradient of its input j over its own output's, slot si
 * (on_op's ON_IN_PLACE_GRAD, and views, ON_IN_PLACE_VIEW)? Where j's gradient is first
 * written here (no other consumer wrote it before: the reverse walk meets i first), i's is
 * its own (si, not a chain's deferred one) and the two are the same size; never the model's
 * input's (kept for the user) nor over the output's (the caller's, on_model_set_output_grad).
 * A view also inside a backward chain: its slot then passes on to j whole, never freed nor
 * deferred in between, and its backward copies nothing for any sample. */
static int grad_over(const on_model *m, int i, int j, int si) {
    const on_node *nd = &m->nodes[i];
    int flag = nd->op->in_place;
    return si >= 0 && j > 0 && i < m->nn - 1 && nd->nin == 1 &&
           (((flag & ON_IN_PLACE_GRAD) && !nd->bwd_link) || (flag & ON_IN_PLACE_VIEW)) &&
           on_shape_size(nd->ys) == on_shape_size(m->nodes[j].ys) &&
           !(on_conv_variant & ON_CONV_NO_IN_PLACE);
}

/* Does node j's backward compute each sample from that sample alone, with no parameters to
 * add into and no scratch memory (pooling, activations, dropout, flatten)? */
static int backward_per_sample(const on_model *m, int j) {
    const on_node *nd = &m->nodes[j];
    return j >= 1 && nd->reaches_output && nd->op->ninputs == 1 && nd->nin == 1 &&
           (nd->op->props & PER_SAMPLE_PROPS) && !(nd->op->props & ON_PROP_LINEAR_MAP) &&
           !nd->op->tmp_size && !nd->op->check && nd->nt == 0 && !nd->share;
}

/* Or does node j's backward come in two parts (op.h's backward_coefs: a BatchNorm), the
 * second per sample, over planes of TWO_MIN values or more? Such a node heads a backward
 * chain where the layer below it is per sample too (backward_feeds_below), never is linked
 * into one from above: its first part needs the whole batch's dy. Training steps with and
 * without, interleaved, two processes at once as the study runs them: a BatchNorm over a
 * ReLU or a dropout on 28x28 planes 0.97x-0.99x the time; alone over the convolution (the
 * reference model: 1.03x-1.04x at batch 32) or over pooled 14x14 and 7x7 planes (1.00x-
 * 1.02x) it lost, so neither. bench/RESULTS.md, session 23. */
enum { TWO_MIN = 256 };
static int backward_in_two(const on_model *m, int j) {
    const on_node *nd = &m->nodes[j];
    on_shape xs = m->nodes[nd->in[0]].ys;
    return j >= 1 && nd->op->backward_coefs && !(on_conv_variant & ON_CONV_NO_BN_CHAIN) &&
           !(on_conv_variant & ON_CONV_NO_BACKWARD_CHAIN) && nd->reaches_output && nd->nin == 1 &&
           !nd->share && on_shape_size(xs) >= (size_t)TWO_MIN * xs.c;
}

/* ... and writes the gradient of node j-1's output, which no other node reads, so that it
 * can go to the node below sample by sample? */
static int backward_feeds_below(const on_model *m, int j) {
    return !(on_conv_variant & ON_CONV_NO_BACKWARD_CHAIN) && j >= 2 &&
           (backward_per_sample(m, j) || (m->nodes[j].bwd_two && backward_per_sample(m, j - 1))) &&
           m->nodes[j].in[0] == j - 1 && !read_after(m, j - 1, j);
}

/* A backward chain links node j to node j-1 where both are per sample and j-1 has no
 * activity regularizer (that is added to a whole batch's gradient): the planner then runs
 * their backwards sample by sample, each sample's gradient passing through the chain while
 * it is in cache. */
static int backward_link(const on_model *m, int j) {
    const on_node *lo = &m->nodes[j - 1];
    return backward_feeds_below(m, j) && backward_per_sample(m, j - 1) && lo->a.reg_l1[2] == 0 &&
           lo->a.reg_l2[2] == 0;
}

/* ... and the layer below a chain's last node j takes its gradient statistics on each
 * sample as the chain leaves it (BatchNorm's sample_grad_stats; in training only) */
static int backward_stats(const on_model *m, int j) {
    return backward_feeds_below(m, j) && m->nodes[j - 1].op->sample_grad_stats;
}

int on_model_compile(on_model *m, int batch, on_error *err) {
    if (batch < 1) return on_fail(err, "batch size must be positive, got %d", batch);
    invalidate_plan(m);
    int T = on_get_threads();
    size_t B = (size_t)batch;
    /* Which nodes feed the output (others need no backward). */
    for (int i = 1; i < m->nn; i++) m->nodes[i].reaches_output = 0;
    m->nodes[m->nn - 1].reaches_output = 1;
    for (int i = m->nn - 1; i >= 1; i--)
        if (m->nodes[i].reaches_output)
            for (int k = 0; k < m->nodes[i].nin; k++)
                m->nodes[m->nodes[i].in[k]].reaches_output = 1;
                /* Sizes in floats, with 16-float (64-byte) alignment. */
#define ALIGN(x) (((x) + 15) & ~(size_t)15)
    size_t off = 0, tmp = 0;
    size_t *yoff = calloc((size_t)m->nn * 3, sizeof(size_t));
    int *slot_of = malloc(sizeof(int) * (size_t)m->nn);
    slots *sl = calloc(1, sizeof *sl);
    if (!yoff || !slot_of || !sl) {
        free(yoff);
        free(slot_of);
        free(sl);
        return on_fail(err, "out of memory");
    }
    size_t *soff = yoff + m->nn, *slot_base = yoff + 2 * m->nn;
    size_t accsz = 0;
    for (int i = 1; i < m->nn; i++) {
        on_node *nd = &m->nodes[i];
        on_shape xs = m->nodes[nd->in[0]].ys;
        size_t ysz = B * on_shape_size(nd->ys);
        int over = in_place(m, i) || view(m, i);
        yoff[i] = over ? yoff[i - 1] : off;
        if (!over) off += ALIGN(ysz);
        soff[i] = off;
        if (nd->op->saved_size) off += ALIGN(nd->op->saved_size(&nd->a, xs, nd->ys, batch));
        if (nd->op->tmp_size) {
            size_t t = nd->op->tmp_size(&nd->a, xs, nd->ys, batch, T);
            if (t > tmp) tmp = t;
        }
    }
    /* Backward liveness: walk nodes in reverse; a node's gradient is born at the first
     * consumer met (that consumer writes it) and dies after the node's own backward, or, in
     * a backward chain, after the chain's last backward (the chain runs sample by sample:
     * a gradient freed in the middle could be another's of a sample still to come), unless
     * a gradient of the same size per sample takes its place within the chain: sample s of
     * the old one is consumed before sample s of the new one is written. */
    for (int i = 1; i < m->nn; i++) m->nodes[i].bwd_two = (unsigned char)backward_in_two(m, i);
    for (int i = 1; i < m->nn; i++) {
        m->nodes[i].bwd_link = (unsigned char)backward_link(m, i);
        m->nodes[i].bwd_stats = (unsigned char)backward_stats(m, i);
    }
    for (int i = 1; i < m->nn; i++) {
        on_node *nd = &m->nodes[i];
        nd->dy_chain =
            (unsigned char)(i + 1 < m->nn && backward_feeds_below(m, i + 1) && nd->reaches_output &&
                            nd->nin == 1 && nd->a.reg_l1[2] == 0 && nd->a.reg_l2[2] == 0 &&
                            nd->op->dy_chain && nd->op->dy_chain(&nd->a, m->nodes[nd->in[0]].ys));
    }
    for (int i = 0; i < m->nn; i++) slot_of[i] = -1;
    int fail = 0, deferred[512], ndef = 0, held[513], nheld = 0;
    size_t defsize[512]; /* per-sample size of the gradient that held deferred[k] */
    slot_of[m->nn - 1] = slot_take(sl, B * on_shape_size(m->nodes[m->nn - 1].ys));
    for (int i = m->nn - 1; i >= 1 && !fail; i--) {
        on_node *nd = &m->nodes[i];
        if (!nd->reaches_output) continue;
        int over = 0; /* i's gradient lives on as its input's (grad_over) */
        for (int k = 0; k < nd->nin; k++) {
            int j = nd->in[k];
            nd->accumulate[k] = slot_of[j] >= 0;
            if (j == 0 && !m->want_input_grad) continue;
            if (slot_of[j] >= 0) continue;
            size_t per = on_shape_size(m->nodes[j].ys);
            int d = 0;
            while (d < ndef && defsize[d] != per) d++;
            if (d < ndef) { /* inside a chain (ndef > 0 only there) */
                slot_of[j] = deferred[d];
                deferred[d] = deferred[--ndef];
                defsize[d] = defsize[ndef];
            } else if ((over = grad_over(m, i, j, slot_of[i])))
                slot_of[j] = slot_of[i]; /* lives on as j's */
            else if ((slot_of[j] = slot_take(sl, B * per)) < 0)
                fail = 1;
        }
        /* a chain that runs inside this node's backward: its gradients die after it */
        while (nheld) sl->busy[held[--nheld]] = 0;
        int hold = m->nodes[i - 1].dy_chain; /* i is such a chain's last node */
        if (slot_of[i] >= 0 && !fail && !over) {
            if (nd->bwd_link && ndef == 512) nd->bwd_link = 0; /* a chain that long: cut */
            if (nd->bwd_link) {
                defsize[ndef] = on_shape_size(nd->ys);
                deferred[ndef++] = slot_of[i];
                continue;
            }
            if (hold)
                held[nheld++] = slot_of[i];
            else
                sl->busy[slot_of[i]] = 0; /* dies after this step */
        }
        if (!nd->bwd_link)
            while (ndef) {
                int d = deferred[--ndef];
                if (hold)
                    held[nheld++] = d;
                else
                    sl->busy[d] = 0;
            }
    }
    if (m->want_input_grad && slot_of[0] >= 0) sl->busy[slot_of[0]] = 1; /* kept for the user */
    /* one-input ops overwrite their input's gradient: where another consumer wrote it first,
     * theirs goes to acc and is added (only there: acc is as large as that input) */
    for (int i = 1; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        size_t xsz = B * on_shape_size(m->nodes[nd->in[0]].ys);
        if (nd->reaches_output && nd->nin == 1 && nd->accumulate[0] && xsz > accsz) accsz = xsz;
    }
    size_t sbase = off;
    for (int s = 0; s < sl->n; s++) {
        slot_base[s] = off;
        off += ALIGN(sl->size[s]);
    }
    (void)sbase;
    size_t tmpoff = off;
    off += ALIGN(tmp);
    size_t accoff = off;
    off += ALIGN(accsz);
    /* a BatchNorm's inference coefficients, made for a convolution's stores (fuse_into) */
    size_t coefoff = off, widest_bn = 0;
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].op == &on_op_batchnorm && (size_t)m->nodes[i].ys.c > widest_bn)
            widest_bn = (size_t)m->nodes[i].ys.c;
    off += ALIGN(2 * widest_bn);
    /* each thread's place for a sample's gradient left by a backward chain inside the
     * backward below it (run_backward_chain's slot) */
    size_t dyslotoff = off, dyslot = 0;
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].dy_chain && on_shape_size(m->nodes[i].ys) > dyslot)
            dyslot = on_shape_size(m->nodes[i].ys);
    dyslot = ALIGN(dyslot);
    off += (size_t)T * dyslot;
    if (fail || off > ((size_t)1 << 36)) {
        free(yoff);
        free(slot_of);
        free(sl);
        return on_fail(err,
                       fail ? "too many gradient buffers"
                            : "batch %d needs %zu MiB of activations: use a smaller batch",
                       batch, off * 4 >> 20);
    }
    m->arena = on_big_alloc(ALIGN(off) * sizeof(float) + 64, &m->arena_bytes);
    if (!m->arena) {
        free(yoff);
        free(slot_of);
        free(sl);
        return on_fail(err, "out of memory: batch %d needs %zu MiB", batch, off * 4 >> 20);
    }
    memset(m->arena, 0, off * sizeof(float));
    for (int i = 1; i < m->nn; i++) {
        on_node *nd = &m->nodes[i];
        nd->y = m->arena + yoff[i];
        nd->saved = m->arena + soff[i];
        nd->dy = slot_of[i] >= 0 ? m->arena + slot_base[slot_of[i]] : NULL;
    }
    m->dinput = slot_of[0] >= 0 ? m->arena + slot_base[slot_of[0]] : NULL;
    m->nodes[0].dy = m->dinput;
    m->tmp = m->arena + tmpoff;
    m->acc = m->arena + accoff;
    m->bn_coef = widest_bn ? m->arena + coefoff : NULL;
    m->dy_slot = dyslot ? m->arena + dyslotoff : NULL;
    m->dy_slot_len = dyslot;
    free(yoff);
    free(slot_of);
    free(sl);
    m->batch = batch;
    m->threads = T;
    m->fwd_work = 0;
    for (int i = 1; i < m->nn; i++) {
        on_cost k = on_model_node_cost(m, i);
        m->fwd_work += k.flops_fwd + k.bytes_fwd;
    }
    m->n = 0;
    return 0;
#undef ALIGN
}

void on_model_want_input_grad(on_model *m, int on) {
    m->want_input_grad = on;
    invalidate_plan(m);
}

/* Parameter pointers of node nd, trainable then state, in declared order. */
static void bind_params(on_model *m, on_node *nd, float **p, float **dp) {
    for (int k = 0; k < nd->nt; k++) {
        int t = nd->t0 + k;
        p[k] = on_tensor_ptr(m, t);
        dp[k] = on_model_tensor_grad(m, t);
    }
}

/* The inputs of node nd: pointers and shapes (arrays of ON_MAX_INPUTS). */
typedef struct inputs {
    const float *x[ON_MAX_INPUTS];
    on_shape xs[ON_MAX_INPUTS];
    float *dx[ON_MAX_INPUTS];
} inputs;

static on_call make_call(on_model *m, on_node *nd, int n, int train, float **p, float **dp,
                         inputs *in) {
    bind_params(m, nd, p, dp);
    for (int k = 0; k < nd->nin; k++) {
        in->x[k] = m->nodes[nd->in[k]].y;
        in->xs[k] = m->nodes[nd->in[k]].ys;
    }
    return (on_call){.a = &nd->a,
                     .n = n,
                     .xs = in->xs[0],
                     .ys = nd->ys,
                     .x = in->x[0],
                     .nin = nd->nin,
                     .xin = in->x,
                     .xsin = in->xs,
                     .dxin = in->dx,
                     .dx_add = nd->accumulate,
                     .y = nd->y,
                     .p = p,
                     .dp = dp,
                     .saved = nd->saved,
                     .tmp = m->tmp,
                     .train = on_node_trains(nd, train),
                     .key = on_mix64(m->seed ^ name_hash(nd->name) ^ nd->a.seed),
                     .step = m->fstep,
                     .threads = m->threads,
                     .sync = m->sync,
                     .sync_ctx = m->sync_ctx,
                     .sync_buf = m->sync_buf};
}

/* Does node nd read node k? */
static int reads(const on_node *nd, int k) {
    for (int q = 0; q < nd->nin; q++)
        if (nd->in[q] == k) return 1;
    return 0;
}

/* Can node j run sample by sample right after its producer? A one-input layer whose input
 * is node j-1 and nobody else's, with no scratch memory; in training also one that computes
 * each sample from that sample alone (not BatchNorm's batch statistics). In inference also
 * a merge (ResNet's residual add) that reads node j-1: its other inputs come earlier, so they
 * are complete, or were computed for this sample earlier in the chain; the add and the ReLU
 * after it then run while the convolution's output is in cache, not as passes of their own
 * over the batch. */
static int fusable(const on_model *m, int j, int train) {
    const on_node *nd = &m->nodes[j];
    int merge = nd->op->ninputs == ON_NINPUTS_ANY && !train &&
                !(on_conv_variant & ON_CONV_NO_MERGE_CHAIN) && reads(nd, j - 1);
    if ((!merge && (nd->nin != 1 || nd->in[0] != j - 1)) || nd->op->tmp_size ||
        (nd->op->props & ON_PROP_LINEAR_MAP) || nd->op->check ||
        (on_node_trains(nd, train) && !(nd->op->props & PER_SAMPLE_PROPS)))
        return 0;
    return !read_after(m, j - 1, j);
}

/* Forward work (flops + bytes, on_cost's units) below which an inference is not split
 * across threads: about 40 us on one core. */
#define SERIAL_WORK 6e6

typedef struct chain {
    on_model *m;
    int first, last; /* nodes run per sample, inclusive */
    int train;
    int stats;   /* node whose sample_stats runs after them, or 0 */
    int threads; /* the producer's */
    int slots;   /* an inference's layers before the last write a thread's sample to a slot */
    int y_slots; /* the producer writes each sample to a thread's slot (train_slots) */
} chain;

/* A call of node nd on sample s alone, in place in the batch's buffers */
static on_call sample_call(on_model *m, on_node *nd, int s, int train, float **p, float **dp,
                           inputs *in) {
    on_call c = make_call(m, nd, 1, train, p, dp, in);
    for (int k = 0; k < nd->nin; k++) in->x[k] += (size_t)s * on_shape_size(in->xs[k]);
    c.x = in->x[0];
    c.y += (size_t)s * on_shape_size(c.ys);
    c.sample0 = s;
    return c;
}

/* Is node j of a chain (which reads node j-1 alone, and whose output only node j+1 reads) the
 * identity at inference (dropout, noise, augmentation), and its output neither one of the
 * model's nor regularized, so that it may stay unwritten under a pool in the stores? */
static int passes_through(const on_model *m, int j) {
    return (m->nodes[j].op->props & (ON_PROP_STOCHASTIC | ON_PROP_AUGMENT)) && may_skip(m, j);
}

/* Is node f a ReLU, ReLU6 or hardtanh, v > lo ? (v > hi ? hi : v) : lo (its clamp_of)? */
static int is_clamp(const on_node *f, float *lo, float *hi) {
    return (f->op == &on_op_relu || f->op == &on_op_relu6 || f->op == &on_op_hardtanh) &&
           f->op->clamp_of(&f->a, lo, hi) && *lo <= *hi;
}

/* Inference (not a training forward, even of a frozen conv): the layers after node i, up to
 * node last, that node i can run in its stores (on_call's resid, pool2 and clamp, as its op's
 * fuses and fuses_pool say): a residual add of two inputs (the other computed before) or a
 * 2x2 max-pool (after a clamp, a BatchNorm and layers that are the identity at inference, any
 * of them: *through layers, where through is not NULL; the BatchNorm for the batch only), then
 * a clamp; c then writes to the last one's buffer, and the buffers before it stay unwritten.
 * c is the call for sample s alone (a node in a chain) or for the batch (s < 0). Returns how
 * many layers it took (the identities included). The evaluations of the default study's six
 * classes with the BatchNorm before the pool: 0.34-0.36 -> 0.27-0.29 s (5000 images). */
static int fuse_into(const on_model *m, int i, int last, int train, int s, on_call *c,
                     int *through) {
    int j = i + 1, n = 0, fuses = m->nodes[i].op->fuses;
    if (through) *through = 0;
    if (train || !fuses || (on_conv_variant & ON_CONV_NO_CLAMP)) return 0;
    const on_node *f = &m->nodes[j], *nd = &m->nodes[i];
    size_t si = s < 0 ? 0 : (size_t)s; /* the sample: its floats in each buffer */
    if (j <= last && (fuses & ON_FUSES_RESID) && f->op == &on_op_add && f->nin == 2 &&
        may_skip(m, i)) {
        int r = f->in[0] == i ? f->in[1] : f->in[0];
        if (r != i && r < i && on_shape_equal(m->nodes[r].ys, f->ys)) {
            c->resid = m->nodes[r].y + si * on_shape_size(f->ys);
            c->y = f->y + si * on_shape_size(f->ys);
            n = 1, f = &m->nodes[++j];
        }
    }
    /* the layers a pool may come after: [identities] [clamp] [identities] [BatchNorm]
     * [identities], the last two for the batch only (s < 0: bn_coef is the model's) */
    int k = j, pre = 0, bn = 0;
    float plo = 0, phi = 0;
    while (!n && k < last && passes_through(m, k)) k++;
    if (!n && k < last && (fuses & ON_FUSES_CLAMP) && is_clamp(&m->nodes[k], &plo, &phi) &&
        may_skip(m, k - 1) && may_skip(m, k))
        pre = k++;
    while (!n && k < last && passes_through(m, k)) k++;
    if (!n && s < 0 && m->bn_coef && k < last && m->nodes[k].op == &on_op_batchnorm &&
        m->nodes[k].nin == 1 && m->nodes[k].ys.c == nd->ys.c && may_skip(m, k - 1) &&
        may_skip(m, k))
        bn = k++;
    while (!n && k < last && passes_through(m, k)) k++;
    const on_node *p = &m->nodes[k];
    if (!n && k <= last && nd->op->fuses_pool && !(on_conv_variant & ON_CONV_NO_POOL_FUSE) &&
        on_pool_is_max2x2(p->op, &p->a, nd->ys) &&
        nd->op->fuses_pool(&nd->a, m->nodes[nd->in[0]].ys) && may_skip(m, i)) {
        c->y = p->y + si * on_shape_size(p->ys);
        c->pool2 = 1;
        c->pre_clamp = pre > 0;
        c->pre_lo = plo;
        c->pre_hi = phi;
        if (bn) {
            float *bp[4], *bdp[4];
            bind_params((on_model *)m, &m->nodes[bn], bp, bdp);
            int C = nd->ys.c;
            on_bn_eval_coefs((const float *const *)bp, m->nodes[bn].a.eps, C, m->bn_coef,
                             m->bn_coef + C);
            c->bn_a = m->bn_coef;
            c->bn_b = m->bn_coef + C;
        }
        if (through) *through = k - j;
        n = 1 + k - j, j = k, f = &m->nodes[++j];
    }
    float lo, hi;
    if (j <= last && (fuses & ON_FUSES_CLAMP) && is_clamp(f, &lo, &hi) && may_skip(m, j - 1)) {
        c->y = f->y + si * on_shape_size(f->ys);
        c->clamp = 1;
        c->clamp_lo = lo;
        c->clamp_hi = hi;
        n++;
    }
    return n;
}

/* Run the chain's layers on one sample, in place in their own buffers, then the next
 * layer's statistics on their output. */
static void run_chain(void *ctx, int s) {
    chain *ch = ctx;
    /* In an inference the layers before the chain's last write their output for sample s
     * not at s's place in their buffers but at the place of sample th, this thread's index
     * in the producer's team (below the batch: chain.slots), which the next layer then
     * reads: the same few KB for every sample, in cache, where s's places were new lines
     * each time (written back to memory later). The reference model's evaluation at batch
     * 128 on one thread took 0.82x (BatchNorm first) to 0.94x (max-pool first) the time so,
     * the same bits. The layers so skipped are marked unwritten (on_model_forward) for a
     * backward to compute. */
#ifdef _OPENMP
    int th = omp_get_level() > 0 ? omp_get_thread_num() : 0;
#else
    int th = 0;
#endif
    int slot = ch->slots && th < ch->m->batch;
    const float *prev = NULL; /* where the layer before left sample s, when in its slot */
    if (ch->y_slots) {        /* the producer's, below the batch: train_slots */
        const on_node *pr = &ch->m->nodes[ch->first - 1];
        prev = pr->y + (size_t)th * on_shape_size(pr->ys);
    }
    for (int j = ch->first; j <= ch->last + (ch->stats > 0); j++) {
        on_node *nd = &ch->m->nodes[j];
        float *p[4], *dp[4];
        inputs in;
        on_call c = sample_call(ch->m, nd, s, ch->train, p, dp, &in);
        /* inside the producer's parallel region (even a team of one, which
         * omp_in_parallel() does not count): this thread alone; called after it (a sample
         * the threads shared): the producer's threads */
#ifdef _OPENMP
        c.threads = omp_get_level() > 0 ? 1 : ch->threads;
#else
        c.threads = 1;
#endif
        if (j > ch->last)
            nd->op->sample_stats(&c);
        else {
            int fused = fuse_into(ch->m, j, ch->last, ch->train, s, &c, NULL);
            if (prev) {
                for (int q = 0; q < nd->nin; q++)
                    if (nd->in[q] == j - 1) in.x[q] = (float *)prev;
                c.x = in.x[0];
            }
            const on_node *out = &ch->m->nodes[j + fused]; /* the layer c writes */
            /* in training, the layers over the producer's slot (train_slots) */
            int in_slot = (slot && out->unwritten) ||
                          (ch->y_slots && out->y == ch->m->nodes[ch->first - 1].y);
            if (in_slot) c.y = out->y + (size_t)th * on_shape_size(out->ys);
            prev = in_slot ? c.y : NULL;
            nd->op->forward(&c);
            j += fused;
        }
    }
}

/* Training: may producer i write each sample's output to the place of its thread's index
 * (op.h's y_slots, on_y_at; inference has mark_slots), where the chain's first layer reads
 * it? Where nothing reads it after the chain: that layer is a 2x2 max-pool, whose backward
 * reads the winners' positions, not its input, and i's own backward never reads its output
 * (UNDER): a BatchNorm or a convolution (Winograd or direct) before the pool. The reference
 * model's training step (BatchNorm, pool) 0.97x-0.99x the time at batch 32 and 128, 1 and
 * 2 threads; the study's classes with the pool right after the convolution 0.97x-0.99x
 * (steps interleaved with ON_CONV_NO_TRAIN_SLOTS); the same bits. */
static int train_slots(const on_model *m, int i, const chain *ch) {
    const on_node *nd = &m->nodes[i];
    if (!ch->train || !nd->op->y_slots || !nd->op->y_slots(&nd->a, m->nodes[nd->in[0]].ys) ||
        !(nd->op->in_place & ON_IN_PLACE_UNDER) || ch->first != i + 1 || ch->threads > m->batch ||
        !may_skip(m, i) || (on_conv_variant & ON_CONV_NO_TRAIN_SLOTS))
        return 0;
    /* layers over i's buffer whose backward reads neither input nor output (a dropout) ride
     * along in the slot (run_chain), then the pool */
    int j = i + 1;
    while (j <= ch->last && m->nodes[j].y == nd->y &&
           (m->nodes[j].op->in_place & ON_IN_PLACE_NO_READ) && may_skip(m, j))
        j++;
    const on_node *f = &m->nodes[j];
    return j <= ch->last && f->y != nd->y && f->nin == 1 && f->in[0] == j - 1 &&
           on_pool_is_max2x2(f->op, &f->a, m->nodes[j - 1].ys);
}

/* Mark unwritten the layers of chain ch (after node i) that run_chain will write to slots:
 * those before the chain's last, by buffer: layers over one buffer (in_place) all or none,
 * none over the producer's (it writes every sample at its place) or the last one's. */
static void mark_slots(on_model *m, int i, const chain *ch) {
    for (int j = i + 1, e; j <= ch->last; j = e + 1) {
        int ok = ch->slots && j >= ch->first && m->nodes[j].y != m->nodes[j - 1].y;
        for (e = j; e + 1 <= ch->last && m->nodes[e + 1].y == m->nodes[j].y;) e++;
        for (int k = j; k <= e; k++) ok = ok && k < ch->last && may_skip(m, k);
        for (int k = j; k <= e; k++) m->nodes[k].unwritten = (unsigned char)ok;
    }
}

int on_model_profile(on_model *m, int on) {
    free(m->prof);
    m->prof = on ? calloc(2 * (size_t)m->nn, sizeof *m->prof) : NULL;
    return on && !m->prof ? -1 : 0;
}

int on_model_node_seconds(const on_model *m, int i, double *forward, double *backward) {
    if (!m->prof || i < 0 || i >= m->nn) return -1;
    *forward = m->prof[i];
    *backward = m->prof[m->nn + i];
    return 0;
}

const char *on_model_last_error(const on_model *m) {
    return m->last_err.msg;
}

/* A small inference of fewer samples than threads runs on this thread alone: where the two
 * virtual CPUs share no cache (on these machines, at times: a cache-line round trip of
 * 330-380 ns against 50-90 ns), each parallel region waits for the other one and reads what
 * it wrote. A model of 2.4e6 (the reference model with half its filters) took 0.023 ms at
 * batch 1 alone, 0.017 ms on two threads sharing a cache and 0.031 ms on two that did not;
 * the reference model (8.5e6) 0.062 ms alone, 0.038-0.045 and 0.055-0.061 ms on two.
 * (Measured before the threads stopped sharing a Winograd sample's V, two threads had
 * gained nothing there, and took 0.07 or 0.18 ms from one process to the next.) Not
 * with as many samples as threads: outside a parallel region OpenBLAS threads its own
 * products, and their last bits could then differ from one thread's (the same bits at any
 * thread count are kept there). */
static int forward_threads(const on_model *m, int n, int train) {
    return !train && n < m->threads && m->fwd_work * n < SERIAL_WORK ? 1 : m->threads;
}

int on_model_forward(on_model *m, const float *x, int n, on_mode train) {
    m->last_err.msg[0] = 0;
    if (!m->arena) return on_fail(&m->last_err, "forward: the model is not compiled");
    if (n < 1 || n > m->batch)
        return on_fail(&m->last_err, "forward of %d samples: the model is compiled for 1 to %d", n,
                       m->batch);
    m->nodes[0].y = (float *)x; /* read only */
    m->n = n;
    m->last_train = train;
    m->loss_node = m->nn - 1;
    m->reg_pending = 0;
    if (train) m->fstep = m->step++;
    int stats_ready = 0; /* the node whose sample_stats ran in its producer's epilogue */
    int threads = forward_threads(m, n, train);
    for (int i = 1; i < m->nn; i++) {
        on_node *nd = &m->nodes[i];
        float *p[4], *dp[4];
        inputs in;
        on_call c = make_call(m, nd, n, train, p, dp, &in);
        c.stats_ready = i == stats_ready;
        c.threads = threads;
        on_error e2;
        if (nd->op->check && nd->op->check(&c, &e2))
            return on_fail(&m->last_err, "layer '%s' (%s): %s", nd->name, nd->op->name, e2.msg);
        /* the layers after a convolution or BatchNorm run on each sample as it finishes;
         * in training, so do the statistics of the layer after them */
        chain ch = {.m = m, .first = i + 1, .last = i, .train = train, .threads = c.threads};
        ch.slots = !train && c.threads <= m->batch && !(on_conv_variant & ON_CONV_NO_SLOTS);
        if (nd->op->per_sample_epilogue) {
            while (ch.last + 1 < m->nn && fusable(m, ch.last + 1, train)) ch.last++;
            int s = ch.last + 1;
            if (s < m->nn && on_node_trains(&m->nodes[s], train) && m->nodes[s].op->sample_stats &&
                m->nodes[s].in[0] == s - 1)
                ch.stats = stats_ready = s;
        }
        int last = ch.last;
        int through; /* not in training, even frozen: */
        ch.first += fuse_into(m, i, ch.last, train, -1, &c, &through);
        /* a pool's backward after an inference finds its winners in its input: the layers
         * it took the place of are computed first then (write_unwritten) */
        mark_slots(m, i, &ch);
        for (int k = i; k <= i + through; k++) m->nodes[k].unwritten = (unsigned char)c.pool2;
        if (ch.last >= ch.first || ch.stats) {
            c.epilogue = run_chain;
            c.epilogue_ctx = &ch;
            c.y_slots = ch.y_slots = train_slots(m, i, &ch);
        }
        double t0 = m->prof ? on_seconds() : 0;
        nd->op->forward(&c);
        if (m->prof) m->prof[i] += on_seconds() - t0; /* a fused chain counts as its conv */
        if (last > i) i = last;
    }
    return 0;
}

const float *on_model_output(const on_model *m) {
    return m->nodes[m->nn - 1].y;
}

/* The node whose output is the logit of a final sigmoid of one value, when the backward
 * can start there: it feeds nothing else and has a gradient buffer. 0 when none. */
static int sigmoid_logit(const on_model *m) {
    const on_node *out = &m->nodes[m->nn - 1];
    if (!out->op || strcmp(out->op->name, "sigmoid") || out->nin != 1) return 0;
    int j = out->in[0];
    if (j < 1 || !m->nodes[j].dy || on_shape_size(m->nodes[j].ys) != 1) return 0;
    for (int k = 1; k < m->nn - 1; k++)
        for (int q = 0; q < m->nodes[k].nin; q++)
            if (m->nodes[k].in[q] == j) return 0;
    return j;
}

float on_model_loss(on_model *m, const int *labels, float smoothing) {
    on_node *out = &m->nodes[m->nn - 1];
    m->loss_node = m->nn - 1;
    m->reg_pending = 0;
    if (!m->n || out->ys.rank != 1) return NAN;
    float loss;
    if (out->ys.c == 1) { /* binary classification: binary cross-entropy */
        int j = sigmoid_logit(m);
        if (j) {
            loss = on_binary_xent(m->nodes[j].y, labels, m->n, smoothing, 1, m->nodes[j].dy);
            m->loss_node = j;
        } else
            loss = on_binary_xent(out->y, labels, m->n, smoothing, 0, out->dy);
    } else
        loss = on_softmax_xent(out->y, labels, m->n, out->ys.c, smoothing, out->dy);
    m->reg_pending = 1;
    return (float)(loss + on_reg_loss(m));
}

void on_model_set_output_grad(on_model *m, const float *dy) {
    on_node *out = &m->nodes[m->nn - 1];
    m->loss_node = m->nn - 1;
    m->reg_pending = 0;
    memcpy(out->dy, dy, sizeof(float) * m->n * on_shape_size(out->ys));
}

/* m->acc, where a one-input op wrote a gradient that another consumer had written first,
 * added into it */
static void add_acc(on_model *m, float *d, size_t len) {
#pragma omp parallel for schedule(static) num_threads(m->threads) if (len > ON_PAR_MIN)
    for (size_t j = 0; j < len; j++) d[j] += m->acc[j];
}

/* Does node i's backward take the derivative of the clamp below it (op.h's dclamp)? Node
 * i-1, a ReLU, ReLU6 or hardtanh read by node i alone, not an output, with no activity
 * regularizer. Sets c's dclamp. The reference model's {relu bn dropout maxpool} training
 * step: see bench/RESULTS.md. */
static int clamp_fuses(const on_model *m, int i, on_call *c) {
    const on_node *nd = &m->nodes[i], *cl = &m->nodes[i - 1];
    float lo, hi;
    if (!(nd->op->fuses & ON_FUSES_DCLAMP) || (on_conv_variant & ON_CONV_NO_DCLAMP) ||
        nd->nin != 1 || nd->in[0] != i - 1 || i < 2 || cl->nin != 1 || !is_clamp(cl, &lo, &hi) ||
        !may_skip(m, i - 1) || read_after(m, i - 1, i))
        return 0;
    c->dclamp = cl->op == &on_op_relu ? 2 : 1;
    c->dclamp_lo = lo;
    c->dclamp_hi = hi;
    return 1;
}

typedef struct bchain {
    on_model *m;
    int hi, lo;    /* nodes whose backwards run per sample, hi down to lo */
    int stats;     /* node whose sample_grad_stats runs after them, or 0 */
    float *bottom; /* lo's input gradient (or acc), NULL for none */
    float *slot;   /* or, inside the backward below (dy_ready), the model's dy_slot */
} bchain;

/* The chain's backwards on sample s, each in place in its own buffers, then the grad
 * statistics of the layer below on the gradient they left. Returns where lo's input
 * gradient for s is: with a slot, the calling thread's place there (inside the backward
 * below, whose team's thread it is), where it stays in cache for that backward to read,
 * instead of s's place in the batch's buffer, lines written back to memory later (the
 * reference model's first convolution's dY: 12.8 MB a batch of 128). The default study's
 * twelve training steps took 0.991x-0.993x the time so (0.98x with the pool first). */
static const float *run_backward_chain(const bchain *ch, int s) {
    on_model *m = ch->m;
    const float *left = NULL;
#ifdef _OPENMP
    size_t th = (size_t)omp_get_thread_num();
#else
    size_t th = 0;
#endif
    for (int j = ch->hi; j >= ch->lo - (ch->stats > 0); j--) {
        on_node *nd = &m->nodes[j];
        float *p[4], *dp[4];
        inputs in;
        on_call c = sample_call(m, nd, s, m->last_train, p, dp, &in);
        c.dy = nd->dy + (size_t)s * on_shape_size(c.ys);
        c.threads = 1;
        c.coefs_ready = j == ch->hi && nd->bwd_two; /* on_model_backward ran them */
        if (j < ch->lo) {
            nd->op->sample_grad_stats(&c);
            break;
        }
        /* a BatchNorm over a ReLU in the chain: the ReLU's derivative in its pass (dclamp),
         * which writes the ReLU's input gradient; the ReLU's backward does not run */
        int k = c.coefs_ready && j > ch->lo && clamp_fuses(m, j, &c) ? j - 1 : j;
        float *dx = k > ch->lo ? m->nodes[k - 1].dy : ch->bottom;
        size_t xs = on_shape_size(c.xs); /* a clamp's input: the size of its output */
        if (k == ch->lo && ch->slot && xs <= m->dy_slot_len && th < (size_t)m->threads)
            c.dx = in.dx[0] = ch->slot + th * m->dy_slot_len;
        else
            c.dx = in.dx[0] = dx ? dx + (size_t)s * xs : NULL;
        left = c.dx;
        nd->op->backward(&c);
        j = k;
    }
    return left;
}

static const float *chain_ready(void *ctx, int s) {
    return run_backward_chain(ctx, s);
}

/* Does node b, below a backward chain that writes its whole dy (no accumulation, no
 * statistics), take that dy sample by sample (on_call's dy_ready), so that the chain runs
 * inside b's backward, each sample's gradient read while in cache? (on_node's dy_chain) */
static int dy_chain_below(const on_model *m, int b, int lo) {
    return !(on_conv_variant & ON_CONV_NO_DY_CHAIN) && b >= 1 && b == lo - 1 &&
           m->nodes[b].dy_chain;
}

/* Before a backward after an inference forward: the outputs that forward left unwritten
 * (a max-pool ran in their producer's stores), which the pool's backward reads */
static void write_unwritten(on_model *m) {
    for (int i = 1; i < m->nn; i++) {
        on_node *nd = &m->nodes[i];
        if (!nd->unwritten) continue;
        float *p[4], *dp[4];
        inputs in;
        on_call c = make_call(m, nd, m->n, 0, p, dp, &in);
        c.threads = forward_threads(m, m->n, 0); /* the forward's: the same bits */
        nd->op->forward(&c);
        nd->unwritten = 0;
    }
}

/* ... outside a backward chain: the clamp's backward would be a pass of its own */
static int dclamp_below(const on_model *m, int i, on_call *c) {
    const on_node *cl = &m->nodes[i - 1];
    return i >= 2 && !cl->bwd_link && !cl->bwd_stats && clamp_fuses(m, i, c);
}

int on_model_backward(on_model *m) {
    if (!m->arena || !m->n) return -1;
    write_unwritten(m);
    int top = m->loss_node > 0 && m->loss_node < m->nn ? m->loss_node : m->nn - 1;
    /* a final sigmoid skipped by the loss: its activity regularizer, through its slope */
    if (m->reg_pending && top < m->nn - 1) on_reg_activity_grad(m, m->nn - 1, m->nodes[top].dy, 1);
    int stats_ready = 0; /* the node whose sample_grad_stats ran in the chain after it */
    bchain pend;         /* a chain left to run inside node pend_below's backward */
    int pend_below = 0;
    for (int i = top; i >= 1; i--) {
        on_node *nd = &m->nodes[i];
        if (!nd->reaches_output) continue;
        if (m->reg_pending) on_reg_activity_grad(m, i, nd->dy, 0);
        double t0 = m->prof ? on_seconds() : 0;
        /* the per-sample layers from here down (pooling, activation, dropout) run sample by
         * sample, and the BatchNorm below them takes its sums on each sample's gradient */
        int lo = i;
        while (m->nodes[lo].bwd_link) lo--;
        int b = m->nodes[lo].in[0];
        int stats = m->nodes[lo].bwd_stats && on_node_trains(&m->nodes[b], m->last_train);
        if (lo < i || stats || dy_chain_below(m, b, lo)) {
            float *bdx = m->nodes[b].dy;
            int via_acc = bdx && m->nodes[lo].accumulate[0];
            bchain ch = {m, i, lo, stats ? b : 0, via_acc ? m->acc : bdx, NULL};
            if (nd->bwd_two) { /* the batch's part first: the chain runs the rest */
                float *p[4], *dp[4];
                inputs in;
                on_call c = make_call(m, nd, m->n, m->last_train, p, dp, &in);
                c.dy = nd->dy;
                c.dx = m->nodes[nd->in[0]].dy;
                c.stats_ready = i == stats_ready;
                nd->op->backward_coefs(&c);
            }
            if (!stats && !via_acc && bdx && dy_chain_below(m, b, lo)) {
                pend = ch, pend_below = b; /* its time counts as b's */
                if (!(on_conv_variant & ON_CONV_NO_DY_SLOT)) pend.slot = m->dy_slot;
                i = lo;
                continue;
            }
            int n = m->n;
#pragma omp parallel for schedule(static) num_threads(m->threads) if (n > 1)
            for (int s = 0; s < n; s++) run_backward_chain(&ch, s);
            if (via_acc) add_acc(m, bdx, (size_t)n * on_shape_size(m->nodes[b].ys));
            if (stats) stats_ready = b;
            if (m->prof) m->prof[m->nn + i] += on_seconds() - t0; /* counts as its first */
            i = lo;
            continue;
        }
        float *p[4], *dp[4];
        inputs in;
        on_call c = make_call(m, nd, m->n, m->last_train, p, dp, &in);
        c.dy = nd->dy;
        c.stats_ready = i == stats_ready;
        /* a merge adds into gradients another consumer wrote (c.dx_add); a one-input op
         * overwrites, so a gradient already written gets this one's through acc */
        for (int k = 0; k < nd->nin; k++) in.dx[k] = m->nodes[nd->in[k]].dy;
        const on_node *cl = dclamp_below(m, i, &c) ? &m->nodes[i - 1] : nd;
        if (cl != nd) in.dx[0] = m->nodes[cl->in[0]].dy; /* the clamp's input gradient */
        int via_acc = nd->nin == 1 && in.dx[0] && cl->accumulate[0];
        c.dx = via_acc ? m->acc : in.dx[0];
        if (pend_below == i) {
            c.dy_ready = chain_ready;
            c.dy_ctx = &pend;
            pend_below = 0;
        }
        nd->op->backward(&c);
        if (via_acc) add_acc(m, in.dx[0], (size_t)m->n * on_shape_size(m->nodes[cl->in[0]].ys));
        if (m->prof) m->prof[m->nn + i] += on_seconds() - t0;
        if (cl != nd) i--; /* the clamp's backward ran in this one's */
    }
    if (m->reg_pending) on_reg_param_grads(m);
    on_frozen_zero_grads(m);
    return 0;
}

const float *on_model_input_grad(const on_model *m) {
    return m->dinput;
}

void on_model_set_normalization(on_model *m, const float *mean, const float *std) {
    free(m->norm);
    m->norm = NULL;
    if (!mean || !std || !(m->norm = malloc(sizeof(float) * 2 * (size_t)m->input.c))) return;
    memcpy(m->norm, mean, sizeof(float) * (size_t)m->input.c);
    memcpy(m->norm + m->input.c, std, sizeof(float) * (size_t)m->input.c);
}

int on_model_normalization(const on_model *m, const float **mean, const float **std) {
    *mean = m->norm;
    *std = m->norm ? m->norm + m->input.c : NULL;
    return m->norm != NULL;
}

const char *on_model_notes(const on_model *m) {
    return m->notes ? m->notes : "";
}

void on_model_add_note(on_model *m, const char *note) {
    size_t old = m->notes ? strlen(m->notes) : 0, add = strlen(note);
    char *n = realloc(m->notes, old + add + 2);
    if (!n) return;
    memcpy(n + old, note, add);
    n[old + add] = '\n';
    n[old + add + 1] = 0;
    m->notes = n;
}
