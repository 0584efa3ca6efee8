/* _ordnet.c - the CPython extension over libordnet: a Model type holding an on_model, and
 * thin calls that return the library's JSON texts, NumPy arrays and errors. The friendly API
 * (ordnet.load, summary, analyze, train, ...) is python/ordnet/__init__.py over these.
 * Long calls (forward, training, the study) release the GIL; their progress callbacks take
 * it back. Every failing call raises ordnet.Error with the library's message. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include "ordnet_study.h" /* brings ordnet.h */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PyObject *OrdnetError; /* ordnet.Error */

static PyObject *fail(const on_error *err) {
    PyErr_SetString(OrdnetError, err->msg[0] ? err->msg : "ordnet: failed");
    return NULL;
}

/* --- the Model type ------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD on_model *m;
    int batch; /* compiled for batches up to this; 0: not compiled */
} ModelObject;

static PyTypeObject ModelType;

static PyObject *wrap(on_model *m) {
    ModelObject *o = PyObject_New(ModelObject, &ModelType);
    if (!o) {
        on_model_free(m);
        return NULL;
    }
    o->m = m;
    o->batch = 0;
    return (PyObject *)o;
}

static void model_dealloc(ModelObject *o) {
    on_model_free(o->m);
    PyObject_Free(o);
}

/* A malloc'd string from the library as a Python str (freed); NULL: out of memory. */
static PyObject *take_str(char *s) {
    if (!s) return PyErr_NoMemory();
    PyObject *r = PyUnicode_FromString(s);
    free(s);
    return r;
}

static PyObject *shape_tuple(on_shape s) {
    if (s.rank == 1) return Py_BuildValue("(i)", s.c);
    if (s.rank == 2) return Py_BuildValue("(ii)", s.c, s.w);
    return Py_BuildValue("(iii)", s.c, s.h, s.w);
}

static PyObject *model_summary(ModelObject *o, PyObject *Py_UNUSED(a)) {
    return take_str(on_model_summary(o->m, ON_FORMAT_JSON));
}

static PyObject *model_to_spec(ModelObject *o, PyObject *Py_UNUSED(a)) {
    return take_str(on_model_to_spec(o->m));
}

static PyObject *model_analyze(ModelObject *o, PyObject *args, PyObject *kw) {
    static char *kws[] = {"infer", "weights", "block", "measure", NULL};
    on_analyze_opts a = on_analyze_defaults();
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ppzp", kws, &a.infer, &a.weights, &a.block,
                                     &a.measure))
        return NULL;
    a.format = ON_FORMAT_JSON;
    on_error err = {{0}};
    PyThreadState *ts = PyEval_SaveThread();
    char *r = on_analyze(o->m, &a, &err);
    PyEval_RestoreThread(ts);
    if (!r) return fail(&err);
    return take_str(r);
}

/* Ensure o is compiled for batches of at least n (at most `cap` at once). */
static int ensure_batch(ModelObject *o, int n, on_error *err) {
    if (o->batch >= n) return 0;
    if (on_model_compile(o->m, n, err)) return -1;
    o->batch = n;
    return 0;
}

/* m.run(x): x float32 (N, *input shape) or one sample (*input shape); the output as a new
 * float32 array. x is read in place when it is already float32 and C-contiguous and the
 * model has no input normalization; otherwise one batch at a time is copied. */
