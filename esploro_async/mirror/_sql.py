"""What the SQL stores share: the one schema and its statements, the meta checks, the
state's JSON, and SQLite errors as `StoreError`.

The tables and statements are written once, with ``?`` for a parameter; `Dialect` holds
every way SQLite and PostgreSQL spell them differently, and `Dialect.sql` renders a
statement for one of them.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from esploro_async.mirror.store import APPLICATION, SCHEMA_VERSION, StoreError

__all__ = [
    "POSTGRES",
    "SQLITE",
    "Dialect",
    "check_meta",
    "dump_state",
    "load_state",
    "refuse_write_error",
]

SCHEMA = (
    "CREATE TABLE mirror_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE mirror_state (kind TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE mirror_records (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        record TEXT NOT NULL,
        hash TEXT NOT NULL,
        brief_hash TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        refreshed TEXT NOT NULL,
        listed TEXT,
        deleted TEXT,
        PRIMARY KEY (kind, id)
    )""",
    "CREATE INDEX mirror_records_refreshed ON mirror_records (kind, refreshed) "
    "WHERE deleted IS NULL",
)
"""The tables of a store (layout `SCHEMA_VERSION`), in both dialects as written."""

INSERT_META = "INSERT INTO mirror_meta (key, value) VALUES (?, ?)"

UPSERT = """
INSERT INTO mirror_records
    (kind, id, record, hash, brief_hash, first_seen, last_seen, refreshed, listed, deleted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
ON CONFLICT (kind, id) DO UPDATE SET
    record = excluded.record,
    hash = excluded.hash,
    brief_hash = coalesce(excluded.brief_hash, mirror_records.brief_hash),
    last_seen = excluded.last_seen,
    refreshed = excluded.refreshed,
    listed = coalesce(excluded.listed, mirror_records.listed),
    deleted = NULL
"""
"""A record new or changed: written, its tombstone lifted, first_seen kept."""

STATE = "SELECT value FROM mirror_state WHERE kind = ?"

PUT_STATE = (
    "INSERT INTO mirror_state (kind, value) VALUES (?, ?) "
    "ON CONFLICT (kind) DO UPDATE SET value = excluded.value"
)

TOMBSTONE = (
    "UPDATE mirror_records SET deleted = ? WHERE kind = ? AND deleted IS NULL "
    "AND listed {distinct} ?"
)
"""Tombstone the live records a listing (its mark) did not see."""

STALE = (
    "SELECT id FROM mirror_records WHERE kind = ? AND deleted IS NULL "
    "AND refreshed < ? ORDER BY refreshed, id LIMIT ?"
)

COUNT = "SELECT count(*) - count(deleted), count(deleted) FROM mirror_records WHERE kind = ?"

TEXTS_AFTER = (
    "SELECT id, record FROM mirror_records WHERE kind = ? AND deleted IS NULL "
    "AND id{bytewise} > ? ORDER BY id{bytewise} LIMIT ?"
)
"""A batch of live records after an id, in the byte order of the ids (as SQLite sorts)."""


@attrs.frozen
class Dialect:
    """How one database spells the shared statements.

    Statements over a list of ids stay in each store: sqlite3 binds one value per
    parameter (``IN (?, ?, …)``, ``executemany``), psycopg binds the list as an array
    (``= ANY(%s)``).

    Attributes:
        param: a statement parameter (``?`` in sqlite3, ``%s`` in psycopg).
        distinct: "not equal, NULL counting as a value" (``IS NOT`` in SQLite, which
            lacks ``IS DISTINCT FROM`` before 3.39).
        bytewise: what makes text compare by bytes (SQLite's default; a collation in
            PostgreSQL, whose default follows the locale).
    """

    param: str
    distinct: str
    bytewise: str

    def sql(self, statement: str) -> str:
        """``statement`` in this dialect (no literal ``?`` may appear in the shared text)."""
        text = statement.format(distinct=self.distinct, bytewise=self.bytewise)
        return text.replace("?", self.param)


SQLITE = Dialect(param="?", distinct="IS NOT", bytewise="")
POSTGRES = Dialect(param="%s", distinct="IS DISTINCT FROM", bytewise=' COLLATE "C"')


def check_meta(meta: Mapping[str, str], institution: str | None, where: str) -> None:
    """Refuse a store of another application, a newer layout, or another institution.

    ``institution=None`` (an export) accepts the store's own.
    """
    if meta.get("application") != APPLICATION:
        raise StoreError(
            f"{where} belongs to another application; it was left as it is: use another store"
        )
    try:
        version = int(meta.get("schema_version", ""))
    except ValueError:
        raise StoreError(f"{where} has no valid schema version: it is corrupt") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{where} was written by a newer esploro-async (store layout {version}, this one "
            f"reads {SCHEMA_VERSION}); it was left as it is: upgrade esploro-async"
        )
    theirs = meta.get("institution")
    if institution is not None and theirs != institution:
        raise StoreError(
            f"{where} mirrors another institution ({theirs}), not {institution}; it was left "
            "as it is: give each institution its own store"
        )


def dump_state(state: Mapping[str, Any]) -> str:
    """A state as stored."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def load_state(text: str | None) -> dict[str, Any]:
    """A stored state (``{}`` for none); `StoreError` if it is not a JSON object."""
    if text is None:
        return {}
    try:
        state = json.loads(text)
    except ValueError:
        state = None
    if not isinstance(state, dict):
        raise StoreError("the store's sync state is unreadable: the store is corrupt")
    return state


@contextlib.contextmanager
def refuse_write_error(where: str) -> Iterator[None]:
    """SQLite errors as `StoreError` with what to do (the transaction was rolled back)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text:
            raise StoreError(
                f"{where} is read-only ({exc}); nothing was written: make it writable"
            ) from None
        if "full" in text:
            raise StoreError(
                f"{where}: the disk is full ({exc}); the last page was not written: free "
                "space and run the sync again, it continues where it stopped"
            ) from None
        raise StoreError(f"{where}: {exc}; nothing of this page was written") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{where} is corrupt ({exc}): restore a backup or sync into a new file"
        ) from None
