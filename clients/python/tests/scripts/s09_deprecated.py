import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    a = trial.suggest_uniform("a", -3, 3)
    b = trial.suggest_loguniform("b", 1e-3, 10)
    c = trial.suggest_discrete_uniform("c", 0, 1, 0.25)
    d = trial.suggest_int("d", 1, 64, log=True)
    return a ** 2 + abs(b - 1) + c + abs(d - 8) / 8


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.CmaEsSampler(seed=7))
study.optimize(objective, n_trials=30)
finish(study)