static PyObject *model_run(ModelObject *o, PyObject *args, PyObject *kw) {
    static char *kws[] = {"x", "batch", NULL};
    PyObject *xo;
    int batch = 256;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i", kws, &xo, &batch)) return NULL;
    if (batch < 1) return PyErr_Format(PyExc_ValueError, "batch must be >= 1, not %d", batch);
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_FLOAT32,
                                                         NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    if (!x) return NULL;
    on_shape is = on_model_node_shape(o->m, 0), os = on_model_output_shape(o->m);
    int want[3] = {is.c, is.rank == 3 ? is.h : is.w, is.w}, nd = PyArray_NDIM(x);
    int one = nd == is.rank;
    int ok = nd == is.rank || nd == is.rank + 1;
    for (int i = 0; ok && i < is.rank; i++) ok = PyArray_DIM(x, nd - is.rank + i) == want[i];
    if (!ok) {
        char s[64], got[160] = "(";
        for (int i = 0; i < nd && strlen(got) < sizeof got - 24; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%ld", i ? "," : "",
                     (long)PyArray_DIM(x, i));
        strcat(got, ")");
        Py_DECREF(x);
        return PyErr_Format(OrdnetError,
                            "run: the model takes (N,%s (channels first) or one sample %s; got "
                            "an array of shape %s",
                            on_shape_str(is, s, sizeof s) + 1, s, got);
    }
    npy_intp n = one ? 1 : PyArray_DIM(x, 0);
    if (n > INT32_MAX) {
        Py_DECREF(x);
        return PyErr_Format(PyExc_ValueError, "run: too many samples");
    }
    npy_intp odims[4] = {n, os.c, os.rank == 3 ? os.h : os.w, os.w};
    PyArrayObject *y = (PyArrayObject *)PyArray_SimpleNew(os.rank + 1, odims, NPY_FLOAT32);
    if (!y) {
        Py_DECREF(x);
        return NULL;
    }
    size_t per_in = on_shape_size(is), per_out = on_shape_size(os);
    const float *mean, *sd;
    int norm = on_model_normalization(o->m, &mean, &sd);
    int b = n < batch ? (int)n : batch;
    on_error err = {{0}};
    float *buf = norm ? malloc(sizeof(float) * per_in * (size_t)b) : NULL;
    int rc = norm && !buf ? -2 : ensure_batch(o, b, &err);
    const float *xd = PyArray_DATA(x);
    float *yd = PyArray_DATA(y);
    PyThreadState *ts = PyEval_SaveThread();
    for (npy_intp i0 = 0; !rc && i0 < n; i0 += b) {
        int k = n - i0 < b ? (int)(n - i0) : b;
        const float *in = xd + (size_t)i0 * per_in;
        if (norm) { /* as on_evaluate and `ordnet run`: (x - mean) * (1/std) per channel */
            size_t plane = per_in / (size_t)is.c;
            memcpy(buf, in, sizeof(float) * per_in * (size_t)k);
            for (int s = 0; s < k; s++)
                for (int c = 0; c < is.c; c++) {
                    float mu = mean[c], inv = 1.0f / sd[c], *p = buf + s * per_in + c * plane;
                    for (size_t j = 0; j < plane; j++) p[j] = (p[j] - mu) * inv;
                }
            in = buf;
        }
        if (on_model_forward(o->m, in, k, ON_EVAL)) {
            snprintf(err.msg, sizeof err.msg, "run: forward failed on samples %ld..%ld", (long)i0,
                     (long)(i0 + k - 1));
            rc = -1;
        } else
            memcpy(yd + (size_t)i0 * per_out, on_model_output(o->m),
                   sizeof(float) * per_out * (size_t)k);
    }
    PyEval_RestoreThread(ts);
    free(buf);
    Py_DECREF(x);
    if (rc) {
        Py_DECREF(y);
        return rc == -2 ? PyErr_NoMemory() : fail(&err);
    }
    if (one) { /* one sample in, one out */
        PyObject *r = PySequence_GetItem((PyObject *)y, 0);
        Py_DECREF(y);
        return r;
    }
    return (PyObject *)y;
}

static PyObject *model_optimize(ModelObject *o, PyObject *Py_UNUSED(a)) {
    on_rewrite rw[64];
    int nrw = 0;
    on_error err = {{0}};
    on_model *r = on_optimize(o->m, rw, 64, &nrw, &err);
    if (!r) return fail(&err);
    PyObject *mo = wrap(r), *list = mo ? PyList_New(0) : NULL;
    for (int i = 0; list && i < nrw && i < 64; i++) {
        PyObject *d = Py_BuildValue("{s:s,s:O}", "what", rw[i].what, "exact",
                                    rw[i].exact ? Py_True : Py_False);
        if (!d || PyList_Append(list, d)) Py_CLEAR(list);
        Py_XDECREF(d);
    }
    if (!list) {
        Py_XDECREF(mo);
        return NULL;
    }
    return Py_BuildValue("(NN)", mo, list);
}

