#!/usr/bin/env bash
# scale.sh - the measurements behind docs/SCALE.md, in ONE run on a quiet machine:
#   1. the default study's wall time three ways: mpirun -np 2 (one thread a rank),
#      --jobs 2 (two worker processes, one thread each), one process with 2 threads;
#   2. training images/s: mpirun -np 2 (one thread a rank) against one process with 2
#      threads and with 1 thread;
#   3. what the paper model needs: time per run (mean, slowest), time per training step,
#      gradient bytes per step, messages per run and per step, an SQLite commit's time;
# then the paper model itself (docs/SCALE.md section 3): the expected wall time and
# efficiency at 8, 64 and 512 ranks for the study and for data-parallel training (ring
# allreduce at 10 and 100 Gb/s). Prints Markdown to paste into docs/SCALE.md.
#
#   bash bench/scale.sh            the default study (3 x about 4 minutes) and training
#   bash bench/scale.sh --tiny     a few seconds of each, to check that the script works
#
# Needs a build with MPI (libopenmpi-dev) in build/ and /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
tiny=0
[ "${1:-}" = --tiny ] && tiny=1
ordnet=$PWD/build/ordnet
[ -x "$ordnet" ] || bash scripts/setup.sh
mpirun=(mpirun --oversubscribe --allow-run-as-root -np 2)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export OMP_WAIT_POLICY=PASSIVE # ranks and workers share the cores: no spinning waits

if [ $tiny = 1 ]; then
    study=(study --seeds 1 --epochs 1 --limit 400 --test-limit 200
           --orders "bn relu maxpool dropout(0.2);maxpool bn relu dropout(0.2);relu bn maxpool dropout(0.2)")
    train=(train --limit 1000 --test-limit 200 --epochs 2 --json)
else
    study=(study)
    train=(train --limit 12000 --test-limit 1000 --epochs 3 --json)
fi

now() { date +%s.%N; }
secs() { /usr/bin/python3 -c "print(f'{$2 - $1:.1f}')"; }

# --- 1. the study, three ways (each from an empty directory) ---
echo "study: mpirun -np 2" >&2
t0=$(now)
"${mpirun[@]}" "$ordnet" "${study[@]}" --threads 1 --out "$out/mpi" >"$out/mpi.log"
t_mpi=$(secs "$t0" "$(now)")
echo "study: --jobs 2" >&2
t0=$(now)
"$ordnet" "${study[@]}" --jobs 2 --threads 1 --out "$out/jobs" >"$out/jobs.log"
t_jobs=$(secs "$t0" "$(now)")
echo "study: one process, 2 threads" >&2
t0=$(now)
"$ordnet" "${study[@]}" --threads 2 --out "$out/one" >"$out/one.log"
t_one=$(secs "$t0" "$(now)")

# --- 2. training images/s (the last epoch's, rank 0's report of the whole batch) ---
ips() { grep '"images_per_s"' "$1" | tail -1 | sed 's/.*"images_per_s": \([0-9.]*\).*/\1/'; }
echo "train: mpirun -np 2" >&2
"${mpirun[@]}" "$ordnet" "${train[@]}" --threads 1 >"$out/train-mpi.log"
echo "train: one process, 2 threads" >&2
"$ordnet" "${train[@]}" --threads 2 >"$out/train-2.log"
echo "train: one process, 1 thread" >&2
"$ordnet" "${train[@]}" --threads 1 >"$out/train-1.log"
# a step's fixed cost (optimizer, per-layer overheads) against its cost per sample, from
# one-thread steps at two batch sizes: the data-parallel model needs both
bsecs=3
[ $tiny = 1 ] && bsecs=0.3
bench_ips() {
    "$ordnet" bench --threads 1 --batch "$1" --seconds "$bsecs" --train-only --no-layers --json |
        tr ',' '\n' | sed -n 's/.*"train_images_per_s": *\([0-9.]*\).*/\1/p'
}
echo "bench: one thread, batch 128 and 8" >&2
b128=$(bench_ips 128)
b8=$(bench_ips 8)
ips_mpi=$(ips "$out/train-mpi.log")
ips_two=$(ips "$out/train-2.log")
ips_one=$(ips "$out/train-1.log")
ref="input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)"
params=$("$ordnet" summary "$ref" | sed -n 's/^Trainable params: \([0-9,]*\).*/\1/p' | tr -d ,)

# --- 3. the paper model ---
/usr/bin/python3 - "$out" "$t_mpi" "$t_jobs" "$t_one" "$ips_mpi" "$ips_two" "$ips_one" \
    "${params:-0}" "$b128" "$b8" <<'PY'
import math, os, re, sqlite3, sys, time
out, t_mpi, t_jobs, t_one, ips_mpi, ips_two, ips_one, params, b128, b8 = sys.argv[1:]
t_mpi, t_jobs, t_one = float(t_mpi), float(t_jobs), float(t_one)
ips_mpi, ips_two, ips_one, params = float(ips_mpi), float(ips_two), float(ips_one), int(params)
b128, b8 = float(b128), float(b8)

# each run's wall time (training, evaluation, inference timing) in the --jobs 2 study: one
# thread a run, two at once on two cores, as ranks of one thread would run them
runs = [float(m) for m in re.findall(r"\(([0-9.]+)s; ETA", open(os.path.join(out, "jobs.log")).read())]
R = len(runs)
t_run, t_max = sum(runs) / R, max(runs)

