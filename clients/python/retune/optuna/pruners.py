"""Optuna's pruners, mapped to retune's (which run on the server).

| Optuna | retune | mapped arguments |
| --- | --- | --- |
| MedianPruner | median | n_startup_trials→startup_trials, n_warmup_steps→warmup_steps, interval_steps, n_min_trials→min_trials |
| PercentilePruner | percentile | percentile and MedianPruner's |
| SuccessiveHalvingPruner | asha | min_resource, reduction_factor, min_early_stopping_rate |
| HyperbandPruner | hyperband | min_resource, max_resource, reduction_factor |
| ThresholdPruner | threshold | lower, upper, n_warmup_steps→warmup_steps, interval_steps |
| PatientPruner | patience | wrapped, patience, min_delta |
| NopPruner | none | |

bootstrap_count other than 0 raises UnsupportedArgumentError.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from ._args import refuse, spec


class BasePruner:
    """A pruner as retune stores it: ``spec`` (name and options)."""

    spec: Dict[str, Any]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec})"


class NopPruner(BasePruner):
    def __init__(self) -> None:
        self.spec = {"name": "none"}


class MedianPruner(BasePruner):
    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, *, n_min_trials: int = 1) -> None:
        self.spec = spec("median", startup_trials=n_startup_trials, warmup_steps=n_warmup_steps, interval_steps=interval_steps, min_trials=n_min_trials)


class PercentilePruner(BasePruner):
    def __init__(self, percentile: float, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, *, n_min_trials: int = 1) -> None:
        self.spec = spec("percentile", percentile=float(percentile), startup_trials=n_startup_trials, warmup_steps=n_warmup_steps,
                         interval_steps=interval_steps, min_trials=n_min_trials)


class SuccessiveHalvingPruner(BasePruner):
    def __init__(self, min_resource: Union[str, int] = "auto", reduction_factor: int = 4, min_early_stopping_rate: int = 0, bootstrap_count: int = 0) -> None:
        refuse("SuccessiveHalvingPruner", {"bootstrap_count": bootstrap_count}, {"bootstrap_count": 0}, {"bootstrap_count": "retune's ASHA has no bootstrap"})
        self.spec = spec("asha", min_resource=min_resource, reduction_factor=reduction_factor, min_early_stopping_rate=min_early_stopping_rate)


class HyperbandPruner(BasePruner):
    def __init__(self, min_resource: int = 1, max_resource: Union[str, int] = "auto", reduction_factor: int = 3, bootstrap_count: int = 0) -> None:
        refuse("HyperbandPruner", {"bootstrap_count": bootstrap_count}, {"bootstrap_count": 0}, {"bootstrap_count": "retune's Hyperband has no bootstrap"})
        self.spec = spec("hyperband", min_resource=min_resource, max_resource=max_resource, reduction_factor=reduction_factor)


class ThresholdPruner(BasePruner):
    def __init__(self, lower: Optional[float] = None, upper: Optional[float] = None, n_warmup_steps: int = 0, interval_steps: int = 1) -> None:
        if lower is None and upper is None:
            raise ValueError("ThresholdPruner: give lower or upper")
        self.spec = spec("threshold", lower=lower, upper=upper, warmup_steps=n_warmup_steps, interval_steps=interval_steps)


class PatientPruner(BasePruner):
    def __init__(self, wrapped_pruner: Optional[BasePruner], patience: int, min_delta: float = 0.0) -> None:
        wrapped = None
        if wrapped_pruner is not None:
            inner = dict(wrapped_pruner.spec)
            wrapped = {"name": inner.pop("name"), "options": inner} if inner else {"name": wrapped_pruner.spec["name"]}
        self.spec = spec("patience", patience=patience, min_delta=float(min_delta), wrapped=wrapped)


__all__ = ["BasePruner", "HyperbandPruner", "MedianPruner", "NopPruner", "PatientPruner", "PercentilePruner", "SuccessiveHalvingPruner", "ThresholdPruner"]
