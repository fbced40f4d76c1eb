"""Checking Optuna arguments: those retune maps are taken, those it does not are refused
by name (never silently ignored), unless they hold Optuna's default."""

from __future__ import annotations

from typing import Any, Dict, Mapping


class UnsupportedArgumentError(ValueError):
    """An Optuna argument retune has no equivalent for."""


def refuse(where: str, given: Mapping[str, Any], defaults: Mapping[str, Any], why: Mapping[str, str]) -> None:
    """Raises for every argument in ``given`` that differs from its Optuna default."""
    bad = [k for k, v in given.items() if v is not defaults.get(k, object()) and v != defaults.get(k, object())]
    if bad:
        lines = "; ".join(f"{k}: {why.get(k, 'not supported by retune')}" for k in sorted(bad))
        raise UnsupportedArgumentError(f"{where}: unsupported argument(s): {lines}")


def spec(name: str, **options: Any) -> Dict[str, Any]:
    """A retune sampler/pruner spec with the options that are set."""
    out: Dict[str, Any] = {"name": name}
    out.update({k: v for k, v in options.items() if v is not None})
    return out
