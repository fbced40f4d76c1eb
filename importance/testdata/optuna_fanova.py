#!/usr/bin/python3
"""Print Optuna's fANOVA importances for data sets of trials, for comparison with retune.

Reads JSON from the file named by the first argument (or stdin):

    {"datasets": [{"name": "...", "seed": 1,
                   "params": [{"name": "x1", "low": 0, "high": 1}, ...],
                   "x": [[...], ...], "y": [...]}]}

Every param is a float on [low, high] unless it says otherwise: "type": "int" makes it an
IntDistribution, "log": true log-uniform and "step" (for an int, or a float) a stepped one, as
Optuna's own distributions are. Row i of x holds trial i's params in the order of
"params", y its objective value. For each data set it builds an Optuna study from the trials,
runs FanovaImportanceEvaluator(seed=seed) with its defaults and writes one JSON line:

    {"name": "...", "importances": {"x1": 0.41, ...}, "seconds": 12.3}

where seconds is the time of the evaluation alone. Needs Debian's python3-optuna (3.1) and
python3-sklearn; run it with /usr/bin/python3.
"""

import json
import sys
import time

import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, get_param_importances


def distribution(p):
    if p.get("type") == "int":
        return IntDistribution(int(p["low"]), int(p["high"]), log=p.get("log", False), step=int(p.get("step", 1)))
    return FloatDistribution(p["low"], p["high"], log=p.get("log", False), step=p.get("step"))


def value(p, v):
    return int(round(v)) if p.get("type") == "int" else float(v)


def evaluate(ds):
    dists = {p["name"]: distribution(p) for p in ds["params"]}
    study = optuna.create_study()
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={p["name"]: value(p, v) for p, v in zip(ds["params"], row)},
                distributions=dists,
                value=float(y),
            )
            for row, y in zip(ds["x"], ds["y"])
        ]
    )
    start = time.perf_counter()
    imp = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=ds["seed"]))
    seconds = time.perf_counter() - start
    return {"name": ds["name"], "importances": dict(imp), "seconds": seconds}


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    with src:
        doc = json.load(src)
    for ds in doc["datasets"]:
        print(json.dumps(evaluate(ds)), flush=True)


if __name__ == "__main__":
    main()
