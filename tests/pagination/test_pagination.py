"""Concurrent offset streams against the simulated gateway, in virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import anyio
import httpx
import pytest

from esploro_async import (
    DailyQuotaExhaustedError,
    EsploroClient,
    InsufficientQuotaError,
    RetryPolicy,
    WrongHostError,
)
from esploro_async.models import Record
from esploro_async.pagination import Checkpoint, Drift
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)
from esploro_async.testing.institution import RecordStore

pytestmark = pytest.mark.looptime

BASE_URL = "http://esploro.localhost"


def gateway(researchers: int = 1000, assets: int = 0, **kwargs: object) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=11, researchers=researchers, assets=assets),
        **kwargs,  # type: ignore[arg-type]
    )


async def client_for(gw: SimulatedGateway, **kwargs: object) -> EsploroClient:
    return EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def closing() -> AsyncIterator[list[EsploroClient]]:
    clients: list[EsploroClient] = []
    yield clients
    for client in clients:
        await client.aclose()


async def test_every_record_once_in_order_under_reordering_latency(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(3456, latency=Latency.uniform(0.05, 1.5))
    client = await client_for(gw)
    closing.append(client)
    stream = client.researchers.list()
    got = [r.primary_id async for r in stream]
    assert got == gw.institution.researchers.ids()
    assert stream.checkpoint.offset == 3456
    assert stream.checkpoint.delivered == 3456
    # 35 pages and no request past the end
    assert gw.counts_by_status() == {200: 35}
    assert gw.max_in_window() <= 25  # 0.7 s of one-way jitter: beyond the margin, still safe
    assert all(r.view == "brief" for r in [r async for r in client.researchers.list()][:3])


async def test_unordered_pages_cover_everything_once(closing: list[EsploroClient]) -> None:
    gw = gateway(2050, latency=Latency.uniform(0.05, 1.0))
    client = await client_for(gw)
    closing.append(client)
    stream = client.researchers.list(ordered=False)
    pages = [page async for page in stream.pages()]
    offsets = [page.offset for page in pages]
    assert offsets != sorted(offsets), "with this latency pages complete out of order"
    ids = [r.primary_id or "" for page in pages for r in page.records]
    assert sorted(ids) == sorted(gw.institution.researchers.ids())
    assert stream.checkpoint.offset == 2050


async def test_records_expose_the_record_exactly_as_received(closing: list[EsploroClient]) -> None:
    gw = gateway(120)
    client = await client_for(gw)
    closing.append(client)
    async for researcher in client.researchers.list(page_size=50):
        raw = (await client.request("GET", "researchers", params={"limit": 1})).json()["user"][0]
        assert researcher.to_dict() == raw
        break


async def test_assets_need_a_filter_and_page_with_total_record_count_camel_case(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(10, assets=730)
    client = await client_for(gw)
    closing.append(client)
    with pytest.raises(ValueError, match="update_date_from"):
        client.assets.list()
    stream = client.assets.list(update_date_from="1900-01-01")
    ids = [a.asset_id async for a in stream]
    assert len(ids) == len(set(ids)) == 730
    assert stream.checkpoint.total == 730
    assert stream.checkpoint.params == (("update_date_from", "1900-01-01"),)


def delete_50_and_insert_20(store: RecordStore) -> tuple[list[str], list[str]]:
    """Delete the records at positions 10-59 and insert 20 at position 5; their ids."""
    deleted: list[str] = []
    for rid in store.ids()[10:60]:
        store.delete(rid)
        deleted.append(rid)
    return deleted, [store.insert(5) for _ in range(20)]


async def test_deletions_and_insertions_mid_harvest_lose_and_repeat_nothing(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(3000, latency=Latency.uniform(0.1, 0.3))
    client = await client_for(gw)
    closing.append(client)
    store = gw.institution.researchers
    before = set(store.ids())
    drifts: list[Drift] = []
    stream = client.researchers.list(on_drift=drifts.append)
    got: list[str] = []
    deleted: list[str] = []
    inserted: list[str] = []
    async for researcher in stream:
        got.append(researcher.primary_id or "")
        if len(got) == 1200:  # the harvest is past the first pages: change them under it
            deleted, inserted = delete_50_and_insert_20(store)
    assert len(got) == len(set(got)), "no record handed out twice"
    survivors = before - set(deleted)
    assert survivors <= set(got), "no record that existed throughout was lost"
    assert set(inserted) <= set(got), "records created mid-harvest were re-read"
    kinds = {d.kind for d in drifts}
    assert "total_changed" in kinds
    assert "reread" in kinds
    assert stream.drifts == drifts


async def test_breaking_out_cancels_pages_in_flight(closing: list[EsploroClient]) -> None:
    gw = gateway(5000, latency=Latency.fixed(0.5))
    client = await client_for(gw)
    closing.append(client)
    async for _ in client.researchers.list():
        break
    await asyncio.sleep(0.001)  # the pages sent with the first one are cancelled by now
    assert asyncio.all_tasks() == {asyncio.current_task()}
    sent = len(gw.log)
    await anyio.sleep(5)
    assert len(gw.log) == sent, "nothing is requested after the loop was left"
    assert client.governance.snapshot().in_flight == 0


async def test_cancelling_the_consumer_leaves_no_task(closing: list[EsploroClient]) -> None:
    gw = gateway(5000, latency=Latency.fixed(0.5))
    client = await client_for(gw)
    closing.append(client)
    count = 0

    async def consume() -> None:
        nonlocal count
        async for _ in client.researchers.list():
            count += 1

    with anyio.move_on_after(2.0):
        await consume()
    assert 0 < count < 5000
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_an_error_on_one_page_cancels_the_rest_and_surfaces(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(3000, faults=[Fault("html_401", endpoint="researchers", requests={4})])
    client = await client_for(gw, retry=RetryPolicy.none())
    closing.append(client)
    got = 0
    with pytest.raises(WrongHostError):
        async for _ in client.researchers.list():
            got += 1
    assert got < 3000
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert client.governance.snapshot().in_flight == 0


async def test_a_slow_consumer_applies_back_pressure(closing: list[EsploroClient]) -> None:
    gw = gateway(5000, latency=Latency.fixed(0.2))
    client = await client_for(gw)
    closing.append(client)
    async for _ in client.researchers.list(prefetch=4):
        await anyio.sleep(60)  # the consumer stalls on the first record
        break
    assert len(gw.log) <= 1 + 4


async def test_estimate_and_refusal_when_the_harvest_cannot_finish(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(2000, daily_quota=15)
    client = await client_for(gw, daily_reserve=2)
    closing.append(client)
    stream = client.researchers.list()
    estimate = await stream.estimate()
    assert estimate.total_records == 2000
    assert estimate.requests_needed == 20  # 1,900 records, 99 new ones a page
    assert estimate.quota_remaining == 14
    assert estimate.daily_reserve == 2
    assert estimate.fits is False
    with pytest.raises(InsufficientQuotaError) as refused:
        async for _ in stream:
            pass
    assert refused.value.needed == 20
    assert len(gw.log) == 1, "only the first page was fetched"


async def test_stopped_at_the_daily_quota_resumes_next_day_exactly(
    closing: list[EsploroClient],
) -> None:
    start = datetime(2026, 11, 28, 23, 0, tzinfo=timezone.utc)
    gw = gateway(
        2000, quota_remaining=9, daily_quota=1000, start=start, latency=Latency.uniform(0.1, 0.6)
    )
    client = await client_for(gw)
    closing.append(client)
    await client.request("GET", "researchers", params={"limit": 1})  # the quota is known: 8
    stream = client.researchers.list(on_insufficient_quota="run")
    first_day: list[str] = []
    with pytest.raises(DailyQuotaExhaustedError):
        async for researcher in stream:
            first_day.append(researcher.primary_id or "")
    saved = stream.checkpoint.to_json()
    assert len(first_day) == stream.checkpoint.offset == 100 + 7 * 99

    await anyio.sleep(3600)  # the quota resets at midnight GMT
    resumed = client.researchers.list(resume_from=Checkpoint.from_json(saved))
    second_day = [r.primary_id async for r in resumed]
    assert first_day + second_day == gw.institution.researchers.ids()
    assert resumed.checkpoint.delivered == 2000
    assert resumed.drifts == []


async def test_resume_after_a_break_continues_with_the_next_record(
    closing: list[EsploroClient],
) -> None:
    gw = gateway(1000, latency=Latency.uniform(0.1, 0.9))
    client = await client_for(gw)
    closing.append(client)
    stream = client.researchers.list()
    got: list[str] = []
    async for researcher in stream:
        got.append(researcher.primary_id or "")
        if len(got) == 437:
            break
    checkpoint = stream.checkpoint
    assert (checkpoint.offset, checkpoint.last_id) == (437, got[-1])
    rest = [r.primary_id async for r in client.researchers.list(resume_from=checkpoint)]
    assert got + rest == gw.institution.researchers.ids()


async def test_a_checkpoint_of_another_query_is_refused(closing: list[EsploroClient]) -> None:
    gw = gateway(10, assets=10)
    client = await client_for(gw)
    closing.append(client)
    checkpoint = client.researchers.list().checkpoint
    with pytest.raises(ValueError, match="another harvest"):
        client.assets.list(update_date_from="2000-01-01", resume_from=checkpoint)
    with pytest.raises(ValueError, match="page_size"):
        client.researchers.list(page_size=101)
    with pytest.raises(ValueError, match="checkpoint"):
        Checkpoint.from_json('{"version": 1}')


async def test_a_stream_is_iterated_once(closing: list[EsploroClient]) -> None:
    gw = gateway(10)
    client = await client_for(gw)
    closing.append(client)
    stream = client.researchers.list()
    assert len([r async for r in stream]) == 10
    with pytest.raises(RuntimeError, match="iterated once"):
        async for _ in stream:
            pass


async def test_generic_paginate_missing_list_key_and_no_total() -> None:
    pages = {
        0: {"member": [{"id": "a"}, {"id": "b"}]},  # no total: paged until a short page
        2: {"member": {"id": "c"}},  # a single object instead of a list
    }

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return httpx.Response(200, json=pages.get(offset, {}))

    async with EsploroClient(
        "k", base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        stream = client.paginate("researchconf/sets/1/members", list_key="member", page_size=2)
        got = [record async for record in stream]
    assert all(isinstance(r, Record) for r in got)
    assert [r.to_dict() for r in got] == [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    assert stream.checkpoint.offset == 3


async def test_analytics_report_rows_by_heading(closing: list[EsploroClient]) -> None:
    gw = gateway(10)
    client = await client_for(gw)
    closing.append(client)
    path = "/shared/Sim University/Reports/Researchers"
    report = client.analytics.report(path, limit=25)
    rows = [row async for row in report]
    assert report.columns is not None
    assert "Column0" not in report.columns, "the spurious Column0 is dropped by position"
    assert all("0" not in row and "Column0" not in row for row in rows), "from the rows too"
    assert all(row.keys() == set(report.columns.values()) for row in rows)
    assert rows[0].keys() >= {"ORCID", "Primary Identifier", "Researcher Name"}
    assert report.pages_read == -(-len(rows) // 25)
    assert len({row["Primary Identifier"] for row in rows}) == len(rows)
