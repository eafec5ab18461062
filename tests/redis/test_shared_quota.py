"""The daily quota is exact institution-wide: one probe while unknown, the reserve kept.

Real redis-server, real worker processes, the simulated gateway served on loopback.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis.asyncio as aioredis
from redis_support import admin, finish, gateway, governance, redis_process, redis_url, start_worker

from esploro_async.governance.protocol import QuotaRefusal, ResponseInfo
from esploro_async.testing import Latency

__all__ = ["admin", "redis_process", "redis_url"]  # fixtures


async def test_four_processes_end_at_the_shared_reserve(redis_url: str) -> None:
    """80 left, a reserve of 50, 4 processes: the gateway ends at 50 with no 429."""
    # Fixed latency, half of it before arrival: a response comes 0.2 s after its request
    # arrived, so a second request arriving sooner was sent before the first one's answer.
    gw = gateway(quota_remaining=80, latency=Latency.fixed(0.4), up_fraction=0.5)
    async with gw.serve() as server:
        start_at = time.time() + 1.5
        procs = [
            start_worker(
                server.url,
                redis_url,
                range(p * 1000, p * 1000 + 1000, 10),
                governance={"daily_reserve": 50},
                stop_on_error=True,
                start_at=start_at,
            )
            for p in range(4)
        ]
        results = await asyncio.to_thread(finish, procs)
    log = sorted(
        (r for r in gw.client_log() if r.error_code != "UNAUTHORIZED"), key=lambda r: r.arrival
    )
    assert gw.counts_by_error_code()["DAILY_THRESHOLD"] == 0
    assert gw.quota_remaining == 50
    assert sum(r["requests"] for r in results) == 30
    assert all(r["errors"] == {"DailyQuotaExhaustedError": 8} for r in results), results
    # The quota was unknown: one probe, and nothing else until its answer came back.
    assert log[1].arrival - log[0].arrival >= 0.39


async def test_after_the_daily_reset_one_probe_institution_wide(redis_url: str) -> None:
    """Two processes cross midnight: one request probes the new day, the other waits."""
    first, second = governance(redis_url, daily_reserve=5), governance(redis_url, daily_reserve=5)
    before = datetime.now(timezone.utc)
    for gov in (first, second):
        await gov.quota.reserve()
        await gov.quota.settle(ResponseInfo(status_code=200, remaining=900, server_date=before))
    # A response dated the next quota day: both processes are on the new day, quota unknown.
    after = before + timedelta(days=1)
    for gov in (first, second):
        await gov.quota.reserve()
        await gov.quota.settle(ResponseInfo(status_code=200, server_date=after))
    assert first.quota.status().remaining is None

    await first.quota.reserve()  # the probe
    waiting = asyncio.ensure_future(second.quota.reserve())
    also = asyncio.ensure_future(first.quota.reserve())
    await asyncio.sleep(0.3)
    assert not waiting.done()  # exactly one request in flight
    assert not also.done()
    await first.quota.settle(ResponseInfo(status_code=200, remaining=7, server_date=after))
    await asyncio.wait_for(asyncio.gather(waiting, also), 2)
    # 7 left, 2 in flight, reserve 5: nothing more until they settle, then the reserve holds.
    third = asyncio.ensure_future(second.quota.reserve())
    await asyncio.sleep(0.2)
    assert not third.done()
    await second.quota.settle(ResponseInfo(status_code=200, remaining=6, server_date=after))
    await first.quota.settle(ResponseInfo(status_code=200, remaining=6, server_date=after))
    await asyncio.wait_for(third, 2)  # 6 left, nothing in flight: one more fits
    await second.quota.settle(ResponseInfo(status_code=200, remaining=5, server_date=after))
    with pytest.raises(QuotaRefusal) as refusal:
        await asyncio.wait_for(first.quota.reserve(), 2)
    assert refusal.value.status.remaining == 5
    for gov in (first, second):
        await gov.aclose()


async def test_a_probe_without_an_answer_passes_to_the_next_request(
    redis_url: str, admin: aioredis.Redis
) -> None:
    first, second = governance(redis_url), governance(redis_url)
    await first.quota.reserve()
    waiting = asyncio.ensure_future(second.quota.reserve())
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await first.quota.settle(ResponseInfo(status_code=None, sent=False))  # never sent
    await asyncio.wait_for(waiting, 2)  # the other process probes now
    probes = [k async for k in admin.scan_iter(match="*probe*")]
    assert len(probes) == 1
    assert await admin.get(probes[0]) == second.ledger._id
    for gov in (first, second):
        await gov.aclose()


async def test_probing_stops_when_the_api_never_reports_the_quota(redis_url: str) -> None:
    """Three API answers without the header (a proxy strips it): no more one-at-a-time."""
    first, second = governance(redis_url), governance(redis_url)
    # A timeout and a proxy's 502 prove nothing about the gateway; two 200s without header.
    for status in (None, 502, 200, 200):
        await first.quota.reserve()
        await first.quota.settle(ResponseInfo(status_code=status))
    await first.quota.reserve()
    waiting = asyncio.ensure_future(second.quota.reserve())
    await asyncio.sleep(0.3)
    assert not waiting.done()  # still probing, one at a time
    await first.quota.settle(ResponseInfo(status_code=200))  # the third answer
    await asyncio.wait_for(waiting, 2)
    await asyncio.wait_for(first.quota.reserve(), 1)  # granted beside the other one
    assert first.quota.status().remaining is None
    for gov in (first, second):
        await gov.aclose()
