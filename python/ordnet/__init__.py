"""ordnet for Python: which orders of a CNN's layers are the same function, and a small CPU
engine to train, run and optimize such networks.

    import ordnet
    ordnet.summary("model.py")                    # Keras code, the compact form, a checkpoint or ONNX
    ordnet.analyze("input(28,28,1) conv2d(32,3,same) bn relu maxpool flatten dense(10)")
    m = ordnet.load("model.onnx")                 # or a checkpoint (.ckpt)
    y = m.run(x)                                  # x: float32 (N, C, H, W) -> (N, classes)
    history = ordnet.train(m, "fashion-mnist", epochs=2)
    fast = ordnet.optimize(m)                     # fast.rewrites, fast.verified
    results = ordnet.study(epochs=1, seeds=2, limit=2000)

Shapes are channels first, as in PyTorch: per-sample (C, H, W) images, (C, L) signals, (F)
features. Every failure raises ordnet.Error with the library's message (file:line:col,
the layer or tensor name). Functions that return analyses give plain dicts and lists (the
library's JSON, parsed).
"""

import json
import os
import sys
import time

from . import _ordnet
from ._ordnet import Error

__all__ = ["Error", "Model", "model", "load", "summary", "analyze", "optimize", "train",
           "study", "load_data", "features", "set_threads", "Progress"]
__version__ = _ordnet.version()

_OPTS = {"sgd": 0, "adamw": 1}
_SCHEDULES = {"const": 0, "constant": 0, "step": 1, "cosine": 2, "onecycle": 3, "one-cycle": 3}


def features():
    """The optional parts this libordnet was built with: a subset of
    {"onnx", "sqlite", "png", "openblas"}."""
    return set(_ordnet.features().split())


def set_threads(n):
    """Threads for ordnet's loops and GEMMs (0: OpenMP's default, OMP_NUM_THREADS)."""
    _ordnet.set_threads(int(n))


class Model:
    """An ordnet model: its layers, weights and normalization. Make one with ordnet.model
    (from text) or ordnet.load (a file)."""

    def __init__(self, handle, info=None, trained=False):
        self._m = handle
        self.info = info or {}      # a checkpoint's epoch, classes and data
        self.trained = trained      # weights from a file or from train(), not a fresh init
        self.rewrites = []          # optimize(): what it changed
        self.verified = None        # optimize(verify=True): the measured difference
        self.history = []           # train(): one report per epoch

    input_shape = property(lambda self: self._m.input_shape, doc="per sample, channels first")
    output_shape = property(lambda self: self._m.output_shape, doc="per sample")
    notes = property(lambda self: self._m.notes, doc="what the readers converted or added")
    num_params = property(lambda self: self._m.num_params, doc="trainable floats")

    def __repr__(self):
        return "<ordnet.Model %s -> %s, %d parameters>" % (
            self.input_shape, self.output_shape, self.num_params)

    def summary(self):
        """The layers (name, type, output shape, parameters, FLOPs, memory) and totals."""
        return json.loads(self._m.summary_json())

    def analyze(self, block=None, infer=True, weights=None, measure=False):
        """Which adjacent layers commute, the class of orders equal to this one and its
        cheapest member; with block ("bn,relu,maxpool,dropout(0.2)") the classes of all its
        permutations. weights=None decides weight conditions from the weights when the
        model is trained."""
        if weights is None:
            weights = self.trained
        return json.loads(self._m.analyze_json(infer=bool(infer), weights=bool(weights),
                                               block=block, measure=bool(measure)))

    def run(self, x, batch=256):
        """Eval-mode forward of float32 x, (N, *input_shape) or one sample, in batches of up
        to `batch`; the checkpoint's input normalization is applied. Returns the outputs
        (N, *output_shape) as float32 (logits for classifiers). A float32 C-contiguous x is
        read in place."""
        return self._m.run(x, batch=int(batch))

    def predict(self, x, batch=256):
        """Class indices of run(x)'s rows."""
        return self.run(x, batch).reshape(len(x), -1).argmax(axis=1)

    def to_spec(self):
        """The compact one-line form of the model."""
        return self._m.to_spec()

    def tensors(self):
        """{name: float32 array} viewing the weights in place (PyTorch's layouts)."""
        return self._m.tensors()

    def save(self, path):
        """A checkpoint (safetensors), or ONNX when path ends in .onnx; atomic."""
        self._m.save(os.fspath(path), str(path).endswith(".onnx"))

    def evaluate(self, data="fashion-mnist", limit=0, batch=256):
        """Mean loss and accuracy on a data set name/directory (its test split) or (x, y)."""
        x, y = _data(data, False, limit)
        return self._m.evaluate(x, y, int(batch))


