/* eval.h - the Keras reader's own header (not installed): the evaluator's values, scopes and
 * context, the table of Keras layer classes, and the functions the reader's files share.
 *
 * The reader is a Python-subset front end - lex.c (tokens), value.c (messages, values),
 * expr.c (variables, expressions, arguments), stmt.c (statements, loops, def), call.c (calls:
 * builtins, Input, Sequential, Model, methods, the file's functions) - and the Keras mapping -
 * layers.c (the layer classes and their arguments), argument.c (argument values and shapes),
 * apply.c (layers applied to tensors, Sequential models), model.c (the model at the end and
 * the entry point, on_keras_read). Every bound the evaluator keeps is below.
 *
 * The reader, as a whole: the code is read from the functional API, Sequential([...]) and
 * model.add(...).
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
#ifndef ON_KERAS_EVAL_H
#define ON_KERAS_EVAL_H

#include "keras.h"
#include "lex.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_DEPTH 200          /* expression nesting, all calls together */
#define MAX_CALLS 16           /* calls of the file's own functions, nested */
#define MAX_DIM 1000000        /* input dimensions, filters, units, strides */
#define MAX_WINDOW 4096        /* kernel and pool sizes, dilation */
#define MAX_ITEMS 100000       /* items of one tuple or list made by arithmetic */
#define MAX_VARS 10000         /* distinct variables in one scope */
#define MAX_LAYERS 10000       /* nodes of one model */
#define MAX_STEPS 100000       /* statements run, all loops and calls together */
#define MAX_ITER 100000        /* iterations of one loop */
#define MAX_STR 65536          /* bytes of a string made by arithmetic or formatting */
#define MAX_ALLOC (256u << 20) /* bytes of values the evaluator may allocate */

/* Keras layer classes (layers.c) */

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
    K_PERMUTE,
    K_ACTREG, /* ActivityRegularization: the identity, with an activity regularizer */
    K_AUG,    /* RandomFlip, RandomTranslation, RandomRotation, RandomZoom, RandomContrast */
    K_NORM    /* Normalization with given mean and variance */
};

typedef struct kclass {
    const char *name; /* Keras's class */
    int kind;
    const char *op;    /* ordnet op; NULL: decided by the arguments */
    const char *snake; /* Keras's default layer name */
    const char *args;  /* arguments in Keras's positional order */
    const char *more;  /* further keywords it takes */
    int rank;          /* the input rank it needs, 0: any */
    const char *alias; /* other names of the class (Keras 1's, short forms), space-separated */
} kclass;

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
    V_RANGE, /* range(a, b, s): r0, r1, r2; iterated without being made into a list */
    V_REG    /* a regularizer, regularizers.l1_l2(...): num the l1 factor, num2 the l2 one */
};

typedef struct klayer {
    const kclass *cls;
    char cname[48];  /* the class as the code names it (Conv2D or its alias Convolution2D) */
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
    int kperm[3], nperm;     /* Permute's dims as written: Keras's 1-based axes, channels last */
    on_model **am;           /* where the layer was applied (to freeze it later): models, */
    int *an, napplied, acap; /* their nodes */
    float *nmean, *nvar;     /* Normalization's mean= and variance=: 1 value or one a channel */
    int nmean_n, nvar_n;
} klayer;

typedef struct kinput {
    on_shape shape;
    int known; /* 0: the code's shape was not read (an override replaces it) */
    int tok;
    char name[ON_NAME_MAX];
    on_model *g;         /* the functional graph of the layers applied from this Input */
    int part;            /* its input_part node in g (ctx.cg) */
    struct kinput *next; /* every Input of the code (ctx.inputs), to free the graphs */
} kinput;

typedef struct kseq {
    on_model *m;   /* built once the input shape is known */
    klayer **pend; /* layers waiting for it */
    int npend, pcap, nlayers;
    klayer **all; /* every layer, in order (to apply it again inside another model) */
    int nall, acap;
    int inlined;      /* used inside another model: not a model of its own */
    int frozen;       /* Sequential(trainable=False): layers are frozen as they are added */
    int last_softmax; /* softmax of the last layer, -1 none */
    int tok, touched;
    int has_input, decl_known, decl_tok;
    on_shape decl;
    char in_name[ON_NAME_MAX];
} kseq;

typedef struct kmodel {
    int out, softmax, tok;
    kinput *in;             /* its Input: its layers are nodes of in->g */
    char name[ON_NAME_MAX]; /* name= */
    on_model *rg;           /* the graph it was first called in as a layer (call.c), and */
    int *rmap, rn;          /* the nodes that call made for its nodes [0, rn): a second call
                               there ties its layers to them (shared weights) */
    kinput **ins;           /* Model(inputs=[...]) in order: the order the packed input has */
    int nins;
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
    double num, num2;
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
    /* the functional graphs: one an Input (kinput.g); g_in: the last one a layer was
     * applied in */
    kinput *inputs;
    on_model *cg; /* the code graph: every Input's layers (kinput.g), each Input an input_part
                     node of the packed node 0 (ops/input_part.c); the model is extracted */
    int ngraphs;  /* Inputs with a graph */
    int *origin;  /* origin[i]: the node of cg that node i is a copy of (a called model's
                     layer), 0 none; the model takes its name when that node is left out */
    int norigin;
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
    int weights_tok;          /* the first weights=[...] (initial values, not loaded): noted */
    int adapt_tok;            /* the first Normalization without mean= and variance=: noted */
    int reg_tok;              /* the first regularizer ordnet does not compute: noted */
    int none_len;             /* a dimension written None is read as this size (model.c) */
    int none_tok;             /* where the first None dimension was read, 0 none */
    char none_shape[64];      /* its shape as written */
    char called[200];         /* models called as layers (inlined), for the note */
    klayer **lays;            /* every layer applied somewhere (kr_record), to find a */
    int nlays, lcap;          /* replayed node's layer (kr_inline_model) */
    klayer **norms;           /* Normalization layers with values, written in at the end */
    int nnorms, norm_cap;
} ctx;

