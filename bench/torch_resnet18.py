#!/usr/bin/python3
"""The twin of `ordnet bench` on ResNet-18: torchvision's resnet18 (full width, 224x224,
random weights, eval mode) exported to ONNX, for `ordnet bench` / `ordnet run` to load with
on_onnx_load(), next to the same network in PyTorch.

usage: /usr/bin/python3 bench/torch_resnet18.py [--out build/resnet18.onnx] [--fold-bn]
                                                [--opset 14] [--model resnet50]

--model resnet50 exports torchvision's ResNet-50 the same way (give --out too).

Writes OUT (about 45 MB: not committed; build/ is ignored by git), and next to it
OUT.x.npy (one 3x224x224 input, seed 0) and OUT.y.npy (PyTorch's logits for it), so that
`ordnet run OUT --input OUT.x.npy -o y.npy` can be checked against PyTorch before timing.
By default the BatchNorm layers are exported as they are (the same layers PyTorch runs in
eval mode); --fold-bn lets the exporter fold them into the convolutions (as
`ordnet optimize` would). BatchNorm statistics are random, so the output is not trivial.
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
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                  "resnet18.onnx"))
    ap.add_argument("--fold-bn", action="store_true")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet50"])
    a = ap.parse_args()
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
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(m, a.out)
    np.save(a.out + ".x.npy", x.numpy())
    np.save(a.out + ".y.npy", y.numpy())
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 2**20:.1f} MiB, opset {a.opset}, "
          f"{'BN folded' if a.fold_bn else 'BN kept'}), {a.out}.x.npy, {a.out}.y.npy")


if __name__ == "__main__":
    main()
