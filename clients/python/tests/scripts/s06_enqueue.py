import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    return (x - 2) ** 2 + (y + 1) ** 2


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.RandomSampler(seed=4))
study.enqueue_trial({"x": 2.0, "y": -1.0})
study.optimize(objective, n_trials=10)
first = min(study.trials, key=lambda t: t.number)
finish(study, first_params=first.params)
