#!/usr/bin/python3
"""The PyTorch twin of ordnet's reference model and default recipe, for side-by-side
accuracy and speed: two blocks conv 3x3 same -> BN -> ReLU -> maxpool 2 -> dropout 0.2
(32 then 64 filters), flatten, dense 10; AdamW, one-cycle at 3e-3, label smoothing 0.1,
batch 128, per-channel normalization from the training set. --augment is ordnet's
`--augment` (each sample shifted by -2..2 pixels both ways, zeros shifted in, and flipped
left-right with probability 1/2); --flip flips only (as a random_flip(horizontal) layer at
the model's input does, Keras's RandomFlip("horizontal")); --head N puts a dense(N) -> ReLU -> dropout 0.3 before the
classifier and --conv-dropout X sets the blocks' dropout rate (examples/fast_fashion.txt's
model: --head 256 --conv-dropout 0.1). Every JSON record has "elapsed": seconds since
the script started, data loading included, as `ordnet train --json` reports it.

usage: /usr/bin/python3 bench/torch_train.py [--epochs N] [--limit N] [--threads N] [--json]
                                             [--augment | --flip] [--head N]
                                             [--conv-dropout X] [--lr X]
(Debian's python3-torch; the default python3 on some machines has no torch.)
"""
import argparse, gzip, json, math, struct, sys, time

T0 = time.time()

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def model(order="bn relu maxpool dropout", head=0, conv_dropout=0.2):
    layers, c = [], 1
    for f in (32, 64):
        layers.append(nn.Conv2d(c, f, 3, padding=1))
        for op in order.split():
            layers.append({"bn": lambda: nn.BatchNorm2d(f), "relu": nn.ReLU,
                           "maxpool": lambda: nn.MaxPool2d(2),
                           "dropout": lambda: nn.Dropout(conv_dropout)}[op]())
        c = f
    if head:
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 7 * 7, head), nn.ReLU(),
                             nn.Dropout(0.3), nn.Linear(head, 10))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def augment(x, g):
    """Shift each image by -2..2 pixels in both directions (zeros come in) and flip it
    left-right with probability 1/2, as ordnet's --augment does."""
    n, _, h, w = x.shape
    pad = F.pad(x, (2, 2, 2, 2))
    sy = torch.randint(0, 5, (n,), generator=g)
    sx = torch.randint(0, 5, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.5
    rows = (sy[:, None] + torch.arange(h)[None, :])            # n x h
    cols = torch.arange(w)[None, :].expand(n, w)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + sx[:, None]
    out = pad[torch.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]]
    return out.unsqueeze(1)


def flip(x, g):
    """Flip each image left-right with probability 1/2."""
    f = torch.rand(x.shape[0], generator=g) < 0.5
    return torch.where(f[:, None, None, None], x.flip(3), x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--augment", action="store_true")
    ap.add_argument("--flip", action="store_true")
    ap.add_argument("--head", type=int, default=0)
    ap.add_argument("--conv-dropout", type=float, default=0.2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32) / 255
    ytr = idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    yte = idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    mu, sd = xtr.mean(), xtr.std()
    xtr = torch.from_numpy((xtr - mu) / sd).unsqueeze(1)
    xte = torch.from_numpy((xte - mu) / sd).unsqueeze(1)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    net = model(head=a.head, conv_dropout=a.conv_dropout)
    g = torch.Generator().manual_seed(a.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-2)
    steps = a.epochs * math.ceil(len(xtr) / a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=steps,
                                                pct_start=0.25, div_factor=25,
                                                final_div_factor=1e4, cycle_momentum=False)
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        t0, tot, correct, seen = time.time(), 0.0, 0, 0
        for b in range(0, len(xtr), a.batch):
            i = perm[b:b + a.batch]
            xb = augment(xtr[i], g) if a.augment else flip(xtr[i], g) if a.flip else xtr[i]
            out = net(xb)
            loss = F.cross_entropy(out, ytr[i], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(i)
            correct += (out.argmax(1) == ytr[i]).sum().item()
            seen += len(i)
        secs = time.time() - t0
        net.eval()
        with torch.no_grad():
            t1 = time.time()
            pred = torch.cat([net(xte[b:b + 512]).argmax(1) for b in range(0, len(xte), 512)])
            infer = len(xte) / (time.time() - t1)
        acc = (pred == yte).float().mean().item()
        rec = {"epoch": ep + 1, "loss": tot / seen, "train_accuracy": correct / seen,
               "test_accuracy": acc, "seconds": secs, "images_per_s": seen / secs,
               "infer_images_per_s": infer, "elapsed": time.time() - T0}
        print(json.dumps(rec) if a.json else
              f"epoch {ep + 1}/{a.epochs}  loss {tot / seen:.4f}  train acc {100 * correct / seen:.2f}%  "
              f"test acc {100 * acc:.2f}%  {secs:.1f}s  {seen / secs:.0f} img/s  infer {infer:.0f} img/s  "
              f"elapsed {time.time() - T0:.1f}s")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
