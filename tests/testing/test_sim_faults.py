"""Fault injection and timeouts of the simulated gateway (in-process transport)."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    FaultKind,
    Latency,
    SimulatedGateway,
    SyntheticInstitution,
)

BASE = "http://esploro.localhost"
RS = "/esploro/v1/researchers"
AS = "/esploro/v1/assets"


def client_for(gw: SimulatedGateway, timeout: float | None = None) -> httpx.AsyncClient:
    headers = {"Accept": "application/json", "Authorization": f"apikey {SIM_API_KEY}"}
    return httpx.AsyncClient(
        transport=gw.transport(), base_url=BASE, headers=headers, timeout=timeout
    )


def gateway(*faults: Fault, **kw: object) -> SimulatedGateway:
    inst = SyntheticInstitution(seed=2, researchers=20, assets=20)
    return SimulatedGateway(inst, faults=faults, **kw)  # type: ignore[arg-type]


NEW_ASSET = {"records": [{"title": "Posted"}]}


@pytest.mark.looptime
async def test_routing_error_on_nth_request() -> None:
    gw = gateway(Fault(FaultKind.ROUTING_ERROR, endpoint="researchers", requests={2}))
    async with client_for(gw) as c:
        await c.get(f"{AS}/test")  # another endpoint: not counted by the fault
        statuses = [(await c.get(f"{RS}/test")).status_code for _ in range(3)]
        r = gw.log[2]
    assert statuses == [200, 503, 200]
    assert r.error_code == "ROUTING_ERROR"
    assert r.fault == "routing_error"
    assert r.accepted


@pytest.mark.looptime
async def test_http_500_and_502() -> None:
    gw = gateway(
        Fault("http_500", method="GET", requests={1}),
        Fault("http_502", method="GET", requests={2}),
    )
    async with client_for(gw) as c:
        r1 = await c.get(f"{RS}/R00000001")
        r2 = await c.get(f"{RS}/R00000001")
        r3 = await c.get(f"{RS}/R00000001")
    assert r1.status_code == 500
    assert r1.json()["errorList"]["error"][0]["errorCode"] == "INTERNAL_SERVER_ERROR"
    assert r2.status_code == 502
    assert "502 Bad Gateway" in r2.text
    assert r3.status_code == 200


@pytest.mark.looptime
@pytest.mark.parametrize(
    ("processed", "exc", "created"), [(False, httpx.ConnectError, 0), (True, httpx.ReadError, 1)]
)
async def test_reset(processed: bool, exc: type[Exception], created: int) -> None:
    gw = gateway(Fault(FaultKind.RESET, method="POST", processed=processed, max_count=1))
    before = len(gw.institution.assets)
    async with client_for(gw) as c:
        with pytest.raises(exc):
            await c.post(AS, json=NEW_ASSET)
    assert len(gw.institution.assets) == before + created
    rec = gw.log[-1]
    assert rec.status is None
    assert rec.arrived is processed
    assert rec.processed is processed
    assert gw.quota_remaining == 1_000_000 - created


@pytest.mark.looptime
async def test_hang_until_read_timeout() -> None:
    gw = gateway(Fault(FaultKind.HANG, method="POST", requests={1}))
    before = len(gw.institution.assets)
    async with client_for(gw, timeout=5.0) as c:
        t0 = anyio.current_time()
        with pytest.raises(httpx.ReadTimeout):
            await c.post(AS, json=NEW_ASSET)
        assert anyio.current_time() - t0 == pytest.approx(5.0)
        assert (await c.post(AS, json=NEW_ASSET)).status_code == 200
    assert len(gw.institution.assets) == before + 2  # the hung POST was applied


@pytest.mark.looptime
async def test_hang_without_timeout_never_returns() -> None:
    gw = gateway(Fault(FaultKind.HANG, processed=False))
    async with client_for(gw, timeout=None) as c:
        with anyio.move_on_after(3600) as scope:
            await c.get(f"{RS}/test")
    assert scope.cancelled_caught


@pytest.mark.looptime
async def test_slow_response_times_out() -> None:
    gw = gateway(latency=Latency.fixed(1.5))
    async with client_for(gw, timeout=1.0) as c:
        t0 = anyio.current_time()
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"{RS}/test")
        assert anyio.current_time() - t0 == pytest.approx(1.0)
    assert gw.log[0].arrived
    assert gw.log[0].accepted
    gw2 = gateway(latency=Latency.fixed(3.0))
    async with client_for(gw2, timeout=1.0) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"{RS}/test")
    assert not gw2.log[0].arrived
    assert gw2.quota_remaining == 1_000_000


@pytest.mark.looptime
async def test_truncated_and_malformed() -> None:
    gw = gateway(
        Fault(FaultKind.TRUNCATED, requests={1}, truncate_at=0.5),
        Fault(FaultKind.MALFORMED, requests={2}),
    )
    async with client_for(gw) as c:
        good = await c.get(f"{RS}/R00000003")
        r1 = await c.get(f"{RS}/R00000003")  # ordinal 2 for both faults' counters
    gw2 = gateway(Fault(FaultKind.TRUNCATED, requests={1}, truncate_at=0.5))
    async with client_for(gw2) as c:
        cut = await c.get(f"{RS}/R00000003")
    assert good.status_code == 200
    assert cut.status_code == 200
    assert r1.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(good.content)  # the 1st request was the truncated one
    with pytest.raises(json.JSONDecodeError):
        json.loads(r1.content)
    assert cut.content == r1.content.replace(b"=", b":", 1)[: len(cut.content)]
    assert abs(len(cut.content) - len(r1.content) / 2) <= 1


@pytest.mark.looptime
async def test_html_401_wrong_host() -> None:
    gw = gateway(Fault(FaultKind.HTML_401))
    async with client_for(gw) as c:
        r = await c.get(f"{RS}/test")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert "HTTP Status 401 – Unauthorized" in r.text
    assert "x-exl-api-remaining" not in r.headers
    assert gw.quota_remaining == 1_000_000


@pytest.mark.looptime
async def test_probability_and_max_count_are_seeded() -> None:
    async def run(seed: int, fault: Fault) -> list[int]:
        gw = gateway(fault, seed=seed, rate_limit=10_000)
        async with client_for(gw) as c:
            return [(await c.get(f"{RS}/test")).status_code for _ in range(200)]

    a = await run(5, Fault(FaultKind.HTTP_500, probability=0.25))
    b = await run(5, Fault(FaultKind.HTTP_500, probability=0.25))
    assert a == b
    assert 25 <= a.count(500) <= 75
    c = await run(5, Fault(FaultKind.HTTP_500, max_count=3))
    assert c[:3] == [500, 500, 500]
    assert c.count(500) == 3


def test_latency_models() -> None:
    import random

    rng = random.Random(0)
    assert Latency.fixed(0.3).sample(rng) == 0.3
    assert all(0.2 <= Latency.uniform(0.2, 0.8).sample(rng) <= 0.8 for _ in range(100))
    values = sorted(Latency.lognormal(0.3, 0.5).sample(rng) for _ in range(2001))
    assert 0.25 < values[1000] < 0.35
    assert Latency.parse("0.2:0.8") == Latency.uniform(0.2, 0.8)
    assert Latency.parse("ln:0.3:0.5") == Latency.lognormal(0.3, 0.5)