/* A string being built, at most MAX_STR bytes; bad: 1 a value ordnet does not compute,
 * 2 too long, 3 out of memory. */
typedef struct sbuf {
    char *b;
    size_t n, cap;
    int bad;
} sbuf;

/* The table of Keras layer classes and the name lists call.c consults (layers.c). */
extern const kclass kr_classes[];
extern const int kr_nclasses;
extern const char *const kr_merge_fns;
extern const char *const kr_other_classes;
extern const char *const kr_layer_modules;

/* layers.c */
const kclass *kr_find_class(const char *name);
int kr_nth_word(const char *list, int i, char *buf, size_t n);
int kr_do_layer(ctx *c, const kclass *k, int ft, const kargs *A, kval *out);
/* value.c */
int kr_fail(ctx *c, int ti, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *kr_where(const ctx *c, int ti, char *buf, size_t n);
void *kr_cx_alloc(ctx *c, size_t n);
int kr_oom(ctx *c, int ti);
int kr_in_list(const char *list, const char *word, size_t n);
const char *kr_suggest(const char *word, const char *l1, const char *l2, char *buf, size_t n);
const char *kr_commas(const char *list, char *buf, size_t n);
int kr_is_op(const ctx *c, int i, const char *op);
int kr_is_name(const ctx *c, int i, const char *w);
int kr_end_of_stmt(const ctx *c, int i);
const char *kr_ttext(const ctx *c, int i, char *buf, size_t n);
const char *kr_src(const ctx *c, int a, int b, char *buf, size_t n);
kval kr_mk(int kind, int tok);
const char *kr_kind_name(const kval *v);
kval kr_num_val(double d, int is_int, int tok);
int kr_make_seq(ctx *c, int kind, const kval *it, int n, int tok, kval *out);
/* expr.c */
int kr_lex(ctx *c);
int kr_is_keyword(const ctx *c, int i);
var *kr_lookup(ctx *c, int ti);
int kr_bind(ctx *c, int ti, const kval *v);
char *kr_cx_strndup(ctx *c, const char *s, size_t n);
int kr_skip_group(const ctx *c, int p);
void kr_sb_put(sbuf *s, const char *p, size_t n);
void kr_sb_str(sbuf *s, const char *p);
int kr_sb_value(ctx *c, sbuf *s, int tok, int end, kval *v);
void kr_sb_value_str(sbuf *s, const kval *v, int repr);
void kr_sb_format(sbuf *s, const kval *v, const char *spec, size_t n);
int kr_num_like(const kval *v);
int kr_binop(ctx *c, const char *op, int optok, kval *a, const kval *b);
int kr_want_truth(ctx *c, const kval *v, int a, int b, int *out);
int kr_e_test(ctx *c, int *p, kval *v);
int kr_e_exprlist(ctx *c, int *p, kval *v);
int kr_parse_args(ctx *c, int *p, kargs *A);
/* argument.c */
int kr_arg_err(ctx *c, const karg *g, const char *what, const char *want);
int kr_want_int(ctx *c, const karg *g, const char *what, int lo, int hi, int *out);
int kr_want_num(ctx *c, const karg *g, const char *what, double lo, double hi, int open_hi,
                double *out);
int kr_want_bool(ctx *c, const karg *g, const char *what, int *out);
int kr_want_pair(ctx *c, const karg *g, const char *what, int rank, int lo, int hi, int *h, int *w);
int kr_want_padding(ctx *c, const karg *g, const char *what, int *mode);
int kr_is_none_or(const kval *v, int b);
int kr_read_shape(ctx *c, const karg *g, int drop, on_shape *s, int *known);
int kr_check_dtype(ctx *c, const karg *g);
/* apply.c */
void kr_note_identity(ctx *c, const char *nm);
int kr_tensor_shape(ctx *c, kval *v, int at);
int kr_apply_fn(ctx *c, klayer *L, const kval *ins, int nin, kval *out);
int kr_apply_fn2(ctx *c, klayer *L, const kval *ins, int nin, kval *out, int again);
int kr_merge_tensors(ctx *c, int tok, const char *cls, const char *name, int axis, const kval *ins,
                     int n, kval *out);
int kr_seq_start(ctx *c, kseq *s, on_shape decl, int known, int tok);
int kr_seq_add(ctx *c, kseq *s, const kval *it, int at);
void kr_set_trainable(klayer *L, int trainable);
int kr_keep_norm(ctx *c, klayer *L);
int kr_freeze_graph(ctx *c, on_model *g, int out, int trainable, int at);
int kr_graph_of(ctx *c, const kval *t, on_model **g, int *node);
int kr_reaches(const on_model *g, int from, int to);
int kr_set_origin(ctx *c, int i, int o);
int kr_inline_model(ctx *c, kmodel *md, on_model *g, int x0, int open, int *y);
int kr_record(ctx *c, klayer *L, on_model *m, int n);
/* call.c */
const kval *kr_items_of(ctx *c, const kval *v, int at, int *n);
int kr_e_call(ctx *c, int *p, kval *f, kval *out);
/* stmt.c */
int kr_exec_range(ctx *c, int i, int end);

#endif
