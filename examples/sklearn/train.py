"""Trains a gradient-boosted classifier on scikit-learn's digits and reports to retune.

retune passes the params as flags. The model grows in rounds of --round iterations
(warm_start); after each round the validation accuracy is printed as a step line, so a
pruner can stop a poor trial early. The final line holds the objective and other metrics:

    step=5 accuracy=0.9022
    ...
    accuracy=0.9689 fit_seconds=0.48

Needs scikit-learn (Debian: apt-get install python3-sklearn); the digits data ships with it.
"""

import argparse
import os
import time

from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--max-depth", type=int, default=None)
    ap.add_argument("--max-leaf-nodes", type=int, default=31)
    ap.add_argument("--max-iter", type=int, default=30, help="boosting iterations in all")
    ap.add_argument("--round", type=int, default=5, help="iterations between step lines")
    args = ap.parse_args()
    # Confirmation repeats set RETUNE_SEED; search trials use a fixed split and seed.
    seed = int(os.environ.get("RETUNE_SEED", "0"))

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    model = HistGradientBoostingClassifier(
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        max_leaf_nodes=args.max_leaf_nodes,
        early_stopping=False,
        warm_start=True,
        random_state=seed,
    )
    fit_seconds = 0.0
    accuracy = 0.0
    done = 0
    while done < args.max_iter:
        done = min(done + args.round, args.max_iter)
        model.set_params(max_iter=done)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds += time.perf_counter() - start
        accuracy = model.score(X_val, y_val)
        print(f"step={done} accuracy={accuracy:.6f}", flush=True)
    print(f"accuracy={accuracy:.6f} fit_seconds={fit_seconds:.3f}", flush=True)


if __name__ == "__main__":
    main()
