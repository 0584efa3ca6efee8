/* args.c - see args.h. Synonyms let Keras and PyTorch spellings both work:
 * kernel_size, pool_size, strides, dilation_rate, use_bias, epsilon, p, ... */
#include "args.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const synonyms[][2] = {
    {"kernel_size", "kernel"},
    {"pool_size", "size"},
    {"kernel", "size"},
    {"strides", "stride"},
    {"dilation_rate", "dilation"},
    {"use_bias", "bias"},
    {"epsilon", "eps"},
    {"p", "rate"},
    {"negative_slope", "alpha"},
    {"slope", "alpha"},
    {"ceil", "ceil_mode"},
    {"max_value", "max_val"},
    {"units", "filters"},
    {"filters", "units"},
    {"group", "groups"},
    {"size", "scale_factor"},
    {"interpolation", "mode"},
    {"cropping", "padding"},
    {"target_shape", "shape"},
    {"input_dim", "vocab"},
    {"output_dim", "units"},
};

/* Is word in the space-separated list? */
static int in_list(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        while (*p == ' ') p++;
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, word, n)) return 1;
        p += len;
    }
    return 0;
}

const char *on_args_positional(const on_op *op, int i, char *buf, size_t len) {
    const char *p = op->args ? op->args : "";
    for (int k = 0; *p; k++) {
        while (*p == ' ') p++;
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (k == i && n) {
            snprintf(buf, len, "%.*s", (int)n, p);
            return buf;
        }
        p += n;
    }
    return NULL;
}

/* A whole number in [-2^30, 2^30] (range checked before the cast: a huge double, inf or
 * nan cast to int is undefined). */
static int whole(double d, int *out) {
    if (!(d >= -1073741824.0 && d <= 1073741824.0) || d != floor(d)) return -1;
    *out = (int)d;
    return 0;
}

static int as_int(const on_value *v, int *out) {
    return v->kind == ON_V_NUM ? whole(v->num[0], out) : -1;
}

static int as_bool(const on_value *v, int *out) {
    if (v->kind == ON_V_IDENT) {
        if (!strcmp(v->ident, "true") || !strcmp(v->ident, "True")) return *out = 1, 0;
        if (!strcmp(v->ident, "false") || !strcmp(v->ident, "False")) return *out = 0, 0;
        return -1;
    }
    if (v->kind == ON_V_NUM && (v->num[0] == 0 || v->num[0] == 1)) return *out = (int)v->num[0], 0;
    return -1;
}

/* A window-like pair: one int for both axes (1-D ops: the length axis only), or a tuple. */
static int as_pair(const on_op *op, const on_value *v, int *h, int *w) {
    int one_d = op->spatial == 2;
    if (v->kind == ON_V_NUM) {
        int k;
        if (as_int(v, &k)) return -1;
        *h = one_d ? 1 : k;
        *w = k;
        return 0;
    }
    if (v->kind != ON_V_TUPLE) return -1;
    int t[4];
    for (int i = 0; i < v->n; i++)
        if (whole(v->num[i], &t[i])) return -1;
    if (one_d && v->n == 1) return *h = 1, *w = t[0], 0;
    if (!one_d && v->n == 2) return *h = t[0], *w = t[1], 0;
    return -1;
}

/* Names of the augmentation layers' identifier arguments, by value (ON_FILL_*, ON_FLIP_*,
 * ON_RESIZE_*). */
static const char *const fill_names[] = {"reflect", "wrap", "constant", "nearest"};
static const char *const flip_names[] = {"", "horizontal", "vertical", "horizontal_and_vertical"};
static const char *const interp_names[] = {"nearest", "bilinear"};

static int name_index(const on_value *v, const char *const *names, int n, int *out) {
    for (int i = 0; v->kind == ON_V_IDENT && i < n; i++)
        if (*names[i] && !strcmp(v->ident, names[i])) return *out = i, 0;
    return -1;
}

/* A Keras factor: f alone is (-f, f) (symmetric) or (f, f); a tuple (lo, hi) is itself. */
static int as_factor(const on_value *v, int symmetric, float *lo, float *hi) {
    if (v->kind == ON_V_NUM) {
        *lo = (float)(symmetric ? -v->num[0] : v->num[0]);
        *hi = (float)v->num[0];
        return 0;
    }
    if (v->kind != ON_V_TUPLE || v->n != 2) return -1;
    *lo = (float)v->num[0];
    *hi = (float)v->num[1];
    return 0;
}

