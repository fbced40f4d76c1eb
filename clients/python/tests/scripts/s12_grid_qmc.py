import optuna
from _common import NAME, STORAGE, finish

space = {"x": [-1, 0, 1, 2], "y": ["a", "b"]}


def objective(trial):
    x = trial.suggest_int("x", -1, 2)
    y = trial.suggest_categorical("y", ["a", "b"])
    return (x - 1) ** 2 + (0 if y == "b" else 1)


study = optuna.create_study(storage=STORAGE, study_name=NAME, sampler=optuna.samplers.GridSampler(space, seed=10))
study.optimize(objective, n_trials=8)
qmc = optuna.create_study(storage=STORAGE, study_name=NAME + "-qmc", sampler=optuna.samplers.QMCSampler(qmc_type="sobol", scramble=True, seed=11))
qmc.optimize(lambda t: (t.suggest_float("u", 0, 1) - 0.5) ** 2, n_trials=16)
finish(study, grid_points=sorted((t.params["x"], t.params["y"]) for t in study.trials), qmc_best=qmc.best_value)
