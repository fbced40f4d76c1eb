"""WFG1-WFG9 test problems for the Optuna reference runner.

The suite of S. Huband, P. Hingston, L. Barone and L. While, "A review of
multiobjective test problems and a scalable test problem toolkit", IEEE
Transactions on Evolutionary Computation 10(5):477-506, 2006, with D = 1 and
S_j = 2j. This is the twin of bench/problem/wfg.go and evaluates the same
expressions in the same order; that file's comments give the details that
follow the authors' C++ toolkit where the paper is open.

wfg(which, z, m, k) returns the m minimized objectives of WFG<which> at z,
where z[i] is in [0, 2(i+1)] and the first k entries are the position
parameters. Invalid arguments give m NaNs ([] if m < 1), as in Go.

Run as a script, it prints the check values that bench/problem/wfg_test.go
reads:

    /usr/bin/python3 bench/wfg.py > bench/testdata/wfg_values.txt

Plain Python 3, standard library only.
"""

import math
import random

B_PARAM_A = 0.98 / 49.98


def wfg_dims(m):
    """k = 2(m-1) position and l = 20 distance parameters, as in Huband et al."""
    return 2 * (m - 1), 20


def clamp01(v):
    return min(max(v, 0.0), 1.0)


def b_poly(y, alpha):
    return clamp01(math.pow(y, alpha))


def b_flat(y, a, b, c):
    lo = min(0.0, math.floor(y - b)) * a * (b - y) / b
    hi = min(0.0, math.floor(c - y)) * (1 - a) * (y - c) / (1 - c)
    return clamp01(a + lo - hi)


def b_param(y, u, a, b, c):
    v = a - (1 - 2 * u) * abs(math.floor(0.5 - u) + a)
    return clamp01(math.pow(y, b + (c - b) * v))


def s_linear(y, a):
    return clamp01(abs(y - a) / abs(math.floor(a - y) + a))


def s_decept(y, a, b, c):
    t1 = math.floor(y - a + b) * (1 - c + (a - b) / b) / (a - b)
    t2 = math.floor(a + b - y) * (1 - c + (1 - a - b) / b) / (1 - a - b)
    return clamp01(1 + (abs(y - a) - b) * (t1 + t2 + 1 / b))


def s_multi(y, a, b, c):
    t1 = abs(y - c) / (2 * (math.floor(c - y) + c))
    t2 = (4 * a + 2) * math.pi * (0.5 - t1)
    return clamp01((1 + math.cos(t2) + 4 * b * (t1 * t1)) / (b + 2))


def r_sum(y, w):
    num, den = 0.0, 0.0
    for yi, wi in zip(y, w):
        num += wi * yi
        den += wi
    return clamp01(num / den)


def r_mean(y):
    s = 0.0
    for v in y:
        s += v
    return clamp01(s / len(y))


def r_nonsep(y, a):
    n = len(y)
    num = 0.0
    for j in range(n):
        num += y[j]
        for d in range(a - 1):
            num += abs(y[j] - y[(j + d + 1) % n])
    c = math.ceil(a / 2)
    den = n * c * (1 + 2 * a - 2 * c) / a
    return clamp01(num / den)


# Shape functions: x = (x_1, ..., x_{M-1}) for M objectives, j in 1..M.


def shape_linear(x, j):
    mm = len(x) + 1
    r = 1.0
    for i in range(mm - j):
        r *= x[i]
    if j != 1:
        r *= 1 - x[mm - j]
    return clamp01(r)


def shape_convex(x, j):
    mm = len(x) + 1
    r = 1.0
    for i in range(mm - j):
        r *= 1 - math.cos(x[i] * math.pi / 2)
    if j != 1:
        r *= 1 - math.sin(x[mm - j] * math.pi / 2)
    return clamp01(r)


def shape_concave(x, j):
    mm = len(x) + 1
    r = 1.0
    for i in range(mm - j):
        r *= math.sin(x[i] * math.pi / 2)
    if j != 1:
        r *= math.cos(x[mm - j] * math.pi / 2)
    return clamp01(r)


def shape_mixed(x1, a, alpha):
    t = 2 * a * math.pi
    return clamp01(math.pow(1 - x1 - math.cos(t * x1 + math.pi / 2) / t, alpha))


def shape_disc(x1, a, alpha, beta):
    c = math.cos(a * math.pow(x1, beta) * math.pi)
    return clamp01(1 - math.pow(x1, alpha) * (c * c))


def _reduce(y, m, k, red):
    g = k // (m - 1)
    t = [red(j * g, (j + 1) * g) for j in range(m - 1)]
    t.append(red(k, len(y)))
    return t


def _linear_distance(y, k):
    for i in range(k, len(y)):
        y[i] = s_linear(y[i], 0.35)


