"""One governance per institution per process.

The thresholds belong to the institution, so two clients opened in the same
process for the same gateway and API key must share one limiter and one quota
ledger; otherwise opening a second client would double the rate. Entries are
reference-counted by the clients that use them and dropped when the last one
closes, so a later event loop starts afresh.

Governance holds primitives bound to the event loop that first uses them, so sharing
is per event loop: clients created while different loops run (e.g. an async client in
your loop and a blocking `esploro_async.sync` client, which runs its own) get separate
governance, and their rates add up. That is logged as a warning; use one loop, or an
institution-wide backend, to keep one budget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

import anyio.lowlevel
import attrs

from esploro_async.errors import ConfigurationError
from esploro_async.governance.core import Governance

__all__ = ["acquire_shared", "release_shared"]


@attrs.define
class _Entry:
    governance: Governance
    settings: Hashable
    users: int


_entries: dict[tuple[Hashable, int | None], _Entry] = {}
_lock = threading.Lock()
_log = logging.getLogger("esploro_async.governance")


def _loop_id() -> int | None:
    """The running anyio run (an asyncio loop, a trio run), or ``None`` outside one."""
    try:
        return id(anyio.lowlevel.current_token().native_token)
    except Exception:  # no event loop in this thread
        return None


def acquire_shared(
    institution: Hashable, settings: Hashable, factory: Callable[[], Governance]
) -> tuple[Governance, tuple[Hashable, int | None]]:
    """The governance shared by ``institution`` on the running event loop, and its key.

    It is created by ``factory`` if none is open; pass the key to `release_shared`.

    Raises `ConfigurationError` when a client of the same institution is already
    open with different governance settings: silently using either would be wrong.
    """
    key = (institution, _loop_id())
    with _lock:
        entry = _entries.get(key)
        if entry is None:
            if any(other == institution for other, _ in _entries):
                _log.warning(
                    "clients of one institution run on two event loops in this process: each "
                    "loop has its own governance and their rates add up"
                )
            entry = _entries[key] = _Entry(factory(), settings, 0)
        elif entry.settings != settings:
            raise ConfigurationError(
                "another open client for this gateway and API key uses different governance "
                f"settings ({entry.settings!r}, not {settings!r}); the thresholds are shared by "
                "the institution, so use the same settings or pass governance=other.governance"
            )
        entry.users += 1
        return entry.governance, key


def release_shared(key: tuple[Hashable, int | None]) -> None:
    """One user of a governance is done with it (``key`` as returned by `acquire_shared`)."""
    with _lock:
        entry = _entries.get(key)
        if entry is not None:
            entry.users -= 1
            if entry.users <= 0:
                del _entries[key]
