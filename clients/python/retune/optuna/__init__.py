"""An Optuna-compatible surface over a retune server: a typical Optuna script runs against
retune by changing its import::

    import retune.optuna as optuna

    study = optuna.create_study(storage="http://127.0.0.1:8080", study_name="demo",
                                sampler=optuna.samplers.TPESampler(seed=1),
                                pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, n_trials=100)

What differs from Optuna (see also the samplers and pruners modules):

- ``storage`` is the server's URL (the token comes from $RETUNE_TOKEN); without one,
  $RETUNE_URL is used. Creating a study needs an admin token; loading one a read or run
  token. Samplers and pruners run on the server: an argument retune cannot honour (a
  Python callable such as ``gamma``) raises UnsupportedArgumentError naming it.
- Resuming (``load_if_exists=True``, ``load_study``) with a sampler or pruner whose options
  differ from the stored ones raises, where Optuna would use the new one for this session.
- ``study.set_user_attr`` and ``system_attrs`` of studies are not supported; trials'
  ``set_user_attr`` is (stored with the trial's outcome).
- ``trials_dataframe`` needs pandas (Debian: python3-pandas).
- A sampler's ``seed`` is the study's seed; retune reads seed 0 as "choose one", so
  Optuna's seed 0 is stored as 2**64 - 1.
- ``GridSampler(search_space)`` declares the study's params with their values (retune's
  grid takes its points from the declared params).

``install()`` makes ``import optuna`` (and its submodules) resolve to this module, for
running an unchanged script: ``python3 -c "import retune.optuna as o; o.install(); ..."``.
"""

from __future__ import annotations

import datetime as _dt
import enum
import math
import os
import sys
import types
import uuid
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .. import client as _c
from ..errors import ConflictError, DuplicatedStudyError, NotFoundError
from . import pruners, samplers
from ._args import UnsupportedArgumentError

__version__ = "3.1.0-retune"


class TrialPruned(_c.TrialPruned):
    """Raise it from an objective to prune the trial (``optuna.TrialPruned``)."""


class TrialState(enum.IntEnum):
    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class StudyDirection(enum.IntEnum):
    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2


class FrozenTrial:
    """A finished or running trial, as Optuna's FrozenTrial reads."""

    def __init__(self, ft: _c.FrozenTrial) -> None:
        self._ft = ft
        self.number = ft.number
        self.state = TrialState[ft.state]
        self.values = ft.values if ft.state == "COMPLETE" else None
        self.params = {k: float(v) if ft.distributions.get(k, {}).get("type") == "float" and isinstance(v, int) else v for k, v in ft.params.items()}
        self.user_attrs = dict(ft.user_attrs)
        self.system_attrs = dict(ft.system_attrs)
        self.intermediate_values = {s: v[0] for s, v in ft.intermediate.items() if v}
        self.datetime_start = ft.start
        self.datetime_complete = ft.end if ft.state in ("COMPLETE", "PRUNED", "FAIL") else None
        self.distributions = dict(ft.distributions)

    @property
    def value(self) -> Optional[float]:
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError("this trial has several objective values: use values")
        return self.values[0]

    @property
    def duration(self) -> Optional[_dt.timedelta]:
        if self.datetime_start and self.datetime_complete:
            return self.datetime_complete - self.datetime_start
        return None

    @property
    def last_step(self) -> Optional[int]:
        return max(self.intermediate_values) if self.intermediate_values else None

    def __repr__(self) -> str:
        return f"FrozenTrial(number={self.number}, state={self.state.name}, values={self.values}, params={self.params})"