def wfg(which, z, m, k):
    """The m objectives of WFG<which> (1..9) at z, or m NaNs if invalid."""
    if m < 1:
        return []
    bad = [math.nan] * m
    n = len(z)
    if which not in range(1, 10) or m < 2 or k < 1 or k % (m - 1) != 0 or k >= n:
        return bad
    if which in (2, 3) and (n - k) % 2 != 0:
        return bad
    y = []
    for i, v in enumerate(z):
        hi = 2 * float(i + 1)
        if not (0 <= v <= hi):
            return bad
        y.append(v / hi)

    if which == 1:
        _linear_distance(y, k)
        for i in range(k, n):
            y[i] = b_flat(y[i], 0.8, 0.75, 0.85)
        y = [b_poly(v, 0.02) for v in y]
        w = [2 * float(i + 1) for i in range(n)]
        t = _reduce(y, m, k, lambda lo, hi: r_sum(y[lo:hi], w[lo:hi]))
    elif which in (2, 3):
        _linear_distance(y, k)
        pairs = y[:k] + [r_nonsep(y[i:i + 2], 2) for i in range(k, n, 2)]
        t = _reduce(pairs, m, k, lambda lo, hi: r_mean(pairs[lo:hi]))
    elif which == 4:
        y = [s_multi(v, 30, 10, 0.35) for v in y]
        t = _reduce(y, m, k, lambda lo, hi: r_mean(y[lo:hi]))
    elif which == 5:
        y = [s_decept(v, 0.35, 0.001, 0.05) for v in y]
        t = _reduce(y, m, k, lambda lo, hi: r_mean(y[lo:hi]))
    elif which == 6:
        _linear_distance(y, k)
        t = _reduce(y, m, k, lambda lo, hi: r_nonsep(y[lo:hi], hi - lo))
    elif which == 7:
        u = list(y)
        for i in range(k):
            y[i] = b_param(u[i], r_mean(u[i + 1:]), B_PARAM_A, 0.02, 50)
        _linear_distance(y, k)
        t = _reduce(y, m, k, lambda lo, hi: r_mean(y[lo:hi]))
    elif which == 8:
        u = list(y)
        for i in range(k, n):
            y[i] = b_param(u[i], r_mean(u[:i]), B_PARAM_A, 0.02, 50)
        _linear_distance(y, k)
        t = _reduce(y, m, k, lambda lo, hi: r_mean(y[lo:hi]))
    else:
        u = list(y)
        for i in range(n - 1):
            y[i] = b_param(u[i], r_mean(u[i + 1:]), B_PARAM_A, 0.02, 50)
        for i in range(k):
            y[i] = s_decept(y[i], 0.35, 0.001, 0.05)
        for i in range(k, n):
            y[i] = s_multi(y[i], 30, 95, 0.35)
        t = _reduce(y, m, k, lambda lo, hi: r_nonsep(y[lo:hi], hi - lo))

    tm = t[m - 1]
    x = []
    for j in range(m - 1):
        a = 0.0 if which == 3 and j > 0 else 1.0
        x.append(max(tm, a) * (t[j] - 0.5) + 0.5)

    f = []
    for j in range(m):
        if which == 1 and j == m - 1:
            h = shape_mixed(x[0], 5, 1)
        elif which == 2 and j == m - 1:
            h = shape_disc(x[0], 5, 1, 1)
        elif which in (1, 2):
            h = shape_convex(x, j + 1)
        elif which == 3:
            h = shape_linear(x, j + 1)
        else:
            h = shape_concave(x, j + 1)
        f.append(tm + 2 * float(j + 1) * h)
    return f


def optimal_distance(which, pos, l):
    """Normalized decision vector (pos, then l optimal distance values).

    pos holds the k normalized position parameters. WFG1-7 need 0.35; WFG8
    and WFG9 solve b_param(y_i, u) = 0.35 with u the mean of the raw values
    before (WFG8) or after (WFG9) y_i, as the toolkit's generators do.
    """
    k = len(pos)
    y = list(pos) + [0.35] * l

    def solve(u):
        v = B_PARAM_A - (1 - 2 * u) * abs(math.floor(0.5 - u) + B_PARAM_A)
        return math.pow(0.35, 1 / (0.02 + 49.98 * v))

    if which == 8:
        for i in range(k, k + l):
            y[i] = solve(r_mean(y[:i]))
    elif which == 9:
        for i in range(k + l - 2, k - 1, -1):
            y[i] = solve(r_mean(y[i + 1:]))
    return y


def check_points(m):
    """The decision vectors the check values use for m objectives."""
    k, l = wfg_dims(m)
    n = k + l
    rnd = random.Random(20060501 + m)
    hi = [2.0 * (i + 1) for i in range(n)]
    pts = []
    for _ in range(6):  # uniform over the domain
        pts.append([rnd.random() * h for h in hi])
    pts.append([0.0] * n)  # lower corner
    pts.append(list(hi))  # upper corner
    pts.append([0.5 * h for h in hi])  # b_param's u = 1/2 break point
    # distance parameters near 0.35: s_decept's basin and s_multi's minimum
    pts.append([rnd.random() * h for h in hi[:k]] +
               [(0.35 + rnd.uniform(-0.002, 0.002)) * h for h in hi[k:]])
    for which in (1, 8, 9):  # optimal distance parameters of WFG1-7, 8, 9
        pos = [rnd.random() for _ in range(k)]
        pts.append([v * h for v, h in zip(optimal_distance(which, pos, l), hi)])
    return pts


def main():
    print("# WFG1-WFG9 check values from bench/wfg.py; k, l = 2(m-1), 20.")
    print("# 'point' lines give z, 'wfgN' lines the objectives at that point.")
    for m in (3, 4):
        k, _ = wfg_dims(m)
        pts = check_points(m)
        for p, z in enumerate(pts):
            print("point m=%d id=%d z=%s" % (m, p, ",".join(repr(v) for v in z)))
        for which in range(1, 10):
            for p, z in enumerate(pts):
                f = wfg(which, z, m, k)
                print("wfg%d m=%d point=%d f=%s" % (which, m, p, ",".join(repr(v) for v in f)))


if __name__ == "__main__":
    main()
