#!/usr/bin/python3
"""corrupt.py - damage real checkpoints and data files and check that ordnet either stops
with a clear error or loads them correctly; never crashes, hangs or accepts a damaged
checkpoint.

    /usr/bin/python3 scripts/reliability/corrupt.py [--cases N] [--ordnet build/ordnet]
        [--targets checkpoint,idx-images,idx-labels,cifar,csv] [--seed S] [--keep DIR]

For each target, N truncations (the file cut to N distinct lengths) and N bit flips
(N distinct byte/bit positions); half of each in the file's structure (safetensors
header, gzip header and trailer, IDX header, CIFAR label bytes; for CSV the whole text is
structure) and half anywhere. Every case runs the CLI on the damaged file:

  checkpoint  ordnet eval CKPT --limit 20     (a checkpoint ordnet trained on Fashion-MNIST)
  idx-images  ordnet train ... --data DIR     (train-images-idx3-ubyte.gz: 1000 real images)
  idx-labels  ordnet train ... --data DIR     (train-labels-idx1-ubyte, not compressed)
  cifar       ordnet train ... --data DIR     (data_batch_1.bin: 20 CIFAR-10-layout records
                                               made of Fashion-MNIST images)
  csv         ordnet train ... --data DIR     (train.csv: 40 1-D signals from the images)

and sorts the outcome by what an independent reference reader (in this script) says of the
damaged file:

  error             exit status 1 or 2 with a message on stderr            (fine)
  load, valid       exit 0 and the reference finds the file valid           (fine)
  load, same        checkpoint: exit 0 and the same metadata and tensors    (fine)
  ACCEPTED DAMAGED  exit 0 although the reference finds the file invalid,
                    or a checkpoint whose contents differ                    (failure)
  CRASH             a signal, a sanitizer report, or no answer in 60 s       (failure)

Prints a table and the most common error messages; exits 1 when any case failed.
Standard library only; needs Debian's dataset-fashion-mnist."""
import argparse
import collections
import gzip
import json
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

FM = "/usr/share/datasets/fashion-mnist"
REC = 1 + 3 * 32 * 32


def idx_slice(name, n):
    with gzip.open(os.path.join(FM, name), "rb") as f:
        data = f.read()
    nd = data[3]
    dims = list(struct.unpack(">%dI" % nd, data[4:4 + 4 * nd]))
    per = 1
    for d in dims[1:]:
        per *= d
    return data[:4] + struct.pack(">%dI" % nd, n, *dims[1:]) + data[4 + 4 * nd:4 + 4 * nd + n * per]


# ----- reference readers: is this (damaged) file valid? -----

def ref_idx(data, ndims):
    """The bytes of a valid IDX file of unsigned bytes (after gunzip), else None."""
    if data[:2] == b"\x1f\x8b":
        try:
            z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = z.decompress(data)
            if not z.eof:
                return None  # cut before its trailer
            rest = z.unused_data
            while rest[:2] == b"\x1f\x8b":  # concatenated members, as zlib reads them
                z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out += z.decompress(rest)
                if not z.eof:
                    return None
                rest = z.unused_data
            if rest[:1] == b"\x1f":
                return None  # zlib takes a lone 0x1f at the end for a cut header
            data = out
        except zlib.error:
            return None
    if len(data) < 4 + 4 * ndims or data[:4] != bytes([0, 0, 8, ndims]):
        return None
    dims = struct.unpack(">%dI" % ndims, data[4:4 + 4 * ndims])
    if any(d == 0 or d > 1 << 24 for d in dims):
        return None
    size = 1
    for d in dims:
        size *= d
    if len(data) != 4 + 4 * ndims + size:
        return None
    return data


NUM = re.compile(rb"[ \t\n\v\f\r]*[+-]?(0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                 rb"([pP][+-]?[0-9]+)?|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|"
                 rb"[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN](\([0-9A-Za-z_]*\))?)")
FLT_MAX = 3.4028234663852886e38


