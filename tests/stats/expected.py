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
