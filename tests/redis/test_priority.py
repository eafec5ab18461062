"""Priority across processes: interactive requests of any process before batch work of all."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from redis_support import (
    INST,
    admin,
    finish,
    gateway,
    governance,
    max_in_window,
    redis_process,
    redis_url,
    start_worker,
)

from esploro_async._clock import current_time
from esploro_async.errors import DailyQuotaExhaustedError
from esploro_async.governance.lanes import priority
from esploro_async.governance.protocol import ResponseInfo
from esploro_async.governance.redis import RedisGovernance
from esploro_async.metrics import instrument
from esploro_async.testing import Latency

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures

BATCH = priority("batch", retry=False)
INTERACTIVE = priority("interactive", retry=False)


async def reserve_batch_slots_to_the_horizon(harvest: RedisGovernance) -> None:
    """Reserve batch slots as far ahead as the harvesting process may (its batch horizon)."""
    await harvest.rate.acquire(BATCH)
    while True:
        reservation = await harvest.gate._reserve(BATCH)
        assert reservation is not None
        if reservation[0] - current_time() > harvest.gate.batch_horizon - 0.05:
            return


async def batch_spacing(harvest: RedisGovernance, admin: Any) -> float:
    """Seconds between two batch slots as Redis scheduled them (its own clock, in µs).

    Local times of the slots would carry the latency of each reply.
    """
    schedule = f"{harvest.key_prefix}rate"
    assert await harvest.gate._reserve(BATCH) is not None
    after_first = int(await admin.hget(schedule, "tat"))
    assert await harvest.gate._reserve(BATCH) is not None
    return (int(await admin.hget(schedule, "tat")) - after_first) / 1e6


def waiting_by_lane(governance: RedisGovernance) -> dict[Any, Any]:
    """Lane -> institution, of the ``esploro.governance.waiting`` points its metrics report."""
    reader = InMemoryMetricReader()
    assert instrument(governance, meter_provider=MeterProvider(metric_readers=[reader]))
    data = reader.get_metrics_data()
    assert data is not None
    return {
        point.attributes["lane"]: point.attributes["esploro.institution"]
        for metric in data.resource_metrics[0].scope_metrics[0].metrics
        if metric.name == "esploro.governance.waiting"
        for point in metric.data.data_points
        if point.attributes
    }


async def test_an_interactive_request_does_not_queue_behind_batch_work(
    redis_url: str, admin: Any
) -> None:
    # A batch reach of a whole second: the interactive request must not wait behind it.
    harvest, portal = governance(redis_url, batch_horizon=1.0), governance(redis_url)
    await reserve_batch_slots_to_the_horizon(harvest)
    reservation = await portal.gate._reserve(INTERACTIVE)
    assert reservation is not None
    assert reservation[0] - current_time() < 0.05  # not behind the batch work reserved
    # While interactive requests come, batch work leaves them a share of the rate.
    spacing = await batch_spacing(harvest, admin)
    gate = harvest.gate
    batch_rate = 25 / 1.1 * (1 - gate.interactive_share) - (gate.interactive_burst - 1)
    assert spacing == pytest.approx(1 / batch_rate, rel=0.01)
    # The metrics report the waiting requests by lane, tagged with the institution.
    assert waiting_by_lane(harvest) == {"interactive": INST, "batch": INST}
    for gov in (harvest, portal):
        await gov.aclose()


async def test_batch_reserve_is_institution_wide(redis_url: str) -> None:
    """One process's harvest stops at the shared batch reserve; another's pages go on."""
    harvest = governance(redis_url, daily_reserve=10, batch_reserve=100)
    portal = governance(redis_url, daily_reserve=10, batch_reserve=100)
    day = datetime.now(timezone.utc)
    async with portal.attempt(lane="interactive") as attempt:
        await attempt.record(ResponseInfo(status_code=200, remaining=101, server_date=day))
    async with harvest.attempt(lane="batch") as attempt:  # 101 left: one more batch request
        await attempt.record(ResponseInfo(status_code=200, remaining=100, server_date=day))
    with pytest.raises(DailyQuotaExhaustedError) as refused:
        async with harvest.attempt(lane="batch"):
            pass
    assert refused.value.reserve == 100
    async with portal.attempt(lane="interactive") as attempt:  # the portal goes on
        await attempt.record(ResponseInfo(status_code=200, remaining=99, server_date=day))
    with pytest.raises(DailyQuotaExhaustedError):
        async with portal.attempt(lane="batch"):
            pass
    for gov in (harvest, portal):
        await gov.aclose()


async def test_four_harvests_and_a_portal_process(redis_url: str) -> None:
    gw = gateway(latency=Latency.uniform(0.1, 0.4))
    async with gw.serve() as server:
        start_at = time.time() + 3.0
        procs = [
            start_worker(
                server.url,
                redis_url,
                range(p * 1000, p * 1000 + 1000, 10),
                lane="batch",
                concurrency=16,
                start_at=start_at,
            )
            for p in range(4)
        ]
        procs.append(
            start_worker(
                server.url,
                redis_url,
                range(50_000, 50_200, 10),
                interactive={"count": 20, "rate": 2.0},
                start_at=start_at + 2.5,
            )
        )
        results = await asyncio.to_thread(finish, procs)
    log = [r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"]
    assert [r["requests"] for r in results] == [100] * 4 + [20], results
    assert not [r for r in log if r.status == 429]
    assert max_in_window([r.arrival for r in log]) <= 25
    waits = results[-1]["waits"]
    assert len(waits) == 20
    # Behind ~1 s of reserved batch work of 4 processes, the median page waits milliseconds.
    assert statistics.median(waits) < 0.1, sorted(waits)
