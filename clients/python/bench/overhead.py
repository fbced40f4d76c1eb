"""Per-trial overhead: ask + 5 suggests + tell from Python to a retune server (TPE,
define-by-run) beside Optuna 3.1's in-memory TPE, both after the same number of trials of
history, in one run. Prints one JSON line with p50/p99 in milliseconds.

    python3 overhead.py URL [--history 1000] [--measure 200]     (token: $RETUNE_TOKEN)

BenchmarkPythonOverhead (cmd/retune) starts a server and runs it.
"""

import argparse
import json
import math
import time
import uuid


def objective_value(xs):
    return sum((x - 0.3 * i) ** 2 for i, x in enumerate(xs))


def percentiles(ms):
    ms = sorted(ms)
    return {"p50": ms[len(ms) // 2], "p99": ms[min(len(ms) - 1, math.ceil(0.99 * len(ms)) - 1)]}


def bench_retune(url, history, measure, space_in_ask):
    import retune

    study = retune.connect(url).study("overhead-" + uuid.uuid4().hex[:8], sampler={"name": "tpe"}, seed=1)
    space = {f"x{i}": retune.float_dist(-5, 5) for i in range(5)}
    for _ in range(history):  # history, quickly: the whole space in the ask
        t = study.ask(space)
        study.tell(t, objective_value([t.params[f"x{i}"] for i in range(5)]))
    out = []
    for _ in range(measure):
        start = time.perf_counter()
        t = study.ask(space) if space_in_ask else study.ask()
        xs = [t.suggest_float(f"x{i}", -5, 5) for i in range(5)]
        study.tell(t, objective_value(xs))
        out.append((time.perf_counter() - start) * 1000)
    return percentiles(out)


def bench_optuna(history, measure):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1))
    study.optimize(lambda t: objective_value([t.suggest_float(f"x{i}", -5, 5) for i in range(5)]), n_trials=history)
    out = []
    for _ in range(measure):
        start = time.perf_counter()
        t = study.ask()
        xs = [t.suggest_float(f"x{i}", -5, 5) for i in range(5)]
        study.tell(t, objective_value(xs))
        out.append((time.perf_counter() - start) * 1000)
    return percentiles(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--history", type=int, default=1000)
    ap.add_argument("--measure", type=int, default=200)
    args = ap.parse_args()
    res = {"history": args.history, "measure": args.measure}
    res["retune_suggests"] = bench_retune(args.url, args.history, args.measure, False)  # 7 round trips
    res["retune_space"] = bench_retune(args.url, args.history, args.measure, True)  # 2 round trips
    res["optuna"] = bench_optuna(args.history, args.measure)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