class Trial:
    """A running trial, as Optuna's Trial reads (suggest_*, report, should_prune, user
    attributes)."""

    def __init__(self, t: _c.Trial) -> None:
        self._t = t

    @property
    def number(self) -> int:
        return self._t.number

    @property
    def params(self) -> Dict[str, Any]:
        return dict(self._t.params)

    @property
    def user_attrs(self) -> Dict[str, Any]:
        return dict(self._t.user_attrs)

    @property
    def distributions(self) -> Dict[str, Any]:
        return dict(self._t.distributions)

    def suggest_float(self, name: str, low: float, high: float, *, step: Optional[float] = None, log: bool = False) -> float:
        if step is not None and log:
            raise ValueError("suggest_float: step and log cannot be used together")
        return self._t.suggest_float(name, low, high, log=log, step=step)

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        if step != 1 and log:
            raise ValueError("suggest_int: step and log cannot be used together")
        return self._t.suggest_int(name, low, high, step=step, log=log)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._t.suggest_categorical(name, list(choices))

    # The forms deprecated in Optuna 3 and still common.
    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        return self.suggest_float(name, low, high, step=q)

    def report(self, value: float, step: int) -> None:
        self._t.report(value, step)

    def should_prune(self) -> bool:
        return self._t.should_prune()

    def set_user_attr(self, key: str, value: Any) -> None:
        self._t.set_user_attr(key, value)

    def set_system_attr(self, key: str, value: Any) -> None:
        raise UnsupportedArgumentError("set_system_attr: system attributes are retune's own; use set_user_attr")


def _state(state: Any) -> str:
    if state is None:
        return "COMPLETE"
    if isinstance(state, TrialState):
        return state.name
    return str(getattr(state, "name", state)).upper()


