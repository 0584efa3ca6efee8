#!/usr/bin/python3
"""gen.py - golden reference cases for ordnet, computed with PyTorch.

Run with Debian's python3 (it has python3-torch):   /usr/bin/python3 tests/golden/gen.py

Writes tests/golden/data/NAME.safetensors (the safetensors layout written by hand with
struct and json). Each model case holds

  metadata  spec   the model in ordnet's compact form, e.g. "input(7,9,3) conv2d(4,3,same)".
                   One extension, read by tests/test_golden.c and not by ordnet's parser:
                   the token add(LAYER) appends a residual Add of the last layer and the
                   layer named LAYER ("input" is the model input).
            mode   "train" or "eval"
  tensors   x, y, dy, dx                 input, output, output gradient, input gradient
            <layer>.<param>              every parameter / state tensor, ordnet's names and
                                         PyTorch's shapes (values before the forward pass)
            grad.<layer>.<param>         gradient of every trainable tensor
            after.<layer>.running_mean   train-mode BatchNorm: running statistics after
            after.<layer>.running_var    the forward pass

and each loss case (loss_*.safetensors): metadata smoothing; tensors logits (N,K),
labels (I64, N), loss (shape [1]), dlogits (N,K) for on_softmax_xent; with metadata binary
("logits" or "probs") logits are (N,1) for on_binary_xent against torch's
BCEWithLogitsLoss / BCELoss.

The reference is an independent reading of the compact form (a small parser below that
follows src/reader/compact.c and args.c) and of each op's documented semantics, computed
in float64 from the float32 values that are stored, then rounded to float32.

A gradient that is analytically zero (the bias of a layer feeding a train-mode BatchNorm,
directly or through max pooling: the batch mean removes any per-channel constant) has
only rounding noise in both computations, so a relative measure is meaningless for it.
Such tensors are listed in the metadata `zero_grads` (comma-separated, e.g.
"grad.conv2d.bias"); the test measures them against the largest gradient of the same
layer instead of against themselves.

Cases that sit on a discontinuity (a ReLU input or a max-pool tie within float32
rounding of the switch point) would test rounding, not the engine: every case is also
run in float32 and, when the float32 and float64 results disagree by more than
TIE_TOL (relative to the tensor's largest value), it is drawn again with the next seed.
"""

import json
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
TIE_TOL = 1e-5  # the test's own bound: a draw PyTorch's float32 misses is not a fair test

# ---------------------------------------------------------------------------------------
# safetensors writer


def write_safetensors(path, tensors, meta):
    """tensors: list of (name, torch tensor float32 or int64)."""
    header = {"__metadata__": dict(meta)}
    blobs, off = [], 0
    for name, t in tensors:
        t = t.detach().contiguous()
        if t.dtype == torch.float32:
            dtype, fmt = "F32", "<%df" % t.numel()
        elif t.dtype == torch.int64:
            dtype, fmt = "I64", "<%dq" % t.numel()
        else:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        data = struct.pack(fmt, *t.reshape(-1).tolist())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------
# the compact form, as src/reader/compact.c reads it

ALIASES = {"bn": "batchnorm", "batch_norm": "batchnorm", "lrelu": "leaky_relu", "swish": "silu",
           "linear": "identity", "gap": "global_avgpool", "fc": "dense", "linear_layer": "dense",
           "hardsigmoid": "hard_sigmoid", "hardswish": "hard_swish", "exp": "exponential"}
BY_RANK = {"conv", "maxpool", "minpool", "avgpool", "spatial_dropout"}
CONV_ARGS = "filters kernel stride padding dilation bias groups"
CONVT_ARGS = "filters kernel stride padding output_padding dilation bias groups"
POOL_ARGS = "size stride padding ceil_mode count_include_pad"
ARGS = {"conv1d": CONV_ARGS, "conv2d": CONV_ARGS, "conv1d_transpose": CONVT_ARGS,
        "conv2d_transpose": CONVT_ARGS, "dense": "units bias", "batchnorm": "eps momentum",
        "dropout": "rate seed", "leaky_relu": "alpha", "elu": "alpha", "celu": "alpha",
        "softplus": "beta", "hardtanh": "min_val max_val",
        "hard_sigmoid": "alpha offset", "rescaling": "scale offset", "spatial_dropout1d": "rate seed",
        "spatial_dropout2d": "rate seed", "gaussian_noise": "stddev seed", "gaussian_dropout": "rate seed"}
for _k in ("maxpool1d", "maxpool2d", "minpool1d", "minpool2d", "avgpool1d", "avgpool2d"):
    ARGS[_k] = POOL_ARGS
ARGS.update({"upsample1d": "scale_factor mode align_corners", "upsample2d": "scale_factor mode align_corners",
             "zeropad1d": "padding mode value", "zeropad2d": "padding mode value", "crop1d": "padding", "crop2d": "padding",
             "reshape": "shape", "permute": "perm", "layernorm": "axis eps", "embedding": "vocab units",
             "channel_shuffle": "groups", "channel_slice": "start units"})
ARGS["input_part"] = "shape start"  # one Input of a model with several (ops/input_part.c)
# Keras's preprocessing layers (normalization.c, random_*.c)
AUG_ARGS = "fill_mode interpolation seed fill_value"
ARGS.update({"normalization": "invert", "random_flip": "mode seed",
             "random_translation": "height_factor width_factor " + AUG_ARGS,
             "random_rotation": "factor " + AUG_ARGS, "random_zoom": "height_factor width_factor " + AUG_ARGS,
             "random_contrast": "factor seed value_range"})
RANDOM_AUGMENT = ("random_flip", "random_translation", "random_rotation", "random_zoom", "random_contrast")
MOVERS = ("zeropad1d", "zeropad2d", "crop1d", "crop2d")
SYNONYMS = [("kernel_size", "kernel"), ("pool_size", "size"), ("kernel", "size"), ("strides", "stride"),
            ("dilation_rate", "dilation"), ("use_bias", "bias"), ("epsilon", "eps"), ("p", "rate"),
            ("negative_slope", "alpha"), ("slope", "alpha"), ("ceil", "ceil_mode"),
            ("max_value", "max_val"), ("units", "filters"), ("filters", "units"), ("group", "groups"),
            ("size", "scale_factor"), ("interpolation", "mode"), ("cropping", "padding"),
            ("target_shape", "shape"), ("input_dim", "vocab"), ("output_dim", "units")]
DEFAULTS = {
    "conv2d": dict(filters=0, kernel=(3, 3), stride=(1, 1), padding="valid", dilation=(1, 1), bias=1, groups=1),
    "conv1d": dict(filters=0, kernel=(1, 3), stride=(1, 1), padding="valid", dilation=(1, 1), bias=1, groups=1),
    "conv2d_transpose": dict(filters=0, kernel=(3, 3), stride=(1, 1), padding="valid", output_padding=(0, 0),
                             dilation=(1, 1), bias=1, groups=1),
    "conv1d_transpose": dict(filters=0, kernel=(1, 3), stride=(1, 1), padding="valid", output_padding=(0, 0),
                             dilation=(1, 1), bias=1, groups=1),
    "dense": dict(units=0, bias=1),
    "batchnorm": dict(eps=1e-5, momentum=0.1),
    "dropout": dict(rate=0.5),
    "leaky_relu": dict(alpha=0.01), "elu": dict(alpha=1.0), "celu": dict(alpha=1.0),
    "softplus": dict(beta=1.0), "hardtanh": dict(min_val=-1.0, max_val=1.0),
    "hard_sigmoid": dict(alpha=None, offset=None),  # None: PyTorch's F.hardsigmoid
    "rescaling": dict(scale=1.0, offset=0.0),
    "spatial_dropout1d": dict(rate=0.5), "spatial_dropout2d": dict(rate=0.5),
    "gaussian_noise": dict(stddev=0.1), "gaussian_dropout": dict(rate=0.5),
    "upsample2d": dict(scale_factor=(2.0, 2.0), mode="nearest", align_corners=0),
    "upsample1d": dict(scale_factor=(1.0, 2.0), mode="nearest", align_corners=0),
    "zeropad2d": dict(padding=(1, 1, 1, 1), mode="constant", value=0.0),
    "zeropad1d": dict(padding=(0, 0, 1, 1), mode="constant", value=0.0),
    "crop2d": dict(padding=(0, 0, 0, 0)), "crop1d": dict(padding=(0, 0, 0, 0)),
    "reshape": dict(shape=(-1,)), "permute": dict(perm=(0, 1, 2)),
    "layernorm": dict(axis=-1, eps=1e-5), "embedding": dict(vocab=0, units=0),
    "normalization": dict(invert=0),
    "channel_shuffle": dict(groups=1), "channel_slice": dict(start=0, units=1),
    "input_part": dict(shape=(-1.0,), start=0),
}
for _k in ("maxpool", "minpool", "avgpool"):
    DEFAULTS[_k + "2d"] = dict(size=(2, 2), stride=None, padding="valid", ceil_mode=0, count_include_pad=1)
    DEFAULTS[_k + "1d"] = dict(size=(1, 2), stride=None, padding="valid", ceil_mode=0, count_include_pad=1)


