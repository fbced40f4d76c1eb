#!/usr/bin/python3
"""Optuna reference runner for retune's multi-objective benchmark problems (bench/mo.go).

The problems are defined here and in Go (bench/problem: DTLZ, WFG, MixedMO) under the same
names; `--mode check` prints their values at fixed points, which bench/testdata/mo_values.txt
holds and the Go tests reproduce. Needs Debian's python3-optuna (3.1); run with /usr/bin/python3:

  optuna_mo.py --mode mo --problem dtlz2-3 --sampler tpe|nsga2|random --n 300 --seeds 10 \
               [--first-seed 0] [--checkpoints 50,120] [--points] [--per-seed]
  optuna_mo.py --mode check

mo prints one JSON object: the hypervolume of each seed's completed trials at the problem's
reference point (after n trials, and after each checkpoint's number of trials), as
bench.MOResult reads it; with --points, each seed's objective values in trial order instead,
from which retune-bench computes the hypervolumes (Optuna's own hypervolume code takes
minutes for 300 points of four objectives). With --per-seed, one line per seed as each
ends, so that a run of hours stopped midway keeps its finished seeds; retune-bench compare
-optuna-results joins such lines (go on with --first-seed at the first missing seed).
Seed s runs TPESampler(seed=s) / NSGAIISampler(seed=s) with their defaults.
"""
import argparse
import json
import math
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def dtlz_distance(which):
    return {1: 5, 7: 20}.get(which, 10)


def dtlz(which, x, m):
    """DTLZ1..7 (Deb, Thiele, Laumanns, Zitzler 2005); see problem.DTLZ."""
    pos, dist = x[:m - 1], x[m - 1:]
    k = len(dist)
    if which in (1, 3):
        g = 100 * (k + sum((v - 0.5) ** 2 - math.cos(20 * math.pi * (v - 0.5)) for v in dist))
    elif which == 6:
        g = sum(v ** 0.1 for v in dist)
    elif which == 7:
        g = 1 + 9 * sum(dist) / k
    else:
        g = sum((v - 0.5) ** 2 for v in dist)
    f = []
    if which == 1:
        for i in range(m):
            v = 0.5 * (1 + g)
            for j in range(m - 1 - i):
                v *= pos[j]
            if i > 0:
                v *= 1 - pos[m - 1 - i]
            f.append(v)
        return f
    if which == 7:
        h = float(m)
        for i in range(m - 1):
            f.append(pos[i])
            h -= pos[i] / (1 + g) * (1 + math.sin(3 * math.pi * pos[i]))
        f.append((1 + g) * h)
        return f
    theta = []
    for j, v in enumerate(pos):
        if which == 4:
            theta.append(v ** 100 * math.pi / 2)
        elif which in (5, 6) and j > 0:
            theta.append(math.pi / (4 * (1 + g)) * (1 + 2 * g * v))
        else:
            theta.append(v * math.pi / 2)
    for i in range(m):
        v = 1 + g
        for j in range(m - 1 - i):
            v *= math.cos(theta[j])
        if i > 0:
            v *= math.sin(theta[m - 1 - i])
        f.append(v)
    return f


def dtlz_ref(which, m):
    r = [{1: 600.0, 3: 2300.0, 6: 11.5}.get(which, 1.1)] * m
    if which == 7:
        r[m - 1] = 11.0 * m + 1
    return r


def mixed_mo(lr, layers, width, activation, dropout):
    """problem.MixedMO: (error, cost) of a network's settings."""
    offset, cost_factor = {"relu": (0.0, 1.0), "tanh": (0.04, 1.0), "gelu": (-0.02, 1.15),
                           "sigmoid": (0.1 + 0.02 * layers, 1.0)}[activation]
    c = layers * math.log2(width / 8)
    under = math.exp(-c / 12)
    d = 1 - 2 * dropout
    over = max(0.0, c - 24) / 40 * d * d
    miss = math.log10(lr) - (-2.5 - 0.15 * (layers - 1))
    err = 0.05 + 0.5 * under + 0.3 * over + 0.1 * dropout * dropout \
        + 0.2 * (1 - math.exp(-miss * miss / 2)) + offset
    params = layers * width * width * cost_factor
    return [err, math.log10(params) / math.log10(8 * 1024 * 1024 * 1.15)]


