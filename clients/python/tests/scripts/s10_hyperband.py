import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    w = trial.suggest_float("w", 0, 1)
    value = 1.0
    for step in range(1, 10):
        value = abs(w - 0.3) + 1.0 / step
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.TPESampler(seed=8),
                            pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3))
study.optimize(objective, n_trials=40)
finish(study)