def strtod(tok):
    t = tok.strip(b" \t\n\v\f\r")
    body = t.lstrip(b"+-")
    if body[:2].lower() == b"0x":
        sign = -1.0 if t[:1] == b"-" else 1.0
        h = body[2:].decode()
        if "p" not in h.lower():
            h += "p0"
        return sign * float.fromhex("0x" + h)
    return float(t)


def ref_csv_lines(text):
    """(labels, width) of a CSV/TSV text as ordnet's reader defines it, or None."""
    labels, width = [], 0
    for line in text.split(b"\n"):
        s = line.lstrip(b" \t\n\v\f\r")
        if not s or s[:1] == b"#":
            continue
        if b"\0" in line:
            line = line[:line.index(b"\0")]  # C strings end there
        p, vals = len(line) - len(s), []
        while p < len(line):
            m = NUM.match(line, p)
            if not m:
                return None
            try:
                v = strtod(m.group(0))
            except (ValueError, OverflowError):
                return None
            if not math.isfinite(v) or abs(v) > FLT_MAX:
                return None
            if v != 0 and abs(v) < 2.2250738585072014e-308:
                return None  # strtod's ERANGE on underflow
            vals.append(v)
            p = m.end()
            while p < len(line) and line[p:p + 1] in (b" ", b"\t", b",", b"\r", b"\n"):
                p += 1
        if not vals:
            continue
        if len(vals) < 2:
            return None
        if width and len(vals) - 1 != width:
            return None
        width = len(vals) - 1
        labels.append(vals[0])
    if not labels or len(set(labels)) > 1000:
        return None
    return labels, width


# ----- targets -----

class Target:
    def __init__(self, name, path, data, structure, run, valid):
        self.name, self.path, self.data = name, path, data
        self.structure = structure  # byte offsets that make up the file's structure
        self.run = run              # args of the CLI command for this target
        self.valid = valid          # reference: bytes -> True/False, or None: checkpoint


def st_contents(data):
    """(metadata, {name: (dtype, shape, bytes)}) of a safetensors file, or None."""
    try:
        n = struct.unpack("<Q", data[:8])[0]
        h = json.loads(data[8:8 + n].rstrip(b" \0").decode())
        body = data[8 + n:]
        meta = h.pop("__metadata__", {})
        out = {}
        for k, v in h.items():
            b, e = v["data_offsets"]
            out[k] = (v["dtype"], tuple(v["shape"]), body[b:e])
        return meta, out
    except Exception:
        return None


def classify(proc_rc, err, timed_out):
    if timed_out:
        return "CRASH", "no answer in 60 s"
    if proc_rc < 0 or proc_rc > 2 or "Sanitizer" in err or "runtime error" in err:
        return "CRASH", (err.strip().splitlines() or ["signal %d" % -proc_rc])[-1][:160]
    if proc_rc == 0:
        return "load", ""
    if not err.strip():
        return "CRASH", "exit %d without a message" % proc_rc
    return "error", err.strip().splitlines()[0]


