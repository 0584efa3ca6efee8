#!/usr/bin/python3
"""torchvision's mobilenet_v2 (full width, 224x224, random weights, eval mode) exported to
ONNX, for `ordnet bench` / `ordnet run` (bench/mobilenet.sh), next to the same network in
PyTorch (bench/torch_bench.py --model mobilenet_v2).

usage: /usr/bin/python3 bench/torch_mobilenet_v2.py [--out build/mobilenet_v2.onnx]
                                                     [--fold-bn] [--opset 13]

Writes OUT (about 14 MB: not committed; build/ is ignored by git), OUT.x.npy (one
3x224x224 input, seed 0) and OUT.y.npy (PyTorch's logits for it), so that
`ordnet run OUT --input OUT.x.npy -o y.npy` can be checked against PyTorch before timing.
BatchNorm layers are exported as they are unless --fold-bn; their statistics are random.
The network: 17 inverted-residual blocks (1x1 expand, BN, ReLU6, 3x3 depthwise stride 1
or 2, BN, ReLU6, 1x1 project, BN, residual Add where shapes allow), then 1x1 conv to 1280,
global average pool, dropout, linear.
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
                                                  "mobilenet_v2.onnx"))
    ap.add_argument("--fold-bn", action="store_true")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(weights=None).eval()
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
                          output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
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
