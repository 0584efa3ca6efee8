"""The Python module over libordnet: results against NumPy arithmetic, round trips through
files, errors carrying the library's message, training and the study's progress.
Run: /usr/bin/python3 -m pytest python/tests (with ordnet importable: ctest sets PYTHONPATH
to the build tree; after `pip install ./python` it is the installed one)."""

import os
import pathlib

import numpy as np
import pytest

import ordnet

ROOT = pathlib.Path(__file__).resolve().parents[2]
SMALL = "input(12,12,1) conv2d(8,3,same) bn relu maxpool dropout(0.1) flatten dense(4)"
LAYERS = ["input", "conv2d", "batchnorm", "relu", "maxpool2d", "dropout", "flatten", "dense"]
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def separable(n=256, seed=0):
    """Images whose class is which quadrant is bright: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n).astype(np.int32)
    x = rng.random((n, 1, 12, 12), dtype=np.float32) * 0.2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, 0, 6 * r:6 * r + 6, 6 * q:6 * q + 6] += 0.8
    return x, y


def test_version_and_features():
    assert ordnet.__version__.count(".") == 2
    assert ordnet.features() <= {"onnx", "sqlite", "png", "openblas"}


def test_summary_of_text_and_keras_file_agree():
    s = ordnet.summary(SMALL)
    assert [l["type"] for l in s["layers"]] == LAYERS
    m = ordnet.model(SMALL)
    # trainable: conv 1*8*9+8, bn 2*8, dense 8*6*6*4+4; and bn's running mean and variance
    assert s["trainable_params"] == m.num_params == 80 + 16 + 1156
    assert s["total_params"] == m.num_params + 16
    k = ordnet.summary(str(ROOT / "examples" / "fashion_mnist.py"))
    ref = ordnet.summary("input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "
                         "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)")
    assert k["total_params"] == ref["total_params"]


def test_analyze_returns_the_pairs_and_classes():
    a = ordnet.analyze(SMALL, block="bn,relu,maxpool")
    assert isinstance(a["pairs"], list) and len(a["pairs"]) >= 5
    assert {p["verdict"] for p in a["pairs"]} <= {"exact", "exact-with-change", "conditional",
                                                  "rounding", "approximate", "never"}
    assert isinstance(a["classes"], list) and len(a["classes"]) >= 2
    # relu and maxpool commute exactly: their pair says so
    m = ordnet.model("input(8,8,1) conv2d(4,3) relu maxpool flatten dense(2)")
    pairs = {(p["first"], p["second"]): p["verdict"] for p in ordnet.analyze(m)["pairs"]}
    assert pairs[("relu", "maxpool2d")] == "exact" and pairs[("conv2d", "relu")] == "never"


def test_run_matches_numpy_for_a_dense_layer():
    m = ordnet.model("input(5) dense(3)", seed=3)
    t = m.tensors()
    w, b = t["dense.weight"], t["dense.bias"]
    assert w.shape == (3, 5) and b.shape == (3,)
    x = np.random.default_rng(1).standard_normal((7, 5)).astype(np.float32)
    np.testing.assert_allclose(m.run(x), x @ w.T + b, rtol=1e-5, atol=1e-6)
    # the tensors are views: writing them changes the model
    w[:] = 0
    np.testing.assert_allclose(m.run(x), np.broadcast_to(b, (7, 3)), atol=1e-7)


def test_run_any_batch_size_and_layout():
    m = ordnet.model(SMALL)
    x, _ = separable(37)
    full = m.run(x)
    assert full.shape == (37, 4) and full.dtype == np.float32
    # the GEMMs' blocking depends on the batch: equal up to rounding
    np.testing.assert_allclose(m.run(x, batch=5), full, atol=1e-6)  # chunks of 5, the last of 2
    np.testing.assert_allclose(m.run(x[3]), full[3], atol=1e-6)  # one sample
    np.testing.assert_array_equal(m.run(x.astype(np.float64)), full)  # converted
    np.testing.assert_array_equal(m.run(np.asfortranarray(x)), full)  # made contiguous
    assert m.run(x[:0]).shape == (0, 4)


def test_run_rejects_a_wrong_shape_with_the_models_input():
    m = ordnet.model(SMALL)
    with pytest.raises(ordnet.Error, match=r"\(N,1,12,12\).*shape \(2,3,12,12\)"):
        m.run(np.zeros((2, 3, 12, 12), np.float32))


def test_errors_carry_file_line_col(tmp_path):
    with pytest.raises(ordnet.Error, match=r"<string>:1:\d+: unknown layer 'bogus'"):
        ordnet.model("input(12,12,1) conv2d(8,3) bogus")
    f = tmp_path / "net.py"
    f.write_text("from tensorflow import keras\nmodel = keras.Sequential([\n"
                 "    keras.Input(shape=(28, 28, 1)),\n    keras.layers.Conv2D(8, 3, paddin='same'),\n])\n")
    with pytest.raises(ordnet.Error, match=r"net\.py:4:\d+"):
        ordnet.summary(str(f))
    with pytest.raises(FileNotFoundError):
        ordnet.load(tmp_path / "missing.ckpt")


def test_checkpoint_round_trip_keeps_outputs(tmp_path):
    x, y = separable(64)
    m = ordnet.train(SMALL, (x, y), test=None, epochs=1, batch=32, progress=False)
    p = tmp_path / "m.ckpt"
    m.save(p)
    back = ordnet.load(p)
    assert back.trained and back.info["epoch"] >= 0
    np.testing.assert_array_equal(back.run(x), m.run(x))


def test_checkpoint_damage_is_an_error(tmp_path):
    m = ordnet.model(SMALL)
    p = tmp_path / "m.ckpt"
    m.save(p)
    data = bytearray(p.read_bytes())
    data[-5] ^= 0xFF  # a weight byte
    p.write_bytes(bytes(data))
    with pytest.raises(ordnet.Error, match="m.ckpt"):
        ordnet.load(p)


@pytest.mark.skipif("onnx" not in ordnet.features(), reason="built without ONNX")
def test_onnx_round_trip(tmp_path):
    x, y = separable(32)
    m = ordnet.train(SMALL, (x, y), test=None, epochs=1, batch=32, progress=False)
    p = tmp_path / "m.onnx"
    m.save(p)
    back = ordnet.load(p)
    np.testing.assert_allclose(back.run(x), m.run(x), rtol=1e-5, atol=1e-5)


@pytest.mark.skipif("onnx" not in ordnet.features(), reason="built without ONNX")
def test_onnx_unsupported_operator_names_the_node(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    node = helper.make_node("Einsum", ["input", "input"], ["out"], name="my_einsum",
                            equation="nchw,nchw->nchw")
    g = helper.make_graph([node], "g",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 4, 4])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 1, 4, 4])])
    p = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(p))
    with pytest.raises(ordnet.Error, match="my_einsum"):
        ordnet.load(p)


def test_train_learns_and_reports_progress():
    x, y = separable(256)
    reports = []
    m = ordnet.model(SMALL)
    before = m.evaluate((x, y))["acc"]
    out = ordnet.train(m, (x, y), test=(x, y), epochs=3, batch=32, lr=1e-2, seed=1,
                       progress=lambda r: reports.append(r))
    assert out is m and len(m.history) == 3
    assert [h["epoch"] for h in m.history] == [1, 2, 3]
    assert any(not r["done"] for r in reports)  # per-batch reports too
    assert m.history[-1]["test_acc"] > 0.9 > before
    assert m.history[-1]["loss"] < m.history[0]["loss"]
    assert (m.predict(x) == y).mean() > 0.9


def test_train_progress_prints_lines(capsys):
    x, y = separable(64)
    ordnet.train(SMALL, (x, y), test=None, epochs=2, batch=32)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and out.endswith("\n")


def test_train_callback_can_stop_and_exceptions_propagate():
    x, y = separable(64)
    with pytest.raises(ordnet.Error, match="stopped"):
        ordnet.train(SMALL, (x, y), test=None, epochs=2, batch=16, progress=lambda r: True)

    def boom(r):
        raise ValueError("from the callback")
    with pytest.raises(ValueError, match="from the callback"):
        ordnet.train(SMALL, (x, y), test=None, epochs=2, batch=16, progress=boom)


def test_train_rejects_mismatched_data():
    x, y = separable(16)
    with pytest.raises(ordnet.Error, match="labels"):
        ordnet.train(SMALL, (x, y[:10]), test=None, epochs=1, progress=False)
    with pytest.raises(ValueError, match="opt"):
        ordnet.train(SMALL, (x, y), test=None, epochs=1, opt="rmsprop", progress=False)


def test_optimize_is_equal_at_inference(tmp_path):
    x, y = separable(128)
    m = ordnet.train(SMALL, (x, y), test=None, epochs=1, batch=32, progress=False)
    o = ordnet.optimize(m, output=tmp_path / "o.ckpt")
    whats = " | ".join(r["what"] for r in o.rewrites)
    assert "dropout" in whats and "batchnorm" in whats
    assert o.num_params < m.num_params  # BatchNorm folded away
    assert o.verified["max_abs"] < 1e-4 and o.verified["samples"] > 0
    np.testing.assert_allclose(o.run(x), m.run(x), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(ordnet.load(tmp_path / "o.ckpt").run(x), o.run(x))


@pytest.mark.skipif(not FASHION.is_dir(), reason="dataset-fashion-mnist not installed")
def test_load_data():
    x, y = ordnet.load_data("fashion-mnist", train=False, limit=100)
    assert x.shape == (100, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (100,) and y.min() >= 0 and y.max() <= 9
    assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.5


@pytest.mark.skipif("sqlite" not in ordnet.features() or not FASHION.is_dir(),
                    reason="built without SQLite, or no Fashion-MNIST")
def test_study_runs_and_logs(tmp_path):
    lines = []
    r = ordnet.study("input(28,28,1) conv2d(4,3,same) {relu maxpool} flatten dense(10)",
                     seeds=2, epochs=1, limit=256, test_limit=128, out=tmp_path / "s",
                     progress=lines.append)
    assert len(r["runs"]) == 2  # relu,maxpool and maxpool,relu are one class: one member x 2 seeds
    assert len(r["classes"]) == 1
    assert all(0 <= run["test_accuracy"] <= 1 for run in r["runs"])
    assert lines and any("seed" in l for l in lines)
    assert os.path.exists(r["report"])
    with pytest.raises(ordnet.Error, match="bogus"):
        ordnet.study("input(28,28,1) conv2d(4,3) {relu bogus} flatten dense(10)",
                     seeds=1, epochs=1, limit=64, test_limit=64, out=tmp_path / "t", progress=False)
