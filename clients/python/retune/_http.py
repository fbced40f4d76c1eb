"""The HTTP transport: JSON over urllib, bearer token, retries with backoff and jitter,
idempotency keys, and problem details turned into exceptions."""

from __future__ import annotations

import json
import math
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Mapping, Optional

from .errors import RetuneError, ServerUnavailableError, from_problem

#: Answers worth retrying: the server (or a proxy) is overloaded or restarting.
_RETRY_STATUS = {429, 502, 503, 504}


def encode_float(v: Any) -> Any:
    """A float as the API takes it: a number, or "inf", "-inf", "nan" (JSON has none)."""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def decode_float(v: Any) -> Any:
    """A float as the API answers it (the strings "inf", "-inf", "nan" included)."""
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    return v


class Transport:
    """Sends API requests to one server.

    ``retry_for`` bounds, in seconds, how long a request is retried when the server cannot
    be reached or answers 429/502/503/504 (or 409 ``request-in-progress``). Every POST
    carries an idempotency key, the same on each retry, so a retried ask never creates a
    second trial and a retried tell is recorded once.
    """

    def __init__(self, url: str, token: Optional[str], timeout: float = 60.0, retry_for: float = 60.0) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"server URL {url!r}: want http://host:port or https://host:port")
        self.base = url.rstrip("/")
        if self.base.endswith("/api/v1"):
            self.base = self.base[: -len("/api/v1")]
        self.token = token
        self.timeout = timeout
        self.retry_for = retry_for

    def request(
        self,
        method: str,
        path: str,
        body: Optional[Mapping[str, Any]] = None,
        query: Optional[Mapping[str, Any]] = None,
        retry_for: Optional[float] = None,
        key: Optional[str] = None,
    ) -> Any:
        """Sends one request to /api/v1 + path and returns the decoded answer (None for
        204). Errors raise :class:`RetuneError` subclasses."""
        url = self.base + "/api/v1" + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST":
            headers["Idempotency-Key"] = key or "py-" + uuid.uuid4().hex
        window = self.retry_for if retry_for is None else retry_for
        deadline = time.monotonic() + window
        wait = 0.1
        while True:
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                raw = e.read()
                try:
                    problem = json.loads(raw) if raw else {}
                except ValueError:
                    problem = {"detail": raw[:500].decode("utf-8", "replace")}
                if not isinstance(problem, dict):
                    problem = {"detail": str(problem)}
                retry = e.code in _RETRY_STATUS or (e.code == 409 and str(problem.get("type", "")).endswith("request-in-progress"))
                if not retry or time.monotonic() + wait > deadline:
                    raise from_problem(e.code, problem, f"{method} {path}") from None
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
                if time.monotonic() + wait > deadline:
                    raise ServerUnavailableError(f"{method} {path}: {self.base} unreachable for {window:g} s: {e}") from None
            time.sleep(wait / 2 + random.random() * wait)
            wait = min(wait * 2, 5.0)


__all__ = ["Transport", "RetuneError", "encode_float", "decode_float"]