# an SQLite commit as rank 0 makes them (WAL, one row a transaction)
db = sqlite3.connect(os.path.join(out, "commit.sqlite"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE t(a INT, b TEXT)")
n, t0 = 200, time.perf_counter()
for i in range(n):
    db.execute("BEGIN IMMEDIATE"); db.execute("INSERT INTO t VALUES(?, ?)", (i, "x" * 4096))
    db.execute("COMMIT")
t_commit = (time.perf_counter() - t0) / n

B = 128
t_step1 = B / ips_one                  # one rank (one thread) on the whole batch
# t(b) = fixed + b * per_sample, from `ordnet bench` steps of 128 and 8 samples
t128, t8 = 128 / b128, 8 / b8
per_sample = (t128 - t8) / 120
fixed = max(0.0, t8 - 8 * per_sample)
grad_bytes = 4 * (params + 2)          # the allreduce: gradients + loss + correct count
result_bytes = 4096 + 5 * 8 + 512 + 8  # on_study_result + error + ids, one message a run

def study_wall(P):
    # dynamic queue: longest-first is the best case, arrival order the usual; both are
    # bounded below by max(total / P, slowest run)
    loads = [0.0] * P
    for r in sorted(runs, reverse=True):
        i = loads.index(min(loads)); loads[i] += r
    # rank 0 claims and stores every run, one transaction each, one after another
    wall = max(max(loads) + 2 * t_commit, 2 * len(runs) * t_commit)
    return wall, sum(runs) / (P * wall)

def train_step(P, gbps, alpha, B=B):
    b = B / P
    if b < 1:
        return None
    compute = fixed + math.ceil(b) * per_sample
    bw = gbps * 1e9 / 8
    ring = 2 * (P - 1) / P * grad_bytes / bw + 2 * (P - 1) * alpha
    one = fixed + B * per_sample
    return compute + ring, one / (P * (compute + ring)), ring

print("## Measured (bench/scale.sh, %s)\n" % time.strftime("%Y-%m-%d"))
print("| what | value |\n| --- | --- |")
print(f"| default study, mpirun -np 2 (1 thread a rank) | {t_mpi/60:.2f} min |")
print(f"| default study, --jobs 2 (1 thread a worker) | {t_jobs/60:.2f} min |")
print(f"| default study, one process, 2 threads | {t_one/60:.2f} min |")
print(f"| training, mpirun -np 2 (1 thread a rank) | {ips_mpi:.0f} img/s |")
print(f"| training, one process, 2 threads | {ips_two:.0f} img/s |")
print(f"| training, one process, 1 thread | {ips_one:.0f} img/s |")
print(f"| runs in the study | {R} |")
print(f"| time per run, one thread (mean / slowest) | {t_run:.1f} s / {t_max:.1f} s |")
print(f"| time per training step, batch {B}, one thread | {t_step1*1e3:.1f} ms |")
print(f"| a step's fixed cost + cost per sample (ordnet bench, one thread) | {fixed*1e3:.2f} ms + {per_sample*1e3:.3f} ms |")
print(f"| gradient bytes per step (allreduce) | {grad_bytes} ({params} parameters) |")
print(f"| messages: study | 2 per run (a 4-byte job out, a {result_bytes}-byte result back) |")
print(f"| messages: training | 1 allreduce per step |")
print(f"| SQLite commit on rank 0 | {t_commit*1e3:.2f} ms |")
print("\n## The paper model\n")
print("| ranks | study wall | study efficiency |\n| --- | --- | --- |")
for P in (2, 8, 64, 512):
    w, e = study_wall(P)
    print(f"| {P} | {w:.0f} s | {100*e:.0f}% |")
print("\n| ranks | per-rank batch | link | step | allreduce | efficiency |")
print("| --- | --- | --- | --- | --- | --- |")
for P in (2, 8, 64, 512):
    for gbps, alpha in ((10, 20e-6), (100, 5e-6)):
        s = train_step(P, gbps, alpha)
        if s is None:
            print(f"| {P} | {B/P:.2f} | {gbps} Gb/s | - | - | no sample for some ranks |")
        else:
            print(f"| {P} | {B/P:.0f} | {gbps} Gb/s | {s[0]*1e3:.2f} ms | {s[2]*1e3:.2f} ms | {100*s[1]:.0f}% |")
print("\nWith the global batch grown to 16 samples a rank (weak scaling; the learning rate must")
print("follow):\n")
print("| ranks | global batch | link | step | allreduce | efficiency |\n| --- | --- | --- | --- | --- | --- |")
for P in (8, 64, 512):
    for gbps, alpha in ((10, 20e-6), (100, 5e-6)):
        s = train_step(P, gbps, alpha, 16 * P)
        print(f"| {P} | {16*P} | {gbps} Gb/s | {s[0]*1e3:.2f} ms | {s[2]*1e3:.2f} ms | {100*s[1]:.0f}% |")
print("\nThe study with more runs (seeds x classes), at the measured time per run:\n")
print("| runs | ranks | study wall | efficiency |\n| --- | --- | --- | --- |")
base = list(runs)
for mult in (10, 100):
    runs[:] = base * mult
    R = len(runs)
    for P in (64, 512):
        w, e = study_wall(P)
        print(f"| {R} | {P} | {w:.0f} s | {100*e:.0f}% |")
PY
