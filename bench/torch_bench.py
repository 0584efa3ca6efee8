#!/usr/bin/python3
"""The PyTorch twin of `ordnet bench`: the same model, batch, threads and synthetic data,
the same measurements (training steps of forward + cross-entropy + backward + SGD with
momentum; eval-mode inference under no_grad; batch-1 latency; peak RSS after training).

usage: /usr/bin/python3 bench/torch_bench.py [--model reference|resnet18|resnet50|mobilenet_v2]
           [--batch N]
           [--infer-batch N] [--threads N] [--seconds S] [--infer-only] [--json]
Run it "tuned" with OPENBLAS_NUM_THREADS=1 and the MALLOC_* settings of bench/run.sh.
"""
import argparse, json, resource, statistics, time

import torch
import torch.nn.functional as F


def reference():
    from torch_train import model  # the same twin the accuracy comparison trains
    return model(), (1, 28, 28)


def torchvision_model(name):
    def make():
        import torchvision
        return getattr(torchvision.models, name)(weights=None), (3, 224, 224)
    return make


MODELS = {"reference": reference}
for _name in ("resnet18", "resnet50", "mobilenet_v2"):
    MODELS[_name] = torchvision_model(_name)


def timed(fn, secs, min_reps):
    reps, t0 = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        el = time.perf_counter() - t0
        if el >= secs and reps >= min_reps:
            return reps / el


def median_ms(fn, secs, min_reps):
    """Batch-1 latency: the median of single calls, as ordnet bench and ort_bench.js report"""
    ts, t0 = [], time.perf_counter()
    while time.perf_counter() - t0 < secs or len(ts) < min_reps:
        a = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - a)
    return 1e3 * statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="reference")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--infer-only", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net, shape = MODELS[a.model]()
    x = torch.rand(max(a.batch, a.infer_batch), *shape) * 2 - 1
    y = torch.arange(max(a.batch, a.infer_batch)) * 7919 % 10
    xb, yb = x[:a.batch].contiguous(), y[:a.batch].contiguous()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step():
        out = net(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train = rss = None
    if not a.infer_only:
        net.train()
        for _ in range(3):
            step()
        train = a.batch * timed(step, a.seconds, 5)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    net.eval()
    xi, x1 = x[:a.infer_batch].contiguous(), x[:1].contiguous()
    with torch.no_grad():
        net(xi)
        infer = a.infer_batch * timed(lambda: net(xi), a.seconds, 3)
        net(x1)
        latency = median_ms(lambda: net(x1), a.seconds / 2, 10)
    r = {"threads": a.threads, "batch": a.batch, "infer_batch": a.infer_batch,
         "train_images_per_s": train, "infer_images_per_s": infer,
         "latency_ms_batch1": latency, "peak_rss_mb": rss, "torch": torch.__version__}
    if a.json:
        print(json.dumps(r))
    else:
        if train is not None:
            print(f"training {train:9.0f} images/s   peak RSS {rss:.1f} MB")
        print(f"inference {infer:8.0f} images/s\nlatency {latency:10.3f} ms at batch 1")


if __name__ == "__main__":
    main()
