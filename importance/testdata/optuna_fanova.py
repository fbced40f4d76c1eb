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

where seconds is the time of the evaluation alone.

A data set may also give "weights": one list per tree of the forest (64, Optuna's n_trees)
holding, for each trial, a nonnegative weight (the number of times the tree's bootstrap
sample draws the trial). Its line then also holds "paired" and "paired_seconds": the
importances FanovaImportanceEvaluator(seed=seed) computes with its own code (search space
transform, _FanovaTree decomposition, normalization) when tree k of its forest is grown on
weights[k] instead of its own bootstrap sample. Tree k is the tree of the evaluator's
RandomForestRegressor (max_depth 64, min_samples_split 2, min_samples_leaf 1, max_features
1.0, random_state seed, so the same per-tree random state), fitted with bootstrap=False and
sample_weight=weights[k]: the same fit that the forest's bootstrap makes with the counts it
draws itself. The script checks that on every such data set: grown on the counts of the
evaluator's own bootstrap samples, the paired forest's trees are the evaluator's, node for
node.

Needs Debian's python3-optuna (3.1) and python3-sklearn; run it with /usr/bin/python3.
"""

import json
import sys
import time

import numpy
import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.importance import FanovaImportanceEvaluator, get_param_importances
from sklearn.ensemble import RandomForestRegressor
from sklearn.ensemble._forest import _generate_sample_indices


def distribution(p):
    if p.get("type") == "int":
        return IntDistribution(int(p["low"]), int(p["high"]), log=p.get("log", False), step=int(p.get("step", 1)))
    return FloatDistribution(p["low"], p["high"], log=p.get("log", False), step=p.get("step"))


def value(p, v):
    return int(round(v)) if p.get("type") == "int" else float(v)


class PairedForest:
    """Stands in for the RandomForestRegressor of FanovaImportanceEvaluator's _Fanova: fit
    grows tree k on the given weights[k] rather than on a bootstrap sample of its own."""

    def __init__(self, forest, weights):
        self._forest = forest
        self._weights = weights
        self.estimators_ = []

    def fit(self, x, y):
        params = self._forest.get_params()
        n_trees = params["n_estimators"]
        if len(self._weights) != n_trees:
            raise ValueError(f"{len(self._weights)} weight vectors for a forest of {n_trees} trees")
        # Warm starts add one tree per fit, each with the random state it has in a forest
        # fitted at once.
        params.update(bootstrap=False, warm_start=True, n_estimators=1)
        forest = RandomForestRegressor(**params)
        for k, w in enumerate(self._weights):
            w = numpy.asarray(w, dtype=numpy.float64)
            if w.shape != (x.shape[0],):
                raise ValueError(f"tree {k}: {w.shape[0]} weights for {x.shape[0]} trials")
            forest.set_params(n_estimators=k + 1)
            forest.fit(x, y, sample_weight=w)
        self.estimators_ = forest.estimators_
        return self


class RecordingForest:
    """Passes fit on to a RandomForestRegressor and keeps the data it was fitted on."""

    def __init__(self, forest):
        self.forest = forest
        self.estimators_ = []

    def fit(self, x, y):
        self.x, self.y = x, y
        self.forest.fit(x, y)
        self.estimators_ = self.forest.estimators_
        return self


def check_paired(rec):
    """Raises unless PairedForest, given the bootstrap counts of the forest rec recorded,
    grows that forest's trees."""
    n = rec.x.shape[0]
    counts = [
        numpy.bincount(_generate_sample_indices(e.random_state, n, n), minlength=n) for e in rec.estimators_
    ]
    paired = PairedForest(rec.forest, counts).fit(rec.x, rec.y)
    for k, (a, b) in enumerate(zip(rec.estimators_, paired.estimators_)):
        ta, tb = a.tree_, b.tree_
        same = a.random_state == b.random_state and all(
            numpy.array_equal(getattr(ta, f), getattr(tb, f))
            for f in ("feature", "threshold", "children_left", "children_right", "value")
        )
        if not same:
            raise AssertionError(f"tree {k}: grown on its own bootstrap counts, the paired tree differs")


def study_of(ds):
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
    return study


def evaluate(ds):
    study = study_of(ds)
    evaluator = FanovaImportanceEvaluator(seed=ds["seed"])
    rec = evaluator._evaluator._forest = RecordingForest(evaluator._evaluator._forest)
    start = time.perf_counter()
    imp = get_param_importances(study, evaluator=evaluator)
    out = {"name": ds["name"], "importances": dict(imp), "seconds": time.perf_counter() - start}
    if ds.get("weights") is not None:
        check_paired(rec)
        evaluator = FanovaImportanceEvaluator(seed=ds["seed"])
        fanova = evaluator._evaluator
        forest = fanova._forest
        params = forest.get_params()
        want = dict(n_estimators=64, max_depth=64, min_samples_split=2, min_samples_leaf=1, max_features=1.0, bootstrap=True)
        if any(params[k] != v for k, v in want.items()):
            raise ValueError(f"Optuna's forest is not the one expected: {params}")
        fanova._forest = PairedForest(forest, ds["weights"])
        start = time.perf_counter()
        imp = get_param_importances(study, evaluator=evaluator)
        out["paired"] = dict(imp)
        out["paired_seconds"] = time.perf_counter() - start
    return out


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    with src:
        doc = json.load(src)
    for ds in doc["datasets"]:
        print(json.dumps(evaluate(ds)), flush=True)


if __name__ == "__main__":
    main()