static PyObject *model_verify(ModelObject *o, PyObject *args) {
    ModelObject *other;
    int n = 64;
    if (!PyArg_ParseTuple(args, "O!|i", &ModelType, &other, &n)) return NULL;
    on_verify v;
    on_error err = {{0}};
    int rc;
    PyThreadState *ts = PyEval_SaveThread();
    rc = on_verify_models(o->m, other->m, NULL, n, &v, &err);
    PyEval_RestoreThread(ts);
    if (rc) return fail(&err);
    o->batch = other->batch = 0; /* the call recompiled both */
    return Py_BuildValue("{s:d,s:d,s:O,s:i}", "max_abs", v.max_abs, "max_rel", v.max_rel,
                         "bit_identical", v.bit_identical ? Py_True : Py_False, "samples",
                         v.samples);
}

static PyObject *model_save(ModelObject *o, PyObject *args) {
    const char *path;
    int onnx = 0;
    if (!PyArg_ParseTuple(args, "s|p", &path, &onnx)) return NULL;
    on_error err = {{0}};
    if (onnx ? on_onnx_save(o->m, path, &err) : on_checkpoint_save(o->m, path, NULL, &err))
        return fail(&err);
    Py_RETURN_NONE;
}

static PyObject *model_init(ModelObject *o, PyObject *args) {
    unsigned long long seed = 42;
    if (!PyArg_ParseTuple(args, "|K", &seed)) return NULL;
    on_model_init(o->m, seed);
    Py_RETURN_NONE;
}

/* --- training ------------------------------------------------------------------------- */

/* A data set over two NumPy arrays (kept alive by the caller): x float32 (N, *shape) and
 * y int32 (N,). */
static int as_dataset(PyObject *xo, PyObject *yo, on_shape shape, PyArrayObject **xa,
                      PyArrayObject **ya, on_dataset *d) {
    *xa = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_FLOAT32,
                                            NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    *ya = *xa ? (PyArrayObject *)PyArray_FROM_OTF(yo, NPY_INT32,
                                                  NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST)
              : NULL;
    if (!*ya) return -1;
    npy_intp n = PyArray_NDIM(*xa) ? PyArray_DIM(*xa, 0) : 0;
    if (PyArray_NDIM(*ya) != 1 || PyArray_DIM(*ya, 0) != n || n < 1 ||
        (size_t)PyArray_SIZE(*xa) != (size_t)n * on_shape_size(shape)) {
        char s[64];
        PyErr_Format(OrdnetError,
                     "train: x must hold N samples of the model's input %s (channels first) and "
                     "y N labels; got %ld values and %ld labels",
                     on_shape_str(shape, s, sizeof s), (long)PyArray_SIZE(*xa),
                     (long)PyArray_SIZE(*ya));
        return -1;
    }
    const int *y = PyArray_DATA(*ya);
    int classes = 0;
    for (npy_intp i = 0; i < n; i++) {
        if (y[i] < 0) {
            PyErr_Format(OrdnetError, "train: label %d of sample %ld is negative", y[i], (long)i);
            return -1;
        }
        if (y[i] >= classes) classes = y[i] + 1;
    }
    *d = (on_dataset){
        .n = (int)n, .classes = classes, .shape = shape, .x = PyArray_DATA(*xa), .y = (int *)y};
    return 0;
}

typedef struct {
    PyObject *cb;     /* called with a dict per batch / epoch; truthy return stops */
    PyObject *raised; /* set when cb raised: re-raised after the call */
    pid_t pid;        /* the process that owns the interpreter (the study forks workers) */
} callback;

static int train_cb(void *user, const on_epoch_report *r) {
    callback *c = user;
    if (!c->cb || c->raised) return c->raised != NULL;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = 0;
    PyObject *d = Py_BuildValue(
        "{s:i,s:i,s:i,s:i,s:d,s:d,s:d,s:d,s:d,s:d,s:d,s:O}", "epoch", r->epoch, "epochs", r->epochs,
        "batch", r->batch, "batches", r->batches, "loss", r->loss, "train_acc", r->train_acc,
        "test_loss", r->test_loss, "test_acc", r->test_acc, "seconds", r->seconds, "images_per_s",
        r->images_per_s, "lr", r->lr, "done", r->done ? Py_True : Py_False);
    PyObject *res = d ? PyObject_CallOneArg(c->cb, d) : NULL;
    if (res && PyErr_CheckSignals() == 0) {
        stop = PyObject_IsTrue(res) == 1;
    } else {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        if (tb) PyException_SetTraceback(v, tb);
        c->raised = v ? v : Py_NewRef(PyExc_KeyboardInterrupt);
        Py_XDECREF(t);
        Py_XDECREF(tb);
        stop = 1;
    }
    Py_XDECREF(res);
    Py_XDECREF(d);
    PyGILState_Release(g);
    return stop;
}

