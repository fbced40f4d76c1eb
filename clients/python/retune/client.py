"""The client of a retune server: studies, trials asked and told over HTTP, and the
retraining side (decisions, champions, promotion).

A study's sampler runs on the server: ``ask`` draws the params (all of a declared
space, or those named by ``space``), ``Trial.suggest_*`` draws one more (define-by-run),
``report`` returns the pruner's verdict, ``tell`` records the outcome. While an objective
runs under :meth:`Study.optimize`, a background thread renews the trial's lease.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._http import Transport, decode_float, encode_float
from .errors import BudgetExhaustedError, ConflictError, LeaseLostError, NotFoundError, RetuneError

Number = Union[int, float]


class TrialPruned(Exception):
    """Raised by an objective (or :meth:`Trial.raise_if_pruned`) to end its trial PRUNED."""


def _time(v: Optional[str]) -> Optional[_dt.datetime]:
    if not v:
        return None
    v = v.replace("Z", "+00:00")
    if "." in v:  # Python before 3.11 reads at most microseconds
        head, _, rest = v.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits):]
        v = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    return _dt.datetime.fromisoformat(v)


@dataclass
class FrozenTrial:
    """A trial as the server stores it."""

    number: int
    state: str  # WAITING, RUNNING, COMPLETE, PRUNED or FAIL
    kind: str = "search"  # search, confirm or late
    params: Dict[str, Any] = field(default_factory=dict)
    distributions: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    values: Optional[List[float]] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    intermediate: Dict[int, List[float]] = field(default_factory=dict)
    user_attrs: Dict[str, Any] = field(default_factory=dict)
    system_attrs: Dict[str, Any] = field(default_factory=dict)
    feasible: Optional[bool] = None
    reason: str = ""
    retry_of: Optional[int] = None
    start: Optional[_dt.datetime] = None
    end: Optional[_dt.datetime] = None

    @property
    def value(self) -> Optional[float]:
        """The first objective value, or None."""
        return self.values[0] if self.values else None

    @classmethod
    def from_json(cls, j: Mapping[str, Any]) -> "FrozenTrial":
        vals = j.get("values")
        return cls(
            number=int(j["number"]),
            state=j["state"],
            kind=j.get("kind", "search"),
            params=dict(j.get("params") or {}),
            distributions=dict(j.get("distributions") or {}),
            values=[float(decode_float(v)) for v in vals] if vals is not None else None,
            metrics={k: float(decode_float(v)) for k, v in (j.get("metrics") or {}).items()},
            intermediate={int(k): [float(decode_float(x)) for x in v] for k, v in (j.get("intermediate") or {}).items()},
            user_attrs=dict(j.get("user_attrs") or {}),
            system_attrs=dict(j.get("system_attrs") or {}),
            feasible=j.get("feasible"),
            reason=j.get("reason", ""),
            retry_of=j.get("retry_of"),
            start=_time(j.get("start")),
            end=_time(j.get("end")),
        )

    def as_row(self) -> Dict[str, Any]:
        """The trial as one flat row (params_*, values_*, user_attrs_*, …), as
        :meth:`Study.to_dataframe` lays it out."""
        row: Dict[str, Any] = {"number": self.number, "state": self.state, "kind": self.kind}
        for i, v in enumerate(self.values or []):
            row["value" if i == 0 and len(self.values or []) == 1 else f"values_{i}"] = v
        row["datetime_start"], row["datetime_complete"] = self.start, self.end
        row["duration"] = (self.end - self.start) if self.start and self.end else None
        for k, v in self.params.items():
            row["params_" + k] = v
        for k, v in self.metrics.items():
            row["metrics_" + k] = v
        for k, v in self.user_attrs.items():
            row["user_attrs_" + k] = v
        return row


def _dist(kind: str, low: Any = None, high: Any = None, log: bool = False, step: Any = None, choices: Any = None) -> Dict[str, Any]:
    d: Dict[str, Any] = {"type": kind}
    if kind == "categorical":
        d["choices"] = list(choices)
        return d
    d["low"], d["high"] = low, high
    if log:
        d["log"] = True
    if step is not None:
        d["step"] = step
    return d


def float_dist(low: float, high: float, log: bool = False, step: Optional[float] = None) -> Dict[str, Any]:
    """A float distribution for :meth:`Study.ask`'s space."""
    return _dist("float", float(low), float(high), log, step)