def split_tokens(spec):
    toks, i = [], 0
    while i < len(spec):
        if spec[i].isspace() or spec[i] == "|":
            i += 1
            continue
        j, depth = i, 0
        while j < len(spec) and (depth or not spec[j].isspace()):
            depth += spec[j] == "("
            depth -= spec[j] == ")"
            j += 1
        toks.append(spec[i:j])
        i = j
    return toks


def split_args(s):
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_value(v):
    if v.startswith("("):
        return tuple(float(t) for t in v[1:-1].split(","))
    try:
        return float(v)
    except ValueError:
        return v


def pair(op, v):
    one_d = op.endswith("1d") or op.endswith("1d_transpose")
    if isinstance(v, tuple):
        v = tuple(int(t) for t in v)
        if one_d:
            assert len(v) == 1
            return (1, v[0])
        assert len(v) == 2
        return v
    k = int(v)
    return (1 if one_d else k, k)


def boolean(v):
    if isinstance(v, str):
        return 1 if v in ("true", "True") else 0
    return int(v)


def parse_layer(tok, rank):
    """-> (op, attrs, activation or None)"""
    name, args = tok, ""
    if "(" in tok:
        name, args = tok[: tok.index("(")], tok[tok.index("(") + 1: -1]
    name = ALIASES.get(name, name)
    if name in BY_RANK:
        name += "1d" if rank == 2 else "2d"
    a = dict(DEFAULTS.get(name, {}))
    act = None
    argnames = ARGS.get(name, "").split()
    for i, arg in enumerate(split_args(args)):
        key = ""
        if "=" in arg:
            key, arg = arg.split("=", 1)
        v = parse_value(arg)
        if key == "activation":
            act = ALIASES.get(v, v)
            continue
        if not key:
            key = "padding" if v in ("same", "valid") else argnames[i]
        if key not in argnames:
            for s, t in SYNONYMS:
                if s == key and t in argnames:
                    key = t
                    break
        assert key in argnames, (tok, key)
        one_d = name.endswith("1d")
        if key == "scale_factor":  # float32, as ordnet stores it
            t = v if isinstance(v, tuple) else (v, v)
            t = tuple(struct.unpack("<f", struct.pack("<f", float(u)))[0] for u in t)
            v = (1.0, t[-1]) if one_d else (t[0], t[-1])
        elif key == "mode" and name.startswith("zeropad"):  # F.pad's modes
            v = {"zeros": "constant", "edge": "replicate"}.get(v, v)
        elif key == "mode":
            v = "nearest" if v == "nearest" else "linear"
        elif key == "padding" and name in MOVERS:
            if not isinstance(v, tuple):
                v = (0, 0, int(v), int(v)) if one_d else (int(v),) * 4
            elif len(v) == 2:
                v = (0, 0, int(v[0]), int(v[1])) if one_d else (int(v[0]), int(v[0]), int(v[1]), int(v[1]))
            else:
                v = tuple(int(u) for u in v)
        elif key in ("perm", "shape"):
            v = tuple(int(u) for u in v) if isinstance(v, tuple) else (int(v),)
        elif key == "start":
            v = int(v)
        elif key in ("axis", "vocab"):
            v = int(v)
        elif key in ("align_corners", "invert"):
            v = boolean(v)
        elif key in ("kernel", "size", "stride", "dilation"):
            v = pair(name, v)
        elif key == "padding" and v not in ("same", "valid"):
            ph, pw = pair(name, v)
            v = (0 if "1d" in name else ph, pw)
        elif key in ("bias", "ceil_mode", "count_include_pad"):
            v = boolean(v)
        elif key in ("filters", "units"):
            v = int(v)
            a["filters"] = a["units"] = v
        elif key == "groups":
            v = int(v)
        elif key == "output_padding":
            oh, ow = pair(name, v)
            v = (0 if "1d" in name else oh, ow)
        a[key] = v
    return name, a, act


# ---------------------------------------------------------------------------------------
# reference semantics


MERGES = ("add", "multiply", "subtract", "divide", "average", "maximum", "minimum", "concat")


def merge(op, axis, xs):
    """ordnet's merges: inputs of the output's shape, or per-channel gates of C values
    broadcast over space; concat along a per-sample axis."""
    if op == "concat":
        return torch.cat(xs, dim=(axis % (xs[0].dim() - 1)) + 1)
    big = max(xs, key=lambda t: t[0].numel())
    out_shape = big.shape
    xs = [x if x.shape == out_shape else x.reshape((x.shape[0], out_shape[1]) + (1,) * (len(out_shape) - 2))
          for x in xs]
    y = xs[0]
    for x in xs[1:]:
        if op in ("add", "average"):
            y = y + x
        elif op == "multiply":
            y = y * x
        elif op == "subtract":
            y = y - x
        elif op == "divide":
            y = y / x
        elif op == "maximum":
            y = torch.maximum(y, x)
        elif op == "minimum":
            y = torch.minimum(y, x)
    if op == "average":
        y = y / len(xs)
    return y.expand(out_shape) if y.shape != out_shape else y


