"""The simulated gateway's API keys: which it accepts, where it reads them, what they may do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from esploro_async.testing.wire import SimRequest

__all__ = [
    "SIM_API_KEY",
    "SIM_READ_ONLY_KEY",
    "WRITE_METHODS",
    "check_roles",
    "default_keys",
    "fingerprint",
    "key_of",
    "may_call",
]

SIM_API_KEY = "l8xx5e1f0c2a9b7d4e6f8a0b1c3d5e7f9a2b"
"""The read/write key the simulated gateway accepts by default."""
SIM_READ_ONLY_KEY = "l8xx0ead0b1ee2c3d4e5f6a7b8c9d0e1f2a3"
"""A read-only key: GET works, POST/PUT/DELETE get HTTP 400 ``UNAUTHORIZED``."""

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
"""The methods a read-only key may not call."""


def default_keys() -> dict[str, str]:
    """The keys a gateway accepts when it is given none: one read/write, one read-only."""
    return {SIM_API_KEY: "rw", SIM_READ_ONLY_KEY: "ro"}


def check_roles(roles: Iterable[str]) -> None:
    """Raise `ValueError` unless every role is ``"rw"`` or ``"ro"``."""
    for role in roles:
        if role not in ("rw", "ro"):
            raise ValueError(f"key role must be 'rw' or 'ro', not {role!r}")


def key_of(req: SimRequest, query: Iterable[tuple[str, str]]) -> str | None:
    """The API key of ``req``: ``Authorization: apikey <KEY>``, else ``?apikey=``."""
    auth = req.headers.get("authorization", "")
    scheme, _, value = auth.strip().partition(" ")
    if scheme.lower() == "apikey" and value.strip():
        return value.strip()
    for k, v in query:
        if k == "apikey":
            return v
    return None


def fingerprint(key: str | None) -> str | None:
    """A SHA-256 prefix of ``key`` for the log (never the key itself)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else None


def may_call(keys: Mapping[str, str], key: str | None, method: str) -> bool:
    """Whether ``key`` is known and its role allows ``method``."""
    role = keys.get(key) if key else None
    return role is not None and not (role == "ro" and method in WRITE_METHODS)
