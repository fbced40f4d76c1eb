import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_float("y", -10, 10)
    return (x - 2) ** 2 + (y + 1) ** 2


optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=60)
finish(study)
