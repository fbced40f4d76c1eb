"""Exceptions of the retune client.

Every error the server answers with is a :class:`RetuneError` carrying the RFC 9457
problem detail (``status``, ``type``, ``title``, ``detail`` and, for a bad field,
``field`` and ``valid``). Subclasses name the cases a caller handles.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional


class RetuneError(Exception):
    """An error answer of the server, or a request that could not be delivered."""

    def __init__(self, message: str, status: int = 0, problem: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        problem = dict(problem or {})
        self.status = status
        self.type: str = str(problem.get("type", ""))
        self.title: str = str(problem.get("title", ""))
        self.detail: str = str(problem.get("detail", message))
        self.field: Optional[str] = problem.get("field")
        self.valid: Optional[str] = problem.get("valid")
        self.problem = problem


class InvalidRequestError(RetuneError, ValueError):
    """The request was refused as invalid (400, 413, 422); ``field`` and ``valid`` say why."""


class AuthError(RetuneError, PermissionError):
    """No token, an unknown or revoked one (401), or one whose scope does not allow this (403)."""


class NotFoundError(RetuneError, LookupError):
    """The study, trial, model or decision does not exist (404)."""


class ConflictError(RetuneError):
    """The request conflicts with what is stored (409)."""


class LeaseLostError(ConflictError):
    """A write to a trial whose lease this client no longer holds: the trial finished, or
    its lease expired and it was re-run elsewhere. The trial's work cannot be recorded
    under this lease."""


class BudgetExhaustedError(ConflictError):
    """The study's trial budget is spent: no trial can be asked."""


class DuplicatedStudyError(ConflictError):
    """A study of that name exists and the caller asked not to load it."""


class ServerUnavailableError(RetuneError, ConnectionError):
    """The server could not be reached, or kept answering 5xx, for the whole retry window."""


def from_problem(status: int, problem: Mapping[str, Any], where: str) -> RetuneError:
    """The exception for an error answer."""
    detail = str(problem.get("detail") or problem.get("title") or "error")
    msg = f"{where}: {status} {problem.get('title', '')}: {detail}".replace(":  ", ": ")
    kind = str(problem.get("type", ""))
    if status in (400, 413, 422):
        return InvalidRequestError(msg, status, problem)
    if status in (401, 403):
        return AuthError(msg, status, problem)
    if status == 404:
        return NotFoundError(msg, status, problem)
    if status == 409:
        if kind.endswith("budget-exhausted") or kind.endswith("grid-exhausted"):
            return BudgetExhaustedError(msg, status, problem)
        if "/trials/" in where:
            return LeaseLostError(msg, status, problem)
        return ConflictError(msg, status, problem)
    if status >= 500:
        return ServerUnavailableError(msg, status, problem)
    return RetuneError(msg, status, problem)