class Study:
    """An Optuna-style study over a retune study."""

    def __init__(self, study: _c.Study) -> None:
        self._s = study
        self._asked: Dict[int, _c.Trial] = {}

    @property
    def study_name(self) -> str:
        return self._s.name

    @property
    def directions(self) -> List[StudyDirection]:
        return [StudyDirection.MINIMIZE if d == "minimize" else StudyDirection.MAXIMIZE for d in self._s.directions]

    @property
    def direction(self) -> StudyDirection:
        if len(self._s.directions) != 1:
            raise RuntimeError("this study has several objectives: use directions")
        return self.directions[0]

    @property
    def user_attrs(self) -> Dict[str, Any]:
        return {}

    def set_user_attr(self, key: str, value: Any) -> None:
        raise UnsupportedArgumentError("Study.set_user_attr: retune keeps no study attributes; set them on trials")

    # Running.

    def optimize(
        self,
        func: Callable[[Trial], Any],
        n_trials: Optional[int] = None,
        timeout: Optional[float] = None,
        n_jobs: int = 1,
        catch: Union[Iterable[type], type] = (),
        callbacks: Optional[List[Callable[["Study", FrozenTrial], None]]] = None,
        gc_after_trial: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        catch_t = tuple(catch) if not isinstance(catch, type) else (catch,)
        cbs = [lambda _s, ft, cb=cb: cb(self, FrozenTrial(ft)) for cb in (callbacks or [])]
        self._s.optimize(lambda t: func(Trial(t)), n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, catch=catch_t, callbacks=cbs)

    def stop(self) -> None:
        """Starts no more trials in the running optimize (Optuna's Study.stop)."""
        self._s.stop()

    def ask(self, fixed_distributions: Optional[Mapping[str, Any]] = None) -> Trial:
        if fixed_distributions:
            raise UnsupportedArgumentError("ask(fixed_distributions=…): suggest the params on the trial instead")
        t = self._s.ask()
        t.start_heartbeats()
        self._asked[t.number] = t
        return Trial(t)

    def tell(self, trial: Union[Trial, int], values: Union[None, float, Sequence[float]] = None, state: Any = None, skip_if_finished: bool = False) -> FrozenTrial:
        if isinstance(trial, Trial):
            t = trial._t
        else:
            if int(trial) not in self._asked:
                raise ValueError(f"trial {trial} was not asked by this study object: tell the Trial")
            t = self._asked[int(trial)]
        st = _state(state)
        if st == "COMPLETE" and values is None:
            raise ValueError("tell: no values for a COMPLETE trial (give values, or state=TrialState.FAIL or PRUNED)")
        if st == "COMPLETE":
            vals = list(values) if isinstance(values, (list, tuple)) else [values]
            if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
                st, values = "FAIL", None
        try:
            ft = self._s.tell(t, values if st == "COMPLETE" else None, state=st, reason="the objective returned NaN or None" if st == "FAIL" else "")
        except ConflictError:
            if skip_if_finished:
                return FrozenTrial(next(x for x in self._s.trials if x.number == t.number))
            raise
        self._asked.pop(t.number, None)
        return FrozenTrial(ft)

    def enqueue_trial(self, params: Mapping[str, Any], user_attrs: Optional[Mapping[str, Any]] = None, skip_if_exists: bool = False) -> None:
        if user_attrs:
            raise UnsupportedArgumentError("enqueue_trial(user_attrs=…): set them on the trial when it runs")
        if skip_if_exists:
            for ft in self._s.trials:
                if all(ft.params.get(k) == v for k, v in params.items()) and (ft.state in ("WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL")):
                    return
        self._s.enqueue(params)

    # Reading.

    @property
    def trials(self) -> List[FrozenTrial]:
        return [FrozenTrial(t) for t in self._s.trials if t.kind == "search"]

    def get_trials(self, deepcopy: bool = True, states: Optional[Iterable[TrialState]] = None) -> List[FrozenTrial]:
        ts = self.trials
        if states is not None:
            want = set(states)
            ts = [t for t in ts if t.state in want]
        return ts

    @property
    def best_trial(self) -> FrozenTrial:
        if len(self._s.directions) != 1:
            raise RuntimeError("A single best trial cannot be retrieved from a multi-objective study. Consider using Study.best_trials.")
        try:
            return FrozenTrial(self._s.best_trial)
        except NotFoundError:
            raise ValueError("No trials are completed yet.") from None

    @property
    def best_trials(self) -> List[FrozenTrial]:
        return [FrozenTrial(t) for t in self._s.best_trials]

    @property
    def best_value(self) -> float:
        v = self.best_trial.value
        assert v is not None
        return v

    @property
    def best_params(self) -> Dict[str, Any]:
        return self.best_trial.params

    def trials_dataframe(self, attrs: Optional[Tuple[str, ...]] = None, multi_index: bool = False) -> Any:
        if multi_index:
            raise UnsupportedArgumentError("trials_dataframe(multi_index=True)")
        try:
            import pandas as pd  # type: ignore
        except ImportError:
            raise ImportError("trials_dataframe needs pandas (Debian: python3-pandas)") from None
        rows = []
        for t in self.trials:
            row: Dict[str, Any] = {"number": t.number}
            if t.values is not None and len(t.values) == 1:
                row["value"] = t.values[0]
            elif t.values is not None:
                for i, v in enumerate(t.values):
                    row[f"values_{i}"] = v
            else:
                row["value"] = None
            row["datetime_start"], row["datetime_complete"], row["duration"] = t.datetime_start, t.datetime_complete, t.duration
            for k, v in t.params.items():
                row["params_" + k] = v
            for k, v in t.user_attrs.items():
                row["user_attrs_" + k] = v
            row["state"] = t.state.name
            rows.append(row)
        df = pd.DataFrame(rows)
        if attrs is not None:
            keep = [c for c in df.columns if c == "number" or any(c == a or c.startswith(a + "_") for a in attrs)]
            df = df[keep]
        return df


def _client(storage: Optional[str]) -> _c.Client:
    url = storage or os.environ.get("RETUNE_URL")
    if not url or not isinstance(url, str):
        raise ValueError("storage: want the retune server's URL (http://host:port), or set RETUNE_URL")
    return _c.connect(url)


def _directions(direction: Any, directions: Optional[Sequence[Any]]) -> Optional[List[str]]:
    def one(d: Any) -> str:
        if isinstance(d, StudyDirection):
            d = d.name
        d = str(d).lower()
        if d not in ("minimize", "maximize"):
            raise ValueError(f"direction {d!r}: want minimize or maximize")
        return d

    if direction is not None and directions is not None:
        raise ValueError("Specify only one of `direction` and `directions`.")
    if directions is not None:
        return [one(d) for d in directions]
    if direction is not None:
        return [one(direction)]
    return None


def _seed(seed: Optional[int]) -> Optional[int]:
    """The study seed for an Optuna seed: retune reads seed 0 as "choose one", so Optuna's
    seed 0 is stored as 2**64 - 1 (every other seed as it is)."""
    if seed is None:
        return None
    seed = int(seed)
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"seed {seed}: want 0 to 2**64 - 1")
    return seed if seed != 0 else 2**64 - 1


