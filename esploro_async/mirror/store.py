"""What a mirror needs from a database: the `MirrorStore` protocol and the values it trades.

A store keeps, per kind of record (``assets``, ``researchers``, ``organizations``), every
record exactly as the API returned it (its JSON text), its id, a content hash, when it was
first and last seen, when its full record was last fetched, and a tombstone once it is gone.
Beside the records it keeps one small JSON *state* per kind: the watermark of the last
finished run and the position of an unfinished one.

The one rule every store keeps: `MirrorStore.commit` writes a page of records **and** the
state that counts them in one transaction. A sync killed at any instant leaves the store at
the end of some page, and the state says which, so a re-run continues exactly there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from esploro_async.errors import EsploroError

__all__ = [
    "KINDS",
    "SCHEMA_VERSION",
    "Known",
    "MirrorStore",
    "PageWrite",
    "RecordRow",
    "StoreError",
    "StoreLockedError",
    "content_hash",
    "record_text",
]

SCHEMA_VERSION = 1
"""The layout version this library writes; a store of a newer one is refused."""

APPLICATION = "esploro-async mirror"
"""What a store says it is, so that a foreign database is recognised and left alone."""

KINDS = ("assets", "researchers", "organizations")
"""The kinds of record a mirror keeps."""


class StoreError(EsploroError):
    """The store cannot be used as asked: foreign, corrupt, newer, read-only, full, …

    Raised before anything is written, or with the transaction rolled back: the store is as
    it was. The message says what to do.
    """


class StoreLockedError(StoreError):
    """Another sync holds this store: two syncs of one store never run at once."""


def record_text(record: Mapping[str, Any]) -> str:
    """A record as stored: the JSON the API returned (key order kept, no escaping)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def content_hash(record: Mapping[str, Any]) -> str:
    """A hash of a record's content, independent of key order (SHA-256, hex)."""
    canonical = json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@attrs.frozen
class RecordRow:
    """One record to write: its id, JSON text, content hash and (researchers) brief hash."""

    id: str
    text: str
    hash: str
    brief_hash: str | None = None


@attrs.frozen
class Known:
    """What the store holds about one id: its hashes, whether it is a tombstone, and the
    mark of the last run that listed it (a record a run sees twice is counted once)."""

    hash: str
    brief_hash: str | None
    deleted: bool
    listed: str | None = None


@attrs.frozen
class PageWrite:
    """One transaction of a sync: records to write, ids seen, and the new state.

    Attributes:
        kind: ``assets``, ``researchers`` or ``organizations``.
        rows: records new or changed (written, tombstone lifted, ``refreshed`` set to ``now``).
        seen: ids seen unchanged (``last_seen`` set to ``now``, the record not rewritten).
        refreshed: of ``seen``, ids whose full record was fetched again (``refreshed`` set).
        listed: the run mark to set on every id in ``rows`` and ``seen`` (the run that listed
            them: a listing that sees every id tombstones the ids without its mark), or
            ``None``.
        state: the kind's state after this page.
        now: the time of the write (ISO 8601, UTC).
    """

    kind: str
    rows: Sequence[RecordRow]
    seen: Sequence[str]
    state: Mapping[str, Any]
    now: str
    refreshed: Sequence[str] = ()
    listed: str | None = None


@runtime_checkable
class MirrorStore(Protocol):
    """The database behind a `Mirror`: `SQLiteStore`, `PostgresStore`, or yours.

    ``open`` checks the store (refusing a foreign, corrupt or newer one, or one of another
    institution, before anything is written), creates it if empty and takes its lock;
    ``close`` releases it. Every method after ``open`` may raise `StoreError`.
    """

    async def open(self, institution: str | None, *, read_only: bool = False) -> None:
        """Check, create if new, and lock the store for a sync of ``institution``."""
        ...

    async def close(self) -> None:
        """Release the lock and the connection (idempotent)."""
        ...

    async def state(self, kind: str) -> dict[str, Any]:
        """The kind's state (``{}`` if no run ever started)."""
        ...

    async def known(self, kind: str, ids: Sequence[str]) -> dict[str, Known]:
        """What the store holds about each of ``ids`` (ids it never saw are absent)."""
        ...

    async def commit(self, write: PageWrite) -> None:
        """Write one page and the state that counts it, in one transaction."""
        ...

    async def save_state(self, kind: str, state: Mapping[str, Any]) -> None:
        """Replace the kind's state (one transaction)."""
        ...

    async def tombstone_unlisted(
        self, kind: str, listed: str, now: str, state: Mapping[str, Any]
    ) -> int:
        """Tombstone live records whose run mark is not ``listed``, and save ``state``, at once.

        Returns how many records were tombstoned.
        """
        ...

    async def stale(self, kind: str, before: str, limit: int) -> list[str]:
        """Up to ``limit`` live ids refreshed before ``before``, the longest-unrefreshed first."""
        ...

    async def count(self, kind: str) -> tuple[int, int]:
        """``(live records, tombstones)`` of the kind."""
        ...

    def texts(self, kind: str) -> AsyncIterator[tuple[str, str]]:
        """``(id, JSON text)`` of every live record of the kind, by id, in bounded memory."""
        ...