/* The arguments of normalization and the random augmentation layers (normalization.c,
 * random_*.c), with Keras's names and values. Returns 1 when it handled key k. */
static int augment_arg_set(const on_op *op, on_attrs *a, const char *k, const on_value *v,
                           int *bad) {
    int contrast = !strcmp(op->name, "random_contrast");
    if (!strcmp(k, "invert")) {
        *bad = as_bool(v, &a->mode);
    } else if (!strcmp(k, "mode") && !strcmp(op->name, "random_flip")) {
        *bad = name_index(v, flip_names, 4, &a->mode);
    } else if (!strcmp(k, "factor")) {
        *bad = as_factor(v, !contrast, &a->range[0], &a->range[1]);
    } else if (!strcmp(k, "height_factor")) {
        *bad = as_factor(v, 1, &a->range[0], &a->range[1]);
    } else if (!strcmp(k, "width_factor")) {
        /* random_zoom: None (the default) zooms the width as the height (mode 0) */
        int none = v->kind == ON_V_IDENT && !strcmp(v->ident, "None");
        if (!strcmp(op->name, "random_zoom")) a->mode = !none;
        *bad = none ? strcmp(op->name, "random_zoom") != 0
                    : as_factor(v, 1, &a->range[2], &a->range[3]);
    } else if (!strcmp(k, "fill_mode")) {
        *bad = name_index(v, fill_names, 4, &a->fill);
    } else if (!strcmp(k, "interpolation") && op->args && strstr(op->args, "fill_mode")) {
        *bad = name_index(v, interp_names, 2, &a->interp);
    } else if (!strcmp(k, "fill_value")) {
        *bad = v->kind != ON_V_NUM;
        a->offset = (float)v->num[0];
    } else if (!strcmp(k, "value_range")) {
        if (v->kind == ON_V_IDENT && !strcmp(v->ident, "None"))
            a->lo = -INFINITY, a->hi = INFINITY;
        else if (v->kind == ON_V_TUPLE && v->n == 2 && v->num[0] <= v->num[1])
            a->lo = (float)v->num[0], a->hi = (float)v->num[1];
        else
            *bad = 1;
    } else {
        return 0;
    }
    return 1;
}

/* The arguments of upsampling, padding/cropping, reshape, permute, layer normalization and
 * embedding (resize.c, pad_crop.c, layout.c, layernorm.c, embedding.c). Returns 1 when it
 * handled key k (setting *bad on a bad value), 0 to leave it to on_args_set. */
static int layer_arg_set(const on_op *op, on_attrs *a, const char *k, const on_value *v, int *bad) {
    int one_d = op->spatial == 2;
    if (augment_arg_set(op, a, k, v, bad)) return 1;
    if (!strcmp(k, "scale_factor")) {
        double h = v->num[0], w = v->num[0];
        if (v->kind == ON_V_TUPLE && v->n == 2 && !one_d)
            h = v->num[0], w = v->num[1];
        else if (!(v->kind == ON_V_NUM || (v->kind == ON_V_TUPLE && v->n == 1)))
            return *bad = 1;
        *bad = !(h > 0 && w > 0 && h < 1e6 && w < 1e6);
        a->scale_h = one_d ? 1.0f : (float)h;
        a->scale_w = (float)w;
    } else if (!strcmp(k, "mode") && !strncmp(op->name, "zeropad", 7)) { /* pad_crop.c */
        static const char *const fills[][2] = {
            {"constant", "0"}, {"zeros", "0"}, {"reflect", "1"}, {"edge", "2"}, {"replicate", "2"}};
        *bad = 1;
        for (size_t i = 0; v->kind == ON_V_IDENT && i < sizeof fills / sizeof fills[0]; i++)
            if (!strcmp(v->ident, fills[i][0])) a->mode = fills[i][1][0] - '0', *bad = 0;
    } else if (!strcmp(k, "start")) { /* channel_slice's first channel */
        *bad = v->kind != ON_V_NUM || whole(v->num[0], &a->pad[0]) || a->pad[0] < 0;
    } else if (!strcmp(k, "value")) { /* constant padding */
        *bad = v->kind != ON_V_NUM || !isfinite(v->num[0]);
        a->alpha = (float)v->num[0];
    } else if (!strcmp(k, "mode")) {
        if (v->kind == ON_V_IDENT && !strcmp(v->ident, "nearest"))
            a->mode = ON_RESIZE_NEAREST;
        else if (v->kind == ON_V_IDENT &&
                 (!strcmp(v->ident, "linear") || !strcmp(v->ident, "bilinear")))
            a->mode = ON_RESIZE_LINEAR;
        else
            *bad = 1;
    } else if (!strcmp(k, "align_corners")) {
        *bad = as_bool(v, &a->align_corners);
    } else if (!strcmp(k, "padding") && one_d && v->kind == ON_V_TUPLE && v->n == 2) {
        a->pad_mode = ON_PAD_EXPLICIT; /* 1-D (left, right) */
        a->pad[0] = a->pad[1] = 0;
        *bad = whole(v->num[0], &a->pad[2]) || whole(v->num[1], &a->pad[3]);
    } else if (!strcmp(k, "perm")) {
        int t[3] = {0, 1, 2};
        if (v->kind != ON_V_TUPLE || v->n < 2 || v->n > 3) return *bad = 1;
        for (int i = 0; i < v->n; i++) *bad |= whole(v->num[i], &t[i]);
        memcpy(a->perm, t, sizeof t);
    } else if (!strcmp(k, "shape")) {
        int n = v->kind == ON_V_NUM ? 1 : v->kind == ON_V_TUPLE ? v->n : 0;
        if (n < 1 || n > 3) return *bad = 1;
        a->ndims = n;
        a->dims[1] = a->dims[2] = 1;
        for (int i = 0; i < n; i++) *bad |= whole(v->num[i], &a->dims[i]);
    } else if (!strcmp(k, "axis")) {
        *bad = as_int(v, &a->axis);
    } else if (!strcmp(k, "vocab")) {
        *bad = as_int(v, &a->vocab) || a->vocab < 1;
    } else {
        return 0;
    }
    return 1;
}

