"""Priority lanes: a person's request is not queued behind a harvest, nor starved of quota."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from esploro_async import DailyQuotaExhaustedError, EsploroClient, use_lane
from esploro_async.testing import SIM_API_KEY, Latency, SimulatedGateway, SyntheticInstitution

pytestmark = pytest.mark.looptime


def sim(**kwargs: object) -> SimulatedGateway:
    return SimulatedGateway(
        SyntheticInstitution(seed=2, researchers=5000),
        up_fraction=0.0,  # arrivals at send time: what the client sends is what the gateway sees
        **kwargs,  # type: ignore[arg-type]
    )


def client_for(gw: SimulatedGateway, **kwargs: Any) -> EsploroClient:
    return EsploroClient(
        SIM_API_KEY, base_url="http://esploro.localhost", transport=gw.transport(), **kwargs
    )


async def test_an_interactive_request_overtakes_a_saturating_harvest() -> None:
    gw = sim(latency=Latency.uniform(0.2, 0.8))
    waits: list[float] = []
    async with client_for(gw) as client:
        ids = gw.institution.researchers.ids()

        async def harvest() -> None:
            async for _ in client.researchers.list():
                pass

        async def visitor() -> None:
            await anyio.sleep(2.0)
            for rid in ids[:20:4]:
                asked = anyio.current_time()
                await client.researchers.get(rid)  # interactive: the client's default lane
                sent = max(r.arrival for r in gw.log if r.path.endswith(rid))
                waits.append(sent - asked)
                await anyio.sleep(0.3)

        async with anyio.create_task_group() as tg:
            tg.start_soon(harvest)
            tg.start_soon(visitor)
        snapshot = client.governance.snapshot()
    interval = 1.1 / 25
    assert snapshot.throttled == 0
    assert len(waits) == 5
    assert max(waits) <= interval + 1e-3, "each was sent within one grant interval"
    assert gw.max_in_window() <= 25, "and the rate never broke the threshold"


async def test_batch_stops_at_its_reserve_while_interactive_goes_on() -> None:
    gw = sim(quota_remaining=40, daily_quota=1000)
    async with client_for(gw, daily_reserve=5, batch_reserve=25) as client:
        harvested = 0
        with pytest.raises(DailyQuotaExhaustedError) as stopped:
            async for _ in client.researchers.list(on_insufficient_quota="run"):
                harvested += 1
        assert stopped.value.reserve == 25
        assert 0 < harvested < 5000
        rid = gw.institution.researchers.ids()[0]
        answered = 0
        with pytest.raises(DailyQuotaExhaustedError) as floor:
            while True:
                await client.researchers.get(rid)
                answered += 1
        assert floor.value.reserve == 5
        assert answered == 20  # from 25 down to the interactive floor of 5
        assert gw.quota_remaining == 5
        with use_lane("batch"), pytest.raises(DailyQuotaExhaustedError):
            await client.researchers.get(rid)


async def test_batch_work_never_takes_the_last_slots() -> None:
    gw = sim(latency=Latency.fixed(5.0))
    async with client_for(gw, max_in_flight=5) as client:
        assert client.governance.interactive_slots == 1  # type: ignore[attr-defined]
        ids = gw.institution.researchers.ids()
        await client.researchers.get(ids[0])  # the quota is known: no probe to wait for

        async def slow(rid: str) -> None:
            await client.researchers.get(rid)

        async def batch() -> None:
            async for _ in client.bulk(ids[:12], slow, concurrency=12):
                pass

        async with anyio.create_task_group() as tg:
            tg.start_soon(batch)
            await anyio.sleep(1.0)  # four batch requests hold four slots for 5 s
            asked = anyio.current_time()
            await client.researchers.get(ids[100])
            assert anyio.current_time() - asked < 5.0 + 0.1, "not queued behind the batch"
            tg.cancel_scope.cancel()


def test_lanes_are_checked() -> None:
    with pytest.raises(ValueError, match="lane"), use_lane("urgent"):  # type: ignore[arg-type]
        pass
