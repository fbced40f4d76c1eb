"""retune: the Python client of a retune server.

    import retune
    client = retune.connect("http://127.0.0.1:8080")      # token from $RETUNE_TOKEN
    study = client.study("demo", direction="minimize", sampler="tpe")
    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        return (x - 2) ** 2
    study.optimize(objective, n_trials=50)
    print(study.best_trial.params)

``retune.optuna`` runs Optuna scripts against a server (``import retune.optuna as
optuna``); ``retune.trainer`` is for trainers that ``retune run`` or an agent starts.
"""

from .client import (
    Client,
    FrozenTrial,
    Study,
    Trial,
    TrialPruned,
    categorical_dist,
    connect,
    float_dist,
    int_dist,
)
from .errors import (
    AuthError,
    BudgetExhaustedError,
    ConflictError,
    DuplicatedStudyError,
    InvalidRequestError,
    LeaseLostError,
    NotFoundError,
    RetuneError,
    ServerUnavailableError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "BudgetExhaustedError",
    "Client",
    "ConflictError",
    "DuplicatedStudyError",
    "FrozenTrial",
    "InvalidRequestError",
    "LeaseLostError",
    "NotFoundError",
    "RetuneError",
    "ServerUnavailableError",
    "Study",
    "Trial",
    "TrialPruned",
    "categorical_dist",
    "connect",
    "float_dist",
    "int_dist",
]
