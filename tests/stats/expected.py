"""Expected numbers for tests/test_verdict.c, computed independently of the C code with
mpmath (arbitrary precision): Student's t through mpmath's regularized incomplete beta,
its quantiles by root finding, the paired t-test and Holm's adjustment from their
textbook definitions. Run with /usr/bin/python3 (which has mpmath); the numbers it prints
are committed in the test, so CI needs no Python."""
import mpmath as mp

mp.mp.dps = 30


def p_two(t, df):
    t, df = mp.mpf(t), mp.mpf(df)
    return mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True)


def quant(alpha, df):
    return mp.findroot(lambda q: p_two(q, df) - alpha, 2)


for alpha, df in [(0.05, 1), (0.05, 2), (0.05, 4), (0.05, 9), (0.05, 29), (0.1, 3), (0.01, 5)]:
    print("quantile alpha %g df %d: %.12f" % (alpha, df, quant(alpha, df)))
for t, df in [(2.0, 10), (0.5, 3), (4.1, 2), (-1.3, 7)]:
    print("p t %g df %d: %.12e" % (t, df, p_two(t, df)))

a = [0.885, 0.879, 0.891, 0.874, 0.888]
b = [0.880, 0.871, 0.889, 0.866, 0.885]
d = [mp.mpf(x) - mp.mpf(y) for x, y in zip(a, b)]
n = len(d)
m = sum(d) / n
sd = mp.sqrt(sum((x - m) ** 2 for x in d) / (n - 1))
t = m / (sd / mp.sqrt(n))
q = quant(0.05, n - 1)
print("paired: mean %.12f sd %.12f t %.12f p %.12e lo %.12f hi %.12f" %
      (m, sd, t, p_two(t, n - 1), m - q * sd / mp.sqrt(n), m + q * sd / mp.sqrt(n)))

p = [0.01, 0.04, 0.03, 0.005, 0.5]
order = sorted(range(len(p)), key=lambda i: p[i])
adj = [0] * len(p)
run = 0
for r, i in enumerate(order):
    run = max(run, (len(p) - r) * p[i])
    adj[i] = min(1, run)
print("holm", ["%.6f" % x for x in adj])

# contrast: 4 classes x 3 seeds; groups +1, +1, -1, -1
acc = [[0.88, 0.87, 0.89], [0.86, 0.88, 0.87], [0.85, 0.86, 0.86], [0.87, 0.85, 0.855]]
g = [1, 1, -1, -1]
dd = []
for k in range(3):
    pos = [mp.mpf(acc[i][k]) for i in range(4) if g[i] > 0]
    neg = [mp.mpf(acc[i][k]) for i in range(4) if g[i] < 0]
    dd.append(sum(pos) / len(pos) - sum(neg) / len(neg))
m = sum(dd) / 3
sd = mp.sqrt(sum((x - m) ** 2 for x in dd) / 2)
t = m / (sd / mp.sqrt(3))
q = quant(0.05, 2)
print("contrast: mean %.12f t %.12f p %.12e lo %.12f hi %.12f" %
      (m, t, p_two(t, 2), m - q * sd / mp.sqrt(3), m + q * sd / mp.sqrt(3)))


# The verdict, from its definition in verdict.c: "worse" when the paired t-test with some
# class above, Holm-adjusted over all pairs, is below alpha; "equivalent" when for every
# other class j the one-sided bound at alpha/(k-1) keeps mu_i - mu_j above -margin.
def paired(x, y):
    n = min(len(x), len(y))
    d = [mp.mpf(a) - mp.mpf(b) for a, b in zip(x[:n], y[:n])]
    m = sum(d) / n
    sd = mp.sqrt(sum((v - m) ** 2 for v in d) / (n - 1))
    return m, sd / mp.sqrt(n), n - 1


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    adj, run = [0] * len(ps), 0
    for r, i in enumerate(order):
        run = max(run, (len(ps) - r) * ps[i])
        adj[i] = min(1, run)
    return adj


def verdict(rows, alpha, margin):
    k = len(rows)
    means = [sum(map(mp.mpf, r)) / len(r) for r in rows]
    best = max(range(k), key=lambda i: means[i])
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    ps = []
    for i, j in pairs:
        m, se, df = paired(rows[i], rows[j])
        ps.append(p_two(m / se, df))
    adj = dict(zip(pairs, holm(ps)))
    out = []
    for i in range(k):
        per = mp.mpf(alpha) / (k - 1)
        padj, equiv = None, True
        for j in range(k):
            if j == i:
                continue
            pa = adj[(min(i, j), max(i, j))]
            if means[j] > means[i] and (padj is None or pa < padj):
                padj = pa
            m, se, df = paired(rows[j], rows[i])
            if not (m + quant(2 * per, df) * se < margin):
                equiv = False
        dec = ("best" if i == best else "worse" if padj is not None and padj < alpha
               else "equivalent" if equiv else "undecided")
        out.append((dec, padj))
    return out


rows = [[0.900, 0.880, 0.890, 0.885, 0.895],
        [0.880, 0.861, 0.869, 0.866, 0.874],
        [0.899, 0.8795, 0.8905, 0.8850, 0.8945],
        [0.899, 0.870, 0.887, 0.876, 0.894]]
for a in [0.05, 0.05 * 6 / mp.pi ** 2]:
    print("verdict alpha %.6f:" % a,
          [(d, "%.8e" % p if p is not None else None) for d, p in verdict(rows, a, 0.005)])

# The adaptive case: the best and class 3 get seeds 6..12 (1.4 points apart), the others
# keep 5; pairs use the seeds both have; class 3's adjusted p at 8 and at 12 seeds.
for n in [8, 12]:
    r = [list(x) for x in rows]
    for k in range(5, n):
        r[0].append(0.89 + 0.001 * (k % 4))
        r[3].append(r[0][k] - 0.014 - 0.0005 * (k % 2))
    look = n - 5 + 1
    print("adaptive %d seeds: class 3 %s, alpha at look %d: %.8e" %
          (n, verdict(r, 0.05, 0.005)[3], look, 0.05 * 6 / (mp.pi ** 2 * look ** 2)))
