import optuna
from _common import NAME, STORAGE, finish

study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.TPESampler(n_startup_trials=5, seed=2))
for i in range(30):
    trial = study.ask()
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 1, 4)
    if i % 10 == 9:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        continue
    study.tell(trial, (x - 1) ** 2 + n)
finish(study)