def model(text, input=None, classes=0, name="<string>", seed=42):
    """A model from Keras code or the compact form, freshly initialized (PyTorch's default
    init with `seed`). input: per-sample shape, channels first, when the text has none or
    to replace it; classes > 0 appends a classifier head when the text lacks one."""
    m = Model(_ordnet.from_text(text, name, _shape(input), int(classes)))
    m._m.init(seed)
    return m


def _is_checkpoint(head):
    return len(head) >= 9 and head[8:9] == b"{" and head[6:8] == b"\0\0"


def load(path, input=None, classes=0, seed=42):
    """A model from a file: a checkpoint (its weights, normalization and info), an ONNX file
    (by the .onnx name or its content), or a model definition (Keras code or the compact
    form; freshly initialized)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(9)
    if _is_checkpoint(head):
        handle, info = _ordnet.load_checkpoint(path)
        return Model(handle, info, trained=True)
    if path.endswith(".onnx") or head[:1] == b"\x08":
        return Model(_ordnet.load_onnx(path), trained=True)
    m = Model(_ordnet.from_file(path, _shape(input), int(classes)))
    m._m.init(seed)
    return m


def _model(x, input=None, classes=0):
    """A Model, a path to a model file, or model text."""
    if isinstance(x, Model):
        return x
    if isinstance(x, os.PathLike) or (isinstance(x, str) and "\n" not in x and os.path.isfile(x)):
        return load(x, input, classes)
    if isinstance(x, str):
        return model(x, input, classes)
    raise TypeError("expected an ordnet.Model, a path or model text, not %s" % type(x).__name__)


def _shape(s):
    return None if s is None else tuple(int(d) for d in s)


def summary(code_or_path, input=None, classes=0):
    """The Keras-like summary as a dict: {"layers": [...], "total_params", ...}."""
    return _model(code_or_path, input, classes).summary()


def analyze(code_or_path, block=None, infer=True, weights=None, measure=False, input=None,
            classes=0):
    """The order analysis as a dict: {"pairs": [...], "classes": [...], "cheapest", ...}.
    See Model.analyze."""
    return _model(code_or_path, input, classes).analyze(block, infer, weights, measure)


def optimize(model_or_path, verify=True, samples=64, output=None):
    """A new model rewritten for inference into its cheapest exactly-equal form (dropout
    removed, BatchNorm folded, pools moved first where exact, ...); .rewrites lists the
    rewrites ({"what", "exact"}); with verify, .verified holds the largest output difference
    over `samples` random inputs ({"max_abs", "max_rel", "bit_identical", "samples"}).
    output: also save it there (a checkpoint, or ONNX by the name)."""
    m = _model(model_or_path)
    handle, rewrites = m._m.optimize()
    o = Model(handle, dict(m.info), trained=m.trained)
    o.rewrites = rewrites
    if verify:
        o.verified = m._m.verify(o._m, int(samples))
    if output is not None:
        o.save(output)
    return o


def load_data(where="fashion-mnist", train=True, limit=0):
    """(x float32 (N, C, H, W) in [0, 1], y int32) of a data set: "fashion-mnist", an IDX
    directory, CIFAR-10 binary or CSV (as `ordnet train --data`)."""
    x, y, _ = _ordnet.load_data(os.fspath(where), bool(train), int(limit))
    return x, y


def _data(d, train, limit):
    if isinstance(d, (str, os.PathLike)):
        return load_data(d, train, limit)
    x, y = d
    return x, y


class Progress:
    """Progress lines for train() and study(): during an epoch one line rewritten in place
    (at most every `every` seconds; Jupyter and terminals honour the carriage return), then
    one line per epoch. Pass Progress(file=...) or your own callable as `progress`."""

    def __init__(self, every=1.0, file=None):
        self.every, self.file, self.last = every, file, 0.0

    def _out(self):
        return self.file or sys.stdout

    def __call__(self, r):
        if isinstance(r, str):  # a study line
            print(r, file=self._out(), flush=True)
            return False
        now = time.monotonic()
        if not r["done"] and now - self.last < self.every:
            return False
        self.last = now
        line = "epoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  %.0f img/s" % (
            r["epoch"], r["epochs"], r["batch"], r["batches"], r["loss"],
            100 * r["train_acc"], r["images_per_s"])
        if r["done"]:
            if r["test_acc"] >= 0:
                line += "  test loss %.4f  test acc %.2f%%" % (r["test_loss"], 100 * r["test_acc"])
            line += "  %.1fs" % r["seconds"]
        out = self._out()
        out.write("\r" + line + ("\n" if r["done"] else ""))
        out.flush()
        return False


def _train_cfg(epochs=None, batch=None, opt=None, schedule=None, lr=None, wd=None,
               momentum=None, nesterov=None, smoothing=None, clip=None, augment=None, seed=None):
    c = {"epochs": epochs, "batch": batch, "lr": lr, "wd": wd, "momentum": momentum,
         "smoothing": smoothing, "clip": clip, "seed": seed,
         "nesterov": None if nesterov is None else int(bool(nesterov)),
         "augment": None if augment is None else int(bool(augment))}
    if opt is not None:
        if opt not in _OPTS:
            raise ValueError("opt must be one of %s, not %r" % (sorted(_OPTS), opt))
        c["opt"] = _OPTS[opt]
    if schedule is not None:
        if schedule not in _SCHEDULES:
            raise ValueError("schedule must be one of %s, not %r" % (sorted(_SCHEDULES), schedule))
        c["schedule"] = _SCHEDULES[schedule]
    return {k: v for k, v in c.items() if v is not None}


def train(model, data="fashion-mnist", test=True, limit=0, test_limit=0, progress=True,
          **cfg):
    """Train model (a Model, in place; or a path/text, returned trained) on data: a data set
    name or directory, or (x, y) arrays. test: True (the data set's test split, when data is
    a name), None/False (none) or (x, y). cfg: epochs, batch, opt ("adamw", "sgd"),
    schedule ("onecycle", "cosine", "step", "const"), lr, wd, momentum, nesterov,
    smoothing, clip, augment, seed; unset ones keep the library's recipe (AdamW, one-cycle
    at 3e-3, 5 epochs). progress: True prints lines (Progress), False prints nothing, or a
    callable taking each report dict (return True to stop). Returns the trained model (the
    same object when a Model was given), with .history the per-epoch reports."""
    m = _model(model)
    x, y = _data(data, True, limit)
    if test is True:
        test = data if isinstance(data, (str, os.PathLike)) else None
    tx = ty = None
    if test not in (None, False):
        tx, ty = _data(test, False, test_limit)
    show = Progress() if progress is True else (progress or None)
    history = []

    def cb(r):
        if r["done"]:
            history.append(r)
        return bool(show(r)) if show else False

    m._m.train(x, y, tx, ty, _train_cfg(**cfg), cb)
    m.trained = True
    m.history = history
    return m


def study(model=None, block=None, orders=None, seeds=None, epochs=None, limit=None,
          test_limit=None, threads=None, data=None, out="study-out", progress=True,
          **train_cfg):
    """Run (or resume) the order study (docs/STUDY.md): train one member of every class of
    equal orders of `block` over `seeds`, then rank them. Unset arguments keep the CLI's
    defaults (the reference model, bn,relu,maxpool,dropout(0.2), 3 seeds, 3 epochs, 12000
    Fashion-MNIST images). progress: True prints the study's lines, or a callable taking
    each line. Runs go one at a time in this process; processes started on the same `out`
    (more Python processes, `ordnet study --jobs N`, mpirun) split the runs through the
    study's store. Returns results.json parsed, with "report" the path of report.md."""
    if isinstance(model, Model):
        model = model.to_spec()
    elif isinstance(model, os.PathLike):
        model = os.fspath(model)
    cfg = {"model": model, "block": block, "orders": orders, "seeds": seeds, "epochs": epochs,
           "limit": limit, "test_limit": test_limit, "threads": threads,
           "data": None if data is None else os.fspath(data), "out": os.fspath(out)}
    show = Progress() if progress is True else (progress or None)
    _ordnet.study(cfg, _train_cfg(**train_cfg), show)
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    if isinstance(results, dict):
        results["report"] = os.path.join(out, "report.md")
    return results
