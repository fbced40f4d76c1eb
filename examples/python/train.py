"""A scikit-learn trainer that uses retune.trainer: params come from retune, metrics go
back without string formatting. Run by `retune run study.yaml` (or an agent).

Needs scikit-learn (Debian: python3-sklearn) and the client (the study file puts the
checkout's clients/python on PYTHONPATH).
"""

import os
import time

from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from retune import trainer

p = trainer.params()
seed = int(os.environ.get("RETUNE_SEED", "0"))  # confirmation repeats vary it
X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
model = HistGradientBoostingClassifier(learning_rate=p["learning_rate"], max_depth=p["max_depth"],
                                       early_stopping=False, warm_start=True, random_state=seed)
start = time.perf_counter()
accuracy = 0.0
for rounds in range(5, p["max_iter"] + 1, 5):
    model.set_params(max_iter=rounds)
    model.fit(X_train, y_train)
    accuracy = model.score(X_val, y_val)
    trainer.report(step=rounds, accuracy=accuracy)  # the pruner may stop this trial here
trainer.result(accuracy=accuracy, fit_seconds=time.perf_counter() - start)