def int_dist(low: int, high: int, step: int = 1, log: bool = False) -> Dict[str, Any]:
    """An int distribution for :meth:`Study.ask`'s space."""
    return _dist("int", int(low), int(high), log, int(step) if step != 1 else None)


def categorical_dist(choices: Sequence[Any]) -> Dict[str, Any]:
    """A categorical distribution for :meth:`Study.ask`'s space."""
    return _dist("categorical", choices=choices)


class Trial:
    """A running trial of a study on the server, asked by this client.

    Params drawn at the ask are in :attr:`params`; ``suggest_*`` returns a param the trial
    has (checking its distribution) or draws a new one on the server. ``report`` sends an
    intermediate value and remembers the pruner's verdict for :meth:`should_prune`.
    """

    def __init__(self, study: "Study", number: int, epoch: int, params: Mapping[str, Any], lease_seconds: float, kind: str = "search") -> None:
        self.study = study
        self.number = number
        self.epoch = epoch
        self.kind = kind
        self.params: Dict[str, Any] = dict(params)
        self.distributions: Dict[str, Dict[str, Any]] = {}
        self.user_attrs: Dict[str, Any] = {}
        self.metrics: Dict[str, float] = {}
        self.lease_seconds = lease_seconds
        self._prune = False
        self._stop = threading.Event()  # a stop request came with a heartbeat
        self._lost: Optional[BaseException] = None
        self._beat: Optional[threading.Thread] = None
        self._done = threading.Event()
        self.intermediate: Dict[int, List[float]] = {}

    def _path(self, what: str) -> str:
        return f"{self.study._path}/trials/{self.number}/{what}"

    # Params.

    def _suggest(self, name: str, dist: Dict[str, Any]) -> Any:
        if name in self.params:
            have = self.distributions.get(name)
            if have is not None and have != dist:
                raise ValueError(f"param {name!r}: suggested as {dist}, but the trial has it as {have}")
            self.distributions[name] = dist
            return self.params[name]
        ans = self.study.client._t.request("POST", self._path("suggest"), {"epoch": self.epoch, "name": name, "distribution": dist})
        self.params[name] = ans["value"]
        self.distributions[name] = dist
        return ans["value"]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False, step: Optional[float] = None) -> float:
        """A float in [low, high]: on a log scale with ``log``, on a grid of ``step``."""
        return float(self._suggest(name, float_dist(low, high, log, step)))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        """An int in [low, high], a multiple of ``step`` from low; on a log scale with ``log``."""
        return int(self._suggest(name, int_dist(low, high, step, log)))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices`` (None, bools, ints, floats or strings)."""
        return self._suggest(name, categorical_dist(choices))

    # Pruning.

    def report(self, value: Union[Number, Sequence[Number]], step: int) -> bool:
        """Records ``value`` (one per objective) at ``step`` and returns whether the study's
        pruner would stop the trial now (also :meth:`should_prune`)."""
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if step < 0 or int(step) != step:
            raise ValueError(f"step {step!r}: want an integer >= 0")
        if self._lost is not None:
            return self._prune
        try:
            ans = self.study.client._t.request("POST", self._path("report"), {"epoch": self.epoch, "step": int(step), "values": [encode_float(float(v)) for v in values]})
        except LeaseLostError as e:
            self._lost = e
            raise
        self.intermediate[int(step)] = [float(v) for v in values]
        self._prune = bool(ans.get("prune")) or self._stop.is_set()
        return self._prune

    def should_prune(self) -> bool:
        """Whether the pruner, at the last report, or a stop request says to stop."""
        return self._prune or self._stop.is_set()

    def raise_if_pruned(self) -> None:
        """Raises :class:`TrialPruned` when :meth:`should_prune`."""
        if self.should_prune():
            raise TrialPruned(f"trial {self.number} pruned")

    # Attributes and metrics, sent with the tell.

    def set_user_attr(self, key: str, value: Any) -> None:
        """Sets a user attribute; it is stored with the trial's outcome."""
        self.user_attrs[key] = value

    def set_metric(self, name: str, value: float) -> None:
        """Records a metric (stored with the outcome)."""
        self.metrics[name] = float(value)

    # The lease.

    def heartbeat(self) -> None:
        """Renews the trial's lease once (Study.optimize does this in the background)."""
        ans = self.study.client._t.request("POST", self._path("heartbeat"), {"epoch": self.epoch}, retry_for=max(self.lease_seconds / 3, 1.0))
        if ans and ans.get("stop"):
            self._stop.set()

    def start_heartbeats(self) -> None:
        """Renews the lease every third of its term until the trial is told."""
        if self._beat is not None:
            return

        def beat() -> None:
            every = max(self.lease_seconds / 3, 0.05)
            while not self._done.wait(every):
                try:
                    self.heartbeat()
                except LeaseLostError as e:
                    self._lost = e
                    return
                except RetuneError:
                    continue  # unreachable for a while: the next beat tries again

        self._beat = threading.Thread(target=beat, name=f"retune-heartbeat-{self.number}", daemon=True)
        self._beat.start()

    def _finish(self) -> None:
        self._done.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)


