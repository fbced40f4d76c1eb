import math

import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(3)]
    f1 = x[0]
    g = 1 + 9 * sum(x[1:]) / 2
    return f1, g * (1 - math.sqrt(f1 / g))


study = optuna.create_study(storage=STORAGE, study_name=NAME, directions=["minimize", "minimize"],
                            sampler=optuna.samplers.NSGAIISampler(population_size=10, seed=0))
study.optimize(objective, n_trials=40)
finish(study)