/* Arguments of every layer, outside its op's list: Keras's trainable=False and its
 * regularizers. The compact form carries them so that checkpoints, --resume and studies,
 * which rebuild models from it, keep them. reg_keys[i] is reg_l1[i] for i < 3, else
 * reg_l2[i - 3]. */
static const char *const reg_keys[6] = {"kernel_l1", "bias_l1", "activity_l1",
                                        "kernel_l2", "bias_l2", "activity_l2"};

/* Returns 1 when it handled key k (setting *bad on a bad value or a layer without
 * parameters given a parameter's argument). */
static int common_arg_set(const on_op *op, on_attrs *a, const char *k, const on_value *v,
                          int *bad) {
    if (!strcmp(k, "frozen")) {
        *bad = as_bool(v, &a->frozen) || !op->params;
        return 1;
    }
    for (int i = 0; i < 6; i++) {
        if (strcmp(k, reg_keys[i])) continue;
        double x = v->kind == ON_V_NUM ? v->num[0] : -1;
        *bad = !(x >= 0 && x < 1e30) || (i % 3 != 2 && !op->params);
        (i < 3 ? a->reg_l1 : a->reg_l2)[i % 3] = (float)x;
        return 1;
    }
    return 0;
}

int on_args_set(const on_op *op, on_attrs *a, const char *key, const on_value *v, on_error *err) {
    const char *k = key;
    int bad_common = 0;
    if (common_arg_set(op, a, k, v, &bad_common)) {
        if (bad_common)
            return on_fail(err, "%s: bad value for '%s' (%s)", op->name, key,
                           !strcmp(k, "frozen") ? "0 or 1, on a layer with parameters"
                                                : "a number >= 0; kernel and bias terms only on "
                                                  "a layer with parameters");
        return 0;
    }
    if (!in_list(op->args, k))
        for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
            if (!strcmp(synonyms[i][0], key) && in_list(op->args, synonyms[i][1])) {
                k = synonyms[i][1];
                break;
            }
    if (!in_list(op->args, k))
        return on_fail(err, "%s takes no argument '%s' (it takes: %s)", op->name, key,
                       op->args && *op->args ? op->args : "none");
    int bad = 0;
    if (layer_arg_set(op, a, k, v, &bad))
        ;
    else if (!strcmp(k, "filters") || !strcmp(k, "units"))
        bad = as_int(v, &a->units) || a->units < 1;
    else if (!strcmp(k, "kernel") || !strcmp(k, "size"))
        bad = as_pair(op, v, &a->kh, &a->kw);
    else if (!strcmp(k, "stride"))
        bad = as_pair(op, v, &a->sh, &a->sw);
    else if (!strcmp(k, "dilation"))
        bad = as_pair(op, v, &a->dh, &a->dw);
    else if (!strcmp(k, "bias"))
        bad = as_bool(v, &a->bias);
    else if (!strcmp(k, "ceil_mode"))
        bad = as_bool(v, &a->ceil_mode);
    else if (!strcmp(k, "count_include_pad"))
        bad = as_bool(v, &a->count_include_pad);
    else if (!strcmp(k, "groups"))
        bad = as_int(v, &a->groups) || a->groups < 1;
    else if (!strcmp(k, "output_padding")) {
        bad = as_pair(op, v, &a->opad[0], &a->opad[1]) || a->opad[0] < 0 || a->opad[1] < 0;
        if (op->spatial == 2) a->opad[0] = 0; /* 1-D: the length axis only */
    } else if (!strcmp(k, "padding")) {
        int ph, pw;
        if (v->kind == ON_V_IDENT && !strcmp(v->ident, "same"))
            a->pad_mode = ON_PAD_SAME;
        else if (v->kind == ON_V_IDENT && !strcmp(v->ident, "valid"))
            a->pad_mode = ON_PAD_VALID;
        else if (v->kind == ON_V_TUPLE && v->n == 4) { /* top, bottom, left, right */
            a->pad_mode = ON_PAD_EXPLICIT;
            for (int i = 0; i < 4; i++) bad |= whole(v->num[i], &a->pad[i]);
        } else if (!as_pair(op, v, &ph, &pw)) {
            a->pad_mode = ON_PAD_EXPLICIT;
            a->pad[0] = a->pad[1] = ph;
            a->pad[2] = a->pad[3] = pw;
            if (op->spatial == 2) a->pad[0] = a->pad[1] = 0;
        } else
            bad = 1;
    } else if (v->kind != ON_V_NUM) {
        bad = 1;
    } else if (!strcmp(k, "alpha") || !strcmp(k, "beta"))
        a->alpha = (float)v->num[0];
    else if (!strcmp(k, "min_val"))
        a->lo = (float)v->num[0];
    else if (!strcmp(k, "max_val"))
        a->hi = (float)v->num[0];
    else if (!strcmp(k, "rate"))
        a->rate = (float)v->num[0];
    else if (!strcmp(k, "eps"))
        a->eps = (float)v->num[0];
    else if (!strcmp(k, "momentum"))
        a->momentum = (float)v->num[0];
    else if (!strcmp(k, "seed"))
        a->seed = (uint64_t)v->num[0];
    else if (!strcmp(k, "axis"))
        bad = as_int(v, &a->axis);
    else if (!strcmp(k, "scale"))
        a->scale = (float)v->num[0];
    else if (!strcmp(k, "offset"))
        a->offset = (float)v->num[0];
    else if (!strcmp(k, "stddev"))
        a->stddev = (float)v->num[0];
    else
        bad = 1;
    if (bad) {
        char txt[64];
        if (v->kind == ON_V_IDENT)
            snprintf(txt, sizeof txt, "'%s'", v->ident);
        else if (v->kind == ON_V_NUM)
            snprintf(txt, sizeof txt, "%g", v->num[0]);
        else
            snprintf(txt, sizeof txt, "a tuple of %d", v->n);
        return on_fail(err, "%s: bad value %s for '%s'", op->name, txt, key);
    }
    return 0;
}

