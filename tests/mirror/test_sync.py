"""What a user of `Mirror` relies on: exact records, incremental cost, the server's clock,
researchers' change detection and rotation, faults and the quota, each checked against the
simulator's own records."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from killing import simulated_records

from conftest import API_KEY, BASE_URL, OTHER_KEYS, make_gateway
from esploro_async import EsploroClient, RetryPolicy
from esploro_async.errors import DailyQuotaExhaustedError, InsufficientQuotaError, ServerError
from esploro_async.mirror import Mirror, SQLiteStore, SyncCounts, SyncPlan, _runs
from esploro_async.testing import Fault, SimulatedGateway, SyntheticInstitution


async def stored(path: Path, kind: str) -> dict[str, str]:
    store = SQLiteStore(path)
    await store.open(None, read_only=True)
    try:
        return {rid: text async for rid, text in store.texts(kind)}
    finally:
        await store.close()


def client_for(gateway: SimulatedGateway, key: str = API_KEY, **options: Any) -> EsploroClient:
    return EsploroClient(key, base_url=BASE_URL, transport=gateway.transport(), **options)


async def sync(gateway: SimulatedGateway, path: Path, kind: str, **options: Any) -> Any:
    reconcile = options.pop("reconcile", False)
    async with client_for(gateway) as client, Mirror(client, SQLiteStore(path), **options) as m:
        return await m.sync(kind, reconcile=reconcile)


def list_requests(gateway: SimulatedGateway, path: str) -> int:
    return sum(1 for r in gateway.client_log() if r.path == path and r.accepted)


async def test_records_are_stored_exactly_as_returned_in_private_files(tmp_path: Path) -> None:
    institution = SyntheticInstitution.from_fixtures(
        "/work/shared/fixtures/real/asset-get-single.json", seed=1, assets=300
    )
    gateway = make_gateway(institution=institution)
    db = tmp_path / "mirror.sqlite"
    summary = await sync(gateway, db, "assets")
    assert summary.counts.new == len(institution.assets) == summary.plan.records
    assert await stored(db, "assets") == simulated_records(gateway, "assets")
    for name in ("mirror.sqlite", "mirror.sqlite-wal", "mirror.sqlite-shm"):
        if (tmp_path / name).exists():
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name


async def test_a_night_costs_what_changed_and_unchanged_records_are_not_rewritten(
    tmp_path: Path,
) -> None:
    institution = SyntheticInstitution(seed=4, researchers=50, assets=3_000)
    gateway = make_gateway(institution=institution)
    db = tmp_path / "mirror.sqlite"
    await sync(gateway, db, "assets")
    with sqlite3.connect(db) as raw:
        before = dict(raw.execute("SELECT id, refreshed FROM mirror_records"))
    institution.churn("night", assets=(150, 10, 0))
    gateway.reset_log()
    night = await sync(gateway, db, "assets")
    assert (night.counts.new, night.counts.changed) == (10, 150)
    assert night.plan.mode == "incremental"
    # 160 records: 2 pages, and the probe of the server's clock
    assert len(gateway.client_log()) <= 1.2 * 160 / 100 + 3
    week = await sync(gateway, db, "assets", reconcile=True)
    assert week.counts.unchanged == 3_010
    assert week.counts.new == week.counts.changed == 0
    with sqlite3.connect(db) as raw:
        after = dict(raw.execute("SELECT id, refreshed FROM mirror_records"))
    touched = {rid for rid in after if after[rid] != before.get(rid)}
    assert len(touched) == 160  # the unchanged 2,850 were recognised by hash, not rewritten
    assert await stored(db, "assets") == simulated_records(gateway, "assets")


async def test_the_watermark_is_the_servers_date_and_a_change_during_a_run_comes_next_time(
    tmp_path: Path,
) -> None:
    institution = SyntheticInstitution(seed=5, researchers=20, assets=800)
    # the gateway's clock is years away from the host's, seconds before its midnight
    start = dt.datetime(2031, 5, 6, 23, 59, 58, tzinfo=dt.timezone.utc)
    gateway = make_gateway(institution=institution, start=start)
    db = tmp_path / "mirror.sqlite"
    changed: list[str] = []

    class ChangeDuringTheRun:
        def planned(self, plan: SyncPlan) -> None:
            pass

        def advanced(self, counts: SyncCounts, done: int, total: int) -> None:
            if not changed:  # an edit after the first page, to a record already stored
                rid = institution.assets.ids()[0]
                record = institution.assets.get(rid)
                assert record is not None
                record["title"] = "edited while the mirror ran"
                institution.assets.put(rid, record)
                changed.append(rid)

    await sync(gateway, db, "assets", observer=ChangeDuringTheRun())
    async with client_for(gateway) as client, Mirror(client, SQLiteStore(db)) as mirror:
        assert (await mirror.state("assets"))["watermark"] == "2031-05-06"
    assert '"edited while the mirror ran"' not in (await stored(db, "assets"))[changed[0]]
    night = await sync(gateway, db, "assets")
    assert night.counts.changed == 1
    assert await stored(db, "assets") == simulated_records(gateway, "assets")


@pytest.mark.parametrize(("kind", "size"), [("assets", 1_500), ("researchers", 400)])
async def test_records_read_twice_after_drift_are_stored_and_counted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, size: int
) -> None:
    # The listing remembers only the last 150 ids, so the pages read again after the
    # records moved hand out records listed long before: the store upserts them by id.
    monkeypatch.setattr(_runs, "REMEMBER_IDS", 150)
    institution = SyntheticInstitution(seed=8, researchers=size, assets=size)
    records = institution.assets if kind == "assets" else institution.researchers
    gateway = make_gateway(institution=institution)
    db = tmp_path / "mirror.sqlite"
    moved: list[str] = []

    class InsertInFront:
        def planned(self, plan: SyncPlan) -> None:
            pass

        def advanced(self, counts: SyncCounts, done: int, total: int) -> None:
            if done >= size // 2 and not moved:
                moved.extend(records.insert(0) for _ in range(30))

    first = await sync(gateway, db, kind, observer=InsertInFront(), prefetch=2)
    assert moved
    listed = list_requests(gateway, f"/esploro/v1/{kind}")
    assert listed > 2 * (size + 30) / 99  # the listing was read again
    mirrored = await stored(db, kind)
    assert mirrored == simulated_records(gateway, kind)
    counted = first.counts.new + first.counts.changed + first.counts.unchanged
    assert counted == len(mirrored)  # a record read twice is counted once


def _rename(institution: SyntheticInstitution, rid: str, *, brief: bool) -> None:
    record = institution.researchers.get(rid)
    assert record is not None
    if brief:
        record["last_name"] = "Renamed"
    else:
        record.setdefault("researcher", {})["researcher_keyword"] = [{"value": "new topic"}]
    institution.researchers.put(rid, record)


async def test_researchers_fetch_full_records_for_new_and_changed_briefs_and_rotate(
    tmp_path: Path,
) -> None:
    institution = SyntheticInstitution(seed=6, researchers=120, assets=0)
    gateway = make_gateway(institution=institution)
    db = tmp_path / "mirror.sqlite"
    await sync(gateway, db, "researchers", refresh_days=1000)
    ids = institution.researchers.ids()
    for rid in ids[:5]:
        _rename(institution, rid, brief=True)
    for rid in ids[5:12]:
        _rename(institution, rid, brief=False)
    institution.researchers.insert(17)
    institution.researchers.delete(ids[90])
    gateway.reset_log()
    night = await sync(gateway, db, "researchers", refresh_days=1000)
    fulls = [r for r in gateway.client_log() if r.path.startswith("/esploro/v1/researchers/")]
    # 5 changed briefs + 1 new + 1 refreshed by rotation (120 / 1000 days, rounded up)
    assert len(fulls) == 7
    assert (night.counts.new, night.counts.deleted) == (1, 1)
    assert night.counts.changed >= 5
    mirror = await stored(db, "researchers")
    assert mirror.keys() == simulated_records(gateway, "researchers").keys()
    # a change only the full record shows is caught by the rotation within its window
    for _ in range(3):
        await sync(gateway, db, "researchers", refresh_days=3)
    assert await stored(db, "researchers") == simulated_records(gateway, "researchers")


async def test_a_gateway_fault_mid_page_commits_nothing_of_that_page(tmp_path: Path) -> None:
    institution = SyntheticInstitution(seed=7, researchers=200, assets=0)
    fault = Fault("http_500", endpoint="/esploro/v1/researchers/", requests=range(130, 10**6))
    gateway = make_gateway(institution=institution, faults=[fault])
    db = tmp_path / "mirror.sqlite"
    client = client_for(gateway, retry=RetryPolicy(max_attempts=1))
    async with client, Mirror(client, SQLiteStore(db)) as mirror:
        with pytest.raises(ServerError):
            await mirror.sync("researchers")
        state = await mirror.state("researchers")
    kept = await stored(db, "researchers")
    assert len(kept) == state["run"]["checkpoint"]["delivered"]  # whole pages, nothing more
    assert len(kept) % 100 == 0
    assert len(kept) < 200
    gateway.faults.clear()
    gateway._fault_states.clear()
    await sync(gateway, db, "researchers")
    assert await stored(db, "researchers") == simulated_records(gateway, "researchers")


async def test_the_quota_guard_refuses_or_stops_at_the_reserve_and_resumes_exactly(
    tmp_path: Path,
) -> None:
    institution = SyntheticInstitution(seed=8, researchers=20, assets=2_500)
    gateway = make_gateway(institution=institution, quota_remaining=20)
    db = tmp_path / "mirror.sqlite"
    with pytest.raises(InsufficientQuotaError):
        await sync(gateway, db, "assets")
    assert await stored(db, "assets") == {}
    with pytest.raises(DailyQuotaExhaustedError):
        await sync(gateway, db, "assets", until_reserve=True)
    partial = await stored(db, "assets")
    assert 0 < len(partial) < 2_500
    gateway.quota_remaining = 10**6  # the next day
    gateway.reset_log()
    client = client_for(gateway, OTHER_KEYS[0])
    async with client, Mirror(client, SQLiteStore(db), institution=BASE_URL) as mirror:
        await mirror.sync("assets")
    pages_left = -(-(2_500 - len(partial)) // 99)
    assert list_requests(gateway, "/esploro/v1/assets") <= pages_left + 4
    assert await stored(db, "assets") == simulated_records(gateway, "assets")


async def test_a_dry_run_fetches_one_page_and_writes_nothing(tmp_path: Path) -> None:
    gateway = make_gateway(institution=SyntheticInstitution(seed=9, researchers=10, assets=900))
    db = tmp_path / "mirror.sqlite"
    await sync(gateway, db, "assets")
    before = db.read_bytes()
    gateway.institution.churn("x", assets=(40, 0, 0))
    gateway.reset_log()
    client = client_for(gateway)
    async with client, Mirror(client, SQLiteStore(db), read_only=True) as mirror:
        plan = (await mirror.plan("assets")).plan
    assert (plan.mode, plan.records, plan.requests) == ("incremental", 40, 2)
    assert len(gateway.client_log()) == 1
    assert db.read_bytes() == before  # (SQLite may add its empty -wal and -shm beside it)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in list(tmp_path.iterdir()))  # noqa: ASYNC240


def test_a_mirror_runs_on_trio_too(tmp_path: Path) -> None:
    import anyio

    institution = SyntheticInstitution(seed=10, researchers=60, assets=400)
    gateway = make_gateway(institution=institution)
    db = tmp_path / "mirror.sqlite"

    async def main() -> dict[str, str]:
        await sync(gateway, db, "assets")
        await sync(gateway, db, "researchers")
        return await stored(db, "researchers")

    researchers = anyio.run(main, backend="trio")
    assert researchers == simulated_records(gateway, "researchers")
