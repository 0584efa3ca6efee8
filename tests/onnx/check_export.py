#!/usr/bin/python3
"""check_export.py ORDNET - every file `ordnet export` writes passes onnx.checker.

Run by ctest (onnx_checker) with Debian's python3; needs python3-onnx and python3-numpy (not
torch) and exits 77 (ctest: skipped) with a message when they are missing.

Exports through ORDNET every model of tests/onnx/data (read back from ONNX) and the models
with every op the exporter writes (the compact forms of test_onnx.c's all_ops; an embedding
is a Gather of its table at int64 token ids), then checks
each with onnx.checker (full check: strict shape inference included) and that the inferred
output dimensions are the declared ones and, for the data models, PyTorch's
(NAME.y.npy, NAME.y1.npy, ...).
"""

import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
except ImportError as e:
    print(f"skipped: {e} (apt-get install python3-onnx python3-numpy)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
ALL_OPS = [
    "input(16,16,3) conv2d(8,3,same,name=c1) batchnorm relu conv2d(8,3,same,bias=0) tanh "
    "add(c1) sigmoid minpool2d(2) leaky_relu(0.2) elu(0.5) celu(0.7) selu prelu "
    "avgpool2d(3,1,1) hardtanh(-0.4,0.6) relu6 softplus gelu silu mish dropout(0.3) "
    "maxpool2d(3,2,1,1) avgpool2d(2,2,1,0,0) identity conv2d(6,(3,1),2,(1,0),(1,1)) "
    "global_avgpool dense(10) batchnorm prelu dense(4,bias=0)",
    "input(32,4) conv1d(6,3) relu maxpool1d avgpool1d(3,1,1) minpool1d(2) conv1d(5,3,1,same,2) "
    "flatten dense(5)",
    "input(12,12,4) conv2d(8,3,same,groups=2,name=g) conv2d(8,3,same,groups=8) multiply(g) "
    "conv2d_transpose(4,3,2) hard_sigmoid hard_swish softsign exponential conv2d(4,3,same,name=a) "
    "conv2d(4,1,name=b) subtract(a) maximum(b) minimum(a) average(b) concat(a) flatten dense(3)",
    "input(32,4) conv1d_transpose(4,3,2) conv1d(6,3,groups=2) flatten dense(3)",
    "input(7,8,3) upsample2d(2) relu upsample2d((1.5,2.5),bilinear) tanh upsample2d(2,bilinear,1) "
    "zeropad2d((1,2,3,0),reflect) relu zeropad2d((2,0,1,1),edge) relu zeropad2d(1,value=-0.5) "
    "relu zeropad2d((0,1,1,0)) crop2d((1,2,0,3)) conv2d(4,3) flatten dense(3)",
    "input(9,3) upsample1d(2) relu upsample1d(3,linear) zeropad1d((2,4),reflect) relu "
    "zeropad1d((1,3),edge) crop1d((2,1)) conv1d(2,3) flatten dense(2)",
    "input(5,6,8) conv2d(8,1,name=a) channel_slice(2,4) relu channel_shuffle(2) "
    "channel_shuffle(4) concat(a) channel_slice(1,6) flatten dense(3)",
    "input(9,6) channel_shuffle(3) channel_slice(2,3) conv1d(2,3) flatten dense(2)",
    "input(5,6,4) conv2d(6,3,same) layernorm(axis=0) permute((1,2,0)) conv2d(3,1) layernorm "
    "reshape((3,-1)) conv1d(4,3) permute((1,0)) flatten reshape((2,-1,4)) conv2d(2,1) flatten "
    "dense(3) layernorm",
    "input(10) embedding(12,5,name=emb) conv1d(4,3) relu conv1d(6,2,name=c) layernorm(axis=0) "
    "maxpool1d(2) flatten dense(3)",
]


def dims_of(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def check(ordnet, src, dst, want=None):
    subprocess.run([ordnet, "export", src, "-o", dst], check=True, stdout=subprocess.DEVNULL)
    m = onnx.load(dst)
    onnx.checker.check_model(m, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    declared = {o.name: dims_of(o) for o in m.graph.output}
    outs = []
    for k, o in enumerate(inferred.graph.output):
        got = dims_of(o)
        assert got[1:] == declared[o.name][1:], (src, o.name, got, declared[o.name])
        if want is not None:
            assert got[1:] == list(want[k][1:]), (src, o.name, got, want[k])
        outs.append(f"{o.name} (N, {', '.join(map(str, got[1:]))})")
    return outs


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    ordnet = sys.argv[1]
    names = sorted(f[:-5] for f in os.listdir(DATA)
                   if f.endswith(".onnx") and not f.startswith(("bad_", "feed_")))
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            ys, k = [np.load(os.path.join(DATA, name + ".y.npy")).shape], 1
            while os.path.exists(os.path.join(DATA, f"{name}.y{k}.npy")):
                ys.append(np.load(os.path.join(DATA, f"{name}.y{k}.npy")).shape)
                k += 1
            outs = check(ordnet, os.path.join(DATA, name + ".onnx"), os.path.join(tmp, name + ".onnx"), ys)
            print(f"export {name}: onnx.checker ok, {', '.join(outs)}")
            n += 1
        for i, spec in enumerate(ALL_OPS):
            outs = check(ordnet, spec, os.path.join(tmp, f"all_ops_{i}.onnx"))
            print(f"export all-ops model {i}: onnx.checker ok, {', '.join(outs)}")
            n += 1
    print(f"{n} exported models pass onnx.checker (full check, onnx {onnx.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
