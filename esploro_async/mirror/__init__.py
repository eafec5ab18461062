"""A local mirror of an institution, kept up to date at the cost of what changed.

`Mirror` syncs assets, researchers and organizations into a `MirrorStore`: `SQLiteStore`
(one file, the default) or `PostgresStore` (the ``postgres`` extra). Each page and the
sync's position are committed in one transaction, so a sync stopped anywhere continues
exactly where it stopped. `export_records` writes a kind out as JSON Lines, CSV or Parquet.
See the guide "Keeping a mirror".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from esploro_async.mirror.mirror import Mirror
from esploro_async.mirror.progress import SyncCounts, SyncObserver, SyncPlan, SyncSummary
from esploro_async.mirror.sqlite import SQLiteStore
from esploro_async.mirror.store import (
    KINDS,
    Known,
    MirrorStore,
    PageWrite,
    RecordRow,
    StoreError,
    StoreLockedError,
)

if TYPE_CHECKING:
    from esploro_async.mirror.postgres import PostgresStore

__all__ = [
    "KINDS",
    "Known",
    "Mirror",
    "MirrorStore",
    "PageWrite",
    "PostgresStore",
    "RecordRow",
    "SQLiteStore",
    "StoreError",
    "StoreLockedError",
    "SyncCounts",
    "SyncObserver",
    "SyncPlan",
    "SyncSummary",
]


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":  # psycopg is imported only when asked for
        from esploro_async.mirror.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(name)
