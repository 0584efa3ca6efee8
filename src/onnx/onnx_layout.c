/* onnx_layout.c - ONNX operators that move whole channels: Transpose of a channel-group view
 * (ShuffleNet's channel shuffle: Reshape (N,C,H,W) -> (N,g,C/g,H,W), Transpose(0,2,1,3,4),
 * Reshape back; onnx_import.c's op_reshape makes and ends the view) as a channel_shuffle
 * layer, and Split along the channels (x.chunk(2, dim=1)) as channel_slice layers.
 */
#include "onnx_import.h"

#include <stdio.h>
#include <string.h>

int ox_op_transpose(ox_ctx *cx, int k) {
    ox_value *x;
    int perm[OX_MAX_DIMS], n;
    cx->split_ok = 1;
    int bad = ox_check_attrs(cx, k, "perm") || ox_in_tensor(cx, k, 0, &x);
    cx->split_ok = 0;
    if (bad || ox_attr_ints(cx, k, "perm", perm, OX_MAX_DIMS, &n)) return -1;
    int r = x->orank, ident = n == r, shuffle = x->split > 0 && n == r && r >= 4;
    for (int i = 0; i < n && i < r; i++) {
        ident &= perm[i] == i;
        shuffle &= perm[i] == (i == 1 ? 2 : i == 2 ? 1 : i);
    }
    if (n == r && ident) {
        ox_alias(cx, k, x, r);
        ox_out_value(cx, k)->split = x->split;
        return 0;
    }
    if (shuffle) {
        on_shape s = ox_shape_of(cx, x);
        on_attrs a = on_op_find("channel_shuffle")->defaults;
        a.groups = x->split;
        if (ox_emit(cx, k, k, on_op_find("channel_shuffle"), &a, x, r) < 0) return -1;
        ox_out_value(cx, k)->split = s.c / x->split;
        return 0;
    }
    char p[64] = "";
    for (int i = 0; i < n && strlen(p) < 50; i++)
        snprintf(p + strlen(p), sizeof p - strlen(p), "%s%d", i ? "," : "", perm[i]);
    return ox_node_fail(cx, k,
                        "perm (%s) of a %d-D tensor is not supported (ordnet reads the channel "
                        "shuffle Reshape -> Transpose(0,2,1,...) -> Reshape)",
                        p, r);
}

/* Split along axis 1 of a computed tensor: one channel_slice layer per output (the sizes
 * from the 'split' attribute before opset 13, the input from then on, else equal parts). */
int ox_op_split(ox_ctx *cx, int k) {
    const Onnx__NodeProto *n = cx->g->node[k];
    ox_value *x;
    int64_t axis, num;
    int sizes[64], ns = -1;
    if (ox_check_attrs(cx, k, cx->opset < 13 ? "axis split" : "axis num_outputs") ||
        ox_in_tensor(cx, k, 0, &x) || ox_attr_int(cx, k, "axis", 0, &axis) ||
        ox_attr_int(cx, k, "num_outputs", (int64_t)n->n_output, &num))
        return -1;
    if (n->n_output < 1 || n->n_output > 64)
        return ox_node_fail(cx, k, "%zu outputs (1 to 64 supported)", n->n_output);
    if (axis < 0) axis += x->orank;
    on_shape s = ox_shape_of(cx, x);
    if (axis != 1 || s.rank != x->orank - 1)
        return ox_node_fail(cx, k, "splitting axis %lld is not supported (only the channels)",
                            (long long)axis);
    if (cx->opset < 13) {
        if (ox_attr_ints(cx, k, "split", sizes, 64, &ns)) return -1;
    } else {
        ox_const *c;
        if (ox_in_const(cx, k, 1, 1, 0, &c)) return -1;
        if (c && (!c->i || c->size > 64))
            return ox_node_fail(cx, k, "the split sizes must be at most 64 integers");
        for (size_t i = 0; c && i < c->size; i++)
            sizes[i] = c->i[i] < 0 || c->i[i] > s.c ? -1 : (int)c->i[i];
        ns = c ? (int)c->size : -1;
    }
    int no = (int)n->n_output, at = 0;
    if (ns < 0) { /* equal parts, the last one smaller (opset 18) */
        int part = (s.c + no - 1) / no;
        for (int i = 0; i < no; i++) sizes[i] = i < no - 1 ? part : s.c - part * (no - 1);
        ns = no;
    }
    if (ns != no) return ox_node_fail(cx, k, "%d split sizes for %d outputs", ns, no);
    for (int i = 0; i < no; i++) at += sizes[i] < 0 ? s.c + 1 : sizes[i];
    if (at != s.c)
        return ox_node_fail(cx, k, "the split sizes add up to %d, not the %d channels", at, s.c);
    at = 0;
    for (int i = 0; i < no; i++) {
        int v = ox_find(cx, n->output[i]);
        on_attrs a = on_op_find("channel_slice")->defaults;
        a.pad[0] = at;
        a.units = sizes[i];
        at += sizes[i];
        if (v < 0 || !cx->v[v].uses) continue; /* an unused output */
        char name[ON_NAME_MAX];
        ox_layer_name(cx->m, n->name, n->op_type, name, sizeof name);
        on_error e;
        int id = on_model_add_at(cx->m, x->node, on_op_find("channel_slice"), &a, name, &e);
        if (id < 0) return ox_node_fail(cx, k, "output %d: %s", i, e.msg);
        cx->v[v].kind = OX_NODE;
        cx->v[v].node = id;
        cx->v[v].orank = x->orank;
    }
    return 0;
}
