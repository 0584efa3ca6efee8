#!/usr/bin/python3
"""make_seeds.py - regenerate the seed corpora of the data and checkpoint harnesses from
real files: slices of Debian's Fashion-MNIST (dataset-fashion-mnist), CSV/TSV and
CIFAR-10-layout records made from those images, and a checkpoint trained by ordnet on them.

    python3 tests/fuzz/make_seeds.py [build/ordnet]

Standard library only. Writes tests/fuzz/corpus_{idx,csv,cifar,checkpoint}/seed_*;
regression inputs (regress_*) found by fuzzing are kept as they are."""
import gzip
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FM = "/usr/share/datasets/fashion-mnist"


def idx_slice(name, n):
    """The first n items of a Fashion-MNIST IDX file, with the header's count set to n."""
    with gzip.open(os.path.join(FM, name), "rb") as f:
        data = f.read()
    ndims = data[3]
    dims = list(struct.unpack(">%dI" % ndims, data[4:4 + 4 * ndims]))
    per = 1
    for d in dims[1:]:
        per *= d
    body = data[4 + 4 * ndims:4 + 4 * ndims + n * per]
    return data[:4] + struct.pack(">%dI" % ndims, n, *dims[1:]) + body


def put(corpus, name, data):
    d = os.path.join(HERE, "corpus_" + corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx_input(flags, images, labels):
    return bytes([flags]) + struct.pack("<H", len(images)) + images + labels


def main():
    ordnet = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../build/ordnet")
    img = idx_slice("train-images-idx3-ubyte.gz", 8)
    lab = idx_slice("train-labels-idx1-ubyte.gz", 8)
    pixels = [img[16 + 784 * i:16 + 784 * (i + 1)] for i in range(8)]
    labels = list(lab[8:])

    # IDX: two images, plain; gzipped; without labels; with a limit; a real gzip stream
    # (written as is); a label file one item short.
    i2, l2 = idx_slice("train-images-idx3-ubyte.gz", 2), idx_slice("train-labels-idx1-ubyte.gz", 2)
    put("idx", "seed_plain", idx_input(0, i2, l2))
    put("idx", "seed_gzip", idx_input(3, i2, l2))
    put("idx", "seed_nolabels", idx_input(4, i2, b""))
    put("idx", "seed_limit1", idx_input(1 << 3, i2, l2))
    put("idx", "seed_realgz", idx_input(0, gzip.compress(i2, mtime=0), gzip.compress(l2, mtime=0)))
    put("idx", "seed_short_labels", idx_input(0, i2, idx_slice("t10k-labels-idx1-ubyte.gz", 1)))

    # CSV/TSV: 1-D signals, the column means of each image (28 values), label first.
    def signal(i):
        return [sum(pixels[i][r * 28 + c] for r in range(28)) / (28 * 255) for c in range(28)]

    rows = [(labels[i], signal(i)) for i in range(8)]
    csv = "".join("%d,%s\n" % (y, ",".join("%.4f" % v for v in s)) for y, s in rows[:6])
    tsv = "".join("%d\t%s\n" % (y, "\t".join("%.4f" % v for v in s)) for y, s in rows[:6])
    test = "".join("%d,%s\n" % (y, ",".join("%.4f" % v for v in s)) for y, s in rows[6:])
    put("csv", "seed_csv", csv.encode())
    put("csv", "seed_tsv", tsv.encode())
    put("csv", "seed_train_test", (csv + "\f" + test).encode())
    put("csv", "seed_comments_crlf", ("# label, values\r\n" + csv.replace("\n", "\r\n")).encode())

    # CIFAR-10 layout: each image padded to 32x32 and repeated in 3 channels.
    def record(i):
        p = pixels[i]
        ch = b"".join((b"\0\0" + p[r * 28:(r + 1) * 28] + b"\0\0") if 2 <= r + 2 < 30 else b""
                      for r in range(28))
        ch = bytes(64) + ch + bytes(64)
        assert len(ch) == 1024
        return bytes([labels[i]]) + ch * 3

    recs = [record(i) for i in range(3)]
    put("cifar", "seed_test", bytes([0]) + recs[0] + recs[1])
    put("cifar", "seed_train2", bytes([1 | 1 << 1]) + recs[0] + recs[1] + recs[2])
    put("cifar", "seed_train_limit", bytes([1 | 3 << 1 | 4 << 3]) + recs[0] + recs[1])

    # A checkpoint: a small model trained by ordnet for one epoch on the eight images.
    with tempfile.TemporaryDirectory() as d:
        with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(img)
        with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(lab)
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
            os.link(os.path.join(d, name.replace("t10k", "train")), os.path.join(d, name))
        ck = os.path.join(d, "m.ckpt")
        subprocess.run([ordnet, "train", "input(28,28,1) maxpool(4) conv2d(2,3) bn relu flatten "
                        "dense(10)", "--data", d, "--epochs", "1", "--batch", "4", "-o", ck,
                        "--json"], check=True, stdout=subprocess.DEVNULL)
        with open(ck, "rb") as f:
            ckpt = f.read()
    put("checkpoint", "seed_model", bytes([0]) + ckpt)
    put("checkpoint", "seed_model_resign", bytes([1]) + ckpt)


if __name__ == "__main__":
    main()
