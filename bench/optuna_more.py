#!/usr/bin/python3
"""Optuna runner for retune's broader single-objective problems and learning-curve families.

The problems (problem.Broad in Go) and curve families (problem.CurveFamilies) are defined
here and in bench/problem (broad.go, curves.go) under the same names, with the params
suggested in the same order; `--mode check` prints their values at fixed points, which
bench/testdata/more_values.txt holds and the Go tests reproduce. Needs Debian's
python3-optuna (3.1); run with /usr/bin/python3:

  optuna_more.py --mode efficiency --problem rastrigin10 --sampler tpe|tpe_mv|cmaes|random \
                 --n 200 --seeds 10
  optuna_more.py --mode curves --family latebloom --sampler tpe|random \
                 --pruner none|median|sha|hyperband --n 100 --seeds 10
  optuna_more.py --mode check

efficiency prints one JSON object as optuna_ref.py's efficiency mode does: per seed s
(sampler seed s), the regret at 50, 100, 200 and 500 trials (those up to n). The regret is
the noise-free value of the trial with the best observed value, minus the problem's
optimum; only hartmann6Noisy has observation noise, so for the others it is the best value
so far minus the optimum.

curves prints one JSON object as bench.CurvesResult reads it: per seed s, a study with
TPESampler(seed=s) (or RandomSampler) and the pruner runs n trials; each suggests the
family's params and reports its curve at steps 1..50 unless pruned. Per seed: the steps
consumed, the trials pruned and completed, and the best noise-free final value among the
completed trials (0 if none completed). The pruners are MedianPruner(),
SuccessiveHalvingPruner(min_resource=1, reduction_factor=4) and HyperbandPruner(
min_resource=1, max_resource=50, reduction_factor=3), as bench/pruning.go documents; the
study of seed s is named curves-FAMILY-s, as Hyperband's brackets depend on the name.
"""
import argparse
import json
import math
import time
import warnings

MASK = (1 << 64) - 1
STEPS = 50


# ---------------- deterministic hashing (problem.HashUnit) ----------------
def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def hash_unit(*keys):
    h = 0
    for k in keys:
        h = mix64(h ^ k)
    return (h >> 11) / float(1 << 53)


# ---------------- problems (problem.Broad) ----------------
def rastrigin(x):
    s = 10.0 * len(x)
    for v in x:
        s += v * v - 10 * math.cos(2 * math.pi * v)
    return s


def schwefel(x):
    s = 418.9829 * len(x)
    for v in x:
        s -= v * math.sin(math.sqrt(abs(v)))
    return s


def levy(x):
    d = len(x)
    w = [1 + (v - 1) / 4 for v in x]
    s0 = math.sin(math.pi * w[0])
    s = s0 * s0
    for i in range(d - 1):
        si = math.sin(math.pi * w[i] + 1)
        s += (w[i] - 1) * (w[i] - 1) * (1 + 10 * si * si)
    sd = math.sin(2 * math.pi * w[d - 1])
    return s + (w[d - 1] - 1) * (w[d - 1] - 1) * (1 + sd * sd)


ELLIPSOID_SHIFT = [1.2, -3.1, 2.6, 0.4, -1.7, 3.8, -2.2, -0.6, 2.9, -3.5]


def rotated_ellipsoid(x):
    d = len(ELLIPSOID_SHIFT)
    s = 0.0
    for k in range(d):
        ck = math.sqrt(1 / d) if k == 0 else math.sqrt(2 / d)
        z = 0.0
        for n in range(d):
            z += ck * math.cos(math.pi * (n + 0.5) * k / d) * (x[n] - ELLIPSOID_SHIFT[n])
        s += math.pow(10, 6 * k / (d - 1)) * z * z
    return s


def styblinski_tang(x):
    s = 0.0
    for v in x:
        v2 = v * v
        s += v2 * v2 - 16 * v2 + 5 * v
    return s / 2


def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        d = x[i + 1] - x[i] * x[i]
        e = 1 - x[i]
        s += 100 * d * d + e * e
    return s


