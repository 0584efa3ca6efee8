#!/usr/bin/python3
"""onnx_zoo_speed.py - inference speed of the torchvision zoo in ordnet (from ONNX, optimized)
against tuned PyTorch, as a Markdown table for bench/RESULTS.md.

Run with Debian's python3 (python3-torch, python3-torchvision, python3-onnx) on a QUIET
machine (both engines' threads spin while waiting; nothing else may run):

    /usr/bin/python3 bench/onnx_zoo_speed.py                      # one model per family
    /usr/bin/python3 bench/onnx_zoo_speed.py --models resnet18,convnext_tiny --rounds 5
    /usr/bin/python3 bench/onnx_zoo_speed.py --all --threads 4 --out table.md

For each model (bench/onnx_zoo.py's list; random weights, eval mode, 224x224 and 299x299
for Inception v3): export to ONNX at opset 13, check `ordnet run` against PyTorch (1e-4
relative, else the row says so and is not timed), then for ROUNDS alternating rounds
measure `ordnet bench FILE --infer-only` (which optimizes the model first: BatchNorm folded
into convolutions, ...) and PyTorch in a separate process "tuned" as bench/run.sh tunes it
(OPENBLAS_NUM_THREADS=1 and glibc malloc settings): inference images/s at batch 8 and the
batch-1 latency. Prints the medians and the ratios (ordnet / PyTorch for images/s, higher
is better for ordnet; for latency lower is better for ordnet).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TUNED = {"OPENBLAS_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "33554432",
         "MALLOC_TRIM_THRESHOLD_": "4294967296", "MALLOC_TOP_PAD_": "268435456"}


def torch_one(name, size, threads, secs, batch):
    """Measured in its own (tuned) process: prints one JSON line."""
    import torch
    sys.path.insert(0, HERE)
    from onnx_zoo import build
    torch.set_num_threads(threads)
    model = build(name)
    x8, x1 = torch.randn(batch, 3, size, size), torch.randn(1, 3, size, size)

    def rate(fn, n):
        fn()  # warm-up
        reps, t0 = 0, time.perf_counter()
        while True:
            fn()
            reps += 1
            el = time.perf_counter() - t0
            if el >= secs and reps >= 3:
                return reps * n / el

    with torch.no_grad():
        ips = rate(lambda: model(x8), batch)
        lat = []
        model(x1)
        t_end = time.perf_counter() + secs
        while time.perf_counter() < t_end or len(lat) < 5:
            t0 = time.perf_counter()
            model(x1)
            lat.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"infer_images_per_s": ips, "latency_ms_batch1": statistics.median(lat)}))


def export(name, size, path):
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from onnx_zoo import build
    model = build(name)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = model(x).numpy()
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    np.save(path + ".x.npy", x.numpy())
    np.save(path + ".y.npy", y)


def matches(ordnet, path, tmp):
    import numpy as np
    out = os.path.join(tmp, "y.npy")
    p = subprocess.run([ordnet, "run", path, "--input", path + ".x.npy", "-o", out, "--quiet"],
                       capture_output=True, text=True)
    if p.returncode:
        return (p.stderr or p.stdout).strip().splitlines()[-1][:200]
    a, b = np.load(out), np.load(path + ".y.npy")
    e = float(np.abs(a.astype(np.float64) - b).max() / (np.abs(b).max() + 1e-12))
    return "" if e <= 1e-4 else f"output differs from PyTorch: {e:.2g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ordnet", default=os.path.join(ROOT, "build", "ordnet"))
    ap.add_argument("--models", default="")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", default="", help="also write the table to this file")
    ap.add_argument("--torch-one", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch_one:
        return torch_one(a.torch_one[0], int(a.torch_one[1]), a.threads, a.seconds, a.batch)
    sys.path.insert(0, HERE)
    from onnx_zoo import FAMILIES
    names = a.models.split(",") if a.models else [m for _, ms, _ in FAMILIES for m in (ms if a.all else ms[:1])]
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo_speed_") as tmp:
        for name in names:
            size = 299 if name == "inception_v3" else 224
            path = os.path.join(tmp, name + ".onnx")
            print(f"{name}: export", file=sys.stderr, flush=True)
            export(name, size, path)
            why = matches(a.ordnet, path, tmp)
            if why:
                rows.append((name, size, None, None, why))
                continue
            o, q = [], []
            for r in range(a.rounds):
                print(f"{name}: round {r + 1}", file=sys.stderr, flush=True)
                p = subprocess.run([a.ordnet, "bench", path, "--infer-only", "--infer-batch", str(a.batch),
                                    "--threads", str(a.threads), "--seconds", str(a.seconds), "--no-layers",
                                    "--json"], capture_output=True, text=True, check=True)
                o.append(json.loads(p.stdout.strip().splitlines()[-1]))
                p = subprocess.run([sys.executable, __file__, "--torch-one", name, str(size), "--threads",
                                    str(a.threads), "--seconds", str(a.seconds), "--batch", str(a.batch)],
                                   capture_output=True, text=True, check=True, env={**os.environ, **TUNED})
                q.append(json.loads(p.stdout.strip().splitlines()[-1]))
            med = lambda rs, k: statistics.median(x[k] for x in rs)
            rows.append((name, size, (med(o, "infer_images_per_s"), med(o, "latency_ms_batch1")),
                         (med(q, "infer_images_per_s"), med(q, "latency_ms_batch1")), ""))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    lines = [f"CPU: {cpu}; {a.threads} threads; medians of {a.rounds} alternating rounds of "
             f"{a.seconds:g} s; ordnet runs the ONNX export (opset 13) optimized, PyTorch the "
             f"module, tuned.", "",
             f"| model | input | ordnet img/s (batch {a.batch}) | PyTorch img/s | ratio | "
             f"ordnet ms (batch 1) | PyTorch ms | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, size, o, q, why in rows:
        if o is None:
            lines.append(f"| {name} | {size} | not timed: {why} | | | | | |")
        else:
            lines.append(f"| {name} | {size} | {o[0]:.1f} | {q[0]:.1f} | **{o[0] / q[0]:.2f}x** | "
                         f"{o[1]:.1f} | {q[1]:.1f} | **{o[1] / q[1]:.2f}** |")
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