static PyObject *raise_from(callback *c, on_error *err) {
    if (c->raised) {
        PyErr_SetObject((PyObject *)Py_TYPE(c->raised), c->raised);
        Py_DECREF(c->raised);
        return NULL;
    }
    return fail(err);
}

/* The on_train_cfg fields a dict may set; the rest keep on_train_defaults(). */
static int read_cfg(PyObject *cfg, on_train_cfg *t) {
    struct {
        const char *key;
        char type; /* i int, f float, u uint64 */
        void *at;
    } f[] = {{"epochs", 'i', &t->epochs},
             {"batch", 'i', &t->batch},
             {"opt", 'i', &t->opt},
             {"schedule", 'i', &t->schedule},
             {"lr", 'f', &t->lr},
             {"wd", 'f', &t->wd},
             {"momentum", 'f', &t->momentum},
             {"nesterov", 'i', &t->nesterov},
             {"smoothing", 'f', &t->smoothing},
             {"clip", 'f', &t->clip},
             {"augment", 'i', &t->augment},
             {"seed", 'u', &t->seed}};
    for (size_t i = 0; cfg && i < sizeof f / sizeof *f; i++) {
        PyObject *v = PyDict_GetItemString(cfg, f[i].key); /* borrowed */
        if (!v || v == Py_None) continue;
        if (f[i].type == 'i') {
            long x = PyLong_AsLong(v);
            if (x == -1 && PyErr_Occurred()) return -1;
            *(int *)f[i].at = (int)x;
        } else if (f[i].type == 'f') {
            double x = PyFloat_AsDouble(v);
            if (x == -1 && PyErr_Occurred()) return -1;
            *(float *)f[i].at = (float)x;
        } else {
            unsigned long long x = PyLong_AsUnsignedLongLong(v);
            if (x == (unsigned long long)-1 && PyErr_Occurred()) return -1;
            *(uint64_t *)f[i].at = x;
        }
    }
    return 0;
}

/* m.train(x, y, test_x, test_y, cfg, callback) */
static PyObject *model_train(ModelObject *o, PyObject *args) {
    PyObject *x, *y, *tx, *ty, *cfg, *cb;
    if (!PyArg_ParseTuple(args, "OOOOO!O", &x, &y, &tx, &ty, &PyDict_Type, &cfg, &cb)) return NULL;
    on_train_cfg t = on_train_defaults();
    if (read_cfg(cfg, &t)) return NULL;
    on_shape is = on_model_node_shape(o->m, 0);
    PyArrayObject *xa = NULL, *ya = NULL, *txa = NULL, *tya = NULL;
    on_dataset tr, te;
    PyObject *ret = NULL;
    if (as_dataset(x, y, is, &xa, &ya, &tr)) goto done;
    int has_test = tx != Py_None;
    if (has_test && as_dataset(tx, ty, is, &txa, &tya, &te)) goto done;
    if (has_test && te.classes > tr.classes) tr.classes = te.classes;
    if (has_test) te.classes = tr.classes;
    callback c = {cb == Py_None ? NULL : cb, NULL, getpid()};
    on_error err = {{0}};
    int rc;
    PyThreadState *ts = PyEval_SaveThread();
    rc = on_train(o->m, &tr, has_test ? &te : NULL, &t, train_cb, &c, &err);
    PyEval_RestoreThread(ts);
    o->batch = 0; /* training compiles for its own batch */
    if (rc || c.raised)
        ret = raise_from(&c, &err);
    else
        ret = Py_NewRef(Py_None);
done:
    Py_XDECREF(xa), Py_XDECREF(ya), Py_XDECREF(txa), Py_XDECREF(tya);
    return ret;
}

static PyObject *model_evaluate(ModelObject *o, PyObject *args) {
    PyObject *x, *y;
    int batch = 256;
    if (!PyArg_ParseTuple(args, "OO|i", &x, &y, &batch)) return NULL;
    PyArrayObject *xa = NULL, *ya = NULL;
    on_dataset d;
    PyObject *ret = NULL;
    if (!as_dataset(x, y, on_model_node_shape(o->m, 0), &xa, &ya, &d)) {
        on_shape os = on_model_output_shape(o->m);
        if (os.rank == 1 && os.c > d.classes) d.classes = os.c;
        double loss, acc;
        on_error err = {{0}};
        int rc;
        PyThreadState *ts = PyEval_SaveThread();
        rc = on_evaluate(o->m, &d, batch, &loss, &acc, NULL, &err);
        PyEval_RestoreThread(ts);
        o->batch = 0;
        ret = rc ? fail(&err) : Py_BuildValue("{s:d,s:d}", "loss", loss, "acc", acc);
    }
    Py_XDECREF(xa), Py_XDECREF(ya);
    return ret;
}

