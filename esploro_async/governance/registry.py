"""One governance per institution per process.

The thresholds belong to the *institution*, not to an API key: Ex Libris keys are per
API area, so a process often holds a read-only and a read/write key of one institution,
and both spend the same 25 requests per second and the same daily quota. Clients that
name their institution (``institution="01ABC_INST"``) share one limiter and one quota
ledger whatever their keys; clients that do not are grouped by gateway and key, and a
warning says so once when keys differ on one gateway. Gateways are compared by what they
are, not how they are spelt: scheme, host (``localhost``, ``127.0.0.1`` and ``::1`` are
one loopback host), port (default ports made explicit) and path.

Entries are reference-counted by the clients that use them and dropped when the last one
closes, so a later run starts afresh. Governance holds primitives bound to the event loop
that first uses them, so sharing is per anyio run (an `anyio.lowlevel.RunVar`, asyncio or
trio alike): clients created in different runs (e.g. an async client in your loop and a
blocking `esploro_async.sync` client, which runs its own) get separate governance, and
their rates add up. That is logged as a warning; use one loop, or an institution-wide
backend, to keep one budget.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Hashable

import attrs
import httpx
from anyio.lowlevel import RunVar

from esploro_async.errors import ConfigurationError
from esploro_async.governance.core import Governance
from esploro_async.governance.settings import GovernanceSettings, describe_difference

__all__ = [
    "INSTITUTION_CODE",
    "Sharer",
    "acquire_shared",
    "check_institution",
    "gateway_identity",
    "release_shared",
]

INSTITUTION_CODE = re.compile(r"^[A-Za-z0-9_.:-]+$")
"""What an institution code may contain (it is part of Redis keys and their hash tag)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_institution(institution: str) -> str:
    """``institution`` if it is a valid code, else `ConfigurationError`."""
    if not isinstance(institution, str) or not INSTITUTION_CODE.match(institution):
        raise ConfigurationError(
            f"institution must be the institution code (letters, digits, _ . : -), "
            f"e.g. '01ABC_INST', not {institution!r}"
        )
    return institution


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def gateway_identity(base_url: str) -> str:
    """One spelling per gateway: ``http://localhost:8080/`` and ``http://127.0.0.1:8080``
    are the same one, and so are ``https://HOST`` and ``https://host:443``."""
    url = httpx.URL(base_url)
    scheme = url.scheme.lower()
    host = url.host.lower().rstrip(".")
    if _is_loopback(host):
        host = "loopback"
    port = url.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}{url.path.rstrip('/')}"


@attrs.frozen
class Sharer:
    """Who shares governance: one institution, or (when unnamed) one gateway and key.

    Attributes:
        gateway: the gateway's identity (`gateway_identity`).
        key_fingerprint: a short hash of the API key (never the key).
        institution: the institution code, if the client named it.
    """

    gateway: str
    key_fingerprint: str
    institution: str | None = None

    @property
    def group(self) -> Hashable:
        """What clients sharing one governance have in common."""
        if self.institution is not None:
            return ("institution", self.institution)
        return ("key", self.gateway, self.key_fingerprint)


@attrs.define
class _Entry:
    governance: Governance
    settings: GovernanceSettings
    users: int


_Key = tuple[Hashable, object]

_entries: dict[_Key, _Entry] = {}
_warned: set[str] = set()
_lock = threading.Lock()
# Releases that found the lock taken, applied by the next call that holds it: a client
# finalized by the garbage collector inside `acquire_shared` (which allocates under the
# lock) must not wait for a lock its own thread holds.
_deferred: list[_Key] = []
_log = logging.getLogger("esploro_async.governance")
_run_token: RunVar[object] = RunVar("esploro_async_governance_run")


def _current_run() -> object:
    """A token of the running anyio run (asyncio or trio), or ``None`` outside any."""
    try:
        return _run_token.get()
    except LookupError:
        token = object()
        _run_token.set(token)
        return token
    except Exception:  # no async library running (e.g. a client built in plain code)
        return None


def _warn_mixed_keys(sharer: Sharer) -> None:
    if sharer.institution is not None or sharer.gateway in _warned:
        return
    mine = sharer.group
    for group, _ in _entries:
        if isinstance(group, tuple) and group[:2] == ("key", sharer.gateway) and group != mine:
            _warned.add(sharer.gateway)
            _log.warning(
                "clients with different API keys are open for the gateway %s without "
                "institution=...: each key gets its own governance and their rates add up, "
                "but the thresholds belong to the institution. Pass institution='CODE' to "
                "every client of the institution to share one governance",
                sharer.gateway,
            )
            return


def acquire_shared(
    sharer: Sharer | Hashable, settings: GovernanceSettings, factory: Callable[[], Governance]
) -> tuple[Governance, _Key]:
    """The governance shared by ``sharer`` in the running anyio run, and its key.

    It is created by ``factory`` if none is open; pass the key to `release_shared`.

    Raises `ConfigurationError` when a client of the same institution is already
    open with different governance settings: silently using either would be wrong.
    """
    group = sharer.group if isinstance(sharer, Sharer) else sharer
    key = (group, _current_run())
    with _lock:
        _apply_deferred()
        if isinstance(sharer, Sharer):
            _warn_mixed_keys(sharer)
        entry = _entries.get(key)
        if entry is None:
            if any(other == group for other, _ in _entries):
                _log.warning(
                    "clients of one institution run on two event loops in this process: each "
                    "loop has its own governance and their rates add up"
                )
            entry = _entries[key] = _Entry(factory(), settings, 0)
        elif entry.settings != settings:
            raise ConfigurationError(
                "another client of this institution (or gateway and API key) is open with "
                f"other governance settings: {describe_difference(settings, entry.settings)}. "
                "The thresholds are the institution's, so one governance serves both: close "
                "the first client (async with, or await client.aclose()) before creating this "
                "one, give both the same settings, or pass governance=first.governance"
            )
        entry.users += 1
        return entry.governance, key


def release_shared(key: _Key) -> None:
    """One user of a governance is done with it (``key`` as returned by `acquire_shared`).

    Never blocks: if the registry is busy (this thread may be inside `acquire_shared`,
    when the garbage collector finalizes an unclosed client), the release is recorded and
    applied by the next call.
    """
    _deferred.append(key)
    if _lock.acquire(blocking=False):
        try:
            _apply_deferred()
        finally:
            _lock.release()


def _apply_deferred() -> None:
    """Apply the recorded releases (the caller holds the lock)."""
    while _deferred:
        key = _deferred.pop()
        entry = _entries.get(key)
        if entry is not None:
            entry.users -= 1
            if entry.users <= 0:
                del _entries[key]
