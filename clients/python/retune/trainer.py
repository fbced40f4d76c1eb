"""Helpers for trainers that ``retune run`` or ``retune agent`` starts as processes.

    from retune import trainer
    p = trainer.params()                 # the trial's params (RETUNE_PARAMS)
    for epoch in range(10):
        ...
        trainer.report(step=epoch, loss=val_loss, accuracy=acc)   # may be pruned: SIGTERM
    trainer.result(loss=val_loss, accuracy=acc)

Lines go to the metrics file retune gives the trial (RETUNE_METRICS_FILE), or to stdout
when the process runs outside retune, in retune's ``name=value`` form with every float
written exactly (``repr``), inf and nan included: no string formatting is needed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Optional, TextIO

_out: Optional[TextIO] = None


def params() -> Dict[str, Any]:
    """The trial's params (the JSON object in $RETUNE_PARAMS); {} outside retune."""
    raw = os.environ.get("RETUNE_PARAMS")
    if not raw:
        return {}
    try:
        out = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"RETUNE_PARAMS is not a JSON object: {e}") from None
    if not isinstance(out, dict):
        raise ValueError("RETUNE_PARAMS is not a JSON object")
    return out


def trial_number() -> Optional[int]:
    """The trial's number ($RETUNE_TRIAL), or None outside retune."""
    v = os.environ.get("RETUNE_TRIAL")
    return int(v) if v else None


def _stream() -> TextIO:
    global _out
    if _out is None:
        path = os.environ.get("RETUNE_METRICS_FILE")
        _out = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stdout
    return _out


_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")


def _encode(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"metric value {v!r}: want a number")
    if isinstance(v, int):
        return str(v)
    return repr(float(v))  # shortest exact form; 'inf', '-inf', 'nan'


def _line(fields: Dict[str, Any]) -> None:
    for k in fields:
        if not k or not (k[0].isalpha() or k[0] == "_") or not set(k) <= _NAME_CHARS:
            raise ValueError(f"metric name {k!r}: want a letter or underscore, then letters, digits, _ . - /")
    out = _stream()
    out.write(" ".join(f"{k}={_encode(v)}" for k, v in fields.items()) + "\n")
    out.flush()


def report(step: int, **metrics: float) -> None:
    """Reports intermediate metrics at ``step`` (an integer >= 0); the study's pruner sees
    the objective's, and may stop the process (SIGTERM)."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step {step!r}: want an integer >= 0")
    if not metrics:
        raise ValueError("report needs at least one metric, e.g. report(step=3, loss=0.41)")
    _line({"step": step, **metrics})


def result(**metrics: float) -> None:
    """Reports the trial's final metrics: the objectives' values and any others. The last
    value of each objective counts once the process exits 0."""
    if not metrics:
        raise ValueError("result needs at least one metric, e.g. result(loss=0.41)")
    _line(dict(metrics))