def michalewicz(x):
    s = 0.0
    for i, v in enumerate(x):
        t = math.sin((i + 1) * v * v / math.pi)
        s -= math.sin(v) * math.pow(t, 20)
    return s


def rosen2(z0, z1):
    a = z1 - z0 * z0
    b = z0 - 1
    return (100 * a * a + b * b) / 300


def camel(z0, z1):
    z02 = z0 * z0
    z12 = z1 * z1
    return ((4 - 2.1 * z02 + z02 * z02 / 3) * z02 + z0 * z1 + (-4 + 4 * z12) * z12) / 10


def beale(z0, z1):
    a = 1.5 - z0 + z0 * z1
    b = 2.25 - z0 + z0 * z1 * z1
    c = 2.625 - z0 + z0 * z1 * z1 * z1
    return (a * a + b * b + c * c) / 50


def func3c(x0, x1, h1, h2, h3):
    """Func3C of CoCaBO (Ru et al., ICML 2020) without its 1e-6 noise; see problem.Func3C."""
    z0, z1 = 2 * x0, 2 * x1
    f = [rosen2, camel, beale][h1](z0, z1)
    f += [rosen2, camel, beale, beale, beale][h2](z0, z1)
    if h3 == 0:
        f += 5 * camel(z0, z1)
    elif h3 == 1:
        f += 2 * rosen2(z0, z1)
    else:
        f += h3 * beale(z0, z1)
    return f


