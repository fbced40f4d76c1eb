import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    rate = trial.suggest_float("rate", 0.01, 1.0, log=True)
    loss = 1.0
    for step in range(10):
        loss *= 1 - rate * 0.5
        trial.report(loss, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return loss


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.TPESampler(seed=1),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
study.optimize(objective, n_trials=30)
finish(study)
