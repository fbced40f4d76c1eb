"""An ordinary Optuna script, run against a retune server by changing one import.

    RETUNE_TOKEN=rt_… /usr/bin/python3 optuna_script.py http://127.0.0.1:8080

With `import optuna` instead, the same script runs on Optuna alone (storage=None:
in memory).
"""

import os
import sys

import retune.optuna as optuna  # was: import optuna

storage = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RETUNE_URL")
trials = int(os.environ.get("EXAMPLE_TRIALS", "60"))


def objective(trial):
    classifier = trial.suggest_categorical("classifier", ["svm", "forest"])
    if classifier == "svm":
        c = trial.suggest_float("svm_c", 1e-3, 1e3, log=True)
        score = 1 - abs(0.7 - (c / (1 + c)))
    else:
        depth = trial.suggest_int("forest_depth", 2, 32, log=True)
        score = 1 - abs(depth - 12) / 32
    for step in range(5):
        trial.report(score * (step + 1) / 5, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return score


study = optuna.create_study(storage=storage, study_name="optuna-example", direction="maximize",
                            sampler=optuna.samplers.TPESampler(seed=7), pruner=optuna.pruners.MedianPruner(),
                            load_if_exists=True)
study.optimize(objective, n_trials=trials)
print("best:", study.best_value, study.best_params)