/* The shortest decimal that reads back as the same float: 0.2, not 0.200000003. */
static void shortest(char *out, size_t len, double v) {
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if ((float)strtod(out, NULL) == (float)v) return;
    }
}

/* A factor as Keras would write it: f for (-f, f) (symmetric) or (f, f), else (lo,hi). */
static void factor_text(char *out, size_t len, float lo, float hi, int symmetric) {
    char l[16], h[16];
    shortest(h, sizeof h, hi);
    if (symmetric ? lo == -hi : lo == hi) {
        snprintf(out, len, "%s", h);
        return;
    }
    shortest(l, sizeof l, lo);
    snprintf(out, len, "(%s,%s)", l, h);
}

/* augment_arg_set's keys as text ("" at the default); 0 when k is not one of them. */
static int augment_arg_text(const on_op *op, const on_attrs *a, const char *k, char *out,
                            size_t len) {
    const on_attrs *d = &op->defaults;
    int contrast = !strcmp(op->name, "random_contrast");
    int zoom = !strcmp(op->name, "random_zoom");
    if (!strcmp(k, "invert")) {
        if (a->mode != d->mode) snprintf(out, len, "%d", a->mode);
    } else if (!strcmp(k, "mode") && !strcmp(op->name, "random_flip")) {
        if (a->mode != d->mode && a->mode >= 1 && a->mode <= 3)
            snprintf(out, len, "%s", flip_names[a->mode]);
    } else if (!strcmp(k, "factor") || !strcmp(k, "height_factor")) {
        if (a->range[0] != d->range[0] || a->range[1] != d->range[1])
            factor_text(out, len, a->range[0], a->range[1], !contrast);
    } else if (!strcmp(k, "width_factor")) {
        if (zoom && !a->mode) {
            if (d->mode) snprintf(out, len, "None");
        } else if (a->range[2] != d->range[2] || a->range[3] != d->range[3] ||
                   (zoom && a->mode != d->mode)) {
            factor_text(out, len, a->range[2], a->range[3], 1);
        }
    } else if (!strcmp(k, "fill_mode")) {
        if (a->fill != d->fill && a->fill >= 0 && a->fill <= 3)
            snprintf(out, len, "%s", fill_names[a->fill]);
    } else if (!strcmp(k, "interpolation") && op->args && strstr(op->args, "fill_mode")) {
        if (a->interp != d->interp && a->interp >= 0 && a->interp <= 1)
            snprintf(out, len, "%s", interp_names[a->interp]);
    } else if (!strcmp(k, "fill_value")) {
        if (a->offset != d->offset) shortest(out, len, a->offset);
    } else if (!strcmp(k, "value_range")) {
        char l[16], h[16];
        if (a->lo == d->lo && a->hi == d->hi) return 1;
        if (isinf(a->lo) && isinf(a->hi)) {
            snprintf(out, len, "None");
            return 1;
        }
        shortest(l, sizeof l, a->lo);
        shortest(h, sizeof h, a->hi);
        snprintf(out, len, "(%s,%s)", l, h);
    } else {
        return 0;
    }
    return 1;
}

