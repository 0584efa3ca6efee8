#!/usr/bin/python3
"""What the default `ordnet study` costs, and what two of its tricks save, measured.

1. Runs the default study (or reads one already run, --dir) and takes its wall time and
   the training seconds of every run from results.json.
2. Measures the training speed of all 24 orders of the block (`ordnet bench --train-only
   --keep-order`, the study's batch and threads), one after another on this machine.
3. Class deduplication: the study trains one order per training class (12 classes of 24
   orders); without it, each of the 12 other orders would be trained too. Saved = the
   measured time of those orders for the study's images (limit x epochs x seeds).
   Pool-first: each class is trained with its cheapest member; saved = for each class, the
   mean time of its members minus the time of the cheapest.

usage: /usr/bin/python3 bench/study_savings.py [--dir DIR] [--threads N] [--seconds S]
"""
import argparse, json, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDNET = os.path.join(ROOT, "build", "ordnet")
BLOCK = "bn,relu,maxpool,dropout(0.2)"
MODEL = "input(28,28,1) conv2d(32,3,same) {B} conv2d(64,3,same) {B} flatten dense(10)"
LIMIT, EPOCHS, SEEDS, BATCH = 12000, 3, 3, 128  # the default study's settings


def run(args, **kw):
    return subprocess.run([ORDNET] + args, check=True, capture_output=True, text=True, **kw).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", help="an existing default study's output directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2)
    a = ap.parse_args()

    wall = None
    d = a.dir
    if not d:
        d = tempfile.mkdtemp(prefix="study-")
        t0 = time.time()
        run(["study", "--out", d, "--threads", str(a.threads), "--json"])
        wall = time.time() - t0
    res = json.load(open(os.path.join(d, "results.json")))
    runs = res.get("runs", [])
    trained = sum(r["epoch_seconds"] * EPOCHS for r in runs)

    classes = json.loads(run(["analyze", "--block", BLOCK, "--json"]))["classes"]
    speed = {}
    for c in classes:
        for order in c["members"]:
            out = run(["bench", MODEL.replace("{B}", order), "--keep-order", "--train-only",
                       "--json", "--threads", str(a.threads), "--batch", str(BATCH),
                       "--seconds", str(a.seconds)])
            speed[order] = json.loads(out)["train_images_per_s"]
            print(f"  {speed[order]:7.0f} img/s  {order}", file=sys.stderr)
    images = LIMIT * EPOCHS * SEEDS
    secs = {o: images / s for o, s in speed.items()}
    cheapest = sum(secs[c["cheapest"]] for c in classes)
    every = sum(secs.values())
    mean_member = sum(sum(secs[o] for o in c["members"]) / len(c["members"]) for c in classes)
    print(f"# The default study, measured ({time.strftime('%Y-%m-%d')}, {a.threads} threads)\n")
    if wall is not None:
        print(f"- wall time of `ordnet study`: {wall / 60:.1f} min")
    print(f"- training time of its {len(runs)} runs (from results.json): {trained / 60:.1f} min")
    print(f"- {len(speed)} orders in {len(classes)} training classes; measured training speed "
          f"of every order at batch {BATCH}: {min(speed.values()):.0f} to {max(speed.values()):.0f} img/s")
    print(f"- training time for {images} images per class (limit x epochs x seeds), from those speeds:")
    print(f"  - every one of the {len(speed)} orders: {every / 60:.1f} min")
    print(f"  - one member per class, a member picked at random (mean): {mean_member / 60:.1f} min "
          f"-> class deduplication saves {(every - mean_member) / 60:.1f} min "
          f"({100 * (every - mean_member) / every:.0f}%)")
    print(f"  - the cheapest member per class (what the study trains): {cheapest / 60:.1f} min "
          f"-> pool-first (cheapest member) saves a further {(mean_member - cheapest) / 60:.1f} min "
          f"({100 * (mean_member - cheapest) / mean_member:.0f}%)")


if __name__ == "__main__":
    main()
