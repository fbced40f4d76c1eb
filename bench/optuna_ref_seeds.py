#!/usr/bin/python3
"""Runs the efficiency problems of the shared Optuna reference runner (optuna_ref.py: branin,
hartmann6, rosenbrock5, ackley5, mixedB) on seeds first..first+seeds-1, which that runner cannot:
fresh seeds, to check on other seeds a choice made on seeds 0..29. Same samplers, same problems,
same JSON line as optuna_ref.py --mode efficiency, plus "first_seed". Needs Debian's python3-optuna:

  /usr/bin/python3 bench/optuna_ref_seeds.py --ref ../shared/bench/optuna_ref.py \\
      --problem branin --sampler tpe|tpe_mv|cmaes --n 200 --seeds 30 --first-seed 30
"""
import argparse
import importlib.util
import json
import math
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True, help="path of optuna_ref.py")
    ap.add_argument("--problem", required=True)
    ap.add_argument("--sampler", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=0)
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("optuna_ref", a.ref)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    if a.problem not in ref.PROBLEMS:
        ap.error(f"unknown problem {a.problem}: want one of {', '.join(ref.PROBLEMS)}")
    fopt, f = ref.PROBLEMS[a.problem]
    cps = [c for c in (50, 100, 200, 500) if c <= a.n]
    res = {str(c): [] for c in cps}
    start = time.perf_counter()
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        study = ref.optuna.create_study(sampler=ref.make_sampler(a.sampler, seed, for_efficiency=True))
        best = math.inf
        for k in range(1, a.n + 1):
            trial = study.ask()
            v = f(trial)
            study.tell(trial, v)
            best = min(best, v)
            if k in cps:
                res[str(k)].append(best - fopt)
    print(json.dumps({"lib": "optuna", "mode": "efficiency", "problem": a.problem, "sampler": a.sampler,
                      "n": a.n, "seeds": a.seeds, "first_seed": a.first_seed, "regret": res,
                      "wall_s": time.perf_counter() - start}), flush=True)


if __name__ == "__main__":
    main()
