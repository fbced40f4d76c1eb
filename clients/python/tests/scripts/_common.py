"""What the compatibility scripts share: where the study lives and how the result is
printed. Run under real Optuna, OPTUNA_STORAGE is unset (in-memory); under retune.optuna it
is the server's URL."""

import json
import math
import os

STORAGE = os.environ.get("OPTUNA_STORAGE") or None
NAME = os.environ.get("STUDY_NAME", "compat")


def finish(study, **extra):
    import optuna

    trials = study.trials
    out = {
        "name": study.study_name,
        "n": len(trials),
        "states": sorted({t.state.name for t in trials}),
        "count": {s: sum(1 for t in trials if t.state.name == s) for s in ("COMPLETE", "PRUNED", "FAIL")},
    }
    if len(study.directions) == 1:
        try:
            out["best_value"] = study.best_value
            out["best_params"] = study.best_params
        except ValueError:
            out["best_value"] = None
    else:
        out["front"] = sorted([list(t.values) for t in study.best_trials])
    out.update(extra)
    print("RESULT " + json.dumps(out, default=str, allow_nan=True))
    assert optuna is not None