static PyObject *model_get_input(ModelObject *o, void *Py_UNUSED(c)) {
    return shape_tuple(on_model_node_shape(o->m, 0));
}
static PyObject *model_get_output(ModelObject *o, void *Py_UNUSED(c)) {
    return shape_tuple(on_model_output_shape(o->m));
}
static PyObject *model_get_notes(ModelObject *o, void *Py_UNUSED(c)) {
    return PyUnicode_FromString(on_model_notes(o->m));
}
static PyObject *model_get_params(ModelObject *o, void *Py_UNUSED(c)) {
    return PyLong_FromSize_t(on_model_num_params(o->m));
}

/* m.tensors(): {name: float32 array} viewing the weights in place (PyTorch's layout); the
 * arrays keep the model alive. */
static PyObject *model_tensors(ModelObject *o, PyObject *Py_UNUSED(a)) {
    PyObject *d = PyDict_New();
    for (int i = 0; d && i < on_model_num_tensors(o->m); i++) {
        int dims[4], nd = on_model_tensor_dims(o->m, i, dims);
        npy_intp nd_[4];
        for (int k = 0; k < nd; k++) nd_[k] = dims[k];
        PyObject *a =
            PyArray_SimpleNewFromData(nd, nd_, NPY_FLOAT32, on_model_tensor_data(o->m, i));
        if (!a || PyArray_SetBaseObject((PyArrayObject *)a, Py_NewRef((PyObject *)o)) ||
            PyDict_SetItemString(d, on_model_tensor_name(o->m, i), a))
            Py_CLEAR(d);
        Py_XDECREF(a);
    }
    return d;
}

