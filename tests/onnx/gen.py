#!/usr/bin/python3
"""gen.py - ONNX test models for ordnet, exported from PyTorch.

Run with Debian's python3 (python3-torch, python3-onnx):   /usr/bin/python3 tests/onnx/gen.py

Writes tests/onnx/data/NAME.onnx (a model with random weights, exported in eval mode),
NAME.x.npy (a float32 input batch) and NAME.y.npy (PyTorch's output for it), read by
tests/test_onnx.c, which imports each model, runs it and compares with PyTorch (1e-4
relative). BatchNorm layers get random running statistics and affine parameters, so that
their eval-mode map is not the identity.

Models: the reference block (conv, bn, relu, maxpool, dropout) in several orders, every
supported activation and pooling variant, a Conv1d network, grouped, depthwise and
transposed convolutions (1-D and 2-D), a residual network built like
torchvision's resnet18 (width 8 instead of 64, so the file stays small), a model ending in
Softmax, and models with an export-time opset from 11 to 17. bad_*.onnx are built with
onnx.helper and must be rejected with a message naming the node and the problem.

    --check ORDNET   also exports every model back through `ORDNET export` and checks the
                     result with onnx.checker (full check, shape inference included).
"""

import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")


def randomize_bn(model, gen, positive=True):
    """Eval-mode BatchNorm with random statistics; positive: every scale >= 0 (the
    condition under which optimize may move a pool before the BN)."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            w = torch.rand(c, generator=gen) + 0.5
            if not positive:
                w *= torch.where(torch.rand(c, generator=gen) < 0.5, -1.0, 1.0)
            m.weight.copy_(w)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


def block(order, c):
    layers = {"bn": lambda: nn.BatchNorm2d(c), "relu": nn.ReLU, "maxpool": lambda: nn.MaxPool2d(2),
              "dropout": lambda: nn.Dropout(0.2)}
    return [layers[k]() for k in order]


class Blocks(nn.Module):
    """input(28,28,1) conv2d(8,3,same) {block} conv2d(16,3,same) {block} flatten dense(10):
    the reference model at a quarter of its width."""

    def __init__(self, order, view=False):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), *block(order, 8),
                                      nn.Conv2d(8, 16, 3, padding=1), *block(order, 16))
        self.fc = nn.Linear(16 * 7 * 7, 10)
        self.view = view

    def forward(self, x):
        x = self.features(x)
        # x.view(x.size(0), -1) exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape
        x = x.view(x.size(0), -1) if self.view else torch.flatten(x, 1)
        return self.fc(x)


class Activations(nn.Module):
    """Every activation, padding and pooling variant ordnet reads."""

    def __init__(self):
        super().__init__()
        c = 6
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(c, c, 1)
        self.prelu = nn.PReLU(c)
        self.elu = nn.ELU(0.7)
        self.conv3 = nn.Conv2d(c, c, (3, 5), padding=(1, 2), bias=False)  # non-square
        self.bn = nn.BatchNorm2d(c)
        self.selu = nn.SELU()
        self.celu = nn.CELU(0.8)
        self.tanh = nn.Tanh()
        self.conv4 = nn.Conv2d(c, c, 3, stride=2, padding=2, dilation=2)
        self.sigmoid = nn.Sigmoid()
        self.hardtanh = nn.Hardtanh(-0.5, 0.5)
        self.relu6 = nn.ReLU6()
        self.conv5 = nn.Conv2d(c, c, 3, padding=1)
        self.softplus = nn.Softplus()
        self.gelu = nn.GELU()
        self.silu = nn.SiLU()
        self.mish = nn.Mish()
        self.pool1 = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.pool2 = nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=True)
        self.pool3 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(c, 12)
        self.w2 = nn.Parameter(torch.randn(12, 5) * 0.3)  # x @ W + b: MatMul then Add
        self.b2 = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = self.prelu(self.conv2(self.lrelu(self.conv1(x))))
        x = self.tanh(self.celu(self.selu(self.bn(self.conv3(self.elu(x))))))
        x = self.relu6(self.hardtanh(self.sigmoid(self.conv4(x))))
        x = self.mish(self.silu(self.gelu(self.softplus(self.conv5(x)))))
        x = self.pool3(self.pool2(self.pool1(x)))
        x = torch.flatten(self.gap(x), 1)
        return self.fc1(x) @ self.w2 + self.b2


class ActivationsRound2(nn.Module):
    """Hardsigmoid, Hardswish, Softsign and exp between convolutions: below opset 14 PyTorch
    writes Hardswish as x * HardSigmoid(x), from 14 on as HardSwish."""

    def __init__(self):
        super().__init__()
        c = 6
        self.conv1 = nn.Conv2d(3, c, 3, padding=1)
        self.hsig = nn.Hardsigmoid()
        self.conv2 = nn.Conv2d(c, c, 1)
        self.bn = nn.BatchNorm2d(c)
        self.hswish = nn.Hardswish()
        self.pool = nn.MaxPool2d(2)
        self.softsign = nn.Softsign()
        self.conv3 = nn.Conv2d(c, c, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 5)

    def forward(self, x):
        x = self.pool(self.hswish(self.conv1(x)))
        x = self.softsign(self.hsig(self.bn(self.conv2(x))))
        x = torch.exp(self.conv3(x))
        return self.fc(torch.flatten(self.gap(x), 1))


def hard_sigmoid_keras(gen):
    """HardSigmoid with ONNX's (Keras 2's) alpha 0.2, beta 0.5, then Softsign and Exp, as a
    hand-built graph; the reference output from numpy."""
    nodes = [helper.make_node("HardSigmoid", ["input"], ["h"], name="hsig", alpha=0.2, beta=0.5),
             helper.make_node("Softsign", ["h"], ["s"], name="ssign"),
             helper.make_node("Exp", ["s"], ["output"], name="expo")]
    shape = [2, 3, 5, 5]
    g = helper.make_graph(nodes, "hard_sigmoid_keras",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + shape[1:])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N"] + shape[1:])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    x = (torch.randn(*shape, generator=gen) * 4).numpy().astype(np.float64)
    h = np.clip(0.2 * x + 0.5, 0, 1)
    s = h / (1 + np.abs(h))
    save("hard_sigmoid_keras", m, torch.from_numpy(x.astype(np.float32)),
         torch.from_numpy(np.exp(s).astype(np.float32)))


class Conv1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(8, 8, 3, stride=2, padding=2, dilation=2), nn.ELU(),
            nn.AvgPool1d(3, stride=2, padding=1), nn.Conv1d(8, 6, 3), nn.GELU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 5))

    def forward(self, x):
        return self.net(x)


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock, with its module names."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout (7x7/2 stem, 3x3/2 max-pool, 4 stages of 2 basic
    blocks, global average pool, fc) at base width `width` (torchvision: 64)."""

    def __init__(self, width=8, classes=10):
        super().__init__()
        w = width
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], w
        for i, cout in enumerate((w, 2 * w, 4 * w, 8 * w)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * w, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SoftmaxHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 6 * 6, 7)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        return self.softmax(self.fc(torch.flatten(self.relu(self.conv(x)), 1)))


