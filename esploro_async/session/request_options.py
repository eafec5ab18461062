"""`RequestOptions`: one request as the session will send it, decided once before any attempt.

Like openai-python's ``FinalRequestOptions``: `BaseClient.request` resolves every default
(the client's format, retry policy, lane, timeout, whether a replay is harmless) into this
one frozen value, and each attempt reads it; nothing is passed along argument by argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from esploro_async.governance.lanes import Lane
from esploro_async.retry import RetryPolicy

__all__ = ["RequestOptions", "attempt_deadline"]


@attrs.frozen
class RequestOptions:
    """One request, fully resolved.

    Attributes:
        method: the HTTP method, upper case.
        path: the path from the gateway's root (``/esploro/v1/...``).
        params: the query sent (``None`` values already dropped, ``lang`` added).
        content: the body sent (a ``json`` body already serialised), or ``None``.
        headers: the headers passed with it; ``None`` when the http client sends its own.
        lane: ``"interactive"`` or ``"batch"``.
        retry: the retry policy of this request.
        idempotent: whether replaying it is harmless (decides retries after ambiguous failures).
        timeout: the http client's timeout for it (``None``: the client's own).
        deadline: the seconds one attempt may take as a whole (``None``: no deadline).
    """

    method: str
    path: str
    params: Mapping[str, Any]
    content: bytes | None
    headers: Mapping[str, str] | None
    lane: Lane
    retry: RetryPolicy
    idempotent: bool
    timeout: httpx.Timeout | float | None
    deadline: float | None

    @property
    def where(self) -> str:
        """``"METHOD /path"``, as messages name the request."""
        return f"{self.method} {self.path}"


def attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """The whole-attempt deadline: the longest of the connect, write and read timeouts.

    ``None`` (no deadline) when reads are not timed out either.
    """
    if timeout.read is None:
        return None
    return max(t for t in (timeout.connect, timeout.write, timeout.read) if t is not None)