def hartmann6(x):
    a = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
         [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
    p = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
    alpha = [1.0, 1.2, 3.0, 3.2]
    s = 0.0
    for i in range(4):
        inner = 0.0
        for j in range(6):
            d = x[j] - p[i][j] * 1e-4
            inner += a[i][j] * d * d
        s += alpha[i] * math.exp(-inner)
    return -s


def ackley(x):
    n = len(x)
    s1 = sum(v * v for v in x)
    s2 = sum(math.cos(2 * math.pi * v) for v in x)
    return -20 * math.exp(-0.2 * math.sqrt(s1 / n)) - math.exp(s2 / n) + 20 + math.e


def hartmann_noise(seed, trial):
    """problem.HartmannNoise: 0.1 * (sum of 12 hashed uniforms - 6)."""
    s = 0.0
    for j in range(12):
        s += hash_unit(1, seed, trial, j)
    return 0.1 * (s - 6)


def fl(name, low, high, log=False):
    return (name, "float", low, high, log, None)


def it(name, low, high, log=False):
    return (name, "int", low, high, log, None)


def cat(name, choices):
    return (name, "categorical", None, None, False, choices)


def box(d, lo, hi):
    return [fl(f"x{i}", lo, hi) for i in range(d)]


def xs(p, d):
    return [p[f"x{i}"] for i in range(d)]


def index_choices(n):
    return [str(i) for i in range(n)]


ACKLEY_MIXED_SPACE = ([fl(f"x{i}", -1, 1) for i in range(3)] + [it(f"n{i}", -8, 8) for i in range(3)]
                      + [cat(f"c{i}", index_choices(17)) for i in range(4)])


def ackley_mixed(p):
    z = [p[f"x{i}"] for i in range(3)] + [p[f"n{i}"] / 8 for i in range(3)]
    z += [int(p[f"c{i}"]) / 8 - 1 for i in range(4)]
    return ackley(z)


MICHALEWICZ_ARGMIN = [2.2029055201639234, 1.5707963267912002, 1.2849915705402493, 1.923058469859634,
                      1.7204697725772549, 1.5707963267903287, 1.4544139713503035, 1.756086520937532,
                      1.6557174168110769, 1.5707963267905574]

# name: (optimum, space, evaluate(params), noise(seed, trial) or None, argmin params or None)
PROBLEMS = {
    "rastrigin10": (0.0, box(10, -5.12, 5.12), lambda p: rastrigin(xs(p, 10)), None,
                    {f"x{i}": 0.0 for i in range(10)}),
    "schwefel10": (1.27275e-4, box(10, -500, 500), lambda p: schwefel(xs(p, 10)), None,
                   {f"x{i}": 420.9687436961694 for i in range(10)}),
    "levy10": (0.0, box(10, -10, 10), lambda p: levy(xs(p, 10)), None, {f"x{i}": 1.0 for i in range(10)}),
    "ellipsoid10": (0.0, box(10, -5, 5), lambda p: rotated_ellipsoid(xs(p, 10)), None,
                    {f"x{i}": v for i, v in enumerate(ELLIPSOID_SHIFT)}),
    "styblinski16": (-626.659, box(16, -5, 5), lambda p: styblinski_tang(xs(p, 16)), None,
                     {f"x{i}": -2.903534027771177 for i in range(16)}),
    "rosenbrock20": (0.0, box(20, -5, 10), lambda p: rosenbrock(xs(p, 20)), None,
                     {f"x{i}": 1.0 for i in range(20)}),
    "michalewicz10": (-9.66016, box(10, 0, math.pi), lambda p: michalewicz(xs(p, 10)), None,
                      {f"x{i}": v for i, v in enumerate(MICHALEWICZ_ARGMIN)}),
    "func3C": (-0.722140, [fl("x0", -1, 1), fl("x1", -1, 1), cat("h1", index_choices(3)),
                           cat("h2", index_choices(5)), cat("h3", index_choices(4))],
               lambda p: func3c(p["x0"], p["x1"], int(p["h1"]), int(p["h2"]), int(p["h3"])), None,
               {"x0": 0.08984201310031806 / 2, "x1": -0.7126564030207396 / 2, "h1": "1", "h2": "1", "h3": "0"}),
    "ackleyMixed": (0.0, ACKLEY_MIXED_SPACE, ackley_mixed, None,
                    dict([(f"x{i}", 0.0) for i in range(3)] + [(f"n{i}", 0) for i in range(3)]
                         + [(f"c{i}", "8") for i in range(4)])),
    "hartmann6Noisy": (-3.32237, box(6, 0, 1), lambda p: hartmann6(xs(p, 6)), hartmann_noise,
                       {f"x{i}": v for i, v in enumerate([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])}),
}


# ---------------- learning-curve families (problem.CurveFamilies) ----------------
CHANCE = 0.1


def late_bloom(lr, width, optimizer, u):
    slow, bonus = {"adam": (0.6, -0.03), "momentum": (1.0, 0.0), "sgd": (1.4, 0.03)}[optimizer]
    l = math.log10(lr)
    r = (l + 4) / 3
    w = math.log2(width / 16) / 6
    tau = 5 * math.pow(10, -0.6 * (l + 2.5)) * (1 + w) * slow
    alpha = 0.55 + 0.3 * math.pow(1 - r, 0.7) + 0.06 * w + bonus
    v = u / tau
    return alpha - (alpha - CHANCE) * math.exp(-v * v)


def crossing(lr, schedule, decay_at, u):
    r = (math.log10(lr) + 3) / 3
    p1 = 0.84 - 0.5 * r
    gain = max(0.0, 0.78 + 0.2 * r - 0.08 * r * r * r - p1)
    tau1 = 2 + 8 * (1 - r)

    def y1(t):
        return p1 - (p1 - CHANCE) * math.exp(-t / tau1)

    if schedule == "constant":
        return y1(u)
    if schedule == "cosine":
        phi = (1 - math.cos(math.pi * u / 50)) / 2
        return y1(u) + 0.85 * gain * phi * phi
    if schedule != "step":
        raise ValueError(schedule)
    d = float(decay_at)
    if u < d:
        return y1(u)
    h = 0.8 + 0.2 * (d - 10) / 35
    yd = y1(d)
    return yd + (p1 + h * gain - yd) * (1 - math.exp(-(u - d) / 4))


def divergent(lr, layers, dropout, norm, u):
    tau_factor, tolerance = {"none": (1.0, 0.0), "batch": (0.7, 0.6), "layer": (0.85, 0.3)}[norm]
    l = math.log10(lr)
    c = layers / 8
    s = math.pow(10, 0.5 * (l + 2.5))
    tau = 5 / s * (1 + 0.5 * c) * (1 + dropout) * tau_factor
    alpha = 0.6 + 0.32 * math.sqrt(c) - 0.12 * dropout
    y = alpha - (alpha - CHANCE) * math.exp(-u / tau)
    u0 = 1.5 * tau
    if u > u0:
        k = 1 - dropout / 0.7
        y -= 0.4 * c * c * k * k * (1 - math.exp(-(u - u0) / 20))
    lc = -1.9 - 0.1 * layers + tolerance
    if l > lc:
        td = 15 + 35 * math.exp(-3 * (l - lc))
        y = CHANCE + (y - CHANCE) / (1 + math.exp((u - td) / 1.5))
    return y


# name: (space, noise-free curve(params, step, steps))
FAMILIES = {
    "latebloom": ([fl("lr", 1e-4, 1e-1, log=True), it("width", 16, 1024, log=True),
                   cat("optimizer", ["adam", "momentum", "sgd"])],
                  lambda p, step, steps: late_bloom(p["lr"], p["width"], p["optimizer"], 50 * step / steps)),
    "crossing": ([fl("lr", 1e-3, 1, log=True), cat("schedule", ["constant", "step", "cosine"]),
                  it("decay_at", 10, 45)],
                 lambda p, step, steps: crossing(p["lr"], p["schedule"], p["decay_at"], 50 * step / steps)),
    "divergent": ([fl("lr", 1e-4, 1e-1, log=True), it("layers", 1, 8), fl("dropout", 0, 0.7),
                   cat("norm", ["none", "batch", "layer"])],
                  lambda p, step, steps: divergent(p["lr"], p["layers"], p["dropout"], p["norm"], 50 * step / steps)),
}


def curve_jitter(seed, trial, step):
    return 0.01 * (2 * hash_unit(2, seed, trial, step) - 1)


def curve_value(family, p, step, steps, seed, trial):
    return FAMILIES[family][1](p, step, steps) + curve_jitter(seed, trial, step)


def curve_final(family, p, steps):
    return FAMILIES[family][1](p, steps, steps)


# ---------------- Optuna side ----------------
def suggest(trial, space):
    p = {}
    for name, kind, low, high, log, choices in space:
        if kind == "float":
            p[name] = trial.suggest_float(name, low, high, log=log)
        elif kind == "int":
            p[name] = trial.suggest_int(name, low, high, log=log)
        else:
            p[name] = trial.suggest_categorical(name, choices)
    return p


def make_sampler(optuna, name, seed):
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed)
    if name == "tpe_mv":
        return s.TPESampler(seed=seed, multivariate=True)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "random":
        return s.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name}")


