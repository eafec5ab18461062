"""`PostgresStore`: a mirror in a PostgreSQL database (psycopg 3, async; the ``postgres`` extra).

For pipelines that outgrow one machine: the warehouse, the repository and the reporting
read the mirror where it is. The tables (``mirror_meta``, ``mirror_state``,
``mirror_records``) are created in the connection's schema on the first sync. Each page and
the sync's position are written in one transaction, as in `SQLiteStore`; a session-level
advisory lock keeps a second sync out, and PostgreSQL releases it when the session ends,
however the process ends.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from esploro_async.mirror import _sql
from esploro_async.mirror._sql import check_meta, dump_state, load_state
from esploro_async.mirror.store import (
    APPLICATION,
    SCHEMA_VERSION,
    Known,
    PageWrite,
    StoreError,
    StoreLockedError,
)

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        "PostgresStore needs psycopg 3: pip install 'esploro-async[postgres]'"
    ) from exc

__all__ = ["PostgresStore"]

_BATCH = 1000
_LOCK_KEY = zlib.crc32(b"esploro_async.mirror")

_SQL = _sql.POSTGRES.sql
_UPSERT = _SQL(_sql.UPSERT)
_PUT_STATE = _SQL(_sql.PUT_STATE)


@contextlib.contextmanager
def _refuse_errors(where: str) -> Iterator[None]:
    """psycopg errors as `StoreError` (the transaction was rolled back)."""
    try:
        yield
    except psycopg.errors.ReadOnlySqlTransaction as exc:
        raise StoreError(f"{where} is read-only ({exc}); nothing was written") from None
    except psycopg.errors.DiskFull as exc:
        raise StoreError(
            f"{where}: the disk is full ({exc}); the last page was not written: free space and "
            "run the sync again, it continues where it stopped"
        ) from None
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(f"{where}: permission denied ({exc}); nothing was written") from None
    except psycopg.Error as exc:
        raise StoreError(f"{where}: {exc}; nothing of this page was written") from None


class PostgresStore:
    """A `MirrorStore` in the PostgreSQL database at ``url`` (``postgresql://…``).

    The password, if the URL has one, is never shown: the store's repr and messages name
    the host and database only.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: psycopg.AsyncConnection[Any] | None = None
        try:
            info = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            info = {}
        self.where = f"PostgreSQL database {info.get('dbname', '?')} on {info.get('host', '?')}"

    def __repr__(self) -> str:
        return f"PostgresStore(<{self.where}>)"

    async def open(self, institution: str | None, *, read_only: bool = False) -> None:
        """Connect, check the tables, create them if new, and take the advisory lock."""
        try:
            self._db = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the {self.where}: {exc}") from None
        try:
            await self._prepare(institution, read_only)
        except BaseException:
            await self.close()
            raise

    async def _prepare(self, institution: str | None, read_only: bool) -> None:
        db = self._require()
        with _refuse_errors(self.where):
            if read_only:
                await db.execute("SET default_transaction_read_only = on")
            else:
                row = await (
                    await db.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,))
                ).fetchone()
                if not row or not row[0]:
                    raise StoreLockedError(
                        f"another sync is running on the {self.where}; wait for it to end: "
                        "two syncs of one store never run at once"
                    )
            found = await (await db.execute("SELECT to_regclass('mirror_meta')")).fetchone()
            if found and found[0] is not None:
                meta = await (await db.execute("SELECT key, value FROM mirror_meta")).fetchall()
                check_meta({str(k): str(v) for k, v in meta}, institution, self.where)
                return
            if read_only or institution is None:
                raise StoreError(f"the {self.where} holds no mirror: run a sync first")
            async with db.transaction():
                for statement in _sql.SCHEMA:
                    await db.execute(_SQL(statement))
                async with db.cursor() as cursor:
                    await cursor.executemany(
                        _SQL(_sql.INSERT_META),
                        [
                            ("application", APPLICATION),
                            ("schema_version", str(SCHEMA_VERSION)),
                            ("institution", institution),
                        ],
                    )

    async def close(self) -> None:
        """Close the session (which releases the advisory lock)."""
        if self._db is not None:
            with contextlib.suppress(psycopg.Error):
                await self._db.close()
            self._db = None

    def _require(self) -> psycopg.AsyncConnection[Any]:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def state(self, kind: str) -> dict[str, Any]:
        """The kind's state (``{}`` if none)."""
        with _refuse_errors(self.where):
            cursor = await self._require().execute(_SQL(_sql.STATE), (kind,))
            row = await cursor.fetchone()
        return load_state(None if row is None else str(row[0]))

    async def known(self, kind: str, ids: Sequence[str]) -> dict[str, Known]:
        """What the store holds about ``ids``."""
        with _refuse_errors(self.where):
            cursor = await self._require().execute(
                "SELECT id, hash, brief_hash, deleted, listed FROM mirror_records "
                "WHERE kind = %s AND id = ANY(%s)",
                (kind, list(ids)),
            )
            rows = await cursor.fetchall()
        return {str(r[0]): Known(str(r[1]), r[2], r[3] is not None, r[4]) for r in rows}

    async def commit(self, write: PageWrite) -> None:
        """One page and its state, in one transaction."""
        db = self._require()
        kind, now, listed = write.kind, write.now, write.listed
        with _refuse_errors(self.where):
            async with db.transaction(), db.cursor() as cursor:
                if write.rows:
                    await cursor.executemany(
                        _UPSERT,
                        [
                            (kind, r.id, r.text, r.hash, r.brief_hash, now, now, now, listed)
                            for r in write.rows
                        ],
                    )
                if write.seen:
                    await cursor.execute(
                        "UPDATE mirror_records SET last_seen = %s, "
                        "listed = coalesce(%s, listed) WHERE kind = %s AND id = ANY(%s)",
                        (now, listed, kind, list(write.seen)),
                    )
                if write.refreshed:
                    await cursor.execute(
                        "UPDATE mirror_records SET refreshed = %s WHERE kind = %s AND id = ANY(%s)",
                        (now, kind, list(write.refreshed)),
                    )
                await cursor.execute(_PUT_STATE, (kind, dump_state(write.state)))

    async def save_state(self, kind: str, state: Mapping[str, Any]) -> None:
        """Replace the kind's state."""
        with _refuse_errors(self.where):
            await self._require().execute(_PUT_STATE, (kind, dump_state(state)))

    async def tombstone_unlisted(
        self, kind: str, listed: str, now: str, state: Mapping[str, Any]
    ) -> int:
        """Tombstone what the listing ``listed`` did not see, and save ``state``, at once."""
        db = self._require()
        with _refuse_errors(self.where):
            async with db.transaction(), db.cursor() as cursor:
                await cursor.execute(_SQL(_sql.TOMBSTONE), (now, kind, listed))
                deleted = cursor.rowcount
                await cursor.execute(_PUT_STATE, (kind, dump_state(state)))
        return max(0, deleted)

    async def stale(self, kind: str, before: str, limit: int) -> list[str]:
        """Live ids refreshed before ``before``, oldest first."""
        with _refuse_errors(self.where):
            cursor = await self._require().execute(_SQL(_sql.STALE), (kind, before, limit))
            return [str(r[0]) for r in await cursor.fetchall()]

    async def count(self, kind: str) -> tuple[int, int]:
        """``(live, tombstones)``."""
        with _refuse_errors(self.where):
            cursor = await self._require().execute(_SQL(_sql.COUNT), (kind,))
            row = await cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def texts(self, kind: str) -> AsyncIterator[tuple[str, str]]:
        """``(id, JSON text)`` of the live records, by id, a thousand at a time."""
        after = ""
        while True:
            with _refuse_errors(self.where):
                cursor = await self._require().execute(
                    _SQL(_sql.TEXTS_AFTER), (kind, after, _BATCH)
                )
                batch = [(str(r[0]), str(r[1])) for r in await cursor.fetchall()]
            for item in batch:
                yield item
            if len(batch) < _BATCH:
                return
            after = batch[-1][0]