class GroupedTranspose(nn.Module):
    """Grouped, depthwise (multiplier 2) and pointwise convs, MobileNet's BN-ReLU6 around
    them, then transposed convs: grouped with stride, padding, output_padding and
    dilation, and a depthwise one."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(4, 8, 3, 1, 1, groups=2), nn.BatchNorm2d(8), nn.ReLU6(),
            nn.Conv2d(8, 16, 3, 2, 1, groups=8, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8),
            nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2), nn.ReLU(),
            nn.ConvTranspose2d(6, 6, (2, 3), stride=(1, 2), padding=(0, 1), dilation=2, groups=6,
                               bias=False), nn.BatchNorm2d(6))

    def forward(self, x):
        return self.net(x)


class Conv1dTranspose(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(4, 8, 3, 2, 1, groups=4), nn.ReLU(),
                                 nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1, output_padding=1, groups=2))

    def forward(self, x):
        return self.net(x)


def export(name, model, x, opset, gen, positive_bn=True, keep_bn=False, **kw):
    """keep_bn: export BatchNormalization nodes as they are (TrainingMode.PRESERVE of an
    eval-mode model) instead of letting the exporter fold them into the convolutions."""
    model.eval()
    with torch.no_grad():
        randomize_bn(model, gen, positive_bn)
        y = model(x)
        f = io.BytesIO()
        mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(model, x, f, opset_version=opset, input_names=["input"], training=mode,
                          output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                          **kw)
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    save(name, m, x, y)
    return m


def save(name, m, x, y):
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    np.save(os.path.join(OUT, name + ".x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + ".y.npy"), y.numpy().astype(np.float32))


def with_dropout(m, after_op, ratio):
    """PyTorch drops Dropout from eval-mode exports; put one back after the first node of
    type after_op, as other exporters write it (ratio as an input, opset >= 12)."""
    g = m.graph
    for i, n in enumerate(g.node):
        if n.op_type == after_op:
            old = n.output[0]
            n.output[0] = old + "_pre_dropout"
            g.initializer.append(helper.make_tensor("dropout_ratio", TensorProto.FLOAT, [], [ratio]))
            d = helper.make_node("Dropout", [n.output[0], "dropout_ratio"], [old],
                                 name="/features/dropout/Dropout")
            g.node.insert(i + 1, d)
            break
    onnx.checker.check_model(m)
    return m


def tiny(name, nodes, inits=(), opset=13, shape=(1, 2, 8, 8), out_shape=None):
    """A hand-built graph for the error cases."""
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def bad_cases():
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1, 3, 3], np.ones(36, np.float32))
    tiny("bad_lstm", [helper.make_node("Relu", ["input"], ["r"], name="relu1"),
                      helper.make_node("LSTM", ["r", "w", "w"], ["y"], name="lstm1", hidden_size=4)],
         [w])
    tiny("bad_opset", [helper.make_node("Relu", ["input"], ["y"], name="relu1")], opset=6)
    tiny("bad_group", [helper.make_node("Conv", ["input", "w"], ["y"], name="conv_g3", group=3)], [w])
    tiny("bad_attr", [helper.make_node("MaxPool", ["input"], ["y"], name="pool_dil",
                                       kernel_shape=[2, 2], dilations=[2, 2])])
    tiny("bad_transpose", [helper.make_node("Transpose", ["input"], ["y"], name="transpose_batch",
                                            perm=[1, 0, 2, 3])])
    tiny("bad_reshape", [helper.make_node("Reshape", ["input", "s"], ["y"], name="reshape_batch")],
         [helper.make_tensor("s", TensorProto.INT64, [2], [-1, 8])])


def check_export(ordnet):
    """ordnet export of every model must pass onnx.checker (check_export.py, also in ctest)."""
    subprocess.run([sys.executable, os.path.join(HERE, "check_export.py"), ordnet], check=True)



# ----- opsets 7 to 17 from PyTorch, and hand-built graphs for what PyTorch does not write -----

class OpsNet(nn.Module):
    """The operators whose attributes moved between opsets: Clip (ReLU6, Hardtanh: attributes
    before 11, inputs after), BatchNormalization, MaxPool with ceil_mode (opset 10+),
    AveragePool with padding (a Pad node at some opsets), Flatten, Gemm."""

    def __init__(self, ceil):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.relu6 = nn.ReLU6()
        self.pool1 = nn.MaxPool2d(3, 2, 1, ceil_mode=ceil)
        self.conv2 = nn.Conv2d(6, 8, 3, bias=False)
        self.hardtanh = nn.Hardtanh(-0.5, 0.75)
        self.pool2 = nn.AvgPool2d(3, 1, 1, count_include_pad=True)
        side = 5 if ceil else 4  # 12x12 in: 6x6 (floor) or 7x7 (ceil) pooled, then 3x3 valid
        self.fc = nn.Linear(8 * side * side, 5)

    def forward(self, x):
        x = self.pool1(self.relu6(self.bn1(self.conv1(x))))
        x = self.pool2(self.hardtanh(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class PoolHeads(nn.Module):
    """Global pooling kept as (N,C,1,1) (the ONNX output shape), a squeeze-and-excitation
    style 1x1 convolution on the pooled planes, and a second output."""

    def __init__(self, mean=False, squeeze=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.relu = nn.ReLU()
        self.gmp = nn.AdaptiveMaxPool2d(1)
        self.fc1 = nn.Conv2d(6, 4, 1)
        self.fc2 = nn.Conv2d(4, 6, 1, bias=False)
        self.mean, self.squeeze = mean, squeeze

    def forward(self, x):
        x = self.relu(self.conv(x))
        g = x.mean([2, 3], keepdim=True) if self.mean else F_adaptive_avg(x)
        y = self.fc2(self.relu(self.fc1(g)))
        if self.squeeze:
            y = y.squeeze(3).squeeze(2)
        return y, self.gmp(x)


def F_adaptive_avg(x):
    return torch.nn.functional.adaptive_avg_pool2d(x, 1)


class Conv1dGap(nn.Module):
    """(N,C,L) in, (N,C,1) out: a 1-D network ending in global pooling."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(2, 5, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                                 nn.Conv1d(5, 4, 3), nn.AdaptiveAvgPool1d(1))

    def forward(self, x):
        return self.net(x)


