#!/usr/bin/python3
"""onnx_zoo.py - every CNN image classifier of torchvision 0.14 through ordnet, from ONNX.

Run with Debian's python3 (python3-torch, python3-torchvision, python3-onnx):

    /usr/bin/python3 bench/onnx_zoo.py                       # the smallest model of each family
    /usr/bin/python3 bench/onnx_zoo.py --all                 # every classifier (slow: hours)
    /usr/bin/python3 bench/onnx_zoo.py --models resnet18,vgg11 --opsets 13

For each model (random weights, no download, eval mode, BatchNorm statistics randomized so
that they are not the identity) and each opset (9 where PyTorch 1.13 can export it, 11,
13): export to ONNX, run the file through `ordnet run`, then through `ordnet optimize` and
`ordnet run` again, and compare both with PyTorch's output (max|a - b| / max|b| <= 1e-4).
Prints one row per model and opset: whether the export, the import and run, the match,
and the optimized run and match succeeded, the largest relative error, and why a step
failed (the first line of the error). This is a check of correctness, not a benchmark:
inputs are small (64x64 where the model allows; 224 for VGG and AlexNet, whose adaptive
pooling exports only when it divides evenly; 96 for Inception v3) and batch 2.

--json FILE also writes the rows as JSON; --keep DIR keeps the .onnx files and arrays.
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# family -> (models, input size); the first of each list is the quick run's
FAMILIES = [
    ("ResNet", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"], 64),
    ("ResNeXt", ["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"], 64),
    ("Wide ResNet", ["wide_resnet50_2", "wide_resnet101_2"], 64),
    ("VGG", ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"], 224),
    ("AlexNet", ["alexnet"], 224),
    ("SqueezeNet", ["squeezenet1_0", "squeezenet1_1"], 64),
    ("DenseNet", ["densenet121", "densenet161", "densenet169", "densenet201"], 64),
    ("GoogLeNet", ["googlenet"], 64),
    ("Inception v3", ["inception_v3"], 96),
    ("MobileNet v2", ["mobilenet_v2"], 64),
    ("MobileNet v3", ["mobilenet_v3_small", "mobilenet_v3_large"], 64),
    ("MnasNet", ["mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"], 64),
    ("ShuffleNet v2", ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                       "shufflenet_v2_x2_0"], 64),
    ("EfficientNet", ["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                      "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                      "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l"], 64),
    ("RegNet", ["regnet_x_400mf", "regnet_y_400mf", "regnet_x_800mf", "regnet_y_800mf",
                "regnet_x_1_6gf", "regnet_y_1_6gf", "regnet_x_3_2gf", "regnet_y_3_2gf",
                "regnet_x_8gf", "regnet_y_8gf", "regnet_x_16gf", "regnet_y_16gf", "regnet_x_32gf",
                "regnet_y_32gf", "regnet_y_128gf"], 64),
    ("ConvNeXt", ["convnext_tiny", "convnext_small", "convnext_base", "convnext_large"], 64),
]
TOL = 1e-4


def build(name):
    kw = {"weights": None}
    if name == "googlenet":
        kw.update(aux_logits=False, init_weights=True)
    if name == "inception_v3":
        kw.update(aux_logits=False, init_weights=True)
    model = getattr(torchvision.models, name)(**kw)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # eval-mode BatchNorm that is not the identity
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) * 0.5 + 0.75)
    return model.eval()


def first_line(text):
    for line in text.strip().splitlines()[::-1]:
        line = line.strip()
        if line and not line.startswith(("warnings.warn", "  ")):
            return line[:300]
    return text.strip()[:300]


def relerr(a, b):
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b)) / (np.max(np.abs(b)) + 1e-12))


def ordnet_run(ordnet, onnx_path, x_path, y_path):
    p = subprocess.run([ordnet, "run", onnx_path, "--input", x_path, "-o", y_path, "--quiet"],
                       capture_output=True, text=True)
    if p.returncode:  # "ordnet run: /tmp/.../x.onnx: node ..." -> "node ..."
        why = first_line(p.stderr or p.stdout).replace("ordnet run: ", "")
        return None, why.replace(onnx_path + ": ", "")
    return np.load(y_path), ""


def check(ordnet, name, size, opset, tmp):
    row = {"model": name, "opset": opset, "input": size, "export": False, "run": False,
           "match": False, "opt_run": False, "opt_match": False, "err": None, "opt_err": None,
           "why": ""}
    torch.manual_seed(0)
    model = build(name)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x).numpy()
    path = os.path.join(tmp, f"{name}_op{opset}.onnx")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                              output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    except Exception as e:  # PyTorch cannot write this model at this opset: its first sentence
        msg = (str(e) or type(e).__name__).strip().split(" [Caused by")[0].split(". Please")[0]
        row["why"] = "PyTorch export: " + msg.splitlines()[0][:200]
        return row
    row["export"] = True
    xp, yp = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
    np.save(xp, x.numpy())
    out, why = ordnet_run(ordnet, path, xp, yp)
    if out is None:
        row["why"] = why
        return row
    row["run"] = True
    row["err"] = relerr(out, y)
    row["match"] = row["err"] <= TOL
    if not row["match"]:
        row["why"] = f"output differs: {row['err']:.3g} (shape {out.shape} vs {y.shape})"
    opt = os.path.join(tmp, f"{name}_op{opset}.opt.onnx")
    p = subprocess.run([ordnet, "optimize", path, "-o", opt], capture_output=True, text=True)
    if p.returncode:
        why = first_line(p.stderr or p.stdout).replace("ordnet optimize: ", "")
        row["why"] = row["why"] or "optimize: " + why.replace(path + ": ", "")
        return row
    out, why = ordnet_run(ordnet, opt, xp, yp)
    if out is None:
        row["why"] = row["why"] or "optimized: " + why
        return row
    row["opt_run"] = True
    row["opt_err"] = relerr(out, y)
    row["opt_match"] = row["opt_err"] <= TOL
    if not row["opt_match"] and not row["why"]:
        row["why"] = f"optimized output differs: {row['opt_err']:.3g}"
    return row


def mark(ok):
    return "yes" if ok else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ordnet", default=os.path.join(ROOT, "build", "ordnet"))
    ap.add_argument("--opsets", default="9,11,13")
    ap.add_argument("--models", default="", help="comma-separated torchvision names")
    ap.add_argument("--all", action="store_true", help="every classifier, not one per family")
    ap.add_argument("--json", default="")
    ap.add_argument("--keep", default="")
    a = ap.parse_args()
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    sizes = {m: s for _, ms, s in FAMILIES for m in ms}
    if a.models:
        names = a.models.split(",")
    else:
        names = [m for _, ms, _ in FAMILIES for m in (ms if a.all else ms[:1])]
    opsets = [int(o) for o in a.opsets.split(",")]
    rows = []
    tmp = a.keep or tempfile.mkdtemp(prefix="onnx_zoo_")
    os.makedirs(tmp, exist_ok=True)
    print(f"{'model':22} {'opset':>5} {'export':>6} {'run':>4} {'match':>5} {'opt run':>7} "
          f"{'opt match':>9} {'rel err':>8}  why not", flush=True)
    for name in names:
        for opset in opsets:
            t0 = time.time()
            r = check(a.ordnet, name, sizes.get(name, 64), opset, tmp)
            r["seconds"] = round(time.time() - t0, 1)
            rows.append(r)
            err = f"{r['err']:.1e}" if r["err"] is not None else ""
            print(f"{name:22} {opset:>5} {mark(r['export']):>6} {mark(r['run']):>4} {mark(r['match']):>5} "
                  f"{mark(r['opt_run']):>7} {mark(r['opt_match']):>9} {err:>8}  {r['why']}", flush=True)
            for f in os.listdir(tmp):
                if not a.keep and f.endswith(".onnx"):
                    os.remove(os.path.join(tmp, f))
    ok = sum(r["match"] and r["opt_match"] for r in rows)
    exported = sum(r["export"] for r in rows)
    print(f"\n{ok} of {exported} exported (model, opset) pairs run and match PyTorch to {TOL:g} before "
          f"and after optimize; {len(rows) - exported} could not be exported by PyTorch")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