class Study:
    """A study on the server. Get one with :meth:`Client.study` (create or resume) or
    :meth:`Client.load_study`."""

    def __init__(self, client: "Client", info: Mapping[str, Any]) -> None:
        self.client = client
        self.name: str = info["name"]
        self._path = "/studies/" + _quote(self.name)
        self._info = dict(info)
        self._finished: Dict[int, FrozenTrial] = {}
        self._cursor = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def directions(self) -> List[str]:
        """minimize or maximize, one per objective."""
        return list(self._info.get("directions") or [])

    @property
    def metrics(self) -> List[str]:
        """The objectives' metric names."""
        return list(self._info.get("metrics") or [])

    @property
    def model(self) -> str:
        """The model the study tunes (its decisions and champion)."""
        return str(self._info.get("model", self.name))

    @property
    def sampler(self) -> Dict[str, Any]:
        """The stored sampler: {"name": …, "options": {…}}."""
        return dict(self._info.get("sampler") or {})

    @property
    def pruner(self) -> Dict[str, Any]:
        """The stored pruner, or {} for none."""
        return dict(self._info.get("pruner") or {})

    def refresh(self) -> Dict[str, Any]:
        """Reads the study again (counts, best) and returns it."""
        self._info = self.client._t.request("GET", self._path)
        return dict(self._info)

    # Ask and tell.

    def ask(self, space: Optional[Mapping[str, Mapping[str, Any]]] = None, lease_seconds: Optional[float] = None) -> Trial:
        """Starts a trial. Its params are the study's declared ones plus, with ``space``
        (name → :func:`float_dist`, :func:`int_dist`, :func:`categorical_dist`), those
        drawn in the same round trip. Raises :class:`BudgetExhaustedError` once the
        budget is spent."""
        body: Dict[str, Any] = {}
        if space:
            body["space"] = {k: dict(v) for k, v in space.items()}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        ans = self.client._t.request("POST", self._path + "/trials", body)
        t = Trial(self, ans["number"], ans["epoch"], ans.get("params") or {}, float(ans.get("lease_seconds") or 30), ans.get("kind", "search"))
        for k, v in (space or {}).items():
            t.distributions[k] = dict(v)
        return t

    def tell(
        self,
        trial: Union[Trial, int],
        values: Union[None, Number, Sequence[Number]] = None,
        state: str = "COMPLETE",
        *,
        reason: str = "",
        epoch: Optional[int] = None,
    ) -> FrozenTrial:
        """Finishes a trial: COMPLETE with ``values`` (one per objective; NaN fails it),
        PRUNED (keeping its last reported values) or FAIL with ``reason``. A trial given by
        number needs its lease ``epoch``. Raises :class:`LeaseLostError` when the server
        no longer holds the trial's lease for this client."""
        state = str(getattr(state, "name", state)).upper()
        if isinstance(trial, Trial):
            number, ep, user, metrics = trial.number, trial.epoch, trial.user_attrs, trial.metrics
        else:
            if epoch is None:
                raise ValueError("tell by trial number needs the lease epoch the ask returned")
            number, ep, user, metrics = int(trial), epoch, {}, {}
        body: Dict[str, Any] = {"epoch": ep}
        if state == "COMPLETE":
            if values is None:
                raise ValueError("a COMPLETE tell needs values, one per objective")
            vals = list(values) if isinstance(values, (list, tuple)) else [values]
            body["values"] = [encode_float(float(v)) for v in vals]
        elif state in ("PRUNED", "FAIL"):
            body["state"] = state
            if state == "FAIL":
                body["reason"] = reason or "failed"
        else:
            raise ValueError(f"state {state!r}: want COMPLETE, PRUNED or FAIL")
        if metrics:
            body["metrics"] = {k: encode_float(v) for k, v in metrics.items()}
        if user:
            body["user_attrs"] = dict(user)
        try:
            ans = self.client._t.request("POST", f"{self._path}/trials/{number}/tell", body)
        finally:
            if isinstance(trial, Trial):
                trial._finish()
        ft = FrozenTrial.from_json(ans)
        with self._lock:
            if ft.state in ("COMPLETE", "PRUNED", "FAIL"):
                self._finished[ft.number] = ft
        return ft

    def enqueue(self, params: Mapping[str, Any]) -> int:
        """Adds a WAITING trial with fixed params (the next ask takes it); returns its number."""
        ans = self.client._t.request("POST", self._path + "/trials/enqueue", {"params": dict(params)})
        return int(ans["numbers"][0])

    def optimize(
        self,
        objective: Callable[[Trial], Any],
        n_trials: Optional[int] = None,
        timeout: Optional[float] = None,
        n_jobs: int = 1,
        catch: Union[Tuple[type, ...], type] = (),
        callbacks: Optional[Iterable[Callable[["Study", FrozenTrial], None]]] = None,
        space: Optional[Mapping[str, Mapping[str, Any]]] = None,
    ) -> List[FrozenTrial]:
        """Runs ``objective`` on trials until ``n_trials`` ran, ``timeout`` seconds passed or
        the study's budget is spent, with ``n_jobs`` threads. The objective returns the
        value (or values); raising :class:`TrialPruned` ends the trial PRUNED; an exception
        in ``catch`` ends it FAIL and the run goes on, any other ends it FAIL and is raised.
        The lease is renewed in the background while the objective runs. Returns the
        trials this call finished."""
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        if n_jobs < 1:
            raise ValueError(f"n_jobs {n_jobs}: want >= 1 (or -1 for one per CPU)")
        catch = catch if isinstance(catch, tuple) else (catch,)
        deadline = None if timeout is None else time.monotonic() + timeout
        lock = threading.Lock()
        started = [0]
        done: List[FrozenTrial] = []
        stop = threading.Event()
        errors: List[BaseException] = []

        self._stopped.clear()

        def claim() -> bool:
            with lock:
                if stop.is_set() or self._stopped.is_set() or (n_trials is not None and started[0] >= n_trials) or (deadline is not None and time.monotonic() >= deadline):
                    return False
                started[0] += 1
                return True

        def worker() -> None:
            while claim():
                try:
                    trial = self.ask(space)
                except BudgetExhaustedError:
                    stop.set()
                    return
                try:
                    ft = run_trial(self, trial, objective, catch)
                except BaseException as e:  # noqa: BLE001 - re-raised by optimize
                    with lock:
                        errors.append(e)
                    stop.set()
                    return
                with lock:
                    done.append(ft)
                for cb in callbacks or ():
                    cb(self, ft)

        if n_jobs == 1:
            worker()
        else:
            with ThreadPoolExecutor(n_jobs) as ex:
                for f in [ex.submit(worker) for _ in range(n_jobs)]:
                    f.result()
        if errors:
            raise errors[0]
        return done

    def stop(self) -> None:
        """Makes the running :meth:`optimize` start no more trials (from a callback or the
        objective); the trials running finish."""
        self._stopped.set()

    # Reading the study back.

    def _sync(self) -> None:
        ans = self.client._t.request("GET", self._path + "/trials", query={"cursor": self._cursor})
        with self._lock:
            for j in ans.get("trials", []):
                ft = FrozenTrial.from_json(j)
                self._finished[ft.number] = ft  # a revived trial replaces its earlier form
            self._cursor = int(ans.get("cursor", self._cursor))

    @property
    def trials(self) -> List[FrozenTrial]:
        """Every trial (finished ones read incrementally, by cursor), ordered by number."""
        self._sync()
        out = dict(self._finished)
        for state in ("RUNNING", "WAITING"):
            after: Optional[int] = None
            while True:
                ans = self.client._t.request("GET", self._path + "/trials", query={"state": state, "limit": 1000, "after": after})
                for j in ans.get("trials", []):
                    out[int(j["number"])] = FrozenTrial.from_json(j)
                if ans.get("next") is None:
                    break
                after = ans["next"]
        return [out[k] for k in sorted(out)]

    @property
    def best_trials(self) -> List[FrozenTrial]:
        """The best feasible COMPLETE trial (one objective) or the Pareto front."""
        ans = self.client._t.request("GET", self._path + "/best")
        return [FrozenTrial.from_json(j) for j in ans.get("trials", [])]

    @property
    def best_trial(self) -> FrozenTrial:
        """The best feasible COMPLETE trial of a single-objective study."""
        if len(self.directions) != 1:
            raise RuntimeError(f"study {self.name!r} has {len(self.directions)} objectives: use best_trials")
        best = self.best_trials
        if not best:
            raise NotFoundError(f"study {self.name!r} has no completed trial", 404)
        return best[0]

    def to_dataframe(self) -> Any:
        """The trials as a pandas DataFrame, or as a list of dicts without pandas."""
        rows = [t.as_row() for t in self.trials]
        try:
            import pandas as pd  # type: ignore
        except ImportError:
            return rows
        return pd.DataFrame(rows)

    # Retraining.

    def decisions(self) -> List[Dict[str, Any]]:
        """The model's retraining decisions, newest first."""
        return list(self.client._t.request("GET", f"/models/{_quote(self.model)}/decisions").get("decisions", []))

    def champion(self) -> Optional[Dict[str, Any]]:
        """The model's champion, or None."""
        try:
            return self.client._t.request("GET", f"/models/{_quote(self.model)}/champion")
        except NotFoundError:
            return None

    def promote(self, decision: int, values: Optional[Sequence[float]] = None, force: bool = False) -> Dict[str, Any]:
        """Promotes a decision's candidate to champion (an admin token); ``values`` are the
        model's measured values when they differ from the trial's."""
        body: Dict[str, Any] = {}
        if values is not None:
            body["values"] = [encode_float(float(v)) for v in values]
        if force:
            body["force"] = True
        return self.client._t.request("POST", f"/models/{_quote(self.model)}/decisions/{int(decision)}/promote", body)


