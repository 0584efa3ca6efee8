/* outputs.c - a model's declared outputs: which nodes, their names, and their dimensions as
 * the model's source (an ONNX graph) declares them (ordnet.h, "several outputs"). Output 0
 * is always the last node, so training, the loss and everything written for one output
 * keep working; the declarations only add to it. */
#include "graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct on_output {
    int node;
    char name[2 * ON_NAME_MAX];
    int ndims; /* 0: ordnet's shape */
    int64_t dims[ON_ARRAY_MAX_DIMS];
};

int on_model_num_outputs(const on_model *m) {
    return m->nout > 1 ? m->nout : 1;
}

int on_model_output_node(const on_model *m, int k) {
    if (k == 0) return m->nn - 1;
    return k > 0 && k < m->nout ? m->outs[k].node : -1;
}

const float *on_model_output_at(const on_model *m, int k) {
    int i = on_model_output_node(m, k);
    return i < 0 ? NULL : m->nodes[i].y;
}

const char *on_model_output_name(const on_model *m, int k) {
    int i = on_model_output_node(m, k);
    if (i < 0) return NULL;
    return k < m->nout && m->outs[k].name[0] ? m->outs[k].name : m->nodes[i].name;
}

/* ordnet's shape as dimensions: (c), (c, w), (c, h, w) */
static int own_dims(on_shape s, int64_t *d) {
    d[0] = s.c;
    if (s.rank == 2) d[1] = s.w;
    if (s.rank == 3) d[1] = s.h, d[2] = s.w;
    return s.rank;
}

static size_t count(int n, const int64_t *d) {
    size_t c = 1;
    for (int i = 0; i < n; i++) c *= d[i] > 0 ? (size_t)d[i] : 0;
    return c;
}

int on_model_output_dims(const on_model *m, int k, int64_t dims[ON_ARRAY_MAX_DIMS]) {
    int i = on_model_output_node(m, k);
    if (i < 0) return 0;
    on_shape s = m->nodes[i].ys;
    if (k < m->nout && m->outs[k].ndims &&
        count(m->outs[k].ndims, m->outs[k].dims) == on_shape_size(s)) {
        memcpy(dims, m->outs[k].dims, sizeof(int64_t) * (size_t)m->outs[k].ndims);
        return m->outs[k].ndims;
    }
    return own_dims(s, dims);
}

int on_model_set_output(on_model *m, int k, int node, const char *name, int ndims,
                        const int64_t *dims, on_error *err) {
    int have = on_model_num_outputs(m);
    if (k < 0 || k > have) return on_fail(err, "output %d: the model has %d outputs", k, have);
    if (k == 0) node = m->nn - 1;
    if (node < 0 || node >= m->nn)
        return on_fail(err, "output %d: node %d does not exist (0..%d)", k, node, m->nn - 1);
    if (ndims < 0 || ndims >= ON_ARRAY_MAX_DIMS)
        return on_fail(err, "output %d: %d dimensions (at most %d besides the batch)", k, ndims,
                       ON_ARRAY_MAX_DIMS - 1);
    if (ndims && count(ndims, dims) != on_shape_size(m->nodes[node].ys))
        return on_fail(err, "output %d: dimensions of %zu values for layer '%s' of %zu", k,
                       count(ndims, dims), m->nodes[node].name, on_shape_size(m->nodes[node].ys));
    if (k >= m->nout) { /* grow to k + 1 entries; a new output 0 is the plain last node */
        struct on_output *o = realloc(m->outs, sizeof *o * (size_t)(k + 1));
        if (!o) return on_fail(err, "out of memory");
        m->outs = o;
        for (int j = m->nout; j <= k; j++) o[j] = (struct on_output){.node = m->nn - 1};
        m->nout = k + 1;
    }
    struct on_output *o = &m->outs[k];
    o->node = node;
    snprintf(o->name, sizeof o->name, "%s", name ? name : "");
    o->ndims = ndims;
    if (ndims) memcpy(o->dims, dims, sizeof(int64_t) * (size_t)ndims);
    return 0;
}
