import optuna
from _common import NAME, STORAGE, finish


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 3)
    trial.set_user_attr("note", f"layers={layers}")
    return lr * layers


study = optuna.create_study(storage=STORAGE, study_name=NAME, direction="minimize", sampler=optuna.samplers.RandomSampler(seed=6))
study.optimize(objective, n_trials=12)
df = study.trials_dataframe()
cols = sorted(c for c in df.columns if c.startswith(("params_", "user_attrs_")) or c in ("number", "value", "state"))
finish(study, columns=cols, rows=len(df))
