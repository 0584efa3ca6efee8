/* onnx_read.c - the ONNX file as data: protobuf decoding made safe for untrusted input,
 * tensor values, attributes and names (see onnx_internal.h). */
#include "onnx_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 32 /* ModelProto > GraphProto > NodeProto > ...: real models use < 10 */

void ox_const_free(ox_const *c) {
    free(c->f);
    free(c->i);
    c->f = NULL;
    c->i = NULL;
}

/* ----- wire-format check before protobuf-c unpacks ----- */

static int varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
    *v = 0;
    for (int s = 0; s < 64; s += 7) {
        if (*i >= n) return -1;
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 127) << s;
        if (!(b & 128)) return 0;
    }
    return -1;
}

/* protobuf-c recurses once per nested message while unpacking, so a file of nested
 * subgraphs (If/Loop bodies inside attributes inside nodes ...) could exhaust the stack.
 * This walk follows the schema's message fields to MAX_NESTING levels and rejects deeper
 * files and malformed framing first. */
static int wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth) {
    if (depth > MAX_NESTING) return -2;
    size_t i = 0;
    while (i < n) {
        uint64_t key, v;
        if (varint(p, n, &i, &key)) return -1;
        switch (key & 7) {
        case 0:
            if (varint(p, n, &i, &v)) return -1;
            break;
        case 1:
            if (n - i < 8) return -1;
            i += 8;
            break;
        case 5:
            if (n - i < 4) return -1;
            i += 4;
            break;
        case 2: {
            if (varint(p, n, &i, &v) || v > n - i) return -1;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= 0xffffffffu
                    ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int r = wire_check(f->descriptor, p + i, (size_t)v, depth + 1);
                if (r) return r;
            }
            i += (size_t)v;
            break;
        }
        default: /* groups (3, 4) are not used by ONNX; 6 and 7 do not exist */
            return -1;
        }
    }
    return 0;
}

Onnx__ModelProto *ox_unpack(const void *buf, size_t len, const char *label, on_error *err) {
    int r = wire_check(&onnx__model_proto__descriptor, buf, len, 0);
    if (r == -2) {
        on_fail(err, "%s: messages nested more than %d deep: not a model ordnet can read", label,
                MAX_NESTING);
        return NULL;
    }
    Onnx__ModelProto *m = r ? NULL : onnx__model_proto__unpack(NULL, len, buf);
    if (!m) {
        on_fail(err, "%s: not a valid ONNX file (the protobuf data is malformed or truncated)",
                label);
        return NULL;
    }
    if (!m->graph) {
        onnx__model_proto__free_unpacked(m, NULL);
        on_fail(err, "%s: not an ONNX model (it has no graph)", label);
        return NULL;
    }
    return m;
}

/* ----- tensors ----- */

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static const char *dtype_name(int t) {
    static const char *const names[] = {"undefined",  "float32", "uint8",  "int8",   "uint16",
                                        "int16",      "int32",   "int64",  "string", "bool",
                                        "float16",    "float64", "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

int ox_tensor(const Onnx__TensorProto *t, ox_const *out, const char *what, on_error *err) {
    memset(out, 0, sizeof *out);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return on_fail(err,
                       "%s: its data is stored in an external file, which ordnet does not "
                       "read (save the model with all tensors inside the .onnx file)",
                       what);
    if (t->segment) return on_fail(err, "%s: segmented tensors are not supported", what);
    if (t->n_dims > OX_MAX_DIMS)
        return on_fail(err, "%s: %zu dimensions (at most %d supported)", what, t->n_dims,
                       OX_MAX_DIMS);
    size_t size = 1;
    for (size_t k = 0; k < t->n_dims; k++) {
        if (t->dims[k] < 0 || t->dims[k] > (int64_t)1 << 31)
            return on_fail(err, "%s: dimension %zu is %lld", what, k, (long long)t->dims[k]);
        if (t->dims[k] && size > ((size_t)1 << 32) / (size_t)t->dims[k])
            return on_fail(err, "%s: too many elements", what);
        size *= (size_t)t->dims[k];
        out->dims[k] = t->dims[k];
    }
    out->ndims = (int)t->n_dims;
    out->size = size;
    int dt = t->has_data_type ? t->data_type : 0;
    const uint8_t *raw = t->has_raw_data ? t->raw_data.data : NULL;
    size_t rawn = t->has_raw_data ? t->raw_data.len : 0;
    size_t item =
        dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
        : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE || dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64
            ? 8
            : 0;
    if (!item)
        return on_fail(err,
                       "%s: element type %s is not supported (float32, float64, int32 and "
                       "int64 are)",
                       what, dtype_name(dt));
    size_t have = t->has_raw_data                               ? rawn / item
                  : dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT  ? t->n_float_data
                  : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? t->n_double_data
                  : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32  ? t->n_int32_data
                                                                : t->n_int64_data;
    if (have != size || (t->has_raw_data && rawn != size * item))
        return on_fail(err, "%s: its shape holds %zu values, its data %zu", what, size,
                       t->has_raw_data ? rawn / item : have);
    int is_float =
        dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    if (is_float ? !(out->f = malloc(sizeof(float) * (size ? size : 1)))
                 : !(out->i = malloc(sizeof(int64_t) * (size ? size : 1))))
        return on_fail(err, "%s: out of memory", what);
    for (size_t j = 0; j < size; j++) {
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
            if (raw) {
                uint32_t u = le32(raw + 4 * j);
                memcpy(&out->f[j], &u, 4);
            } else
                out->f[j] = t->float_data[j];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double d;
            if (raw) {
                uint64_t u = le64(raw + 8 * j);
                memcpy(&d, &u, 8);
            } else
                d = t->double_data[j];
            out->f[j] = (float)d;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
            out->i[j] = raw ? (int32_t)le32(raw + 4 * j) : t->int32_data[j];
            break;
        default:
            out->i[j] = raw ? (int64_t)le64(raw + 8 * j) : t->int64_data[j];
            break;
        }
    }
    return 0;
}

/* ----- attributes, labels, names ----- */

const Onnx__AttributeProto *ox_attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && !strcmp(n->attribute[k]->name, name)) return n->attribute[k];
    return NULL;
}

