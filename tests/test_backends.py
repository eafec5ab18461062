"""The core runs on asyncio and on trio: governance, streams, bulk, resources, a loopback harvest.

Each scenario is one async function run under both backends in virtual time (looptime's loop
on asyncio, trio's autojumping `MockClock`); the loopback harvest runs in real time against
the simulator served on 127.0.0.1 from a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import anyio
import looptime
import pytest
import trio
import trio.testing

from esploro_async import DailyQuotaExhaustedError, EsploroClient
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

Scenario = Callable[[], Awaitable[None]]
BASE_URL = "http://esploro.localhost"


def run(backend: str, scenario: Scenario) -> None:
    """Run ``scenario`` to the end under ``backend``, in virtual time."""
    if backend == "trio":
        trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
    else:
        options = {"loop_factory": lambda: looptime.new_event_loop(start=0)}
        anyio.run(scenario, backend="asyncio", backend_options=options)


def gateway(researchers: int = 1000, **kwargs: object) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=3, researchers=researchers, assets=300),
        **kwargs,  # type: ignore[arg-type]
    )


def client_for(gw: SimulatedGateway, **kwargs: object) -> EsploroClient:
    return EsploroClient(SIM_API_KEY, base_url=BASE_URL, transport=gw.transport(), **kwargs)  # type: ignore[arg-type]


async def governed_requests() -> None:
    gw = gateway(latency=Latency.uniform(0.05, 0.4), foreign_rate=3.0)
    async with client_for(gw) as client:

        async def worker(n: int) -> None:
            for _ in range(10):
                await client.request("GET", "researchers", params={"limit": 1, "offset": n})

        async with anyio.create_task_group() as tg:
            for n in range(30):
                tg.start_soon(worker, n)
    assert gw.counts_by_status()[200] == 300
    assert gw.max_in_window(lane="client") <= 25  # the foreign Poisson load may overrun alone


async def harvest_in_a_task_group() -> None:
    gw = gateway(2500, latency=Latency.uniform(0.05, 1.0))
    async with client_for(gw) as client:
        async with client.researchers.list() as stream:
            ids = [r.primary_id async for r in stream]
        assert ids == gw.institution.researchers.ids()
        assert stream.checkpoint.offset == 2500


async def harvest_without_async_with() -> None:
    gw = gateway(700, latency=Latency.uniform(0.05, 0.5))
    async with client_for(gw) as client:
        ids = [r.primary_id async for r in client.researchers.list(ordered=False)]
        assert sorted(ids, key=str) == sorted(gw.institution.researchers.ids(), key=str)
        stream = client.researchers.list()
        async for _ in stream:
            break
        await stream.aclose()
        sent = len(gw.log)
        await anyio.sleep(5)
        assert len(gw.log) == sent


async def quota_stop_and_resume() -> None:
    start = datetime.now(timezone.utc).replace(hour=23, minute=0, second=0, microsecond=0)
    gw = gateway(2000, quota_remaining=8, start=start, latency=Latency.uniform(0.1, 0.6))
    async with client_for(gw) as client:
        first: list[str] = []
        stream = client.researchers.list(on_insufficient_quota="run", ordered=False)
        with pytest.raises(DailyQuotaExhaustedError):
            async with stream:
                async for researcher in stream:
                    first.append(researcher.primary_id)
        await anyio.sleep(3600)
        resumed = client.researchers.list(resume_from=stream.checkpoint)
        rest = [r.primary_id async for r in resumed]
        assert sorted(first + rest, key=str) == sorted(gw.institution.researchers.ids(), key=str)


async def bulk_and_resources() -> None:
    gw = gateway(300, latency=Latency.uniform(0.05, 0.3))
    async with client_for(gw) as client:
        ids = gw.institution.researchers.ids()[:40]
        async with client.bulk(ids, client.researchers.get, concurrency=8) as results:
            outcomes = [result async for result in results]
        assert sorted(r.index for r in outcomes if r.ok) == list(range(40))
        asset_ids = gw.institution.assets.ids()[:150]
        batch = await client.assets.get_many(asset_ids)
        assert [a.asset_id for a in batch.found] == asset_ids
        assert batch.missing == []


SCENARIOS = [
    governed_requests,
    harvest_in_a_task_group,
    harvest_without_async_with,
    quota_stop_and_resume,
    bulk_and_resources,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_core_runs_on(backend: str, scenario: Scenario) -> None:
    run(backend, scenario)


@contextmanager
def served(gw: SimulatedGateway) -> Iterator[str]:
    """The simulator on a loopback port, served by an asyncio loop in a thread."""
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    url: list[str] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        async with gw.serve() as server:
            url.append(server.url)
            ready.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the simulator did not start"
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_loopback_harvest_runs_on(backend: str) -> None:
    gw = gateway(450)

    async def harvest() -> None:
        async with EsploroClient(SIM_API_KEY, base_url=url) as client:
            ids = [r.primary_id async for r in client.researchers.list()]
        assert ids == gw.institution.researchers.ids()

    with served(gw) as url:
        anyio.run(harvest, backend=backend)
