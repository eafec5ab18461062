"""One governance per institution per process.

The thresholds belong to the institution, so two clients opened in the same
process for the same gateway and API key must share one limiter and one quota
ledger; otherwise opening a second client would double the rate. Entries are
reference-counted by the clients that use them and dropped when the last one
closes, so a later event loop starts afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

import attrs

from esploro_async.errors import ConfigurationError
from esploro_async.governance.core import Governance

__all__ = ["acquire_shared", "release_shared"]


@attrs.define
class _Entry:
    governance: Governance
    settings: Hashable
    users: int


_entries: dict[Hashable, _Entry] = {}
_lock = threading.Lock()


def acquire_shared(
    institution: Hashable, settings: Hashable, factory: Callable[[], Governance]
) -> Governance:
    """The governance shared by ``institution``, created by ``factory`` if none is open.

    Raises `ConfigurationError` when a client of the same institution is already
    open with different governance settings: silently using either would be wrong.
    """
    with _lock:
        entry = _entries.get(institution)
        if entry is None:
            entry = _entries[institution] = _Entry(factory(), settings, 0)
        elif entry.settings != settings:
            raise ConfigurationError(
                "another open client for this gateway and API key uses different governance "
                f"settings ({entry.settings!r}, not {settings!r}); the thresholds are shared by "
                "the institution, so use the same settings or pass governance=other.governance"
            )
        entry.users += 1
        return entry.governance


def release_shared(institution: Hashable) -> None:
    """One user of ``institution``'s governance is done with it."""
    with _lock:
        entry = _entries.get(institution)
        if entry is not None:
            entry.users -= 1
            if entry.users <= 0:
                del _entries[institution]
