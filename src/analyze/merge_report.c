/* merge_report.c - the merges of a model in `ordnet analyze`: for each merge, the layer
 * after it (could it run on every input instead?) and the layers before it (could copies
 * on every input run once after it?), with the verdict of merge_rules.c and the modelled
 * cost of both forms. Reported only: analyze's classes, `ordnet train`'s reordering and the
 * study keep layers where they are across a merge; `optimize` uses one of these rules
 * (a BatchNorm after a channel concatenation of convolutions folds into them). */
#include "analyze.h"
#include "../strbuf.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* How many layers (and model outputs) read node i. */
static int readers_of(const on_model *m, int i) {
    int r = 0;
    for (int j = i + 1; j < m->nn; j++)
        for (int k = 0; k < m->nodes[j].nin; k++) r += m->nodes[j].in[k] == i;
    for (int k = 0; k < on_model_num_outputs(m); k++) r += on_model_output_node(m, k) == i;
    return r + (i == m->nn - 1 && on_model_num_outputs(m) == 0);
}

/* Layer j is a BatchNorm, and every input of merge i is a conv/dense layer read by the
 * merge only: optimize folds j into them (optimize.c, rule 2b). */
static int folds_into_inputs(const on_model *m, int i, int j) {
    const on_node *nd = &m->nodes[i];
    if (m->nodes[j].op != on_op_find("batchnorm") || strcmp(nd->op->name, "concat")) return 0;
    for (int k = 0; k < nd->nin; k++) {
        int l = nd->in[k];
        if (l < 1 || !(m->nodes[l].op->props & ON_PROP_LINEAR_MAP) || readers_of(m, l) != 1)
            return 0;
        for (int q = 0; q < k; q++)
            if (nd->in[q] == l) return 0;
    }
    return 1;
}

static double flops_of(on_cost c, int infer) {
    return c.flops_fwd + (infer ? 0 : c.flops_bwd);
}

/* f's cost on one tensor of shape xs. */
static on_cost cost_on(const on_layer_view *f, on_shape xs) {
    on_shape ys;
    on_error e;
    on_cost none = {0};
    if (!f->op->shape || f->op->shape(&f->a, xs, &ys, &e)) return none;
    return f->op->cost(&f->a, xs, ys);
}

/* One verdict line and its JSON object. */
static void add_verdict(on_sb *b, cJSON *o, const char *dir, const char *layer, const on_verdict *v,
                        const on_merge_plan *plan, const on_merge_view *mv, double one, double each,
                        int movable, int infer) {
    int napply = 0;
    char to[256] = "";
    for (int k = 0; k < mv->nin; k++)
        if (plan->apply[k]) napply++;
    on_sb_add(b, "    %s: %-14s %-18s %s%s%s%s\n", dir, layer, on_verdict_name(v->kind), v->reason,
              *v->condition ? " [if: " : "", v->condition, *v->condition ? "]" : "");
    if (*v->change) on_sb_add(b, "      change: %s\n", v->change);
    if (plan->shift_once) snprintf(to, sizeof to, "; the shift on the first input only");
    if (plan->split) snprintf(to + strlen(to), sizeof to - strlen(to), "; its parameters split");
    if (v->kind != ON_NEVER && v->kind != ON_APPROX)
        on_sb_add(b, "      %s: %.3g MFLOP once after the merge, %.3g MFLOP on %d input%s%s\n",
                  infer ? "cost" : "cost (forward + backward)", one / 1e6, each / 1e6, napply,
                  napply == 1 ? "" : "s", to);
    if (!movable) on_sb_add(b, "      (not movable here: another layer reads the same tensor)\n");
    cJSON_AddStringToObject(o, "direction", dir);
    cJSON_AddStringToObject(o, "layer", layer);
    cJSON_AddStringToObject(o, "verdict", on_verdict_name(v->kind));
    cJSON_AddStringToObject(o, "reason", v->reason);
    if (*v->condition) cJSON_AddStringToObject(o, "condition", v->condition);
    if (*v->change) cJSON_AddStringToObject(o, "change", v->change);
    cJSON *ap = cJSON_AddArrayToObject(o, "applies_to");
    for (int k = 0; k < mv->nin; k++)
        if (plan->apply[k]) cJSON_AddItemToArray(ap, cJSON_CreateNumber(k));
    cJSON_AddBoolToObject(o, "split_parameters", plan->split);
    cJSON_AddBoolToObject(o, "shift_once", plan->shift_once);
    cJSON_AddNumberToObject(o, "flops_after_merge", one);
    cJSON_AddNumberToObject(o, "flops_on_inputs", each);
    cJSON_AddBoolToObject(o, "movable", movable);
}

