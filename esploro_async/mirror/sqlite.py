"""`SQLiteStore`: a mirror in one SQLite file (stdlib ``sqlite3``, WAL, off the event loop).

Every call runs in a worker thread (`anyio.to_thread`), one at a time, so the event loop
keeps fetching pages while a page is written. ``synchronous=FULL`` in WAL mode makes each
committed page durable; a process killed mid-transaction leaves the page out entirely.

The file (and SQLite's ``-wal`` and ``-shm`` files beside it) is created readable by its
owner only (0600). A lock file beside it (``<db>.lock``, `fcntl.flock`) keeps a second sync
out; the kernel releases it when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from esploro_async.mirror import _sql
from esploro_async.mirror._sql import (
    check_meta,
    dump_state,
    load_state,
    refuse_write_error,
)
from esploro_async.mirror.store import (
    APPLICATION,
    SCHEMA_VERSION,
    Known,
    PageWrite,
    StoreError,
    StoreLockedError,
)

__all__ = ["SQLiteStore"]

T = TypeVar("T")

_HEADER = b"SQLite format 3\x00"
_BATCH = 1000
_SQL = _sql.SQLITE.sql


class SQLiteStore:
    """A `MirrorStore` in the SQLite file at ``path`` (created, 0600, if missing).

    Use it through a `Mirror`, or ``await store.open(institution)`` … ``await store.close()``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._limiter = anyio.CapacityLimiter(1)

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- opening ------------------------------------------------------------------------

    async def open(self, institution: str | None, *, read_only: bool = False) -> None:
        """Check the file, create it if new, and lock it; see `MirrorStore.open`."""
        await anyio.to_thread.run_sync(self._open, institution, read_only)

    def _open(self, institution: str | None, read_only: bool) -> None:
        existing = self._inspect()
        if read_only:
            if existing is None and institution is None:
                raise StoreError(f"{self.path} holds no mirror: run a sync first")
            if existing is None:  # a dry run before the first sync: an empty store in memory
                self._db = self._connect(":memory:")
                self._prepare(True, institution)
                return
            check_meta(existing, institution, str(self.path))
            self._db = self._connect(f"file:{self.path}?mode=ro")
            return
        if institution is None:
            raise StoreError("a sync needs the institution the store belongs to")
        self._take_lock()
        try:
            if existing is not None:
                check_meta(existing, institution, str(self.path))
            self._check_writable()
            self._db = self._connect(str(self.path))
            self._prepare(existing is None, institution)
        except BaseException:
            self._close()
            raise

    def _inspect(self) -> dict[str, str] | None:
        """The meta table of an existing store, ``None`` for a new (absent or empty) file."""
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(len(_HEADER))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {self.path}: {exc.strerror}") from None
        if not header:
            return None
        if header != _HEADER:
            raise StoreError(
                f"{self.path} is not a SQLite database (another kind of file, or corrupt); "
                "it was left as it is: give --db a new file name"
            )
        try:
            probe = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                tables = {row[0] for row in probe.execute("SELECT name FROM sqlite_master")}
                if not tables:
                    return None
                if "mirror_meta" not in tables:
                    raise StoreError(
                        f"{self.path} is a SQLite database of another application (no mirror "
                        "tables); it was left as it is: give --db a new file name"
                    )
                return {str(k): str(v) for k, v in probe.execute("SELECT * FROM mirror_meta")}
            finally:
                probe.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path} cannot be read as a mirror ({exc}): the file is corrupt or not "
                "a mirror; it was left as it is. Restore a backup or sync into a new file"
            ) from None

    def _take_lock(self) -> None:
        if sys.platform == "win32":  # pragma: no cover - no flock; SQLite's own locks remain
            return
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock file {lock_path}: {exc.strerror}; the store's folder "
                "must be writable"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreLockedError(
                f"another sync is running on {self.path} (it holds {lock_path}); wait for it "
                "to end: two syncs of one store never run at once"
            ) from None
        self._lock_fd = fd

    def _check_writable(self) -> None:
        folder = self.path.parent
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise StoreError(f"{self.path} is read-only: make it writable to sync into it")
        if not os.access(folder, os.W_OK):
            raise StoreError(
                f"the folder {folder} is read-only; SQLite writes its journal beside the store"
            )
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)

    def _connect(self, target: str) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                target,
                uri=target.startswith("file:"),
                isolation_level=None,
                timeout=30.0,
                check_same_thread=False,  # used from worker threads, one at a time
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _prepare(self, new: bool, institution: str | None) -> None:
        db = self._require()
        with refuse_write_error(str(self.path)):
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            if new:
                db.execute("BEGIN IMMEDIATE")
                for statement in _sql.SCHEMA:
                    db.execute(_SQL(statement))
                db.executemany(
                    _SQL(_sql.INSERT_META),
                    [
                        ("application", APPLICATION),
                        ("schema_version", str(SCHEMA_VERSION)),
                        ("institution", institution),
                    ],
                )
                db.execute("COMMIT")

    # -- closing ------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection and release the lock (idempotent)."""
        await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    def _close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # -- queries ------------------------------------------------------------------------

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def state(self, kind: str) -> dict[str, Any]:
        """The kind's state (``{}`` if none)."""
        return await self._call(self._state, kind)

    def _state(self, kind: str) -> dict[str, Any]:
        with refuse_write_error(str(self.path)):
            row = self._require().execute(_SQL(_sql.STATE), (kind,)).fetchone()
        return load_state(None if row is None else row[0])

    async def known(self, kind: str, ids: Sequence[str]) -> dict[str, Known]:
        """What the store holds about ``ids``."""
        return await self._call(self._known, kind, list(ids))

    def _known(self, kind: str, ids: list[str]) -> dict[str, Known]:
        found: dict[str, Known] = {}
        db = self._require()
        with refuse_write_error(str(self.path)):
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT id, hash, brief_hash, deleted, listed FROM mirror_records "
                    f"WHERE kind = ? AND id IN ({marks})",
                    (kind, *chunk),
                )
                for rid, digest, brief, deleted, listed in rows:
                    found[rid] = Known(digest, brief, deleted is not None, listed)
        return found

    async def commit(self, write: PageWrite) -> None:
        """One page and its state, in one transaction."""
        await self._call(self._commit, write)

    def _commit(self, write: PageWrite) -> None:
        db = self._require()
        kind, now, listed = write.kind, write.now, write.listed
        with refuse_write_error(str(self.path)), self._transaction(db):
            db.executemany(
                _SQL(_sql.UPSERT),
                [
                    (kind, r.id, r.text, r.hash, r.brief_hash, now, now, now, listed)
                    for r in write.rows
                ],
            )
            db.executemany(
                "UPDATE mirror_records SET last_seen = ?, listed = coalesce(?, listed) "
                "WHERE kind = ? AND id = ?",
                [(now, listed, kind, rid) for rid in write.seen],
            )
            db.executemany(
                "UPDATE mirror_records SET refreshed = ? WHERE kind = ? AND id = ?",
                [(now, kind, rid) for rid in write.refreshed],
            )
            self._put_state(db, kind, write.state)

    @staticmethod
    @contextlib.contextmanager
    def _transaction(db: sqlite3.Connection) -> Any:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _put_state(db: sqlite3.Connection, kind: str, state: Mapping[str, Any]) -> None:
        db.execute(_SQL(_sql.PUT_STATE), (kind, dump_state(state)))

    async def save_state(self, kind: str, state: Mapping[str, Any]) -> None:
        """Replace the kind's state."""
        await self._call(self._save_state, kind, state)

    def _save_state(self, kind: str, state: Mapping[str, Any]) -> None:
        db = self._require()
        with refuse_write_error(str(self.path)), self._transaction(db):
            self._put_state(db, kind, state)

    async def tombstone_unlisted(
        self, kind: str, listed: str, now: str, state: Mapping[str, Any]
    ) -> int:
        """Tombstone what the listing ``listed`` did not see, and save ``state``, at once."""
        return await self._call(self._tombstone, kind, listed, now, state)

    def _tombstone(self, kind: str, listed: str, now: str, state: Mapping[str, Any]) -> int:
        db = self._require()
        with refuse_write_error(str(self.path)), self._transaction(db):
            cursor = db.execute(_SQL(_sql.TOMBSTONE), (now, kind, listed))
            self._put_state(db, kind, state)
            return cursor.rowcount

    async def stale(self, kind: str, before: str, limit: int) -> list[str]:
        """Live ids refreshed before ``before``, oldest first."""
        return await self._call(self._stale, kind, before, limit)

    def _stale(self, kind: str, before: str, limit: int) -> list[str]:
        with refuse_write_error(str(self.path)):
            rows = self._require().execute(_SQL(_sql.STALE), (kind, before, limit))
            return [row[0] for row in rows]

    async def count(self, kind: str) -> tuple[int, int]:
        """``(live, tombstones)``."""
        return await self._call(self._count, kind)

    def _count(self, kind: str) -> tuple[int, int]:
        with refuse_write_error(str(self.path)):
            live, dead = self._require().execute(_SQL(_sql.COUNT), (kind,)).fetchone()
        return int(live), int(dead)

    async def texts(self, kind: str) -> AsyncIterator[tuple[str, str]]:
        """``(id, JSON text)`` of the live records, by id, a thousand at a time."""
        after = ""
        while True:
            batch = await self._call(self._texts_after, kind, after)
            for row in batch:
                yield row
            if len(batch) < _BATCH:
                return
            after = batch[-1][0]

    def _texts_after(self, kind: str, after: str) -> list[tuple[str, str]]:
        with refuse_write_error(str(self.path)):
            rows = self._require().execute(_SQL(_sql.TEXTS_AFTER), (kind, after, _BATCH))
            return [(str(rid), str(text)) for rid, text in rows]
