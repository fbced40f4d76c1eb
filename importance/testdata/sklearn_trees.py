#!/usr/bin/python3
"""Grow scikit-learn's regression trees on given sample weights, for comparison with retune.

Reads JSON from the file named by the first argument:

    {"x": [[...], ...], "y": [...], "low": [...], "high": [...], "weights": [[...], ...]}

Row i of x holds sample i's features, y its response; low and high bound each feature's
search space. For each weight vector (one per tree: the bootstrap counts a
RandomForestRegressor would give its tree) it fits the tree that Optuna 3.1's
FanovaImportanceEvaluator gets from its forest: a DecisionTreeRegressor with max_depth 64,
min_samples_split 2, min_samples_leaf 1 and every feature tried at each split (the forest's
max_features 1.0). It writes one JSON line per tree:

    {"feature": [...], "threshold": [...], "left": [...], "right": [...], "value": [...],
     "fractions": [...]}

the tree's nodes as scikit-learn stores them (feature -1 for a leaf) and, per feature, the
share of the tree's variance that Optuna's _FanovaTree gives that feature's main effect over
the search space. Needs Debian's python3-optuna (3.1) and python3-sklearn; run it with
/usr/bin/python3.
"""

import json
import sys

import numpy
from optuna.importance._fanova._tree import _FanovaTree
from sklearn.tree import DecisionTreeRegressor


def main():
    with open(sys.argv[1]) as src:
        doc = json.load(src)
    x = numpy.array(doc["x"], dtype=numpy.float64)
    y = numpy.array(doc["y"], dtype=numpy.float64)
    space = numpy.array([doc["low"], doc["high"]], dtype=numpy.float64).T
    for k, w in enumerate(doc["weights"]):
        est = DecisionTreeRegressor(
            max_depth=64, min_samples_split=2, min_samples_leaf=1, max_features=1.0, random_state=k
        )
        est.fit(x, y, sample_weight=numpy.array(w, dtype=numpy.float64))
        tree = est.tree_
        ft = _FanovaTree(tree, space)
        fractions = [
            float(ft.get_marginal_variance(numpy.array([f])) / ft.variance) for f in range(x.shape[1])
        ]
        print(
            json.dumps(
                {
                    "feature": tree.feature.tolist(),
                    "threshold": tree.threshold.tolist(),
                    "left": tree.children_left.tolist(),
                    "right": tree.children_right.tolist(),
                    "value": tree.value[:, 0, 0].tolist(),
                    "fractions": fractions,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