int on_merge_hoist(const on_model *m, int i, int infer, on_verdict *v, on_merge_plan *plan,
                   on_merge_view *before, int *movable) {
    const on_node *nd = &m->nodes[i];
    if (nd->op->ninputs != ON_NINPUTS_ANY || nd->nin < 2) return 0;
    /* the same parameter-free layer (or, into a concatenation, the same per-channel layer)
     * at the end of every input, no input twice */
    const on_node *p0 = &m->nodes[nd->in[0]];
    int same = nd->in[0] > 0 && p0->nin == 1 && p0->op->ninputs == 1;
    for (int k = 0; same && k < nd->nin; k++) {
        const on_node *pk = &m->nodes[nd->in[k]];
        same = nd->in[k] > 0 && pk->op == p0->op && pk->nin == 1 && on_attrs_equal(&pk->a, &p0->a);
        for (int q = 0; q < k && same; q++) same = nd->in[q] != nd->in[k];
    }
    int concat = !strcmp(nd->op->name, "concat");
    if (!same || (p0->op->params && !concat) || (p0->op->props & ON_PROP_LINEAR_MAP)) return 0;
    *movable = 1;
    for (int k = 0; k < nd->nin; k++) *movable &= readers_of(m, nd->in[k]) == 1;
    /* the inputs as they are before the copies */
    *before = on_merge_view_of(m, i);
    for (int k = 0; k < nd->nin; k++) {
        int src = m->nodes[nd->in[k]].in[0];
        before->xs[k] = m->nodes[src].ys;
        before->nonneg[k] = (unsigned char)on_node_nonneg(m, src);
    }
    on_error e;
    if (nd->op->shape_n(&nd->a, before->xs, nd->nin, &before->ys, &e)) return 0;
    on_layer_view f = {.op = p0->op, .a = p0->a, .xs = before->ys, .name = p0->name};
    *v = on_merge_commute(before, &f, infer, plan);
    int all = 1;
    for (int k = 0; k < nd->nin; k++) all &= plan->apply[k];
    if (!all && v->kind != ON_NEVER) /* the copies sit on every input */
        *v = (on_verdict){.kind = ON_NEVER,
                          .reason = "the rule moves the layer onto some inputs only, and every "
                                    "input has a copy"};
    for (int k = 0; k < nd->nin; k++) plan->apply[k] = 1;
    return 1;
}

int on_merge_report(const on_model *m, int infer, int weights, on_sb *b, cJSON *arr) {
    int count = 0;
    for (int i = 1; i < m->nn; i++) {
        const on_node *nd = &m->nodes[i];
        if (nd->op->ninputs != ON_NINPUTS_ANY) continue;
        if (!count++)
            on_sb_add(b,
                      "\nMerges (%s): which layers move across them (docs/ORDERING.md, section "
                      "2b). Reported only: the classes above end at merges, and optimize "
                      "applies one of these rules (a BatchNorm after a concatenation of convs "
                      "folds into them)\n",
                      infer ? "inference" : "training");
        on_merge_view mv = on_merge_view_of(m, i);
        cJSON *mo = cJSON_CreateObject(), *ins = cJSON_AddArrayToObject(mo, "inputs");
        cJSON *rules = cJSON_AddArrayToObject(mo, "rules");
        cJSON_AddStringToObject(mo, "name", nd->name);
        cJSON_AddStringToObject(mo, "op", nd->op->name);
        char list[512] = "";
        for (int k = 0; k < nd->nin; k++) {
            const char *in = m->nodes[nd->in[k]].name;
            int gate = strcmp(nd->op->name, "concat") && mv.xs[k].c == mv.ys.c &&
                       on_shape_size(mv.xs[k]) == (size_t)mv.ys.c &&
                       on_shape_size(mv.ys) != (size_t)mv.ys.c;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s%s", k ? ", " : "", in,
                     gate && mv.nonneg[k] ? " (gate >= 0)"
                     : gate               ? " (gate)"
                     : mv.nonneg[k]       ? " (>= 0)"
                                          : "");
            cJSON *io = cJSON_CreateObject();
            cJSON_AddStringToObject(io, "name", in);
            cJSON_AddBoolToObject(io, "gate", gate);
            cJSON_AddBoolToObject(io, "nonneg", mv.nonneg[k]);
            cJSON_AddItemToArray(ins, io);
        }
        on_sb_add(b, "  %s: %s of %s\n", nd->name, nd->op->name, list);
        /* after: each one-input layer reading the merge */
        int alone = readers_of(m, i) == 1;
        for (int j = i + 1; j < m->nn; j++) {
            const on_node *r = &m->nodes[j];
            if (r->nin != 1 || r->in[0] != i) continue;
            float *pb[4];
            on_layer_view f = on_view_of(m, j, weights, pb);
            on_merge_plan plan;
            on_verdict v = on_merge_commute(&mv, &f, infer, &plan);
            double one = flops_of(cost_on(&f, mv.ys), infer), each = 0;
            for (int k = 0; k < mv.nin; k++)
                if (plan.apply[k]) each += flops_of(cost_on(&f, mv.xs[k]), infer);
            cJSON *o = cJSON_CreateObject();
            add_verdict(b, o, "after", r->name, &v, &plan, &mv, one, each, alone, infer);
            int folds = infer && alone && v.kind == ON_EXACT && folds_into_inputs(m, i, j);
            if (folds)
                on_sb_add(b, "      optimize folds it into the convolutions before the merge\n");
            cJSON_AddBoolToObject(o, "optimize_folds", folds);
            cJSON_AddItemToArray(rules, o);
        }
        /* before: the same layer at the end of every input */
        on_merge_plan plan;
        on_merge_view before;
        int movable;
        on_verdict v;
        if (on_merge_hoist(m, i, infer, &v, &plan, &before, &movable)) {
            const on_node *p0 = &m->nodes[nd->in[0]];
            on_layer_view f = {.op = p0->op, .a = p0->a, .xs = before.ys, .name = p0->name};
            double one = flops_of(cost_on(&f, before.ys), infer), each = 0;
            for (int k = 0; k < nd->nin; k++) each += flops_of(cost_on(&f, before.xs[k]), infer);
            char layer[64];
            snprintf(layer, sizeof layer, "%d x %s", nd->nin, p0->op->name);
            cJSON *o = cJSON_CreateObject();
            add_verdict(b, o, "before", layer, &v, &plan, &before, one, each, movable, infer);
            cJSON_AddItemToArray(rules, o);
        }
        cJSON_AddItemToArray(arr, mo);
    }
    return count;
}