def import_optuna():
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    return optuna


def run_efficiency(a):
    optuna = import_optuna()
    fopt, space, f, noise, _ = PROBLEMS[a.problem]
    cps = [c for c in (50, 100, 200, 500) if c <= a.n]
    res = {str(c): [] for c in cps}
    start = time.perf_counter()
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        study = optuna.create_study(sampler=make_sampler(optuna, a.sampler, seed))
        best_obs, best = math.inf, math.inf
        for k in range(1, a.n + 1):
            trial = study.ask()
            v = f(suggest(trial, space))
            obs = v + noise(seed, trial.number) if noise else v
            study.tell(trial, obs)
            if obs < best_obs:
                best_obs, best = obs, v
            if k in cps:
                res[str(k)].append(best - fopt)
    print(json.dumps({"lib": "optuna", "mode": "efficiency", "problem": a.problem, "sampler": a.sampler,
                      "n": a.n, "first_seed": a.first_seed, "seeds": a.seeds, "regret": res,
                      "wall_s": time.perf_counter() - start}),
          flush=True)


def run_curves(a):
    optuna = import_optuna()
    space, _ = FAMILIES[a.family]
    runs = []
    start = time.perf_counter()
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        stats = {"steps": 0, "completed": 0, "pruned": 0, "best_final": -math.inf}

        def objective(trial):
            p = suggest(trial, space)
            v = 0.0
            for step in range(1, STEPS + 1):
                v = curve_value(a.family, p, step, STEPS, seed, trial.number)
                stats["steps"] += 1
                trial.report(v, step)
                if trial.should_prune():
                    stats["pruned"] += 1
                    raise optuna.TrialPruned()
            stats["completed"] += 1
            stats["best_final"] = max(stats["best_final"], curve_final(a.family, p, STEPS))
            return v

        pruner = {"none": optuna.pruners.NopPruner(),
                  "median": optuna.pruners.MedianPruner(),
                  "sha": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4),
                  "hyperband": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=STEPS,
                                                              reduction_factor=3)}[a.pruner]
        if a.sampler == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        elif a.sampler == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            raise ValueError(f"unknown sampler {a.sampler}: want tpe or random")
        # HyperbandPruner assigns trials to brackets by a hash of the study name and the trial
        # number; a fixed name makes the run reproducible (a generated one differs per run).
        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner,
                                    study_name=f"curves-{a.family}-{seed}")
        study.optimize(objective, n_trials=a.n)
        if stats["completed"] == 0:
            stats["best_final"] = 0.0
        runs.append(stats)
    print(json.dumps({"lib": "optuna", "mode": "curves", "family": a.family, "sampler": a.sampler,
                      "pruner": a.pruner, "n": a.n, "first_seed": a.first_seed, "seeds": a.seeds, "steps": STEPS, "runs": runs,
                      "wall_s": time.perf_counter() - start}), flush=True)


