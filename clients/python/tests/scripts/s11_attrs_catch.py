import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    x = trial.suggest_int("x", 0, 20)
    trial.set_user_attr("parity", "even" if x % 2 == 0 else "odd")
    if x > 15:
        raise ValueError("x too large for this model")
    return (x - 7) ** 2


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.RandomSampler(seed=9))
study.optimize(objective, n_trials=25, catch=(ValueError,))
finish(study, best_attrs=study.best_trial.user_attrs)
