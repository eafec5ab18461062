"""Bad input and faults of a store: a clear refusal (`StoreError`), the store untouched."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest
from killing import simulated_records

from conftest import API_KEY, BASE_URL, make_gateway
from esploro_async import EsploroClient
from esploro_async.mirror import Mirror, SQLiteStore, StoreError, StoreLockedError
from esploro_async.mirror.export import export_records
from esploro_async.testing import SyntheticInstitution


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def sync_into(path: Path, *, institution: str = "01SIM_INST", assets: int = 250) -> None:
    gateway = make_gateway(institution=SyntheticInstitution(seed=1, researchers=5, assets=assets))
    client = EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport())
    async with client, Mirror(client, SQLiteStore(path), institution=institution) as mirror:
        await mirror.sync("assets")


def _foreign(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices VALUES (1, 9.5)")
    os.chmod(path, 0o600)


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"this is a spreadsheet, not a database\n" * 100)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _newer(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE mirror_meta SET value = '99' WHERE key = 'schema_version'")


@pytest.mark.parametrize(
    ("damage", "message", "existing"),
    [
        (_foreign, "another application", False),
        (_not_sqlite, "not a SQLite database", False),
        (_newer, "newer esploro-async", True),
        (_truncated, "corrupt", True),
    ],
)
async def test_a_store_that_is_not_ours_is_refused_and_left_as_it_is(
    tmp_path: Path, damage: object, message: str, existing: bool
) -> None:
    db = tmp_path / "mirror.sqlite"
    if existing:
        await sync_into(db, assets=1_500)
    damage(db)  # type: ignore[operator]
    before = fingerprint(db)
    with pytest.raises(StoreError, match=message):
        await sync_into(db)
    assert fingerprint(db) == before


async def test_another_institution_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "mirror.sqlite"
    await sync_into(db, institution="01ONE_INST")
    before = fingerprint(db)
    with pytest.raises(StoreError, match=r"another institution \(01ONE_INST\)"):
        await sync_into(db, institution="01TWO_INST")
    assert fingerprint(db) == before


async def test_a_read_only_store_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes read-only files anyway")  # CI runs as root: see the next test
    db = tmp_path / "mirror.sqlite"
    await sync_into(db)
    db.chmod(0o400)
    with pytest.raises(StoreError, match="read-only"):
        await sync_into(db)


async def test_a_read_only_or_full_database_rolls_the_page_back(tmp_path: Path) -> None:
    """SQLite refusing a write (read-only or full) ends the sync on a whole page."""
    db = tmp_path / "mirror.sqlite"
    gateway = make_gateway(institution=SyntheticInstitution(seed=2, researchers=5, assets=900))
    async with EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport()) as client:
        store = SQLiteStore(db)
        async with Mirror(client, store, institution="01SIM_INST") as mirror:
            raw = store._db
            assert raw is not None
            pages = raw.execute("PRAGMA page_count").fetchone()[0]
            raw.execute(f"PRAGMA max_page_count = {pages + 200}")  # a disk that fills up
            with pytest.raises(StoreError, match="disk is full"):
                await mirror.sync("assets")
            state = await mirror.state("assets")
            live, _ = await store.count("assets")
            assert live == state["run"]["checkpoint"]["delivered"] > 0
            raw.execute("PRAGMA query_only = ON")  # a read-only database
            with pytest.raises(StoreError, match="read-only"):
                await mirror.sync("assets")
            raw.execute("PRAGMA query_only = OFF")
            raw.execute("PRAGMA max_page_count = 1073741823")
            await mirror.sync("assets")
        assert dict([item async for item in _texts(db)]) == simulated_records(gateway, "assets")


async def _texts(db: Path):  # type: ignore[no-untyped-def]
    store = SQLiteStore(db)
    await store.open(None, read_only=True)
    try:
        async for item in store.texts("assets"):
            yield item
    finally:
        await store.close()


async def test_two_syncs_of_one_store_never_run_at_once(tmp_path: Path) -> None:
    db = tmp_path / "mirror.sqlite"
    await sync_into(db)
    first = SQLiteStore(db)
    await first.open("01SIM_INST")
    try:
        with pytest.raises(StoreLockedError, match="another sync is running"):
            await SQLiteStore(db).open("01SIM_INST")
    finally:
        await first.close()
    second = SQLiteStore(db)
    await second.open("01SIM_INST")  # released with the first
    await second.close()


async def test_jsonl_export_is_the_stored_records_byte_for_byte(tmp_path: Path) -> None:
    db = tmp_path / "mirror.sqlite"
    await sync_into(db)
    store = SQLiteStore(db)
    await store.open(None, read_only=True)
    try:
        out = tmp_path / "assets.jsonl"
        count = await export_records(store, "assets", "jsonl", out)
        texts = [text async for _, text in store.texts("assets")]
    finally:
        await store.close()
    assert count == 250
    assert out.read_bytes() == "".join(t + "\n" for t in texts).encode("utf-8")
    assert out.stat().st_mode & 0o777 == 0o600
    assert all(isinstance(json.loads(line), dict) for line in out.read_text().splitlines())


# The tables as the first release of the SQLite store created them (UNIQUE, not PRIMARY KEY).
_FIRST_LAYOUT = """
CREATE TABLE mirror_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE mirror_state (kind TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE mirror_records (
    kind TEXT NOT NULL, id TEXT NOT NULL, record TEXT NOT NULL, hash TEXT NOT NULL,
    brief_hash TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, refreshed TEXT NOT NULL,
    listed TEXT, deleted TEXT, UNIQUE (kind, id)
);
CREATE INDEX mirror_records_refreshed ON mirror_records (kind, refreshed) WHERE deleted IS NULL;
INSERT INTO mirror_meta VALUES ('application', 'esploro-async mirror'), ('schema_version', '1'),
    ('institution', '01SIM_INST');
"""


async def test_a_store_of_the_first_layout_keeps_syncing_exactly(tmp_path: Path) -> None:
    db = tmp_path / "mirror.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as raw:
        raw.executescript(_FIRST_LAYOUT)
    os.chmod(db, 0o600)
    institution = SyntheticInstitution(seed=2, researchers=5, assets=400)
    gateway = make_gateway(institution=institution)
    for reconcile in (False, True):
        client = EsploroClient(API_KEY, base_url=BASE_URL, transport=gateway.transport())
        store = SQLiteStore(db)
        async with client, Mirror(client, store, institution="01SIM_INST") as mirror:
            await mirror.sync("assets", reconcile=reconcile)
        if not reconcile:
            institution.churn("a day", assets=(20, 5, 5))
    store = SQLiteStore(db)
    await store.open(None, read_only=True)
    try:
        kept = {rid: text async for rid, text in store.texts("assets")}
    finally:
        await store.close()
    assert kept == simulated_records(gateway, "assets")