def export_multi(name, model, x, opset, gen, **kw):
    """export() for models with several outputs: NAME.y.npy, NAME.y1.npy, ..."""
    model.eval()
    with torch.no_grad():
        randomize_bn(model, gen)
        ys = model(x)
        f = io.BytesIO()
        names = ["output"] + [f"output{k}" for k in range(1, len(ys))]
        torch.onnx.export(model, x, f, opset_version=opset, input_names=["input"],
                          output_names=names, training=torch.onnx.TrainingMode.PRESERVE, **kw)
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    save(name, m, x, ys[0])
    for k in range(1, len(ys)):
        np.save(os.path.join(OUT, f"{name}.y{k}.npy"), ys[k].numpy().astype(np.float32))


def hand(name, nodes, inits, x, y, opset, inputs=None, check=True, out_shape=None):
    """A graph built with onnx.helper, its input x and the output y computed by PyTorch."""
    ins = inputs or [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x.shape))]
    if opset < 9:  # IR 3: every initializer is also a graph input (its default value)
        ins = ins + [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    g = helper.make_graph(nodes, name, ins,
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape or list(y.shape))],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7 if opset >= 13 else 5 if opset >= 10 else 4 if opset == 9 else 3
    if check:
        onnx.checker.check_model(m)
    save(name, m, x, y)


def tensor(name, a):
    a = np.asarray(a)
    if a.dtype == np.int64:
        return helper.make_tensor(name, TensorProto.INT64, a.shape, a.flatten().tolist())
    return helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.astype(np.float32).flatten().tolist())


