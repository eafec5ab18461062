"""What the SQL stores share: the meta checks, the state's JSON, and database errors as
`StoreError`."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

from esploro_async.mirror.store import APPLICATION, SCHEMA_VERSION, StoreError

__all__ = ["check_meta", "dump_state", "load_state", "refuse_write_error"]


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