def same_pads(n, k, s, d):
    """Keras 'same': total = max((ceil(n/s)-1)*s + d*(k-1)+1 - n, 0), extra at the end."""
    o = -(-n // s)
    total = max((o - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


class Layer:
    def __init__(self, op, a, name, inshape):
        self.op, self.a, self.name = op, a, name
        self.params = []  # (pname, shape, trainable)
        c = inshape[0]
        if op in ("conv2d_transpose", "conv1d_transpose"):
            kh, kw = a["kernel"]
            fg = a["filters"] // a["groups"]
            wshape = (c, fg, kh, kw) if op == "conv2d_transpose" else (c, fg, kw)
            self.params.append(("weight", wshape, True))
            if a["bias"]:
                self.params.append(("bias", (a["filters"],), True))
        elif op in ("conv2d", "conv1d"):
            kh, kw = a["kernel"]
            cg = c // a["groups"]
            wshape = (a["filters"], cg, kh, kw) if op == "conv2d" else (a["filters"], cg, kw)
            self.params.append(("weight", wshape, True))
            if a["bias"]:
                self.params.append(("bias", (a["filters"],), True))
        elif op == "dense":
            self.params.append(("weight", (a["units"], c), True))
            if a["bias"]:
                self.params.append(("bias", (a["units"],), True))
        elif op == "batchnorm":
            self.params += [("weight", (c,), True), ("bias", (c,), True),
                            ("running_mean", (c,), False), ("running_var", (c,), False)]
        elif op == "prelu":
            self.params.append(("weight", (c,), True))
        elif op == "layernorm":
            L = inshape[a["axis"]]
            self.params += [("weight", (L,), True), ("bias", (L,), True)]
        elif op == "embedding":
            self.params.append(("weight", (a["vocab"], a["units"]), True))
        elif op == "normalization":
            self.params += [("count", (1,), False), ("mean", (c,), False), ("variance", (c,), False)]

    def forward(self, x, p, train):
        op, a = self.op, self.a
        if op in ("conv2d", "conv1d"):
            kh, kw = a["kernel"]
            sh, sw = a["stride"]
            dh, dw = a["dilation"]
            H = x.shape[2] if op == "conv2d" else 1
            W = x.shape[-1]
            if a["padding"] == "same":
                pt, pb = same_pads(H, kh, sh, dh)
                pl, pr = same_pads(W, kw, sw, dw)
            elif a["padding"] == "valid":
                pt = pb = pl = pr = 0
            else:
                pt = pb = a["padding"][0]
                pl = pr = a["padding"][1]
            b = p.get("bias")
            if op == "conv2d":
                return F.conv2d(F.pad(x, (pl, pr, pt, pb)), p["weight"], b, (sh, sw), 0, (dh, dw), a["groups"])
            return F.conv1d(F.pad(x, (pl, pr)), p["weight"], b, sw, 0, dw, a["groups"])
        if op in ("conv2d_transpose", "conv1d_transpose"):
            return self.conv_transpose(x, p)
        if op == "dense":
            return F.linear(x, p["weight"], p.get("bias"))
        if op == "batchnorm":
            # F.batch_norm updates the running statistics in place in train mode
            return F.batch_norm(x, p["running_mean"], p["running_var"], p["weight"], p["bias"],
                                training=bool(train), momentum=a["momentum"], eps=a["eps"])
        if op.startswith(("maxpool", "minpool", "avgpool")):
            return self.pool(x)
        if op == "global_avgpool":
            return x.mean(dim=tuple(range(2, x.dim())))
        if op == "flatten":
            return x.reshape(x.shape[0], -1)
        if op == "normalization":  # Keras: (x - mean) / max(sqrt(variance), epsilon = 1e-7)
            shape = (1, -1) + (1,) * (x.dim() - 2)
            mean = p["mean"].reshape(shape)
            d = torch.clamp(torch.sqrt(p["variance"]), min=float(torch.tensor(1e-7, dtype=torch.float32)))
            d = d.reshape(shape)
            return mean + x * d if a["invert"] else (x - mean) / d
        if op in RANDOM_AUGMENT:
            assert not train, op + " is only compared in eval mode (the identity there)"
            return x
        if op in ("dropout", "spatial_dropout1d", "spatial_dropout2d", "gaussian_noise", "gaussian_dropout"):
            assert not train, op + " is only compared in eval mode (the identity there)"
            return x
        if op == "hard_sigmoid":
            if a["alpha"] is None and a["offset"] is None:
                return F.hardsigmoid(x)
            alpha = 1 / 6 if a["alpha"] is None else a["alpha"]
            offset = 0.5 if a["offset"] is None else a["offset"]
            return torch.clamp(alpha * x + offset, 0, 1)
        if op == "rescaling":
            return x * a["scale"] + a["offset"]
        if op == "identity":
            return x * 1
        if op == "prelu":
            return F.prelu(x, p["weight"])
        if op.startswith("upsample"):
            mode = a["mode"]
            sf = a["scale_factor"] if op == "upsample2d" else a["scale_factor"][1]
            if mode == "nearest":
                return F.interpolate(x, scale_factor=sf, mode="nearest")
            return F.interpolate(x, scale_factor=sf, mode="bilinear" if op == "upsample2d" else "linear",
                                 align_corners=bool(a["align_corners"]))
        if op.startswith("zeropad"):
            t, b, l, r = a["padding"]
            pads = (l, r, t, b) if op == "zeropad2d" else (l, r)
            if a["mode"] != "constant":
                return F.pad(x, pads, mode=a["mode"])
            return F.pad(x, pads, value=a["value"])
        if op.startswith("crop"):
            t, b, l, r = a["padding"]
            x = x[..., l: x.shape[-1] - r]
            return x[:, :, t: x.shape[2] - b] if op == "crop2d" else x
        if op == "global_maxpool":
            return x.flatten(2).max(dim=2).values
        if op == "channel_shuffle":  # torchvision's ShuffleNet v2 channel_shuffle
            n, c, g = x.shape[0], x.shape[1], a["groups"]
            return x.reshape((n, g, c // g) + tuple(x.shape[2:])).transpose(1, 2).reshape(x.shape)
        if op == "channel_slice":
            return x[:, a["start"]: a["start"] + a["units"]]
        if op == "input_part":  # values start.. of the packed sample, in the Input's shape
            shape, s0 = tuple(int(d) for d in a["shape"]), int(a["start"])
            flat = x.flatten(1)
            if shape == (-1,):
                return flat[:, s0:]
            size = 1
            for d in shape:
                size *= d
            return flat[:, s0: s0 + size].reshape((x.shape[0],) + shape)
        if op == "reshape":
            return x.reshape((x.shape[0],) + a["shape"])
        if op == "permute":
            r = x.dim() - 1
            return x.permute((0,) + tuple(k + 1 for k in a["perm"][:r]))
        if op == "layernorm":
            k = a["axis"] % (x.dim() - 1) + 1
            y = F.layer_norm(x.movedim(k, -1), (x.shape[k],), p["weight"], p["bias"], a["eps"])
            return y.movedim(-1, k)
        if op == "embedding":
            return F.embedding(x.long(), p["weight"]).transpose(1, 2)
        acts = {
            "relu": lambda: F.relu(x),
            "leaky_relu": lambda: F.leaky_relu(x, a["alpha"]),
            "elu": lambda: F.elu(x, a["alpha"]),
            "celu": lambda: F.celu(x, a["alpha"]),
            "selu": lambda: F.selu(x),
            "tanh": lambda: torch.tanh(x),
            "sigmoid": lambda: torch.sigmoid(x),
            "hardtanh": lambda: F.hardtanh(x, a["min_val"], a["max_val"]),
            "relu6": lambda: F.relu6(x),
            "softplus": lambda: F.softplus(x, a["beta"], 20),
            "gelu": lambda: F.gelu(x),
            "silu": lambda: F.silu(x),
            "mish": lambda: F.mish(x),
            "hard_swish": lambda: F.hardswish(x),
            "softsign": lambda: F.softsign(x),
            "exponential": lambda: torch.exp(x),
        }
        return acts[op]()

    def conv_transpose(self, x, p):
        """PyTorch's ConvTranspose; 'same' (Keras): output = input x stride, cropped from
        the full output at total // 2, total = dilation (k-1) + 1 - stride, zeros (and the
        bias) past the full output when the kernel reaches less far than the stride."""
        a, two_d = self.a, self.op == "conv2d_transpose"
        if not two_d:
            x = x.unsqueeze(2)
        w = p["weight"] if two_d else p["weight"].unsqueeze(2)
        kh, kw = a["kernel"]
        sh, sw = a["stride"]
        dh, dw = a["dilation"]
        oh, ow = a["output_padding"]
        b = p.get("bias")
        if a["padding"] != "same":
            pad = (0, 0) if a["padding"] == "valid" else a["padding"]
            y = F.conv_transpose2d(x, w, b, (sh, sw), pad, (oh, ow), a["groups"], (dh, dw))
        else:
            y = F.conv_transpose2d(x, w, None, (sh, sw), 0, 0, a["groups"], (dh, dw))
            H, W = x.shape[2] * sh, x.shape[3] * sw
            th, tw = max(dh * (kh - 1) + 1 - sh, 0) // 2, max(dw * (kw - 1) + 1 - sw, 0) // 2
            y = y[:, :, th:th + H, tw:tw + W]
            y = F.pad(y, (0, W - y.shape[3], 0, H - y.shape[2]))
            if b is not None:
                y = y + b.view(1, -1, 1, 1)
        return y if two_d else y.squeeze(2)

    def pool(self, x):
        op, a = self.op, self.a
        kind, two_d = op[:3], op.endswith("2d")
        kh, kw = a["size"]
        sh, sw = a["stride"] if a["stride"] else (kh, kw)
        ceil = bool(a["ceil_mode"])
        if not two_d:
            x = x.unsqueeze(2)  # (N,C,1,L): one code path, as ordnet does
        H, W = x.shape[2], x.shape[3]
        if kind == "min":
            x = -x
        if a["padding"] == "same":
            pt, pb = same_pads(H, kh, sh, 1)
            pl, pr = same_pads(W, kw, sw, 1)
            assert not ceil
            if kind == "avg":
                xp = F.pad(x, (pl, pr, pt, pb))
                y = F.avg_pool2d(xp, (kh, kw), (sh, sw))
                if not a["count_include_pad"]:
                    ones = F.pad(torch.ones_like(x), (pl, pr, pt, pb))
                    y = y / F.avg_pool2d(ones, (kh, kw), (sh, sw))
            else:
                y = F.max_pool2d(F.pad(x, (pl, pr, pt, pb), value=-math.inf), (kh, kw), (sh, sw))
        else:
            pad = (0, 0) if a["padding"] == "valid" else a["padding"]
            if kind == "avg":
                y = F.avg_pool2d(x, (kh, kw), (sh, sw), pad, ceil, bool(a["count_include_pad"]))
            else:
                y = F.max_pool2d(x, (kh, kw), (sh, sw), pad, 1, ceil)
        if kind == "min":
            y = -y
        return y if two_d else y.squeeze(2)


class Model:
    """A parsed spec: layers with Keras-style names, and add(LAYER) residuals."""

    def __init__(self, spec):
        toks = split_tokens(spec)
        assert toks[0].startswith("input(")
        dims = [int(v) for v in toks[0][6:-1].split(",")]
        if len(dims) == 1:
            self.inshape = (dims[0],)
        elif len(dims) == 2:
            self.inshape = (dims[1], dims[0])
        else:
            self.inshape = (dims[2], dims[0], dims[1])
        # (layer or ("merge", op, axis), name, input indices)
        self.nodes = []
        counts, shapes, names = {}, [self.inshape], ["input"]
        for tok in toks[1:]:
            # from=NAME and name=NAME apply to any layer; a merge's bare names are its inputs
            head, args = (tok[: tok.index("(")], split_args(tok[tok.index("(") + 1: -1])) if "(" in tok else (tok, [])
            src, lname, others, rest = len(names) - 1, None, [], []
            for arg in args:
                if arg.startswith("from="):
                    src = names.index(arg[5:])
                elif arg.startswith("name="):
                    lname = arg[5:]
                elif head in MERGES and "=" not in arg and arg in names:
                    others.append(names.index(arg))
                else:
                    rest.append(arg)
            if head in MERGES:
                axis = int(rest[0].split("=")[-1]) if rest else 0
                nm = lname or self._name(counts, head)
                if lname:
                    counts[head] = counts.get(head, 0) + 1
                ins = [src] + others
                self.nodes.append((("merge", head, axis), nm, ins))
                names.append(nm)
                y = merge(head, axis, [torch.zeros((1,) + shapes[i], dtype=torch.float64) for i in ins])
                shapes.append(tuple(y.shape[1:]))
                continue
            tok = head + ("(" + ",".join(rest) + ")" if rest else "")
            op, a, act = parse_layer(tok, len(shapes[src]))
            for o, at in [(op, a)] + ([(act, dict(DEFAULTS.get(act, {})))] if act else []):
                nm = self._name(counts, o)
                if lname and o == op:
                    nm = lname
                layer = Layer(o, at, nm, shapes[src])
                self.nodes.append((layer, nm, [src]))
                names.append(nm)
                y = layer.forward(torch.zeros((1,) + shapes[src], dtype=torch.float64),
                                  self.init_params(torch.Generator().manual_seed(0), torch.float64, layer),
                                  False)
                shapes.append(tuple(y.shape[1:]))
                src = len(names) - 1
        self.names, self.shapes = names, shapes

    @staticmethod
    def _name(counts, op):
        k = counts.get(op, 0)
        counts[op] = k + 1
        return op if k == 0 else f"{op}_{k}"

    @staticmethod
    def init_params(g, dtype, layer):
        p = {}
        for pname, shape, _ in layer.params:
            if layer.op == "batchnorm":
                c = shape[0]
                if pname == "weight":
                    v = 1 + 0.5 * torch.randn(c, generator=g, dtype=torch.float64)
                    v[c // 2] = -abs(v[c // 2]) - 0.2  # one negative scale
                elif pname == "bias":
                    v = 0.4 * torch.randn(c, generator=g, dtype=torch.float64)
                elif pname == "running_mean":
                    v = 0.3 * torch.randn(c, generator=g, dtype=torch.float64)
                else:
                    v = 0.5 + 1.5 * torch.rand(c, generator=g, dtype=torch.float64)
            elif layer.op == "prelu":
                v = 0.6 * torch.randn(shape, generator=g, dtype=torch.float64)
            elif layer.op == "normalization":
                if pname == "mean":
                    v = 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
                elif pname == "variance":
                    v = 0.1 + 3 * torch.rand(shape, generator=g, dtype=torch.float64)
                else:
                    v = torch.full(shape, 100.0, dtype=torch.float64)
            else:
                fan_in = math.prod(layer.params[0][1][1:])
                v = torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(fan_in)
                if pname == "bias":
                    v = v + 0.1
            p[pname] = v.to(torch.float32).to(dtype)
        return p

    def params(self, g):
        out = {}
        for layer, nm, _ in self.nodes:
            if isinstance(layer, Layer):
                for k, v in self.init_params(g, torch.float64, layer).items():
                    out[f"{nm}.{k}"] = v
        return out

    def run(self, x, params, dy, train, dtype):
        """Forward and backward in dtype; returns y, dx, grads, state after."""
        x = x.to(dtype).clone().requires_grad_(True)
        ps = {}
        for k, v in params.items():
            ps[k] = v.to(dtype).clone()
        trainable = set()
        for layer, nm, _ in self.nodes:
            if isinstance(layer, Layer):
                for pname, _, tr in layer.params:
                    if tr:
                        ps[f"{nm}.{pname}"].requires_grad_(True)
                        trainable.add(f"{nm}.{pname}")
        outs = [x]
        for layer, nm, ins in self.nodes:
            if isinstance(layer, tuple):
                outs.append(merge(layer[1], layer[2], [outs[i] for i in ins]))
                continue
            p = {k[len(nm) + 1:]: v for k, v in ps.items() if k.startswith(nm + ".")}
            outs.append(layer.forward(outs[ins[0]], p, train))
        y = outs[-1]
        y.backward(dy.to(dtype))
        grads = {k: ps[k].grad for k in sorted(trainable)}
        state = {k: v.detach() for k, v in ps.items() if k not in trainable}
        dx = x.grad if x.grad is not None else torch.zeros_like(x)  # token ids: no gradient
        return y.detach(), dx, grads, state


def relerr(a, b, scale=None):
    """max |a-b| / (max |b| + 1e-6), or / (scale + 1e-6) when a scale is given."""
    a, b = a.double(), b.double()
    if a.numel() == 0:
        return 0.0
    den = b.abs().max().item() if scale is None else scale
    return (a - b).abs().max().item() / (den + 1e-6)


def layer_scales(grads):
    """The largest gradient of each tensor's layer, and the analytically zero gradients."""
    scale = {}
    for k in grads:
        layer = k.rsplit(".", 1)[0]
        s = max(g.abs().max().item() for j, g in grads.items() if j.rsplit(".", 1)[0] == layer)
        scale[k] = s
    zero = {k for k, g in grads.items() if g.abs().max().item() <= 1e-9 * scale[k]}
    return scale, zero


def draw(shape, g, scale):
    return (scale * torch.randn(shape, generator=g, dtype=torch.float64)).to(torch.float32).double()


def model_case(name, spec, mode, n=2, xscale=1.0):
    m = Model(spec)
    train = mode == "train"
    base = zlib.crc32(name.encode())
    for attempt in range(50):
        g = torch.Generator().manual_seed(base + 1000 * attempt)
        params = m.params(g)
        x = draw((n,) + m.inshape, g, xscale)
        first = m.nodes[0][0]
        if isinstance(first, Layer) and first.op == "embedding":  # token ids
            x = torch.randint(0, first.a["vocab"], (n,) + m.inshape, generator=g).double()
        dy = draw((n,) + m.shapes[-1], g, 1.0)
        y, dx, grads, state = m.run(x, params, dy, train, torch.float64)
        y32, dx32, grads32, state32 = m.run(x, params, dy, train, torch.float32)
        scale, zero = layer_scales(grads)
        worst = max([relerr(y32, y), relerr(dx32, dx)] +
                    [relerr(grads32[k], grads[k], scale[k] if k in zero else None) for k in grads] +
                    [relerr(state32[k], state[k]) for k in state])
        if worst <= TIE_TOL:
            break
    else:
        raise SystemExit(f"{name}: no well-conditioned draw found")
    tensors = [("x", x), ("y", y), ("dy", dy), ("dx", dx)]
    tensors += sorted(params.items())
    tensors += [("grad." + k, v) for k, v in sorted(grads.items())]
    if train:
        tensors += [("after." + k, v) for k, v in sorted(state.items())]
    tensors = [(k, v.to(torch.float32)) for k, v in tensors]
    meta = {"spec": spec, "mode": mode}
    if zero:
        meta["zero_grads"] = ",".join("grad." + k for k in sorted(zero))
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
    return attempt


def loss_case(name, n, k, smoothing, scale):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    logits = draw((n, k), g, scale).requires_grad_(True)
    labels = torch.randint(0, k, (n,), generator=g)
    loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    loss.backward()
    tensors = [("logits", logits.detach().float()), ("labels", labels),
               ("loss", loss.detach().reshape(1).float()), ("dlogits", logits.grad.float())]
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors,
                      {"smoothing": repr(smoothing)})


def binary_loss_case(name, n, smoothing, form, scale):
    """Binary cross-entropy (on_binary_xent): form "logits" against BCEWithLogitsLoss,
    "probs" against BCELoss on probabilities in [0.05, 0.95] (ordnet clips them to
    [1e-7, 1-1e-7] and adds Keras's 1e-7 inside the logs: a relative difference below 3e-6
    there). Keras's label smoothing: target y (1 - s) + s / 2."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    if form == "logits":
        x = draw((n, 1), g, scale)
    else:
        x = (0.05 + 0.9 * torch.rand((n, 1), generator=g, dtype=torch.float64)).float().double()
    x.requires_grad_(True)
    labels = torch.randint(0, 2, (n,), generator=g)
    t = (labels.double() * (1 - smoothing) + 0.5 * smoothing).reshape(n, 1)
    if form == "logits":
        loss = torch.nn.BCEWithLogitsLoss()(x, t)
    else:
        loss = torch.nn.BCELoss()(x, t)
    loss.backward()
    tensors = [("logits", x.detach().float()), ("labels", labels),
               ("loss", loss.detach().reshape(1).float()), ("dlogits", x.grad.float())]
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors,
                      {"smoothing": repr(smoothing), "binary": form})


# ---------------------------------------------------------------------------------------
# the cases

CASES = []


def case(name, spec, mode="train", n=2, xscale=1.0):
    CASES.append((name, spec, mode, n, xscale))


# 2-D convolution
case("conv2d_basic", "input(5,6,3) conv2d(4,3)")
case("conv2d_stride2_same", "input(7,9,3) conv2d(4,3,stride=2,padding=same)")
case("conv2d_same_odd_kernel4", "input(7,8,2) conv2d(3,(3,4),same)")
case("conv2d_same_stride2_even", "input(8,8,2) conv2d(3,3,2,same)")
case("conv2d_same_stride3", "input(7,7,2) conv2d(2,(2,3),strides=3,padding=same)")
case("conv2d_pad1", "input(6,5,2) conv2d(3,3,padding=1)")
case("conv2d_pad_tuple", "input(5,7,2) conv2d(3,(3,5),padding=(1,2))")
case("conv2d_pad_stride2", "input(7,7,2) conv2d(3,3,stride=2,padding=2)")
case("conv2d_dilation2", "input(7,8,2) conv2d(3,3,dilation=2)")
case("conv2d_dilation2_same", "input(7,6,2) conv2d(3,3,same,dilation_rate=2)")
case("conv2d_nobias", "input(5,5,3) conv2d(4,3,bias=0)")
case("conv2d_nobias_false", "input(5,5,2) conv2d(filters=3,kernel_size=2,use_bias=false)")
case("conv2d_one_channel", "input(6,6,1) conv2d(2,3)")
case("conv2d_batch1", "input(6,5,3) conv2d(4,3,same)", n=1)
case("conv2d_batch3", "input(5,5,2) conv2d(3,3,stride=(2,1))", n=3)
case("conv2d_pointwise", "input(4,5,3) conv2d(5,1)")
case("conv2d_1x1_stride2", "input(5,5,3) conv2d(4,1,stride=2)")
case("conv2d_kernel_tuple", "input(6,7,2) conv2d(3,(2,3),stride=(1,2))")
case("conv2d_activation", "input(5,5,2) conv(3,3,same,activation=relu)")
# grouped and depthwise convolution (groups = channels; filters = channels x multiplier)
case("conv2d_groups2", "input(6,7,4) conv2d(6,3,padding=1,groups=2)")
case("conv2d_groups4_stride2", "input(9,8,8) conv2d(8,3,stride=2,groups=4,bias=0)")
case("conv2d_groups3_pointwise", "input(5,5,6) conv2d(9,1,groups=3)")
case("conv2d_depthwise", "input(8,7,4) conv2d(4,3,padding=1,groups=4)")
case("conv2d_depthwise_mult2", "input(7,8,3) conv2d(6,3,same,groups=3)")
case("conv2d_depthwise_mult3_stride2", "input(9,9,2) conv2d(6,3,stride=2,padding=1,groups=2)")
case("conv2d_depthwise_5x5_dilation2", "input(11,10,3) conv2d(3,5,padding=4,dilation=2,groups=3)")
case("conv2d_depthwise_stride2_same", "input(8,9,4) conv2d(4,3,2,same,groups=4)", n=1)
case("conv2d_depthwise_kernel_tuple", "input(7,9,2) conv2d(4,(3,5),stride=(2,1),padding=(1,2),groups=2)")
case("separable_block", "input(8,8,4) conv2d(4,3,same,groups=4,bias=0) bn relu6 conv2d(6,1,bias=0) bn relu")
case("separable_block_eval",
     "input(8,8,4) conv2d(8,3,stride=2,padding=1,groups=4) bn relu6 conv2d(5,1) bn", "eval")
case("conv1d_depthwise", "input(12,4) conv1d(8,3,padding=1,groups=4)")
case("conv1d_groups2_stride2", "input(13,4) conv1d(6,3,stride=2,groups=2)")
# transposed convolution: PyTorch's ConvTranspose1d/2d (padding, output_padding, dilation, groups)
case("conv2d_transpose_basic", "input(4,5,3) conv2d_transpose(4,3)")
case("conv2d_transpose_stride2", "input(4,4,3) conv2d_transpose(4,3,stride=2,padding=1)")
case("conv2d_transpose_opad", "input(4,5,2) conv2d_transpose(3,3,stride=2,padding=1,output_padding=1)")
case("conv2d_transpose_k4s2", "input(5,4,3) conv2d_transpose(2,4,stride=2,padding=1,bias=0)")
case("conv2d_transpose_groups", "input(4,4,4) conv2d_transpose(6,3,stride=2,groups=2,output_padding=(1,0))")
case("conv2d_transpose_depthwise", "input(5,5,3) conv2d_transpose(3,3,stride=2,padding=1,groups=3)")
case("conv2d_transpose_dilation", "input(4,5,2) conv2d_transpose(3,3,stride=2,dilation=2,output_padding=1)")
case("conv2d_transpose_tuple", "input(4,5,2) conv2d_transpose(3,(2,3),stride=(3,2),padding=(1,0))")
case("conv2d_transpose_same", "input(4,4,2) conv2d_transpose(3,3,stride=2,padding=same)")
case("conv2d_transpose_same_small_kernel", "input(3,4,2) conv2d_transpose(3,1,stride=2,padding=same)")
case("conv2d_transpose_block", "input(4,4,3) conv2d_transpose(4,4,stride=2,padding=1) bn relu conv2d(2,3)")
case("conv1d_transpose_basic", "input(7,3) conv1d_transpose(4,3,stride=2,padding=1,output_padding=1)")
case("conv1d_transpose_groups_dilation", "input(6,4) conv1d_transpose(6,3,dilation=2,groups=2,bias=0)")
# 1-D convolution: input(L,C) -> samples (C,L)
case("conv1d_basic", "input(11,3) conv1d(4,3)")
case("conv1d_stride2_same", "input(11,3) conv1d(4,3,stride=2,padding=same)")
case("conv1d_same_even_kernel", "input(9,2) conv(3,4,same)")
case("conv1d_pad2", "input(8,2) conv1d(3,3,padding=2)")
case("conv1d_dilation2", "input(12,2) conv1d(3,3,dilation=2)")
case("conv1d_nobias", "input(9,3) conv1d(2,5,bias=0)")
case("conv1d_one_channel_batch1", "input(10,1) conv1d(3,3,same)", n=1)
case("conv1d_pointwise", "input(7,4) conv1d(3,1)")
# dense
case("dense_basic", "input(7) dense(5)", n=3)
case("dense_nobias", "input(6) dense(4,bias=0)")
case("dense_alias_activation", "input(6) fc(4,activation=tanh)")
case("dense_batch1", "input(5) dense(3)", n=1)
# batch normalization
for mode in ("train", "eval"):
    case(f"bn2d_{mode}", "input(4,5,3) batchnorm", mode)
    case(f"bn1d_{mode}", "input(6,3) bn", mode)
    case(f"bn0d_{mode}", "input(5) bn", mode, n=3)
    case(f"bn2d_eps_momentum_{mode}", "input(3,4,2) batchnorm(eps=0.001,momentum=0.3)", mode)
case("bn2d_train_batch1", "input(4,4,3) bn", n=1)
case("bn2d_train_shifted", "input(4,5,3) bn", xscale=3.0)
case("bn0d_train_eps_momentum", "input(4) bn(1e-3,0.5)", n=4)
# dropout (eval: identity; train-mode masks come from ordnet's own generator)
case("dropout_eval", "input(4,5,2) dropout(0.3)", "eval")
case("dropout_eval_flat", "input(6) dropout(p=0.7)", "eval", n=3)
# flatten and global average pooling
case("flatten_2d", "input(3,4,2) flatten")
case("flatten_1d", "input(5,3) flatten")
case("global_avgpool_2d", "input(4,5,3) global_avgpool")
case("global_avgpool_1d", "input(7,3) gap")
# pooling: every kind in 1-D and 2-D
for kind in ("max", "min", "avg"):
    p = kind + "pool"
    case(f"{p}2d_default", f"input(7,7,2) {p}")
    case(f"{p}2d_3s2", f"input(7,8,2) {p}2d(3,2)")
    case(f"{p}2d_ceil", f"input(7,7,2) {p}2d(2,ceil_mode=1)")
    case(f"{p}2d_3s2_ceil", f"input(8,7,2) {p}(3,2,ceil_mode=true)")
    case(f"{p}2d_pad1", f"input(7,8,2) {p}2d(3,2,padding=1)")
    case(f"{p}2d_pad1_ceil", f"input(8,8,2) {p}2d(3,2,1,1)")
    case(f"{p}2d_stride1", f"input(5,6,2) {p}2d(2,1)")
    case(f"{p}2d_tuple", f"input(6,7,2) {p}2d((2,3),(1,2))")
    case(f"{p}2d_same", f"input(7,8,2) {p}2d(3,2,same)")
    case(f"{p}1d_default", f"input(9,2) {p}")
    case(f"{p}1d_3s2", f"input(10,2) {p}1d(3,2)")
    case(f"{p}1d_ceil", f"input(9,2) {p}1d(2,ceil_mode=1)")
    case(f"{p}1d_pad1_ceil", f"input(10,2) {p}1d(3,2,1,1)")
    case(f"{p}1d_stride1", f"input(7,3) {p}1d(3,1)")
    case(f"{p}1d_same", f"input(9,2) {p}1d(4,3,same)")
for cip in (0, 1):
    case(f"avgpool2d_pad1_cip{cip}", f"input(7,8,2) avgpool2d(3,2,padding=1,count_include_pad={cip})")
    case(f"avgpool2d_pad1_ceil_cip{cip}", f"input(8,8,2) avgpool2d(3,2,1,1,{cip})")
    case(f"avgpool2d_pad_tuple_cip{cip}",
         f"input(6,7,2) avgpool2d((3,4),(2,3),(1,2),count_include_pad={cip})")
    case(f"avgpool2d_same_cip{cip}", f"input(7,8,2) avgpool2d(3,2,same,count_include_pad={cip})")
    case(f"avgpool1d_pad1_ceil_cip{cip}", f"input(10,2) avgpool1d(3,2,1,1,{cip})")
    case(f"avgpool1d_same_cip{cip}", f"input(9,2) avgpool1d(4,3,same,count_include_pad={cip})")
# activations
case("relu", "input(5,5,2) relu")
case("identity", "input(4,5,2) identity")
case("identity_linear_alias", "input(6) linear", n=3)
case("leaky_relu_default", "input(5,5,2) leaky_relu")
case("leaky_relu_02", "input(9,2) lrelu(negative_slope=0.2)")
case("leaky_relu_neg", "input(6) leaky_relu(-0.3)", n=3)
case("elu_default", "input(5,5,2) elu", xscale=2.0)
case("elu_07", "input(9,2) elu(0.7)", xscale=2.0)
case("celu_13", "input(5,5,2) celu(1.3)", xscale=2.0)
case("celu_05", "input(6) celu(alpha=0.5)", n=3, xscale=2.0)
case("selu", "input(5,5,2) selu", xscale=2.0)
case("tanh", "input(5,5,2) tanh", xscale=2.0)
case("sigmoid", "input(5,5,2) sigmoid", xscale=3.0)
case("hardtanh_default", "input(5,5,2) hardtanh", xscale=2.0)
case("hardtanh_range", "input(9,2) hardtanh(-0.5,2)", xscale=2.0)
case("relu6", "input(5,5,2) relu6", xscale=5.0)
case("softplus_default", "input(5,5,2) softplus", xscale=3.0)
case("softplus_beta2_threshold", "input(5,5,2) softplus(2)", xscale=8.0)
case("softplus_beta05", "input(6) softplus(beta=0.5)", n=3, xscale=4.0)
case("gelu", "input(5,5,2) gelu", xscale=2.0)
case("silu", "input(5,5,2) silu", xscale=3.0)
case("swish_alias", "input(6) swish", n=3, xscale=3.0)
case("mish", "input(5,5,2) mish", xscale=3.0)
case("prelu_2d", "input(5,5,3) prelu")
case("prelu_1d", "input(7,3) prelu")
case("prelu_flat", "input(6) prelu", n=3)
# round 2: hard sigmoid (PyTorch's default, Keras 2's 0.2 x + 0.5, a decreasing one), hard
# swish, softsign, exp, rescaling; the noise layers are the identity in eval mode
case("hard_sigmoid_default", "input(5,5,2) hard_sigmoid", xscale=4.0)
case("hard_sigmoid_keras", "input(9,2) hard_sigmoid(0.2,0.5)", xscale=4.0)
case("hardsigmoid_alias_decreasing", "input(6) hardsigmoid(alpha=-0.3,offset=0.1)", n=3, xscale=4.0)
case("hard_swish", "input(5,5,2) hard_swish", xscale=4.0)
case("hardswish_alias_1d", "input(9,2) hardswish", xscale=4.0)
case("softsign", "input(5,5,2) softsign", xscale=3.0)
case("exponential", "input(5,5,2) exponential", xscale=2.0)
case("exp_alias_flat", "input(6) exp", n=3)
case("rescaling_1_255", "input(4,5,3) rescaling(0.00392156862745098)", xscale=100.0)
case("rescaling_shift", "input(9,2) rescaling(2,-1)")
case("rescaling_negative", "input(6) rescaling(scale=-0.5,offset=0.25)", n=3)
case("spatial_dropout2d_eval", "input(4,5,3) spatial_dropout2d(0.3)", "eval")
case("spatial_dropout1d_eval", "input(7,3) spatial_dropout(0.5)", "eval")
case("gaussian_noise_eval", "input(4,5,2) gaussian_noise(0.5)", "eval")
case("gaussian_dropout_eval", "input(6) gaussian_dropout(rate=0.2)", "eval", n=3)
case("block_hard_swish", "input(6,6,2) conv2d(4,3,same) bn hard_swish maxpool conv2d(4,3,same) "
     "hard_sigmoid flatten dense(5)")
case("block_eval_noise", "input(6,6,2) rescaling(0.5,-1) conv2d(4,3,same) bn hard_swish maxpool "
     "spatial_dropout(0.2) gaussian_noise(0.3) softsign gaussian_dropout(0.1) flatten dense(5)", "eval")
# upsampling: nearest and (bi)linear with both align_corners, integer and fractional scales
case("upsample2d_nearest2", "input(4,5,2) upsample2d(2)")
case("upsample2d_nearest3", "input(3,4,2) upsample2d(size=3)")
case("upsample2d_nearest_frac", "input(5,4,2) upsample2d((1.5,2.5))")
case("upsample2d_nearest_down", "input(7,6,2) upsample2d(0.5)")
case("upsample2d_bilinear2", "input(4,5,2) upsample2d(2,bilinear)")
case("upsample2d_bilinear2_ac", "input(4,5,2) upsample2d(2,bilinear,1)")
case("upsample2d_bilinear_frac", "input(4,5,2) upsample2d((1.5,2.5),mode=bilinear)")
case("upsample2d_bilinear_frac_ac", "input(5,4,2) upsample2d((2.5,1.5),bilinear,align_corners=true)")
case("upsample2d_bilinear_down", "input(7,6,2) upsample2d(0.6,bilinear)")
case("upsample2d_bilinear_eval", "input(4,5,2) upsample2d(3,interpolation=bilinear)", "eval")
case("upsample1d_nearest2", "input(6,2) upsample1d(2)")
case("upsample1d_nearest_frac", "input(6,2) upsample1d(1.5)")
case("upsample1d_linear_frac", "input(6,2) upsample1d(2.5,linear)")
case("upsample1d_linear_ac", "input(5,2) upsample1d(3,linear,1)")
case("block_upsample", "input(4,4,2) conv2d(3,3,same) bn relu upsample2d(2,bilinear) conv2d(2,3) flatten dense(3)")
# global max pooling, zero padding, cropping
case("global_maxpool_2d", "input(4,5,3) global_maxpool")
case("global_maxpool_1d", "input(7,3) global_maxpool")
case("block_global_maxpool", "input(6,6,2) conv2d(4,3,same) bn relu global_maxpool dense(3)")
case("zeropad2d_default", "input(4,5,2) zeropad2d")
case("zeropad2d_asym", "input(4,5,2) zeropad2d((1,2,0,3))")
case("zeropad2d_pair", "input(3,4,2) zeropad2d((1,2))")
case("zeropad1d", "input(6,2) zeropad1d((1,2))")
case("zeropad2d_reflect", "input(4,5,2) zeropad2d((1,3,2,0),reflect)")
case("zeropad2d_edge", "input(4,5,2) zeropad2d((2,1,0,3),mode=edge)")
case("zeropad2d_constant", "input(3,4,2) zeropad2d((1,2),constant,-0.75)")
case("zeropad1d_reflect", "input(6,2) zeropad1d((3,5),reflect)")
case("zeropad1d_replicate", "input(6,2) zeropad1d((4,1),replicate)")
case("zeropad1d_constant", "input(6,2) zeropad1d((1,2),value=2.5)")
case("block_reflect_conv", "input(5,5,2) zeropad2d(1,reflect) conv2d(3,3) bn relu zeropad2d((0,2,1,1),edge) conv2d(2,3) flatten dense(3)")
case("crop2d", "input(6,5,2) crop2d((1,0,2,1))")
case("crop2d_keras", "input(6,7,2) crop2d(cropping=(1,2))")
case("crop1d", "input(7,2) crop1d((2,1))")
case("block_pad_conv_crop", "input(5,5,2) zeropad2d(1) conv2d(3,3) crop2d(1) flatten dense(3)")
# reshape, permute, layer normalization
case("reshape_to_image", "input(5) dense(12) reshape((3,2,2)) conv2d(2,1)")
case("reshape_infer", "input(5) dense(12) reshape((3,-1)) conv1d(2,3)")
case("reshape_image", "input(4,3,2) reshape((4,-1))")
case("permute_hwc", "input(4,3,2) permute((1,2,0))")
case("permute_1d", "input(5,4) permute((1,0))")
case("block_convnext_ln", "input(4,3,4) conv2d(4,1) permute((1,2,0)) layernorm permute((2,0,1)) conv2d(3,1)")
case("block_convnext_ln_eval", "input(4,3,4) conv2d(4,1) permute((1,2,0)) layernorm permute((2,0,1)) "
     "upsample2d(2) crop2d(1) zeropad2d((0,1,1,0)) conv2d(3,1)", "eval", n=3)
# channel shuffle and slice (ShuffleNet v2)
case("channel_shuffle_2", "input(3,4,6) channel_shuffle(2)")
case("channel_shuffle_3_1d", "input(5,6) channel_shuffle(3)")
case("channel_slice", "input(3,4,6) channel_slice(2,3)")
# two Inputs packed in one (a Keras Model(inputs=[l, r])): (4) and (2,3), joined
case("input_part_two", "input(10) input_part((4),name=l) input_part((2,3),4,name=r,from=input) "
     "conv1d(2,2,name=c) flatten(name=f) dense(4,name=d,from=l) concat(f) dense(3)")
case("block_shufflenet", "input(4,4,4) conv2d(4,1,name=a) channel_slice(2,2) conv2d(2,3,same,groups=2) bn relu "
     "concat(a) channel_shuffle(2) conv2d(3,1)")
case("layernorm_last", "input(4,3,5) layernorm")
case("layernorm_channels", "input(4,3,5) layernorm(axis=0)")
case("layernorm_rows", "input(4,3,5) layernorm(axis=1,eps=0.001)")
case("layernorm_1d", "input(6,3) layernorm(eps=0.001)")
case("layernorm_flat", "input(7) layernorm", n=3)
case("layernorm_eval", "input(4,3,5) layernorm(axis=0)", "eval")
# embedding (token ids as floats)
case("embedding", "input(6) embedding(10,4)")
case("embedding_conv1d", "input(8) embedding(vocab=12,units=3) conv1d(4,3,same) relu global_maxpool dense(2)", n=3)
# blocks: conv2d(4,3,same) then bn, relu, maxpool in every order, train mode
orders = [("bn", "relu", "maxpool"), ("bn", "maxpool", "relu"), ("relu", "bn", "maxpool"),
          ("relu", "maxpool", "bn"), ("maxpool", "bn", "relu"), ("maxpool", "relu", "bn")]
for o in orders:
    case("block_" + "_".join(o), "input(6,6,2) conv2d(4,3,same) " + " ".join(o) + " flatten dense(5)")
    case("block_eval_" + "_".join(o),
         "input(6,6,2) conv2d(4,3,same) " + " ".join(o) + " dropout(0.2) flatten dense(5)", "eval")
case("block_eval_dropout_mid", "input(7,7,2) conv2d(4,3,same) bn relu dropout(0.5) maxpool flatten dense(5)",
     "eval")
case("block_two_convs", "input(8,8,2) conv2d(4,3,same) bn relu maxpool conv2d(4,3,same) bn relu "
     "maxpool flatten dense(5)", n=3)
case("block_avg_prelu",
     "input(7,7,2) conv2d(3,3,stride=2,padding=same) bn prelu avgpool(2,1) flatten dense(4)")
case("block_min_elu", "input(6,6,2) conv2d(3,3,same) minpool bn elu flatten dense(3)")
case("block_1d", "input(12,2) conv1d(4,3,same) bn relu maxpool conv1d(4,3,same) bn gelu gap dense(5)",
     n=3)
case("block_1d_eval",
     "input(12,2) conv1d(4,3,same) bn relu avgpool(3,2,1) dropout(0.1) flatten dense(5)", "eval")
case("block_gap", "input(6,6,3) conv2d(4,3,same) bn silu global_avgpool dense(5)")
case("block_dense_bn", "input(8) dense(6) bn relu dense(6) bn tanh dense(3)", n=3)
# residual blocks (add(LAYER): see the top of this file)
case("residual_basic",
     "input(5,5,3) conv2d(3,3,same) bn relu conv2d(3,3,same) bn add(relu) relu flatten dense(4)")
case("residual_input", "input(5,5,3) conv2d(3,3,same) add(input) relu flatten dense(4)")
case("residual_two", "input(6,6,2) conv2d(4,3,same) relu conv2d(4,3,same) bn add(relu) relu "
     "conv2d(4,3,same) add(relu_1) maxpool flatten dense(3)")
case("residual_eval",
     "input(5,5,2) conv2d(2,3,same) bn add(input) relu dropout(0.3) gap dense(3)", "eval")
# a ResNet block on an image large enough for inference's Winograd F(4x4, 3x3) by default
# (src/ops/conv_wino4.c: 6x6 tiles of 4x4, 16 channels)
case("winograd4_block_eval", "input(24,24,16) conv2d(16,3,same) bn relu conv2d(16,3,same) bn "
     "add(relu) relu gap dense(5)", "eval")
# merges of n inputs (bare names are inputs besides the previous layer; from= and name=)
case("merge_add3", "input(5,5,2) conv2d(3,3,same,name=a) conv2d(3,1,from=input,name=b) "
     "conv2d(3,3,same,from=input) add(a,b) relu flatten dense(3)")
case("merge_multiply_se", "input(6,6,3) conv2d(4,3,same,name=x) gap dense(2) relu dense(4) "
     "sigmoid multiply(x) conv2d(2,1) flatten dense(3)")
case("merge_multiply_se_eval", "input(6,6,3) conv2d(4,3,same,name=x) gap dense(4) sigmoid "
     "multiply(x) bn relu gap dense(3)", "eval")
case("merge_subtract_divide", "input(5,4,2) conv2d(3,3,same,name=a) softplus(name=b) "
     "subtract(a) tanh divide(b) flatten dense(3)")
case("merge_average_max_min", "input(5,5,2) conv2d(3,3,same,name=a) conv2d(3,3,same,from=input,"
     "name=b) tanh(name=c) average(a,b) maximum(a,c) minimum(b) flatten dense(3)")
case("merge_concat_channels", "input(6,6,2) conv2d(3,3,same,name=a) relu conv2d(2,1,name=b) "
     "concat(a,input) bn relu conv2d(3,3,same) concat(b,a) maxpool flatten dense(3)")
case("merge_concat_axes", "input(4,5,2) conv2d(2,3,same,name=a) conv2d(2,1,from=input) "
     "concat(a,axis=1) tanh(name=t) concat(t,axis=2) flatten dense(3)")
case("merge_concat_1d", "input(9,2) conv1d(3,3,same,name=a) conv1d(2,1,from=input) "
     "concat(a) relu(name=r) conv1d(5,1,from=input) concat(r,axis=1) gap dense(3)")
case("merge_gate_1d", "input(9,3) conv1d(4,3,same,name=x) gap dense(4) sigmoid multiply(x) "
     "flatten dense(3)")

# Keras's Normalization with given statistics (train = eval), on every rank; the random
# augmentation layers are the identity at inference (their train-mode draws come from
# ordnet's own generator: test_augment.c checks them against direct references)
case("normalization_image", "input(4,5,3) normalization")
case("normalization_image_eval", "input(4,5,3) normalization", "eval")
case("normalization_flat_invert", "input(6) normalization(invert=1) dense(3)", n=3)
case("normalization_1d", "input(7,3) normalization conv1d(2,3)")
case("augment_eval", "input(6,5,3) normalization random_flip random_translation(0.2,(-0.1,0.3)) "
     "random_rotation(0.1,fill_mode=constant) random_zoom((-0.2,0.1),interpolation=nearest) "
     "random_contrast(0.3) conv2d(4,3) flatten dense(3)", "eval")
case("augment_eval_zoom_wrap", "input(4,4,2) random_zoom(0.1,0.2,fill_mode=wrap,seed=5) conv2d(2,1)",
     "eval")
case("random_flip_eval", "input(4,4,2) random_flip(horizontal) random_flip(vertical,seed=3) "
     "random_flip conv2d(2,1)", "eval")

# ---------------------------------------------------------------------------------------
# the augmentation layers' image sampler with fixed maps (tests/golden/warp/, read by
# tests/test_augment.c): TensorFlow's ImageProjectiveTransformV3 as Keras calls it, read
# from its kernel (image_ops.h): coordinates in float32 in its order, MapCoordinate for the
# fill modes, bilinear or nearest (halves away from zero), reads outside the image giving
# the fill value. Values are summed in float64; dx is torch's autograd through the gathers.
# The bilinear constant-0 and nearest-fill modes are also checked against torch's
# grid_sample (align_corners=True, zeros / border padding), an independent implementation.

WARP_OUT = os.path.join(HERE, "warp")
FILLS = ("reflect", "wrap", "constant", "nearest")


def map_coord(c, n, fill):
    """TF's MapCoordinate on one float32 coordinate."""
    f32 = np.float32
    if fill == "reflect":
        if c < 0:
            if n <= 1:
                c = f32(0)
            else:
                sz2 = 2 * n
                if c < sz2:
                    c = f32(sz2 * int(-c / f32(sz2))) + c
                c = c + f32(sz2) if c < f32(-n) else -c - f32(1)
        elif c > f32(n - 1):
            if n <= 1:
                c = f32(0)
            else:
                sz2 = 2 * n
                c = c - f32(sz2 * int(c / f32(sz2)))
                if c >= f32(n):
                    c = f32(sz2) - c - f32(1)
    elif fill == "wrap":
        if c < 0:
            c = f32(0) if n <= 1 else c + f32(n * (int(-c / f32(n - 1)) + 1))
        elif c > f32(n - 1):
            c = f32(0) if n <= 1 else c - f32(n * int(c / f32(n - 1)))
    if fill == "constant":
        return c
    return min(max(c, f32(0)), f32(n - 1))


def warp_taps(t, H, W, fill, interp):
    """(index into the image with -1 for the fill value, weight) lists per output pixel."""
    f32 = np.float32
    t = [f32(v) for v in t]
    idx, wts = [], []
    for oy in range(H):
        for ox in range(W):
            fx, fy = f32(ox), f32(oy)
            ix = t[0] * fx + t[1] * fy + t[2]
            iy = t[3] * fx + t[4] * fy + t[5]
            x, y = map_coord(ix, W, fill), map_coord(iy, H, fill)

            def at(r, q):
                return int(r) * W + int(q) if 0 <= r < H and 0 <= q < W else -1
            if interp == "nearest":
                rnd = lambda v: math.copysign(math.floor(abs(float(v)) + 0.5), float(v))
                idx.append([at(rnd(y), rnd(x))])
                wts.append([1.0])
                continue
            y0, x0 = math.floor(y), math.floor(x)
            wx1, wx0 = float(x) - x0, x0 + 1 - float(x)
            wy1, wy0 = float(y) - y0, y0 + 1 - float(y)
            idx.append([at(y0, x0), at(y0, x0 + 1), at(y0 + 1, x0), at(y0 + 1, x0 + 1)])
            wts.append([wy0 * wx0, wy0 * wx1, wy1 * wx0, wy1 * wx1])
    return idx, wts


def warp_ref(x, t, fill, interp, fill_value):
    """x (C,H,W) float64 tensor -> y, through gathers (differentiable in x)."""
    C, H, W = x.shape
    idx, wts = warp_taps(t, H, W, fill, interp)
    flat = torch.cat([x.reshape(C, H * W), torch.full((C, 1), float(fill_value), dtype=x.dtype)], 1)
    k = len(idx[0])
    ii = torch.tensor([[j if j >= 0 else H * W for j in row] for row in idx])  # (HW, k)
    ww = torch.tensor(wts, dtype=x.dtype)
    y = (flat[:, ii.reshape(-1)].reshape(C, H * W, k) * ww).sum(2)
    return y.reshape(C, H, W)


def warp_case(name, shape, t, fill, interp, fill_value=0.0):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = draw(shape, g, 1.0).requires_grad_(True)
    dy = draw(shape, g, 1.0)
    y = warp_ref(x, t, fill, interp, fill_value)
    y.backward(dy)
    C, H, W = shape
    if interp == "bilinear" and (fill == "nearest" or (fill == "constant" and fill_value == 0)):
        gx = torch.arange(W, dtype=torch.float64)
        gy = torch.arange(H, dtype=torch.float64)
        oy, ox = torch.meshgrid(gy, gx, indexing="ij")
        t32 = torch.tensor(t, dtype=torch.float32).double()
        ix = t32[0] * ox + t32[1] * oy + t32[2]
        iy = t32[3] * ox + t32[4] * oy + t32[5]
        grid = torch.stack([2 * ix / (W - 1) - 1, 2 * iy / (H - 1) - 1], -1)[None]
        pad = "border" if fill == "nearest" else "zeros"
        ys = F.grid_sample(x.detach()[None], grid, mode="bilinear", padding_mode=pad, align_corners=True)[0]
        err = (ys - y.detach()).abs().max().item()
        assert err < 1e-5, f"{name}: the TF reading and grid_sample differ by {err}"
    tensors = [("x", x.detach()), ("t", torch.tensor(t, dtype=torch.float32)), ("dy", dy),
               ("y", y.detach()), ("dx", x.grad)]
    tensors = [(k, v.to(torch.float32)) for k, v in tensors]
    meta = {"fill": fill, "interp": interp, "fill_value": repr(float(fill_value))}
    write_safetensors(os.path.join(WARP_OUT, name + ".safetensors"), tensors, meta)


def rotation(a, H, W):
    c, s = math.cos(a), math.sin(a)
    return [c, -s, ((W - 1) - (c * (W - 1) - s * (H - 1))) / 2, s, c, ((H - 1) - (s * (W - 1) + c * (H - 1))) / 2]


def warp_cases():
    os.makedirs(WARP_OUT, exist_ok=True)
    H, W = 5, 7
    maps = {
        "rotate": rotation(0.7, H, W),
        "zoom": [1.3, 0, (W - 1) / 2 * (1 - 1.3), 0, 0.8, (H - 1) / 2 * (1 - 0.8)],
        "shift": [1, 0, 2.3, 0, 1, -1.7],
        "far": [1, 0, -11.4, 0, 1, 8.6],  # more than an image away: the periodic branches
        "shear": [0.9, 0.35, -0.6, -0.25, 1.1, 0.45],
    }
    for mname, t in maps.items():
        for fill in FILLS:
            for interp in ("bilinear", "nearest"):
                warp_case(f"{mname}_{fill}_{interp}", (2, H, W), t, fill, interp)
    warp_case("rotate_constant_value", (3, 6, 4), rotation(-2.2, 6, 4), "constant", "bilinear", 0.75)
    warp_case("zoom_in_reflect", (1, 6, 6), [0.6, 0, 1.0, 0, 0.6, 1.0], "reflect", "bilinear")
    warp_case("single_row_wrap", (2, 1, 6), [1, 0, -2.5, 0, 1, 0.3], "wrap", "bilinear")


def main():
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    keep = set()
    redraws = 0
    for name, spec, mode, n, xscale in CASES:
        keep.add(name)
        if only and name not in only:
            continue
        redraws += model_case(name, spec, mode, n, xscale)
    losses = [("loss_plain", 4, 5, 0.0, 1.0), ("loss_smooth01", 4, 7, 0.1, 2.0),
              ("loss_smooth03_large", 3, 6, 0.3, 30.0), ("loss_single_class", 3, 1, 0.2, 1.0)]
    for name, n, k, s, scale in losses:
        keep.add(name)
        if only and name not in only:
            continue
        loss_case(name, n, k, s, scale)
    binary = [("loss_bce_logits", 6, 0.0, "logits", 2.0), ("loss_bce_logits_large", 5, 0.1,
              "logits", 40.0), ("loss_bce_probs", 6, 0.0, "probs", 1.0),
              ("loss_bce_probs_smooth", 5, 0.2, "probs", 1.0)]
    for name, n, s, form, scale in binary:
        keep.add(name)
        if only and name not in only:
            continue
        binary_loss_case(name, n, s, form, scale)
    if not only or "warp" in only:
        warp_cases()
    if not only:
        for f in os.listdir(OUT):
            if f.endswith(".safetensors") and f[: -len(".safetensors")] not in keep:
                os.remove(os.path.join(OUT, f))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(keep)} cases, {total} bytes in {OUT}, {redraws} redraws for near-ties")


if __name__ == "__main__":
    main()