def fixed_params(space, point):
    """A deterministic point of space: param j from hash_unit(3, point, j)."""
    p = {}
    for j, (name, kind, low, high, log, choices) in enumerate(space):
        u = hash_unit(3, point, j)
        if kind == "float":
            p[name] = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if log else low + (high - low) * u
        elif kind == "int":
            p[name] = low + math.floor(u * (high - low + 1))
        else:
            p[name] = choices[math.floor(u * len(choices))]
    return p


def run_check(_a):
    for name, (fopt, space, f, noise, argmin) in PROBLEMS.items():
        print(f"optimum {name} - - {fopt!r}")
        print(f"problem {name} opt - {f(argmin)!r}")
        for point in range(3):
            print(f"problem {name} {point} - {f(fixed_params(space, point))!r}")
        if noise:
            for seed, trial in ((0, 0), (0, 1), (3, 7), (9, 499)):
                print(f"noise {name} {seed} {trial} {noise(seed, trial)!r}")
    for name, (space, _) in FAMILIES.items():
        for point in range(6):
            p = fixed_params(space, point)
            for step, steps in ((1, 50), (5, 50), (20, 50), (50, 50), (37, 100)):
                print(f"curve {name} {point} {step}/{steps} {curve_value(name, p, step, steps, 1, point)!r}")
            print(f"final {name} {point} 50 {curve_final(name, p, 50)!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=["efficiency", "curves", "check"])
    ap.add_argument("--problem", default="rastrigin10")
    ap.add_argument("--family", default="latebloom")
    ap.add_argument("--sampler", default="tpe")
    ap.add_argument("--pruner", default="none")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="efficiency and curves: run seeds first-seed..first-seed+seeds-1")
    a = ap.parse_args()
    if a.mode == "efficiency" and a.problem not in PROBLEMS:
        ap.error(f"unknown problem {a.problem}: want one of {', '.join(PROBLEMS)}")
    if a.mode == "curves" and a.family not in FAMILIES:
        ap.error(f"unknown family {a.family}: want one of {', '.join(FAMILIES)}")
    {"efficiency": run_efficiency, "curves": run_curves, "check": run_check}[a.mode](a)


if __name__ == "__main__":
    main()