/* layer_arg_set's keys as text ("" at the default); 0 when k is not one of them. */
static int layer_arg_text(const on_op *op, const on_attrs *a, const char *k, char *out,
                          size_t len) {
    const on_attrs *d = &op->defaults;
    int one_d = op->spatial == 2;
    if (augment_arg_text(op, a, k, out, len)) return 1;
    if (!strcmp(k, "scale_factor")) {
        char h[16], w[16];
        if (a->scale_h == d->scale_h && a->scale_w == d->scale_w) return 1;
        shortest(h, sizeof h, a->scale_h);
        shortest(w, sizeof w, a->scale_w);
        if (one_d || a->scale_h == a->scale_w)
            snprintf(out, len, "%s", w);
        else
            snprintf(out, len, "(%s,%s)", h, w);
    } else if (!strcmp(k, "mode") && !strncmp(op->name, "zeropad", 7)) {
        if (a->mode != d->mode)
            snprintf(out, len, "%s", a->mode == ON_PADFILL_REFLECT ? "reflect" : "edge");
    } else if (!strcmp(k, "start")) {
        if (a->pad[0] != d->pad[0]) snprintf(out, len, "%d", a->pad[0]);
    } else if (!strcmp(k, "value")) {
        if (a->alpha != d->alpha) shortest(out, len, a->alpha);
    } else if (!strcmp(k, "mode")) {
        if (a->mode != d->mode)
            snprintf(out, len, "%s",
                     a->mode == ON_RESIZE_NEAREST ? "nearest"
                     : one_d                      ? "linear"
                                                  : "bilinear");
    } else if (!strcmp(k, "align_corners")) {
        if (a->align_corners != d->align_corners) snprintf(out, len, "%d", a->align_corners);
    } else if (!strcmp(k, "perm")) {
        if (memcmp(a->perm, d->perm, sizeof a->perm))
            snprintf(out, len, "(%d,%d,%d)", a->perm[0], a->perm[1], a->perm[2]);
    } else if (!strcmp(k, "shape")) {
        if (a->ndims == 1)
            snprintf(out, len, "(%d)", a->dims[0]);
        else if (a->ndims == 2)
            snprintf(out, len, "(%d,%d)", a->dims[0], a->dims[1]);
        else
            snprintf(out, len, "(%d,%d,%d)", a->dims[0], a->dims[1], a->dims[2]);
    } else if (!strcmp(k, "axis")) {
        if (a->axis != d->axis) snprintf(out, len, "%d", a->axis);
    } else if (!strcmp(k, "vocab")) {
        if (a->vocab != d->vocab) snprintf(out, len, "%d", a->vocab);
    } else {
        return 0;
    }
    return 1;
}