void ox_node_label(const Onnx__NodeProto *n, int k, char *buf, size_t len) {
    const char *op = n->op_type ? n->op_type : "?";
    if (n->name && *n->name)
        snprintf(buf, len, "node '%.200s' (%.60s)", n->name, op);
    else
        snprintf(buf, len, "node #%d (%.60s)", k, op);
}

static int name_taken(const on_model *m, const char *s) {
    for (int i = 0; i < m->nn; i++)
        if (!strcmp(m->nodes[i].name, s)) return 1;
    return 0;
}

/* Is component c (length cn) the op type, or the op type and _DIGITS (PyTorch's "Relu_1")? */
static int is_op_component(const char *c, size_t cn, const char *op) {
    size_t on = strlen(op);
    if (cn < on || strncmp(c, op, on)) return 0;
    if (cn == on) return 1;
    if (c[on] != '_' || cn == on + 1) return 0;
    for (size_t k = on + 1; k < cn; k++)
        if (!isdigit((unsigned char)c[k])) return 0;
    return 1;
}

void ox_layer_name(const on_model *m, const char *onnx_name, const char *op_type, char *out,
                   size_t len) {
    char full[256], tmp[256];
    out[0] = 0;
    if (!onnx_name || !*onnx_name || len < 8) return;
    /* tf2onnx joins several TensorFlow names with ';': the first one is enough */
    size_t n = strcspn(onnx_name, ";");
    if (n >= sizeof full) n = sizeof full - 1;
    memcpy(full, onnx_name, n);
    full[n] = 0;
    /* split at '/': drop empty components, a component that the next one extends
     * ("layer1" before "layer1.0") and a last component that is just the op type */
    const char *comp[64];
    size_t clen[64];
    int nc = 0;
    for (char *p = full; *p && nc < 64;) {
        size_t l = strcspn(p, "/");
        if (l) comp[nc] = p, clen[nc++] = l;
        p += l;
        if (*p) p++;
    }
    int last = nc;
    if (nc > 1 && op_type && is_op_component(comp[nc - 1], clen[nc - 1], op_type)) last = nc - 1;
    size_t w = 0;
    for (int k = 0; k < last; k++) {
        if (k + 1 < last && clen[k + 1] > clen[k] && !strncmp(comp[k + 1], comp[k], clen[k]) &&
            comp[k + 1][clen[k]] == '.')
            continue;
        for (size_t j = 0; j < clen[k] && w + 2 < sizeof tmp; j++) {
            char c = comp[k][j];
            tmp[w++] = isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' ? c : '_';
        }
        if (k + 1 < last && w + 2 < sizeof tmp) tmp[w++] = '.';
    }
    tmp[w] = 0;
    if (!w) return;
    /* the compact form reads a name that parses as a number ("0", "inf") as a number */
    char *end;
    strtod(tmp, &end);
    const char *prefix =
        (!*end || isdigit((unsigned char)tmp[0]) || tmp[0] == '.' || tmp[0] == '-' || tmp[0] == '+')
            ? "n"
            : "";
    /* keep the end (the most specific part) within 31 characters: the compact form's limit */
    size_t max = len - 1 < 31 ? len - 1 : 31, pl = strlen(prefix);
    const char *s = tmp;
    if (w + pl > max) {
        s = tmp + (w + pl - max);
        prefix = isalpha((unsigned char)s[0]) || s[0] == '_' ? "" : "n";
        if (*prefix) s++;
    }
    snprintf(out, len, "%s%s", prefix, s);
    if (!name_taken(m, out) && strcmp(out, "input")) return;
    char base[32];
    snprintf(base, sizeof base, "%s", out);
    for (int k = 2;; k++) {
        char suf[16];
        int sl = snprintf(suf, sizeof suf, "_%d", k);
        size_t bl = strlen(base);
        if (bl + (size_t)sl > max) bl = max - (size_t)sl;
        snprintf(out, len, "%.*s%s", (int)bl, base, suf);
        if (!name_taken(m, out)) return;
    }
}
