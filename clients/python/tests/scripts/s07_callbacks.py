import optuna
from _common import NAME, STORAGE, finish

seen = []


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    return (x - 3) ** 2


def record(study, trial):
    seen.append(trial.number)
    if len(seen) >= 15:
        study.stop()


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.TPESampler(seed=5))
study.optimize(objective, n_trials=100, callbacks=[record])
finish(study, callbacks=len(seen))
