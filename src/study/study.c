/* study.c - plan a study: the template, the orders of the block, their training classes
 * and one job per class and seed.
 *
 * The model is a template: text with {...} slots, each replaced by the same order of the
 * block (the default: the reference model's two blocks). The analyzer groups the orders
 * into training classes (docs/ORDERING.md section 4); one member per class, the
 * cheapest, is trained per seed; the others are equal by proof. store.c keeps the runs
 * and their claims, runner.c trains them (see runner.h for the steps).
 */
#include "plan.h"
#include "../graph.h"
#include "../reader/args.h"
#include "study.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAXB ON_STUDY_MAXB
#define MAXO ON_STUDY_MAXO
#define tmpl on_study_tmpl

void on_study_say(const on_study_cfg *c, const char *fmt, ...) {
    if (!c->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log(c->user, line);
}

/* Split "a,b(1,2),c" or "a b c" at top-level commas/spaces. Returns the count. */
static int split_tokens(const char *s, char tok[][96], int max) {
    int n = 0, depth = 0;
    size_t k = 0;
    for (const char *p = s;; p++) {
        int end = !*p || (!depth && (*p == ',' || *p == ' ' || *p == ';'));
        if (end) {
            if (k && n < max) {
                tok[n][k < 95 ? k : 95] = 0;
                n++;
            }
            k = 0;
            if (!*p) break;
            continue;
        }
        depth += (*p == '(') - (*p == ')');
        if (n < max && k < 95) tok[n][k] = *p;
        k++;
    }
    return n;
}

/* ----- the template ----- */

static void tmpl_free(tmpl *t) {
    for (int i = 0; i <= t->nslots; i++) free(t->seg[i]);
    memset(t, 0, sizeof *t);
}

/* "text {x y} more {x y} end" -> segments; the text in the first braces is the block. */
static int tmpl_from_braces(const char *text, tmpl *t, char *block, size_t blen, on_error *err) {
    memset(t, 0, sizeof *t);
    const char *p = text;
    for (;;) {
        const char *o = strchr(p, '{');
        if (!o || t->nslots == 8) {
            t->seg[t->nslots] = strdup(p);
            break;
        }
        const char *c = strchr(o, '}');
        if (!c) {
            tmpl_free(t);
            return on_fail(err, "model:1:%d: '{' without '}'", (int)(o - text) + 1);
        }
        t->seg[t->nslots] = strndup(p, (size_t)(o - p));
        if (!t->nslots) snprintf(block, blen, "%.*s", (int)(c - o - 1), o + 1);
        t->nslots++;
        p = c + 1;
    }
    return 0;
}

/* No braces: the runs of the model whose layers are the block's, in any order, become the
 * slots. tokens: the block's tokens. */
static int tmpl_from_runs(const on_model *m, char tok[][96], int nb, tmpl *t, on_error *err) {
    memset(t, 0, sizeof *t);
    char *spec = on_model_to_spec(m);
    if (!spec) return on_fail(err, "out of memory");
    /* the spec's tokens are the model's nodes, one each, in order (node i = token i) */
    char *words[512] = {0};
    int nw = 0;
    for (char *w = strtok(spec, " "); w && nw < 512; w = strtok(NULL, " ")) words[nw++] = w;
    int nn = on_model_num_nodes(m);
    if (nw != nn) {
        free(spec);
        return on_fail(err, "cannot lay out the model's layers for the study");
    }
    size_t cap = strlen(on_model_notes(m)) + 65536;
    char *cur = calloc(1, cap);
    int i = 1;
    size_t len = (size_t)snprintf(cur, cap, "%s", words[0] ? words[0] : "");
    while (i < nn) {
        /* does a run of nb layers starting at i hold exactly the block's ops? */
        int used[MAXB] = {0}, match = i + nb <= nn && t->nslots < 8;
        for (int k = 0; match && k < nb; k++) {
            const on_op *op = on_model_node_op(m, i + k);
            int found = 0;
            for (int j = 0; j < nb && !found; j++) {
                char name[96];
                snprintf(name, sizeof name, "%.95s", tok[j]);
                char *paren = strchr(name, '(');
                if (paren) *paren = 0;
                if (!used[j] && on_spec_resolve(name, on_model_node_shape(m, i + k - 1)) == op)
                    used[j] = found = 1;
            }
            match = found;
        }
        if (match) {
            t->seg[t->nslots++] = cur;
            cur = calloc(1, cap);
            len = 0;
            i += nb;
        } else {
            len += (size_t)snprintf(cur + len, cap - len, " %s", words[i]);
            i++;
        }
    }
    t->seg[t->nslots] = cur;
    free(spec);
    if (!t->nslots) {
        tmpl_free(t);
        return on_fail(err, "the model has no run of layers made of the block's layers");
    }
    return 0;
}

char *on_study_tmpl_fill(const tmpl *t, const char *order) {
    size_t len = strlen(order) * (size_t)t->nslots + 16;
    for (int i = 0; i <= t->nslots; i++) len += strlen(t->seg[i]) + 2;
    char *s = malloc(len);
    if (!s) return NULL;
    size_t k = 0;
    for (int i = 0; i <= t->nslots; i++) {
        k += (size_t)snprintf(s + k, len - k, "%s", t->seg[i]);
        if (i < t->nslots) k += (size_t)snprintf(s + k, len - k, " %s ", order);
    }
    return s;
}

/* ----- the plan ----- */

static void study_key(const on_study_cfg *c, const tmpl *t, const char *data, char *out) {
    char buf[8192];
    size_t k = (size_t)snprintf(buf, sizeof buf, "%s|%d|%d|%d|%d|%g|%g|%g|%d|%d|", data, c->epochs,
                                c->limit, c->test_limit, c->train.batch, c->train.lr, c->train.wd,
                                c->train.smoothing, c->train.opt, c->train.augment);
    for (int i = 0; i <= t->nslots && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s{}", t->seg[i]);
    if (c->seed_base && k < sizeof buf) /* another seed set is another study */
        snprintf(buf + k, sizeof buf - k, "|seeds+%d", c->seed_base);
    snprintf(out, 32, "%08lx", crc32(0, (const Bytef *)buf, (uInt)strlen(buf)));
}

/* on_study_defaults() is in defaults.c: builds without SQLite have it too. */

/* The template and the block's tokens from the model (text with braces, a file, or none). */
static int plan_template(on_study_plan *p, on_error *err) {
    const on_study_cfg *c = &p->c;
    snprintf(p->block, sizeof p->block, "%s", c->block);
    const char *model = c->model;
    if (!model || strchr(model, '{')) {
        const char *ref =
            "input(28,28,1) conv2d(32,3,same) {B} conv2d(64,3,same) {B} flatten dense(10)";
        if (tmpl_from_braces(model ? model : ref, &p->t, p->block, sizeof p->block, err)) return -1;
        if (!model) snprintf(p->block, sizeof p->block, "%s", c->block);
        return 0;
    }
    on_model *m = on_model_from_file(model, NULL, 0, err);
    if (!m && !(m = on_model_from_text(model, "model", NULL, 0, err))) return -1;
    if (on_model_check_one_input(m, err)) {
        on_model_free(m);
        return -1;
    }
    /* the study rebuilds every order from the model's definition, which cannot hold values
     * a reader gave (Keras Normalization's mean and variance): refuse rather than train with
     * the defaults in their place */
    for (int i = 0; i < m->nt; i++) {
        const on_tensor *t = &m->tensors[i];
        const float *v = on_tensor_ptr(m, i);
        for (size_t j = 0; t->d.init == ON_INIT_GIVEN && j < t->d.size; j++)
            if (v[j] != t->d.init_value) {
                int rc =
                    on_fail(err,
                            "%s: layer '%s' (%s) has given values (%s); a study rebuilds "
                            "each order from the model's definition and would lose them: "
                            "study the model without them, or normalize the data instead",
                            model, m->nodes[t->node].name, m->nodes[t->node].op->name, t->name);
                on_model_free(m);
                return rc;
            }
    }
    int nb0 = split_tokens(c->block, p->tok, MAXB);
    int rc = tmpl_from_runs(m, p->tok, nb0, &p->t, err);
    on_model_free(m);
    return rc;
}

/* The block's layers as the analyzer sees them, at the first slot. */
static int plan_layers(on_study_plan *p, on_error *err) {
    char order0[512] = "";
    for (int k = 0; k < p->nb; k++)
        snprintf(order0 + strlen(order0), sizeof order0 - strlen(order0), "%s%.95s", k ? " " : "",
                 p->tok[k]);
    char *ident = on_study_tmpl_fill(&p->t, order0);
    p->base = ident ? on_model_from_spec(ident, err) : NULL;
    free(ident);
    if (!p->base) return -1;
    on_model *prefix = on_model_from_spec(p->t.seg[0], err);
    if (!prefix) return -1;
    int first = on_model_num_nodes(prefix);
    on_model_free(prefix);
    for (int k = 0; k < p->nb; k++) {
        const on_node *nd = &p->base->nodes[first + k];
        p->L[k] = (on_layer_view){
            .op = nd->op, .a = nd->a, .xs = p->base->nodes[nd->in[0]].ys, .name = nd->name};
    }
    return 0;
}

/* want[k]: order k is studied (all, or the ones --orders names). */
static int plan_wanted(on_study_plan *p, on_error *err) {
    const on_orders *o = &p->o;
    int nb = p->nb;
    if (!(p->want = calloc((size_t)o->count, sizeof(int)))) return on_fail(err, "out of memory");
    if (!p->c.orders) {
        for (int k = 0; k < o->count; k++) p->want[k] = 1;
        return 0;
    }
    const char *s = p->c.orders;
    while (*s) {
        const char *e = strchr(s, ';');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char given[96 * MAXB], gt[MAXB][96];
        snprintf(given, sizeof given, "%.*s", (int)n, s);
        s += n + (e ? 1 : 0);
        int ngt = split_tokens(given, gt, MAXB), hit = -1;
        for (int k = 0; k < o->count && hit < 0 && ngt == nb; k++) {
            int ok = 1;
            for (int j = 0; j < nb && ok; j++) ok = !strcmp(p->tok[o->orders[k * nb + j]], gt[j]);
            if (ok) hit = k;
        }
        if (hit < 0)
            return on_fail(err, "--orders: '%s' is not an order of the block {%s}", given,
                           p->block);
        p->want[hit] = 1;
    }
    return 0;
}

/* Per class, the cheapest wanted member (modelled cost); then one job per class and seed. */
static int plan_jobs(on_study_plan *p, on_error *err) {
    const on_orders *o = &p->o;
    int nb = p->nb, ncls = o->nclasses;
    double *cost = malloc(sizeof(double) * (size_t)ncls);
    p->rep = malloc(sizeof(int) * (size_t)ncls);
    if (!cost || !p->rep) {
        free(cost);
        return on_fail(err, "out of memory");
    }
    for (int k = 0; k < ncls; k++) p->rep[k] = -1, cost[k] = 1e300;
    for (int k = 0; k < o->count; k++) {
        if (!p->want[k]) continue;
        p->nwanted++;
        double ck = on_cost_seconds(on_order_cost(p->L, o->orders + k * nb, nb, p->L[0].xs, 0, 1));
        if (ck < cost[o->cls[k]] * (1 - 1e-9)) p->rep[o->cls[k]] = k, cost[o->cls[k]] = ck;
    }
    free(cost);
    for (int k = 0; k < ncls; k++) p->nused += p->rep[k] >= 0;
    p->jobs = calloc((size_t)p->nused * (size_t)p->c.seeds + 1, sizeof *p->jobs);
    if (!p->jobs) return on_fail(err, "out of memory");
    for (int k = 0; k < ncls; k++) {
        if (p->rep[k] < 0) continue;
        char ord[512] = "";
        for (int j = 0; j < nb; j++)
            snprintf(ord + strlen(ord), sizeof ord - strlen(ord), "%s%.95s", j ? " " : "",
                     p->tok[o->orders[p->rep[k] * nb + j]]);
        for (int s = 1; s <= p->c.seeds; s++) {
            on_study_job *j = &p->jobs[p->njobs++];
            snprintf(j->order, sizeof j->order, "%s", ord);
            j->cls = k + 1;
            j->seed = s;
        }
    }
    return 0;
}

on_study_plan *on_study_plan_new(const on_study_cfg *c, on_error *err) {
    on_study_plan *p = calloc(1, sizeof *p);
    if (!p) {
        on_fail(err, "out of memory");
        return NULL;
    }
    p->c = *c;
    p->stale = 60;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (plan_template(p, err)) goto fail;
    p->nb = split_tokens(p->block, p->tok, MAXB);
    if (p->nb < 2) {
        on_fail(err, "the block needs at least 2 layers, got '%s'", p->block);
        goto fail;
    }
    if (plan_layers(p, err)) goto fail;
    if (on_orders_explore(p->L, p->nb, p->L[0].xs, 0, 1, MAXO, &p->o)) {
        on_fail(err, "cannot enumerate the orders of %d layers", p->nb);
        goto fail;
    }
    if (plan_wanted(p, err) || plan_jobs(p, err)) goto fail;
    study_key(c, &p->t, c->data, p->key);
    return p;
fail:
    on_study_plan_free(p);
    return NULL;
}

void on_study_plan_free(on_study_plan *p) {
    if (!p) return;
    on_study_store_close(p);
    free(p->jobs);
    free(p->want);
    free(p->rep);
    free(p->running);
    on_orders_free(&p->o);
    on_model_free(p->base);
    on_dataset_free(&p->tr);
    on_dataset_free(&p->te);
    tmpl_free(&p->t);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int on_study_plan_jobs(const on_study_plan *p) {
    return p->njobs;
}
const on_study_job *on_study_plan_job(const on_study_plan *p, int i) {
    return i >= 0 && i < p->njobs ? &p->jobs[i] : NULL;
}
const char *on_study_plan_key(const on_study_plan *p) {
    return p->key;
}
const on_study_cfg *on_study_plan_cfg(const on_study_plan *p) {
    return &p->c;
}

/* The study's description (classes, members, representatives) as the report reads it. */
char *on_study_plan_describe(const on_study_plan *p) {
    return on_study_describe(&p->o, (char(*)[96])p->tok, p->nb, p->want, p->rep, p->L, &p->c, &p->t,
                             p->block, p->key);
}
