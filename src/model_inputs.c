/* model_inputs.c - the Keras Inputs of a model. A model with several Inputs (a Keras
 * Model(inputs=[left, right])) packs them into node 0, each an input_part node
 * (ops/input_part.c); summary and analyze read such models, and everything that feeds data
 * refuses them here rather than read one sample as several Inputs. */
#include "graph.h"
#include "base/base.h"
#include "keras/keras.h"

#include <stdio.h>
#include <string.h>

static int is_part(const on_model *m, int i) {
    return m->nodes[i].op && !strcmp(m->nodes[i].op->name, "input_part");
}

int on_model_num_inputs(const on_model *m) {
    int n = 0;
    for (int i = 1; m && i < m->nn; i++) n += is_part(m, i);
    return n > 1 ? n : 1;
}

char *on_model_inputs_str(const on_model *m, char *buf, size_t len) {
    size_t o = 0;
    char sh[64];
    if (!len) return buf;
    buf[0] = 0;
    int several = on_model_num_inputs(m) > 1;
    for (int i = several ? 1 : 0, k = 0; m && i < (several ? m->nn : 1) && o < len; i++)
        if (!several || is_part(m, i))
            o += (size_t)snprintf(buf + o, len - o, "%s%s %s", k++ ? ", " : "", m->nodes[i].name,
                                  on_keras_shape_str(m->nodes[i].ys, sh, sizeof sh));
    return buf;
}

int on_model_check_one_input(const on_model *m, on_error *err) {
    int n = on_model_num_inputs(m);
    if (n < 2) return 0;
    char s[256];
    return on_fail(err,
                   "this model has %d inputs: %s; ordnet trains and runs models with one input", n,
                   on_model_inputs_str(m, s, sizeof s));
}