static PyMethodDef model_methods[] = {
    {"summary_json", (PyCFunction)model_summary, METH_NOARGS, "on_model_summary(ON_FORMAT_JSON)"},
    {"to_spec", (PyCFunction)model_to_spec, METH_NOARGS, "the compact one-line form"},
    {"analyze_json", (PyCFunction)(void (*)(void))model_analyze, METH_VARARGS | METH_KEYWORDS,
     "on_analyze(format = ON_FORMAT_JSON)"},
    {"run", (PyCFunction)(void (*)(void))model_run, METH_VARARGS | METH_KEYWORDS,
     "run(x, batch=256): eval-mode forward of float32 (N, *input) -> (N, *output)"},
    {"optimize", (PyCFunction)model_optimize, METH_NOARGS, "(optimized model, rewrites)"},
    {"verify", (PyCFunction)model_verify, METH_VARARGS, "verify(other, n): on_verify_models"},
    {"save", (PyCFunction)model_save, METH_VARARGS, "save(path, onnx=False)"},
    {"init", (PyCFunction)model_init, METH_VARARGS, "init(seed=42): default initialization"},
    {"train", (PyCFunction)model_train, METH_VARARGS, "train(x, y, tx, ty, cfg, callback)"},
    {"evaluate", (PyCFunction)model_evaluate, METH_VARARGS, "evaluate(x, y, batch)"},
    {"tensors", (PyCFunction)model_tensors, METH_NOARGS, "{name: array} over the weights"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef model_getset[] = {
    {"input_shape", (getter)model_get_input, NULL, "per-sample input shape, channels first", NULL},
    {"output_shape", (getter)model_get_output, NULL, "per-sample output shape", NULL},
    {"notes", (getter)model_get_notes, NULL, "what the readers converted or added", NULL},
    {"num_params", (getter)model_get_params, NULL, "trainable floats", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ordnet._ordnet.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_dealloc = (destructor)model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "an ordnet model (on_model)",
    .tp_methods = model_methods,
    .tp_getset = model_getset,
};

/* --- module functions: making models, data, the study ---------------------------------- */

/* None or a tuple of channels-first dims -> a shape */
static int parse_shape(PyObject *o, on_shape *s, int *given) {
    *given = 0;
    if (o == Py_None) return 0;
    int d[3] = {1, 1, 1};
    Py_ssize_t n = PySequence_Check(o) ? PySequence_Size(o) : -1;
    if (n < 1 || n > 3) {
        PyErr_SetString(PyExc_ValueError, "input must be a tuple of 1 to 3 dimensions (C[,H],W)");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PySequence_GetItem(o, i);
        d[i] = v ? (int)PyLong_AsLong(v) : -1;
        Py_XDECREF(v);
        if (PyErr_Occurred()) return -1;
    }
    *s = n == 1   ? (on_shape){1, d[0], 1, 1}
         : n == 2 ? (on_shape){2, d[0], 1, d[1]}
                  : (on_shape){3, d[0], d[1], d[2]};
    *given = 1;
    return 0;
}

static PyObject *from_text(PyObject *self, PyObject *args) {
    (void)self;
    const char *text, *name;
    PyObject *in;
    int classes, given;
    on_shape s;
    if (!PyArg_ParseTuple(args, "ssOi", &text, &name, &in, &classes) || parse_shape(in, &s, &given))
        return NULL;
    on_error err = {{0}};
    on_model *m = on_model_from_text(text, name, given ? &s : NULL, classes, &err);
    return m ? wrap(m) : fail(&err);
}

static PyObject *from_file(PyObject *self, PyObject *args) {
    (void)self;
    const char *path;
    PyObject *in;
    int classes, given;
    on_shape s;
    if (!PyArg_ParseTuple(args, "sOi", &path, &in, &classes) || parse_shape(in, &s, &given))
        return NULL;
    on_error err = {{0}};
    on_model *m = on_model_from_file(path, given ? &s : NULL, classes, &err);
    return m ? wrap(m) : fail(&err);
}

static PyObject *load_checkpoint(PyObject *self, PyObject *args) {
    (void)self;
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    on_error err = {{0}};
    on_checkpoint_info info;
    on_model *m = on_checkpoint_load(path, &info, &err);
    if (!m) return fail(&err);
    return Py_BuildValue("(N{s:i,s:i,s:s})", wrap(m), "epoch", info.epoch, "classes", info.classes,
                         "data", info.data);
}

static PyObject *load_onnx(PyObject *self, PyObject *args) {
    (void)self;
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    on_error err = {{0}};
    on_model *m = on_onnx_load(path, &err);
    return m ? wrap(m) : fail(&err);
}

static void free_capsule(PyObject *cap) {
    free(PyCapsule_GetPointer(cap, NULL));
}

/* An array owning malloc'd memory (freed with the array). */
static PyObject *owned_array(void *data, int nd, npy_intp *dims, int type) {
    PyObject *a = PyArray_SimpleNewFromData(nd, dims, type, data);
    PyObject *cap = a ? PyCapsule_New(data, NULL, free_capsule) : NULL;
    if (!cap || PyArray_SetBaseObject((PyArrayObject *)a, cap)) {
        if (!cap) free(data);
        Py_XDECREF(a);
        return NULL;
    }
    return a;
}

/* load_data(where, train, limit) -> (x float32 (N, C, H, W or fewer), y int32, classes) */
static PyObject *load_data(PyObject *self, PyObject *args) {
    (void)self;
    const char *where;
    int train, limit;
    if (!PyArg_ParseTuple(args, "spi", &where, &train, &limit)) return NULL;
    on_dataset d;
    on_error err = {{0}};
    int rc;
    PyThreadState *ts = PyEval_SaveThread();
    rc = on_data_load(where, train, limit, &d, &err);
    PyEval_RestoreThread(ts);
    if (rc) return fail(&err);
    on_shape s = d.shape;
    npy_intp xd[4] = {d.n, s.c, s.rank == 3 ? s.h : s.w, s.w}, yd[1] = {d.n};
    PyObject *x = owned_array(d.x, s.rank + 1, xd, NPY_FLOAT32);
    PyObject *y = x ? owned_array(d.y, 1, yd, NPY_INT32) : NULL;
    if (!x) free(d.y);
    if (!y) {
        Py_XDECREF(x);
        return NULL;
    }
    return Py_BuildValue("(NNi)", x, y, d.classes);
}

static void study_log(void *user, const char *line) {
    callback *c = user;
    if (getpid() != c->pid) { /* a forked child of the caller: no interpreter to call here */
        fprintf(stderr, "%s\n", line);
        return;
    }
    if (!c->cb || c->raised) return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction(c->cb, "s", line);
    if (!r) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyErr_NormalizeException(&t, &v, &tb);
        c->raised = v;
        Py_XDECREF(t), Py_XDECREF(tb);
    }
    Py_XDECREF(r);
    PyGILState_Release(g);
}

/* study(cfg, train_cfg, log): cfg keys are on_study_cfg's (model, block, orders, seeds,
 * epochs, limit, test_limit, jobs, threads, data, out); returns None (the report is in out). */
static PyObject *study(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *cfg, *tcfg, *log;
    if (!PyArg_ParseTuple(args, "O!O!O", &PyDict_Type, &cfg, &PyDict_Type, &tcfg, &log))
        return NULL;
    on_study_cfg c = on_study_defaults();
    if (read_cfg(tcfg, &c.train)) return NULL;
    const char **strs[] = {&c.model, &c.block, &c.orders, &c.data, &c.out};
    const char *skeys[] = {"model", "block", "orders", "data", "out"};
    for (int i = 0; i < 5; i++) {
        PyObject *v = PyDict_GetItemString(cfg, skeys[i]);
        if (v && v != Py_None && !(*strs[i] = PyUnicode_AsUTF8(v))) return NULL;
    }
    int *ints[] = {&c.seeds, &c.epochs, &c.limit, &c.test_limit, &c.jobs, &c.threads};
    const char *ikeys[] = {"seeds", "epochs", "limit", "test_limit", "jobs", "threads"};
    for (int i = 0; i < 6; i++) {
        PyObject *v = PyDict_GetItemString(cfg, ikeys[i]);
        if (!v || v == Py_None) continue;
        long x = PyLong_AsLong(v);
        if (x == -1 && PyErr_Occurred()) return NULL;
        *ints[i] = (int)x;
    }
    callback cb = {log == Py_None ? NULL : log, NULL, getpid()};
    c.log = study_log;
    c.user = &cb;
    on_error err = {{0}};
    int rc;
    PyThreadState *ts = PyEval_SaveThread();
    rc = on_study_run(&c, &err);
    PyEval_RestoreThread(ts);
    if (rc || cb.raised) return raise_from(&cb, &err);
    Py_RETURN_NONE;
}

static PyObject *version(PyObject *self, PyObject *Py_UNUSED(a)) {
    (void)self;
    return PyUnicode_FromString(on_version());
}

static PyObject *features(PyObject *self, PyObject *Py_UNUSED(a)) {
    (void)self;
    return PyUnicode_FromString(on_build_features());
}

static PyObject *set_threads(PyObject *self, PyObject *args) {
    (void)self;
    int n;
    if (!PyArg_ParseTuple(args, "i", &n)) return NULL;
    on_set_threads(n);
    Py_RETURN_NONE;
}

static PyMethodDef functions[] = {
    {"from_text", from_text, METH_VARARGS, "from_text(text, name, input, classes)"},
    {"from_file", from_file, METH_VARARGS, "from_file(path, input, classes)"},
    {"load_checkpoint", load_checkpoint, METH_VARARGS, "load_checkpoint(path) -> (model, info)"},
    {"load_onnx", load_onnx, METH_VARARGS, "load_onnx(path)"},
    {"load_data", load_data, METH_VARARGS, "load_data(where, train, limit) -> (x, y, classes)"},
    {"study", study, METH_VARARGS, "study(cfg, train_cfg, log)"},
    {"version", version, METH_NOARGS, "the library's version"},
    {"features", features, METH_NOARGS, "the library's optional parts"},
    {"set_threads", set_threads, METH_VARARGS, "threads for ordnet's loops (0: OpenMP's default)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,
                                    "_ordnet",
                                    "libordnet's calls (use the ordnet package)",
                                    -1,
                                    functions,
                                    NULL,
                                    NULL,
                                    NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__ordnet(void) {
    import_array();
    if (PyType_Ready(&ModelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    OrdnetError = PyErr_NewExceptionWithDoc(
        "ordnet.Error", "an ordnet call failed; the message is the library's", NULL, NULL);
    if (!OrdnetError || PyModule_AddObject(m, "Error", Py_NewRef(OrdnetError)) ||
        PyModule_AddObject(m, "Model", Py_NewRef((PyObject *)&ModelType))) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