def opset_cases(gen):
    F = torch.nn.functional
    for opset in (7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17):
        ceil = opset >= 10  # MaxPool's ceil_mode exists from opset 10
        x = torch.randn(2, 3, 12, 12, generator=gen)
        # before opset 9 (IR 3) every weight is also listed as a graph input
        export(f"opset{opset:02d}", OpsNet(ceil), x, opset, gen, keep_bn=True,
               **({"keep_initializers_as_inputs": True} if opset <= 9 else {}))
    x = torch.randn(2, 3, 8, 8, generator=gen)
    export_multi("heads_gap", PoolHeads(), x, 11, gen)
    export_multi("heads_mean", PoolHeads(mean=True, squeeze=True), x, 13, gen)
    export_multi("heads_squeeze11", PoolHeads(mean=True, squeeze=True), x, 11, gen)
    export("conv1d_gap", Conv1dGap(), torch.randn(2, 2, 16, generator=gen), 9, gen)

    # hand-built: what the opsets spell differently and PyTorch 1.13 does not write
    w = torch.randn(4, 3, 3, 3, generator=gen) * 0.3
    x = torch.randn(2, 3, 6, 6, generator=gen)
    with torch.no_grad():
        # Pad with attributes (opsets 2-10) before a Conv
        y = F.conv2d(F.pad(x, (1, 2, 0, 1)), w)
        hand("hand_pad_attr_op10", [helper.make_node("Pad", ["input"], ["p"], name="pad", mode="constant",
                                                      pads=[0, 0, 0, 1, 0, 0, 1, 2]),
                                     helper.make_node("Conv", ["p", "w"], ["y"], name="conv")],
             [tensor("w", w.numpy())], x, y, 10)
        # Pad with an axes input (opset 18) before an AveragePool (count_include_pad)
        y = F.avg_pool2d(F.pad(x, (1, 1, 2, 0)), 3, 1)
        hand("hand_pad_axes_op18", [helper.make_node("Pad", ["input", "pads", "", "axes"], ["p"], name="pad"),
                                    helper.make_node("AveragePool", ["p"], ["y"], name="pool",
                                                     kernel_shape=[3, 3])],
             [tensor("pads", np.array([2, 1, 0, 1], np.int64)), tensor("axes", np.array([-2, -1], np.int64))],
             x, y, 18, check=False)
        # Clip with attribute bounds (opsets 6-10); BatchNormalization with spatial=1 (7-8);
        # Dropout with its ratio attribute (7-11)
        c = 3
        sc, bi, mu, va = (torch.rand(c, generator=gen) + 0.5, torch.randn(c, generator=gen),
                          torch.randn(c, generator=gen), torch.rand(c, generator=gen) + 0.5)
        y = torch.clamp(F.batch_norm(x, mu, va, sc, bi, eps=1e-3), -0.4, 0.9)
        hand("hand_clip_bn_op7", [
            helper.make_node("BatchNormalization", ["input", "s", "b", "m", "v"], ["bn"], name="bn",
                             epsilon=1e-3, spatial=1, momentum=0.9),
            helper.make_node("Dropout", ["bn"], ["d"], name="drop", ratio=0.3),
            helper.make_node("Clip", ["d"], ["y"], name="clip", min=-0.4, max=0.9)],
            [tensor("s", sc.numpy()), tensor("b", bi.numpy()), tensor("m", mu.numpy()),
             tensor("v", va.numpy())], x, y, 7)
        # Gemm with transB=0, alpha and beta, C as (1, out) (opset 9: C required)
        xf = torch.randn(3, 7, generator=gen)
        wb = torch.randn(7, 4, generator=gen)
        cb = torch.randn(1, 4, generator=gen)
        y = 0.5 * xf @ wb + 2.0 * cb
        hand("hand_gemm_op9", [helper.make_node("Gemm", ["input", "w", "c"], ["y"], name="gemm", alpha=0.5,
                                                beta=2.0)],
             [tensor("w", wb.numpy()), tensor("c", cb.numpy())], xf, y, 9)
        # ReduceMean with an axes input (opset 18), keepdims=0
        y = x.mean([2, 3])
        hand("hand_reducemean_op18", [helper.make_node("ReduceMean", ["input", "axes"], ["y"], name="mean",
                                                       keepdims=0)],
             [tensor("axes", np.array([2, 3], np.int64))], x, y, 18, check=False)
        # Unsqueeze with an axes attribute (opset 11) after ReduceMean: (N,C) -> (N,C,1,1)
        y = x.mean([2, 3])[:, :, None, None]
        hand("hand_unsqueeze_op11", [helper.make_node("ReduceMean", ["input"], ["m"], name="mean", axes=[-1, -2],
                                                      keepdims=0),
                                     helper.make_node("Unsqueeze", ["m"], ["y"], name="unsq", axes=[2, 3])],
             [], x, y, 11)
        # Softmax over axis 1 of (N,C,1,1) after GlobalAveragePool (opset 11: coerced to 2-D)
        y = torch.softmax(x.mean([2, 3], keepdim=True), 1)
        hand("hand_softmax4d_op11", [helper.make_node("GlobalAveragePool", ["input"], ["g"], name="gap"),
                                     helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=1)],
             [], x, y, 11)
        # a graph input without an initializer besides the data: refused unless fed
        y = F.conv2d(x, w)
        ins = [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x.shape)),
               helper.make_tensor_value_info("w", TensorProto.FLOAT, list(w.shape))]
        hand("feed_conv", [helper.make_node("Conv", ["input", "w"], ["y"], name="conv")], [], x, y, 13,
             inputs=ins)
        np.save(os.path.join(OUT, "feed_conv.w.npy"), w.numpy().astype(np.float32))
        # input dimensions left open (N, 3, H, W): taken from the data given
        ins = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, "H", "W"])]
        hand("feed_dyn", [helper.make_node("Conv", ["input", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])],
             [tensor("w", w.numpy())], x, F.conv2d(x, w, padding=1), 13, inputs=ins, out_shape=["N", 4, "H", "W"])

