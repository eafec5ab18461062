"""The simulator's options for the core tests and the benchmarks: scheduled foreign arrivals,
``Retry-After`` on injected errors, and the gateway served by a child process."""

from __future__ import annotations

import multiprocessing

import anyio
import httpx
import pytest

from esploro_async.testing import (
    SIM_API_KEY,
    Fault,
    FaultKind,
    GatewayLog,
    GatewayProcess,
    SimulatedGateway,
    SyntheticInstitution,
    max_in_window,
)

BASE = "http://esploro.localhost"
HEADERS = {"Authorization": f"apikey {SIM_API_KEY}", "Accept": "application/json"}


def client_for(gw: SimulatedGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=gw.transport(), base_url=BASE, headers=HEADERS)


@pytest.mark.looptime
async def test_scheduled_foreign_arrivals_fill_the_window_until_they_leave_it() -> None:
    gw = SimulatedGateway(SyntheticInstitution(seed=1, researchers=5, assets=5))
    async with client_for(gw) as client:
        now = anyio.current_time()
        gw.add_foreign_arrivals([now + 0.5, *[now] * 25])
        assert (await client.get("/esploro/v1/researchers/test")).status_code == 429
        await anyio.sleep(0.6)  # the window is still full (the one at now + 0.5 was refused)
        assert (await client.get("/esploro/v1/researchers/test")).status_code == 429
        await anyio.sleep(0.5)  # the 25 left the window at now + 1.0
        assert (await client.get("/esploro/v1/researchers/test")).status_code == 200
    foreign = [r for r in gw.log if r.lane == "foreign"]
    assert [r.arrival for r in foreign] == [now] * 25 + [now + 0.5]
    assert [r.accepted for r in foreign] == [True] * 25 + [False]
    assert [r.status for r in gw.client_log()] == [429, 429, 200]


@pytest.mark.looptime
async def test_foreign_arrivals_given_to_the_constructor_combine_with_the_poisson_ones() -> None:
    start = anyio.current_time()
    scheduled = [start + 1.5, start + 0.25]
    gw = SimulatedGateway(foreign_rate=10.0, foreign_arrivals=scheduled, seed=2)
    async with client_for(gw) as client:
        await client.get("/esploro/v1/researchers/test")
        await anyio.sleep(3.0)
        await client.get("/esploro/v1/researchers/test")
    foreign = [r.arrival for r in gw.log if r.lane == "foreign"]
    assert foreign == sorted(foreign)  # decided in arrival order, both sources merged
    assert set(scheduled) <= set(foreign)
    assert len(foreign) - 2 > 10  # about 30 Poisson arrivals in 3 s


@pytest.mark.looptime
async def test_retry_after_on_an_injected_error() -> None:
    gw = SimulatedGateway(
        faults=[
            Fault(FaultKind.ROUTING_ERROR, retry_after=3600, requests={1}),
            Fault(FaultKind.HTTP_500, retry_after=2.5, requests={2}),
        ]
    )
    async with client_for(gw) as client:
        first = await client.get("/esploro/v1/researchers/test")
        second = await client.get("/esploro/v1/researchers/test")
        third = await client.get("/esploro/v1/researchers/test")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "3600")
    assert (second.status_code, second.headers["Retry-After"]) == (500, "2.5")
    assert third.status_code == 200
    assert "Retry-After" not in third.headers


def test_max_in_window_is_half_open() -> None:
    assert max_in_window([0.0, 0.5, 1.0]) == 2  # 0.0 has left the window at 1.0
    assert max_in_window([0.0, 0.5, 0.999999]) == 3
    assert max_in_window([]) == 0


def assert_the_log_holds(log: GatewayLog, statuses: list[int]) -> None:
    """The child's log: one arrival per status, accepted and counted as they were."""
    assert [r.status for r in log.arrivals] == statuses
    assert log.count_status(200) == statuses.count(200) >= 1
    assert len(log.accepted_times) == statuses.count(200)
    assert len(log.counted_times) == len(statuses)  # the refused ones arrived too
    assert log.cpu_seconds > 0


def test_a_gateway_served_by_a_child_process() -> None:
    with SimulatedGateway.in_child_process(researchers=3, assets=1, rate_limit=2) as gw:
        assert isinstance(gw, GatewayProcess)
        with httpx.Client(base_url=gw.url, headers=HEADERS) as client:
            statuses = [client.get("/esploro/v1/researchers").status_code for _ in range(3)]
            assert_the_log_holds(gw.fetch_log(), statuses)
            gw.reset_log()
            assert gw.fetch_log().arrivals == []
            client.get("/esploro/v1/researchers/test")
        final = gw.stop()
        assert [r.path for r in final.arrivals] == ["/esploro/v1/researchers/test"]
        assert gw.stop() is final
        pid = gw.pid
    assert pid is not None
    assert all(child.pid != pid for child in multiprocessing.active_children())