def problem(name):
    """Returns (suggest(trial) -> objectives, reference point)."""
    if name in ("zdt1", "zdt2"):
        def zdt(t):
            x = [t.suggest_float(f"x{i}", 0, 1) for i in range(10)]
            g = 1 + 9 * sum(x[1:]) / 9
            h = 1 - math.sqrt(x[0] / g) if name == "zdt1" else 1 - (x[0] / g) ** 2
            return [x[0], g * h]
        return zdt, [1.1, 11.0]
    if name == "mixedmo":
        def mixed(t):
            return mixed_mo(t.suggest_float("lr", 1e-4, 1e-1, log=True), t.suggest_int("layers", 1, 8),
                            t.suggest_int("width", 16, 1024, log=True),
                            t.suggest_categorical("activation", ["relu", "tanh", "gelu", "sigmoid"]),
                            t.suggest_float("dropout", 0, 0.5))
        return mixed, [1.0, 1.1]
    fam, _, m = name.partition("-")
    m = int(m)
    if fam.startswith("dtlz"):
        which = int(fam[4:])
        n = m - 1 + dtlz_distance(which)
        return (lambda t: dtlz(which, [t.suggest_float(f"x{i}", 0, 1) for i in range(n)], m)), dtlz_ref(which, m)
    if fam.startswith("wfg"):
        import wfg
        which = int(fam[3:])
        k, l = wfg.wfg_dims(m)
        return ((lambda t: wfg.wfg(which, [t.suggest_float(f"x{i}", 0, 2 * (i + 1)) for i in range(k + l)], m, k)),
                [2 * (j + 1) + 1.1 for j in range(m)])
    raise ValueError(f"unknown problem {name}")


def run_mo(a):
    import optuna
    from optuna._hypervolume import WFG
    import numpy as np
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    obj, ref = problem(a.problem)
    ref = np.asarray(ref, dtype=float)
    cps = sorted({int(c) for c in a.checkpoints.split(",") if c and 0 < int(c) < a.n})

    def hv(points):
        inside = [p for p in points if all(v < r for v, r in zip(p, ref))]
        return float(WFG().compute(np.asarray(inside, dtype=float), ref)) if inside else 0.0

    def emit(first, seeds, wall, res, at, points):
        out = {"lib": "optuna", "mode": "mo", "problem": a.problem, "sampler": a.sampler, "n": a.n,
               "seeds": seeds, "first_seed": first, "wall_s": wall, "trial_ms": 1000 * wall / max(1, a.n * seeds)}
        if a.points:
            out["points"] = points
        else:
            out["hypervolume"] = res
            if cps:
                out["hypervolume_at"] = at
        print(json.dumps(out), flush=True)

    res, at, wall, points = [], {str(c): [] for c in cps}, 0.0, []
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        if a.sampler == "nsga2":
            sampler = optuna.samplers.NSGAIISampler(seed=seed)
        elif a.sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        elif a.sampler == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            raise ValueError(f"unknown sampler {a.sampler}")
        study = optuna.create_study(directions=["minimize"] * len(ref), sampler=sampler)
        start = time.perf_counter()
        study.optimize(obj, n_trials=a.n)
        took = time.perf_counter() - start
        pts = [t.values for t in study.trials if t.values]
        if a.per_seed:
            if a.points:
                emit(seed, 1, took, None, None, [pts])
            else:
                emit(seed, 1, took, [hv(pts)], {str(c): [hv(pts[:c])] for c in cps}, None)
            continue
        wall += took
        if a.points:
            points.append(pts)
            continue
        for c in cps:
            at[str(c)].append(hv(pts[:c]))
        res.append(hv(pts))
    if not a.per_seed:
        emit(a.first_seed, a.seeds, wall, res, at, points)


def fixed_point(n, p, low=0.0, high=1.0):
    """A deterministic point in [low, high]^n; problem p's point number p."""
    return [low + (high - low) * ((math.sin(12.9898 * (i + 1) + 78.233 * (p + 1)) * 43758.5453) % 1.0)
            for i in range(n)]


def run_check(_a):
    for m in (3, 4):
        for which in range(1, 8):
            n = m - 1 + dtlz_distance(which)
            for p in range(3):
                f = dtlz(which, fixed_point(n, p), m)
                print(f"dtlz{which}-{m} {p} " + " ".join(repr(v) for v in f))
    for p, args in enumerate([(1e-3, 3, 256, "relu", 0.1), (0.05, 8, 1024, "gelu", 0.5),
                              (2e-4, 1, 16, "sigmoid", 0.0), (1e-2, 5, 100, "tanh", 0.25)]):
        print(f"mixedmo {p} " + " ".join(repr(v) for v in mixed_mo(*args)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=["mo", "check"])
    ap.add_argument("--problem", default="dtlz2-3")
    ap.add_argument("--sampler", default="tpe")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="run seeds first-seed .. first-seed+seeds-1 (fresh seeds to check a choice made on others)")
    ap.add_argument("--checkpoints", default="")
    ap.add_argument("--points", action="store_true",
                    help="print each seed's objective values instead of hypervolumes")
    ap.add_argument("--per-seed", action="store_true",
                    help="print a line for each seed as it ends (seeds 1), so a stopped run keeps the seeds it ran")
    a = ap.parse_args()
    {"mo": run_mo, "check": run_check}[a.mode](a)


if __name__ == "__main__":
    main()