def run_trial(study: Study, trial: Trial, objective: Callable[[Trial], Any], catch: Tuple[type, ...]) -> FrozenTrial:
    """Runs one objective on an asked trial and tells its outcome (see Study.optimize)."""
    trial.start_heartbeats()
    try:
        result = objective(trial)
    except TrialPruned:
        return study.tell(trial, state="PRUNED")
    except catch as e:
        return study.tell(trial, state="FAIL", reason=f"{type(e).__name__}: {e}")
    except BaseException as e:
        try:
            study.tell(trial, state="FAIL", reason=f"{type(e).__name__}: {e}")
        except RetuneError:
            pass
        raise
    finally:
        trial._done.set()
    values = list(result) if isinstance(result, (list, tuple)) else [result]
    if not values or any(v is None for v in values):
        return study.tell(trial, state="FAIL", reason=f"the objective returned {result!r}: want a number per objective")
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        return study.tell(trial, state="FAIL", reason=f"the objective returned {result!r}: want a number per objective")
    if any(math.isnan(v) for v in floats):
        return study.tell(trial, state="FAIL", reason="the objective returned NaN")
    return study.tell(trial, floats)


def _quote(name: str) -> str:
    import urllib.parse

    return urllib.parse.quote(name, safe="")


def _spec(spec: Union[None, str, Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if spec is None:
        return None
    if isinstance(spec, str):
        return {"name": spec}
    out = dict(spec)
    opts = out.pop("options", None)
    if opts:
        out.update(opts)
    if "name" not in out:
        raise ValueError(f"sampler/pruner {spec!r}: want a name, e.g. {{'name': 'tpe', 'startup_trials': 10}}")
    return out


class Client:
    """A connection to a retune server (see :func:`connect`)."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 60.0, retry_for: float = 60.0) -> None:
        if token is None:
            token = os.environ.get("RETUNE_TOKEN") or None
        self._t = Transport(url, token, timeout=timeout, retry_for=retry_for)
        self.url = self._t.base

    def studies(self) -> List[Dict[str, Any]]:
        """Every study the token may read: name, directions, trial counts, best."""
        out: List[Dict[str, Any]] = []
        after: Optional[str] = None
        while True:
            ans = self._t.request("GET", "/studies", query={"limit": 1000, "after": after})
            out.extend(ans.get("studies", []))
            after = ans.get("next")
            if not after:
                return out

    def load_study(self, name: str) -> Study:
        """An existing study (NotFoundError if there is none)."""
        return Study(self, self._t.request("GET", "/studies/" + _quote(name)))

    def study(
        self,
        name: str,
        direction: Optional[str] = None,
        directions: Optional[Sequence[str]] = None,
        sampler: Union[None, str, Mapping[str, Any]] = None,
        pruner: Union[None, str, Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        budget: Optional[int] = None,
        metrics: Optional[Sequence[str]] = None,
        params: Optional[Mapping[str, Mapping[str, Any]]] = None,
        model: Optional[str] = None,
    ) -> Study:
        """Creates the study, or resumes it when it exists. Resuming checks that what is
        given (directions, sampler and pruner options, seed, budget) agrees with what is
        stored, and raises ConflictError naming the difference otherwise. Creating needs an
        admin token.

        ``sampler``/``pruner`` are a name ("tpe") or a spec ({"name": "tpe",
        "startup_trials": 5}); ``budget`` caps the study's trials; ``params`` declares a
        search space (name → float_dist/int_dist/categorical_dist; default none:
        define-by-run); ``metrics`` names the objectives (default "value", or value0…)."""
        if direction is not None and directions is not None:
            raise ValueError("give direction or directions, not both")
        dirs = list(directions) if directions is not None else [direction or "minimize"]
        for d in dirs:
            if d not in ("minimize", "maximize"):
                raise ValueError(f"direction {d!r}: want minimize or maximize")
        names = list(metrics) if metrics is not None else (["value"] if len(dirs) == 1 else [f"value{i}" for i in range(len(dirs))])
        if len(names) != len(dirs):
            raise ValueError(f"{len(names)} metric names for {len(dirs)} objectives")
        s_spec, p_spec = _spec(sampler), _spec(pruner)
        try:
            st = self.load_study(name)
        except NotFoundError:
            st = None
        if st is not None:
            if (direction is not None or directions is not None) and st.directions != dirs:
                raise ConflictError(f"study {name!r} has directions {st.directions}, not {dirs}", 409)
            _check_spec("sampler", s_spec, st.sampler)
            _check_spec("pruner", p_spec, st.pruner)
            if seed is not None and str(st._info.get("seed")) != str(int(seed)):
                raise ConflictError(f"study {name!r} has seed {st._info.get('seed')}, not {seed}", 409)
            stored_budget = (st._info.get("budget") or {}).get("trials")
            if budget is not None and stored_budget != int(budget):
                raise ConflictError(f"study {name!r} has a budget of {stored_budget or 'no limit'} trials, not {budget} (retune run --replace changes it)", 409)
            return st
        definition: Dict[str, Any] = {
            "name": name,
            "objectives": [{"metric": m, "direction": d} for m, d in zip(names, dirs)],
            "params": {k: dict(v) for k, v in (params or {}).items()},
        }
        if model:
            definition["model"] = model
        if s_spec:
            definition["sampler"] = s_spec
        if p_spec:
            definition["pruner"] = p_spec
        if seed is not None:
            definition["seed"] = str(int(seed))
        if budget is not None:
            definition["budget"] = {"trials": int(budget)}
        return Study(self, self._t.request("POST", "/studies", {"definition": definition}))


def _check_spec(what: str, want: Optional[Dict[str, Any]], stored: Mapping[str, Any]) -> None:
    if not want:
        return
    name = stored.get("name", "")
    if want["name"] != name and not (want["name"] == "none" and not name):
        raise ConflictError(f"the stored study has {what} {name or 'none'!r}, not {want['name']!r} (create a new study, or retune run --replace)", 409)
    opts = stored.get("options") or {}
    for k, v in want.items():
        if k != "name" and k in opts and opts[k] != v and not (isinstance(v, (int, float)) and isinstance(opts[k], (int, float)) and float(opts[k]) == float(v)):
            raise ConflictError(f"the stored study's {what} has {k}={opts[k]!r}, not {v!r}", 409)


def connect(url: str, token: Optional[str] = None, timeout: float = 60.0, retry_for: float = 60.0) -> Client:
    """A client of the retune server at ``url`` (http://host:port). The token defaults to
    $RETUNE_TOKEN. Requests the server cannot take (unreachable, 429, 502–504) are retried
    for ``retry_for`` seconds with the same idempotency key."""
    return Client(url, token, timeout=timeout, retry_for=retry_for)