class SqueezeExcite(nn.Module):
    """torchvision's SqueezeExcitation after a conv: x * sigmoid(fc2(relu(fc1(gap(x))))) with
    1x1 convolutions on the (N,C,1,1) average, as MobileNet v3 and EfficientNet have it."""

    def __init__(self, c=8):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU())
        self.fc1, self.fc2 = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)
        self.head = nn.Conv2d(c, 4, 3)

    def forward(self, x):
        x = self.conv(x)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(torch.nn.functional.adaptive_avg_pool2d(x, 1)))))
        return self.head(x * s)


class Inception(nn.Module):
    """Four branches joined along the channels (GoogLeNet), then DenseNet's running concat."""

    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 4, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU(), nn.Conv2d(2, 3, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(3, 2, 1))
        self.d1 = nn.Sequential(nn.BatchNorm2d(13), nn.ReLU(), nn.Conv2d(13, 4, 3, padding=1))
        self.d2 = nn.Sequential(nn.BatchNorm2d(17), nn.ReLU(), nn.Conv2d(17, 4, 3, padding=1))

    def forward(self, x):
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        feats = [x]
        for d in (self.d1, self.d2):
            feats.append(d(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class Elementwise(nn.Module):
    """Sub, Div, Max, Min between computed tensors, and a Concat along the width."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 3, 3, padding=1), nn.Conv2d(2, 3, 1)

    def forward(self, x):
        a, b = self.a(x), self.b(x)
        p = torch.nn.functional.softplus(b) + torch.sigmoid(a)  # > 0: a safe divisor
        y = torch.maximum(a - b, torch.minimum(a, b)) / p
        return torch.cat([y, a], 3)


def merge_cases(gen):
    """Merges of computed tensors: gates, concatenations, the elementwise merges, and the
    variadic Sum/Mean/Max/Min built by hand (PyTorch does not export them)."""
    export("merge_se", SqueezeExcite(), torch.randn(2, 3, 8, 8, generator=gen), 13, gen, keep_bn=True)
    export("merge_inception", Inception(), torch.randn(2, 3, 8, 8, generator=gen), 11, gen,
           keep_bn=True)
    export("merge_elementwise", Elementwise(), torch.randn(2, 2, 6, 5, generator=gen), 13, gen)
    x = torch.randn(2, 3, 5, 5, generator=gen)
    w = [torch.randn(3, 3, 1, 1, generator=gen) * 0.5 for _ in range(3)]
    F = torch.nn.functional
    c = [F.conv2d(x, wi) for wi in w]
    y = (c[0] + c[1] + c[2]) + (c[0] + c[1] + c[2]) / 3 + torch.maximum(torch.maximum(c[0], c[1]), c[2]) \
        - torch.minimum(torch.minimum(c[0], c[1]), c[2])
    nodes = [helper.make_node("Conv", ["input", f"w{i}"], [f"c{i}"]) for i in range(3)]
    nodes += [helper.make_node("Sum", ["c0", "c1", "c2"], ["s"]),
              helper.make_node("Mean", ["c0", "c1", "c2"], ["m"]),
              helper.make_node("Max", ["c0", "c1", "c2"], ["hi"]),
              helper.make_node("Min", ["c0", "c1", "c2"], ["lo"]),
              helper.make_node("Add", ["s", "m"], ["sm"]),
              helper.make_node("Add", ["sm", "hi"], ["smh"]),
              helper.make_node("Sub", ["smh", "lo"], ["y"])]
    hand("merge_variadic", nodes, [tensor(f"w{i}", w[i].numpy()) for i in range(3)], x, y, 13,
         out_shape=["N", 3, 5, 5])


class Resizes(nn.Module):
    """nn.Upsample nearest (Upsample at opset 9, Resize asymmetric/floor after), bilinear
    (half_pixel) and bilinear with align_corners, 2-D and 1-D."""

    def __init__(self, bilinear=True):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2)
        self.bilinear = bilinear

    def forward(self, x):
        F = torch.nn.functional
        x = self.conv2(self.up1(torch.relu(self.conv1(x))))
        if self.bilinear:
            x = F.interpolate(x, scale_factor=(2, 3), mode="bilinear", align_corners=False)
            x = F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True)
        return x


class Resize1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)

    def forward(self, x):
        F = torch.nn.functional
        x = F.interpolate(self.conv(x), scale_factor=2, mode="nearest")
        return F.interpolate(x, scale_factor=3, mode="linear", align_corners=False)


class Pads(nn.Module):
    """F.pad in every mode: reflect and replicate (edge) before a convolution, a constant
    other than 0, zeros before a max-pool (a layer: only a Conv or AveragePool folds it)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3)
        self.conv2 = nn.Conv2d(4, 4, 3)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        F = torch.nn.functional
        x = self.conv1(F.pad(x, (1, 2, 2, 1), mode="reflect"))
        x = self.conv2(F.pad(torch.tanh(x), (1, 1, 0, 2), mode="replicate"))
        x = F.pad(x, (1, 0, 2, 1), value=-0.5)
        return self.pool(F.pad(torch.relu(x), (0, 1, 1, 0)))


class Pads1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3)

    def forward(self, x):
        F = torch.nn.functional
        return self.conv(F.pad(F.pad(x, (2, 3), mode="reflect"), (1, 0), mode="replicate"))


