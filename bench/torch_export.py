#!/usr/bin/python3
"""A torchvision classifier (full width, 224x224, random weights, eval mode) exported to ONNX
for `ordnet bench` / `ordnet run`, the twin of the same network that bench/torch_bench.py
times in PyTorch (bench/run.sh, bench/mobilenet.sh).

usage: /usr/bin/python3 bench/torch_export.py --model resnet18|resnet50|mobilenet_v2|...
                                              [--out build/MODEL.onnx] [--fold-bn] [--opset 13]

Writes OUT (tens of MB: not committed; build/ is ignored by git), and next to it OUT.x.npy
(one 3x224x224 input, seed 0) and OUT.y.npy (PyTorch's logits for it), so that
`ordnet run OUT --input OUT.x.npy -o y.npy` is checked against PyTorch before timing.
By default the BatchNorm layers are exported as they are (the layers PyTorch runs in eval
mode); --fold-bn lets the exporter fold them into the convolutions (as `ordnet optimize`
would). BatchNorm statistics are random, so the output is not trivial.
"""
import argparse
import io
import os

import numpy as np
import onnx
import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a torchvision.models constructor name")
    ap.add_argument("--out", help="default: build/MODEL.onnx")
    ap.add_argument("--fold-bn", action="store_true")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    out = a.out or os.path.join(os.path.dirname(__file__), "..", "build", a.model + ".onnx")
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.model)(weights=None).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.1)
        x = torch.randn(1, 3, 224, 224, generator=g)
        y = model(x)
        f = io.BytesIO()
        mode = torch.onnx.TrainingMode.EVAL if a.fold_bn else torch.onnx.TrainingMode.PRESERVE
        torch.onnx.export(model, x, f, opset_version=a.opset, training=mode,
                          do_constant_folding=a.fold_bn, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    onnx.save(m, out)
    np.save(out + ".x.npy", x.numpy())
    np.save(out + ".y.npy", y.numpy())
    print(f"wrote {out} ({os.path.getsize(out) / 2**20:.1f} MiB, opset {a.opset}, "
          f"{'BN folded' if a.fold_bn else 'BN kept'}), {out}.x.npy, {out}.y.npy")


if __name__ == "__main__":
    main()
