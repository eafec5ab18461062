"""Hostile fault kinds of the simulated gateway, seen raw and through the client."""

from __future__ import annotations

import gzip
import json

import anyio
import httpx
import pytest

from esploro_async import EsploroClient
from esploro_async.errors import (
    RateLimitError,
    RequestTimeoutError,
    ResponseFormatError,
)
from esploro_async.retry import RetryPolicy
from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    FaultKind,
    SimulatedGateway,
    SyntheticInstitution,
)
from esploro_async.testing.faults import ABSURD_HEADERS

BASE = "http://esploro.localhost"
RS = "/esploro/v1/researchers"
AS = "/esploro/v1/assets"
MiB = 1 << 20


def gateway(*faults: Fault, **kw: object) -> SimulatedGateway:
    inst = SyntheticInstitution(seed=2, researchers=20, assets=20)
    return SimulatedGateway(inst, faults=faults, **kw)  # type: ignore[arg-type]


def raw_client(gw: SimulatedGateway, timeout: float | None = None) -> httpx.AsyncClient:
    headers = {"Accept": "application/json", "Authorization": f"apikey {SIM_API_KEY}"}
    return httpx.AsyncClient(
        transport=gw.transport(), base_url=BASE, headers=headers, timeout=timeout
    )


def client(gw: SimulatedGateway, **kwargs: object) -> EsploroClient:
    return EsploroClient(SIM_API_KEY, base_url=BASE, transport=gw.transport(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.looptime
async def test_html_200_is_a_page_nothing_processed_and_a_get_retries_past_it() -> None:
    gw = gateway(Fault(FaultKind.HTML_200, requests={1}))
    async with raw_client(gw) as c:
        r = await c.get(f"{RS}/test")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "x-exl-api-remaining" not in r.headers
    assert not gw.log[0].accepted
    assert not gw.log[0].processed
    gw = gateway(Fault(FaultKind.HTML_200, requests={1}))
    async with client(gw) as c:
        response = await c.request("GET", "researchers/test")
    assert response.attempts == 2


@pytest.mark.looptime
async def test_html_200_fails_a_post_once() -> None:
    gw = gateway(Fault(FaultKind.HTML_200, method="POST"))
    async with client(gw) as c:
        with pytest.raises(ResponseFormatError, match="HTML"):
            await c.request("POST", "assets", json={"records": [{"title": "x"}]})
    assert len(gw.client_log()) == 1


@pytest.mark.looptime
async def test_huge_body_is_the_real_answer_padded_and_the_client_stops_at_its_limit() -> None:
    gw = gateway(Fault(FaultKind.HUGE_BODY, body_size=3 * MiB, max_count=1))
    async with raw_client(gw) as c:
        plain = gateway()
        async with raw_client(plain) as p:
            expected = (await p.get(f"{RS}/R00000001")).json()
        r = await c.get(f"{RS}/R00000001")
    assert "content-length" not in r.headers
    assert len(r.content) == 3 * MiB
    assert r.json() == expected
    gw = gateway(Fault(FaultKind.HUGE_BODY))  # 100 MB
    async with client(gw, retry=RetryPolicy.none()) as c:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await c.request("GET", "researchers/R00000001")
    assert gw.log[0].processed


@pytest.mark.looptime
async def test_gzip_bomb_inflates_to_its_size_and_the_client_refuses_it() -> None:
    gw = gateway(Fault(FaultKind.GZIP_BOMB, body_size=5 * MiB, max_count=1))
    async with raw_client(gw) as raw, raw.stream("GET", f"{RS}/R00000001") as r:
        wire = b"".join([chunk async for chunk in r.aiter_raw()])
    assert r.headers["content-encoding"] == "gzip"
    assert len(wire) < 10_000
    inflated = gzip.decompress(wire)  # checks the CRC and the length
    assert len(inflated) == 5 * MiB
    assert json.loads(inflated)["primary_id"] == "R00000001"
    gw = gateway(Fault(FaultKind.GZIP_BOMB))  # 1 GiB
    async with client(gw, retry=RetryPolicy(max_attempts=2)) as c:
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            await c.request("GET", "researchers/R00000001")
    assert len(gw.client_log()) == 2  # a GET is retried once, then fails


@pytest.mark.looptime
async def test_deep_json_is_refused_by_the_client() -> None:
    gw = gateway(Fault(FaultKind.DEEP_JSON, max_count=1))
    async with raw_client(gw) as c:
        r = await c.get(f"{RS}/test")
    assert r.content == b"[" * 100_000 + b"]" * 100_000
    gw = gateway(Fault(FaultKind.DEEP_JSON, depth=1_000, requests={1}))
    async with client(gw) as c:
        response = await c.request("GET", "researchers/R00000001")
    assert response.attempts == 2  # a GET: retried past the unreadable body


@pytest.mark.looptime
async def test_absurd_headers_are_drawn_per_request_and_the_client_ignores_them() -> None:
    gw = gateway(Fault(FaultKind.ABSURD_HEADERS), seed=3)
    seen: dict[str, set[str]] = {name: set() for name in ABSURD_HEADERS}
    async with raw_client(gw) as c:
        for _ in range(30):
            r = await c.get(f"{RS}/test")
            for name in ABSURD_HEADERS:
                seen[name].add(r.headers[name])
    for name, values in ABSURD_HEADERS.items():
        assert seen[name] <= set(values)
        assert len(seen[name]) > 1
    async with client(gw) as c:
        responses = [await c.request("GET", "researchers/test") for _ in range(20)]
    assert all(r.status_code == 200 and r.quota_remaining is None for r in responses)


@pytest.mark.looptime
async def test_absurd_retry_after_on_the_gateways_429_stalls_no_one() -> None:
    gw = gateway(Fault(FaultKind.ABSURD_HEADERS, headers={"Retry-After": "1e6"}), rate_limit=1)
    async with client(gw, retry=RetryPolicy(max_attempts=1)) as c:
        with anyio.fail_after(30):  # today: the second 429 pauses everyone for 1e6 s
            first = await c.request("GET", "researchers/test")
            with pytest.raises(RateLimitError):
                await c.request("GET", "researchers/test", lane="batch")
            await anyio.sleep(1.0)
            third = await c.request("GET", "researchers/test")
    assert first.status_code == third.status_code == 200


@pytest.mark.looptime
async def test_trickle_times_out_within_the_clients_timeout() -> None:
    gw = gateway(Fault(FaultKind.TRICKLE, requests={1}, trickle_interval=0.5))
    async with raw_client(gw, timeout=5.0) as c:
        t0 = anyio.current_time()
        r = await c.get(f"{RS}/test")  # httpx: each read is quick, so no timeout
        assert anyio.current_time() - t0 == pytest.approx(0.5 * len(r.content), abs=0.01)
    gw = gateway(Fault(FaultKind.TRICKLE, requests={1}, trickle_interval=0.5))
    async with client(gw, timeout=5.0, retry=RetryPolicy.none()) as c:
        t0 = anyio.current_time()
        with pytest.raises(RequestTimeoutError):
            await c.request("GET", "researchers/test")
        assert anyio.current_time() - t0 == pytest.approx(5.0, abs=0.01)
    assert gw.log[0].processed


async def test_streamed_faults_travel_chunked_over_the_loopback_server() -> None:
    gw = gateway(
        Fault(FaultKind.GZIP_BOMB, body_size=2 * MiB, requests={1}),
        Fault(FaultKind.HUGE_BODY, body_size=MiB, requests={2}),
    )
    headers = {"Accept": "application/json", "Authorization": f"apikey {SIM_API_KEY}"}
    async with (
        gw.serve() as server,
        httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as c,
    ):
        bomb = await c.get(f"{RS}/R00000001")
        huge = await c.get(f"{RS}/R00000001")
        plain = await c.get(f"{RS}/R00000001")
    assert bomb.headers["transfer-encoding"] == "chunked"
    assert len(bomb.content) == 2 * MiB
    assert len(huge.content) == MiB
    assert bomb.json() == huge.json() == plain.json()


@pytest.mark.looptime
async def test_a_trickle_slower_than_the_read_timeout_is_a_read_timeout() -> None:
    gw = gateway(Fault(FaultKind.TRICKLE, trickle_interval=2.0))
    async with raw_client(gw, timeout=1.0) as c:
        t0 = anyio.current_time()
        with pytest.raises(httpx.ReadTimeout):
            await c.get(f"{RS}/test")
        assert anyio.current_time() - t0 == pytest.approx(1.0, abs=0.01)
