"""The Python client, notebook style: create a study on a retune server, run trials from
this process, read the results back.

    retune serve --db retune.db &                       # prints the URL
    RETUNE_TOKEN=rt_… /usr/bin/python3 client_notebook.py http://127.0.0.1:8080

(Install the client first: see clients/python/README.md. Creating the study needs an admin
token; later runs resume it with any run token.)
"""

import math
import os
import sys

import retune

url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RETUNE_URL", "http://127.0.0.1:8080")
trials = int(os.environ.get("EXAMPLE_TRIALS", "40"))
client = retune.connect(url)

study = client.study("notebook-rosenbrock", direction="minimize",
                     sampler={"name": "tpe", "startup_trials": 10, "multivariate": True}, seed=42)


def rosenbrock(trial):
    x = trial.suggest_float("x", -2, 2)
    y = trial.suggest_float("y", -1, 3)
    for step in range(3):  # intermediate values: the pruner (none here) and the dashboard see them
        trial.report(math.log1p((1 - x) ** 2 + 100 * (y - x * x) ** 2) * (3 - step), step)
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


study.optimize(rosenbrock, n_trials=trials, n_jobs=2)
best = study.best_trial
print(f"best trial {best.number}: value {best.value:.4g} at {best.params}")
table = study.to_dataframe()  # a pandas DataFrame when pandas is installed
print(table if isinstance(table, list) else table.sort_values("value").head())
