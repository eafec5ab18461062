"""Governance of the simulated gateway: per-second window, quota, keys, foreign load."""

from __future__ import annotations

import datetime as dt
import email.utils

import anyio
import httpx
import pytest

from esploro_async.testing import (
    SIM_API_KEY,
    SIM_READ_ONLY_KEY,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

BASE = "http://esploro.localhost"
SMALL = SyntheticInstitution(seed=1, researchers=30, assets=30)


def client_for(
    gw: SimulatedGateway, key: str | None = SIM_API_KEY, accept: str = "application/json"
) -> httpx.AsyncClient:
    headers = {"Accept": accept}
    if key is not None:
        headers["Authorization"] = f"apikey {key}"
    return httpx.AsyncClient(transport=gw.transport(), base_url=BASE, headers=headers)


def code_of(r: httpx.Response) -> str:
    return r.text.split("<errorCode>")[1].split("</errorCode>")[0]


async def fill_one_window(c: httpx.AsyncClient) -> float:
    """25 accepted requests at t0, t0+0.04, ..., t0+0.96; returns t0."""
    t0 = anyio.current_time()
    for i in range(25):
        r = await c.get("/esploro/v1/researchers/test")
        assert r.status_code == 200, i
        if i < 24:
            await anyio.sleep(0.04)
    return t0


def assert_per_second_refusal(r: httpx.Response) -> None:
    """The real gateway's 429 PER_SECOND_THRESHOLD: its status, content type and XML body."""
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/xml;charset=UTF-8"
    assert code_of(r) == "PER_SECOND_THRESHOLD"
    assert "<errorMessage>HTTP requests are more than allowed per second<" in r.text
    assert 'xmlns="http://com/exlibris/urm/general/xmlbeans"' in r.text


@pytest.mark.looptime
async def test_window_edges_exact() -> None:
    gw = SimulatedGateway(SMALL, rate_limit=25, window=1.0)
    async with client_for(gw) as c:
        t0 = await fill_one_window(c)
        await anyio.sleep(t0 + 0.999999 - anyio.current_time())
        r = await c.get("/esploro/v1/researchers/test")  # 26th inside [t0, t0+1): refused
        assert_per_second_refusal(r)
        await anyio.sleep(t0 + 1.0 - anyio.current_time())
        r = await c.get("/esploro/v1/researchers/test")  # t0 left the window (t-1, t]
        assert r.status_code == 200
        r = await c.get("/esploro/v1/researchers/test")  # 24 + 1 in window again: refused
        assert r.status_code == 429
        await anyio.sleep(0.04)  # t0+1.04: the t0+0.04 arrival has left
        r = await c.get("/esploro/v1/researchers/test")
        assert r.status_code == 200
    arrivals = [rec.arrival - t0 for rec in gw.log]
    assert arrivals[25] == pytest.approx(0.999999, abs=1e-9)
    assert arrivals[26] == pytest.approx(1.0, abs=1e-9)
    assert gw.max_in_window(1.0, accepted_only=True) == 25
    assert gw.max_in_window(1.0) == 27  # and both refused ones: what the client caused
    assert gw.counts_by_status() == {200: 27, 429: 2}
    assert gw.counts_by_error_code() == {"PER_SECOND_THRESHOLD": 2}


@pytest.mark.looptime
@pytest.mark.parametrize(("count_rejected", "expected"), [(False, [200, 200]), (True, [200, 429])])
async def test_count_rejected(count_rejected: bool, expected: list[int]) -> None:
    gw = SimulatedGateway(SMALL, rate_limit=2, count_rejected=count_rejected)
    async with client_for(gw) as c:
        got = [(await c.get("/esploro/v1/assets/test")).status_code for _ in range(3)]
        assert got == [200, 200, 429]  # t=0
        await anyio.sleep(0.5)
        assert (await c.get("/esploro/v1/assets/test")).status_code == 429  # t=0.5
        await anyio.sleep(0.5)
        # t=1.0: the two accepted at t=0 have left; the refusal at 0.5 still counts if
        # count_rejected, leaving room for only one request.
        got = [(await c.get("/esploro/v1/assets/test")).status_code for _ in range(2)]
        assert got == expected


@pytest.mark.looptime
async def test_quota_countdown_zero_and_midnight_reset() -> None:
    start = dt.datetime(2026, 11, 28, 23, 59, 59, tzinfo=dt.timezone.utc)
    gw = SimulatedGateway(SMALL, daily_quota=3, quota_remaining=2, start=start)
    async with client_for(gw) as c:
        r1 = await c.get("/esploro/v1/organizations/test")
        r2 = await c.get("/esploro/v1/organizations/test")
        r3 = await c.get("/esploro/v1/organizations/test")
        assert [r.status_code for r in (r1, r2, r3)] == [200, 200, 429]
        assert [r.headers["x-exl-api-remaining"] for r in (r1, r2, r3)] == ["1", "0", "0"]
        assert code_of(r3) == "DAILY_THRESHOLD"
        assert r1.headers["date"] == "Sat, 28 Nov 2026 23:59:59 GMT"
        await anyio.sleep(1.0)  # simulated midnight GMT
        r4 = await c.get("/esploro/v1/organizations/test")
        assert r4.status_code == 200
        assert r4.headers["x-exl-api-remaining"] == "2"
        assert r4.headers["date"] == "Sun, 29 Nov 2026 00:00:00 GMT"
    assert gw.quota_remaining == 2


@pytest.mark.looptime
async def test_quota_counts_rejected_option() -> None:
    gw = SimulatedGateway(SMALL, rate_limit=1, daily_quota=10, quota_counts_rejected=True)
    async with client_for(gw) as c:
        statuses = [(await c.get("/esploro/v1/researchers/test")).status_code for _ in range(3)]
    assert statuses == [200, 429, 429]
    assert gw.quota_remaining == 7


def assert_no_key_in_the_log(gw: SimulatedGateway) -> None:
    """The log keeps neither the ``apikey`` parameter nor the key (only a fingerprint)."""
    assert all("apikey" not in rec.query for rec in gw.log)
    assert all(SIM_API_KEY not in repr(rec) for rec in gw.log)


@pytest.mark.looptime
async def test_no_key_is_refused_like_the_real_gateway_a_key_in_the_query_works() -> None:
    gw = SimulatedGateway(SMALL)
    async with client_for(gw, key=None) as c:
        r = await c.get("/esploro/v1/researchers")
        assert r.status_code == 400
        assert code_of(r) == "UNAUTHORIZED"
        assert "API-key not defined or not configured to allow this API." in r.text
        assert r.headers["content-type"].startswith("application/xml")
        assert "x-exl-api-remaining" in r.headers
        r = await c.get("/esploro/v1/researchers", params={"apikey": SIM_API_KEY, "limit": 1})
        assert r.status_code == 200
    assert_no_key_in_the_log(gw)
    assert gw.log[1].query == "limit=1"
    assert gw.log[1].key_fingerprint is not None
    # unauthorised calls are not counted against the quota
    assert gw.quota_remaining == 1_000_000 - 1


@pytest.mark.looptime
async def test_an_unknown_key_is_refused_and_not_counted() -> None:
    gw = SimulatedGateway(SMALL)
    async with client_for(gw, key="l8xxnot-a-real-key") as c:
        assert (await c.get("/esploro/v1/researchers")).status_code == 400
    assert gw.quota_remaining == 1_000_000


@pytest.mark.looptime
async def test_a_read_only_key_reads_but_may_not_write() -> None:
    gw = SimulatedGateway(SMALL)
    async with client_for(gw, key=SIM_READ_ONLY_KEY) as c:
        assert (await c.get("/esploro/v1/researchers/test")).status_code == 200
        r = await c.post("/esploro/v1/researchers/test")
        assert r.status_code == 400
        assert code_of(r) == "UNAUTHORIZED"
        r = await c.put("/esploro/v1/researchers/R00000001", json={"primary_id": "R00000001"})
        assert r.status_code == 400
    assert_no_key_in_the_log(gw)
    assert gw.quota_remaining == 1_000_000 - 1  # the refused writes are not counted


@pytest.mark.looptime
async def test_gateway_headers() -> None:
    gw = SimulatedGateway(SMALL)
    async with client_for(gw) as c:
        r = await c.get("/esploro/v1/researchers", params={"limit": 1})
    assert r.headers["server"] == "Layer7-API-Gateway"
    assert len(r.headers["x-request-id"]) == 10
    assert r.headers["x-exl-api-remaining"] == "999999"
    assert email.utils.parsedate_to_datetime(r.headers["date"]) == gw.start.replace(microsecond=0)


@pytest.mark.looptime
async def test_foreign_load_shares_the_window() -> None:
    gw = SimulatedGateway(SMALL, rate_limit=25, foreign_rate=40.0, seed=3)
    async with client_for(gw) as c:
        statuses = []
        for _ in range(100):
            statuses.append((await c.get("/esploro/v1/researchers/test")).status_code)
            await anyio.sleep(0.05)  # we alone would send 20/s: fine without foreign load
    foreign = [r for r in gw.log if r.lane == "foreign"]
    assert len(foreign) > 100
    assert 429 in statuses
    # the server never accepts more than its limit
    assert gw.max_in_window(1.0, accepted_only=True) <= 25
    assert gw.max_in_window(1.0, accepted_only=True, lane="client") < 25
    accepted = sum(1 for r in gw.log if r.accepted)
    assert gw.quota_remaining == 1_000_000 - accepted


@pytest.mark.looptime
async def test_latency_split_and_timing() -> None:
    gw = SimulatedGateway(
        SMALL,
        latency=Latency.fixed(0.4),
        latency_by_endpoint={"researchanalytics": Latency.fixed(2.0)},
    )
    async with client_for(gw) as c:
        t0 = anyio.current_time()
        await c.get("/esploro/v1/researchers/test")
        assert anyio.current_time() - t0 == pytest.approx(0.4)
        assert gw.log[0].arrival - t0 == pytest.approx(0.2)
        t1 = anyio.current_time()
        await c.get("/esploro/v1/researchanalytics/test")
        assert anyio.current_time() - t1 == pytest.approx(2.0)


def test_max_in_window_half_open() -> None:
    gw = SimulatedGateway(SMALL)
    from esploro_async.testing import RequestRecord

    def rec(t: float) -> RequestRecord:
        return RequestRecord(1, t, gw.start, "GET", "/x", "", 200, None, True)

    gw.log.extend([rec(0.0), rec(0.5), rec(1.0), rec(1.2)])
    assert gw.max_in_window(1.0) == 3  # [0.5, 1.5)
    gw.reset_log()
    gw.log.extend([rec(0.0), rec(1.0)])
    assert gw.max_in_window(1.0) == 1