class Crops(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x):
        return torch.sigmoid(self.conv(x)[:, :, 1:-2, 2:])


class Shuffle(nn.Module):
    """A ShuffleNet v2 unit as torchvision writes it: x.chunk(2, dim=1) (Slice at opset 11+
    with a dynamic batch), a branch, torch.cat, and channel_shuffle (Reshape to 5-D,
    Transpose, Reshape back)."""

    def __init__(self, c=8):
        super().__init__()
        h = c // 2
        self.branch = nn.Sequential(nn.Conv2d(h, h, 1), nn.BatchNorm2d(h), nn.ReLU(),
                                    nn.Conv2d(h, h, 3, padding=1, groups=h), nn.BatchNorm2d(h))
        self.conv = nn.Conv2d(3, c, 3, padding=1)

    @staticmethod
    def shuffle(x, groups):
        n, c, h, w = x.size()
        x = x.view(n, groups, c // groups, h, w)
        return torch.transpose(x, 1, 2).contiguous().view(n, -1, h, w)

    def forward(self, x):
        x = self.conv(x)
        a, b = x.chunk(2, dim=1)
        return self.shuffle(torch.cat((a, self.branch(b)), dim=1), 2)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: channels last, LayerNorm, channels first."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = torch.nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """A ConvNeXt stage as torchvision 0.14 writes it: depthwise 7x7 (here 3x3) conv, Permute,
    LayerNorm, Linear, GELU, Linear, Permute back, layer scale, residual add; a LayerNorm2d
    and a 2x2 stride-2 conv (the downsampling), and the head (pool, LayerNorm2d, Linear)."""

    def __init__(self, c=6):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.gelu = nn.GELU()
        self.scale = nn.Parameter(torch.rand(c, 1, 1) + 0.5)
        self.down = nn.Sequential(LayerNorm2d(c, eps=1e-6), nn.Conv2d(c, 2 * c, 2, stride=2))
        self.head_norm = LayerNorm2d(2 * c, eps=1e-6)
        self.fc = nn.Linear(2 * c, 3)
        with torch.no_grad():
            for m in (self.norm, self.down[0], self.head_norm):
                m.weight.copy_(torch.rand(m.weight.shape) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape) * 0.2)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.gelu(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
        x = x + self.scale * y
        x = self.down(x)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        return self.fc(torch.flatten(self.head_norm(x), 1))


def round3_cases(gen):
    """Resize / Upsample, Pad modes and Slice crops (round 3), at the opsets they change."""
    bad_cases()
    x = torch.randn(2, 2, 5, 6, generator=gen)
    export("resize_nearest_op9", Resizes(bilinear=False), x, 9, gen)
    for opset in (11, 13):
        export(f"resize_op{opset}", Resizes(), x, opset, gen)
    export("resize_1d_op13", Resize1d(), torch.randn(2, 2, 7, generator=gen), 13, gen)
    for opset in (9, 11, 13):
        export(f"pad_modes_op{opset}", Pads(), torch.randn(2, 2, 7, 8, generator=gen), opset, gen)
    export("pad_modes_1d_op13", Pads1d(), torch.randn(2, 2, 9, generator=gen), 13, gen)
    for opset in (9, 13):
        export(f"slice_crop_op{opset}", Crops(), torch.randn(2, 2, 7, 8, generator=gen), opset, gen)
    torch.manual_seed(5)
    for opset in (9, 13, 17):  # 17: LayerNormalization itself; below it, its decomposition
        export(f"convnext_op{opset}", ConvNeXtBlock(), torch.randn(2, 6, 6, 8, generator=gen), opset, gen)
    for opset in (11, 13):
        export(f"shuffle_op{opset}", Shuffle(), torch.randn(2, 3, 6, 5, generator=gen), opset, gen)
    # hand-built: Upsample with a scales attribute (opset 7), Resize with sizes, Pad at opset 18
    F = torch.nn.functional
    x = torch.randn(2, 3, 4, 5, generator=gen)
    w = torch.randn(2, 3, 1, 1, generator=gen)
    with torch.no_grad():
        y = F.conv2d(F.interpolate(x, scale_factor=(2, 3), mode="nearest"), w)
        hand("hand_upsample_op7", [helper.make_node("Upsample", ["input"], ["u"], name="up", mode="nearest",
                                                    scales=[1.0, 1.0, 2.0, 3.0]),
                                   helper.make_node("Conv", ["u", "w"], ["y"], name="conv")],
             [tensor("w", w.numpy())], x, y, 7)
        y = F.conv2d(F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True), w)
        hand("hand_resize_sizes_op13",
             [helper.make_node("Resize", ["input", "", "", "sizes"], ["u"], name="resize", mode="linear",
                               coordinate_transformation_mode="align_corners"),
              helper.make_node("Conv", ["u", "w"], ["y"], name="conv")],
             [tensor("w", w.numpy()), tensor("sizes", np.array([2, 3, 7, 9], np.int64))], x, y, 13)
        y = F.conv2d(F.pad(x, (2, 1, 0, 3), mode="reflect"), w)
        hand("hand_pad_reflect_op18",
             [helper.make_node("Pad", ["input", "pads", "", "axes"], ["p"], name="pad", mode="reflect"),
              helper.make_node("Conv", ["p", "w"], ["y"], name="conv")],
             [tensor("w", w.numpy()), tensor("pads", np.array([0, 2, 3, 1], np.int64)),
              tensor("axes", np.array([2, 3], np.int64))], x, y, 18, check=False)
        # Split along the channels (opset 11: sizes as an attribute; 13: as an input)
        W6 = torch.randn(6, 3, 1, 1, generator=gen)
        c = F.conv2d(x, W6)
        y = c[:, :2] - c[:, 2:4] + torch.relu(c[:, 4:])
        for opset in (11, 13):
            sz = {"split": [2, 2, 2]} if opset == 11 else {}
            ins = ["c"] if opset == 11 else ["c", "sizes"]
            hand(f"hand_split_op{opset}",
                 [helper.make_node("Conv", ["input", "w6"], ["c"], name="conv"),
                  helper.make_node("Split", ins, ["s0", "s1", "s2"], name="split", axis=1, **sz),
                  helper.make_node("Relu", ["s2"], ["r"], name="relu"),
                  helper.make_node("Sub", ["s0", "s1"], ["d"], name="sub"),
                  helper.make_node("Add", ["d", "r"], ["y"], name="add")],
                 [tensor("w6", W6.numpy())] + ([tensor("sizes", np.array([2, 2, 2], np.int64))]
                                               if opset == 13 else []), x, y, opset)
    tiny("bad_resize_cubic", [helper.make_node("Resize", ["input", "", "s"], ["y"], name="resize_cubic",
                                               mode="cubic")],
         [helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 2, 2])])
    tiny("bad_upsample_linear", [helper.make_node("Upsample", ["input", "s"], ["y"], name="up_lin",
                                                  mode="linear")],
         [helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 2, 2])], opset=9)
    tiny("bad_pad_wrap", [helper.make_node("Pad", ["input", "p"], ["y"], name="pad_reflect_big",
                                           mode="reflect")],
         [helper.make_tensor("p", TensorProto.INT64, [8], [0, 0, 8, 0, 0, 0, 0, 0])])


# ----- text: nn.Embedding (Gather of an initializer at int64 / int32 token ids) -----

class TextCNN(nn.Module):
    """Embedding -> transpose to (N, D, L) -> Conv1d -> ReLU -> AdaptiveMaxPool1d(1) ->
    Linear: the classic text CNN. kim: three kernel widths, each max over time
    (x.max(dim=2): ReduceMax), concatenated, as Kim (2014)."""

    def __init__(self, vocab=40, dim=8, kim=False):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.kim = kim
        ks = (2, 3, 4) if kim else (3,)
        self.convs = nn.ModuleList(nn.Conv1d(dim, 6, k) for k in ks)
        self.pool = nn.AdaptiveMaxPool1d(1)
        self.fc = nn.Linear(6 * len(ks), 4)

    def forward(self, x):
        h = self.emb(x).transpose(1, 2)
        if not self.kim:
            return self.fc(self.pool(torch.relu(self.convs[0](h))).squeeze(2))
        return self.fc(torch.cat([torch.relu(c(h)).max(dim=2)[0] for c in self.convs], 1))


class TextBag(nn.Module):
    """No convolution: a Linear on each token's vector (MatMul on the (N, L, D) Gather
    output), then the mean and the max over the tokens (ReduceMean, ReduceMax over axis 1)."""

    def __init__(self, vocab=30, dim=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.proj = nn.Linear(dim, 5)
        self.fc = nn.Linear(5 + dim, 3)

    def forward(self, x):
        e = self.emb(x)
        return self.fc(torch.cat([torch.relu(self.proj(e)).mean(1), e.max(1)[0]], 1))


def export_ids(name, model, ids, opset):
    """export() for models of token ids: NAME.x.npy keeps the integer dtype."""
    model.eval()
    with torch.no_grad():
        y = model(ids)
        f = io.BytesIO()
        torch.onnx.export(model, ids, f, opset_version=opset, input_names=["ids"], output_names=["output"],
                          dynamic_axes={"ids": {0: "N"}, "output": {0: "N"}})
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    np.save(os.path.join(OUT, name + ".x.npy"), ids.numpy())
    np.save(os.path.join(OUT, name + ".y.npy"), y.numpy().astype(np.float32))


def text_cases(gen):
    torch.manual_seed(6)
    for opset in (9, 11, 13):
        ids = torch.randint(0, 40, (3, 12), generator=gen)  # int64
        ids[0, :3] = torch.tensor([0, 39, 39])  # the first and the last rows of the table
        export_ids(f"textcnn_op{opset}", TextCNN(), ids, opset)
    export_ids("textcnn_kim_int32_op11", TextCNN(kim=True),
               torch.randint(0, 40, (2, 10), generator=gen).to(torch.int32), 11)
    export_ids("textbag_op13", TextBag(), torch.randint(0, 30, (3, 7), generator=gen), 13)
    # by hand: int32 ids through a Cast to int64, ReduceMax over time keeping the 1s (N,3,1)
    W = np.random.default_rng(6).standard_normal((7, 3)).astype(np.float32)
    ids = np.array([[0, 6, 2, 2, 5], [3, 1, 4, 0, 6]], np.int32)
    g = helper.make_graph(
        [helper.make_node("Cast", ["ids"], ["ids64"], name="cast", to=TensorProto.INT64),
         helper.make_node("Gather", ["table", "ids64"], ["e"], name="emb"),
         helper.make_node("Transpose", ["e"], ["t"], name="t", perm=[0, 2, 1]),
         helper.make_node("ReduceMax", ["t"], ["y"], name="max_time", axes=[2], keepdims=1)],
        "hand_text_max", [helper.make_tensor_value_info("ids", TensorProto.INT32, ["N", 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 1])], initializer=[tensor("table", W)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    m.ir_version = 6
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "hand_text_max_op11.onnx"))
    np.save(os.path.join(OUT, "hand_text_max_op11.x.npy"), ids)
    np.save(os.path.join(OUT, "hand_text_max_op11.y.npy"), W[ids].max(1)[:, :, None])
    # refused: integer ids read by anything but a Gather, a Gather of a computed tensor
    ids_in = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 5])]
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    table = helper.make_tensor("w2", TensorProto.FLOAT, [4, 2], np.ones(8, np.float32))
    for name, nodes, inits, extra_out in [
            ("bad_ids_relu", [helper.make_node("Cast", ["ids"], ["c"], name="cast", to=TensorProto.INT32),
                              helper.make_node("Relu", ["c"], ["y"], name="relu_ids")], [], []),
            ("bad_gather_3d", [helper.make_node("Gather", ["w3", "ids"], ["y"], name="gather_3d")],
             [helper.make_tensor("w3", TensorProto.FLOAT, [4, 2, 2], np.ones(16, np.float32))], []),
            ("bad_ids_output", [helper.make_node("Gather", ["w2", "ids"], ["y"], name="emb")], [table],
             [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 5])])]:
        g = helper.make_graph(nodes, name, ids_in, out + extra_out, initializer=inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 7
        onnx.save(m, os.path.join(OUT, name + ".onnx"))


def main():
    if sys.argv[1:] == ["round3"]:  # only the round-3 models
        round3_cases(torch.Generator().manual_seed(4))
        return
    if sys.argv[1:] == ["text"]:  # only the embedding models
        text_cases(torch.Generator().manual_seed(6))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check_export(sys.argv[2])
        return
    if sys.argv[1:] == ["merges"]:  # only the merge models
        merge_cases(torch.Generator().manual_seed(3))
        return
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    orders = {"block_bn_relu_pool": (["bn", "relu", "maxpool", "dropout"], 13, False),
              "block_relu_bn_pool": (["relu", "bn", "maxpool", "dropout"], 14, False),
              "block_pool_relu_bn": (["maxpool", "relu", "bn", "dropout"], 11, True),
              "block_pool_bn_relu": (["dropout", "maxpool", "bn", "relu"], 17, False)}
    for name, (order, opset, view) in orders.items():
        x = torch.randn(3, 1, 28, 28, generator=gen)
        m = export(name, Blocks(order, view), x, opset, gen)
        if name == "block_bn_relu_pool":
            save(name, with_dropout(m, "MaxPool", 0.2), x, torch.from_numpy(
                np.load(os.path.join(OUT, name + ".y.npy"))))
    export("activations", Activations(), torch.randn(3, 3, 16, 16, generator=gen), 17, gen,
           positive_bn=False, keep_bn=True)
    export("conv1d", Conv1d(), torch.randn(3, 2, 64, generator=gen), 13, gen)
    export("resnet18_w8", ResNet18(8), torch.randn(2, 3, 64, 64, generator=gen), 14, gen,
           keep_bn=True)
    export("softmax_head", SoftmaxHead(), torch.randn(3, 1, 8, 8, generator=gen), 13, gen)
    for opset in (13, 14):
        export(f"activations_round2_opset{opset}", ActivationsRound2(),
               torch.randn(3, 3, 12, 12, generator=gen) * 3, opset, gen, keep_bn=True)
    hard_sigmoid_keras(gen)
    export("grouped_transpose", GroupedTranspose(), torch.randn(2, 4, 10, 12, generator=gen), 13, gen,
           positive_bn=False, keep_bn=True)
    export("conv1d_transpose", Conv1dTranspose(), torch.randn(2, 4, 15, generator=gen), 13, gen)
    bad_cases()
    opset_cases(torch.Generator().manual_seed(2))
    merge_cases(torch.Generator().manual_seed(3))
    round3_cases(torch.Generator().manual_seed(4))
    text_cases(torch.Generator().manual_seed(6))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1024:.0f} KiB, in {OUT}")


if __name__ == "__main__":
    main()