/* The value of argument k as text; "" when it equals the default. */
static void arg_text(const on_op *op, const on_attrs *a, const char *k, char *out, size_t len) {
    const on_attrs *d = &op->defaults;
    int one_d = op->spatial == 2;
    out[0] = 0;
    if (layer_arg_text(op, a, k, out, len)) return;
#define PAIR(fh, fw)                                                                               \
    do {                                                                                           \
        if (a->fh == d->fh && a->fw == d->fw) break;                                               \
        if (one_d || a->fh == a->fw)                                                               \
            snprintf(out, len, "%d", a->fw);                                                       \
        else                                                                                       \
            snprintf(out, len, "(%d,%d)", a->fh, a->fw);                                           \
    } while (0)
#define NUM(f)                                                                                     \
    do {                                                                                           \
        if (a->f != d->f) shortest(out, len, (double)a->f);                                        \
    } while (0)
    if (!strcmp(k, "filters") || !strcmp(k, "units"))
        NUM(units);
    else if (!strcmp(k, "kernel") || !strcmp(k, "size"))
        PAIR(kh, kw);
    else if (!strcmp(k, "stride"))
        PAIR(sh, sw);
    else if (!strcmp(k, "dilation"))
        PAIR(dh, dw);
    else if (!strcmp(k, "bias"))
        NUM(bias);
    else if (!strcmp(k, "ceil_mode"))
        NUM(ceil_mode);
    else if (!strcmp(k, "count_include_pad"))
        NUM(count_include_pad);
    else if (!strcmp(k, "groups")) {
        if ((a->groups > 1 ? a->groups : 1) != (d->groups > 1 ? d->groups : 1))
            snprintf(out, len, "%d", a->groups);
    } else if (!strcmp(k, "output_padding"))
        PAIR(opad[0], opad[1]);
    else if (!strcmp(k, "alpha") || !strcmp(k, "beta"))
        NUM(alpha);
    else if (!strcmp(k, "min_val"))
        NUM(lo);
    else if (!strcmp(k, "max_val"))
        NUM(hi);
    else if (!strcmp(k, "rate"))
        NUM(rate);
    else if (!strcmp(k, "eps"))
        NUM(eps);
    else if (!strcmp(k, "momentum"))
        NUM(momentum);
    else if (!strcmp(k, "axis"))
        NUM(axis);
    else if (!strcmp(k, "scale"))
        NUM(scale);
    else if (!strcmp(k, "offset"))
        NUM(offset);
    else if (!strcmp(k, "stddev"))
        NUM(stddev);
    else if (!strcmp(k, "seed")) {
        if (a->seed != d->seed) snprintf(out, len, "%llu", (unsigned long long)a->seed);
    } else if (!strcmp(k, "padding")) {
        if (a->pad_mode == ON_PAD_SAME)
            snprintf(out, len, "same");
        else if (a->pad_mode == ON_PAD_EXPLICIT) {
            if (a->pad[0] != a->pad[1] || a->pad[2] != a->pad[3])
                snprintf(out, len, "(%d,%d,%d,%d)", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
            else if (one_d || a->pad[0] == a->pad[2])
                snprintf(out, len, "%d", a->pad[2]);
            else
                snprintf(out, len, "(%d,%d)", a->pad[0], a->pad[2]);
        }
    }
#undef PAIR
#undef NUM
}

int on_args_format(const on_op *op, const on_attrs *a, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "%s", op->name);
    int positional = 1, any = 0;
    char name[32], val[64];
    for (int i = 0; on_args_positional(op, i, name, sizeof name) && n < len; i++) {
        arg_text(op, a, name, val, sizeof val);
        if (!*val) {
            positional = 0;
            continue;
        }
        if (positional)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", any ? "," : "(", val);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", any ? "," : "(", name, val);
        any = 1;
    }
    for (int i = 0; i < 7 && n < len; i++) { /* common_arg_set's keys, by name */
        if (i == 6 ? !a->frozen : !(i < 3 ? a->reg_l1 : a->reg_l2)[i % 3]) continue;
        if (i == 6)
            snprintf(val, sizeof val, "1");
        else
            shortest(val, sizeof val, (i < 3 ? a->reg_l1 : a->reg_l2)[i % 3]);
        n += (size_t)snprintf(buf + n, len - n, "%s%s=%s", any ? "," : "(",
                              i == 6 ? "frozen" : reg_keys[i], val);
        any = 1;
    }
    if (any && n < len) n += (size_t)snprintf(buf + n, len - n, ")");
    return n < len ? 0 : -1;
}