def pattern(msg, tmp):
    msg = msg.replace(tmp + "/", "")
    msg = re.sub(r"'[^']*'", "'…'", msg)
    msg = re.sub(r"[0-9a-f]{8}", "…", msg)
    return re.sub(r"\d+", "N", msg)[:110]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="truncations and flips per target")
    ap.add_argument("--ordnet", default=os.path.join(os.path.dirname(__file__),
                                                     "../../build/ordnet"))
    ap.add_argument("--targets", default="checkpoint,idx-images,idx-labels,cifar,csv")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="copy failing cases into this directory")
    a = ap.parse_args()
    ordnet = os.path.abspath(a.ordnet)
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="ordnet-corrupt-")
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    t0 = time.time()

    # real files: 1000 training and 100 test images of Fashion-MNIST
    img, lab = idx_slice("train-images-idx3-ubyte.gz", 1000), idx_slice("train-labels-idx1-ubyte.gz", 1000)
    timg, tlab = idx_slice("t10k-images-idx3-ubyte.gz", 100), idx_slice("t10k-labels-idx1-ubyte.gz", 100)
    pixels = [img[16 + 784 * i:16 + 784 * (i + 1)] for i in range(1000)]
    labels = list(lab[8:])
    clean = os.path.join(tmp, "clean")
    os.makedirs(clean)
    files = {"train-images-idx3-ubyte.gz": gzip.compress(img, mtime=0),
             "train-labels-idx1-ubyte": lab,
             "t10k-images-idx3-ubyte.gz": gzip.compress(timg, mtime=0),
             "t10k-labels-idx1-ubyte.gz": gzip.compress(tlab, mtime=0)}
    for k, v in files.items():
        with open(os.path.join(clean, k), "wb") as f:
            f.write(v)

    # a checkpoint trained by ordnet on them
    ckpt = os.path.join(tmp, "base.ckpt")
    subprocess.run([ordnet, "train", "input(28,28,1) conv2d(4,3) bn relu maxpool(2) "
                    "conv2d(8,3) relu maxpool(2) flatten dense(10)", "--data", clean,
                    "--epochs", "1", "--batch", "20", "-o", ckpt, "--json"], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    ckdata = open(ckpt, "rb").read()
    hlen = 8 + struct.unpack("<Q", ckdata[:8])[0]
    base_contents = st_contents(ckdata)

    def record(i):
        p = pixels[i]
        ch = bytes(64) + b"".join(b"\0\0" + p[r * 28:(r + 1) * 28] + b"\0\0" for r in range(28))
        return bytes([labels[i]]) + (ch + bytes(64)) * 3

    cifar = b"".join(record(i) for i in range(20))
    cifar_test = b"".join(record(i) for i in range(20, 30))

    def signal(i):
        return [sum(pixels[i][r * 28 + c] for r in range(28)) / (28 * 255) for c in range(28)]

    def csv_text(rng_):
        return "".join("%d,%s\n" % (labels[i], ",".join("%.4f" % v for v in signal(i)))
                       for i in rng_).encode()

    csv = csv_text(range(40))
    csv_test = csv_text(range(40, 60))
    test_labels = set(float(labels[i]) for i in range(40, 60))

    head = "input(28,28,1) maxpool(4) flatten"
    train = ["train", "--epochs", "1", "--batch", "25", "--json"]
    gz_len = len(files["train-images-idx3-ubyte.gz"])

    def ref_csv(data):
        r = ref_csv_lines(data)
        return r is not None and test_labels <= set(r[0])

    targets = {
        "checkpoint": Target("checkpoint", "model.ckpt", ckdata, range(hlen),
                             lambda d: ["eval", os.path.join(d, "model.ckpt"), "--data", clean,
                                        "--limit", "20"], None),
        "idx-images": Target("idx-images", "train-images-idx3-ubyte.gz",
                             files["train-images-idx3-ubyte.gz"],
                             list(range(64)) + list(range(gz_len - 8, gz_len)),
                             lambda d: train + [head, "--data", d],
                             lambda b: ref_idx(b, 3) is not None),
        "idx-labels": Target("idx-labels", "train-labels-idx1-ubyte", lab, range(8),
                             lambda d: train + [head, "--data", d],
                             lambda b: ref_idx(b, 1) is not None),
        "cifar": Target("cifar", "data_batch_1.bin", cifar, range(0, len(cifar), REC),
                        lambda d: train + ["input(32,32,3) maxpool(4) flatten dense(10)",
                                           "--data", d],
                        lambda b: len(b) > 0 and len(b) % REC == 0 and
                        all(b[i] <= 9 for i in range(0, len(b), REC))),
        "csv": Target("csv", "train.csv", csv, range(len(csv)),
                      lambda d: train + ["input(28,1) flatten", "--data", d], ref_csv),
    }
    extra = {"idx-images": files, "idx-labels": files,
             "cifar": {"test_batch.bin": cifar_test}, "csv": {"test.csv": csv_test}}

    failures = 0
    table = []
    messages = collections.Counter()
    for name in a.targets.split(","):
        t = targets[name]
        d = os.path.join(tmp, name)
        os.makedirs(d, exist_ok=True)
        for k, v in (extra.get(name) or {}).items():
            with open(os.path.join(d, k), "wb") as f:
                f.write(v)
        n = len(t.data)
        struct_off = sorted(set(o for o in t.structure if o < n))
        in_struct = set(struct_off)
        rest = [o for o in range(n) if o not in in_struct] or struct_off

        def pick(pool, k):
            return rng.sample(pool, min(k, len(pool)))

        half = a.cases // 2
        cuts = pick(struct_off, half)
        taken = set(cuts)
        cuts += pick([o for o in rest if o not in taken], a.cases - len(cuts))
        sflips = [(o, b) for o in struct_off for b in range(8)]
        flips = pick(sflips, half)
        used = set(flips)
        while len(flips) < min(a.cases, 8 * n):  # (a small file has fewer positions)
            fl = (rng.choice(rest), rng.randrange(8))
            if fl not in used:
                used.add(fl)
                flips.append(fl)
        cases = [("truncate", c, None) for c in cuts] + [("flip", o, b) for o, b in flips]
        counts = collections.Counter()
        for kind, off, bit in cases:
            data = bytearray(t.data[:off]) if kind == "truncate" else bytearray(t.data)
            if kind == "flip":
                data[off] ^= 1 << bit
            data = bytes(data)
            with open(os.path.join(d, t.path), "wb") as f:
                f.write(data)
            try:
                p = subprocess.run([ordnet] + t.run(d), capture_output=True, timeout=60, env=env)
                rc, err, to = p.returncode, p.stderr.decode(errors="replace"), False
            except subprocess.TimeoutExpired:
                rc, err, to = -9, "", True
            outcome, msg = classify(rc, err, to)
            if outcome == "load":
                if t.valid is None:
                    same = data == t.data or st_contents(data) == base_contents
                    outcome = "load, same" if same else "ACCEPTED DAMAGED"
                else:
                    outcome = "load, valid" if t.valid(data) else "ACCEPTED DAMAGED"
            elif outcome == "error":
                messages[(name, pattern(msg, d))] += 1
                if t.valid is not None and t.valid(data):
                    outcome = "error, valid"
            counts[(kind, outcome)] += 1
            if outcome in ("ACCEPTED DAMAGED", "CRASH"):
                failures += 1
                print("FAIL %s %s at %d%s: %s %s" % (name, kind, off,
                      "" if bit is None else " bit %d" % bit, outcome, msg), file=sys.stderr)
                if a.keep:
                    os.makedirs(a.keep, exist_ok=True)
                    shutil.copy(os.path.join(d, t.path), os.path.join(
                        a.keep, "%s-%s-%d-%s" % (name, kind, off, bit)))
        table.append((name, n, counts))

    outcomes = ["error", "error, valid", "load, valid", "load, same", "ACCEPTED DAMAGED", "CRASH"]
    print("| file | bytes | damage | cases | " + " | ".join(outcomes) + " |")
    print("| --- | ---: | --- | ---: |" + " ---: |" * len(outcomes))
    for name, n, counts in table:
        for kind in ("truncate", "flip"):
            tot = sum(v for (k, _), v in counts.items() if k == kind)
            print("| %s | %d | %s | %d | %s |" % (name, n, kind, tot, " | ".join(
                str(counts[(kind, o)]) for o in outcomes)))
    print()
    print("most common errors (digits as N):")
    for (name, msg), c in messages.most_common(14):
        print("  %5d  %-10s %s" % (c, name, msg))
    print()
    total = sum(sum(c.values()) for _, _, c in table)
    print("%d cases in %.0f s, %d failures (ordnet: %s)" % (total, time.time() - t0, failures, ordnet))
    shutil.rmtree(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
