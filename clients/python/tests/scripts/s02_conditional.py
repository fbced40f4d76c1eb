import math

import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    kind = trial.suggest_categorical("classifier", ["svc", "forest"])
    if kind == "svc":
        c = trial.suggest_float("svc_c", 1e-3, 1e3, log=True)
        return abs(math.log10(c) - 1)
    depth = trial.suggest_int("forest_depth", 2, 32, log=True)
    trees = trial.suggest_int("forest_trees", 10, 100, step=10)
    return abs(depth - 8) / 8 + abs(trees - 50) / 100


study = optuna.create_study(storage=STORAGE, study_name=NAME, direction="minimize", sampler=optuna.samplers.RandomSampler(seed=3))
study.optimize(objective, n_trials=30)
finish(study, conditional=all(("svc_c" in t.params) != ("forest_depth" in t.params) for t in study.trials))