def create_study(
    storage: Optional[str] = None,
    sampler: Optional[samplers.BaseSampler] = None,
    pruner: Optional[pruners.BasePruner] = None,
    study_name: Optional[str] = None,
    direction: Any = None,
    load_if_exists: bool = False,
    *,
    directions: Optional[Sequence[Any]] = None,
) -> Study:
    """Creates a study on the retune server at ``storage`` (see the module's doc)."""
    cl = _client(storage)
    name = study_name or "no-name-" + uuid.uuid4().hex
    dirs = _directions(direction, directions) or ["minimize"]
    if not load_if_exists:
        try:
            cl.load_study(name)
        except NotFoundError:
            pass
        else:
            raise DuplicatedStudyError(f"Another study with name '{name}' already exists. Please specify a different name, or reuse the existing one by setting `load_if_exists` (for Python API) or `--skip-if-exists` flag (for CLI).", 409)
    st = cl.study(
        name,
        directions=dirs,
        sampler=sampler.spec if sampler is not None else None,
        pruner=pruner.spec if pruner is not None else None,
        seed=_seed(sampler.seed) if sampler is not None else None,
        params=sampler.params() if isinstance(sampler, samplers.GridSampler) else None,
    )
    return Study(st)


def load_study(study_name: Optional[str], storage: Optional[str], sampler: Optional[samplers.BaseSampler] = None, pruner: Optional[pruners.BasePruner] = None) -> Study:
    """Loads an existing study (its stored sampler and pruner run it)."""
    if not study_name:
        raise ValueError("load_study: want study_name")
    cl = _client(storage)
    st = cl.load_study(study_name)
    _c._check_spec("sampler", sampler.spec if sampler is not None else None, st.sampler)
    _c._check_spec("pruner", pruner.spec if pruner is not None else None, st.pruner)
    return Study(st)


def delete_study(study_name: str, storage: Optional[str]) -> None:
    """Deletes a study and its trials (an admin token)."""
    _client(storage)._t.request("DELETE", "/studies/" + _c._quote(study_name))


# Submodules scripts reach as optuna.trial.TrialState, optuna.exceptions.TrialPruned, …
trial = types.ModuleType(__name__ + ".trial")
trial.TrialState = TrialState  # type: ignore[attr-defined]
trial.FrozenTrial = FrozenTrial  # type: ignore[attr-defined]
trial.Trial = Trial  # type: ignore[attr-defined]
exceptions = types.ModuleType(__name__ + ".exceptions")
exceptions.TrialPruned = TrialPruned  # type: ignore[attr-defined]
exceptions.DuplicatedStudyError = DuplicatedStudyError  # type: ignore[attr-defined]
study = types.ModuleType(__name__ + ".study")
study.Study = Study  # type: ignore[attr-defined]
study.StudyDirection = StudyDirection  # type: ignore[attr-defined]
study.create_study = create_study  # type: ignore[attr-defined]
study.load_study = load_study  # type: ignore[attr-defined]
logging = types.ModuleType(__name__ + ".logging")
for _i, _lvl in enumerate(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]):
    setattr(logging, _lvl, 10 * (_i + 1))
logging.set_verbosity = lambda level: None  # type: ignore[attr-defined]  # retune's client logs nothing
logging.get_verbosity = lambda: 30  # type: ignore[attr-defined]
logging.disable_default_handler = lambda: None  # type: ignore[attr-defined]
logging.enable_default_handler = lambda: None  # type: ignore[attr-defined]
for _m in (trial, exceptions, study, logging):
    sys.modules[_m.__name__] = _m


def install() -> None:
    """Makes ``import optuna`` and its submodules resolve to this module in this process."""
    me = sys.modules[__name__]
    sys.modules["optuna"] = me
    for sub in ("samplers", "pruners", "trial", "exceptions", "study", "logging"):
        sys.modules["optuna." + sub] = getattr(me, sub)


__all__ = [
    "FrozenTrial", "Study", "StudyDirection", "Trial", "TrialPruned", "TrialState", "UnsupportedArgumentError",
    "create_study", "delete_study", "exceptions", "install", "load_study", "logging", "pruners", "samplers", "study", "trial",
]
